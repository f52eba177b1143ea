"""Out: a client's record as a FHIR R4B Bundle, built from the product's own objects."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Literal

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhir_core.fhirabstractmodel import FHIRAbstractModel

from fhir_r4b import codes
from fhir_r4b.codes import fhir_id, instrument_codes
from fhir_r4b.facts import ConsentFacts, JourneyRecord, PatientFacts, RecordedInstrument
from models.delivery import DeliveryStatus, DeliveryView, ExternalChannel, generic_type
from models.instruments import SexAtBirth
from models.journey import Phase
from models.plan import GoalStatus
from models.views import GoalView, PlanVersionView, SegmentView, TaskView, Timeline
from models.work import TaskStatus

Json = dict[str, Any]

_EPISODE_STATUS = {
    Phase.INTAKE: "planned",
    Phase.WITHDRAWAL_MANAGEMENT: "active",
    Phase.TREATMENT: "active",
    Phase.AFTERCARE: "active",
    Phase.COMPLETED: "finished",
    Phase.DISCHARGED: "finished",
}
_TASK_STATUS = {
    TaskStatus.OPEN: "ready",
    TaskStatus.DONE: "completed",
    TaskStatus.CANCELLED: "cancelled",
}
_GOAL_LIFECYCLE = {
    GoalStatus.ACTIVE: ("active", "in-progress"),
    GoalStatus.REVISED: ("active", "in-progress"),
    GoalStatus.ACHIEVED: ("completed", "achieved"),
    GoalStatus.DROPPED: ("cancelled", "not-attainable"),
}
_COMMUNICATION_STATUS = {
    DeliveryStatus.PENDING: "in-progress",
    DeliveryStatus.SENT: "completed",
    DeliveryStatus.SKIPPED: "not-done",
    DeliveryStatus.DEAD: "stopped",
}
_MEDIUM = {ExternalChannel.EMAIL: "EMAILWRIT", ExternalChannel.WEBHOOK: "ELECTRONIC"}
_PURPOSE = {"treatment": "TREAT", "payment": "HPAYMT", "operations": "HOPERAT"}
_BIRTH_SEX = {SexAtBirth.FEMALE: "F", SexAtBirth.MALE: "M", SexAtBirth.UNKNOWN: "UNK"}


def build_bundle(
    patient: PatientFacts,
    journeys: Sequence[JourneyRecord] = (),
    consents: Sequence[ConsentFacts] = (),
    bundle_type: Literal["collection", "searchset"] = "collection",
    bundle_id: str | None = None,
) -> Bundle:
    """Everything about one client: Patient, each journey's resources, consents.

    ``searchset`` is what ``Patient/$everything`` answers (every entry a match); every resource
    carries the Part 2 security labels, and ids derive from opaque ids only.
    """
    if patient.client_id is None:
        raise ValueError("client_id: an exported patient needs our opaque id")
    subject = _ref("Patient", fhir_id(patient.client_id))
    resources: list[Json] = [_patient(patient)]
    for record in journeys:
        resources.extend(_journey(record, subject))
    resources.extend(_consent(c, subject) for c in consents)
    entries = [
        {
            "fullUrl": f"{r['resourceType']}/{r['id']}",
            "resource": _labelled(r),
            **({"search": {"mode": "match"}} if bundle_type == "searchset" else {}),
        }
        for r in resources
    ]
    bundle: Json = {
        "resourceType": "Bundle",
        "type": bundle_type,
        "meta": {"security": [dict(s) for s in codes.SECURITY_LABELS]},
        "entry": entries,
    }
    if bundle_id is not None:
        bundle["id"] = bundle_id
    if bundle_type == "searchset":
        bundle["total"] = len(entries)
    return Bundle.model_validate(bundle)


def _labelled(resource: Json) -> FHIRAbstractModel:
    resource["meta"] = {"security": [dict(s) for s in codes.SECURITY_LABELS]}
    return get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def _ref(kind: str, rid: str) -> Json:
    return {"reference": f"{kind}/{rid}"}


def _staff(staff_id: str) -> Json:
    return _ref("Practitioner", fhir_id(staff_id))


def _when(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _period(start: datetime | None, end: datetime | None) -> Json:
    return {k: v for k, v in (("start", _when(start)), ("end", _when(end))) if v is not None}


def _journey_id(journey_id: str) -> Json:
    return {"system": codes.JOURNEY_ID_SYSTEM, "value": journey_id}


def _code(system: str, code: str) -> Json:
    return {"coding": [{"system": system, "code": code}]}


def _patient(facts: PatientFacts) -> Json:
    assert facts.client_id is not None
    telecom = [
        {"system": s, "value": v}
        for s, v in (("phone", facts.phone), ("email", facts.email))
        if v is not None
    ]
    resource: Json = {
        "resourceType": "Patient",
        "id": fhir_id(facts.client_id),
        "identifier": [{"system": i.system, "value": i.value} for i in facts.identifiers],
        "name": [
            {"use": n.use, "family": n.family, "given": list(n.given) or None} for n in facts.names
        ],
        "telecom": telecom,
        "birthDate": facts.birth_date.isoformat() if facts.birth_date else None,
        "extension": [{"url": codes.BIRTH_SEX, "valueCode": _BIRTH_SEX[facts.sex_at_birth]}],
    }
    if facts.address is not None:
        a = facts.address
        resource["address"] = [
            {
                "line": list(a.lines) or None,
                "city": a.city,
                "state": a.state,
                "postalCode": a.postal_code,
                "country": a.country,
            }
        ]
    if facts.language is not None:
        resource["communication"] = [
            {"language": _code("urn:ietf:bcp:47", facts.language), "preferred": True}
        ]
    return _clean(resource)


def _clean(resource: Json) -> Json:
    cleaned: Json = _prune(resource)
    return cleaned


def _prune(value: Any) -> Any:
    """Drop empty values (FHIR allows no nulls, empty lists or empty objects)."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [v for v in (_prune(v) for v in value) if v not in (None, [], {})]
    return value


