"""The real worker (``worker.py``), killed by itself right after a projection.

Once the projection activity has written a batch carrying an event of the kind named by
``JOURNEYS_TEST_DIE_AFTER_PROJECTING`` and logged ``readmodel.projected``, the process sends
itself SIGKILL: the read model holds the batch, the workflow task that ran it never completes.
That is the window a crash test needs, hit every time instead of by chance.
"""

import asyncio
import os
import signal
import sys

from temporalio import activity

import worker
from activities.readmodel import ReadModelActivities
from models.state import ProjectionBatch

DIE_AFTER = os.environ["JOURNEYS_TEST_DIE_AFTER_PROJECTING"]


class DyingReadModelActivities(ReadModelActivities):
    """The projection activity, followed by the process's death after the named event kind."""

    @activity.defn(name="project_journey")
    async def project(self, batch: ProjectionBatch) -> int:
        notified = await super().project(batch)
        if any(e.kind == DIE_AFTER for e in batch.events):
            sys.stdout.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        return notified


if __name__ == "__main__":
    setattr(worker, "ReadModelActivities", DyingReadModelActivities)  # noqa: B010
    asyncio.run(worker._main())
