"""Instrument definitions (versioned data) and scored results."""

from enum import StrEnum

from pydantic import Field, PositiveInt, model_validator

from models.base import FrozenModel, ShortText, StrictModel


class SexAtBirth(StrEnum):
    """Sex at birth as recorded at intake, where known: some screening cut-offs depend on it.

    Clinical data: it lives in the encrypted journey state, never in ids, search attributes,
    logs or outbound messages.
    """

    FEMALE = "female"
    MALE = "male"
    UNKNOWN = "unknown"


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
    # Where a cut-off depends on sex at birth (AUDIT-C), the bands for each; ``bands`` then
    # apply when it is unknown and must be the most sensitive: no total in a milder band than
    # either sex would put it (the lower cut-off).
    bands_by_sex: dict[SexAtBirth, list[Band]] = Field(default_factory=dict)
    critical_items: list[CriticalItem] = Field(default_factory=list)

    @model_validator(mode="after")
    def _bands_cover_every_total(self) -> "InstrumentDefinition":
        self._check_cover("bands", self.bands)
        if SexAtBirth.UNKNOWN in self.bands_by_sex:
            raise ValueError(f"bands_by_sex: {self.code}: unknown sex uses bands")
        labels = [b.label for b in self.bands]
        for sex, bands in self.bands_by_sex.items():
            where = f"bands_by_sex.{sex}"
            self._check_cover(where, bands)
            if [b.label for b in bands] != labels:
                raise ValueError(f"{where}: {self.code} must have the labels of bands, in order")
            for total in range(self.items.max_total() + 1):
                if _band_index(self.bands, total) < _band_index(bands, total):
                    raise ValueError(
                        f"bands: {self.code} puts {total} in a milder band than for {sex}; "
                        "unknown sex at birth must use the lower cut-off"
                    )
        for critical in self.critical_items:
            if critical.item > self.items.count:
                raise ValueError(f"critical_items: {self.code} has no item {critical.item}")
        return self

    def _check_cover(self, where: str, bands: list[Band]) -> None:
        expected = 0
        for band in bands:
            if band.min != expected or band.max < band.min:
                raise ValueError(f"{where}: {self.code} bands must run contiguously from 0")
            expected = band.max + 1
        if expected - 1 != self.items.max_total():
            raise ValueError(
                f"{where}: {self.code} bands end at {expected - 1}, "
                f"the highest total is {self.items.max_total()}"
            )

    def bands_for(self, sex: SexAtBirth) -> tuple[list[Band], SexAtBirth | None]:
        """The bands that apply, and whose cut-off they are (None: the same for everyone)."""
        if not self.bands_by_sex:
            return self.bands, None
        if sex in self.bands_by_sex:
            return self.bands_by_sex[sex], sex
        return self.bands, SexAtBirth.UNKNOWN


def _band_index(bands: list[Band], total: int) -> int:
    return next(n for n, b in enumerate(bands) if b.min <= total <= b.max)


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
    # Whose cut-off the band follows where it depends on sex at birth (AUDIT-C): female, male,
    # or unknown (the lower cut-off, so no positive screen is missed); None elsewhere.
    cutoff_for: SexAtBirth | None = None
