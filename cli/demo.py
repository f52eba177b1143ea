"""Seed synthetic journeys spread over the phases, for trying the product out."""

import asyncio
import random
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress

from cli import render
from cli.context import journey_service
from cli.errors import run
from models.care import CareTeam, CareTeamMember, Role
from models.clinical import AssessmentKind
from models.commands import (
    DecideTransition,
    Discharge,
    RecordAssessment,
    RequestReassessment,
    StartJourney,
)
from models.journey import DischargeReason
from models.policy import Policy
from runtime.settings import get_settings
from service.ids import new_journey_id

if TYPE_CHECKING:
    from service.journeys import JourneyService

app = typer.Typer()

STAFF: dict[Role, list[str]] = {
    Role.PHYSICIAN: ["dr-ames", "dr-iqbal"],
    Role.NURSE: ["rn-baker", "rn-jones"],
    Role.THERAPIST: ["th-chen", "th-kim", "th-lopez"],
    Role.CASE_MANAGER: ["cm-diaz", "cm-moore"],
    Role.PEER_SUPPORT: ["ps-evans"],
    Role.RECOVERY_COACH: ["rc-fox"],
    Role.SUPERVISOR: ["sv-gray"],
}
# Where each seeded journey ends up, in turn.
STAGES = ["intake", "withdrawal_management", "treatment", "aftercare", "discharged"]
CONCURRENCY = 8


def demo_team(rng: random.Random) -> CareTeam:
    """A random but complete team with a therapist as primary clinician."""
    members = [
        CareTeamMember(member_id=rng.choice(ids), role=role, primary=role is Role.THERAPIST)
        for role, ids in STAFF.items()
    ]
    return CareTeam(members=members)


async def seed_one(
    journeys: "JourneyService", policy: Policy, stage: str, rng: random.Random
) -> str:
    """Start one journey and drive it to ``stage`` through real commands."""
    care_team = demo_team(rng)
    clinician = care_team.primary.member_id
    # Decisions on withdrawal management are a physician's or a nurse's (decision authority).
    physician = care_team.with_role(Role.PHYSICIAN)[0].member_id
    journey_id = new_journey_id()
    await journeys.start(
        StartJourney(journey_id=journey_id, care_team=care_team, started_by="demo", policy=policy)
    )
    if stage == "discharged":
        await journeys.send(
            journey_id, Discharge(discharged_by=clinician, reason=DischargeReason.AGAINST_ADVICE)
        )
    if stage in ("intake", "discharged"):
        return journey_id
    intake = {"d1": 3, "d2": 1, "d3": 2, "d4": 2, "d5": 3, "d6": 3}
    if stage != "withdrawal_management":
        intake["d1"] = 1
    await _assess_and_accept(
        journeys, journey_id, (clinician, physician), intake, AssessmentKind.COMPREHENSIVE
    )
    if stage == "aftercare":
        await journeys.send(
            journey_id, RequestReassessment(requested_by=clinician, reason="treatment goals met")
        )
        ratings = dict.fromkeys(policy.dimensions, 0)
        await _assess_and_accept(
            journeys, journey_id, (clinician, physician), ratings, AssessmentKind.REASSESSMENT
        )
    return journey_id


async def _assess_and_accept(
    journeys: "JourneyService",
    journey_id: str,
    by: tuple[str, str],
    ratings: dict[str, int],
    kind: AssessmentKind,
) -> None:
    """The primary clinician assesses, the physician decides."""
    assessor, decider = by
    result = await journeys.send(
        journey_id,
        RecordAssessment(
            assessment_id=f"A-{journey_id}-{kind.value}",
            kind=kind,
            dimensions=ratings,
            assessed_by=assessor,
        ),
    )
    assert result.reassessment_id is not None
    await journeys.send(
        journey_id,
        DecideTransition(reassessment_id=result.reassessment_id, decided_by=decider, accept=True),
    )


@app.command()
@run
async def demo(
    journeys: Annotated[int, typer.Option("--journeys", min=1, max=10_000, help="How many.")] = 20,
    seed: Annotated[int, typer.Option(help="Random seed for the synthetic teams.")] = 7,
) -> None:
    """Seed N synthetic journeys spread over the phases (through the real workflow)."""
    settings = get_settings()
    from clinical.policy_loader import load_policy

    policy = load_policy(settings.policy_path)
    rng = random.Random(seed)  # noqa: S311 - synthetic demo data, not security
    gate = asyncio.Semaphore(CONCURRENCY)
    async with journey_service(settings) as service:

        async def one(i: int, task_id: object, progress: Progress) -> None:
            async with gate:
                await seed_one(service, policy, STAGES[i % len(STAGES)], rng)
            progress.advance(task_id)  # type: ignore[arg-type]

        with Progress(console=render.console) as progress:
            task_id = progress.add_task("Seeding journeys", total=journeys)
            await asyncio.gather(*(one(i, task_id, progress) for i in range(journeys)))
    render.console.print(f"[green]seeded {journeys} journeys[/green] across {', '.join(STAGES)}")
