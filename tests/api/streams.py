"""Routes that stream until the client goes (or the execution ends), unless asked
(`seconds`) to end sooner: tests that call every route ask them to end at once."""

ENDLESS_STREAMS = frozenset({"/api/v1/stream", "/api/v1/executions/{id}/output/stream"})
