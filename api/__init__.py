"""The HTTP API (FastAPI): routers per resource, schemas, dependencies and error mapping."""
