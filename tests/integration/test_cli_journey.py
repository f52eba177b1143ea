"""A journey from intake to completion through the CLI alone, against the dev server and a
real worker process that is killed and restarted on the way."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from clinical.policy_loader import DEFAULT_POLICY_PATH
from tests.portpick import free_port

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
TEAM = [
    "--member", "th-chen:therapist:primary",
    "--member", "dr-ames:physician",
    "--member", "cm-diaz:case_manager",
    "--member", "sv-gray:supervisor",
]  # fmt: skip


def _short_aftercare_policy(path: Path) -> Path:
    """The default policy with an aftercare schedule of seconds, so completion is observable."""
    data = yaml.safe_load(DEFAULT_POLICY_PATH.read_text())
    data["version"] = "test-short-aftercare"
    data["aftercare"].update(check_ins=["PT6S", "PT12S"], grace="PT3S", duration="PT12S")
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """An embedded dev server started by ``journeys up``-style settings, and the CLI's env."""
    data = tmp_path_factory.mktemp("data")
    port, ui_port = free_port(), free_port()
    env = {
        **os.environ,
        "JOURNEYS_DATA_DIR": str(data),
        "JOURNEYS_TEMPORAL_PORT": str(port),
        "JOURNEYS_TEMPORAL_UI_PORT": str(ui_port),
        "TEMPORAL_ADDRESS": f"127.0.0.1:{port}",
        "JOURNEYS_TASK_QUEUE": f"cli-{uuid.uuid4().hex[:8]}",
        "JOURNEYS_POLICY_PATH": str(_short_aftercare_policy(data / "policy.yaml")),
        "JOURNEYS_LOG_FORMAT": "json",
    }
    env.pop("JOURNEYS_DATABASE_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.serve_temporal"],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert server.stdout is not None
    assert server.stdout.readline().strip() == "ready", "dev server did not start"
    yield env
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)


