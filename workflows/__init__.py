"""Temporal workflow definitions, free of side effects: the sandbox re-imports them."""
