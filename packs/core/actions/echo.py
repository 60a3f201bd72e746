"""The core.echo action: its result is the message it was given."""


def run(message: str) -> str:
    """Return the message unchanged."""
    return message
