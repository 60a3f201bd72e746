"""Timers: the core pack's timer triggers, each timer rule a Temporal Schedule of its own."""
