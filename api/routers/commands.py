"""Staff commands on one journey; the actor is always the authenticated staff member.

Clinical commands need a clinician or supervisor account (service.access) before the journey
is asked; the journey then checks the actor's care-team role against its policy.
"""

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi import Body as RequestBody

from api.deps import Audited, Services
from api.schemas import (
    AssessmentRequest,
    CareTeamRequest,
    CheckInRequest,
    DecisionRequest,
    DischargeRequest,
    EventRequest,
    InstrumentRequest,
    PlanRequest,
    ReassessmentRequest,
    SignatureRequest,
    to_plan_content,
    to_team,
)
from clinical import dispositions
from models.commands import (
    ChangeCareTeam,
    CommandResult,
    CompleteTask,
    DecideTransition,
    Discharge,
    RecordCheckIn,
    RecordInstrument,
    ReportEvent,
    RequestReassessment,
    RevisePlan,
    SignPlan,
)
from service.access import OPERATIONAL_TASKS, ClinicalCommand, is_clinical, require_clinical

router = APIRouter(prefix="/journeys/{journey_id}", tags=["journey commands"])


@router.post("/assessments")
async def record_assessment(
    journey_id: str, body: AssessmentRequest, services: Services, audit: Audited
) -> CommandResult:
    """Record an ASAM assessment; the answer carries the recommendation and its rationale."""
    require_clinical(audit.staff.role, ClinicalCommand.ASSESS)
    return await services.journeys.assess(
        journey_id,
        body.dimensions,
        audit.staff.staff_id,
        body.reassessment_id,
        substances=body.substances,
    )


@router.post("/reassessments")
async def request_reassessment(
    journey_id: str, body: ReassessmentRequest, services: Services, audit: Audited
) -> CommandResult:
    """Ask for a reassessment now."""
    cmd = RequestReassessment(
        requested_by=audit.staff.staff_id, reason=body.reason, priority=body.priority
    )
    return await services.journeys.request_reassessment(journey_id, cmd)


@router.post("/decisions")
async def decide(
    journey_id: str, body: DecisionRequest, services: Services, audit: Audited
) -> CommandResult:
    """Decide the open (or named) reassessment."""
    require_clinical(audit.staff.role, ClinicalCommand.DECIDE)
    cmd = DecideTransition(
        reassessment_id=body.reassessment_id,
        decided_by=audit.staff.staff_id,
        accept=body.accept,
        phase=body.phase,
        loc_code=body.loc_code,
        variance_reason=body.variance_reason,
    )
    return await services.journeys.decide(journey_id, cmd)


@router.post("/events")
async def report_event(
    journey_id: str, body: EventRequest, services: Services, audit: Audited
) -> CommandResult:
    """Report a clinical event."""
    cmd = ReportEvent(kind=body.kind, reported_by=audit.staff.staff_id)
    return await services.journeys.report_event(journey_id, cmd)


@router.post("/instruments")
async def record_instrument(
    journey_id: str, body: InstrumentRequest, services: Services, audit: Audited
) -> CommandResult:
    """Score an instrument (PHQ-9, GAD-7, AUDIT, AUDIT-C, DAST-10, CIWA-Ar, COWS, PCL-5)."""
    require_clinical(audit.staff.role, ClinicalCommand.RECORD_INSTRUMENT)
    cmd = RecordInstrument(code=body.code, answers=body.answers, recorded_by=audit.staff.staff_id)
    return await services.journeys.record_instrument(journey_id, cmd)


@router.post("/tasks/{task_id}/complete")
async def complete_task(
    journey_id: str,
    task_id: Annotated[str, Path(max_length=64)],
    services: Services,
    audit: Audited,
) -> CommandResult:
    """Close a follow-up or outreach task (clinical work needs a clinical account)."""
    if not is_clinical(audit.staff.role):
        tasks = (await services.journeys.state(journey_id)).tasks
        task = next((t for t in tasks if t.task_id == task_id), None)
        if task is not None and task.kind not in OPERATIONAL_TASKS:
            require_clinical(audit.staff.role, ClinicalCommand.COMPLETE_TASK)
    cmd = CompleteTask(task_id=task_id, completed_by=audit.staff.staff_id)
    return await services.journeys.complete_task(journey_id, cmd)


@router.post("/check-ins")
async def record_check_in(
    journey_id: str,
    services: Services,
    audit: Audited,
    body: Annotated[CheckInRequest | None, RequestBody()] = None,
) -> CommandResult:
    """Record an aftercare check-in (the body is optional: supports attended, any use)."""
    given = body or CheckInRequest()
    cmd = RecordCheckIn(
        recorded_by=audit.staff.staff_id,
        supports_attended=given.supports_attended,
        substance_use=given.substance_use,
    )
    return await services.journeys.record_check_in(journey_id, cmd)


@router.put("/plan")
async def revise_plan(
    journey_id: str, body: PlanRequest, services: Services, audit: Audited
) -> CommandResult:
    """Write the next plan version."""
    require_clinical(audit.staff.role, ClinicalCommand.REVISE_PLAN)
    content = to_plan_content(body)
    cmd = RevisePlan(author=audit.staff.staff_id, reason=body.reason, **dict(content))
    return await services.journeys.revise_plan(journey_id, cmd)


@router.post("/plan/signatures")
async def sign_plan(
    journey_id: str, body: SignatureRequest, services: Services, audit: Audited
) -> CommandResult:
    """Sign the current plan version; the review is complete once clinician and client signed."""
    require_clinical(audit.staff.role, ClinicalCommand.SIGN_PLAN)
    cmd = SignPlan(version=body.version, signer=body.signer, signed_by=audit.staff.staff_id)
    return await services.journeys.sign_plan(journey_id, cmd)


@router.put("/care-team")
async def change_care_team(
    journey_id: str, body: CareTeamRequest, services: Services, audit: Audited
) -> CommandResult:
    """Replace the care team."""
    cmd = ChangeCareTeam(
        changed_by=audit.staff.staff_id, care_team=to_team(body.care_team), reason=body.reason
    )
    return await services.journeys.change_care_team(journey_id, cmd)


@router.post("/discharge")
async def discharge(
    journey_id: str, body: DischargeRequest, services: Services, audit: Audited
) -> CommandResult:
    """Discharge the client."""
    require_clinical(audit.staff.role, ClinicalCommand.DISCHARGE)
    cmd = Discharge(
        discharged_by=audit.staff.staff_id, reason=body.reason, dispositions=body.dispositions
    )
    audit.detail = dispositions.describe(cmd)
    return await services.journeys.discharge(journey_id, cmd)
