"""Instrument scoring: every band edge, critical items, reverse scoring, answer validation."""

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from clinical import commands, measures
from clinical.errors import RuleViolation
from clinical.instruments import REGISTRY_PATH, RegistryError, load_registry, score
from models.commands import RecordInstrument, StartJourney
from models.errors import RejectionCode
from models.instruments import InstrumentDefinition, SexAtBirth
from models.state import JourneyState
from tests.builders import PRIMARY, T0, start_command

REGISTRY = load_registry()

# Band edges from the clinical reference (inclusive lower bounds of each band).
EDGES = {
    "PHQ-9": {0: "minimal", 5: "mild", 10: "moderate", 15: "moderately_severe", 20: "severe"},
    "GAD-7": {0: "minimal", 5: "mild", 10: "moderate", 15: "severe"},
    "AUDIT": {0: "zone_i", 8: "zone_ii", 16: "zone_iii", 20: "zone_iv"},
    # Sex at birth unknown: the lower (women's) cut-off; by sex below.
    "AUDIT-C": {0: "negative", 3: "positive"},
    "DAST-10": {0: "none", 1: "low", 3: "moderate", 6: "substantial", 9: "severe"},
    "CIWA-Ar": {0: "mild", 10: "moderate", 19: "severe"},
    "COWS": {0: "below_mild", 5: "mild", 13: "moderate", 25: "moderately_severe", 37: "severe"},
    "PCL-5": {0: "below_threshold", 31: "probable_ptsd"},
}
MAX_TOTAL = {"PHQ-9": 27, "GAD-7": 21, "AUDIT": 40, "AUDIT-C": 12, "DAST-10": 10,
             "CIWA-Ar": 67, "COWS": 48, "PCL-5": 80}  # fmt: skip


def answers_for(definition: InstrumentDefinition, total: int) -> list[int]:
    """Answers whose score is ``total`` (reverse-scored items accounted for)."""
    items = definition.items
    reachable: dict[int, list[int]] = {0: []}
    for number in range(1, items.count + 1):
        allowed = items.allowed(number)
        step: dict[int, list[int]] = {}
        for so_far, chosen in reachable.items():
            for answer in allowed:
                value = (
                    (max(allowed) - answer + min(allowed)) if number in items.reversed else answer
                )
                step.setdefault(so_far + value, [*chosen, answer])
        reachable = step
    return reachable[total]


def test_registry_covers_the_instruments_with_the_published_ranges() -> None:
    assert {i.code: i.items.max_total() for i in REGISTRY.instruments} == MAX_TOTAL


@pytest.mark.parametrize("code", sorted(EDGES))
def test_every_band_edge(code: str) -> None:
    definition = REGISTRY.get(code)
    assert definition is not None
    lows = sorted(EDGES[code])
    for low, high in zip(lows, [*lows[1:], MAX_TOTAL[code] + 1], strict=True):
        for total in {low, high - 1}:
            result = score(REGISTRY, code, answers_for(definition, total))
            assert (result.total, result.band) == (total, EDGES[code][low])


def test_phq9_item_9_is_a_safety_flag_on_its_own() -> None:
    low_total = score(REGISTRY, "PHQ-9", [0, 0, 0, 0, 0, 0, 0, 0, 1])
    assert low_total.band == "minimal"
    assert low_total.flags == ["self_harm_risk"]
    assert score(REGISTRY, "PHQ-9", [3, 3, 3, 3, 3, 3, 3, 3, 0]).flags == []


def test_dast10_item_3_is_reverse_scored() -> None:
    # "No" (0) to item 3 scores a point; "yes" to every other item scores one each.
    assert score(REGISTRY, "DAST-10", [0] * 10).total == 1
    assert score(REGISTRY, "DAST-10", [0, 0, 1, 0, 0, 0, 0, 0, 0, 0]).total == 0
    assert score(REGISTRY, "DAST-10", [1, 1, 0, 1, 1, 1, 1, 1, 1, 1]).total == 10


