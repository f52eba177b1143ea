"""Instrument scoring: every band edge, critical items, reverse scoring, answer validation."""

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from clinical.errors import RuleViolation
from clinical.instruments import REGISTRY_PATH, RegistryError, load_registry, score
from models.errors import RejectionCode
from models.instruments import InstrumentDefinition

REGISTRY = load_registry()

# Band edges from the clinical reference (inclusive lower bounds of each band).
EDGES = {
    "PHQ-9": {0: "minimal", 5: "mild", 10: "moderate", 15: "moderately_severe", 20: "severe"},
    "GAD-7": {0: "minimal", 5: "mild", 10: "moderate", 15: "severe"},
    "AUDIT": {0: "zone_i", 8: "zone_ii", 16: "zone_iii", 20: "zone_iv"},
    "AUDIT-C": {0: "negative", 3: "positive_for_women", 4: "positive"},
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
