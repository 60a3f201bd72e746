"""docker-compose.temporal.yml and the Dockerfile: Attune on PostgreSQL and a real Temporal."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
ATTUNE = {"attune-migrate": "migrate", "attune-api": "api", "attune-worker": "worker"}
DONE = "service_completed_successfully"
Service = dict[str, Any]


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.temporal.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _services() -> dict[str, Service]:
    return dict(_compose()["services"])


def _environment(service: Service) -> dict[str, str]:
    """Compose takes a mapping or a list of KEY=VALUE strings."""
    raw = service.get("environment") or {}
    if isinstance(raw, dict):
        return {str(key): str(value) for key, value in raw.items()}
    return {key: value for key, _, value in (str(item).partition("=") for item in raw)}


def _published(service: Service) -> set[tuple[str, str]]:
    """(host port, container port) pairs, from "[ip:]host:container[/proto]" or the long form."""
    pairs = set()
    for port in service.get("ports", []):
        if isinstance(port, dict):
            port = f"{port.get('published')}:{port['target']}"
        host, _, container = str(port).partition("/")[0].rpartition(":")
        pairs.add((host.rpartition(":")[2], container))
    return pairs


def _depends_on(service: Service) -> dict[str, str]:
    raw = service.get("depends_on") or {}
    if isinstance(raw, list):
        return {str(name): "service_started" for name in raw}
    return {str(name): str(spec.get("condition", "service_started")) for name, spec in raw.items()}


def _command(service: Service) -> list[str]:
    raw = service.get("command") or []
    return shlex.split(raw) if isinstance(raw, str) else [str(part) for part in raw]


def _jobs_script(service: Service) -> str:
    """The commands of the one-shot jobs that `service` waits for (scripts run by `sh -c`)."""
    services = _services()
    jobs = [name for name, condition in _depends_on(service).items() if condition == DONE]
    return "\n".join(str(services[job].get("command")) for job in jobs)


def test_services_images_ports_and_temporal_ui() -> None:
    services = _services()
    assert {"postgresql", "temporal", "temporal-ui", *ATTUNE} <= services.keys()
    for name, service in services.items():
        image = str(service.get("image", "built:here"))
        assert ":" in image.rpartition("/")[2], f"{name}: pin the image version"
        assert not image.endswith(":latest"), name
    assert ("7233", "7233") in _published(services["temporal"])
    assert ("8233", "8080") in _published(services["temporal-ui"])
    assert ("8000", "8000") in _published(services["attune-api"])
    assert _environment(services["temporal-ui"])["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert _environment(services["temporal-ui"])["TEMPORAL_CORS_ORIGINS"]


def test_the_temporal_ui_may_decode_through_the_api() -> None:
    services = _services()
    ui = _environment(services["temporal-ui"])
    assert ui["TEMPORAL_CODEC_ENDPOINT"] == "${ATTUNE_WEB_UI_CODEC_ENDPOINT:-}"
    origins = _environment(services["attune-api"])["ATTUNE_CODEC_CORS_ORIGINS"].split(",")
    published = {host for host, container in _published(services["temporal-ui"])}
    assert {f"http://localhost:{port}" for port in published} <= set(origins)


def test_temporal_server_uses_postgresql_with_its_schema_set_up_first() -> None:
    temporal = _services()["temporal"]
    assert str(temporal["image"]).startswith("temporalio/server:")
    environment = _environment(temporal)
    assert (environment["DB"], environment["POSTGRES_SEEDS"]) == ("postgres12", "postgresql")
    assert _depends_on(temporal)["postgresql"] == "service_healthy"
    script = _jobs_script(temporal)
    assert "--ep postgresql" in script
    for database in ("temporal", "temporal_visibility"):
        for step in ("create", "setup-schema", "update-schema"):
            assert f"--db {database} {step}" in script


def test_attune_services_share_one_image_and_environment() -> None:
    assert DOCKERFILE.is_file()
    environments = []
    for name in ATTUNE:
        build = _services()[name]["build"]
        spec: dict[str, Any] = {"context": build} if isinstance(build, str) else build
        assert spec["context"] == ".", name
        assert ROOT / spec["context"] / spec.get("dockerfile", "Dockerfile") == DOCKERFILE
        environments.append(environment := _environment(_services()[name]))
        url = urlsplit(environment["ATTUNE_DATABASE_URL"])
        where = f"{url.scheme}://{url.username}@{url.hostname}:{url.port}{url.path}"
        assert where == "postgresql+asyncpg://attune@postgresql:5432/attune"
        assert environment["TEMPORAL_ADDRESS"] == "temporal:7233"
        assert environment["ATTUNE_TEMPORAL_NAMESPACE"] == "default"
        key = environment["ATTUNE_ENCRYPTION_KEY"]
        assert re.fullmatch(r"\$\{ATTUNE_ENCRYPTION_KEY:?\?[^}]*\}", key), key
    shared = ("ATTUNE_DATABASE_URL", "TEMPORAL_ADDRESS", "ATTUNE_ENCRYPTION_KEY")
    assert len({tuple(environment[key] for key in shared) for environment in environments}) == 1


def test_attune_database_and_namespace_are_created() -> None:
    compose = _compose()
    init_sql = [
        str(compose["configs"][mount["source"]]["content"])
        for mount in compose["services"]["postgresql"].get("configs", [])
        if str(mount["target"]).startswith("/docker-entrypoint-initdb.d/")
    ]
    assert any("CREATE DATABASE attune OWNER attune" in sql for sql in init_sql)
    script = _jobs_script(compose["services"]["attune-migrate"])
    assert "temporal operator namespace create --namespace default" in script


def test_commands_and_start_order() -> None:
    services = _services()
    for name, command in ATTUNE.items():
        assert _command(services[name]) == ["attune", command]
    migrate = services["attune-migrate"]
    assert migrate["restart"] == "no"
    assert _depends_on(migrate)["postgresql"] == "service_healthy"
    assert "temporal" in _depends_on(migrate)
    for name in ("attune-api", "attune-worker"):
        assert _depends_on(services[name])["attune-migrate"] == DONE
    for name, service in services.items():
        for dependency in _depends_on(service):
            assert dependency in services, f"{name} depends on undefined {dependency}"
    api = services["attune-api"]
    environment = _environment(api)
    assert (environment["ATTUNE_API_HOST"], environment["ATTUNE_API_PORT"]) == ("0.0.0.0", "8000")
    probe = " ".join(api["healthcheck"]["test"])
    assert "python" in probe
    assert "http://127.0.0.1:8000/api/v1/health" in probe


def test_dockerfile_installs_the_project_and_runs_attune() -> None:
    lines = [line.strip() for line in DOCKERFILE.read_text(encoding="utf-8").splitlines()]
    instructions = [line for line in lines if line and not line.startswith("#")]
    assert instructions[0] == "FROM python:3.11-slim"
    assert any(re.search(r"pip install --no-cache-dir \.(\s|$)", line) for line in instructions)
    users = [line.split()[1].partition(":")[0] for line in instructions if line.startswith("USER ")]
    assert users[-1:] not in ([], ["root"], ["0"])
    commands = [line.removeprefix("CMD ") for line in instructions if line.startswith("CMD ")]
    assert json.loads(commands[-1]) == ["attune", "api"]
    assert "EXPOSE 8000" in instructions
    assert any("ATTUNE_API_HOST=0.0.0.0" in line for line in instructions)


def test_actions_run_as_a_user_of_their_own_and_the_worker_may_switch_to_it() -> None:
    instructions = DOCKERFILE.read_text(encoding="utf-8")
    assert "ATTUNE_ACTION_USER=attune-action" in instructions
    assert re.search(r"useradd .*attune-action", instructions.replace("\\\n", " "))
    worker = _services()["attune-worker"]
    assert worker["user"] == "0:0"
    assert worker["cap_drop"] == ["ALL"]
    assert {"SETUID", "SETGID", "KILL"} <= set(worker["cap_add"])
    for name in ("attune-api", "attune-migrate"):
        assert "user" not in _services()[name], name  # the image's own: attune, not root


def test_the_admin_token_lands_where_the_api_container_can_read_it() -> None:
    services = _services()
    for name in ("attune-migrate", "attune-api", "attune-worker"):
        assert "attune-data:/var/lib/attune" in services[name]["volumes"], name
    assert "attune-data" in _compose()["volumes"]
