"""Upgrade the read model to the newest Alembic revision, from inside a running event loop."""

import asyncio
import fcntl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import URL, Connection, pool, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from readmodel.db import async_url, create_engine, sessionmaker
from runtime.files import private_directory, private_file, sqlite_files, tighten_permissions

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant works; it only has to be the same for every process migrating one database.
PG_LOCK_KEY = 0x6A6F75726E


def alembic_config(database_url: str | None = None) -> Config:
    """Alembic configuration without an ini file.

    Args:
        database_url: only needed when Alembic opens its own engine (writing a new revision
            with autogenerate from synchronous code); ``migrate`` hands over a connection.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if database_url is not None:
        url = async_url(database_url).render_as_string(hide_password=False)
        # ConfigParser interpolation would read a password's "%" as a placeholder.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def migrate(database_url: str) -> None:
    """Create or upgrade the tables to the newest revision, from inside a running event loop.

    Safe when several tasks or processes start at once: PostgreSQL takes an advisory lock in
    the migrating transaction, SQLite a file lock beside the database.
    """
    url = async_url(database_url)
    database = _sqlite_file(url)
    # A "file:" URI (uri=true) is resolved by SQLite itself, and may name an in-memory one.
    if database is not None and not str(database).startswith("file:"):
        _private_database(database)
    async with _sqlite_lock(database):
        engine = create_async_engine(url, poolclass=pool.NullPool)
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


def _sqlite_file(url: URL) -> Path | None:
    """The SQLite database file the URL names; None for PostgreSQL or an in-memory one."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def _private_database(database: Path) -> None:
    """The database owner-only before SQLite opens it: its directory 0700 when created here,
    the file 0600 (SQLite gives its -wal and -shm files the database file's mode); files of
    an earlier run that others could read are tightened."""
    private_directory(database.parent)
    private_file(database)
    tighten_permissions(*sqlite_files(database)[1:])


@asynccontextmanager
async def _sqlite_lock(database: Path | None) -> AsyncIterator[None]:
    """An exclusive file lock beside a SQLite database, taken off the event loop's thread."""
    if database is None:
        yield
        return
    lock_path = private_file(database.with_name(database.name + ".migrate-lock"))
    with lock_path.open("w") as lock:  # an empty lock file, opened once
        await asyncio.to_thread(fcntl.flock, lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@asynccontextmanager
async def open_read_model(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Migrate the read model, then hand out its sessions; the engine is closed afterwards.

    The one way every process (worker, API, CLI commands) opens the read model.
    """
    await migrate(database_url)
    engine = create_engine(database_url)
    try:
        yield sessionmaker(engine)
    finally:
        await engine.dispose()
