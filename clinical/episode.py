"""Episode commands: clinical events, care team, plan, aftercare check-ins, discharge and end.

Like ``clinical.commands``: every ``apply_*`` runs its ``check_*`` first, so a refused command
changes nothing.
"""

from datetime import datetime, timedelta

from clinical import dispositions, journal, plan_review, progress
from clinical.authority import check_authority, signature_action
from clinical.commands import check_open
from clinical.errors import RuleViolation
from clinical.schedule import check_in_window_opens
from models.authority import ClinicalAction
from models.clinical import ReassessmentStatus, ReassessmentTrigger
from models.commands import (
    AddNote,
    ChangeCareTeam,
    CommandResult,
    CompleteTask,
    Discharge,
    RecordCheckIn,
    ReportEvent,
    RevisePlan,
    SignPlan,
)
from models.errors import RejectionCode
from models.journey import EventKind, Phase, Priority
from models.plan import Signature, TreatmentPlan
from models.policy import ClinicalEventKind
from models.state import SAFETY_RULES, JourneyState
from models.work import Task, TaskKind, TaskStatus


def check_report_event(state: JourneyState, cmd: ReportEvent) -> None:
    """Clinical events are taken in every open phase."""
    check_open(state)


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
    if cmd.kind is ClinicalEventKind.RELAPSE:
        progress.relapsed(state, now)
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


def check_add_note(state: JourneyState, cmd: AddNote) -> None:
    """Notes are taken while the journey is open."""
    check_open(state)


def apply_add_note(state: JourneyState, cmd: AddNote, now: datetime) -> CommandResult:
    """Put the note on the timeline and in the feeds of the rest of the care team."""
    check_add_note(state, cmd)
    team = [m.member_id for m in state.care_team.members if m.member_id != cmd.written_by]
    event = journal.emit(
        state, EventKind.NOTE_ADDED, now, cmd.text, refs={"author": cmd.written_by}, to=team
    )
    return CommandResult(seq=event.seq, message="note added")


def check_change_care_team(state: JourneyState, cmd: ChangeCareTeam) -> None:
    """A closed journey keeps its team."""
    check_open(state)


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
    check_open(state)
    check_authority(state, cmd.author, ClinicalAction.REVISE_PLAN, "author")


def apply_revise_plan(state: JourneyState, cmd: RevisePlan, now: datetime) -> CommandResult:
    """Write the next plan version."""
    check_revise_plan(state, cmd)
    previous = state.plan
    version = previous.version + 1 if previous else 1
    content = cmd.model_dump(exclude={"author", "reason"})
    state.plan = TreatmentPlan.model_validate(
        {**content, "version": version, "author": cmd.author, "reason": cmd.reason,
         "revised_at": now},
        strict=False,
    )  # fmt: skip
    event = journal.emit(
        state,
        EventKind.PLAN_REVISED,
        now,
        f"Treatment plan version {version}: {cmd.reason}",
        refs={"version": str(version)},
    )
    progress.plan_revised(state, previous, state.plan, now)
    return CommandResult(seq=event.seq, message="plan revised", plan_version=version)


def check_sign_plan(state: JourneyState, cmd: SignPlan) -> TreatmentPlan:
    """Only the current version can be signed, once per signer."""
    check_open(state)
    check_authority(state, cmd.signed_by, signature_action(cmd.signer), "signed_by")
    plan = state.plan
    if plan is None:
        raise RuleViolation(RejectionCode.NO_PLAN, "the journey has no treatment plan yet")
    if cmd.version != plan.version:
        raise RuleViolation(
            RejectionCode.PLAN_VERSION_MISMATCH,
            f"version: {cmd.version} is not the current plan version {plan.version}",
        )
    if cmd.signer in {s.signer for s in plan.signatures}:
        raise RuleViolation(RejectionCode.ALREADY_SIGNED, f"signer: {cmd.signer} already signed")
    return plan


def apply_sign_plan(state: JourneyState, cmd: SignPlan, now: datetime) -> CommandResult:
    """Add the signature; the review is complete once clinician and client both signed."""
    plan = check_sign_plan(state, cmd)
    signature = Signature(signer=cmd.signer, signed_by=cmd.signed_by, signed_at=now)
    state.plan = plan.model_copy(update={"signatures": [*plan.signatures, signature]})
    complete = state.plan.fully_signed
    if complete:
        state.signed_plan_version = plan.version
        plan_review.on_fully_signed(state, now)
    event = journal.emit(
        state, EventKind.PLAN_SIGNED, now,
        f"Plan version {plan.version} signed by the {cmd.signer}"
        + ("; review complete" if complete else "; awaiting the other signature"),
        refs={"version": str(plan.version), "signer": cmd.signer.value},
    )  # fmt: skip
    message = "plan review complete" if complete else "signature recorded"
    return CommandResult(seq=event.seq, message=message, plan_version=plan.version)


def check_record_check_in(state: JourneyState, cmd: RecordCheckIn, now: datetime) -> None:
    """Check-ins belong to aftercare and count only once their window opens."""
    check_open(state)
    if state.phase is not Phase.AFTERCARE or state.aftercare is None:
        raise RuleViolation(RejectionCode.NOT_IN_AFTERCARE, f"journey is in {state.phase}")
    opens = check_in_window_opens(state.policy, state.aftercare)
    if opens is None or now < opens:
        when = f"opens {opens.isoformat()}" if opens else "schedule is complete"
        raise RuleViolation(RejectionCode.CHECK_IN_NOT_DUE, f"no check-in is due ({when})")


