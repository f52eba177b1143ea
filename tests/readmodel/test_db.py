"""Engines: the asyncio driver for plain URLs, and SQLite pragmas on every connection."""

from pathlib import Path

from sqlalchemy import make_url

from readmodel.db import async_url, create_engine, sessionmaker
from readmodel.migrate import migrate
from readmodel.queries import JourneyQueries


def test_plain_urls_get_the_asyncio_driver() -> None:
    pg = async_url("postgresql://postgres:p%40ss@db:5432/journeys")
    assert pg.drivername == "postgresql+asyncpg"
    assert pg.password == "p@ss"
    assert async_url("postgres://db/j").drivername == "postgresql+asyncpg"
    assert async_url("sqlite:///x.db").drivername == "sqlite+aiosqlite"
    assert async_url("postgresql+asyncpg://db/j") == make_url("postgresql+asyncpg://db/j")


async def test_sqlite_connections_use_wal_a_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'pragmas.db'}")
    async with engine.connect() as connection:
        values = [
            (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar()
            for name in ("journal_mode", "busy_timeout", "foreign_keys")
        ]
    await engine.dispose()
    assert values == ["wal", 30000, 1]


async def test_a_plain_postgresql_url_migrates_and_serves(pg_url: str) -> None:
    plain = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    await migrate(plain)
    engine = create_engine(plain)
    assert await JourneyQueries(sessionmaker(engine)).healthy()
    await engine.dispose()
