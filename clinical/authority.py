"""Decision authority: clinical acts are taken only by care-team members in an allowed role.

The journey checks this itself (not only the API), so every way in, the CLI's direct mode
included, is covered. The roles come from the policy (``authority:``); journeys recorded under
rules older than ``SAFETY_RULES`` replay as they ran and are not checked.
"""

from clinical.errors import RuleViolation
from models.authority import ClinicalAction
from models.care import CareTeamMember
from models.errors import RejectionCode
from models.journey import Phase
from models.plan import Signer
from models.state import SAFETY_RULES, JourneyState

WHAT: dict[ClinicalAction, str] = {
    ClinicalAction.DECIDE: "decide a placement",
    ClinicalAction.DECIDE_WITHDRAWAL: "decide a withdrawal-management placement",
    ClinicalAction.ASSESS: "record an assessment",
    ClinicalAction.SIGN_PLAN: "sign the plan as the clinician",
    ClinicalAction.RECORD_CLIENT_SIGNATURE: "record the client's signature",
    ClinicalAction.REVISE_PLAN: "revise the plan",
    ClinicalAction.DISCHARGE: "discharge",
}


def member(state: JourneyState, actor: str) -> CareTeamMember | None:
    """The actor's place on the journey's care team, if any."""
    return next((m for m in state.care_team.members if m.member_id == actor), None)


def may(state: JourneyState, actor: str, action: ClinicalAction) -> bool:
    """Whether ``actor`` may take ``action`` on this journey now."""
    if state.rules < SAFETY_RULES:
        return True
    found = member(state, actor)
    return found is not None and found.role in state.policy.authority.roles(action)


def check_authority(state: JourneyState, actor: str, action: ClinicalAction, field: str) -> None:
    """Refuse ``action`` unless ``actor`` is on the care team in a role the policy allows.

    Raises:
        RuleViolation: ``not_authorized``, naming ``field`` and the roles that are allowed.
    """
    if may(state, actor, action):
        return
    allowed = ", ".join(r.value for r in state.policy.authority.roles(action))
    found = member(state, actor)
    who = "not on this journey's care team" if found is None else f"a {found.role.value}"
    raise RuleViolation(
        RejectionCode.NOT_AUTHORIZED,
        f"{field}: {actor} is {who} and may not {WHAT[action]} (allowed: {allowed})",
    )


def decision_action(state: JourneyState, target: Phase) -> ClinicalAction:
    """Withdrawal authority when the client is at, or would go to, a withdrawal level.

    A continued stay is a decision too: staying at a withdrawal level needs the same roles
    as entering or leaving one.
    """
    if Phase.WITHDRAWAL_MANAGEMENT in (state.phase, target):
        return ClinicalAction.DECIDE_WITHDRAWAL
    return ClinicalAction.DECIDE


def may_decide(state: JourneyState, actor: str) -> bool:
    """Whether ``actor`` may take at least one decision from where the journey is."""
    if state.phase is Phase.WITHDRAWAL_MANAGEMENT:
        return may(state, actor, ClinicalAction.DECIDE_WITHDRAWAL)
    return may(state, actor, ClinicalAction.DECIDE) or may(
        state, actor, ClinicalAction.DECIDE_WITHDRAWAL
    )


def check_decider(state: JourneyState, actor: str, target: Phase | None) -> None:
    """Refuse a decision ``actor`` may not take (``target`` None: before it is known)."""
    if target is not None:
        check_authority(state, actor, decision_action(state, target), "decided_by")
    elif not may_decide(state, actor):
        action = decision_action(state, Phase.TREATMENT)
        check_authority(state, actor, action, "decided_by")


def signature_action(signer: Signer) -> ClinicalAction:
    """Signing as the clinician, or recording the client's own signature."""
    if signer is Signer.CLINICIAN:
        return ClinicalAction.SIGN_PLAN
    return ClinicalAction.RECORD_CLIENT_SIGNATURE
