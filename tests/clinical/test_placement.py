"""Placement recommendations from ASAM ratings."""

import pytest

from clinical.errors import RuleViolation
from clinical.placement import recommend
from models.errors import RejectionCode
from models.journey import Phase
from tests.builders import policy, ratings


@pytest.mark.parametrize(
    ("dims", "current", "loc", "phase"),
    [
        (ratings(d1=4), Phase.INTAKE, "4-WM", Phase.WITHDRAWAL_MANAGEMENT),
        (ratings(d1=3, d2=2), Phase.INTAKE, "3.7-WM", Phase.WITHDRAWAL_MANAGEMENT),
        (ratings(d1=3), Phase.INTAKE, "3.2-WM", Phase.WITHDRAWAL_MANAGEMENT),
        (ratings(d1=2, d6=2), Phase.INTAKE, "2-WM", Phase.WITHDRAWAL_MANAGEMENT),
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
