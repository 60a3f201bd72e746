"""Packs: loading a pack folder (`loader`) and registering it in the database (`registrar`).

Nothing is imported here, so `attune.packs.parameters` stays usable without the database.
"""
