"""Policies cannot drop a safety rule by accident: at load, and when running journeys migrate."""

import json
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from clinical import commands, measures, migration
from clinical.errors import RuleViolation
from clinical.instruments import REGISTRY_PATH
from clinical.policy_loader import DEFAULT_POLICY_PATH, PolicyError, load_policy
from clinical.policy_safety import (
    COMPARED_CONDITION_FIELDS,
    COMPARED_TRIGGER_FIELDS,
    safety_changes,
    unguarded_critical_items,
)
from models.commands import MigratePolicy, RecordInstrument
from models.errors import RejectionCode
from models.journey import EventKind, Phase, Priority
from models.policy import Policy, TriggerCondition, TriggerRule
from models.state import LEGACY_RULES, JourneyState
from models.work import TaskKind
from tests.builders import PRIMARY, SUPERVISOR, T0, policy, start_command
from tests.clinical.engine import events, move

ASAM4_POLICY_PATH = DEFAULT_POLICY_PATH.with_name("asam4.yaml")
H = timedelta(hours=1)
SELF_HARM = "PHQ-9 item 9 is critical (flag self_harm_risk)"


def _default() -> dict[str, Any]:
    data = yaml.safe_load(DEFAULT_POLICY_PATH.read_text())
    assert isinstance(data, dict)
    return data


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _without_self_harm_trigger(data: dict[str, Any]) -> dict[str, Any]:
    data["triggers"] = [t for t in data["triggers"] if t["trigger_id"] != "phq9-self-harm"]
    return data


def _with_triggers(base: Policy, *changes: tuple[str, dict[str, Any] | None]) -> Policy:
    """``base`` with triggers changed by id (None removes one); validated like a stored policy."""
    data = base.model_dump(mode="json")
    for trigger_id, update in changes:
        rules = [t for t in data["triggers"] if t["trigger_id"] != trigger_id]
        old: dict[str, Any] = next(
            (t for t in data["triggers"] if t["trigger_id"] == trigger_id), {}
        )
        if update is not None:
            rules.append({"trigger_id": trigger_id, **old, **update})
        data["triggers"] = rules
    data["version"] = f"{base.version}-changed"
    return Policy.model_validate_json(json.dumps(data))


# Refused at load ---------------------------------------------------------------------------


def test_a_policy_file_without_the_self_harm_trigger_is_refused_naming_the_item(
    tmp_path: Path,
) -> None:
    with pytest.raises(PolicyError) as err:
        load_policy(_write(tmp_path, _without_self_harm_trigger(_default())))
    assert SELF_HARM in str(err.value)
    assert "no trigger fires on self_harm_risk alone" in str(err.value)


@pytest.mark.parametrize(
    "narrowed",
    [
        {"when": {"flag": "self_harm_risk", "total_at_least": 10}},
        {"when": {"flag": "self_harm_risk", "rise_at_least": 1}},
        {"in_locs": ["4-WM", "3.7"]},
        {"instrument": "GAD-7", "when": {"total_at_least": 1}},
    ],
)
def test_a_self_harm_trigger_that_does_not_fire_on_the_flag_alone_does_not_count(
    tmp_path: Path, narrowed: dict[str, Any]
) -> None:
    data = _default()
    rule = next(t for t in data["triggers"] if t["trigger_id"] == "phq9-self-harm")
    rule.update(narrowed)
    with pytest.raises(PolicyError, match=re.escape(SELF_HARM)):
        load_policy(_write(tmp_path, data))


def test_a_registry_with_a_critical_item_on_another_instrument_needs_its_trigger(
    tmp_path: Path,
) -> None:
    data = _default()
    registry = yaml.safe_load(REGISTRY_PATH.read_text())
    gad7 = next(i for i in registry["instruments"] if i["code"] == "GAD-7")
    gad7["critical_items"] = [{"item": 7, "at_least": 3, "flag": "panic_risk"}]
    data["instruments"] = registry
    with pytest.raises(PolicyError, match=r"GAD-7 item 7 is critical \(flag panic_risk\)"):
        load_policy(_write(tmp_path, data))
    data["triggers"].append(
        {"trigger_id": "gad7-panic", "instrument": "GAD-7", "when": {"flag": "panic_risk"},
         "action": "urgent_task", "due_hours": 4}
    )  # fmt: skip
    assert load_policy(_write(tmp_path, data)).triggers[-1].trigger_id == "gad7-panic"


