"""Who on the care team hears about an event."""

from models.care import CareTeam
from models.journey import EventKind, Phase, Priority
from models.policy import Policy


def recipients(
    policy: Policy,
    team: CareTeam,
    kind: EventKind,
    priority: Priority,
    phase: Phase | None = None,
) -> list[str]:
    """Member ids the routing rule for ``kind`` selects from ``team``, sorted and unique.

    The rule's roles, its urgent roles when the event is urgent, and its roles for the phase
    the journey is in; the primary clinician unless the rule says otherwise.
    """
    rule = policy.routing_rule(kind)
    roles = set(rule.roles)
    if priority is Priority.URGENT:
        roles |= set(rule.urgent_roles)
    if phase is not None:
        roles |= set(rule.phase_roles.get(phase, []))
    chosen = {m.member_id for m in team.members if m.role in roles}
    if rule.primary:
        chosen.add(team.primary.member_id)
    return sorted(chosen)
