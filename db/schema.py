"""The PostgreSQL schema every Attune table lives in, and the metadata naming convention."""

from __future__ import annotations

from sqlalchemy import MetaData

SCHEMA = "attune"

# Stable constraint names, so migrations and domain errors can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(schema=SCHEMA, naming_convention=NAMING_CONVENTION)
