"""Decision authority: every clinical act, from every care-team role, refused or taken."""

import json
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from clinical import commands, episode
from clinical.errors import RuleViolation
from clinical.policy_loader import DEFAULT_POLICY_PATH, load_policy
from models.authority import AuthorityPolicy
from models.care import Role
from models.clinical import AssessmentKind
from models.commands import (
    ChangeCareTeam,
    DecideTransition,
    Discharge,
    RecordAssessment,
    RequestReassessment,
    RevisePlan,
    SignPlan,
    StartJourney,
)
from models.errors import RejectionCode
from models.journey import DischargeReason, Phase
from models.plan import Goal, Signer
from models.policy import Policy
from models.state import LEGACY_RULES, JourneyState
from tests.builders import PHYSICIAN, PRIMARY, T0, TEAM_ROLES, policy, ratings, team

WM, TX, AC = Phase.WITHDRAWAL_MANAGEMENT, Phase.TREATMENT, Phase.AFTERCARE
# Every care-team role is held by one member of this team.
ROLES = {**TEAM_ROLES, "cd-hale": Role.CLINICAL_DIRECTOR}
BY_ROLE = {role: member for member, role in ROLES.items()}
assert set(BY_ROLE) == set(Role)
CLINICAL = {Role.PHYSICIAN, Role.NURSE, Role.THERAPIST, Role.SUPERVISOR, Role.CLINICAL_DIRECTOR}
MEDICAL = {Role.PHYSICIAN, Role.NURSE}
CASE_MANAGER = {Role.CASE_MANAGER}
OUTSIDER = "ops-1"
NOW = T0 + timedelta(hours=1)


def _start(pol: Policy | None = None) -> JourneyState:
    cmd = StartJourney(journey_id="J-AUTH", care_team=team(roles=ROLES), started_by=OUTSIDER,
                       policy=pol or policy())  # fmt: skip
    return commands.start(cmd, T0)


def _assessed(state: JourneyState) -> str:
    """The open reassessment (requested if none), assessed by a physician."""
    if state.active_reassessment is None:
        request = RequestReassessment(requested_by=PRIMARY, reason="review")
        commands.apply_request_reassessment(state, request, NOW)
    active = state.active_reassessment
    assert active is not None
    intake = state.phase is Phase.INTAKE
    kind = AssessmentKind.COMPREHENSIVE if intake else AssessmentKind.REASSESSMENT
    assessment = RecordAssessment(assessment_id=f"A{state.next_id}", kind=kind,
                                  dimensions=ratings(), assessed_by=PHYSICIAN)  # fmt: skip
    commands.apply_record_assessment(state, assessment, NOW)
    return active.reassessment_id


def _decide(state: JourneyState, by: str, phase: Phase, loc: str | None) -> None:
    cmd = DecideTransition(reassessment_id=_assessed(state), decided_by=by, accept=False,
                           phase=phase, loc_code=loc, variance_reason="judgement")  # fmt: skip
    commands.apply_decide(state, cmd, NOW)


def _refused(state: JourneyState, field: str, act: Callable[[], object]) -> str:
    before = state.model_dump()
    with pytest.raises(RuleViolation) as refused:
        act()
    assert refused.value.code is RejectionCode.NOT_AUTHORIZED
    assert refused.value.message.startswith(f"{field}: ")
    assert state.model_dump() == before
    return refused.value.message


def test_the_default_policy_names_who_decides() -> None:
    for authority in (load_policy().authority, AuthorityPolicy()):
        assert set(authority.decide) == CLINICAL
        assert set(authority.decide_withdrawal) == MEDICAL
        for roles in (authority.assess, authority.sign_plan, authority.revise_plan,
                      authority.discharge):  # fmt: skip
            assert set(roles) == CLINICAL
        assert set(authority.record_client_signature) == CLINICAL | {Role.CASE_MANAGER}


