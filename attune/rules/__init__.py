"""Rule evaluation: criteria matching over event payloads, and action parameter templating."""
