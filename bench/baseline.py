"""The baseline: a bare workflow with one no-op activity, on the same server, in the same run."""

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="bench_noop")
async def noop() -> None:
    """Does nothing."""


@workflow.defn(name="BenchNoop")
class NoopWorkflow:
    """Starts, runs one activity, ends."""

    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity(noop, start_to_close_timeout=timedelta(seconds=30))
