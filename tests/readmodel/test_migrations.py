"""Migrations build exactly the declared tables, from inside a running event loop."""

import asyncio

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect

from readmodel.db import create_engine
from readmodel.migrate import alembic_config, migrate
from readmodel.tables import Base
from tests.readmodel.support import reset


async def test_migrations_leave_nothing_for_autogenerate(database_url: str) -> None:
    def diff(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    engine = create_engine(database_url)
    async with engine.connect() as connection:
        assert await connection.run_sync(diff) == []
        tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    await engine.dispose()
    assert tables == {*Base.metadata.tables, "alembic_version"}


async def test_alembic_check_on_its_own_engine_finds_nothing_to_generate(
    database_url: str,
) -> None:
    # Without a handed-over connection the environment opens an async engine on the URL:
    # the path taken when a developer autogenerates the next revision.
    await asyncio.to_thread(command.check, alembic_config(database_url))


async def test_concurrent_and_repeated_migrations_agree(database_url: str) -> None:
    await reset(database_url)
    await asyncio.gather(migrate(database_url), migrate(database_url), migrate(database_url))
    await migrate(database_url)
    engine = create_engine(database_url)
    async with engine.connect() as connection:
        version = (
            await connection.exec_driver_sql("SELECT version_num FROM alembic_version")
        ).all()
    await engine.dispose()
    assert version == [("0008",)]
