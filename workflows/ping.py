"""`attune.Ping`: proves that Temporal, a worker and PostgreSQL work together."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.diagnostics import DatabasePing, DiagnosticActivities


@workflow.defn(name="attune.Ping")
class PingWorkflow:
    @workflow.run
    async def run(self) -> DatabasePing:
        return await workflow.execute_activity_method(
            DiagnosticActivities.ping_database,
            start_to_close_timeout=timedelta(seconds=10),
        )
