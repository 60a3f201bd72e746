"""Typed declarative models of every Attune table, and the enumerations they use.

Importing this package registers every table on `db.schema.metadata`.
"""

from db.models.action import Action
from db.models.artifact import Artifact
from db.models.audit import AuditRecord
from db.models.base import Base, PackContent, Record
from db.models.enforcement import Enforcement
from db.models.enums import (
    ArtifactType,
    EnforcementCondition,
    EnforcementStatus,
    ExecutionStatus,
    InquiryStatus,
    NotificationState,
    OwnerType,
    RetentionPolicy,
    RuntimeType,
    WorkerStatus,
    WorkerType,
)
from db.models.event import Event
from db.models.execution import Execution
from db.models.execution_output import ExecutionOutput
from db.models.idempotency_key import IdempotencyKey
from db.models.identity import ApiToken, Identity, PermissionAssignment, PermissionSet
from db.models.inquiry import Inquiry
from db.models.key import Key
from db.models.login_failure import LoginFailure
from db.models.notification import Notification
from db.models.pack import Pack
from db.models.policy import Policy
from db.models.queue_stats import QueueStats
from db.models.rule import Rule
from db.models.runtime import Runtime
from db.models.sensor import Sensor
from db.models.system_event import SystemEvent
from db.models.trigger import Trigger
from db.models.webhook_delivery import WebhookDelivery
from db.models.worker import Worker
from db.models.workflow_code import WorkflowCode

__all__ = [
    "Action",
    "ApiToken",
    "Artifact",
    "ArtifactType",
    "AuditRecord",
    "Base",
    "Enforcement",
    "EnforcementCondition",
    "EnforcementStatus",
    "Event",
    "Execution",
    "ExecutionOutput",
    "ExecutionStatus",
    "IdempotencyKey",
    "Identity",
    "Inquiry",
    "InquiryStatus",
    "Key",
    "LoginFailure",
    "Notification",
    "NotificationState",
    "OwnerType",
    "Pack",
    "PackContent",
    "PermissionAssignment",
    "PermissionSet",
    "Policy",
    "QueueStats",
    "Record",
    "RetentionPolicy",
    "Rule",
    "Runtime",
    "RuntimeType",
    "Sensor",
    "SystemEvent",
    "Trigger",
    "WebhookDelivery",
    "Worker",
    "WorkerStatus",
    "WorkerType",
    "WorkflowCode",
]
