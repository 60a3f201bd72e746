"""Attune's settings: one pydantic-settings class, read from `ATTUNE_*` environment variables.

`TEMPORAL_ADDRESS` keeps the name the Temporal CLI and SDK samples use, so an operator's
existing environment works unchanged.
"""

from __future__ import annotations

import base64
import binascii
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Port = Annotated[int, Field(ge=1, le=65535)]
Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]

# AES-256-GCM wants exactly 32 bytes of key material.
ENCRYPTION_KEY_BYTES = 32
# The packs shipped with Attune (`packs/core`, ...): registering them is always allowed.
BUNDLED_PACKS_DIR = Path(__file__).resolve().parents[1] / "packs"


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class Settings(BaseSettings):
    """Everything an Attune process needs to know about where it runs."""

    model_config = SettingsConfigDict(env_prefix="ATTUNE_", extra="ignore", frozen=True)

    data_dir: Path = Field(
        default=Path(".attune"),
        description="Where the embedded servers keep their files, and the generated secrets.",
    )
    database_url: str | None = Field(
        default=None,
        description="PostgreSQL to use instead of the embedded server (postgresql+asyncpg://...).",
    )
    temporal_address: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TEMPORAL_ADDRESS", "ATTUNE_TEMPORAL_ADDRESS"),
        description="host:port of a Temporal frontend to use instead of the embedded dev server.",
    )
    temporal_namespace: str = Field(default="default", min_length=1)
    task_queue: str = Field(default="attune", min_length=1)
    api_host: str = "127.0.0.1"
    api_port: Port = 8000
    temporal_port: Port = 7233
    temporal_ui_port: Port = 8233
    encryption_key: SecretStr | None = Field(
        default=None,
        description="32 bytes, urlsafe base64; generated into the data directory if embedded.",
    )
    previous_encryption_keys: Annotated[tuple[SecretStr, ...], NoDecode] = Field(
        default=(),
        description="Keys (separated by ',') that secrets and Temporal payloads may still be "
        "encrypted under after a rotation: read with, never written with.",
    )
    log_level: LogLevel = LogLevel.INFO
    api_token: SecretStr | None = Field(
        default=None, description="The CLI's token; else it reads the data dir's admin-token."
    )
    api_url: str | None = Field(
        default=None,
        description="The API's address as actions should reach it (ATTUNE_API_URL for them).",
    )
    temporal_ui_url: str | None = Field(
        default=None, description="Base URL of the Temporal Web UI, for links to workflows."
    )
    codec_cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Origins (separated by ',') whose pages may call the codec endpoint: "
        "where your Temporal Web UI is served. Default: the embedded Web UI's.",
    )
    core_pack_dir: Path = Field(
        default=BUNDLED_PACKS_DIR / "core",
        description="The bundled core pack, registered at start-up.",
    )
    packs_dirs: Annotated[tuple[Path, ...], NoDecode] = Field(
        default=(),
        description="Folders (separated by ':') the API may register packs from by path; "
        "uploaded packs are unpacked into the first. Default: the data directory's packs/.",
    )
    max_body_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        le=1_073_741_824,
        description="The largest request body the API reads (pack uploads have their own).",
    )
    webhook_tolerance_seconds: int = Field(
        default=300,
        ge=10,
        le=3600,
        description="How old a signed webhook's timestamp may be; replays within it are refused.",
    )
    action_user: str | None = Field(
        default=None,
        description="Run action processes as this user (the worker must be root to switch).",
    )
    allow_uploaded_workflows: bool = Field(
        default=True,
        description="Accept uploaded packs with python-workflow actions, whose code runs "
        "inside the worker process with its privileges (false: register them by path only).",
    )
    action_heartbeat_timeout: Seconds = Field(
        default=30.0, description="A running action's worker silent this long is declared lost."
    )
    action_kill_grace: Seconds = Field(
        default=5.0, description="Between SIGTERM and SIGKILL when an action is stopped."
    )
    token_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        allow_inf_nan=False,
        description="How long an API process trusts a token it has checked (0: never).",
    )
    session_ttl_seconds: int = Field(
        default=86400,
        ge=60,
        le=366 * 86400,
        description="How long a session token of `POST /auth/login` (`attune login`) lasts.",
    )
    worker_shutdown_grace: Seconds = Field(
        default=20.0,
        description="After SIGTERM, how long a worker lets running actions finish before it "
        "ends the rest `abandoned` (kept under `attune up`'s 25 s stop).",
    )
    restart_delay: Seconds = Field(
        default=1.0,
        description="`attune up` restarts a part that ended after this many seconds, doubled "
        "with each quick failure up to 30.",
    )
    worker_sticky_timeout: Seconds = Field(
        default=10.0,
        description="How long a workflow's next task waits for the worker that holds it in "
        "memory before any worker takes it: after a worker dies, its workflows pause this long.",
    )
    worker_heartbeat_interval: Seconds = Field(
        default=5.0,
        description="How often a worker stamps its row in `worker`; silent for three of "
        "these, it shows as lost.",
    )
    reconcile_interval: Seconds = Field(
        default=15.0, description="How often workers look for executions left unstarted."
    )
    reconcile_grace: Seconds = Field(
        default=10.0, description="How old an unstarted execution must be before it is started."
    )
    retention_executions_days: int = Field(
        default=90,
        ge=0,
        le=36500,
        description="Ended executions (and the enforcements that started them) older than "
        "this many days are deleted; 0 keeps them forever.",
    )
    retention_events_days: int = Field(
        default=30,
        ge=0,
        le=36500,
        description="Events older than this many days are deleted once no kept enforcement "
        "points at them; 0 keeps them forever.",
    )
    retention_interval: Seconds = Field(
        default=3600.0, description="How often a worker purges history past its retention."
    )

    artifact_store_dir: Path | None = Field(
        default=None,
        description="Where artifact files past ATTUNE_ARTIFACT_INLINE_BYTES are kept: shared "
        "by every API process and worker that reads or writes them. Default: the data "
        "directory's artifacts/.",
    )
    artifact_inline_bytes: int = Field(
        default=65_536,
        ge=0,
        le=16_777_216,
        description="Artifacts up to this size are kept in PostgreSQL, larger ones as files.",
    )
    artifact_max_bytes: int = Field(
        default=52_428_800,
        ge=1,
        le=68_719_476_736,
        description="The largest artifact accepted, in bytes.",
    )
    artifact_execution_max_bytes: int = Field(
        default=209_715_200,
        ge=1,
        le=1_099_511_627_776,
        description="The most bytes of artifacts one execution may produce, all together.",
    )

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        # Children of `attune up` run with other working directories; pin the path now.
        return value.expanduser().resolve()

    @field_validator("packs_dirs", mode="before")
    @classmethod
    def _colon_separated_folders(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(Path(part) for part in value.split(":") if part.strip())
        return value

    @field_validator("packs_dirs")
    @classmethod
    def _absolute_folders(cls, value: tuple[Path, ...]) -> tuple[Path, ...]:
        return tuple(folder.expanduser().resolve() for folder in value)

    @field_validator("database_url")
    @classmethod
    def _asyncpg_database_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        scheme, sep, rest = value.partition("://")
        if not sep or scheme not in {"postgres", "postgresql", "postgresql+asyncpg"}:
            raise ValueError(
                "must be a PostgreSQL URL such as postgresql+asyncpg://user:password@host:5432/db"
            )
        # The whole code base talks to PostgreSQL through asyncpg; accept the plain scheme too.
        return f"postgresql+asyncpg://{rest}"

    @field_validator("temporal_address")
    @classmethod
    def _host_and_port(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError("must be host:port, for example temporal.example.com:7233")
        return value

    @field_validator("encryption_key")
    @classmethod
    def _key_is_32_bytes(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        decode_encryption_key(value.get_secret_value())
        return value

    @field_validator("codec_cors_origins", mode="before")
    @classmethod
    def _comma_separated_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip().rstrip("/") for part in value.split(",") if part.strip())
        return value

    @field_validator("codec_cors_origins")
    @classmethod
    def _named_origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            if not origin.startswith(("http://", "https://")):
                raise ValueError(f"{origin!r}: name each origin, as http(s)://host[:port]")
        return value

    @field_validator("previous_encryption_keys", mode="before")
    @classmethod
    def _comma_separated_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(SecretStr(part.strip()) for part in value.split(",") if part.strip())
        return value

    @field_validator("previous_encryption_keys")
    @classmethod
    def _previous_keys_are_32_bytes(cls, value: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
        for key in value:
            decode_encryption_key(key.get_secret_value())
        return value

    @property
    def previous_encryption_key_bytes(self) -> tuple[bytes, ...]:
        """ATTUNE_PREVIOUS_ENCRYPTION_KEYS decoded: the keys a rotation left behind."""
        return tuple(
            decode_encryption_key(key.get_secret_value()) for key in self.previous_encryption_keys
        )

    @property
    def encryption_key_ring(self) -> tuple[bytes, ...]:
        """Every key a secret may be read with: the current one first, then the previous."""
        current = self.encryption_key_bytes
        return ((current,) if current is not None else ()) + self.previous_encryption_key_bytes

    @property
    def encryption_key_bytes(self) -> bytes | None:
        """ATTUNE_ENCRYPTION_KEY decoded, when it is set."""
        key = self.encryption_key
        return decode_encryption_key(key.get_secret_value()) if key is not None else None

    @property
    def public_api_url(self) -> str:
        return (self.api_url or f"http://{self.api_host}:{self.api_port}").rstrip("/")

    @property
    def public_temporal_ui_url(self) -> str:
        return (self.temporal_ui_url or f"http://127.0.0.1:{self.temporal_ui_port}").rstrip("/")

    @property
    def codec_origins(self) -> tuple[str, ...]:
        """Where the Web UI that may call the codec endpoint is served from."""
        if self.codec_cors_origins:
            return self.codec_cors_origins
        embedded = self.public_temporal_ui_url
        return (embedded, embedded.replace("//127.0.0.1:", "//localhost:"))

    @property
    def pack_folders(self) -> tuple[Path, ...]:
        """Where packs may be registered from by path; the first receives uploaded packs."""
        return self.packs_dirs or (self.data_dir / "packs",)

    @property
    def artifact_store(self) -> Path:
        """Where artifact files are kept (ATTUNE_ARTIFACT_STORE_DIR, or under the data dir)."""
        return self.artifact_store_dir or self.data_dir / "artifacts"

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def uses_embedded_temporal(self) -> bool:
        return self.temporal_address is None

    @property
    def is_fully_embedded(self) -> bool:
        return self.uses_embedded_database and self.uses_embedded_temporal


def decode_encryption_key(text: str) -> bytes:
    """Decode an urlsafe-base64 key and insist on 32 bytes, so a typo fails at start-up."""
    try:
        raw = base64.urlsafe_b64decode(text.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError) as error:
        raise ValueError("must be urlsafe base64 (for example from `attune keygen`)") from error
    if len(raw) != ENCRYPTION_KEY_BYTES:
        raise ValueError(f"must decode to {ENCRYPTION_KEY_BYTES} bytes, not {len(raw)}")
    return raw


class SettingsError(Exception):
    """A setting has a bad value; the message names the environment variable."""


def describe_validation_error(error: ValidationError) -> str:
    """Turn pydantic's report into lines that name the environment variables to fix."""
    lines = []
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else "settings"
        lines.append(f"{environment_name(field)}: {problem['msg']} (got {problem.get('input')!r})")
    return "invalid settings:\n  " + "\n  ".join(lines)


def environment_name(field: str) -> str:
    """The environment variable an operator sets for a settings field."""
    if field == "temporal_address":
        return "TEMPORAL_ADDRESS"
    return f"ATTUNE_{field.upper()}"


def load_settings() -> Settings:
    """Read the settings from the environment, raising `SettingsError` that names bad values."""
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError(describe_validation_error(error)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return load_settings()


def required_database_url(settings: Settings) -> str:
    """The external database URL, for the commands that do not start an embedded server."""
    if settings.database_url is None:
        raise SettingsError(
            "ATTUNE_DATABASE_URL: required here (only `attune up` starts an embedded PostgreSQL)"
        )
    return settings.database_url


def temporal_target(settings: Settings) -> str:
    """TEMPORAL_ADDRESS, else where `attune up` runs its embedded server on this machine."""
    return settings.temporal_address or f"127.0.0.1:{settings.temporal_port}"
