"""Builders for commands and teams shared by rule, workflow and CLI tests."""

from datetime import UTC, datetime

from clinical.policy_loader import load_policy
from models.care import CareTeam, CareTeamMember, Role
from models.commands import StartJourney
from models.policy import Policy

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

TEAM_ROLES: dict[str, Role] = {
    "dr-ames": Role.PHYSICIAN,
    "rn-baker": Role.NURSE,
    "th-chen": Role.THERAPIST,
    "cm-diaz": Role.CASE_MANAGER,
    "ps-evans": Role.PEER_SUPPORT,
    "rc-fox": Role.RECOVERY_COACH,
    "sv-gray": Role.SUPERVISOR,
}
PRIMARY = "th-chen"
# Physicians may take every decision, withdrawal management included (a therapist may not).
PHYSICIAN = "dr-ames"
SUPERVISOR = "sv-gray"


def policy() -> Policy:
    """The packaged default policy."""
    return load_policy()


def team(primary: str = PRIMARY, roles: dict[str, Role] | None = None) -> CareTeam:
    """A full multidisciplinary team."""
    members = roles or TEAM_ROLES
    return CareTeam(
        members=[
            CareTeamMember(member_id=m, role=r, primary=m == primary) for m, r in members.items()
        ]
    )


def start_command(journey_id: str = "J-TEST-1", pol: Policy | None = None) -> StartJourney:
    """A start command with the default team and policy."""
    return StartJourney(
        journey_id=journey_id, care_team=team(), started_by="ops-1", policy=pol or policy()
    )


def ratings(**overrides: int) -> dict[str, int]:
    """All six dimensions at 0, with overrides."""
    base = {f"d{i}": 0 for i in range(1, 7)}
    base.update(overrides)
    return base
