"""Temporal policy for journeys, named once: ids, timeouts, retries, error types."""

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
