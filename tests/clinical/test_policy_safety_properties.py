"""Properties of the safety comparison, checked against what the triggers actually do.

The oracle fires both trigger sets with the real trigger code (``measures.fired_triggers``) on
every result that matters (each instrument, level of care, flag, and totals and rises at every
threshold): the new policy weakens the old one when some result fires an old safety trigger
and no new trigger answers it with the same action, at least as urgently and as soon.
"""

from collections.abc import Callable
from itertools import product
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from clinical.measures import fired_triggers
from clinical.policy_safety import safety_changes
from models.instruments import InstrumentResult
from models.journey import Priority
from models.policy import Policy, TriggerAction, TriggerCondition, TriggerRule
from tests.builders import policy

BASE = policy()
INSTRUMENTS = {"PHQ-9": ["self_harm_risk"], "COWS": [], "CIWA-Ar": []}
LOCS = ["4-WM", "3.7-WM", "2-WM", "1-WM", "3.5", "2.1"]
# The oracle's own definitions, independent of the module under test.
Draw = Callable[[st.SearchStrategy[Any]], Any]
RANK = {Priority.ROUTINE: 0, Priority.URGENT: 1}


def _is_safety(rule: TriggerRule) -> bool:
    """Urgent, or on PHQ-9 item 9's flag (the registry's only critical item)."""
    return rule.priority is Priority.URGENT or rule.when.flag == "self_harm_risk"


@st.composite
def triggers(draw: st.DrawFn, trigger_id: str) -> TriggerRule:
    instrument = draw(st.sampled_from(sorted(INSTRUMENTS)))
    flag = draw(st.sampled_from([None, *INSTRUMENTS[instrument]]))
    total = draw(st.none() | st.integers(0, 30))
    rise = draw(st.none() | st.integers(1, 10))
    if flag is None and total is None and rise is None:
        total = draw(st.integers(0, 30))
    return TriggerRule(
        trigger_id=trigger_id,
        instrument=instrument,
        when=TriggerCondition(flag=flag, total_at_least=total, rise_at_least=rise),
        in_locs=draw(st.none() | st.lists(st.sampled_from(LOCS), max_size=3, unique=True)),
        action=draw(st.sampled_from(list(TriggerAction))),
        priority=draw(st.sampled_from(list(Priority))),
        due_hours=draw(st.integers(1, 72)),
    )


@st.composite
def trigger_sets(draw: st.DrawFn) -> list[TriggerRule]:
    count = draw(st.integers(1, 5))
    return [draw(triggers(f"t{n}")) for n in range(count)]


def _weaken(draw: Draw, rule: TriggerRule) -> TriggerRule | None:
    """One way of doing less: gone, firing less often or elsewhere, later, less urgently."""
    when = rule.when
    how = draw(st.sampled_from(["remove", "total", "rise", "flag", "locs", "due", "priority",
                                "action"]))  # fmt: skip
    if how == "remove":
        return None
    if how == "total":
        raised = (when.total_at_least or 0) + draw(st.integers(1, 5))
        return rule.model_copy(update={"when": when.model_copy(update={"total_at_least": raised})})
    if how == "rise":
        raised = (when.rise_at_least or 0) + draw(st.integers(1, 5))
        return rule.model_copy(update={"when": when.model_copy(update={"rise_at_least": raised})})
    if how == "flag" and INSTRUMENTS[rule.instrument]:
        flag = INSTRUMENTS[rule.instrument][0]
        return rule.model_copy(update={"when": when.model_copy(update={"flag": flag})})
    if how == "locs":
        kept = draw(st.lists(st.sampled_from(rule.in_locs or LOCS), max_size=2, unique=True))
        return rule.model_copy(update={"in_locs": kept})
    if how == "due":
        return rule.model_copy(update={"due_hours": rule.due_hours + draw(st.integers(1, 24))})
    if how == "priority":
        return rule.model_copy(update={"priority": Priority.ROUTINE})
    if how == "action":
        other = next(a for a in TriggerAction if a is not rule.action)
        return rule.model_copy(update={"action": other})
    return rule