# (from, to): where the journey is, where the decision takes it, which roles may decide it.
# A continued stay is a decision too; anything touching withdrawal management is medical.
SITUATIONS = {
    "intake to treatment": (None, (TX, "3.5"), CLINICAL),
    "intake to withdrawal": (None, (WM, "3.7-WM"), MEDICAL),
    "leaving withdrawal": ((WM, "3.7-WM"), (TX, "3.5"), MEDICAL),
    "between withdrawal levels": ((WM, "3.7-WM"), (WM, "3.2-WM"), MEDICAL),
    "staying in withdrawal": ((WM, "3.7-WM"), (WM, "3.7-WM"), MEDICAL),
    "treatment step down": ((TX, "3.5"), (TX, "2.1"), CLINICAL),
    "staying in treatment": ((TX, "3.5"), (TX, "3.5"), CLINICAL),
    "treatment to withdrawal": ((TX, "3.5"), (WM, "3.7-WM"), MEDICAL),
    "treatment to aftercare": ((TX, "3.5"), (AC, None), CLINICAL),
}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("situation", list(SITUATIONS))
def test_decisions_are_taken_only_from_the_roles_the_policy_allows(
    situation: str, role: Role
) -> None:
    origin, (phase, loc), allowed = SITUATIONS[situation]
    state = _start()
    if origin is not None:
        _decide(state, PHYSICIAN, *origin)
    actor = BY_ROLE[role]
    if role in allowed:
        _decide(state, actor, phase, loc)
        assert (state.phase, state.loc_code) == (phase, loc)
        decision = state.reassessments[-1].decision
        assert decision is not None
        assert decision.decided_by == actor
        return
    rid = _assessed(state)
    cmd = DecideTransition(reassessment_id=rid, decided_by=actor, accept=False, phase=phase,
                           loc_code=loc, variance_reason="clinical judgement")  # fmt: skip
    message = _refused(state, "decided_by", lambda: commands.apply_decide(state, cmd, NOW))
    assert f"a {role.value}" in message
    # Accepting the recommendation (all ratings 0: never withdrawal management) is refused
    # unless this role may take that other decision.
    accept = cmd.model_copy(update={"accept": True, "phase": None, "loc_code": None})
    if role not in (MEDICAL if origin and origin[0] is WM else CLINICAL):
        _refused(state, "decided_by", lambda: commands.apply_decide(state, accept, NOW))


def _with_plan(state: JourneyState) -> int:
    goal = Goal(goal_id="g1", description="stay safe", target_date=date(2027, 1, 1))
    result = episode.apply_revise_plan(
        state, RevisePlan(author=PRIMARY, reason="initial", goals=[goal]), NOW
    )
    assert result.plan_version is not None
    return result.plan_version


def _assess(state: JourneyState, by: str) -> object:
    cmd = RecordAssessment(assessment_id="A-x", kind=AssessmentKind.COMPREHENSIVE,
                           dimensions=ratings(), assessed_by=by)  # fmt: skip
    return commands.apply_record_assessment(state, cmd, NOW)


def _revise(state: JourneyState, by: str) -> object:
    goal = Goal(goal_id="g2", description="work", target_date=date(2027, 2, 1))
    return episode.apply_revise_plan(state, RevisePlan(author=by, reason="r", goals=[goal]), NOW)


def _sign(signer: Signer) -> Callable[[JourneyState, str], object]:
    def sign(state: JourneyState, by: str) -> object:
        version = _with_plan(state)
        cmd = SignPlan(version=version, signer=signer, signed_by=by)
        return episode.apply_sign_plan(state, cmd, NOW)

    return sign


def _discharge(state: JourneyState, by: str) -> object:
    cmd = Discharge(discharged_by=by, reason=DischargeReason.TRANSFERRED)
    return episode.apply_discharge(state, cmd, NOW)


# action: (field, command, roles allowed by default)
ACTIONS: dict[str, tuple[str, Callable[[JourneyState, str], object], set[Role]]] = {
    "assess": ("assessed_by", _assess, CLINICAL),
    "revise plan": ("author", _revise, CLINICAL),
    "sign as clinician": ("signed_by", _sign(Signer.CLINICIAN), CLINICAL),
    "record client signature": ("signed_by", _sign(Signer.CLIENT), CLINICAL | CASE_MANAGER),
    "discharge": ("discharged_by", _discharge, CLINICAL),
}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(ACTIONS))
def test_clinical_acts_are_taken_only_from_the_roles_the_policy_allows(
    action: str, role: Role
) -> None:
    field, act, allowed = ACTIONS[action]
    state = _start()
    actor = BY_ROLE[role]
    if role in allowed:
        act(state, actor)
        return
    if action.startswith(("sign", "record")):
        _with_plan(state)  # refused for who signs, not for a missing plan
        assert state.plan is not None
        act = _sign_current(Signer.CLINICIAN if "clinician" in action else Signer.CLIENT)
    _refused(state, field, lambda: act(state, actor))