def test_both_packaged_policies_guard_every_critical_item() -> None:
    for path in (DEFAULT_POLICY_PATH, ASAM4_POLICY_PATH):
        assert unguarded_critical_items(load_policy(path)) == [], path.name


def test_a_stored_policy_without_the_trigger_still_runs_its_journey() -> None:
    # Policies stored in running journeys are read by the model alone: one a program wrote
    # before this check must still deserialize, and its journey keep working.
    data = _without_self_harm_trigger(_default())
    data["instruments"] = yaml.safe_load(REGISTRY_PATH.read_text())
    stored = Policy.model_validate_json(json.dumps(data))
    assert unguarded_critical_items(stored) == [
        f"triggers: {SELF_HARM} but no trigger fires on self_harm_risk alone at every level of care"
    ]
    state = commands.start(start_command(pol=stored), T0)
    again = JourneyState.model_validate_json(state.model_dump_json())
    assert again.policy == stored
    move(again, T0, Phase.TREATMENT, "2.1")
    measures.apply_record_instrument(
        again, RecordInstrument(code="PHQ-9", answers=[0] * 8 + [2], recorded_by=PRIMARY), T0
    )
    assert again.measurements[-1].flags == ["self_harm_risk"]


# What counts as a safety change ------------------------------------------------------------


def test_identical_policies_have_no_safety_changes() -> None:
    for path in (DEFAULT_POLICY_PATH, ASAM4_POLICY_PATH):
        pol = load_policy(path)
        assert safety_changes(pol, pol) == []
        assert safety_changes(pol, pol.model_copy(update={"version": "next"})) == []


Change = Callable[[TriggerRule], dict[str, Any] | None]
Named = Callable[[TriggerRule], str]
WEAKENINGS: list[tuple[str, Change, Named]] = [
    ("phq9-self-harm", lambda t: None, lambda t: "removed"),
    ("phq9-self-harm", lambda t: {"due_hours": t.due_hours + 4},
     lambda t: f"weakened: due_hours {t.due_hours} -> {t.due_hours + 4}"),
    ("phq9-self-harm", lambda t: {"priority": "routine"},
     lambda t: "weakened: priority urgent -> routine"),
    ("phq9-self-harm", lambda t: {"action": "open_reassessment"},
     lambda t: "weakened: action urgent_task -> open_reassessment"),
    ("phq9-self-harm", lambda t: {"in_locs": ["4-WM"]},
     lambda t: "weakened: in_locs every level -> 4-WM"),
    ("phq9-self-harm", lambda t: {"when": {"flag": "self_harm_risk", "total_at_least": 5}},
     lambda t: "weakened: total_at_least none -> 5"),
    ("ciwa-severe-ambulatory", lambda t: None, lambda t: "removed"),
    ("ciwa-severe-ambulatory", lambda t: {"when": {"total_at_least": _total(t) + 1}},
     lambda t: f"weakened: total_at_least {_total(t)} -> {_total(t) + 1}"),
    ("ciwa-severe-ambulatory", lambda t: {"in_locs": _locs(t)[:1]},
     lambda t: f"weakened: in_locs {', '.join(_locs(t))} -> {_locs(t)[0]}"),
    ("cows-rising", lambda t: {"when": {"rise_at_least": _rise(t) + 1}},
     lambda t: f"weakened: rise_at_least {_rise(t)} -> {_rise(t) + 1}"),
    ("cows-rising", lambda t: {"due_hours": t.due_hours + 1, "priority": "routine"},
     lambda t: f"weakened: priority urgent -> routine; due_hours {t.due_hours} -> "
               f"{t.due_hours + 1}"),
]  # fmt: skip


def _total(rule: TriggerRule) -> int:
    assert rule.when.total_at_least is not None
    return rule.when.total_at_least


def _rise(rule: TriggerRule) -> int:
    assert rule.when.rise_at_least is not None
    return rule.when.rise_at_least


def _locs(rule: TriggerRule) -> list[str]:
    assert rule.in_locs is not None
    assert len(rule.in_locs) > 1
    return rule.in_locs


