"""Making a database ready for Attune: schema, the bundled core pack, the admin token.

Run by `attune up` and `attune migrate`, once, before any API or worker process starts,
so those processes never race each other to do it. Every step is safe to repeat.
"""

from __future__ import annotations

import logging

from attune.auth.admin import AdminToken, ensure_admin_token
from attune.config import Settings
from attune.packs.registrar import register_pack_folder
from db import migrate
from db.engine import create_engine, create_session_factory

logger = logging.getLogger(__name__)


async def prepare_database(database_url: str, settings: Settings) -> AdminToken:
    """Migrate, register `packs/core`, and make sure an admin token exists in the data dir.

    The migrations get the settings' encryption key, for those that encrypt stored values.
    """
    await migrate.upgrade(database_url, encryption_key=settings.encryption_key_bytes)
    engine = create_engine(database_url)
    try:
        sessions = create_session_factory(engine)
        async with sessions() as session:
            summary = await register_pack_folder(session, settings.core_pack_dir)
            await session.commit()
        logger.info("registered pack %s from %s", summary.pack, settings.core_pack_dir)
        return await ensure_admin_token(sessions, settings.data_dir)
    finally:
        await engine.dispose()