def _sign_current(signer: Signer) -> Callable[[JourneyState, str], object]:
    def sign(state: JourneyState, by: str) -> object:
        assert state.plan is not None
        cmd = SignPlan(version=state.plan.version, signer=signer, signed_by=by)
        return episode.apply_sign_plan(state, cmd, NOW)

    return sign


@pytest.mark.parametrize("action", list(ACTIONS))
def test_someone_off_the_care_team_is_refused_every_clinical_act(action: str) -> None:
    field, act, _ = ACTIONS[action]
    state = _start()
    if action.startswith(("sign", "record")):
        _with_plan(state)
        act = _sign_current(Signer.CLINICIAN if "clinician" in action else Signer.CLIENT)
    message = _refused(state, field, lambda: act(state, OUTSIDER))
    assert "not on this journey's care team" in message


def test_someone_off_the_care_team_cannot_decide() -> None:
    state = _start()
    cmd = DecideTransition(reassessment_id=_assessed(state), decided_by=OUTSIDER, accept=True)
    message = _refused(state, "decided_by", lambda: commands.apply_decide(state, cmd, NOW))
    assert "not on this journey's care team" in message


def test_a_member_who_left_the_team_is_refused() -> None:
    state = _start()
    _decide(state, PHYSICIAN, TX, "3.5")
    roles = {m: r for m, r in ROLES.items() if m != PHYSICIAN}
    change = ChangeCareTeam(changed_by=OUTSIDER, care_team=team(roles=roles), reason="rota")
    episode.apply_change_care_team(state, change, NOW)
    rid = _assessed_by(state, PRIMARY)
    cmd = DecideTransition(reassessment_id=rid, decided_by=PHYSICIAN, accept=True)
    _refused(state, "decided_by", lambda: commands.apply_decide(state, cmd, NOW))


def _assessed_by(state: JourneyState, by: str) -> str:
    commands.apply_request_reassessment(
        state, RequestReassessment(requested_by=by, reason="review"), NOW
    )
    active = state.active_reassessment
    assert active is not None
    cmd = RecordAssessment(assessment_id="A-y", kind=AssessmentKind.REASSESSMENT,
                           dimensions=ratings(), assessed_by=by)  # fmt: skip
    commands.apply_record_assessment(state, cmd, NOW)
    return active.reassessment_id


def test_the_policy_decides_who_may_act() -> None:
    custom = AuthorityPolicy(decide_withdrawal=[Role.THERAPIST], discharge=[Role.SUPERVISOR])
    state = _start(policy().model_copy(update={"authority": custom}))
    _decide(state, PRIMARY, WM, "3.7-WM")  # a therapist, as this program allows
    assert state.loc_code == "3.7-WM"
    rid = _assessed(state)
    cmd = DecideTransition(reassessment_id=rid, decided_by=PHYSICIAN, accept=True)
    _refused(state, "decided_by", lambda: commands.apply_decide(state, cmd, NOW))
    _refused(state, "discharged_by", lambda: _discharge(state, PRIMARY))


def test_journeys_under_earlier_rules_replay_without_the_check() -> None:
    state = _start()
    state.rules = LEGACY_RULES
    _decide(state, BY_ROLE[Role.CASE_MANAGER], WM, "3.7-WM")
    assert state.loc_code == "3.7-WM"
    _discharge(state, OUTSIDER)
    assert state.phase is Phase.DISCHARGED


@pytest.mark.parametrize(
    ("authority", "error"),
    [
        ({"decide": []}, "authority.decide"),
        ({"decide_withdrawal": ["wizard"]}, "authority.decide_withdrawal.0"),
        ({"discharge": None}, "authority.discharge"),
        ({"sign": ["physician"]}, "authority.sign"),
    ],
)
def test_a_policy_with_empty_or_unknown_authority_roles_is_refused(
    authority: dict[str, object], error: str
) -> None:
    data = policy().model_dump(mode="json") | {"authority": authority}
    with pytest.raises(ValidationError) as refused:
        Policy.model_validate_json(json.dumps(data))
    assert error in {".".join(str(p) for p in e["loc"]) for e in refused.value.errors()}


def test_a_policy_stored_before_authority_existed_gets_the_defaults() -> None:
    stored = policy().model_dump(mode="json")
    del stored["authority"]
    assert Policy.model_validate_json(json.dumps(stored)).authority == AuthorityPolicy()
    asam4 = load_policy(DEFAULT_POLICY_PATH.parent / "asam4.yaml")
    assert asam4.authority == AuthorityPolicy()
