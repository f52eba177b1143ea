"""Alembic environment of the read model (no alembic.ini: see ``readmodel.migrate``).

``readmodel.migrate.migrate`` hands over a connection it opened on an async engine, so migrations
run inside the caller's event loop. Called from plain synchronous code instead, for example
``command.revision(alembic_config(url), message=..., autogenerate=True)`` to write a new
revision, the environment opens its own async engine on ``sqlalchemy.url``.
"""

import asyncio

from alembic import context
from sqlalchemy import Connection, pool
from sqlalchemy.ext.asyncio import create_async_engine

from readmodel.tables import Base


def run_on(connection: Connection) -> None:
    """Run the pending revisions on one connection."""
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite alters tables by copying them; batch mode does that for us.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_with_engine(url: str) -> None:
    """Open an async engine on ``url`` and migrate through it."""
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_on)
    finally:
        await engine.dispose()


def main() -> None:
    """Use the handed-over connection, else the configured URL."""
    if context.is_offline_mode():
        raise RuntimeError("offline (--sql) migrations are not supported: revisions query the bind")
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection and no sqlalchemy.url: use readmodel.migrate")
    asyncio.run(run_with_engine(url))


main()
