"""The individualized plan: versions with who and why; a review completes with two signatures."""

from datetime import date

import pytest
from temporalio.testing import WorkflowEnvironment

from models.care import Role
from models.commands import RevisePlan, SignPlan
from models.errors import RejectionCode
from models.plan import (
    Goal,
    Intervention,
    Modality,
    MutualHelp,
    Objective,
    Preferences,
    Problem,
    RelapsePrevention,
    Signer,
    Support,
    SupportKind,
)
from readmodel.queries import JourneyQueries
from service.journeys import CommandRejectedError
from tests.builders import PRIMARY
from tests.workflows.driver import JourneyDriver


def _revision(reason: str) -> RevisePlan:
    return RevisePlan(
        author=PRIMARY,
        reason=reason,
        problems=[Problem(problem_id="p1", description="daily alcohol use", dimension="d5")],
        goals=[
            Goal(goal_id="g1", description="no alcohol use", target_date=date(2027, 3, 1),
                 problem_id="p1", measure="negative breathalyser at every visit")
        ],
        objectives=[
            Objective(objective_id="o1", goal_id="g1", description="name three triggers",
                      target_date=date(2027, 1, 15))
        ],
        interventions=[
            Intervention(intervention_id="i1", objective_id="o1", modality=Modality.CBT,
                         frequency="weekly", responsible_role=Role.THERAPIST),
            Intervention(intervention_id="i2", objective_id="o1", modality=Modality.MAT,
                         frequency="daily", responsible_role=Role.PHYSICIAN),
        ],
        preferences=Preferences(mutual_help=MutualHelp.SMART_RECOVERY, language="es",
                                family_involvement=True),
        supports=[Support(kind=SupportKind.HOUSING), Support(kind=SupportKind.COURT_ORDERED)],
        relapse_prevention=RelapsePrevention(triggers=["payday"], warning_signs=["isolating"],
                                             coping_strategies=["call sponsor"]),
        aftercare_plan="weekly SMART meetings and monthly check-ins",
    )  # fmt: skip


async def test_plan_review_completes_only_when_clinician_and_client_sign(
    env: WorkflowEnvironment, task_queue: str, queries: JourneyQueries
) -> None:
    j = await JourneyDriver.start(env, task_queue, "J-PLAN")
    with pytest.raises(CommandRejectedError) as none_yet:
        await j.service.send("J-PLAN", SignPlan(version=1, signer=Signer.CLIENT, signed_by=PRIMARY))
    assert none_yet.value.code is RejectionCode.NO_PLAN

    first = await j.service.send("J-PLAN", _revision("initial plan"))
    assert first.plan_version == 1
    plan = (await j.state()).plan
    assert plan is not None
    assert [i.modality for i in plan.interventions] == [Modality.CBT, Modality.MAT]
    assert plan.preferences.mutual_help is MutualHelp.SMART_RECOVERY
    assert not plan.fully_signed

    signed = await j.service.send(
        "J-PLAN", SignPlan(version=1, signer=Signer.CLINICIAN, signed_by=PRIMARY)
    )
    assert signed.message == "signature recorded"
    twice = SignPlan(version=1, signer=Signer.CLINICIAN, signed_by=PRIMARY)
    wrong_version = SignPlan(version=2, signer=Signer.CLIENT, signed_by=PRIMARY)
    for bad, code in (
        (twice, RejectionCode.ALREADY_SIGNED),
        (wrong_version, RejectionCode.PLAN_VERSION_MISMATCH),
    ):
        with pytest.raises(CommandRejectedError) as err:
            await j.service.send("J-PLAN", bad)
        assert err.value.code is code
    done = await j.service.send(
        "J-PLAN", SignPlan(version=1, signer=Signer.CLIENT, signed_by=PRIMARY)
    )
    assert done.message == "plan review complete"
    assert (await j.state()).plan.fully_signed  # type: ignore[union-attr]

    second = await j.service.send("J-PLAN", _revision("after relapse"))
    assert second.plan_version == 2
    newest = (await j.state()).plan
    assert newest is not None
    assert (newest.version, newest.reason, newest.signatures) == (2, "after relapse", [])
    timeline = await queries.get_timeline("J-PLAN")
    assert timeline is not None
    assert [(p.version, p.reason) for p in timeline.plan_versions] == [
        (1, "initial plan"),
        (2, "after relapse"),
    ]


def test_plan_references_must_hold() -> None:
    revision = _revision("x").model_dump()
    revision["interventions"][0]["objective_id"] = "o9"
    with pytest.raises(ValueError, match="unknown objective o9"):
        RevisePlan.model_validate(revision)
