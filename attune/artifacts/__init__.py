"""Artifacts: what executions produce beside their result (files, tables, images, links,
progress), stored in PostgreSQL or the artifact store and kept by a retention policy.

`kinds` names an artifact's type from its file, `store` keeps the bytes, `saving` checks
limits and writes the row, `collect` turns the files an action left in its
ATTUNE_ARTIFACTS_DIR into artifacts, and `retention` (in `db.repositories`) deletes old
versions.
"""
