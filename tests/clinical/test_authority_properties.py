"""No clinical act is accepted from an actor the policy does not allow, over any command
sequence, any care team, any authority policy and time passing."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from clinical import commands, episode
from clinical.errors import RuleViolation
from clinical.timers import next_deadline, run_due_work
from models.authority import AuthorityPolicy
from models.care import CareTeam, CareTeamMember, Role
from models.clinical import AssessmentKind, ReassessmentTrigger
from models.commands import (
    ChangeCareTeam,
    DecideTransition,
    Discharge,
    RecordAssessment,
    ReportEvent,
    RequestReassessment,
    RevisePlan,
    SignPlan,
    StartJourney,
)
from models.errors import RejectionCode
from models.journey import DischargeReason, Phase
from models.plan import Goal, Signer
from models.policy import ClinicalEventKind, Policy
from models.state import JourneyState
from tests.builders import T0, policy

WM, TX, AC = Phase.WITHDRAWAL_MANAGEMENT, Phase.TREATMENT, Phase.AFTERCARE
TARGETS = [(WM, "3.7-WM"), (WM, "3.2-WM"), (TX, "3.5"), (TX, "2.1"), (AC, None)]
# One staff id per role, so a team change can give someone another role or none.
STAFF = [f"s-{n}" for n in range(6)]
ACTORS = [*STAFF, "ops-1"]
POLICY = policy()

roles_st = st.sets(st.sampled_from(list(Role)), min_size=1).map(sorted)
authority_st = st.one_of(
    st.just(AuthorityPolicy()),
    st.fixed_dictionaries(dict.fromkeys(AuthorityPolicy.model_fields, roles_st)).map(
        lambda roles: AuthorityPolicy(**roles)
    ),
)


@st.composite
def team_st(draw: st.DrawFn) -> CareTeam:
    """A valid team: a clinician primary, a supervisor, anyone else in any role."""
    ids = draw(st.permutations(STAFF))
    size = draw(st.integers(2, len(ids)))
    primary_role = draw(st.sampled_from([Role.PHYSICIAN, Role.NURSE, Role.THERAPIST]))
    members = [
        CareTeamMember(member_id=ids[0], role=primary_role, primary=True),
        CareTeamMember(member_id=ids[1], role=Role.SUPERVISOR),
    ]
    members += [
        CareTeamMember(member_id=i, role=draw(st.sampled_from(list(Role)))) for i in ids[2:size]
    ]
    return CareTeam(members=members)


actor_st = st.sampled_from(ACTORS)
ratings_st = st.fixed_dictionaries({f"d{i}": st.integers(0, 4) for i in range(1, 7)})
target_st = st.sampled_from(TARGETS)
op_st = st.one_of(
    # A request, an assessment and a decision, so sequences travel deep into the machine.
    st.tuples(st.just("cycle"), actor_st, ratings_st, actor_st, st.booleans(), target_st),
    st.tuples(st.just("cycle"), actor_st, ratings_st, actor_st, st.booleans(), target_st),
    st.tuples(st.just("assess"), actor_st, ratings_st),
    st.tuples(st.just("decide"), actor_st, st.booleans(), target_st),
    st.tuples(st.just("revise"), actor_st),
    # A revision and a signature, so signatures are not rare.
    st.tuples(st.just("paper"), actor_st, actor_st, st.sampled_from(list(Signer))),
    st.tuples(st.just("sign"), actor_st, st.sampled_from(list(Signer))),
    st.tuples(st.just("team"), team_st()),
    st.tuples(st.just("event"), actor_st, st.sampled_from(list(ClinicalEventKind))),
    st.tuples(st.just("wait"), st.integers(1, 24 * 30)),
    st.tuples(st.just("discharge"), actor_st, st.integers(0, 3)),
)


@dataclass
class Before:
    """What the oracle needs from the moment a command was sent."""

    phase: Phase
    role: Role | None
    # The reassessment a decision is about.
    reassessment_id: str | None


def _allowed(pol: Policy, op: tuple[object, ...], before: Before, target: Phase | None) -> bool:
    """The oracle: the policy's roles, read here independently of clinical.authority."""
    authority = pol.authority
    if before.role is None:
        return False
    if op[0] == "decide":
        if target is None:  # not known: allowed if some decision from here would be
            return before.role in authority.decide_withdrawal or (
                before.phase is not WM and before.role in authority.decide
            )
        withdrawal = WM in (before.phase, target)
        return before.role in (authority.decide_withdrawal if withdrawal else authority.decide)
    if op[0] == "sign":
        clinician = op[2] is Signer.CLINICIAN
        return before.role in (
            authority.sign_plan if clinician else authority.record_client_signature
        )
    roles = {"assess": authority.assess, "revise": authority.revise_plan,
             "discharge": authority.discharge}[str(op[0])]  # fmt: skip
    return before.role in roles


