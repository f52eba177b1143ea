"""Through the CLI: policies that would drop a safety rule, sex at birth for AUDIT-C, and
progress figures that claim only what is true (against the dev server and a real worker)."""

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.test_cli_journey import TEAM, Worker, as_json, journeys, stack

__all__ = ["stack"]  # the module-scoped dev server and the CLI's environment


@pytest.fixture(scope="module")
def worker(stack: dict[str, str]) -> Iterator[Worker]:
    running = Worker(stack)
    running.start()
    yield running
    running.kill()


def _policy_file(env: dict[str, str], name: str, change: Any) -> Path:
    data = yaml.safe_load(Path(env["JOURNEYS_POLICY_PATH"]).read_text())
    change(data)
    path = Path(env["JOURNEYS_DATA_DIR"]) / name
    path.write_text(yaml.safe_dump(data))
    return path


def _drop_self_harm_trigger(data: dict[str, Any]) -> None:
    data["triggers"] = [t for t in data["triggers"] if t["trigger_id"] != "phq9-self-harm"]


def _slower_self_harm_follow_up(data: dict[str, Any]) -> None:
    data["version"] = "test-slower-follow-up"
    for trigger in data["triggers"]:
        if trigger["trigger_id"] == "phq9-self-harm":
            trigger["due_hours"] = 24


def _audit(env: dict[str, str], journey: str) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(Path(env["JOURNEYS_DATA_DIR"]) / "journeys.db") as db:
        rows = db.execute(
            "SELECT action, outcome, detail FROM audit_log"
            " WHERE journey_id = ? AND action = 'policy.migrate' ORDER BY id",
            (journey,),
        ).fetchall()
    return [(str(a), str(o), d) for a, o, d in rows]


def test_policy_check_refuses_a_file_that_drops_the_self_harm_trigger(
    stack: dict[str, str],
) -> None:
    path = _policy_file(stack, "no-self-harm.yaml", _drop_self_harm_trigger)
    refused = journeys(stack, "policy", "check", str(path), ok=False)
    assert refused.returncode == 1
    assert "PHQ-9 item 9 is critical (flag self_harm_risk)" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1

    def no_origin(data: dict[str, Any]) -> None:
        del data["placement"][0]["program_choice"]

    unsourced = journeys(stack, "policy", "check", str(_policy_file(stack, "o.yaml", no_origin)),
                         ok=False)  # fmt: skip
    assert unsourced.returncode == 1
    assert "placement.wm-medically-managed: give source" in unsourced.stderr


def test_migrate_blocks_a_weaker_safety_trigger_until_a_reason_is_given(
    stack: dict[str, str], worker: Worker
) -> None:
    env = stack
    journey = journeys(env, "start", *TEAM, "--by", "ops-1").stdout.strip()
    slower = _policy_file(env, "slower.yaml", _slower_self_harm_follow_up)
    args = ["policy", "migrate", "--to", str(slower), "--journey", journey,
            "--reason", "crisis line takes over", "--by", "sv-gray"]  # fmt: skip

    (plan,) = as_json(journeys(env, *args, "--json"))
    assert plan["safety_changes"] == ["trigger phq9-self-harm weakened: due_hours 4 -> 24"]
    dry = journeys({**env, "COLUMNS": "400"}, *args).stdout
    assert "applying needs --accept-safety-change REASON" in dry

    refused = journeys(env, *args, "--apply", ok=False)
    assert refused.returncode == 3
    assert "1 journey(s) would lose or weaken safety rules" in refused.stderr
    assert "nothing was migrated" in refused.stderr
    shown = as_json(journeys(env, "show", "--by", "sv-gray", journey, "--json"))
    assert not shown["state"]["policy_version"].endswith("test-slower-follow-up")
    assert _audit(env, journey)[-1] == (
        "policy.migrate", "safety_change_not_accepted",
        "trigger phq9-self-harm weakened: due_hours 4 -> 24",
    )  # fmt: skip

    reason = "state rule 14: the crisis team follows up within 24 h"
    applied = journeys(env, *args, "--apply", "--accept-safety-change", reason)
    assert "migrated 1 of 1" in applied.stdout
    shown = as_json(journeys(env, "show", "--by", "sv-gray", journey, "--json"))
    assert shown["state"]["policy_version"] == "default@test-slower-follow-up"
    (event,) = [e for e in shown["timeline"]["events"] if e["kind"] == "policy_migrated"]
    assert f"1 safety change(s) accepted: {reason}" in event["summary"]
    assert event["priority"] == "urgent"
    assert _audit(env, journey)[-1] == (
        "policy.migrate", "ok",
        f"safety changes accepted: {reason} (trigger phq9-self-harm weakened: due_hours 4 -> 24)",
    )  # fmt: skip


def test_a_too_long_safety_reason_is_refused_before_anything_moves(stack: dict[str, str]) -> None:
    slower = _policy_file(stack, "slower.yaml", _slower_self_harm_follow_up)
    refused = journeys(stack, "policy", "migrate", "--to", str(slower), "--journey", "J-X",
                       "--reason", "r", "--by", "sv-gray", "--apply",
                       "--accept-safety-change", "x" * 201, ok=False)  # fmt: skip
    assert refused.returncode == 1
    assert "accept_safety_change: String should have at most 200 characters" in refused.stderr


@pytest.mark.parametrize(
    ("sex", "printed"),
    [
        (["--sex-at-birth", "male"], "AUDIT-C: 3 (negative)"),
        (["--sex-at-birth", "female"], "AUDIT-C: 3 (positive)"),
        ([], "AUDIT-C: 3 (positive; sex at birth unknown: lower cut-off)"),
    ],
)
def test_start_records_sex_at_birth_for_the_audit_c_cut_off(
    stack: dict[str, str], worker: Worker, sex: list[str], printed: str
) -> None:
    journey = journeys(stack, "start", *TEAM, *sex, "--by", "ops-1").stdout.strip()
    measured = journeys(stack, "measure", journey, "AUDIT-C", "--answers", "1,1,1",
                        "--by", "th-chen")  # fmt: skip
    assert printed in measured.stdout


def test_an_unknown_sex_at_birth_value_is_a_usage_error(stack: dict[str, str]) -> None:
    bad = journeys(stack, "start", *TEAM, "--sex-at-birth", "f", "--by", "ops-1", ok=False)
    assert bad.returncode == 2
    assert "--sex-at-birth" in bad.stderr


def test_progress_of_a_first_phq9_of_1_claims_no_remission(
    stack: dict[str, str], worker: Worker
) -> None:
    # Issue 11, item 6, reproduced as reported: `journeys progress J --json`.
    journey = journeys(stack, "start", *TEAM, "--by", "ops-1").stdout.strip()
    for answers in ("1,0,0,0,0,0,0,0,0", "0,0,0,0,0,0,0,0,0"):
        journeys(stack, "measure", journey, "PHQ-9", "--answers", answers, "--by", "th-chen")
    (trend,) = as_json(journeys(stack, "progress", "--by", "sv-gray", journey, "--json"))["trends"]
    assert (trend["baseline"], trend["response"], trend["remission"]) == (1, None, None)
    table = journeys({**stack, "COLUMNS": "400"}, "progress", "--by", "sv-gray", journey).stdout
    assert "response and remission are not measured" in table
