"""Request and response bodies of the HTTP API, apart from the ORM models they mirror."""
