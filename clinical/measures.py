"""Instrument results and the data-point triggers they fire."""

from datetime import datetime, timedelta

from clinical import journal, monitoring, progress
from clinical.commands import check_open
from clinical.errors import RuleViolation
from clinical.instruments import score
from models.clinical import ReassessmentTrigger
from models.commands import CommandResult, RecordInstrument
from models.errors import RejectionCode
from models.instruments import InstrumentResult, SexAtBirth
from models.journey import EventKind
from models.policy import TriggerAction, TriggerRule
from models.state import JourneyState, Measurement
from models.work import TaskKind

# Measurements kept in workflow state for trends; the read model keeps every event.
KEEP_MEASUREMENTS = 60


def fired_triggers(
    rules: list[TriggerRule],
    loc_code: str | None,
    previous_total: int | None,
    result: InstrumentResult,
) -> list[TriggerRule]:
    """The rules one result meets; each fires once for this administration."""
    return [r for r in rules if _meets(r, loc_code, previous_total, result)]


def _meets(
    rule: TriggerRule, loc_code: str | None, previous: int | None, result: InstrumentResult
) -> bool:
    when = rule.when
    return (
        rule.instrument == result.code
        and (rule.in_locs is None or loc_code in rule.in_locs)
        and (when.flag is None or when.flag in result.flags)
        and (when.total_at_least is None or result.total >= when.total_at_least)
        and (
            when.rise_at_least is None
            or (previous is not None and result.total - previous >= when.rise_at_least)
        )
    )


def check_record_instrument(state: JourneyState, cmd: RecordInstrument) -> InstrumentResult:
    """Refuse unknown instruments and invalid answers; return the scored result."""
    check_open(state)
    registry = state.policy.instruments
    if registry is None:
        raise RuleViolation(RejectionCode.UNKNOWN_INSTRUMENT, "this policy has no instruments")
    return score(registry, cmd.code, cmd.answers, state.sex_at_birth)


def apply_record_instrument(
    state: JourneyState, cmd: RecordInstrument, now: datetime
) -> CommandResult:
    """Record the result, then fire every trigger it meets."""
    result = check_record_instrument(state, cmd)
    previous = next((m.total for m in reversed(state.measurements) if m.code == cmd.code), None)
    state.measurements = [
        *state.measurements[-(KEEP_MEASUREMENTS - 1) :],
        Measurement(
            code=result.code,
            total=result.total,
            band=result.band,
            flags=result.flags,
            recorded_at=now,
        ),
    ]
    event = journal.emit(
        state,
        EventKind.INSTRUMENT_RECORDED,
        now,
        f"{result.code} recorded: {result.total} ({_band(result)})",
        # The item answers too: a FHIR export rebuilds the QuestionnaireResponse from them.
        refs={
            "instrument": result.code,
            "total": str(result.total),
            "answers": ",".join(str(a) for a in result.answers),
            "registry": result.registry_version,
        },
    )
    monitoring.recorded(state, result.code, result.total, now)
    for rule in fired_triggers(state.policy.triggers, state.loc_code, previous, result):
        _fire(state, rule, now)
    progress.scored(state, result.code, result.total, now)
    return CommandResult(seq=event.seq, message="instrument recorded", instrument=result)


def _band(result: InstrumentResult) -> str:
    band = result.band.replace("_", " ")
    # Only an unknown sex is said; a known one stays out of the timeline (the band follows it).
    if result.cutoff_for is SexAtBirth.UNKNOWN:
        return f"{band}; sex at birth unknown: lower cut-off"
    return band


def _fire(state: JourneyState, rule: TriggerRule, now: datetime) -> None:
    due = timedelta(hours=rule.due_hours)
    if rule.action is TriggerAction.OPEN_REASSESSMENT:
        ref = journal.open_reassessment(
            state, ReassessmentTrigger.DATA_POINT, rule.trigger_id, now, due, rule.priority
        ).reassessment_id
    else:
        primary = state.care_team.primary
        ref = journal.open_task(
            state,
            TaskKind.SAFETY_FOLLOW_UP,
            primary.role,
            now + due,
            rule.priority,
            now,
            ref=rule.trigger_id,
        ).task_id
    journal.emit(
        state,
        EventKind.TRIGGER_FIRED,
        now,
        f"Trigger {rule.trigger_id} fired: {rule.action.value.replace('_', ' ')}",
        rule.priority,
        {"trigger_id": rule.trigger_id, "opened": ref},
    )
