"""Temporal activities: action runners and record-keeping against PostgreSQL."""
