"""Schemathesis over every operation of the OpenAPI document, against the real API process.

Each operation is a test of its own. A request fails it when the answer is a 5xx, or has a
status the document does not declare for that operation. The failure names the operation,
the status, the checks it failed, the response body and a curl command that sends the same
request again (and for a 5xx, what the API logged: the traceback).

Requests: Schemathesis' examples and coverage cases (the boundaries and invalid values of
each parameter and body), then ATTUNE_FUZZ_EXAMPLES generated ones per operation (default
25), valid and invalid, seeded by ATTUNE_FUZZ_SEED: the same run every time. `make fuzz`
sets a bigger budget. Two more switches, for a person looking at a failing run:

- ATTUNE_FUZZ_KEEP_GOING=1: Hypothesis stops an operation at its first failing case (and
  skips the generated ones if that was an example or coverage case); this lists every kind
  of wrong answer each operation gives, with how often, in one run.
- ATTUNE_FUZZ_CHECKS=all: every Schemathesis check (response schemas, content types,
  rejection of invalid data, ...) instead of the two above.

test_edge_values sends, for every operation, each of a fixed list of values that broke
handlers (beyond int64, NUL, 5,000 characters, ...) in each parameter and top-level body
field of a type it fits, one at a time; Schemathesis itself never puts NUL in a path.

The API runs as `python -m attune api` rather than on Schemathesis' ASGI transport: the
transport would run the app's lifespan (engine, Temporal client) on an event loop thread of
its own inside the pytest process, next to the session loop of the fixtures, and leave it
running until the interpreter exits; a request that hangs would hang the test process. A
process is the API as deployed (uvicorn parsing real HTTP, its own settings from the
environment), a hung request is a client timeout, and its log keeps the tracebacks.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import requests
import schemathesis
from pydantic import SecretStr
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import status_code_conformance

from api.main import create_app
from attune.config import Settings
from tests.api.streams import ENDLESS_STREAMS
from tests.conftest import TEST_ENCRYPTION_KEY, TemporalServer, free_port
from tests.fuzz_server import (
    SEEDED,
    RunningApi,
    api_process,
    fuzz_database_url,
    log_since,
    prepare,
    unique_task_queue,
)

EXAMPLES = int(os.environ.get("ATTUNE_FUZZ_EXAMPLES", "25"))
SEED = int(os.environ.get("ATTUNE_FUZZ_SEED", "20240601"))
KEEP_GOING = os.environ.get("ATTUNE_FUZZ_KEEP_GOING", "") not in ("", "0")
ALL_CHECKS = os.environ.get("ATTUNE_FUZZ_CHECKS", "") == "all"
REQUEST_TIMEOUT = 10.0

# A kind of wrong answer: its status and the codes of the checks it failed (ST101, ...).
Kind = tuple[int, tuple[str, ...]]

# The document of the app the process serves, built here without its lifespan.
DOCUMENT: dict[str, Any] = create_app(
    Settings(database_url="postgresql+asyncpg://fuzz@127.0.0.1:1/unused")
).openapi()

# Values that broke, or could break, a handler behind a schema that allows them: beyond
# int64 (PostgreSQL's bigint), NUL (which PostgreSQL text refuses), very long, odd Unicode.
INT64_EDGES = [2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64]
ODD_STRINGS = ["\x00", "a\x00b", "x" * 5000, "/" + "a" * 5000, "../" * 8, "é☃🙂"]
# Schemathesis never puts NUL or `/` in a path parameter it generates (test_edge_values does).
PATH_STRINGS = ["x" * 5000, "é☃🙂", " "]
PACK_FOLDERS = [str(Settings().core_pack_dir), "/", "/nonexistent", "/a\x00b", "/" + "a" * 5000]


def values(*entries: object) -> dict[str, list[object]]:
    return {"values": list(entries)}


def bound(dictionary: str, probability: float = 0.5) -> dict[str, object]:
    return {"dictionary": dictionary, "probability": probability}


def under(path_regex: str, **parameters: dict[str, object]) -> dict[str, object]:
    return {"include-path-regex": path_regex, "parameters": parameters}


# Schemathesis dictionaries: with a binding's probability, a generated value is replaced by
# one of its dictionary's (one the schema allows in a valid case, one it refuses in an invalid
# case), so a small budget reaches the seeded rows and the values above.
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        # Hypothesis' health checks are about generation speed and size, not about the API.
        "suppress-health-check": ["all"],
        "generation": {
            "mode": "all",
            "max-examples": EXAMPLES,
            "database": "none",
            # The admin token goes on every request: generated credentials would be replaced.
            "with-security-parameters": False,
            "dictionaries": {"integer": bound("int64", 0.2), "string": bound("odd", 0.2)},
        },
        "dictionaries": {
            "int64": values(*INT64_EDGES),
            "odd": values(*ODD_STRINGS),
            "ids": values(*SEEDED.ids, *INT64_EDGES),
            "packs": values(*SEEDED.packs, *PATH_STRINGS),
            "actions": values(*SEEDED.actions, *PATH_STRINGS),
            "triggers": values(*SEEDED.triggers, *PATH_STRINGS),
            "rules": values(*SEEDED.rules, *PATH_STRINGS),
            "policies": values(*SEEDED.policies, *PATH_STRINGS),
            "pack-folders": values(*PACK_FOLDERS),
        },
        "parameters": {
            "path.id": bound("ids"),
            "body.action": bound("actions"),
            "body.trigger": bound("triggers"),
            "body.path": bound("pack-folders", 0.7),
        },
        "operations": [
            under("^/api/v1/packs/", **{"path.ref": bound("packs")}),
            under("^/api/v1/actions/", **{"path.ref": bound("actions")}),
            under("^/api/v1/triggers/", **{"path.ref": bound("triggers")}),
            under("^/api/v1/webhooks/", **{"path.trigger_ref": bound("triggers")}),
            under("^/api/v1/rules/", **{"path.ref": bound("rules")}),
            under("^/api/v1/policies/", **{"path.ref": bound("policies")}),
        ],
    }
)
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)
# Bodies of a binary media type Schemathesis has no serializer for (a pack upload's
# application/gzip) go out as the generated bytes.
schemathesis.serializer.alias("application/gzip", "application/octet-stream")


@pytest.fixture(scope="module")
async def fuzz_settings(
    postgres_admin: str | None,
    database_url: str,
    temporal: TemporalServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Settings, str]:
    """Settings of the fuzzed API (its own database and task queue), and its admin token."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("fuzz") / "data",
        database_url=await fuzz_database_url(postgres_admin, database_url),
        temporal_address=temporal.address,
        task_queue=unique_task_queue(),
        encryption_key=SecretStr(TEST_ENCRYPTION_KEY),
        api_port=free_port(),
    )
    return settings, await prepare(settings, own_database=postgres_admin is not None)


