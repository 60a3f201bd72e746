"""A pack as loaded from its folder: checked, and ready to register.

Each component keeps the file it came from, so the registrar can name it in errors; its
other fields are named after the database columns they fill.

A policy's limits are checked by the pydantic models here, the one statement of their
rules: the loader validates a policy file's `concurrency`, `method` and `rate_limit`
with `PolicyLimits`, and the API's policy bodies are built from the same models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from activities.runners.types import PACK_WORKFLOW_RUNNER, RUNNER_TYPES, WORKFLOW_RUNNER_TYPES
from db.models import Policy

if TYPE_CHECKING:
    from attune.packs.workflow_code import WorkflowCode

KNOWN_RUNNER_TYPES = RUNNER_TYPES | WORKFLOW_RUNNER_TYPES | {PACK_WORKFLOW_RUNNER}
"""Runner types an action may name: exactly those a worker can run."""

SCRIPT_RUNNER_TYPES = frozenset({"local-shell-script", "python-script", PACK_WORKFLOW_RUNNER})
"""Runners whose entry point is a file under the pack's `actions/` folder."""

PYTHON_ENTRY_RUNNER_TYPES = frozenset({"python-script", PACK_WORKFLOW_RUNNER})
"""Runners whose entry point is `file.py:name`."""

TRIGGER_TYPES = frozenset({"webhook", "custom"})
"""Trigger types a pack may declare."""

TIMER_TRIGGER_TYPE = "timer"
"""Only the core pack declares timers: Attune schedules them (see `attune.timers`)."""

CORE_PACK = "core"

MAX_INTEGER = 2**31 - 1
"""The largest value of an INTEGER column (a policy's limit and queue length)."""

DEFAULT_MAX_QUEUE_LENGTH = 10000

MIN_RATE_PER_SECOND = 0.001
"""The slowest rate limit: one start every 1,000 s. Temporal keeps the rate as a 32-bit
float, where 1e-300 is 0: a run would then never start."""
MAX_RATE_PER_SECOND = 10_000.0
"""The fastest rate limit: far beyond what a worker starts, and finite as a 32-bit float."""


@dataclass(frozen=True)
class ActionDefinition:
    """An action file: `parameters` is already the JSON Schema the database stores."""

    file: str
    name: str
    runner_type: str
    label: str | None = None
    description: str | None = None
    entry_point: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    output_schema: dict[str, Any] | None = None
    timeout_seconds: int | None = None
    enabled: bool = True
    # python-workflow: the digest of the pack's workflow code (see `workflow_code`).
    code_digest: str | None = None


@dataclass(frozen=True)
class TriggerDefinition:
    """A trigger file."""

    file: str
    name: str
    trigger_type: str = "custom"
    label: str | None = None
    description: str | None = None
    payload_schema: dict[str, Any] = field(default_factory=dict)
    parameters_schema: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SensorDefinition:
    """A sensor file: `entry_point` is `sensors/file.py:ClassName`, relative to the pack."""

    file: str
    name: str
    entry_point: str
    trigger_refs: list[str]
    poll_interval_seconds: int
    label: str | None = None
    description: str | None = None
    enabled: bool = True


@dataclass(frozen=True)
class RuleDefinition:
    """A rule file; its trigger and action refs are resolved when registering."""

    file: str
    name: str
    trigger_ref: str
    action_ref: str
    label: str | None = None
    description: str | None = None
    criteria: dict[str, Any] = field(default_factory=dict)
    action_parameters: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True
    # `trigger: {type: REF, parameters: {...}}`: checked against the trigger's schema when
    # the pack registers, since the trigger may be another pack's.
    trigger_parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PermissionSetDefinition:
    """A permission set file (`attune.packs.permission_sets`): its grants as JSON, checked."""

    file: str
    name: str
    grants: tuple[dict[str, Any], ...]
    label: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class PolicyDefinition:
    """A policy file; its action ref is resolved when registering."""

    file: str
    name: str
    action_ref: str
    concurrency_limit: int | None = None
    max_queue_length: int = DEFAULT_MAX_QUEUE_LENGTH
    on_full: str = "reject"
    method: str = "enqueue"
    rate_limit_per_second: float | None = None
    enabled: bool = True
    label: str | None = None
    description: str | None = None


