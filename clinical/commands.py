"""The journey's staff commands: check (pure, no change) then apply (mutates the state).

Every ``apply_*`` calls its ``check_*`` before touching anything, so a refused command
changes nothing; the workflow runs the checks in its update validators as well.
"""

from datetime import datetime, timedelta

from clinical import journal
from clinical.errors import RuleViolation
from clinical.placement import check_dimensions, recommend
from clinical.schedule import check_in_window_opens, next_review_due
from clinical.transitions import check_transition
from models.clinical import (
    Assessment,
    AssessmentKind,
    Decision,
    Reassessment,
    ReassessmentStatus,
    ReassessmentTrigger,
    Recommendation,
)
from models.commands import (
    ChangeCareTeam,
    CommandResult,
    DecideTransition,
    Discharge,
    RecordAssessment,
    RecordCheckIn,
    ReportEvent,
    RequestReassessment,
    RevisePlan,
    StartJourney,
)
from models.errors import RejectionCode
from models.journey import EventKind, Phase, Priority
from models.plan import TreatmentPlan
from models.state import AftercareState, JourneyState
from models.work import TaskKind, TaskStatus


def start(cmd: StartJourney, now: datetime) -> JourneyState:
    """A new journey in intake, with its comprehensive assessment due."""
    state = JourneyState(
        journey_id=cmd.journey_id, policy=cmd.policy, started_at=now, care_team=cmd.care_team
    )
    journal.enter_segment(state, Phase.INTAKE, None, "journey started", cmd.started_by, now)
    journal.emit(state, EventKind.JOURNEY_STARTED, now, "Journey started in intake")
    journal.open_reassessment(
        state,
        ReassessmentTrigger.INTAKE,
        "comprehensive intake assessment",
        now,
        timedelta(hours=cmd.policy.intake_assessment_due_hours),
    )
    return state


def _check_open(state: JourneyState) -> None:
    if not state.phase.is_open:
        raise RuleViolation(RejectionCode.JOURNEY_CLOSED, f"journey is {state.phase}")


def _find_active(state: JourneyState, reassessment_id: str | None) -> Reassessment:
    if reassessment_id is None:
        active = state.active_reassessment
        if active is None:
            raise RuleViolation(RejectionCode.NO_ACTIVE_REASSESSMENT, "no reassessment is open")
        return active
    found = next((r for r in state.reassessments if r.reassessment_id == reassessment_id), None)
    if found is None:
        raise RuleViolation(
            RejectionCode.UNKNOWN_REASSESSMENT, f"reassessment_id: {reassessment_id!r} not found"
        )
    if not found.status.is_active:
        raise RuleViolation(
            RejectionCode.REASSESSMENT_CLOSED, f"reassessment {reassessment_id} is {found.status}"
        )
    return found


def check_record_assessment(state: JourneyState, cmd: RecordAssessment) -> Reassessment:
    """Refuse an assessment the journey cannot take; return its reassessment."""
    _check_open(state)
    target = _find_active(state, cmd.reassessment_id)
    expected = (
        AssessmentKind.COMPREHENSIVE
        if target.trigger is ReassessmentTrigger.INTAKE
        else AssessmentKind.REASSESSMENT
    )
    if cmd.kind is not expected:
        raise RuleViolation(
            RejectionCode.WRONG_ASSESSMENT_KIND, f"kind: this reassessment needs {expected}"
        )
    check_dimensions(state.policy, cmd.dimensions)
    return target


def apply_record_assessment(
    state: JourneyState, cmd: RecordAssessment, now: datetime
) -> CommandResult:
    """Attach the assessment and the policy's recommendation to the reassessment."""
    target = check_record_assessment(state, cmd)
    target.assessment = Assessment(
        assessment_id=cmd.assessment_id,
        kind=cmd.kind,
        dimensions=dict(cmd.dimensions),
        assessed_by=cmd.assessed_by,
        assessed_at=now,
    )
    target.recommendation = recommend(state.policy, cmd.dimensions, state.phase)
    target.status = ReassessmentStatus.ASSESSED
    event = journal.emit(
        state,
        EventKind.ASSESSMENT_RECORDED,
        now,
        f"Assessment recorded; recommended {_target_label(target.recommendation)}",
        refs={"reassessment_id": target.reassessment_id},
    )
    return CommandResult(
        seq=event.seq,
        message="assessment recorded",
        reassessment_id=target.reassessment_id,
        recommendation=target.recommendation,
    )


def _target_label(recommendation: Recommendation) -> str:
    return recommendation.loc_code or recommendation.phase.value


def check_request_reassessment(state: JourneyState, cmd: RequestReassessment) -> None:
    """Refuse a request while a reassessment is already open."""
    _check_open(state)
    active = state.active_reassessment
    if active is not None:
        raise RuleViolation(
            RejectionCode.REASSESSMENT_ALREADY_OPEN,
            f"reassessment {active.reassessment_id} is already open",
        )


