"""The read model on SQLite and on the PostgreSQL at 127.0.0.1:5432, migrated and empty."""

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from readmodel.db import create_engine, sessionmaker
from readmodel.migrate import migrate
from tests.readmodel.support import Sessions, reset

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(scope="session")
async def pg_url() -> AsyncIterator[str]:
    """A throwaway PostgreSQL database with a random name, dropped after the test session."""
    name = f"journeys_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path, pg_url: str) -> str:
    """A freshly migrated, empty read model on each backend."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'readmodel.db'}"
    else:
        url = pg_url
        await reset(url)
    await migrate(url)
    return url


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[Sessions]:
    """Sessions on the migrated read model."""
    engine = create_engine(database_url)
    yield sessionmaker(engine)
    await engine.dispose()
