"""Properties of data-point triggers over the pure engine."""

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from clinical import commands, measures
from clinical.instruments import load_registry
from models.clinical import AssessmentKind
from models.commands import DecideTransition, RecordAssessment, RecordInstrument
from models.journey import EventKind
from models.work import TaskKind
from tests.builders import PHYSICIAN, PRIMARY, T0, ratings, start_command

REGISTRY = load_registry()
CODES = ["PHQ-9", "CIWA-Ar", "COWS", "GAD-7"]


def _answers(code: str) -> st.SearchStrategy[list[int]]:
    definition = REGISTRY.get(code)
    assert definition is not None
    return st.tuples(
        *(
            st.sampled_from(definition.items.allowed(n))
            for n in range(1, definition.items.count + 1)
        )
    ).map(list)


administration = st.sampled_from(CODES).flatmap(lambda c: st.tuples(st.just(c), _answers(c)))


@settings(max_examples=150, deadline=None)
@given(st.sampled_from([{"d1": 2, "d6": 2}, {"d1": 3, "d2": 2}, {"d5": 3, "d6": 3}]),
       st.lists(administration, min_size=1, max_size=12))  # fmt: skip
def test_every_trigger_fires_once_per_occurrence(
    placement: dict[str, int], given_answers: list[tuple[str, list[int]]]
) -> None:
    now = T0
    state = commands.start(start_command(), now)
    result = commands.apply_record_assessment(
        state,
        RecordAssessment(
            assessment_id="A1",
            kind=AssessmentKind.COMPREHENSIVE,
            dimensions=ratings(**placement),
            assessed_by=PRIMARY,
        ),
        now,
    )
    assert result.reassessment_id is not None
    commands.apply_decide(
        state,
        DecideTransition(reassessment_id=result.reassessment_id, decided_by=PHYSICIAN, accept=True),
        now,
    )
    expected = 0
    previous: dict[str, int] = {}
    for code, answers in given_answers:
        now += timedelta(minutes=30)
        scored = measures.apply_record_instrument(
            state, RecordInstrument(code=code, answers=answers, recorded_by=PRIMARY), now
        ).instrument
        assert scored is not None
        expected += len(
            measures.fired_triggers(
                state.policy.triggers, state.loc_code, previous.get(code), scored
            )
        )
        previous[code] = scored.total
        fired = [e for e in state.outbox if e.kind is EventKind.TRIGGER_FIRED]
        assert len(fired) == expected
    safety = [t for t in state.tasks if t.kind is TaskKind.SAFETY_FOLLOW_UP]
    flagged = sum(1 for code, a in given_answers if code == "PHQ-9" and a[8] > 0)
    # Every flag fires (above); the follow-ups it opens are one open task, tightened by each
    # repeat (bounded open work), never one per flag and never none.
    assert len(safety) == min(flagged, 1)
