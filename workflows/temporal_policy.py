"""Temporal policy for journeys and deliveries, named once: ids, timeouts, retries."""

from datetime import timedelta

from temporalio.common import RetryPolicy

DEFAULT_TASK_QUEUE = "client-journeys"
WORKFLOW_ID_PREFIX = "journey-"

# Projections are short local activities; they retry until the read model is back, backing off.
PROJECTION_TIMEOUT = timedelta(seconds=30)
PROJECTION_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
)


def journey_workflow_id(journey_id: str) -> str:
    """The workflow id of a journey: the opaque journey id, never client data."""
    return f"{WORKFLOW_ID_PREFIX}{journey_id}"


# Deliveries: bounded tries with backoff; a permanent failure (the receiver said no) is not
# retried. Throttling by a rate limit never counts as a try; it is bounded separately.
PERMANENT_DELIVERY_FAILURE = "PermanentDeliveryError"
PARK_TIMEOUT = timedelta(seconds=30)
MAX_THROTTLED_WAITS = 1000


def delivery_retry(max_attempts: int) -> RetryPolicy:
    """The retry policy of one delivery's sends."""
    return RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=5),
        maximum_attempts=max_attempts,
        non_retryable_error_types=[PERMANENT_DELIVERY_FAILURE],
    )


def delivery_workflow_id(key: str, replay: int = 0) -> str:
    """Workflow id of a delivery: one per idempotency key (and replay)."""
    return f"delivery-{key}" if replay == 0 else f"delivery-{key}-replay-{replay}"