def _journey(record: JourneyRecord, subject: Json) -> Iterable[Json]:
    timeline = record.timeline
    jid = timeline.summary.journey_id
    team = fhir_id("team", jid)
    episode = fhir_id("episode", jid)
    yield _episode(timeline, subject, episode, team)
    yield _care_team(timeline, subject, team)
    for segment in timeline.segments:
        yield _encounter(jid, segment, subject, episode)
    latest_goal: dict[str, GoalView] = {}
    for plan in timeline.plan_versions:
        latest_goal.update({g.goal_id: g for g in plan.goals})
    for goal in latest_goal.values():
        yield _goal(jid, goal, subject)
    ordered = sorted(timeline.plan_versions, key=lambda p: p.version)
    for n, plan in enumerate(ordered):
        previous = ordered[n - 1] if n else None
        yield _care_plan(timeline, plan, previous, n + 1 == len(ordered), subject, team)
    for task in timeline.tasks:
        yield _task(task, subject)
    for instrument in record.instruments:
        yield from _instrument(instrument, subject)
    for delivery in record.deliveries:
        yield _communication(delivery, subject)


def _episode(timeline: Timeline, subject: Json, rid: str, team: str) -> Json:
    summary = timeline.summary
    history: list[Json] = []
    for segment in sorted(timeline.segments, key=lambda s: s.index):
        status = _EPISODE_STATUS[segment.phase]
        if history and history[-1]["status"] == status:
            history[-1]["period"] = _period(
                datetime.fromisoformat(history[-1]["period"]["start"]), segment.ended_at
            )
            continue
        history.append(
            {"status": status, "period": _period(segment.effective_at, segment.ended_at)}
        )
    return _clean(
        {
            "resourceType": "EpisodeOfCare",
            "id": rid,
            "identifier": [_journey_id(summary.journey_id)],
            "status": _EPISODE_STATUS[summary.phase],
            "statusHistory": history,
            "type": [_code(codes.PHASE_SYSTEM, summary.phase.value)],
            "patient": subject,
            "period": _period(summary.started_at, summary.ended_at),
            "careManager": _staff(summary.primary_clinician),
            "team": [_ref("CareTeam", team)],
        }
    )


