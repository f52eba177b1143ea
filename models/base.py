"""Base model configuration shared by every contract."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

# Identifiers are opaque tokens: short, no spaces, never a name or a date of birth.
OpaqueId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
]
# Journey ids stay short so derived ids (reassessments, tasks) remain opaque ids too.
JourneyId = Annotated[
    str, StringConstraints(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
]
LocCode = Annotated[
    str, StringConstraints(min_length=1, max_length=16, pattern=r"^[0-9A-Za-z.-]+$")
]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]


class StrictModel(BaseModel):
    """Strict, closed model: unknown fields and loose type coercion are rejected."""

    model_config = ConfigDict(strict=True, extra="forbid", validate_assignment=True)


class FrozenModel(StrictModel):
    """A strict model that cannot change once built (policies: workers share one copy)."""

    model_config = ConfigDict(frozen=True)
