"""Progress and milestones: days in recovery, goals achieved, treatment response and remission.

Recognising progress is part of treatment, so each milestone notifies the team, once: a
milestone's key names its occurrence (the day count and the stretch of recovery it belongs to,
the goal, the instrument), and a key already reached never fires again.
"""

from datetime import datetime, timedelta

from clinical import journal
from models.journey import EventKind
from models.plan import GoalStatus, TreatmentPlan
from models.policy import OutcomeRule
from models.progress import (
    GoalProgress,
    GoalStatusChange,
    InstrumentTrend,
    Milestone,
    MilestoneKind,
    ProgressView,
)
from models.state import JourneyState


def recovery_since(state: JourneyState) -> datetime:
    """Start of the current stretch in recovery: the journey start or the last relapse."""
    return state.recovery_since or state.started_at


def relapsed(state: JourneyState, now: datetime) -> None:
    """A relapse starts a new stretch; its day-count milestones can be reached again."""
    state.recovery_since = now


def _reached(state: JourneyState, key: str) -> bool:
    return any(m.key == key for m in state.milestones)


def _recovery_key(state: JourneyState, days: int) -> str:
    return f"recovery:{days}:{recovery_since(state).isoformat()}"


def next_recovery_milestone(state: JourneyState) -> tuple[int, datetime] | None:
    """The next day count of the current stretch not yet reached, and when it falls."""
    since = recovery_since(state)
    for days in state.policy.progress.recovery_days:
        if not _reached(state, _recovery_key(state, days)):
            return days, since + timedelta(days=days)
    return None


def next_time(state: JourneyState) -> datetime | None:
    """When the next day-count milestone falls."""
    upcoming = next_recovery_milestone(state)
    return upcoming[1] if upcoming else None


def due_work(state: JourneyState, now: datetime) -> bool:
    """Reach every day-count milestone whose time has come (a late timer reaches each one)."""
    changed = False
    while (upcoming := next_recovery_milestone(state)) is not None and upcoming[1] <= now:
        days = upcoming[0]
        _reach(state, _recovery_key(state, days), MilestoneKind.DAYS_IN_RECOVERY, str(days), now,
               f"Milestone: {days} days in recovery")  # fmt: skip
        changed = True
    return changed


def plan_revised(
    state: JourneyState, previous: TreatmentPlan | None, plan: TreatmentPlan, now: datetime
) -> None:
    """Record each goal's status change, and reach a milestone for each goal newly achieved."""
    before = {g.goal_id: g.status for g in previous.goals} if previous else {}
    for goal in plan.goals:
        if before.get(goal.goal_id) is goal.status:
            continue
        state.goal_history.append(
            GoalStatusChange(
                goal_id=goal.goal_id, status=goal.status, plan_version=plan.version, at=now
            )
        )
        key = f"goal:{goal.goal_id}"
        if goal.status is GoalStatus.ACHIEVED and not _reached(state, key):
            _reach(state, key, MilestoneKind.GOAL_ACHIEVED, goal.goal_id, now,
                   f"Milestone: goal {goal.goal_id} achieved")  # fmt: skip


def outcomes_apply(rule: OutcomeRule, baseline: int) -> bool:
    """Whether response and remission can be measured from this first score.

    A client whose first score was already in the remission range (PHQ-9 below 5) has nothing
    to respond or remit from (CLINICAL.md); without a remission cut-off, any first score above
    0 can drop.
    """
    if rule.remission_below is not None:
        return baseline >= rule.remission_below
    return baseline > 0


def scored(state: JourneyState, code: str, total: int, now: datetime) -> None:
    """Keep the first score as the baseline; reach response and remission when met."""
    baseline = state.baselines.setdefault(code, total)
    for rule in state.policy.progress.outcomes:
        if rule.instrument != code or not outcomes_apply(rule, baseline):
            continue
        below = rule.remission_below
        drop = rule.response_drop_percent
        if drop is not None and (baseline - total) * 100 >= drop * baseline:
            key = f"response:{code}"
            if not _reached(state, key):
                _reach(state, key, MilestoneKind.RESPONSE, code, now,
                       f"Milestone: {code} response ({drop} % below the first score)")  # fmt: skip
        if below is not None and total < below:
            key = f"remission:{code}"
            if not _reached(state, key):
                _reach(state, key, MilestoneKind.REMISSION, code, now,
                       f"Milestone: {code} remission (below {below})")  # fmt: skip


def _reach(
    state: JourneyState, key: str, kind: MilestoneKind, detail: str, now: datetime, summary: str
) -> None:
    state.milestones.append(Milestone(key=key, kind=kind, detail=detail, reached_at=now))
    journal.emit(
        state,
        EventKind.MILESTONE_REACHED,
        now,
        summary,
        refs={"milestone": kind.value, "detail": detail},
    )


def progress_view(state: JourneyState, now: datetime) -> ProgressView:
    """The progress panel: milestones, goals over time, trends and the plan-review status."""
    since = recovery_since(state)
    end = state.ended_at or now
    upcoming = next_recovery_milestone(state) if state.phase.is_open else None
    plan = state.plan
    goals = [
        GoalProgress(
            goal_id=g.goal_id,
            description=g.description,
            target_date=g.target_date.isoformat(),
            status=g.status,
            history=[h for h in state.goal_history if h.goal_id == g.goal_id],
        )
        for g in (plan.goals if plan else [])
    ]
    aftercare = state.aftercare
    return ProgressView(
        journey_id=state.journey_id,
        recovery_since=since,
        days_in_recovery=max(0, (end - since).days),
        next_recovery_milestone_days=upcoming[0] if upcoming else None,
        milestones=list(state.milestones),
        goals=goals,
        goals_achieved=sum(g.status is GoalStatus.ACHIEVED for g in goals),
        trends=_trends(state),
        plan_review=state.plan_review,
        plan_version=plan.version if plan else None,
        plan_signed=plan.fully_signed if plan else False,
        recovery_supports_planned=list(plan.recovery_supports) if plan else [],
        recovery_supports_attended=dict(aftercare.supports_attended) if aftercare else {},
    )


def _trends(state: JourneyState) -> list[InstrumentTrend]:
    trends = []
    for code, baseline in state.baselines.items():
        points = [(m.recorded_at, m.total, m.band) for m in state.measurements if m.code == code]
        if not points:
            continue
        latest = points[-1][1]
        rule = next((r for r in state.policy.progress.outcomes if r.instrument == code), None)
        response = remission = None
        note = None
        if rule is not None and not outcomes_apply(rule, baseline):
            # Not measured: "no response" or "in remission" would both claim what is not true.
            note = _not_measured(rule, baseline)
        elif rule is not None:
            if rule.response_drop_percent is not None:
                response = _reached(state, f"response:{code}")
            if rule.remission_below is not None:
                remission = latest < rule.remission_below
        trends.append(
            InstrumentTrend(
                code=code,
                baseline=baseline,
                points=points,
                latest=latest,
                change_percent=round((latest - baseline) * 100 / baseline, 1) if baseline else None,
                response=response,
                remission=remission,
                outcome_note=note,
            )
        )
    return trends


def _not_measured(rule: OutcomeRule, baseline: int) -> str:
    if rule.remission_below is not None:
        return (
            f"first score {baseline} is below {rule.remission_below}: "
            "response and remission are not measured"
        )
    return f"first score {baseline}: no response can be measured"
