"""Due times: reviews, reassessments, aftercare check-ins."""

from datetime import datetime, timedelta

from models.policy import Policy
from models.state import AftercareState


def next_review_due(policy: Policy, loc_code: str | None, since: datetime) -> datetime | None:
    """When the next scheduled review of ``loc_code`` falls; None outside a level of care."""
    level = policy.level(loc_code) if loc_code else None
    return since + timedelta(days=level.review_interval_days) if level else None


def check_in_due(policy: Policy, aftercare: AftercareState) -> datetime | None:
    """Due time of the next aftercare check-in, None when the schedule is done."""
    offsets = policy.aftercare.check_ins
    if aftercare.next_check_in >= len(offsets):
        return None
    return aftercare.started_at + offsets[aftercare.next_check_in]


def check_in_missed_at(policy: Policy, aftercare: AftercareState) -> datetime | None:
    """When the next check-in counts as missed (due time plus grace)."""
    due = check_in_due(policy, aftercare)
    return due + policy.aftercare.grace if due else None


def check_in_window_opens(policy: Policy, aftercare: AftercareState) -> datetime | None:
    """Earliest time a check-in counts toward the next scheduled one."""
    due = check_in_due(policy, aftercare)
    return due - policy.aftercare.grace if due else None


def aftercare_ends(policy: Policy, aftercare: AftercareState) -> datetime:
    """End of the aftercare schedule."""
    return aftercare.started_at + policy.aftercare.duration
