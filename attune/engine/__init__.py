"""How events become executions and executions become Temporal workflows."""
