"""Placement recommendations from ASAM ratings."""

import json
from itertools import product
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from clinical.errors import RuleViolation
from clinical.placement import intensity, recommend, unsourced_rules
from clinical.policy_loader import DEFAULT_POLICY_PATH, PolicyError, load_policy
from models.errors import RejectionCode
from models.journey import Phase
from models.policy import Policy
from tests.builders import policy, ratings

DIMENSIONS = [f"d{i}" for i in range(1, 7)]


@pytest.mark.parametrize(
    ("dims", "current", "loc", "phase"),
    [
        (ratings(d1=4), Phase.INTAKE, "4-WM", Phase.WITHDRAWAL_MANAGEMENT),
        (ratings(d1=3, d2=2), Phase.INTAKE, "3.7-WM", Phase.WITHDRAWAL_MANAGEMENT),
        (ratings(d1=3), Phase.INTAKE, "3.2-WM", Phase.WITHDRAWAL_MANAGEMENT),
        (ratings(d1=2, d6=2), Phase.INTAKE, "2-WM", Phase.WITHDRAWAL_MANAGEMENT),
        (ratings(d1=2), Phase.INTAKE, "1-WM", Phase.WITHDRAWAL_MANAGEMENT),
        (ratings(d3=2, d5=3, d6=3), Phase.TREATMENT, "3.3", Phase.TREATMENT),
        (ratings(d3=4), Phase.TREATMENT, "4", Phase.TREATMENT),
        (ratings(d2=3), Phase.TREATMENT, "3.7", Phase.TREATMENT),
        (ratings(d5=3, d6=3), Phase.TREATMENT, "3.5", Phase.TREATMENT),
        (ratings(d6=3), Phase.TREATMENT, "3.1", Phase.TREATMENT),
        (ratings(d5=3), Phase.TREATMENT, "2.5", Phase.TREATMENT),
        (ratings(d4=2), Phase.TREATMENT, "2.1", Phase.TREATMENT),
        (ratings(d5=1), Phase.TREATMENT, "1", Phase.TREATMENT),
        (ratings(), Phase.TREATMENT, None, Phase.AFTERCARE),
        (ratings(), Phase.AFTERCARE, None, Phase.AFTERCARE),
        (ratings(), Phase.INTAKE, "1", Phase.TREATMENT),
    ],
)
def test_recommendation_follows_first_matching_rule(
    dims: dict[str, int], current: Phase, loc: str | None, phase: Phase
) -> None:
    rec = recommend(policy(), dims, current)
    assert (rec.phase, rec.loc_code) == (phase, loc)


def test_rationale_names_the_dimensions_that_drove_it() -> None:
    rec = recommend(policy(), ratings(d5=3, d6=3, d4=1), Phase.TREATMENT)
    assert rec.driving_dimensions == ["d5", "d6"]
    assert "d5" in rec.rationale
    assert "d6" in rec.rationale
    assert "Recovery/living environment rated 3" in rec.rationale


def test_placement_is_not_an_average() -> None:
    # One severe withdrawal rating outweighs five zeros.
    rec = recommend(policy(), ratings(d1=4), Phase.TREATMENT)
    assert rec.loc_code == "4-WM"


def test_missing_and_unknown_dimensions_are_named() -> None:
    dims = ratings()
    del dims["d3"]
    dims["d9"] = 1
    with pytest.raises(RuleViolation) as err:
        recommend(policy(), dims, Phase.INTAKE)
    assert err.value.code is RejectionCode.DIMENSIONS_MISMATCH
    assert "missing d3" in err.value.message
    assert "unknown d9" in err.value.message


# Issue 11, item 5: severe biomedical or psychiatric ratings during withdrawal raise the level.


def test_severe_psychiatric_rating_during_withdrawal_is_not_placed_at_3_2_wm() -> None:
    rec = recommend(policy(), ratings(d1=3, d3=4), Phase.INTAKE)
    assert rec.loc_code == "4-WM"
    assert rec.driving_dimensions == ["d1", "d3"]


def test_severe_biomedical_rating_during_withdrawal_is_medically_managed() -> None:
    assert recommend(policy(), ratings(d1=3, d2=4), Phase.INTAKE).loc_code == "4-WM"


def test_moderate_withdrawal_with_a_stable_environment_still_gets_withdrawal_management() -> None:
    rec = recommend(policy(), ratings(d1=2, d6=0), Phase.INTAKE)
    assert (rec.phase, rec.loc_code) == (Phase.WITHDRAWAL_MANAGEMENT, "1-WM")


