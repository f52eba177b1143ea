"""Upgrade the read model to the newest Alembic revision, from inside a running event loop."""

import asyncio
import fcntl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant works; it only has to be the same for every process migrating one database.
PG_LOCK_KEY = 0x6A6F75726E


def alembic_config() -> Config:
    """Alembic configuration without an ini file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def migrate(database_url: str) -> None:
    """Create or upgrade the tables; safe when several tasks or processes start at once."""
    async with _sqlite_lock(database_url):
        engine = create_async_engine(database_url)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(_upgrade)
        finally:
            await engine.dispose()


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


@asynccontextmanager
async def _sqlite_lock(database_url: str) -> AsyncIterator[None]:
    """An exclusive file lock beside a SQLite database, taken off the event loop's thread."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite") or not url.database:
        yield
        return
    lock_path = Path(url.database + ".migrate-lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as lock:  # noqa: ASYNC230 - an empty lock file, opened once
        await asyncio.to_thread(fcntl.flock, lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