class Worker:
    """The real worker as a separate process (``python worker.py``)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "worker.py"], env=self.env, cwd=ROOT)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=30)


def journeys(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the CLI; by default it must succeed."""
    done = subprocess.run(
        [str(BIN / "journeys"), *args], env=env, cwd=ROOT, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    if ok:
        assert done.returncode == 0, done.stderr
    return done


def as_json(done: subprocess.CompletedProcess[str]) -> Any:
    """Parse a ``--json`` command's output."""
    return json.loads(done.stdout)


def wait_for_phase(env: dict[str, str], journey: str, phase: str, seconds: float) -> Any:
    """Poll ``show --json`` until the journey is in ``phase`` (bounded)."""
    return wait_for(env, journey, lambda shown: shown["state"]["phase"] == phase, seconds)


def wait_for(env: dict[str, str], journey: str, done: Callable[[Any], bool], seconds: float) -> Any:
    """Poll ``show --json`` until ``done`` holds for it (bounded)."""
    deadline = time.monotonic() + seconds
    while True:
        shown = as_json(journeys(env, "show", "--by", "sv-gray", journey, "--json"))
        if done(shown) or time.monotonic() > deadline:
            return shown
        time.sleep(1)


def test_journey_from_intake_to_completion_with_the_cli_alone(stack: dict[str, str]) -> None:
    env = stack
    worker = Worker(env)
    worker.start()
    try:
        _drive(env, worker)
    finally:
        worker.kill()


def _drive(env: dict[str, str], worker: Worker) -> None:
    journey = journeys(env, "start", *TEAM, "--by", "ops-1").stdout.strip()
    assert journey.startswith("J-")

    assessed = journeys(env, "assess", journey, "--ratings", "d1=3,d2=2,d3=1,d4=1,d5=3,d6=3",
                        "--by", "th-chen")  # fmt: skip
    assert "3.7-WM" in assessed.stdout
    # Withdrawal management is decided by a physician or a nurse of the team (the policy's
    # authority): the journey itself refuses anyone else, in one line with exit code 3.
    for who, why in (("th-chen", "is a therapist"), ("ops-1", "not on this journey's care team")):
        refused = journeys(env, "decide", journey, "--accept", "--by", who, ok=False)
        assert refused.returncode == 3
        assert "rejected (not_authorized): decided_by:" in refused.stderr
        assert why in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
    assert (
        "withdrawal_management"
        in journeys(env, "decide", journey, "--accept", "--by", "dr-ames").stdout
    )
    feed = as_json(journeys(env, "feed", "--by", "sv-gray", "dr-ames", "--json"))
    assert [n["kind"] for n in feed].count("phase_changed") == 1
    # Nothing is open now: the journey says so (it used to name a made-up "<id>.none").
    again = journeys(env, "decide", journey, "--accept", "--by", "dr-ames", ok=False)
    assert again.returncode == 3
    assert again.stderr.strip().splitlines() == [
        "error: rejected (no_active_reassessment): no reassessment is open"
    ]

    # The worker dies mid-journey; a new one picks the journey up where it was.
    worker.kill()
    worker.start()
    journeys(env, "reassess", journey, "--by", "th-chen", "--reason", "withdrawal resolved")
    journeys(
        env, "assess", journey, "--ratings", "d1=0,d2=0,d3=1,d4=2,d5=3,d6=3", "--by", "th-chen"
    )
    journeys(env, "decide", journey, "--phase", "treatment", "--loc", "2.1",
             "--reason", "client works days; IOP keeps the job", "--by", "dr-ames")  # fmt: skip
    listed = as_json(journeys(env, "list", "--by", "sv-gray", "--phase", "treatment", "--json"))
    assert [row["journey_id"] for row in listed] == [journey]
    assert [
        r["journey_id"]
        for r in as_json(journeys(env, "list", "--by", "sv-gray", "--member", "cm-diaz", "--json"))
    ] == [journey]
    assert as_json(journeys(env, "list", "--by", "sv-gray", "--member", "nobody", "--json")) == []

    measured = journeys(env, "measure", journey, "PHQ-9", "--answers", "0,0,0,0,0,0,0,0,1",
                        "--by", "th-chen")  # fmt: skip
    assert "PHQ-9: 1 (minimal); flags: self_harm_risk" in measured.stdout
    tasks = as_json(journeys(env, "show", "--by", "sv-gray", journey, "--json"))["timeline"][
        "tasks"
    ]
    safety = next(t for t in tasks if t["kind"] == "safety_follow_up" and t["status"] == "open")
    assert (
        "task completed"
        in journeys(env, "done", journey, safety["task_id"], "--by", "th-chen").stdout
    )
    bad = journeys(
        env, "measure", journey, "PHQ-9", "--answers", "0,1", "--by", "th-chen", ok=False
    )
    # Wrong answers are an invalid value (exit 1), not a refusal of the journey's state (3).
    assert bad.returncode == 1
    assert "invalid_answers" in bad.stderr
    planned = journeys(env, "plan", journey, "--goal", "g1|2027-06-01|keep working days",
                       "--goal", "g2|2027-01-01|name three triggers", "--achieved", "g2",
                       "--recovery-support", "mutual_help_meetings",
                       "--reason", "initial plan", "--by", "th-chen")  # fmt: skip
    assert "plan version: 1" in planned.stdout
    wrong = journeys(env, "plan", journey, "--goal", "g1|2027-06-01|x", "--achieved", "g9",
                     "--reason", "r", "--by", "th-chen", ok=False)  # fmt: skip
    assert wrong.returncode == 1
    assert "'g9' is not one of the --goal ids" in wrong.stderr
    journeys(env, "sign", journey, "--version", "1", "--signer", "clinician", "--by", "th-chen")
    signed = journeys(
        env, "sign", journey, "--version", "1", "--signer", "client", "--by", "th-chen"
    )
    assert "plan review complete" in signed.stdout
    progress = as_json(journeys(env, "progress", "--by", "sv-gray", journey, "--json"))
    assert progress["plan_signed"] is True
    assert progress["plan_review"]["initial"] is False  # the next review, 90 days at 2.1
    assert [m["kind"] for m in progress["milestones"]] == ["goal_achieved"]
    assert progress["recovery_supports_planned"] == ["mutual_help_meetings"]
    table = journeys(env, "progress", "--by", "sv-gray", journey).stdout
    assert "Milestones" in table
    assert "goal_achieved" in table
    _migrate_policy(env, journey)
    # A note, from the command table alone: on the timeline, for the rest of the team.
    noted = as_json(journeys(env, "note", journey, "--text", "Prefers evening groups",
                             "--by", "cm-diaz", "--json"))  # fmt: skip
    assert noted["message"] == "note added"
    shown = as_json(journeys(env, "show", "--by", "sv-gray", journey, "--json"))
    (note,) = [e for e in shown["timeline"]["events"] if e["kind"] == "note_added"]
    assert (note["seq"], note["summary"]) == (noted["seq"], "Prefers evening groups")
    too_long = journeys(env, "note", journey, "--text", "x" * 501, "--by", "cm-diaz", ok=False)
    assert too_long.returncode == 1
    assert too_long.stderr.count("\n") == 1
    journeys(env, "event", journey, "positive_screen", "--by", "cm-diaz")
    journeys(
        env, "assess", journey, "--ratings", "d1=0,d2=0,d3=0,d4=0,d5=0,d6=0", "--by", "th-chen"
    )
    assert "aftercare" in journeys(env, "decide", journey, "--accept", "--by", "th-chen").stdout

    # Killed again with aftercare timers pending; they fire once a worker is back.
    worker.kill()
    time.sleep(4)
    worker.start()
    journeys(env, "check-in", journey, "--support", "peer_support", "--by", "cm-diaz")
    # The missed check-in's outreach is still open when the schedule ends: completion waits
    # for it (and says so) until it is done.
    held = wait_for(env, journey, lambda s: bool(s["state"]["completion_waiting_on"]), 90)
    waiting = held["state"]["completion_waiting_on"]
    assert held["state"]["phase"] == "aftercare"
    assert "completion waits for" in journeys(env, "show", "--by", "sv-gray", journey).stdout
    for item in waiting:
        journeys(env, "done", journey, item, "--by", "cm-diaz")
    shown = wait_for_phase(env, journey, "completed", seconds=90)
    assert shown["state"]["phase"] == "completed"

    route = [[s["phase"], s["loc_code"]] for s in shown["timeline"]["segments"]]
    assert route == [
        ["intake", None],
        ["withdrawal_management", "3.7-WM"],
        ["treatment", "2.1"],
        ["aftercare", None],
        ["completed", None],
    ]
    kinds = [
        n["kind"] for n in as_json(journeys(env, "feed", "--by", "sv-gray", "cm-diaz", "--json"))
    ]
    assert kinds.count("check_in_missed") == 1
    assert kinds.count("journey_completed") == 1
    assert kinds.count("phase_changed") == 3

    # Every read above left an audit entry naming its reader (--by).
    with sqlite3.connect(Path(env["JOURNEYS_DATA_DIR"]) / "journeys.db") as db:
        reads = set(
            db.execute("SELECT actor, action FROM audit_log WHERE action LIKE 'journeys.%'")
        )
    assert reads == {("sv-gray", f"journeys.{r}") for r in ("show", "progress", "list", "feed")}

    # After the end, every command is refused in one line with a non-zero exit.
    refused = journeys(env, "event", journey, "relapse", "--by", "th-chen", ok=False)
    assert refused.returncode == 3
    assert "journey_closed" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


def test_discharge_with_open_urgent_work_needs_a_disposition_each(stack: dict[str, str]) -> None:
    env = stack
    worker = Worker(env)
    worker.start()
    try:
        # Every command that changes the journey prints what it did with --json.
        journey = as_json(journeys(env, "start", *TEAM, "--by", "ops-1", "--json"))["journey_id"]
        assessed = as_json(journeys(env, "assess", journey, "--ratings",
                                    "d1=0,d2=0,d3=1,d4=2,d5=3,d6=3", "--substance", "alcohol",
                                    "--by", "th-chen", "--json"))  # fmt: skip
        assert assessed["recommendation"]["rationale"]
        decided = as_json(journeys(env, "decide", journey, "--accept", "--by", "dr-ames", "--json"))
        assert decided["phase"] == assessed["recommendation"]["phase"]
        assert decided["loc_code"] == assessed["recommendation"]["loc_code"]
        measured = as_json(journeys(env, "measure", journey, "PHQ-9", "--answers",
                                    "0,0,0,0,0,0,0,0,2", "--by", "th-chen", "--json"))  # fmt: skip
        assert measured["instrument"]["code"] == "PHQ-9"
        assert "self_harm_risk" in measured["instrument"]["flags"]
        evented = as_json(journeys(env, "event", journey, "missed_session", "--by", "th-chen",
                                   "--json"))  # fmt: skip
        assert evented["seq"] > measured["seq"] > decided["seq"] > assessed["seq"]
        reassessed = as_json(journeys(env, "reassess", journey, "--reason", "review",
                                      "--by", "th-chen", "--json"))  # fmt: skip
        assert reassessed["reassessment_id"]
        shown = as_json(journeys(env, "show", "--by", "sv-gray", journey, "--json"))
        (item,) = shown["state"]["urgent_work"]
        refused = journeys(env, "discharge", journey, "--reason", "against_advice",
                           "--by", "th-chen", ok=False)  # fmt: skip
        assert refused.returncode == 3
        assert "open_urgent_work" in refused.stderr
        assert item in refused.stderr
        malformed = journeys(env, "discharge", journey, "--reason", "against_advice",
                             "--close", item, "--by", "th-chen", ok=False)  # fmt: skip
        assert malformed.returncode == 1
        assert "ITEM=VALUE" in malformed.stderr
        journeys(env, "discharge", journey, "--reason", "against_advice",
                 "--hand-over", f"{item}=dr-ames", "--by", "th-chen")  # fmt: skip
        after = as_json(journeys(env, "show", "--by", "sv-gray", journey, "--json"))
        assert after["state"]["phase"] == "discharged"
        task = next(t for t in after["timeline"]["tasks"] if t["task_id"] == item)
        assert (task["status"], task["owner"]) == ("open", "dr-ames")
        journeys(env, "done", journey, item, "--by", "dr-ames")
    finally:
        worker.kill()


def _migrate_policy(env: dict[str, str], journey: str) -> None:
    """Dry run, then apply, a policy migration of the running journey."""
    data = yaml.safe_load(Path(env["JOURNEYS_POLICY_PATH"]).read_text())
    data["version"] = "test-v2"
    newer = Path(env["JOURNEYS_DATA_DIR"]) / "policy-v2.yaml"
    newer.write_text(yaml.safe_dump(data))
    assert "test-v2" in journeys(env, "policy", "check", str(newer)).stdout
    args = ["policy", "migrate", "--to", str(newer), "--journey", journey,
            "--reason", "program update", "--by", "sv-gray"]  # fmt: skip
    dry = as_json(journeys(env, *args, "--json"))
    assert [(p["journey_id"], p["to_version"], p["blocked"]) for p in dry] == [
        (journey, "default@test-v2", None)
    ]
    assert as_json(journeys(env, "show", "--by", "sv-gray", journey, "--json"))["state"][
        "policy_version"
    ].endswith("test-short-aftercare")
    assert "migrated 1 of 1" in journeys(env, *args, "--apply").stdout
    assert as_json(journeys(env, "show", "--by", "sv-gray", journey, "--json"))["state"][
        "policy_version"
    ] == ("default@test-v2")


def test_bad_input_gives_one_line_errors(stack: dict[str, str]) -> None:
    env = stack
    unknown = journeys(env, "show", "--by", "sv-gray", "J-NOSUCH", ok=False)
    assert unknown.returncode == 1
    assert "not found" in unknown.stderr
    bad_role = journeys(env, "start", "--member", "x:wizard:primary", "--by", "ops", ok=False)
    assert bad_role.returncode == 1
    assert "wizard" in bad_role.stderr
    no_primary = journeys(env, "start", "--member", "x:therapist", "--member", "y:supervisor",
                          "--by", "ops", ok=False)  # fmt: skip
    assert no_primary.returncode == 1
    assert "primary" in no_primary.stderr
    out_of_range = journeys(env, "assess", "J-NOSUCH", "--ratings", "d1=9", "--by", "x", ok=False)
    assert out_of_range.returncode == 1
    assert "--ratings" in out_of_range.stderr
    assert "d1: Input should be less than or equal to 4" in out_of_range.stderr
    help_text = journeys(env, "--help").stdout
    for command in ("up", "start", "assess", "decide", "event", "discharge", "show", "list",
                    "feed", "demo", "measure", "done", "api", "check"):  # fmt: skip
        assert command in help_text
        assert journeys(env, command, "--help").returncode == 0


def test_demo_seeds_journeys_across_the_phases(stack: dict[str, str]) -> None:
    env = stack
    worker = Worker(env)
    worker.start()
    try:
        before = len(as_json(journeys(env, "list", "--by", "sv-gray", "--limit", "500", "--json")))
        seeded = journeys(env, "demo", "--journeys", "10")
        assert "seeded 10 journeys" in seeded.stdout
        rows = as_json(journeys(env, "list", "--by", "sv-gray", "--limit", "500", "--json"))
    finally:
        worker.kill()
    assert len(rows) == before + 10
    phases = [r["phase"] for r in rows]
    for phase in ("intake", "withdrawal_management", "treatment", "aftercare", "discharged"):
        assert phases.count(phase) >= 2, phase