def apply_record_check_in(state: JourneyState, cmd: RecordCheckIn, now: datetime) -> CommandResult:
    """Count the check-in toward the next scheduled one and close outreach work."""
    check_record_check_in(state, cmd, now)
    aftercare = state.aftercare
    assert aftercare is not None  # narrowed by the check
    aftercare.next_check_in += 1
    aftercare.last_check_in_at = now
    aftercare.missed_in_row = 0
    for support in dict.fromkeys(cmd.supports_attended):
        aftercare.supports_attended[support.value] = (
            aftercare.supports_attended.get(support.value, 0) + 1
        )
    outreach = [t for t in journal.open_tasks(state) if t.kind is TaskKind.OUTREACH]
    journal.close_tasks(state, outreach, TaskStatus.DONE, now)
    event = journal.emit(
        state,
        EventKind.CHECK_IN_RECORDED,
        now,
        "Aftercare check-in recorded",
        refs={"check_in": str(aftercare.next_check_in)},
    )
    if cmd.substance_use:
        # Use reported at a check-in is a relapse: the policy's relapse rule decides the rest.
        relapse = ReportEvent(kind=ClinicalEventKind.RELAPSE, reported_by=cmd.recorded_by)
        opened = apply_report_event(state, relapse, now).reassessment_id
        return CommandResult(
            seq=event.seq, message="check-in recorded; relapse reported", reassessment_id=opened
        )
    return CommandResult(seq=event.seq, message="check-in recorded")


def check_complete_task(state: JourneyState, cmd: CompleteTask) -> Task:
    """Only open follow-up and outreach tasks can be completed by hand.

    Work handed over at discharge stays open after the journey ends, so it is completed then.
    """
    task = next((t for t in journal.open_tasks(state) if t.task_id == cmd.task_id), None)
    if task is None or not task.handed_over:
        check_open(state)
    if task is None or task.kind in (TaskKind.COMPLETE_REASSESSMENT, TaskKind.PLAN_REVIEW):
        raise RuleViolation(
            RejectionCode.UNKNOWN_TASK,
            f"task_id: {cmd.task_id!r} is not an open follow-up or outreach task",
        )
    return task


def apply_complete_task(state: JourneyState, cmd: CompleteTask, now: datetime) -> CommandResult:
    """Close the task."""
    task = check_complete_task(state, cmd)
    journal.close_tasks(state, [task], TaskStatus.DONE, now)
    event = journal.emit(
        state,
        EventKind.TASK_COMPLETED,
        now,
        f"Task {task.kind.value.replace('_', ' ')} done",
        refs={"task_id": task.task_id},
    )
    return CommandResult(seq=event.seq, message="task completed")


def check_discharge(state: JourneyState, cmd: Discharge) -> None:
    """Only an open journey can be discharged; open urgent work needs a disposition each."""
    check_open(state)
    check_authority(state, cmd.discharged_by, ClinicalAction.DISCHARGE, "discharged_by")
    if state.rules >= SAFETY_RULES or cmd.dispositions:
        dispositions.check_dispositions(state, cmd)


def apply_discharge(state: JourneyState, cmd: Discharge, now: datetime) -> CommandResult:
    """End the journey with a reason: dispositions first, then routine work is cancelled."""
    check_discharge(state, cmd)
    named = {d.item_id for d in cmd.dispositions}
    cancelled = [i for i in journal.open_work(state) if i not in named]
    dispositions.apply_dispositions(state, cmd, now)
    finish(state, Phase.DISCHARGED, f"discharged: {cmd.reason}", cmd.discharged_by, now)
    state.discharge_reason = cmd.reason
    refs = {"reason": cmd.reason.value}
    if cancelled:
        refs["cancelled"] = dispositions.listed(cancelled)
    summary = f"Journey discharged ({cmd.reason})"
    if cancelled:
        summary += f"; routine work cancelled: {dispositions.listed(cancelled)}"
    event = journal.emit(state, EventKind.JOURNEY_DISCHARGED, now, summary, Priority.ROUTINE, refs)
    return CommandResult(seq=event.seq, message="journey discharged", phase=state.phase)


def finish(state: JourneyState, phase: Phase, reason: str, by: str, now: datetime) -> None:
    """Move to an end state, cancelling the open reassessment and every task not handed over.

    Completion happens only once nothing is open (clinical.timers), and discharge hands over or
    closes urgent work first, so what is cancelled here is routine work.
    """
    active = state.active_reassessment
    if active is not None:
        journal.close_reassessment(state, active, ReassessmentStatus.CANCELLED, now)
    routine = [t for t in journal.open_tasks(state) if not t.handed_over]
    journal.close_tasks(state, routine, TaskStatus.CANCELLED, now)
    journal.enter_segment(state, phase, None, reason, by, now)
    state.segments[-1].ended_at = now
    state.next_review_due = None
    state.aftercare = None
    state.monitoring_due = {}
    state.monitoring_since = None
    state.plan_review = None
    state.ended_at = now