def _strengthen(draw: Draw, rule: TriggerRule) -> TriggerRule:
    """One way of doing at least as much: fires as often or more, sooner, more urgently."""
    when = rule.when
    how = draw(st.sampled_from(["total", "rise", "locs", "due", "priority", "rename", "same"]))
    if how == "total" and when.total_at_least is not None:
        lower = max(0, when.total_at_least - draw(st.integers(0, 5)))
        return rule.model_copy(update={"when": when.model_copy(update={"total_at_least": lower})})
    if how == "rise" and when.rise_at_least is not None:
        lower = max(1, when.rise_at_least - draw(st.integers(0, 5)))
        return rule.model_copy(update={"when": when.model_copy(update={"rise_at_least": lower})})
    if how == "locs" and rule.in_locs is not None:
        wider = draw(st.none() | st.just(sorted({*rule.in_locs, draw(st.sampled_from(LOCS))})))
        return rule.model_copy(update={"in_locs": wider})
    if how == "due":
        return rule.model_copy(update={"due_hours": draw(st.integers(1, rule.due_hours))})
    if how == "priority":
        return rule.model_copy(update={"priority": Priority.URGENT})
    if how == "rename":
        return rule.model_copy(update={"trigger_id": f"{rule.trigger_id}-renamed"})
    return rule


def _policy(rules: list[TriggerRule]) -> Policy:
    # Only the triggers differ; the trigger set is checked by the comparison, not the model.
    return BASE.model_copy(update={"triggers": rules})


Fired = tuple[str | None, int | None, InstrumentResult]


def _results(old: TriggerRule, rules: list[TriggerRule]) -> list[Fired]:
    """Every (level, previous total, result) on which ``old`` fires, at each threshold's edge."""
    same = [r for r in [old, *rules] if r.instrument == old.instrument]
    totals = {0, 60} | {t + d for r in same if (t := r.when.total_at_least) is not None
                        for d in (-1, 0)}  # fmt: skip
    rises = {None} | {r.when.rise_at_least + d for r in same if r.when.rise_at_least
                      for d in (-1, 0)}  # fmt: skip
    flag_sets = [[], *([f] for f in INSTRUMENTS[old.instrument])]
    found = []
    for loc, total, rise, flags in product([None, *LOCS], totals, rises, flag_sets):
        previous = None if rise is None else total - rise
        result = InstrumentResult(code=old.instrument, registry_version="t",
                                  answers=[], total=total, band="b", flags=flags)  # fmt: skip
        if fired_triggers([old], loc, previous, result):
            found.append((loc, previous, result))
    return found


def weakened(old: list[TriggerRule], new: list[TriggerRule]) -> bool:
    """Some result fires an old safety trigger that no new trigger answers as well."""
    for rule in old:
        if not _is_safety(rule):
            continue
        for loc, previous, result in _results(rule, new):
            answered = [
                r for r in fired_triggers(new, loc, previous, result)
                if r.action is rule.action and r.due_hours <= rule.due_hours
                and RANK[r.priority] >= RANK[rule.priority]
            ]  # fmt: skip
            if not answered:
                return True
    return False


@settings(max_examples=300, deadline=None)
@given(old=trigger_sets(), data=st.data())
def test_any_weakening_of_a_safety_trigger_is_detected(
    old: list[TriggerRule], data: st.DataObject
) -> None:
    new = []
    for rule in old:
        if data.draw(st.booleans()):
            changed = _weaken(data.draw, rule)
            new += [changed] if changed is not None else []
        else:
            new.append(_strengthen(data.draw, rule))
    new += data.draw(st.lists(triggers("extra"), max_size=2))
    if weakened(old, new):
        assert safety_changes(_policy(old), _policy(new)) != []


@settings(max_examples=300, deadline=None)
@given(old=trigger_sets(), data=st.data())
def test_identical_or_stronger_trigger_sets_are_never_blocked(
    old: list[TriggerRule], data: st.DataObject
) -> None:
    assert safety_changes(_policy(old), _policy(list(old))) == []
    stronger = [_strengthen(data.draw, r) for r in old]
    stronger += data.draw(st.lists(triggers("extra"), max_size=2))
    assert not weakened(old, stronger)  # the oracle agrees these are no weaker
    assert safety_changes(_policy(old), _policy(stronger)) == []


@settings(max_examples=200, deadline=None)
@given(old=trigger_sets(), data=st.data())
def test_a_safety_trigger_weakened_with_nothing_else_covering_it_is_named(
    old: list[TriggerRule], data: st.DataObject
) -> None:
    # Weaken one urgent trigger and keep the others; whenever the oracle finds the net weaker,
    # the change names that trigger.
    target = data.draw(st.integers(0, len(old) - 1))
    rule = old[target].model_copy(update={"priority": Priority.URGENT})
    old = [*old[:target], rule, *old[target + 1 :]]
    changed = _weaken(data.draw, rule)
    new = [*old[:target], *([changed] if changed else []), *old[target + 1 :]]
    changes = safety_changes(_policy(old), _policy(new))
    if weakened(old, new):
        assert any(c.startswith(f"trigger {rule.trigger_id} ") for c in changes), changes
