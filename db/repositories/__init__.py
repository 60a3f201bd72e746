"""Repositories: async functions on an `AsyncSession`, one module per entity.

They add and flush, and never commit: the route or use case owns the transaction. After a
domain error from a write, the caller must roll back (PostgreSQL aborts the transaction).
"""
