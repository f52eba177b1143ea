"""One workflow per external message: bounded retries with backoff, then the dead-letter list.

It runs apart from the journey, so a failing channel never blocks or delays the journey.
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.delivery import DeliveryActivities
    from models.delivery import DeliveryOutcome, DeliveryStatus, OutboundMessage
    from workflows.temporal_policy import MAX_THROTTLED_WAITS, PARK_TIMEOUT, delivery_retry


@workflow.defn(name="DeliveryWorkflow")
class DeliveryWorkflow:
    """Deliver one message at least once; park it when it cannot be delivered."""

    @workflow.run
    async def run(self, message: OutboundMessage) -> DeliveryStatus:
        retry = delivery_retry(message.max_attempts)
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