@pytest.mark.parametrize(
    ("dims", "loc"),
    [
        (ratings(d1=2, d2=4), "4-WM"),
        (ratings(d1=2, d3=3), "3.7-WM"),
        (ratings(d1=3, d3=3), "3.7-WM"),
        (ratings(d1=3, d3=2), "3.2-WM"),
        (ratings(d1=2, d2=2), "2-WM"),
        (ratings(d1=2, d3=2), "2-WM"),
    ],
)
def test_biomedical_and_psychiatric_ratings_weigh_in_withdrawal_management(
    dims: dict[str, int], loc: str
) -> None:
    assert recommend(policy(), dims, Phase.INTAKE).loc_code == loc


def test_a_biomedical_condition_alone_keeps_a_client_in_treatment_rather_than_aftercare() -> None:
    assert recommend(policy(), ratings(d2=1), Phase.TREATMENT).loc_code == "1"


ALL_RATINGS = [dict(zip(DIMENSIONS, values, strict=True)) for values in product(range(5), repeat=6)]
PACKAGED = [DEFAULT_POLICY_PATH, DEFAULT_POLICY_PATH.with_name("asam4.yaml")]


@pytest.mark.parametrize("path", PACKAGED, ids=lambda p: p.name)
def test_every_level_of_care_in_the_catalog_is_reachable(path: Path) -> None:
    pol = load_policy(path)
    reached: set[str | None] = set()
    for dims in ALL_RATINGS:  # all 4,096 ratings (0-4 on six dimensions)
        for current in (Phase.INTAKE, Phase.TREATMENT):
            reached.add(recommend(pol, dims, current).loc_code)
    assert reached == {loc.code for loc in pol.levels_of_care} | {None}  # None: aftercare


@pytest.mark.parametrize("path", PACKAGED, ids=lambda p: p.name)
def test_the_catalog_lists_each_phase_from_the_most_intensive_level_down(path: Path) -> None:
    # The intensity order placement is checked against is the catalog's; it must agree with
    # the ASAM numbering (4 above 3.7 above 3.5 ...).
    pol = load_policy(path)
    for phase in (Phase.WITHDRAWAL_MANAGEMENT, Phase.TREATMENT):
        codes = [loc.code for loc in pol.levels_of_care if loc.phase is phase]
        numbers = [float(code.removesuffix("-WM")) for code in codes]
        assert numbers == sorted(numbers, reverse=True), (path.name, codes)
        assert [intensity(pol, c) for c in codes] == list(range(len(codes), 0, -1))


def _wm_intensity(pol: Policy, dims: dict[str, int], current: Phase) -> int | None:
    rec = recommend(pol, dims, current)
    if rec.phase is not Phase.WITHDRAWAL_MANAGEMENT:
        return None
    assert rec.loc_code is not None
    return intensity(pol, rec.loc_code)


@settings(max_examples=500, deadline=None)
@given(
    path=st.sampled_from(PACKAGED),
    values=st.lists(st.integers(0, 4), min_size=6, max_size=6),
    raised=st.sampled_from(["d1", "d2", "d3"]),
    current=st.sampled_from([Phase.INTAKE, Phase.WITHDRAWAL_MANAGEMENT, Phase.TREATMENT,
                             Phase.AFTERCARE]),
)  # fmt: skip
def test_raising_d1_d2_or_d3_never_lowers_withdrawal_management(
    path: Path, values: list[int], raised: str, current: Phase
) -> None:
    pol = _POLICIES[path]
    dims = dict(zip(DIMENSIONS, values, strict=True))
    before = _wm_intensity(pol, dims, current)
    if before is None or dims[raised] == 4:
        return
    after = _wm_intensity(pol, {**dims, raised: dims[raised] + 1}, current)
    assert after is not None, "left withdrawal management"
    assert after >= before


@pytest.mark.parametrize("path", PACKAGED, ids=lambda p: p.name)
def test_withdrawal_rated_2_or_more_always_gets_withdrawal_management(path: Path) -> None:
    pol = _POLICIES[path]
    for dims in ALL_RATINGS:
        if dims["d1"] >= 2:
            rec = recommend(pol, dims, Phase.TREATMENT)
            assert rec.phase is Phase.WITHDRAWAL_MANAGEMENT, dims


_POLICIES = {path: load_policy(path) for path in PACKAGED}


# Where each rule comes from.

CLINICAL_SECTIONS = {
    # The section headings of ../shared/CLINICAL.md a rule may cite.
    "ASAM Criteria",
    "Plan due and review intervals (example: Montana ARM 37.106.1440)",
    "Instruments (score bands)",
}


@pytest.mark.parametrize("path", PACKAGED, ids=lambda p: p.name)
def test_every_packaged_rule_says_where_it_comes_from(path: Path) -> None:
    for rule in load_policy(path).placement:
        assert (rule.source is None) is rule.program_choice, rule.rule_id
        if rule.source is not None:
            assert rule.source.removeprefix("CLINICAL.md: ") in CLINICAL_SECTIONS, rule.rule_id


