"""Load and validate policy files."""

import json
from pathlib import Path

import yaml
from pydantic import ValidationError

from clinical.instruments import REGISTRY_PATH
from clinical.placement import unsourced_rules
from clinical.policy_safety import unguarded_critical_items
from models.policy import Policy

DEFAULT_POLICY_PATH = Path(__file__).parent / "policies" / "default.yaml"


class PolicyError(Exception):
    """A policy file that cannot be read or does not validate."""


def load_policy(path: Path | None = None) -> Policy:
    """Read a policy file (the packaged default when ``path`` is None) and validate it.

    Raises:
        PolicyError: naming the file and the first invalid field.
    """
    source = path or DEFAULT_POLICY_PATH
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError(f"{source}: cannot read policy: {exc}") from exc
    if isinstance(raw, dict) and "instruments" not in raw:
        # Policies carry their instrument registry, so every journey keeps the version it used.
        raw["instruments"] = yaml.safe_load(REGISTRY_PATH.read_text(encoding="utf-8"))
    try:
        # The file is YAML, so validate in JSON mode: strings become enums and dates.
        policy = Policy.model_validate_json(json.dumps(raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "policy"
        raise PolicyError(f"{source}: {where}: {first['msg']}") from exc
    problems = file_problems(policy)
    if problems:
        raise PolicyError(f"{source}: {problems[0]}")
    return policy


def file_problems(policy: Policy) -> list[str]:
    """What a policy file must have beyond what the model checks.

    A policy stored in a running journey is read with the model alone, so it keeps loading
    when these rules grow; a file is refused until it meets them.
    """
    return [*policy.missing_rules(), *unguarded_critical_items(policy), *unsourced_rules(policy)]
