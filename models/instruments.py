"""Instrument definitions (versioned data) and scored results."""

from pydantic import Field, PositiveInt, model_validator

from models.base import FrozenModel, ShortText, StrictModel


class ItemScale(FrozenModel):
    """The allowed answers of an instrument's items (1-based item numbers)."""

    count: PositiveInt
    values: list[int] = Field(min_length=2)
    values_by_item: dict[str, list[int]] = Field(default_factory=dict)
    reversed: list[PositiveInt] = Field(default_factory=list)

    def allowed(self, item: int) -> list[int]:
        """Allowed answers of item ``item``."""
        return self.values_by_item.get(str(item), self.values)

    def max_total(self) -> int:
        """Highest possible total."""
        return sum(max(self.allowed(i)) for i in range(1, self.count + 1))


class Band(FrozenModel):
    """An inclusive score range with a label."""

    min: int = Field(ge=0)
    max: int = Field(ge=0)
    label: ShortText


class CriticalItem(FrozenModel):
    """An item whose answer alone raises a flag (e.g. PHQ-9 item 9 above 0)."""

    item: PositiveInt
    at_least: int = Field(ge=0)
    flag: ShortText


class InstrumentDefinition(FrozenModel):
    """One instrument: items, bands covering every possible total, critical items."""

    code: ShortText
    name: ShortText
    loinc: str | None = None
    items: ItemScale
    bands: list[Band] = Field(min_length=1)
    critical_items: list[CriticalItem] = Field(default_factory=list)

    @model_validator(mode="after")
    def _bands_cover_every_total(self) -> "InstrumentDefinition":
        expected = 0
        for band in self.bands:
            if band.min != expected or band.max < band.min:
                raise ValueError(f"bands: {self.code} bands must run contiguously from 0")
            expected = band.max + 1
        if expected - 1 != self.items.max_total():
            raise ValueError(
                f"bands: {self.code} bands end at {expected - 1}, "
                f"the highest total is {self.items.max_total()}"
            )
        for critical in self.critical_items:
            if critical.item > self.items.count:
                raise ValueError(f"critical_items: {self.code} has no item {critical.item}")
        return self


class InstrumentRegistry(FrozenModel):
    """All instrument definitions of one version."""

    version: str
    instruments: list[InstrumentDefinition] = Field(min_length=1)

    def get(self, code: str) -> InstrumentDefinition | None:
        """The definition of ``code``, if registered."""
        return next((i for i in self.instruments if i.code == code), None)


class InstrumentResult(StrictModel):
    """A scored administration: computed, never typed in."""

    code: str
    registry_version: str
    answers: list[int]
    total: int
    band: str
    flags: list[str]
