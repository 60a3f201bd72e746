"""Request bodies a route reads itself (a JSON body or a form), declared in OpenAPI by hand."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

_DEFS = "#/$defs/"


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON Schema with its `$defs` put in place: a `#/$defs/...` reference
    would dangle in the OpenAPI document."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def resolved(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(_DEFS):
                siblings = {key: value for key, value in node.items() if key != "$ref"}
                return {**resolved(definitions[ref.removeprefix(_DEFS)]), **resolved(siblings)}
            return {key: resolved(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolved(item) for item in node]
        return node

    inlined: dict[str, Any] = resolved(schema)
    return inlined


def with_body(declared: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """A route's `needs(...)` arguments with the request body its code reads itself."""
    return {**declared, "openapi_extra": {**declared["openapi_extra"], **body}}
