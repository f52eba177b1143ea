"""The application's Prometheus metrics (``journeys_*``) and the vocabularies of their labels.

Label values come only from bounded vocabularies (command names, outcomes, event kinds,
channels, statuses; the read-model gauges add phases, levels of care and task kinds): a
journey, client or staff id never becomes a label. Counters are primed at zero for every value
of their vocabulary, so ``rate()`` and ``increase()`` see a series from the first scrape.
Serving them is :mod:`runtime.metrics_server`'s job.
"""

from prometheus_client import Counter, Histogram

from models.commands import OPERATIONS
from models.delivery import DeliveryStatus, ExternalChannel
from models.journey import EventKind

NAMESPACE = "journeys"
# Commands answer in milliseconds to seconds; projection lag can reach minutes when a worker is
# down or the read model is locked.
_FAST = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_LAG = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0, 300.0, 1800.0)

COMMANDS = Counter(
    "commands",
    "Staff commands sent to journeys, by command and outcome "
    "(accepted, rejected, not_found, failed).",
    ["command", "outcome"],
    namespace=NAMESPACE,
)
COMMAND_SECONDS = Histogram(
    "command_duration_seconds",
    "Time from sending a command to the journey's answer (its change projected).",
    ["command"],
    namespace=NAMESPACE,
    buckets=_FAST,
)
PROJECTIONS = Counter(
    "projections",
    "Projection batches applied to the read model, by outcome (written, failed).",
    ["outcome"],
    namespace=NAMESPACE,
)
PROJECTION_SECONDS = Histogram(
    "projection_duration_seconds",
    "Time to write one projection batch into the read model.",
    namespace=NAMESPACE,
    buckets=_FAST,
)
PROJECTION_LAG = Histogram(
    "projection_lag_seconds",
    "Time from an event in the journey's workflow to its row written in the read model.",
    namespace=NAMESPACE,
    buckets=_LAG,
)
ESCALATIONS = Counter(
    "escalations",
    "Rungs of the escalation ladder climbed by overdue work, by event kind.",
    ["kind"],
    namespace=NAMESPACE,
)
DELIVERIES = Counter(
    "deliveries",
    "External deliveries finished, by channel and status (sent, skipped, dead).",
    ["channel", "status"],
    namespace=NAMESPACE,
)
DELIVERY_FAILURES = Counter(
    "delivery_failures",
    "Failed delivery attempts, by channel and whether the failure is permanent.",
    ["channel", "permanent"],
    namespace=NAMESPACE,
)


START_JOURNEY = "start_journey"
COMMAND_NAMES: tuple[str, ...] = (START_JOURNEY, *(op.name for op in OPERATIONS))
COMMAND_OUTCOMES = ("accepted", "rejected", "not_found", "failed")
PROJECTION_OUTCOMES = ("written", "failed")
# The event kinds of a rung climbed (see clinical.escalation).
ESCALATION_KINDS = frozenset(
    {EventKind.REASSESSMENT_OVERDUE, EventKind.PLAN_REVIEW_OVERDUE, EventKind.WORK_OVERDUE}
)
FINISHED_DELIVERIES = (DeliveryStatus.SENT, DeliveryStatus.SKIPPED, DeliveryStatus.DEAD)


def prime() -> None:
    """Create every counter's series at zero (idempotent)."""
    for command in COMMAND_NAMES:
        COMMAND_SECONDS.labels(command)
        for outcome in COMMAND_OUTCOMES:
            COMMANDS.labels(command, outcome)
    for projection in PROJECTION_OUTCOMES:
        PROJECTIONS.labels(projection)
    for kind in ESCALATION_KINDS:
        ESCALATIONS.labels(kind.value)
    for channel in ExternalChannel:
        for status in FINISHED_DELIVERIES:
            DELIVERIES.labels(channel.value, status.value)
        for permanent in ("true", "false"):
            DELIVERY_FAILURES.labels(channel.value, permanent)
