"""Open work at discharge: urgent work needs a recorded disposition, routine work is cancelled.

A clinician discharging a client with an open safety follow-up or urgent reassessment records,
for each, whether it is handed to a named care-team member (it then stays open after the journey
ends and keeps climbing the escalation ladder until done) or closed with a reason. Nothing urgent
ends silently.
"""

from datetime import datetime

from clinical import journal
from clinical.errors import RuleViolation
from models.clinical import Reassessment, ReassessmentStatus
from models.commands import Discharge, WorkDisposition
from models.errors import RejectionCode
from models.journey import EventKind, Priority
from models.state import JourneyState
from models.work import Task, TaskKind, TaskStatus

# Ids listed in one refusal or event reference (the rest are counted).
LIST_AT_MOST = 10


def listed(ids: list[str]) -> str:
    """A bounded, comma-separated list of opaque ids."""
    shown = ", ".join(ids[:LIST_AT_MOST])
    more = len(ids) - LIST_AT_MOST
    return shown + (f" and {more} more" if more > 0 else "")


def describe(cmd: Discharge) -> str | None:
    """The dispositions of a discharge, for the audit log (None when there are none)."""
    parts = [
        f"{d.item_id} handed to {d.hand_to}"
        if d.hand_to
        else f"{d.item_id} closed: {d.close_reason}"
        for d in cmd.dispositions
    ]
    return "; ".join(parts) or None


def check_dispositions(state: JourneyState, cmd: Discharge) -> None:
    """Every urgent open item has exactly one valid disposition; nothing else is named twice."""
    open_ids = set(journal.open_work(state))
    members = {m.member_id for m in state.care_team.members}
    seen: set[str] = set()
    for disposition in cmd.dispositions:
        if disposition.item_id not in open_ids:
            raise RuleViolation(
                RejectionCode.INVALID_DISPOSITION,
                f"dispositions: {disposition.item_id!r} is not open work on this journey",
            )
        if disposition.item_id in seen:
            raise RuleViolation(
                RejectionCode.INVALID_DISPOSITION,
                f"dispositions: {disposition.item_id!r} is named twice",
            )
        seen.add(disposition.item_id)
        if disposition.hand_to is not None and disposition.hand_to not in members:
            raise RuleViolation(
                RejectionCode.INVALID_DISPOSITION,
                f"dispositions: {disposition.hand_to!r} is not on the care team",
            )
    missing = [i for i in journal.urgent_open_work(state) if i not in seen]
    if missing:
        raise RuleViolation(
            RejectionCode.OPEN_URGENT_WORK,
            "dispositions: open urgent work needs a disposition (hand_to a member or "
            f"close_reason): {listed(missing)}",
        )


def apply_dispositions(state: JourneyState, cmd: Discharge, now: datetime) -> None:
    """Hand over or close each named item, with an event in the timeline for each."""
    for disposition in cmd.dispositions:
        active = state.active_reassessment
        if active is not None and active.reassessment_id == disposition.item_id:
            _dispose_reassessment(state, active, disposition, cmd.discharged_by, now)
            continue
        task = next(t for t in journal.open_tasks(state) if t.task_id == disposition.item_id)
        _dispose_task(state, task, disposition, cmd.discharged_by, now)


def _dispose_task(
    state: JourneyState, task: Task, disposition: WorkDisposition, by: str, now: datetime
) -> None:
    label = task.kind.value.replace("_", " ")
    if disposition.hand_to is None:
        journal.close_tasks(state, [task], TaskStatus.CANCELLED, now)
        _closed_event(state, task.task_id, label, disposition, by, now)
        return
    member = next(m for m in state.care_team.members if m.member_id == disposition.hand_to)
    task.owner, task.role, task.handed_over = member.member_id, member.role, True
    task.updated_seq = state.seq + 1
    _handed_event(state, task.task_id, label, member.member_id, task.priority, by, now)


def _dispose_reassessment(
    state: JourneyState,
    reassessment: Reassessment,
    disposition: WorkDisposition,
    by: str,
    now: datetime,
) -> None:
    journal.close_reassessment(state, reassessment, ReassessmentStatus.CANCELLED, now)
    item = reassessment.reassessment_id
    if disposition.hand_to is None:
        _closed_event(state, item, "reassessment", disposition, by, now)
        return
    member = next(m for m in state.care_team.members if m.member_id == disposition.hand_to)
    task = journal.open_task(
        state, TaskKind.HANDOVER, member.role, reassessment.due_at, reassessment.priority, now,
        ref=item,
    )  # fmt: skip
    task.owner, task.role, task.handed_over = member.member_id, member.role, True
    _handed_event(state, item, "reassessment", member.member_id, reassessment.priority, by, now)


def _closed_event(
    state: JourneyState,
    item: str,
    label: str,
    disposition: WorkDisposition,
    by: str,
    now: datetime,
) -> None:
    reason = disposition.close_reason or ""
    journal.emit(
        state, EventKind.WORK_CLOSED, now,
        f"Open {label} {item} closed at discharge by {by}: {reason}",
        Priority.ROUTINE, {"item_id": item, "by": by},
    )  # fmt: skip


def _handed_event(
    state: JourneyState, item: str, label: str, member: str, priority: Priority, by: str,
    now: datetime,
) -> None:  # fmt: skip
    supervisors = [m.member_id for m in state.care_team.with_role(state.policy.escalation_role)]
    journal.emit(
        state, EventKind.WORK_HANDED_OVER, now,
        f"Open {label} {item} handed to {member} at discharge by {by}",
        priority, {"item_id": item, "to": member, "by": by},
        to=[member, *supervisors],
    )  # fmt: skip
