"""One workflow per external message: bounded retries with backoff, then the dead-letter list.

It runs apart from the journey, so a failing channel never blocks or delays the journey.
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from delivery.activities import PERMANENT, DeliveryActivities
    from models.delivery import DeliveryOutcome, DeliveryStatus, OutboundMessage

# Parking only writes a row.
PARK_TIMEOUT = timedelta(seconds=30)
# Throttling by the rate limit never counts as a failed attempt; it is bounded separately.
MAX_THROTTLED_WAITS = 1000


def delivery_workflow_id(key: str, replay: int = 0) -> str:
    """Workflow id of a delivery: one per idempotency key (and replay)."""
    return f"delivery-{key}" if replay == 0 else f"delivery-{key}-replay-{replay}"


@workflow.defn(name="DeliveryWorkflow")
class DeliveryWorkflow:
    """Deliver one message at least once; park it when it cannot be delivered."""

    @workflow.run
    async def run(self, message: OutboundMessage) -> DeliveryStatus:
        retry = RetryPolicy(
            initial_interval=timedelta(seconds=1),
            backoff_coefficient=2.0,
            maximum_interval=timedelta(minutes=5),
            maximum_attempts=message.max_attempts,
            non_retryable_error_types=[PERMANENT],
        )
        for _ in range(MAX_THROTTLED_WAITS):
            try:
                outcome: DeliveryOutcome = await workflow.execute_activity_method(
                    DeliveryActivities.deliver,
                    message,
                    # A worker that dies mid-send is noticed when the try runs out of time.
                    start_to_close_timeout=timedelta(seconds=message.attempt_timeout_s),
                    retry_policy=retry,
                )
            except ActivityError as err:
                cause = err.cause
                reason = str(cause) if cause is not None else str(err)
                await workflow.execute_activity_method(
                    DeliveryActivities.park,
                    args=[message.key, reason[:500]],
                    start_to_close_timeout=PARK_TIMEOUT,
                )
                return DeliveryStatus.DEAD
            if outcome.throttled_for_s is None:
                return outcome.status
            await workflow.sleep(timedelta(seconds=outcome.throttled_for_s))
        await workflow.execute_activity_method(
            DeliveryActivities.park,
            args=[message.key, "rate limit never cleared"],
            start_to_close_timeout=PARK_TIMEOUT,
        )
        return DeliveryStatus.DEAD
