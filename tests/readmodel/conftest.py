"""The read model on SQLite and on the PostgreSQL at 127.0.0.1:5432, one fresh database each."""

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from readmodel.db import create_engine, sessionmaker
from readmodel.migrate import migrate
from readmodel.tables import Base

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(scope="session")
async def pg_url() -> AsyncIterator[str]:
    """A throwaway PostgreSQL database for this test session, dropped at the end."""
    name = f"journeys_test_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path, pg_url: str) -> str:
    """A migrated, empty read model on each backend."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'readmodel.db'}"
    else:
        url = pg_url
        await reset(url)
    await migrate(url)
    return url


async def reset(url: str) -> None:
    """Drop every read-model table so the next migration starts from nothing."""
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        if connection.dialect.name == "postgresql":
            await connection.exec_driver_sql(
                "DROP FUNCTION IF EXISTS audit_log_append_only() CASCADE"
            )
    await engine.dispose()


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the migrated read model."""
    engine = create_engine(database_url)
    yield sessionmaker(engine)
    await engine.dispose()
