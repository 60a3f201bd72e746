"""Python enumerations and the PostgreSQL enum types (schema `attune`) that store them."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Enum

from db.schema import SCHEMA


class ExecutionStatus(StrEnum):
    """Lifecycle of an execution."""

    REQUESTED = "requested"
    SCHEDULING = "scheduling"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELING = "canceling"
    CANCELLED = "cancelled"
    TIMEOUT = "timeout"
    ABANDONED = "abandoned"


TERMINAL_EXECUTION_STATUSES = frozenset(
    {
        ExecutionStatus.COMPLETED,
        ExecutionStatus.FAILED,
        ExecutionStatus.CANCELLED,
        ExecutionStatus.TIMEOUT,
        ExecutionStatus.ABANDONED,
    }
)
"""Statuses an execution never leaves."""


class EnforcementStatus(StrEnum):
    """Whether an enforcement has been turned into an execution."""

    CREATED = "created"
    PROCESSED = "processed"
    DISABLED = "disabled"


class EnforcementCondition(StrEnum):
    """Whether any or all of a rule's conditions must hold."""

    ANY = "any"
    ALL = "all"


class InquiryStatus(StrEnum):
    """Lifecycle of an inquiry."""

    PENDING = "pending"
    RESPONDED = "responded"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"


class WorkerType(StrEnum):
    """Where a worker runs."""

    LOCAL = "local"
    REMOTE = "remote"
    CONTAINER = "container"


class WorkerStatus(StrEnum):
    """What a worker is doing, as last reported."""

    ACTIVE = "active"
    INACTIVE = "inactive"
    BUSY = "busy"
    ERROR = "error"


class RuntimeType(StrEnum):
    """What a runtime runs: actions or sensors."""

    ACTION = "action"
    SENSOR = "sensor"


class ArtifactType(StrEnum):
    """The kind of content an artifact holds."""

    FILE_BINARY = "file_binary"
    FILE_DATATABLE = "file_datatable"
    FILE_IMAGE = "file_image"
    FILE_TEXT = "file_text"
    OTHER = "other"
    PROGRESS = "progress"
    URL = "url"


class RetentionPolicy(StrEnum):
    """The unit an artifact's retention limit counts in."""

    VERSIONS = "versions"
    DAYS = "days"
    HOURS = "hours"
    MINUTES = "minutes"


class OwnerType(StrEnum):
    """The kind of owner of a key or artifact."""

    SYSTEM = "system"
    IDENTITY = "identity"
    PACK = "pack"
    ACTION = "action"
    SENSOR = "sensor"


class NotificationState(StrEnum):
    """Delivery state of a notification."""

    CREATED = "created"
    QUEUED = "queued"
    PROCESSING = "processing"
    ERROR = "error"


def _values(enum: type[StrEnum]) -> list[str]:
    return [member.value for member in enum]


def pg_enum(enum: type[StrEnum], name: str) -> Enum:
    """A native enum type `attune.<name>` holding the members' lowercase values."""
    return Enum(enum, name=name, schema=SCHEMA, values_callable=_values)


EXECUTION_STATUS = pg_enum(ExecutionStatus, "execution_status")
ENFORCEMENT_STATUS = pg_enum(EnforcementStatus, "enforcement_status")
ENFORCEMENT_CONDITION = pg_enum(EnforcementCondition, "enforcement_condition")
INQUIRY_STATUS = pg_enum(InquiryStatus, "inquiry_status")
WORKER_TYPE = pg_enum(WorkerType, "worker_type")
WORKER_STATUS = pg_enum(WorkerStatus, "worker_status")
RUNTIME_TYPE = pg_enum(RuntimeType, "runtime_type")
ARTIFACT_TYPE = pg_enum(ArtifactType, "artifact_type")
RETENTION_POLICY = pg_enum(RetentionPolicy, "retention_policy")
OWNER_TYPE = pg_enum(OwnerType, "owner_type")
NOTIFICATION_STATE = pg_enum(NotificationState, "notification_state")