def _send(state: JourneyState, op: tuple[object, ...], now: datetime) -> None:
    kind, active = op[0], state.active_reassessment
    if kind == "assess":
        intake = active is not None and active.trigger is ReassessmentTrigger.INTAKE
        cmd = RecordAssessment(
            assessment_id=f"A{state.next_id}",
            kind=AssessmentKind.COMPREHENSIVE if intake else AssessmentKind.REASSESSMENT,
            dimensions=op[2],  # type: ignore[arg-type]
            assessed_by=str(op[1]),
        )
        commands.apply_record_assessment(state, cmd, now)
    elif kind == "decide":
        target: tuple[Phase, str | None] = op[3]  # type: ignore[assignment]
        phase, loc = target
        decide = DecideTransition(
            reassessment_id=active.reassessment_id if active else "J-AUTH.R999",
            decided_by=str(op[1]), accept=bool(op[2]), phase=None if op[2] else phase,
            loc_code=None if op[2] else loc, variance_reason="clinical judgement",
        )  # fmt: skip
        commands.apply_decide(state, decide, now)
    elif kind == "revise":
        goal = Goal(goal_id="g1", description="stay well", target_date=date(2027, 1, 1))
        cmd_plan = RevisePlan(author=str(op[1]), reason="review", goals=[goal])
        episode.apply_revise_plan(state, cmd_plan, now)
    elif kind == "sign":
        version = state.plan.version if state.plan else 1
        sign = SignPlan(version=version, signer=op[2], signed_by=str(op[1]))  # type: ignore[arg-type]
        episode.apply_sign_plan(state, sign, now)
    elif kind == "discharge":
        cmd_end = Discharge(discharged_by=str(op[1]), reason=DischargeReason.TRANSFERRED)
        episode.apply_discharge(state, cmd_end, now)
    elif kind == "team":
        change = ChangeCareTeam(changed_by="ops-1", care_team=op[1], reason="rota")  # type: ignore[arg-type]
        episode.apply_change_care_team(state, change, now)
    elif kind == "event":
        report = ReportEvent(kind=op[2], reported_by=str(op[1]))  # type: ignore[arg-type]
        episode.apply_report_event(state, report, now)
    elif kind == "request":
        request = RequestReassessment(requested_by=str(op[1]), reason="review")
        commands.apply_request_reassessment(state, request, now)


def _expand(ops: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for op in ops:
        if op[0] == "cycle":
            out += [("request", op[1]), ("assess", op[1], op[2]), ("decide", *op[3:])]
        elif op[0] == "paper":
            out += [("revise", op[1]), ("sign", *op[2:])]
        elif op[0] != "discharge" or op[2] == 0:  # discharge ends everything: one time in four
            out.append(op)
    return out


def _advance(state: JourneyState, now: datetime, hours: int) -> datetime:
    end = now + timedelta(hours=hours)
    while (deadline := next_deadline(state)) is not None and deadline <= end:
        now = max(now, deadline)
        run_due_work(state, now)
    return end


def _target(state: JourneyState, op: tuple[object, ...]) -> Phase | None:
    """The phase a decision would go to, when the command and the state say."""
    if not op[2]:
        return op[3][0]  # type: ignore[index,no-any-return]
    active = state.active_reassessment
    return active.recommendation.phase if active and active.recommendation else None


def _decided(state: JourneyState, reassessment_id: str | None) -> Phase:
    decided = next(r for r in state.reassessments if r.reassessment_id == reassessment_id)
    assert decided.decision is not None
    return decided.decision.phase


CHECKED = {"assess", "decide", "revise", "sign", "discharge"}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(authority_st, team_st(), st.lists(op_st, min_size=3, max_size=40))
def test_no_clinical_act_is_accepted_from_a_role_the_policy_does_not_allow(
    authority: AuthorityPolicy, first_team: CareTeam, ops: list[tuple[object, ...]]
) -> None:
    pol = POLICY.model_copy(update={"authority": authority})
    start = StartJourney(journey_id="J-AUTH", care_team=first_team, started_by="ops-1", policy=pol)
    now = T0
    state = commands.start(start, now)
    for op in _expand(ops):
        if op[0] == "wait":
            now = _advance(state, now, int(op[1]))  # type: ignore[call-overload]
            continue
        actor = next((m for m in state.care_team.members if m.member_id == op[1]), None)
        active = state.active_reassessment
        before = Before(state.phase, actor.role if actor else None,
                        active.reassessment_id if active else None)  # fmt: skip
        target = _target(state, op) if op[0] == "decide" else None
        snapshot = state.model_dump()
        try:
            _send(state, op, now)
        except RuleViolation as refused:
            assert state.model_dump() == snapshot, f"a refused {op[0]} changed the state"
            if refused.code is RejectionCode.NOT_AUTHORIZED:
                assert op[0] in CHECKED
                assert not _allowed(pol, op, before, target), f"{op} refused from an allowed role"
        else:
            if op[0] in CHECKED:
                final = _decided(state, before.reassessment_id) if op[0] == "decide" else None
                assert _allowed(pol, op, before, final), f"{op} accepted from {before.role}"
                event(f"accepted {op[0]}")
        now += timedelta(minutes=5)