def _care_team(timeline: Timeline, subject: Json, rid: str) -> Json:
    summary = timeline.summary
    period = _period(summary.started_at, summary.ended_at)
    return _clean(
        {
            "resourceType": "CareTeam",
            "id": rid,
            "status": "active" if summary.phase.is_open else "inactive",
            "subject": subject,
            "period": period,
            "participant": [
                {
                    "role": [_code(codes.ROLE_SYSTEM, m.role)],
                    "member": _staff(m.member_id),
                    "period": period,
                }
                for m in timeline.members
            ],
            "identifier": [_journey_id(summary.journey_id)],
        }
    )


def _encounter(jid: str, segment: SegmentView, subject: Json, episode: str) -> Json:
    loc = segment.loc_code
    inpatient = loc is not None and loc[0] in "34"
    kind: Json = (
        _code(codes.LOC_SYSTEM, loc)
        if loc is not None
        else _code(codes.PHASE_SYSTEM, segment.phase)
    )
    return _clean(
        {
            "resourceType": "Encounter",
            "id": fhir_id("enc", jid, segment.index),
            "status": "in-progress" if segment.ended_at is None else "finished",
            "class": {"system": codes.ACT_CODE, "code": "IMP" if inpatient else "AMB"},
            "type": [kind],
            "subject": subject,
            "episodeOfCare": [_ref("EpisodeOfCare", episode)],
            "period": _period(segment.effective_at, segment.ended_at),
            "participant": [{"individual": _staff(segment.decided_by)}],
        }
    )


def _goal(jid: str, goal: GoalView, subject: Json) -> Json:
    lifecycle, achievement = _GOAL_LIFECYCLE[GoalStatus(goal.status)]
    return _clean(
        {
            "resourceType": "Goal",
            "id": fhir_id("goal", jid, goal.goal_id),
            "lifecycleStatus": lifecycle,
            "achievementStatus": _code(codes.GOAL_ACHIEVEMENT, achievement),
            "description": {"text": goal.description},
            "subject": subject,
            "target": [
                {
                    "dueDate": goal.target_date.isoformat(),
                    "measure": {"text": goal.measure} if goal.measure else None,
                }
            ],
        }
    )


def _care_plan(
    timeline: Timeline,
    plan: PlanVersionView,
    previous: PlanVersionView | None,
    latest: bool,
    subject: Json,
    team: str,
) -> Json:
    jid = timeline.summary.journey_id
    status = ("active" if timeline.summary.phase.is_open else "completed") if latest else "revoked"
    return _clean(
        {
            "resourceType": "CarePlan",
            "id": fhir_id("plan", jid, plan.version),
            "identifier": [_journey_id(jid)],
            "status": status,
            "intent": "plan",
            "title": f"Treatment plan, version {plan.version}",
            "subject": subject,
            "created": _when(plan.revised_at),
            "author": _staff(plan.author),
            "careTeam": [_ref("CareTeam", team)],
            "goal": [_ref("Goal", fhir_id("goal", jid, g.goal_id)) for g in plan.goals],
            "replaces": (
                [_ref("CarePlan", fhir_id("plan", jid, previous.version))] if previous else None
            ),
        }
    )


def _task(task: TaskView, subject: Json) -> Json:
    return _clean(
        {
            "resourceType": "Task",
            "id": fhir_id("task", task.task_id),
            "identifier": [{"system": codes.TASK_ID_SYSTEM, "value": task.task_id}],
            "status": _TASK_STATUS[task.status],
            "businessStatus": _code(codes.TASK_STATUS_SYSTEM, task.status.value),
            "intent": "order",
            "priority": task.priority.value,
            "code": _code(codes.TASK_KIND_SYSTEM, task.kind.value),
            "for": subject,
            "authoredOn": _when(task.created_at),
            "lastModified": _when(task.closed_at or task.created_at),
            "owner": _staff(task.owner),
            "performerType": [_code(codes.ROLE_SYSTEM, task.role)],
            "restriction": {"period": {"end": _when(task.due_at)}},
            "groupIdentifier": _journey_id(task.journey_id),
        }
    )