@pytest.mark.parametrize(
    ("code", "answers", "message"),
    [
        ("PHQ-9", [0] * 8, "has 9 items, got 8"),
        ("GAD-7", [0, 0, 0, 4, 0, 0, 0], "answers.4: 4 is not one of"),
        ("AUDIT", [0] * 8 + [1, 0], "answers.9: 1 is not one of [0, 2, 4]"),
        ("COWS", [3] + [0] * 10, "answers.1: 3 is not one of [0, 1, 2, 4]"),
        ("XYZ", [0], "instrument: 'XYZ'"),
    ],
)
def test_bad_answers_are_refused(code: str, answers: list[int], message: str) -> None:
    with pytest.raises(RuleViolation, match=message.replace("[", r"\[").replace("]", r"\]")) as err:
        score(REGISTRY, code, answers)
    assert err.value.code in (RejectionCode.INVALID_ANSWERS, RejectionCode.UNKNOWN_INSTRUMENT)


@given(st.sampled_from(sorted(EDGES)), st.data())
def test_totals_always_land_in_exactly_one_band(code: str, data: st.DataObject) -> None:
    definition = REGISTRY.get(code)
    assert definition is not None
    answers = [
        data.draw(st.sampled_from(definition.items.allowed(n)))
        for n in range(1, definition.items.count + 1)
    ]
    result = score(REGISTRY, code, answers)
    assert 0 <= result.total <= MAX_TOTAL[code]
    assert sum(b.min <= result.total <= b.max for b in definition.bands) == 1


def test_registry_with_bands_that_miss_totals_is_refused(tmp_path: Path) -> None:
    data = yaml.safe_load(REGISTRY_PATH.read_text())
    data["instruments"][0]["bands"][-1]["max"] = 26
    path = tmp_path / "instruments.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(RegistryError, match="highest total is 27"):
        load_registry(path)
    data["instruments"][0]["bands"][1]["min"] = 6
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(RegistryError, match="contiguously"):
        load_registry(path)


# AUDIT-C: positive at >= 4 for men and >= 3 for women (CLINICAL.md); unknown: the lower cut-off.
def _audit_c() -> InstrumentDefinition:
    definition = REGISTRY.get("AUDIT-C")
    assert definition is not None
    return definition


AUDIT_C = _audit_c()


@pytest.mark.parametrize(
    ("sex", "total", "band"),
    [
        (SexAtBirth.MALE, 0, "negative"),
        (SexAtBirth.MALE, 3, "negative"),
        (SexAtBirth.MALE, 4, "positive"),
        (SexAtBirth.MALE, 12, "positive"),
        (SexAtBirth.FEMALE, 0, "negative"),
        (SexAtBirth.FEMALE, 2, "negative"),
        (SexAtBirth.FEMALE, 3, "positive"),
        (SexAtBirth.FEMALE, 12, "positive"),
        (SexAtBirth.UNKNOWN, 0, "negative"),
        (SexAtBirth.UNKNOWN, 2, "negative"),
        (SexAtBirth.UNKNOWN, 3, "positive"),
        (SexAtBirth.UNKNOWN, 4, "positive"),
        (SexAtBirth.UNKNOWN, 12, "positive"),
    ],
)
def test_audit_c_cut_off_follows_sex_at_birth_at_every_edge(
    sex: SexAtBirth, total: int, band: str
) -> None:
    result = score(REGISTRY, "AUDIT-C", answers_for(AUDIT_C, total), sex)
    assert (result.total, result.band, result.cutoff_for) == (total, band, sex)


def test_audit_c_with_sex_at_birth_not_given_uses_the_lower_cut_off_and_says_so() -> None:
    result = score(REGISTRY, "AUDIT-C", [1, 1, 1])
    assert (result.band, result.cutoff_for) == ("positive", SexAtBirth.UNKNOWN)


def test_instruments_without_sex_specific_cut_offs_say_nothing_about_sex() -> None:
    for sex in SexAtBirth:
        assert score(REGISTRY, "PHQ-9", [1] * 9, sex).cutoff_for is None
        assert score(REGISTRY, "AUDIT", [1] * 8 + [0, 0], sex).band == "zone_ii"