def _trigger(pol: Policy, trigger_id: str) -> TriggerRule:
    return next(t for t in pol.triggers if t.trigger_id == trigger_id)


@pytest.mark.parametrize(("trigger_id", "change", "named"), WEAKENINGS)
def test_each_weakening_of_a_safety_trigger_is_named(
    trigger_id: str, change: Change, named: Named
) -> None:
    old = policy()
    rule = _trigger(old, trigger_id)
    new = _with_triggers(old, (trigger_id, change(rule)))
    assert safety_changes(old, new) == [f"trigger {trigger_id} {named(rule)}"]


@pytest.mark.parametrize(
    ("trigger_id", "update"),
    [
        ("phq9-self-harm", {"due_hours": 2}),
        ("phq9-self-harm", {"trigger_id": "phq9-item9"}),  # renamed, otherwise the same
        ("ciwa-severe-ambulatory", {"when": {"total_at_least": 15}}),
        ("ciwa-severe-ambulatory", {"in_locs": None}),
        ("ciwa-severe-ambulatory", {"in_locs": ["1-WM", "2-WM", "3.2-WM", "3.7-WM", "4-WM"]}),
        ("cows-rising", {"when": {"rise_at_least": 6}}),
        ("phq9-severe", None),  # routine, on no critical item: not a safety trigger
        ("phq9-severe", {"due_hours": 200}),
        ("gad7-new", {"instrument": "GAD-7", "when": {"total_at_least": 15},
                      "action": "open_reassessment", "priority": "routine", "due_hours": 72}),
    ],
)  # fmt: skip
def test_stronger_or_unrelated_changes_are_not_safety_changes(
    trigger_id: str, update: dict[str, Any] | None
) -> None:
    old = policy()
    new = _with_triggers(old, (trigger_id, update))
    assert new.triggers != old.triggers
    assert safety_changes(old, new) == []


def test_a_weakened_trigger_still_covered_by_another_is_no_safety_change() -> None:
    old = policy()
    twin = {"trigger_id": "phq9-self-harm-2", "instrument": "PHQ-9", "due_hours": 2,
            "when": {"flag": "self_harm_risk"}, "action": "urgent_task"}  # fmt: skip
    new = _with_triggers(old, ("phq9-self-harm-2", twin), ("phq9-self-harm", {"due_hours": 48}))
    assert safety_changes(old, new) == []


def _registry_with(pol: Policy, critical: list[dict[str, Any]]) -> Policy:
    data = pol.model_dump(mode="json")
    phq9 = next(i for i in data["instruments"]["instruments"] if i["code"] == "PHQ-9")
    phq9["critical_items"] = critical
    if not any(c["flag"] == "self_harm_risk" for c in critical):
        data["triggers"] = [t for t in data["triggers"] if t["when"].get("flag") is None]
    return Policy.model_validate_json(json.dumps(data))


def test_a_critical_item_dropped_or_raised_in_the_registry_is_a_safety_change() -> None:
    old = policy()
    raised = _registry_with(old, [{"item": 9, "at_least": 2, "flag": "self_harm_risk"}])
    assert safety_changes(old, raised) == ["PHQ-9 item 9 raises self_harm_risk from 2 (was 1)"]
    dropped = _registry_with(old, [])
    assert safety_changes(old, dropped) == [
        "PHQ-9 item 9 no longer raises self_harm_risk",
        "trigger phq9-self-harm removed",
    ]
    assert safety_changes(raised, old) == []  # back to 1: more sensitive


def test_every_trigger_and_condition_field_is_compared() -> None:
    # A field added to triggers later must be compared too, or it could weaken one unseen.
    assert set(TriggerRule.model_fields) == COMPARED_TRIGGER_FIELDS
    assert set(TriggerCondition.model_fields) == COMPARED_CONDITION_FIELDS


# Migration of a running journey ------------------------------------------------------------


def _weaker() -> Policy:
    return _with_triggers(policy(), ("phq9-self-harm", {"due_hours": 24}))


def _running() -> JourneyState:
    state = commands.start(start_command(), T0)
    move(state, T0, Phase.TREATMENT, "2.1")
    return state


def test_the_dry_run_lists_the_safety_changes() -> None:
    state = _running()
    plan = migration.plan_migration(state, _weaker())
    assert plan.blocked is None
    assert plan.safety_changes == ["trigger phq9-self-harm weakened: due_hours 4 -> 24"]


