"""Path and query parameters every router shares, bounded where they enter.

PostgreSQL's BIGINT stops at 2**63 - 1; a larger id would fail in the driver as a 500, so
it is refused here as a 422 naming the parameter.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

INT64_MAX = 2**63 - 1

RecordId = Annotated[int, Path(ge=1, le=INT64_MAX, description="The record's id.")]
IdFilter = Annotated[
    int | None, Query(ge=1, le=INT64_MAX, description="Only records linked to this id.")
]
