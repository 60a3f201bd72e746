"""Attune's core: settings, embedded servers, the process launcher and the CLI."""
