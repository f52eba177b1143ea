"""Engines and sessions for SQLite (default) and PostgreSQL."""

from typing import Any

from sqlalchemy import URL, Engine, Table, event, make_url
from sqlalchemy import create_engine as _create_sync
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create

# Plain URLs (as operators tend to write them) get the asyncio driver of their database.
ASYNC_DRIVERS = {
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}


def async_url(url: str) -> URL:
    """``url`` with the asyncio driver the read model uses (asyncpg, aiosqlite)."""
    parsed = make_url(url)
    driver = ASYNC_DRIVERS.get(parsed.drivername)
    return parsed.set(drivername=driver) if driver else parsed


def create_sync_engine(url: str | URL) -> Engine:
    """A plain (blocking) SQLite engine with the same settings, for the projection writer."""
    target = make_url(url).set(drivername="sqlite")
    engine = _create_sync(target, connect_args={"timeout": 30, "check_same_thread": False})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def create_engine(url: str) -> AsyncEngine:
    """An async engine; SQLite gets WAL, a busy timeout and foreign keys on every connection."""
    target = async_url(url)
    if target.get_backend_name() == "sqlite":
        engine = _create(target, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return _create(target, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the API read while the worker projects; NORMAL is durable enough under WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded rows usable after commit (views are built after it)."""
    return async_sessionmaker(engine, expire_on_commit=False)


def dialect_insert(session: AsyncSession, table: Table) -> postgresql.Insert | sqlite.Insert:
    """The session's dialect's INSERT, which knows ON CONFLICT."""
    return insert_for(session.get_bind().dialect.name, table)


def insert_for(dialect: str, table: Table) -> postgresql.Insert | sqlite.Insert:
    """The named dialect's INSERT, which knows ON CONFLICT (both spell it the same way)."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