OnFull = Literal["reject"]
Method = Literal["enqueue", "cancel"]
# Strict: in a file or a request, `limit: true` or `limit: "3"` is a mistake, not 1 or 3.
_STRICT = ConfigDict(extra="forbid", strict=True, frozen=True)


class Concurrency(BaseModel):
    """How many executions of the action may run at once, and how many more may wait."""

    model_config = _STRICT

    limit: int = Field(ge=1, le=MAX_INTEGER, description="Executions running at once.")
    max_queue_length: int = Field(
        default=DEFAULT_MAX_QUEUE_LENGTH,
        ge=0,
        le=MAX_INTEGER,
        description="Executions that may wait for a slot (method enqueue).",
    )
    on_full: OnFull = Field(default="reject", description="What a full queue does.")


class RateLimit(BaseModel):
    """How many executions of the action may start per second."""

    model_config = _STRICT

    per_second: float = Field(
        ge=MIN_RATE_PER_SECOND,
        le=MAX_RATE_PER_SECOND,
        allow_inf_nan=False,
        description=f"Starts per second, {MIN_RATE_PER_SECOND:g} to {MAX_RATE_PER_SECOND:g}.",
    )


class PolicyLimits(BaseModel):
    """What a policy limits, as files and API bodies give it: at least one limit.

    `method` says what an execution finds when every slot is taken: `enqueue` waits in
    the queue, `cancel` is refused at once.
    """

    model_config = _STRICT

    concurrency: Concurrency | None = None
    method: Method = "enqueue"
    rate_limit: RateLimit | None = None

    @model_validator(mode="after")
    def _limits_something(self) -> Self:
        if self.concurrency is None and self.rate_limit is None:
            raise PydanticCustomError(
                "policy_without_limit",
                "set concurrency, rate_limit or both (a policy with neither limits nothing)",
            )
        return self

    def columns(self) -> dict[str, Any]:
        """The `policy` table's columns these limits fill (defaults where a limit is absent)."""
        concurrency, rate = self.concurrency, self.rate_limit
        return {
            "concurrency_limit": concurrency.limit if concurrency else None,
            "max_queue_length": concurrency.max_queue_length
            if concurrency
            else DEFAULT_MAX_QUEUE_LENGTH,
            "on_full": concurrency.on_full if concurrency else "reject",
            "method": self.method,
            "rate_limit_per_second": rate.per_second if rate else None,
        }


LIMIT_FIELDS = tuple(PolicyLimits.model_fields)
"""`concurrency`, `method` and `rate_limit`: a policy's fields that `PolicyLimits` checks."""


def nested_limits(policy: Policy) -> dict[str, Any]:
    """A policy row's `concurrency`, `method` and `rate_limit`, nested as in files and the API.

    Not checked: a row that breaks `PolicyLimits` (written by hand) still reads back.
    """
    concurrency = None
    if policy.concurrency_limit is not None:
        concurrency = {
            "limit": policy.concurrency_limit,
            "max_queue_length": policy.max_queue_length,
            "on_full": policy.on_full,
        }
    per_second = policy.rate_limit_per_second
    return {
        "concurrency": concurrency,
        "method": policy.method,
        "rate_limit": None if per_second is None else {"per_second": per_second},
    }


@dataclass(frozen=True)
class PackDefinition:
    """A whole pack: `pack.yaml`'s fields, the folder's absolute path and its components."""

    path: Path
    ref: str
    label: str
    version: str
    description: str | None = None
    author: str | None = None
    config_schema: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    actions: tuple[ActionDefinition, ...] = ()
    triggers: tuple[TriggerDefinition, ...] = ()
    rules: tuple[RuleDefinition, ...] = ()
    policies: tuple[PolicyDefinition, ...] = ()
    sensors: tuple[SensorDefinition, ...] = ()
    permission_sets: tuple[PermissionSetDefinition, ...] = ()
    # The Python files its python-workflow actions run, when it has any.
    workflow_code: WorkflowCode | None = None

    def ref_of(self, name: str) -> str:
        """The ref of this pack's component called `name`."""
        return f"{self.ref}.{name}"
