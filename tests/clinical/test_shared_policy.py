"""Equal policies are one frozen object per process; nothing can change the shared copy."""

import pytest
from pydantic import ValidationError

from clinical import shared_policy
from clinical.policy_loader import load_policy
from clinical.shared_policy import shared


def test_equal_policies_share_one_object_and_different_ones_do_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A process of its own: journeys in other tests shared the default policy already.
    monkeypatch.setattr(shared_policy, "_shared", {})
    first, second = load_policy(), load_policy()
    assert first is not second
    assert shared(first) is shared(second) is first
    newer = first.model_copy(update={"version": "2099.1"})
    assert shared(newer) is newer
    assert shared(first.model_copy(update={"version": "2099.1"})) is newer


def test_shared_policies_cannot_be_changed() -> None:
    policy = shared(load_policy())
    with pytest.raises(ValidationError, match="frozen"):
        policy.version = "changed"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        policy.levels_of_care[0].review_interval_days = 1  # type: ignore[misc]
    assert policy.instruments is not None
    with pytest.raises(ValidationError, match="frozen"):
        policy.instruments.instruments[0].name = "changed"  # type: ignore[misc]


def test_the_process_keeps_a_bounded_number_of_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shared_policy, "_shared", {})
    base = load_policy()
    kept = [shared(base.model_copy(update={"version": f"v{n}"})) for n in range(70)]
    assert len(shared_policy._shared) == shared_policy.MAX_SHARED
    # The newest stay shared; the oldest were let go (a later equal one is kept afresh).
    assert shared(base.model_copy(update={"version": "v69"})) is kept[-1]
    assert shared(base.model_copy(update={"version": "v0"})) is not kept[0]
