"""Temporal workflow definitions, free of side effects: a sandboxed workflow's module is
re-imported for each workflow run."""
