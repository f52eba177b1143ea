"""Migrating running journeys to a new policy version: dry run, apply, nothing else touched."""

import json
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from models.clinical import ReassessmentTrigger
from models.commands import MigratePolicy
from models.errors import RejectionCode
from models.journey import EventKind, Priority
from models.policy import Policy
from readmodel.queries import JourneyQueries
from service.journeys import CommandRejectedError
from tests.builders import SUPERVISOR, policy
from tests.workflows.driver import JourneyDriver


def _v2() -> Policy:
    """The default policy with weekly residential reviews every 5 days and no 3.1 level."""
    data = policy().model_dump(mode="json")
    data["version"] = "2026.4"
    for level in data["levels_of_care"]:
        if level["code"] == "3.5":
            level["review_interval_days"] = 5
    data["levels_of_care"] = [lv for lv in data["levels_of_care"] if lv["code"] != "3.1"]
    data["placement"] = [r for r in data["placement"] if r.get("loc_code") != "3.1"]
    data["triggers"].append(
        {"trigger_id": "gad7-severe", "instrument": "GAD-7", "when": {"total_at_least": 15},
         "action": "open_reassessment", "priority": "routine", "due_hours": 72}
    )  # fmt: skip
    return Policy.model_validate_json(json.dumps(data))


async def test_dry_run_then_apply_moves_only_the_chosen_journeys(
    env: WorkflowEnvironment, task_queue: str, queries: JourneyQueries
) -> None:
    v2 = _v2()
    chosen = await JourneyDriver.start(env, task_queue, "J-MIG-1")
    await chosen.assess_and_accept(d5=3, d6=3)
    left_alone = await JourneyDriver.start(env, task_queue, "J-MIG-2")
    await left_alone.assess_and_accept(d5=3, d6=3)
    stuck = await JourneyDriver.start(env, task_queue, "J-MIG-3")
    await stuck.assess_and_accept(d6=3)
    assert (await stuck.state()).loc_code == "3.1"

    before = await chosen.state()
    plan = await chosen.service.preview_migration("J-MIG-1", v2)
    assert (plan.from_version, plan.to_version) == ("default@2026.3", "default@2026.4")
    assert "review interval at 3.5: 7 -> 5 days" in plan.changes
    assert "trigger added: gad7-severe" in plan.changes
    assert before.next_review_due is not None
    assert plan.next_review_due == before.next_review_due - timedelta(days=2)
    assert (await chosen.state()) == before  # the dry run changed nothing

    blocked = await stuck.service.preview_migration("J-MIG-3", v2)
    assert blocked.blocked == "level of care 3.1 is not in default@2026.4"
    cmd = MigratePolicy(policy=v2, migrated_by=SUPERVISOR, reason="state rule change")
    with pytest.raises(CommandRejectedError) as err:
        await stuck.service.send("J-MIG-3", cmd)
    assert err.value.code is RejectionCode.MIGRATION_BLOCKED

    await chosen.service.send("J-MIG-1", cmd)
    after = await chosen.state()
    assert after.policy.version == "2026.4"
    assert after.next_review_due == plan.next_review_due
    assert (await left_alone.state()).policy.version == "2026.3"
    assert (await stuck.state()).policy.version == "2026.3"

    # The new interval is the one that now schedules the review.
    await chosen.sleep(days=5, minutes=1)
    active = (await chosen.state()).active_reassessment
    assert active is not None
    assert active.trigger is ReassessmentTrigger.SCHEDULE
    assert (await left_alone.state()).active_reassessment is None

    timeline = await queries.get_timeline("J-MIG-1")
    assert timeline is not None
    migrated = [e for e in timeline.events if e.kind is EventKind.POLICY_MIGRATED]
    assert len(migrated) == 1
    assert migrated[0].refs == {"from": "default@2026.3", "to": "default@2026.4", "by": SUPERVISOR}
    assert timeline.summary.policy_version == "default@2026.4"
    again = await chosen.service.preview_migration("J-MIG-1", v2)
    assert again.blocked == "already on this version"


def _weaker_self_harm_follow_up() -> Policy:
    """The default policy with the PHQ-9 self-harm follow-up due in 24 h instead of 4 h."""
    data = policy().model_dump(mode="json")
    data["version"] = "2026.3-slower"
    for trigger in data["triggers"]:
        if trigger["trigger_id"] == "phq9-self-harm":
            trigger["due_hours"] = 24
    return Policy.model_validate_json(json.dumps(data))


async def test_a_migration_weakening_a_safety_trigger_needs_an_accepted_reason(
    env: WorkflowEnvironment, task_queue: str, queries: JourneyQueries
) -> None:
    weaker = _weaker_self_harm_follow_up()
    journey = await JourneyDriver.start(env, task_queue, "J-MIG-SAFE")
    await journey.assess_and_accept(d5=3, d6=3)
    plan = await journey.service.preview_migration("J-MIG-SAFE", weaker)
    assert plan.safety_changes == ["trigger phq9-self-harm weakened: due_hours 4 -> 24"]
    before = await journey.state()

    cmd = MigratePolicy(policy=weaker, migrated_by=SUPERVISOR, reason="new crisis line")
    with pytest.raises(CommandRejectedError) as err:
        await journey.service.send("J-MIG-SAFE", cmd)
    assert err.value.code is RejectionCode.SAFETY_CHANGE_NOT_ACCEPTED
    assert "phq9-self-harm weakened: due_hours 4 -> 24" in err.value.message
    assert (await journey.state()) == before  # refused: nothing changed

    accepted = cmd.model_copy(update={"accept_safety_change": "crisis team follows up in 24 h"})
    await journey.service.send("J-MIG-SAFE", accepted)
    assert (await journey.state()).policy.version == "2026.3-slower"
    timeline = await queries.get_timeline("J-MIG-SAFE")
    assert timeline is not None
    (event,) = [e for e in timeline.events if e.kind is EventKind.POLICY_MIGRATED]
    assert "1 safety change(s) accepted: crisis team follows up in 24 h" in event.summary
    assert event.refs["safety_changes"] == "1"
    assert event.priority is Priority.URGENT
