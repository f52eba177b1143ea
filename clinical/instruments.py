"""Score instruments from item answers: totals, bands and critical-item flags are computed."""

import json
from pathlib import Path

import yaml
from pydantic import ValidationError

from clinical.errors import RuleViolation
from models.errors import RejectionCode
from models.instruments import (
    InstrumentDefinition,
    InstrumentRegistry,
    InstrumentResult,
    SexAtBirth,
)

REGISTRY_PATH = Path(__file__).parent / "policies" / "instruments.yaml"


class RegistryError(Exception):
    """An instrument registry file that cannot be read or does not validate."""


def load_registry(path: Path | None = None) -> InstrumentRegistry:
    """Read and validate the instrument registry (the packaged one by default)."""
    source = path or REGISTRY_PATH
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
        return InstrumentRegistry.model_validate_json(json.dumps(raw))
    except (OSError, yaml.YAMLError) as exc:
        raise RegistryError(f"{source}: cannot read registry: {exc}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise RegistryError(f"{source}: {where}: {first['msg']}") from exc


def score(
    registry: InstrumentRegistry,
    code: str,
    answers: list[int],
    sex: SexAtBirth = SexAtBirth.UNKNOWN,
) -> InstrumentResult:
    """Validate the answers (count, range) and compute total, band and flags.

    Where the registry's cut-off depends on sex at birth, ``sex`` picks the bands; unknown
    takes the lower cut-off and the result says so (``cutoff_for``).
    """
    definition = registry.get(code)
    if definition is None:
        known = ", ".join(i.code for i in registry.instruments)
        raise RuleViolation(RejectionCode.UNKNOWN_INSTRUMENT, f"instrument: {code!r} ({known})")
    _check_answers(definition, answers)
    total = sum(_item_score(definition, n, a) for n, a in enumerate(answers, start=1))
    bands, cutoff_for = definition.bands_for(sex)
    band = next(b.label for b in bands if b.min <= total <= b.max)
    flags = [c.flag for c in definition.critical_items if answers[c.item - 1] >= c.at_least]
    return InstrumentResult(
        code=code,
        registry_version=registry.version,
        answers=list(answers),
        total=total,
        band=band,
        flags=flags,
        cutoff_for=cutoff_for,
    )


def _check_answers(definition: InstrumentDefinition, answers: list[int]) -> None:
    items = definition.items
    if len(answers) != items.count:
        raise RuleViolation(
            RejectionCode.INVALID_ANSWERS,
            f"answers: {definition.code} has {items.count} items, got {len(answers)}",
        )
    for number, answer in enumerate(answers, start=1):
        allowed = items.allowed(number)
        if answer not in allowed:
            raise RuleViolation(
                RejectionCode.INVALID_ANSWERS,
                f"answers.{number}: {answer} is not one of {allowed}",
            )


def _item_score(definition: InstrumentDefinition, number: int, answer: int) -> int:
    if number in definition.items.reversed:
        allowed = definition.items.allowed(number)
        return max(allowed) - answer + min(allowed)
    return answer