def apply_request_reassessment(
    state: JourneyState, cmd: RequestReassessment, now: datetime
) -> CommandResult:
    """Open a staff-requested reassessment."""
    check_request_reassessment(state, cmd)
    opened = journal.open_reassessment(
        state,
        ReassessmentTrigger.STAFF_REQUEST,
        cmd.reason,
        now,
        timedelta(hours=state.policy.request_due_hours),
        cmd.priority,
    )
    return CommandResult(
        seq=state.seq, message="reassessment opened", reassessment_id=opened.reassessment_id
    )


def check_decide(state: JourneyState, cmd: DecideTransition, now: datetime) -> Decision:
    """Refuse a decision the state machine does not allow; return the decision to record."""
    _check_open(state)
    target = _find_active(state, cmd.reassessment_id)
    recommendation = target.recommendation
    if target.status is not ReassessmentStatus.ASSESSED or recommendation is None:
        raise RuleViolation(
            RejectionCode.ASSESSMENT_MISSING, "record an assessment before deciding"
        )
    if cmd.accept:
        phase, loc_code = recommendation.phase, recommendation.loc_code
    elif cmd.phase is None:
        raise RuleViolation(RejectionCode.TARGET_REQUIRED, "phase: required for an override")
    else:
        phase, loc_code = cmd.phase, cmd.loc_code
    check_transition(state.policy, state.phase, phase, loc_code)
    follows = (phase, loc_code) == (recommendation.phase, recommendation.loc_code)
    if not follows and cmd.variance_reason is None:
        raise RuleViolation(
            RejectionCode.VARIANCE_REASON_REQUIRED,
            "variance_reason: required when the decision differs from the recommendation",
        )
    return Decision(
        decided_by=cmd.decided_by,
        decided_at=now,
        phase=phase,
        loc_code=loc_code,
        follows_recommendation=follows,
        variance_reason=None if follows else cmd.variance_reason,
    )


def apply_decide(state: JourneyState, cmd: DecideTransition, now: datetime) -> CommandResult:
    """Record the decision, close the reassessment and move the journey if it changes."""
    decision = check_decide(state, cmd, now)
    target = _find_active(state, cmd.reassessment_id)
    target.decision = decision
    journal.close_reassessment(state, target, ReassessmentStatus.COMPLETED, now)
    state.event_counts = {}
    moved = (decision.phase, decision.loc_code) != (state.phase, state.loc_code)
    event = journal.emit(
        state,
        EventKind.REASSESSMENT_COMPLETED,
        now,
        "Reassessment completed: " + ("change decided" if moved else "continued stay"),
        refs={"reassessment_id": target.reassessment_id},
    )
    if moved:
        _move(state, decision, now)
    state.next_review_due = next_review_due(state.policy, state.loc_code, now)
    return CommandResult(
        seq=state.seq if moved else event.seq,
        message="decision recorded",
        reassessment_id=target.reassessment_id,
        phase=state.phase,
        loc_code=state.loc_code,
    )


def _move(state: JourneyState, decision: Decision, now: datetime) -> None:
    previous_phase, previous_loc = state.phase, state.loc_code
    reason = decision.variance_reason or "reassessment decision"
    journal.enter_segment(
        state, decision.phase, decision.loc_code, reason, decision.decided_by, now
    )
    if decision.phase is Phase.AFTERCARE and previous_phase is not Phase.AFTERCARE:
        state.aftercare = AftercareState(started_at=now)
    elif decision.phase is not Phase.AFTERCARE:
        state.aftercare = None
    if decision.phase is not previous_phase:
        journal.emit(
            state,
            EventKind.PHASE_CHANGED,
            now,
            f"Phase changed from {previous_phase} to {decision.phase}",
            refs={"from": previous_phase.value, "to": decision.phase.value},
        )
    if decision.loc_code != previous_loc and decision.loc_code is not None:
        journal.emit(
            state,
            EventKind.LOC_CHANGED,
            now,
            f"Level of care changed from {previous_loc or 'none'} to {decision.loc_code}",
            refs={"from": previous_loc or "", "to": decision.loc_code},
        )


def check_report_event(state: JourneyState, cmd: ReportEvent) -> None:
    """Clinical events are taken in every open phase."""
    _check_open(state)


def apply_report_event(state: JourneyState, cmd: ReportEvent, now: datetime) -> CommandResult:
    """Record the event; open (or tighten) a reassessment when the policy says so."""
    check_report_event(state, cmd)
    rule = state.policy.event_rule(cmd.kind)
    count = state.event_counts.get(cmd.kind, 0) + 1
    state.event_counts = {**state.event_counts, cmd.kind: count}
    event = journal.emit(
        state,
        EventKind.CLINICAL_EVENT_REPORTED,
        now,
        f"{cmd.kind.value.replace('_', ' ').capitalize()} reported",
        rule.priority,
        {"event": cmd.kind.value, "count": str(count)},
    )
    opened = None
    if rule.opens_reassessment and count >= rule.threshold:
        opened = journal.open_reassessment(
            state,
            ReassessmentTrigger.EVENT,
            f"{cmd.kind.value} reported",
            now,
            timedelta(hours=rule.reassessment_due_hours),
            rule.priority,
        ).reassessment_id
    return CommandResult(seq=event.seq, message="event recorded", reassessment_id=opened)