def test_the_rationale_says_the_rule_is_a_program_choice() -> None:
    rec = recommend(policy(), ratings(d1=3, d3=4), Phase.INTAKE)
    assert rec.rationale == (
        "4-WM [wm-medically-managed-comorbid: a program choice, not from a cited source] "
        "driven by d1 Acute intoxication and/or withdrawal potential rated 3; "
        "d3 Emotional, behavioral or cognitive conditions rated 4"
    )
    default = recommend(policy(), ratings(), Phase.INTAKE)
    assert default.rationale.startswith("1 [outpatient-default: a program choice")


def test_the_rationale_cites_a_rule_source() -> None:
    pol = _with_rule(policy(), "wm-medically-managed",
                     {"program_choice": False, "source": "CLINICAL.md: ASAM Criteria"})  # fmt: skip
    rec = recommend(pol, ratings(d1=4), Phase.INTAKE)
    assert rec.rationale.startswith(
        "4-WM [wm-medically-managed: source: CLINICAL.md: ASAM Criteria]"
    )


def test_the_origin_survives_a_long_rationale() -> None:
    pol = policy()
    named = dict.fromkeys(pol.dimensions, "x" * 80)
    pol = pol.model_copy(update={"dimensions": named})
    rec = recommend(pol, ratings(d2=1, d3=1, d4=1, d5=1, d6=1), Phase.TREATMENT)
    assert len(rec.rationale) == 500
    assert rec.rationale.startswith("1 [outpatient: a program choice, not from a cited source]")


def _with_rule(pol: Policy, rule_id: str, update: dict[str, object]) -> Policy:
    data = pol.model_dump(mode="json")
    for rule in data["placement"]:
        if rule["rule_id"] == rule_id:
            rule.update(update)
    return Policy.model_validate_json(json.dumps(data))


def _yaml_with_rule(tmp_path: Path, rule_id: str, update: dict[str, object]) -> Path:
    data = yaml.safe_load(DEFAULT_POLICY_PATH.read_text())
    for rule in data["placement"]:
        if rule["rule_id"] == rule_id:
            rule.update(update)
            for key in [k for k, v in update.items() if v is None]:
                del rule[key]
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_policy_file_rule_without_an_origin_is_refused_by_name(tmp_path: Path) -> None:
    path = _yaml_with_rule(tmp_path, "wm-residential", {"program_choice": None})
    with pytest.raises(PolicyError, match=r"placement\.wm-residential: give source"):
        load_policy(path)


def test_a_rule_with_both_a_source_and_program_choice_is_refused(tmp_path: Path) -> None:
    path = _yaml_with_rule(tmp_path, "wm-residential", {"source": "CLINICAL.md: ASAM Criteria"})
    with pytest.raises(
        PolicyError, match="wm-residential: give source or program_choice, not both"
    ):
        load_policy(path)


def test_a_stored_policy_whose_rules_predate_origins_still_recommends_as_before() -> None:
    data = policy().model_dump(mode="json")
    for rule in data["placement"]:
        del rule["program_choice"], rule["source"], rule["requires"]
    data["placement"] = [r for r in data["placement"] if "comorbid" not in r["rule_id"]]
    stored = Policy.model_validate_json(json.dumps(data))
    assert unsourced_rules(stored)  # a file like it would be refused ...
    rec = recommend(stored, ratings(d1=3, d2=2), Phase.INTAKE)  # ... but a journey runs on
    assert rec.rationale == (
        "3.7-WM (wm-medically-monitored) driven by d1 Acute intoxication and/or withdrawal "
        "potential rated 3; d2 Biomedical conditions and complications rated 2"
    )


def test_requires_must_all_hold_and_name_known_dimensions(tmp_path: Path) -> None:
    path = _yaml_with_rule(
        tmp_path, "wm-ambulatory", {"requires": [{"dimension": "d9", "at_least": 1}]}
    )
    with pytest.raises(PolicyError, match=r"placement\.wm-ambulatory: unknown dimension 'd9'"):
        load_policy(path)
    # d1 below the rule's requirement: the environment alone does not call for withdrawal care.
    assert recommend(policy(), ratings(d1=1, d6=2), Phase.INTAKE).phase is Phase.TREATMENT


def test_the_catch_all_rule_cannot_require_anything(tmp_path: Path) -> None:
    path = _yaml_with_rule(tmp_path, "outpatient-default",
                           {"requires": [{"dimension": "d1", "at_least": 0}]})  # fmt: skip
    with pytest.raises(PolicyError, match="last rule must match everything"):
        load_policy(path)