def test_a_migration_that_weakens_a_safety_trigger_is_refused_without_a_reason() -> None:
    state = _running()
    before = state.model_copy(deep=True)
    cmd = MigratePolicy(policy=_weaker(), migrated_by=SUPERVISOR, reason="new forms")
    with pytest.raises(RuleViolation) as err:
        migration.apply_migrate_policy(state, cmd, T0 + H)
    assert err.value.code is RejectionCode.SAFETY_CHANGE_NOT_ACCEPTED
    assert err.value.message.startswith("accept_safety_change: ")
    assert "phq9-self-harm weakened: due_hours 4 -> 24" in err.value.message
    assert state == before


def test_an_accepted_safety_change_is_recorded_in_the_event() -> None:
    state = _running()
    reason = "state board rule 2026-14: self-harm follow-up within 24 h by the crisis team"
    cmd = MigratePolicy(
        policy=_weaker(), migrated_by=SUPERVISOR, reason="x" * 500, accept_safety_change=reason
    )
    migration.apply_migrate_policy(state, cmd, T0 + H)
    (event,) = events(state, EventKind.POLICY_MIGRATED)
    assert f"1 safety change(s) accepted: {reason}" in event.summary
    assert len(event.summary) == 500
    assert event.priority is Priority.URGENT
    assert event.refs == {"from": "default@2026.3", "to": "default@2026.3-changed",
                          "by": SUPERVISOR, "safety_changes": "1"}  # fmt: skip
    assert SUPERVISOR in event.recipients
    assert state.policy.triggers[-1].due_hours == 24


def test_a_migration_without_safety_changes_needs_no_reason_and_records_none() -> None:
    state = _running()
    stronger = _with_triggers(policy(), ("phq9-self-harm", {"due_hours": 2}))
    cmd = MigratePolicy(policy=stronger, migrated_by=SUPERVISOR, reason="sooner follow-up")
    migration.apply_migrate_policy(state, cmd, T0 + H)
    (event,) = events(state, EventKind.POLICY_MIGRATED)
    assert event.summary == "Policy default@2026.3 -> default@2026.3-changed: sooner follow-up"
    assert event.priority is Priority.ROUTINE
    assert "safety_changes" not in event.refs


def test_a_target_that_leaves_a_critical_item_unguarded_is_refused_even_with_a_reason() -> None:
    state = _running()
    bare = _with_triggers(policy(), ("phq9-self-harm", None))
    cmd = MigratePolicy(policy=bare, migrated_by=SUPERVISOR, reason="r", accept_safety_change="r")
    with pytest.raises(RuleViolation) as err:
        migration.check_migrate_policy(state, cmd)
    assert err.value.code is RejectionCode.MIGRATION_BLOCKED
    assert SELF_HARM in err.value.message


def test_a_journey_recorded_before_the_safety_rules_replays_its_old_migrations() -> None:
    # Its history may hold a migration the old code accepted; replaying it must accept it too.
    state = _running()
    state.rules = LEGACY_RULES
    cmd = MigratePolicy(policy=_weaker(), migrated_by=SUPERVISOR, reason="new forms")
    migration.apply_migrate_policy(state, cmd, T0 + H)
    (event,) = events(state, EventKind.POLICY_MIGRATED)
    assert event.summary == "Policy default@2026.3 -> default@2026.3-changed: new forms"
    assert event.refs == {"from": "default@2026.3", "to": "default@2026.3-changed",
                          "by": SUPERVISOR}  # fmt: skip


def test_after_an_accepted_migration_the_weaker_trigger_is_the_one_that_runs() -> None:
    state = _running()
    cmd = MigratePolicy(
        policy=_weaker(), migrated_by=SUPERVISOR, reason="r", accept_safety_change="board rule"
    )
    migration.apply_migrate_policy(state, cmd, T0)
    measures.apply_record_instrument(
        state, RecordInstrument(code="PHQ-9", answers=[0] * 8 + [1], recorded_by=PRIMARY), T0
    )
    (task,) = [t for t in state.tasks if t.kind is TaskKind.SAFETY_FOLLOW_UP]
    assert task.due_at == T0 + 24 * H