def check_change_care_team(state: JourneyState, cmd: ChangeCareTeam) -> None:
    """A closed journey keeps its team."""
    _check_open(state)


def apply_change_care_team(
    state: JourneyState, cmd: ChangeCareTeam, now: datetime
) -> CommandResult:
    """Replace the team and hand open work of departed members to their successors."""
    check_change_care_team(state, cmd)
    state.care_team = cmd.care_team
    present = {m.member_id for m in cmd.care_team.members}
    primary = cmd.care_team.primary
    for reassessment in state.reassessments:
        if reassessment.status.is_active and reassessment.owner not in present:
            reassessment.owner, reassessment.owner_role = primary.member_id, primary.role
    for task in journal.open_tasks(state):
        if task.owner not in present:
            holders = cmd.care_team.with_role(task.role) or [primary]
            task.owner, task.role = holders[0].member_id, holders[0].role
            task.updated_seq = state.seq + 1
    event = journal.emit(
        state, EventKind.CARE_TEAM_CHANGED, now, f"Care team changed: {cmd.reason}"
    )
    return CommandResult(seq=event.seq, message="care team changed")


def check_revise_plan(state: JourneyState, cmd: RevisePlan) -> None:
    """A closed journey's plan is final; goal ids must be unique."""
    _check_open(state)


def apply_revise_plan(state: JourneyState, cmd: RevisePlan, now: datetime) -> CommandResult:
    """Write the next plan version."""
    check_revise_plan(state, cmd)
    version = state.plan.version + 1 if state.plan else 1
    state.plan = TreatmentPlan(
        version=version, goals=cmd.goals, author=cmd.author, reason=cmd.reason, revised_at=now
    )
    event = journal.emit(
        state,
        EventKind.PLAN_REVISED,
        now,
        f"Treatment plan version {version}: {cmd.reason}",
        refs={"version": str(version)},
    )
    return CommandResult(seq=event.seq, message="plan revised", plan_version=version)


def check_record_check_in(state: JourneyState, cmd: RecordCheckIn, now: datetime) -> None:
    """Check-ins belong to aftercare and count only once their window opens."""
    _check_open(state)
    if state.phase is not Phase.AFTERCARE or state.aftercare is None:
        raise RuleViolation(RejectionCode.NOT_IN_AFTERCARE, f"journey is in {state.phase}")
    opens = check_in_window_opens(state.policy, state.aftercare)
    if opens is None or now < opens:
        when = f"opens {opens.isoformat()}" if opens else "schedule is complete"
        raise RuleViolation(RejectionCode.CHECK_IN_NOT_DUE, f"no check-in is due ({when})")


def apply_record_check_in(state: JourneyState, cmd: RecordCheckIn, now: datetime) -> CommandResult:
    """Count the check-in toward the next scheduled one and close outreach work."""
    check_record_check_in(state, cmd, now)
    assert state.aftercare is not None  # narrowed by the check
    state.aftercare.next_check_in += 1
    state.aftercare.last_check_in_at = now
    outreach = [t for t in journal.open_tasks(state) if t.kind is TaskKind.OUTREACH]
    journal.close_tasks(state, outreach, TaskStatus.DONE, now)
    event = journal.emit(
        state,
        EventKind.CHECK_IN_RECORDED,
        now,
        "Aftercare check-in recorded",
        refs={"check_in": str(state.aftercare.next_check_in)},
    )
    return CommandResult(seq=event.seq, message="check-in recorded")


def check_discharge(state: JourneyState, cmd: Discharge) -> None:
    """Only an open journey can be discharged."""
    _check_open(state)


def apply_discharge(state: JourneyState, cmd: Discharge, now: datetime) -> CommandResult:
    """End the journey with a reason, cancelling open work."""
    check_discharge(state, cmd)
    finish(state, Phase.DISCHARGED, f"discharged: {cmd.reason}", cmd.discharged_by, now)
    state.discharge_reason = cmd.reason
    event = journal.emit(
        state,
        EventKind.JOURNEY_DISCHARGED,
        now,
        f"Journey discharged ({cmd.reason})",
        Priority.ROUTINE,
        {"reason": cmd.reason.value},
    )
    return CommandResult(seq=event.seq, message="journey discharged", phase=state.phase)


def finish(state: JourneyState, phase: Phase, reason: str, by: str, now: datetime) -> None:
    """Move to an end state, cancelling every open reassessment and task."""
    active = state.active_reassessment
    if active is not None:
        journal.close_reassessment(state, active, ReassessmentStatus.CANCELLED, now)
    journal.close_tasks(state, journal.open_tasks(state), TaskStatus.CANCELLED, now)
    journal.enter_segment(state, phase, None, reason, by, now)
    state.segments[-1].ended_at = now
    state.next_review_due = None
    state.aftercare = None
    state.ended_at = now
