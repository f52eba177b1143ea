"""Who on the care team hears about an event."""

from models.care import CareTeam
from models.journey import EventKind, Priority
from models.policy import Policy


def recipients(policy: Policy, team: CareTeam, kind: EventKind, priority: Priority) -> list[str]:
    """Member ids the routing rule for ``kind`` selects from ``team``, sorted and unique."""
    rule = policy.routing_rule(kind)
    roles = set(rule.roles)
    if priority is Priority.URGENT:
        roles |= set(rule.urgent_roles)
    chosen = {m.member_id for m in team.members if m.role in roles}
    if rule.primary:
        chosen.add(team.primary.member_id)
    return sorted(chosen)
