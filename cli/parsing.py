"""Parse command-line values into contracts, with errors that name the option."""

from cli.errors import invalid
from models.care import CareTeam, CareTeamMember, Role


def parse_member(spec: str) -> CareTeamMember:
    """``ID:ROLE`` or ``ID:ROLE:primary`` -> a care-team member."""
    parts = spec.split(":")
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "primary"):
        raise invalid("--member", f"{spec!r}: expected ID:ROLE or ID:ROLE:primary")
    try:
        role = Role(parts[1])
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        raise invalid("--member", f"{parts[1]!r} is not a role ({roles})") from None
    return CareTeamMember(member_id=parts[0], role=role, primary=len(parts) == 3)


def parse_team(specs: list[str]) -> CareTeam:
    """A care team from repeated ``--member`` options."""
    if not specs:
        raise invalid("--member", "give at least one --member")
    return CareTeam(members=[parse_member(s) for s in specs])


def parse_ratings(spec: str) -> dict[str, int]:
    """``d1=3,d2=1,...`` -> dimension ratings."""
    ratings: dict[str, int] = {}
    for item in filter(None, (p.strip() for p in spec.split(","))):
        name, sep, value = item.partition("=")
        if not sep or not value.strip().lstrip("-").isdigit():
            raise invalid("--ratings", f"{item!r}: expected DIMENSION=RATING")
        ratings[name.strip()] = int(value)
    if not ratings:
        raise invalid("--ratings", "no ratings given")
    return ratings