@given(st.lists(st.sampled_from([0, 1, 2, 3, 4]), min_size=3, max_size=3))
def test_unknown_sex_is_never_milder_than_either_sex(answers: list[int]) -> None:
    labels = [b.label for b in AUDIT_C.bands]
    unknown = labels.index(score(REGISTRY, "AUDIT-C", answers, SexAtBirth.UNKNOWN).band)
    for sex in (SexAtBirth.FEMALE, SexAtBirth.MALE):
        assert unknown >= labels.index(score(REGISTRY, "AUDIT-C", answers, sex).band)


def _registry_file(tmp_path: Path, change: dict[str, object]) -> Path:
    data = yaml.safe_load(REGISTRY_PATH.read_text())
    audit_c = next(i for i in data["instruments"] if i["code"] == "AUDIT-C")
    audit_c.update(change)
    path = tmp_path / "instruments.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_registry_whose_unknown_bands_use_the_higher_cut_off_is_refused(tmp_path: Path) -> None:
    men = [{"min": 0, "max": 3, "label": "negative"}, {"min": 4, "max": 12, "label": "positive"}]
    with pytest.raises(RegistryError, match="unknown sex at birth must use the lower cut-off"):
        load_registry(_registry_file(tmp_path, {"bands": men}))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bands_by_sex": {"male": [{"min": 0, "max": 11, "label": "negative"}]}},
         "bands_by_sex.male: AUDIT-C bands end at 11"),
        ({"bands_by_sex": {"male": [{"min": 0, "max": 3, "label": "no"},
                                    {"min": 4, "max": 12, "label": "positive"}]}},
         "must have the labels of bands"),
        ({"bands_by_sex": {"unknown": [{"min": 0, "max": 2, "label": "negative"},
                                       {"min": 3, "max": 12, "label": "positive"}]}},
         "unknown sex uses bands"),
    ],
)  # fmt: skip
def test_sex_specific_bands_are_checked_like_bands(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    with pytest.raises(RegistryError, match=message):
        load_registry(_registry_file(tmp_path, change))


@pytest.mark.parametrize(
    ("sex", "band", "summary"),
    [
        (SexAtBirth.FEMALE, "positive", "AUDIT-C recorded: 3 (positive)"),
        (SexAtBirth.MALE, "negative", "AUDIT-C recorded: 3 (negative)"),
        (SexAtBirth.UNKNOWN, "positive",
         "AUDIT-C recorded: 3 (positive; sex at birth unknown: lower cut-off)"),
    ],
)  # fmt: skip
def test_a_journey_scores_audit_c_with_the_sex_recorded_at_intake(
    sex: SexAtBirth, band: str, summary: str
) -> None:
    start = start_command().model_copy(update={"sex_at_birth": sex})
    state = commands.start(start, T0)
    # The recorded sex survives continue-as-new (the whole state is carried as JSON).
    state = JourneyState.model_validate_json(state.model_dump_json())
    assert state.sex_at_birth is sex
    cmd = RecordInstrument(code="AUDIT-C", answers=[1, 1, 1], recorded_by=PRIMARY)
    done = measures.apply_record_instrument(state, cmd, T0)
    assert done.instrument is not None
    assert (done.instrument.band, done.instrument.cutoff_for) == (band, sex)
    assert state.measurements[-1].band == band
    assert state.outbox[-1].summary == summary
    refs = state.outbox[-1].refs
    assert (refs["instrument"], refs["total"]) == ("AUDIT-C", "3")
    # The item answers and the registry version travel too (a FHIR export rebuilds from them).
    assert (refs["answers"], refs["registry"]) == ("1,1,1", done.instrument.registry_version)


def test_a_start_command_without_sex_at_birth_records_it_as_unknown() -> None:
    data = start_command().model_dump(mode="json")
    del data["sex_at_birth"]
    assert StartJourney.model_validate_json(json.dumps(data)).sex_at_birth is SexAtBirth.UNKNOWN
    with pytest.raises(ValidationError, match="sex_at_birth"):
        StartJourney.model_validate_json(json.dumps({**data, "sex_at_birth": "x"}))


def test_a_state_stored_before_sex_at_birth_reads_as_unknown() -> None:
    data = commands.start(start_command(), T0).model_dump(mode="json")
    del data["sex_at_birth"]
    assert JourneyState.model_validate_json(json.dumps(data)).sex_at_birth is SexAtBirth.UNKNOWN
