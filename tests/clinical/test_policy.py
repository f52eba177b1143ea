"""Policy loading and validation."""

import json
from pathlib import Path

import pytest
import yaml

from clinical import commands
from clinical.instruments import REGISTRY_PATH
from clinical.placement import recommend
from clinical.policy_loader import DEFAULT_POLICY_PATH, PolicyError, load_policy
from models.journey import ADDRESSED_BY_COMMAND, EventKind, Phase
from models.policy import ClinicalEventKind, Policy
from tests.builders import T0, start_command
from tests.clinical.engine import move


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _default() -> dict[str, object]:
    data = yaml.safe_load(DEFAULT_POLICY_PATH.read_text())
    assert isinstance(data, dict)
    return data


def test_default_policy_loads_with_clinical_review_intervals() -> None:
    policy = load_policy()
    intervals = {loc.code: loc.review_interval_days for loc in policy.levels_of_care}
    assert intervals["3.7"] == 3
    assert intervals["3.7-WM"] == 3
    assert intervals["3.2-WM"] == 3
    assert intervals["3.5"] == 7
    assert intervals["2.5"] == 14
    assert intervals["3.1"] == 30
    assert intervals["2.1"] == 90
    assert intervals["1"] == 90
    assert {r.event for r in policy.routing} == set(EventKind) - ADDRESSED_BY_COMMAND
    assert {r.kind for r in policy.events} == set(ClinicalEventKind)


def test_policy_with_out_of_range_rating_threshold_names_the_field(tmp_path: Path) -> None:
    data = _default()
    data["placement"][0]["when"][0]["at_least"] = 7  # type: ignore[index]
    with pytest.raises(PolicyError, match=r"placement\.0\.when\.0\.at_least"):
        load_policy(_write(tmp_path, data))


def test_policy_rule_naming_unknown_loc_is_rejected(tmp_path: Path) -> None:
    data = _default()
    data["placement"][0]["loc_code"] = "9.9-WM"  # type: ignore[index]
    with pytest.raises(PolicyError, match=r"9\.9-WM"):
        load_policy(_write(tmp_path, data))


def test_policy_without_catch_all_rule_is_rejected(tmp_path: Path) -> None:
    data = _default()
    data["placement"] = data["placement"][:3]  # type: ignore[index]
    with pytest.raises(PolicyError, match="last rule must match everything"):
        load_policy(_write(tmp_path, data))


def test_policy_missing_routing_for_an_event_is_rejected(tmp_path: Path) -> None:
    data = _default()
    data["routing"] = data["routing"][1:]  # type: ignore[index]
    with pytest.raises(PolicyError, match="routing"):
        load_policy(_write(tmp_path, data))


def test_unreadable_policy_file_gives_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read policy"):
        load_policy(tmp_path / "missing.yaml")


def test_aftercare_check_ins_must_increase(tmp_path: Path) -> None:
    data = _default()
    data["aftercare"]["check_ins"] = ["P14D", "P7D"]  # type: ignore[index]
    with pytest.raises(PolicyError, match="check_ins"):
        load_policy(_write(tmp_path, data))


def test_a_stored_policy_older_than_the_code_still_loads_and_routes_to_the_primary() -> None:
    data = _default()
    data["routing"] = [r for r in data["routing"] if r["event"] != "trigger_fired"]  # type: ignore[attr-defined]
    data["instruments"] = yaml.safe_load(REGISTRY_PATH.read_text())
    # A journey's stored policy is read without the file-level completeness check ...
    stored = Policy.model_validate_json(json.dumps(data))
    rule = stored.routing_rule(EventKind.TRIGGER_FIRED)
    assert (rule.roles, rule.primary) == ([], True)
    # ... while loading that policy file for new journeys names what is missing.
    assert stored.missing_rules() == ["routing: no rule for trigger_fired"]


def test_trigger_on_an_unknown_flag_is_refused(tmp_path: Path) -> None:
    data = _default()
    data["triggers"][0]["when"] = {"flag": "no_such_flag"}  # type: ignore[index]
    with pytest.raises(PolicyError, match="no flag 'no_such_flag'"):
        load_policy(_write(tmp_path, data))


ASAM4_POLICY_PATH = DEFAULT_POLICY_PATH.with_name("asam4.yaml")


def test_the_fourth_edition_policy_drives_the_same_engine() -> None:
    policy = load_policy(ASAM4_POLICY_PATH)
    assert policy.asam_edition == 4
    assert policy.dimensions["d6"] == "Person-centered considerations"
    assert policy.missing_rules() == []

    ratings = {f"d{i}": 0 for i in range(1, 7)}
    wm = recommend(policy, {**ratings, "d1": 3}, Phase.INTAKE)
    assert (wm.phase, wm.loc_code) == (Phase.WITHDRAWAL_MANAGEMENT, "2.7-WM")
    assert "Intoxication, withdrawal and addiction medications" in wm.rationale
    outpatient = recommend(policy, {**ratings, "d6": 1}, Phase.INTAKE)
    assert outpatient.loc_code == "1.5"
    assert "Person-centered considerations" in outpatient.rationale

    state = commands.start(start_command(pol=policy), T0)
    move(state, T0, Phase.WITHDRAWAL_MANAGEMENT, "2.7-WM")
    assert state.plan_review is not None
    assert (state.plan_review.due_at - T0).total_seconds() == 48 * 3600
    assert state.policy.policy_id == "asam4"


def test_both_packaged_policies_name_every_level_their_rules_use() -> None:
    for path in (DEFAULT_POLICY_PATH, ASAM4_POLICY_PATH):
        policy = load_policy(path)
        codes = {loc.code for loc in policy.levels_of_care}
        used = {r.loc_code for r in policy.placement if r.loc_code}
        assert used <= codes, path.name
        for loc in policy.levels_of_care:
            assert loc.initial_plan_due_hours is not None, (path.name, loc.code)
            assert loc.plan_review_days is not None, (path.name, loc.code)
