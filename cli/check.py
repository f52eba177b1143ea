"""``journeys check``: is everything this process needs reachable? (health checks, ops)"""

from typing import Annotated

import typer

from cli import render
from cli.errors import fail, run
from runtime.settings import get_settings

app = typer.Typer()


@app.command()
@run
async def check(
    worker: Annotated[
        bool, typer.Option("--worker", help="Also require a live worker on the task queue.")
    ] = False,
) -> None:
    """Check Temporal, the read model and (with --worker) a worker; exit 1 on any failure."""
    # Imported here so the rest of the CLI starts without them (README: CLI start-up).
    from sqlalchemy import text
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    from readmodel.db import create_engine
    from runtime.client import connect

    settings = get_settings()
    client = await connect(settings)
    await client.service_client.check_health()
    render.console.print(f"ok  temporal {settings.temporal_namespace}")
    engine = create_engine(settings.effective_database_url)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()
    render.console.print("ok  read model")
    if worker:
        described = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=settings.temporal_namespace,
                task_queue=TaskQueue(name=settings.task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
        )
        if not described.pollers:
            raise fail(f"no worker polls task queue {settings.task_queue}")
        render.console.print(f"ok  worker on {settings.task_queue} ({len(described.pollers)})")