@pytest.fixture(scope="module")
def fuzz_api(
    fuzz_settings: tuple[Settings, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningApi]:
    """The API running as `python -m attune api`, serving the document fuzzed here."""
    settings, token = fuzz_settings
    log = tmp_path_factory.mktemp("fuzz-log") / "api.log"
    with api_process(settings, token, log=log) as running:
        served = httpx.get(f"{running.base_url}/openapi.json", timeout=REQUEST_TIMEOUT).json()
        # The same source files, unless they changed between this import and the process's.
        assert served == DOCUMENT, (
            "the API serves another OpenAPI document than the one fuzzed here; it differs at "
            + ", ".join(differences(served, DOCUMENT))
        )
        yield running


@pytest.fixture(scope="module")
def http(fuzz_api: RunningApi) -> Iterator[requests.Session]:
    """One keep-alive connection pool for every request, with the admin token."""
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {fuzz_api.token}"
        yield session


Found = dict[Any, tuple[int, str]]


def note(found: Found, key: Any, report: str) -> None:
    """Count a wrong answer under `key`, keeping the shortest report."""
    count, shortest = found.get(key, (0, report))
    found[key] = (count + 1, min(shortest, report, key=len))


def fail_with(found: Found) -> None:
    if found:
        reports = "\n\n".join(
            f"--- {count} request(s) answered like this one:\n{report}"
            for count, report in (found[key] for key in sorted(found, key=repr))
        )
        pytest.fail(f"{len(found)} kind(s) of wrong answer\n\n{reports}", pytrace=False)


@pytest.fixture
def wrong_answers() -> Iterator[Found]:
    """With ATTUNE_FUZZ_KEEP_GOING: each kind of wrong answer, how often, the shortest report.

    They fail the test at teardown, once every request has been sent (unshrunk).
    """
    found: Found = {}
    yield found
    fail_with(found)


class FuzzFailure(AssertionError):
    """A wrong answer; each kind (status and failed checks) has a subclass of its own."""


_KINDS: dict[Kind, type[FuzzFailure]] = {}


def failure_kind(kind: Kind) -> type[FuzzFailure]:
    """Hypothesis reports (and shrinks) one failure per exception type and place: a type per
    kind of wrong answer, so an operation's 500 is not hidden behind its 404."""
    if kind not in _KINDS:
        _KINDS[kind] = type(f"Answered{kind[0]}", (FuzzFailure,), {"__module__": __name__})
    return _KINDS[kind]


def differences(served: Any, fuzzed: Any, where: str = "") -> list[str]:
    """JSON pointers at which two documents differ (the first few dozen)."""
    if isinstance(served, dict) and isinstance(fuzzed, dict):
        found: list[str] = []
        for key in sorted(served.keys() | fuzzed.keys()):
            pointer = f"{where}/{key}"
            if key in served and key in fuzzed:
                found += differences(served[key], fuzzed[key], pointer)
            else:
                found.append(pointer)
        return found[:40]
    return [] if served == fuzzed else [where or "/"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # pytest 9.2 makes a node id of the function's name and its parameters only, so every
    # operation of `schema.parametrize()` would get the same id (the summary, `--lf` and
    # JUnit reports could not tell them apart): this parameter gives `...[<operation>][...]`.
    if "budget" in metafunc.fixturenames:
        metafunc.parametrize("budget", [EXAMPLES], ids=[f"{EXAMPLES}-examples"])


def end_streams_at_once(case: schemathesis.Case[Any]) -> None:
    """An endless stream asked for with no bound (or a valid one) ends at once instead:
    what it answers is what is tested, not how long it can wait."""
    if case.operation.path not in ENDLESS_STREAMS:
        return
    query = dict(case.query or {})
    if query.get("seconds") is None or valid_seconds(query["seconds"]):
        case.query = {**query, "seconds": 0}


def valid_seconds(value: Any) -> bool:
    """Whether the API would take `value` (a number, or a string of one) as `seconds`."""
    if isinstance(value, bool):
        return False
    try:
        return 0 <= float(value) <= 86400
    except (TypeError, ValueError):
        return False


def wrong_answer(
    case: schemathesis.Case[Any], fuzz_api: RunningApi, http: requests.Session
) -> tuple[Kind, str] | None:
    """Send the case; its kind and a report if the answer is wrong, else None."""
    logged = fuzz_api.log.stat().st_size
    end_streams_at_once(case)
    response = case.call(base_url=fuzz_api.base_url, session=http, timeout=REQUEST_TIMEOUT)
    if response.status_code >= 500:
        # After an unhandled error uvicorn closes the connection without saying so in the
        # response (Starlette re-raises it once the 500 is sent): never reuse that one.
        http.close()
    try:
        case.validate_response(
            response,
            checks=None if ALL_CHECKS else [not_a_server_error, status_code_conformance],
            headers=dict(http.headers),
        )
    except FailureGroup as group:
        failures = sorted(group.exceptions, key=lambda failure: failure.code)
        kind: Kind = (response.status_code, tuple(dict.fromkeys(f.code for f in failures)))
        titles = ", ".join(dict.fromkeys(failure.title for failure in failures))
        report = f"{case.operation.label} answered {response.status_code}: {titles}\n\n"
        report += group.message.strip()
        if response.status_code >= 500:
            report += f"\n\nThe API logged ({fuzz_api.log}):\n{log_since(fuzz_api.log, logged)}"
        return kind, report
    return None


@schema.parametrize()
def test_openapi_operation(
    case: schemathesis.Case[Any],
    fuzz_api: RunningApi,
    http: requests.Session,
    wrong_answers: Found,
    budget: int,
) -> None:
    wrong = wrong_answer(case, fuzz_api, http)
    if wrong is None:
        return
    kind, report = wrong
    if not KEEP_GOING:
        raise failure_kind(kind)(report) from None
    note(wrong_answers, kind, report)


def resolve(node: Any) -> Any:
    """A schema with its `$ref` (to components/schemas) followed."""
    while isinstance(node, dict) and "$ref" in node:
        node = DOCUMENT["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def types(node: Any) -> set[str]:
    """The JSON types a schema allows, looking into anyOf / oneOf (null included)."""
    node = resolve(node)
    found = {node["type"]} if isinstance(node.get("type"), str) else set(node.get("type", []))
    for option in node.get("anyOf", []) + node.get("oneOf", []):
        found |= types(option)
    return found


def plain(node: Any) -> Any:
    """A value of the schema's simplest type: what fills the parameters not under test."""
    allowed = types(node)
    for kind, value in (("integer", 1), ("string", "x"), ("object", {}), ("boolean", True)):
        if kind in allowed:
            return value
    return [] if "array" in allowed else None


def edges(schema: Any, where: str) -> list[object]:
    """The edge values that fit a parameter's or field's type (none for other types)."""
    allowed = types(schema)
    if "string" in allowed:
        if where == "path":
            # Percent-encoded here: a `/` would route the request elsewhere, so none has one.
            return [quote(value, safe="") for value in ODD_STRINGS if "/" not in value]
        return [*ODD_STRINGS, *PACK_FOLDERS] if where == "body" else list(ODD_STRINGS)
    return list(INT64_EDGES) if "integer" in allowed else []


def edge_cases(path: str, method: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(Where, `Case` arguments): the edge values in each path and query parameter and each
    of the body's top-level fields, one at a time, the rest plain."""
    operation = DOCUMENT["paths"][path][method]
    parameters = [p for p in operation.get("parameters", []) if p["in"] in ("path", "query")]
    path_parameters = {p["name"]: plain(p["schema"]) for p in parameters if p["in"] == "path"}
    content = operation.get("requestBody", {}).get("content", {})
    body_schema = resolve(content.get("application/json", {}).get("schema"))
    fields: dict[str, Any] = {}
    base: dict[str, Any] = {"path_parameters": path_parameters}
    if isinstance(body_schema, dict):
        fields = body_schema.get("properties", {})
        required = {name: plain(fields[name]) for name in body_schema.get("required", [])}
        base |= {"body": required, "media_type": "application/json"}
    for parameter in parameters:
        name, where = parameter["name"], parameter["in"]
        for value in edges(parameter["schema"], where):
            if where == "path":
                yield f"path {name}", base | {"path_parameters": path_parameters | {name: value}}
            else:
                yield f"query {name}", base | {"query": {name: value}}
    for name, field in fields.items():
        for value in edges(field, "body"):
            yield f"body {name}", base | {"body": base["body"] | {name: value}}


EDGE_OPERATIONS = [
    (path, method)
    for path, item in DOCUMENT["paths"].items()
    for method in item
    if any(edge_cases(path, method))
]


@pytest.mark.parametrize(
    ("path", "method"), EDGE_OPERATIONS, ids=[f"{m.upper()} {p}" for p, m in EDGE_OPERATIONS]
)
def test_edge_values(path: str, method: str, fuzz_api: RunningApi, http: requests.Session) -> None:
    """The values that broke handlers before, in every parameter they fit, every time."""
    operation = schema[path][method.upper()]
    found: Found = {}
    for where, arguments in edge_cases(path, method):
        wrong = wrong_answer(operation.Case(**arguments), fuzz_api, http)
        if wrong is not None:
            kind, report = wrong
            note(found, (where, kind), f"[edge values in {where}] {report}")
    fail_with(found)
