"""Replay a saved, encrypted history: the workflow code must stay deterministic."""

import json
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.conftest import encrypted_converter
from workflows.journey import ClientJourneyWorkflow

HISTORIES = Path(__file__).parents[1] / "histories"


async def test_saved_histories_replay_without_nondeterminism() -> None:
    files = sorted(HISTORIES.glob("*.json"))
    assert files, "no saved histories"
    replayer = Replayer(workflows=[ClientJourneyWorkflow], data_converter=encrypted_converter())
    for path in files:
        history = WorkflowHistory.from_json(path.stem, path.read_text())
        result = await replayer.replay_workflow(history)
        assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"


def test_saved_histories_hold_no_plaintext_clinical_data() -> None:
    for path in sorted(HISTORIES.glob("*.json")):
        text = path.read_text()
        json.loads(text)
        # Phase and LOC code are search attributes by design; clinical payloads are not.
        for needle in ("th-chen", "comprehensive", "Acute intoxication", "driven by", "crisis"):
            assert needle not in text, f"{path.name} holds plaintext {needle!r}"