def _instrument(recorded: RecordedInstrument, subject: Json) -> Iterable[Json]:
    result = recorded.result
    c = instrument_codes(result.code)
    qr_id = fhir_id("qr", recorded.journey_id, recorded.seq)
    items = []
    for number, answer in enumerate(result.answers, start=1):
        value: Json
        if answer in c.answers:
            coding = {
                "system": codes.LOINC,
                "code": c.answers[answer],
                "extension": [{"url": codes.ORDINAL_VALUE, "valueDecimal": answer}],
            }
            value = {"valueCoding": coding}
        else:
            value = {"valueInteger": answer}
        items.append({"linkId": c.link_id(number), "answer": [value]})
    yield _prune(
        {
            "resourceType": "QuestionnaireResponse",
            "id": qr_id,
            "questionnaire": c.questionnaire,
            "status": "completed",
            "subject": subject,
            "authored": _when(recorded.authored),
            "author": _staff(recorded.recorded_by) if recorded.recorded_by else None,
            "item": items,
        }
    )
    code: Json = (
        {"coding": [{"system": codes.LOINC, "code": c.total}], "text": result.code}
        if c.total
        else {**_code(codes.INSTRUMENT_SYSTEM, result.code), "text": result.code}
    )
    yield _prune(
        {
            "resourceType": "Observation",
            "id": fhir_id("obs", recorded.journey_id, recorded.seq),
            "status": "final",
            "category": [_code(codes.OBSERVATION_CATEGORY, "survey")],
            "code": code,
            "subject": subject,
            "effectiveDateTime": _when(recorded.authored),
            "valueInteger": result.total,
            "interpretation": [{"text": result.band}],
            "derivedFrom": [_ref("QuestionnaireResponse", qr_id)],
        }
    )


def _communication(delivery: DeliveryView, subject: Json) -> Json:
    """What was sent, when and how: a generic category only, never the message."""
    return _clean(
        {
            "resourceType": "Communication",
            "id": fhir_id("comm", delivery.key),
            "identifier": [{"system": codes.DELIVERY_KEY_SYSTEM, "value": delivery.key}],
            "status": _COMMUNICATION_STATUS[delivery.status],
            "category": [_code(codes.GENERIC_TYPE_SYSTEM, generic_type(delivery.kind).value)],
            "priority": delivery.priority.value,
            "medium": [_code(codes.PARTICIPATION_MODE, _MEDIUM[delivery.channel])],
            "subject": subject,
            "sent": _when(delivery.sent_at),
            "recipient": [
                {"identifier": {"system": codes.DELIVERY_TARGET_SYSTEM, "value": delivery.target}}
            ],
        }
    )


def _consent(facts: ConsentFacts, subject: Json) -> Json:
    actor_kind = "Organization" if facts.recipient_kind == "organization" else "RelatedPerson"
    purposes = [
        {"system": codes.ACT_REASON, "code": _PURPOSE[p]}
        if p in _PURPOSE
        else {"system": f"{codes.OUR}:purpose", "code": "other", "display": p}
        for p in facts.purposes
    ]
    return _clean(
        {
            "resourceType": "Consent",
            "id": fhir_id("consent", facts.consent_id),
            "status": "inactive" if facts.revoked_at is not None else "active",
            "scope": _code(codes.CONSENT_SCOPE, "patient-privacy"),
            "category": [_code(codes.ACT_CODE, "IDSCL")],
            "patient": subject,
            "dateTime": _when(facts.signed_at),
            "policy": [{"uri": codes.PART2_POLICY}],
            "provision": {
                "type": "permit",
                "period": {
                    "start": facts.effective.isoformat(),
                    "end": facts.expires.isoformat() if facts.expires else None,
                },
                "actor": [
                    {
                        "role": _code(codes.PARTICIPATION_TYPE, "IRCP"),
                        "reference": {"type": actor_kind, "display": facts.recipient},
                    }
                ],
                "purpose": purposes,
                "class": [
                    {"system": codes.DATA_CLASS_SYSTEM, "code": d} for d in facts.data_classes
                ],
            },
        }
    )
