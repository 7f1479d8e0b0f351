"""Reference data: the indicator catalogue, units and regions, read from ``etl/reference/``.

These CSV files are the one source of truth. The parser uses them to check and
convert submissions before anything touches the warehouse, and
:mod:`etl.warehouse` loads the same files into ``dim_indicator``, ``dim_unit``,
``dim_region`` and ``brg_region_crosswalk``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import pandas as pd

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
OPEN_END = date(9999, 12, 31)


def fold(text: str) -> str:
    """Case- and diacritics-insensitive key: ``'Tỷ  Đồng'`` → ``'ty dong'``."""
    text = unicodedata.normalize("NFD", str(text).replace("đ", "d").replace("Đ", "D"))
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    return " ".join(text.casefold().split())


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(REFERENCE_DIR / name, dtype=str, keep_default_na=False)


@dataclass(frozen=True)
class Unit:
    unit: str
    dimension: str
    factor: float


@dataclass(frozen=True)
class Reference:
    indicators: pd.DataFrame  # indexed by indicator_code
    units: dict[str, Unit]  # canonical unit spelling -> Unit
    unit_aliases: dict[str, str]  # folded spelling or alias -> canonical unit spelling
    regions: pd.DataFrame
    crosswalk: pd.DataFrame
    region_name_aliases: dict[str, str]  # another name a report writes for a unit -> its name_vi

    def regions_in_force(self, day: date) -> pd.DataFrame:
        """The rows of ``regions`` naming a unit in force on ``day`` (``valid_to`` None: still in force)."""
        regions = self.regions
        return regions[(regions["valid_from"] <= day) & regions["valid_to"].map(lambda d: d is None or day <= d)]

    def canonical_unit(self, written: str) -> str | None:
        """The canonical spelling of a unit as written, or None if unknown."""
        return self.unit_aliases.get(fold(written))

    def allowed_units(self) -> list[tuple[str, str]]:
        """(indicator_code, unit) pairs a submission may use: any unit of the canonical one's dimension."""
        pairs = []
        for code, row in self.indicators.iterrows():
            dimension = self.units[row["canonical_unit"]].dimension
            pairs += [(code, u.unit) for u in self.units.values() if u.dimension == dimension]
        return pairs

    def conversion_factor(self, unit: str, indicator_code: str) -> float:
        """Multiplier taking a value in ``unit`` to the indicator's canonical unit."""
        canonical = self.units[self.indicators.at[indicator_code, "canonical_unit"]]
        return self.units[unit].factor / canonical.factor


@lru_cache(maxsize=1)
def load_reference() -> Reference:
    indicators = _read("indicators.csv").set_index("indicator_code", drop=False)
    if "can_be_negative" not in indicators:
        indicators["can_be_negative"] = "false"
    units_frame = _read("units.csv")
    units = {
        r.unit: Unit(unit=r.unit, dimension=r.dimension, factor=float(r.factor))
        for r in units_frame.itertuples()
    }
    aliases: dict[str, str] = {}
    for r in units_frame.itertuples():
        for spelling in [r.unit, *[a for a in r.aliases.split("|") if a.strip()]]:
            key = fold(spelling)
            if aliases.setdefault(key, r.unit) != r.unit:
                raise ValueError(f"units.csv: {spelling!r} names both {aliases[key]!r} and {r.unit!r}")
    regions = _read("regions.csv")
    regions["valid_from"] = pd.to_datetime(regions["valid_from"]).dt.date
    regions["valid_to"] = [date.fromisoformat(v) if v else None for v in regions["valid_to"]]
    crosswalk = _read("region_crosswalk.csv")
    crosswalk["effective_date"] = pd.to_datetime(crosswalk["effective_date"]).dt.date
    region_name_aliases = dict(zip(*_read("region_name_aliases.csv")[["alias", "name_vi"]].T.to_numpy()))
    unknown = sorted(set(region_name_aliases.values()) - set(regions["name_vi"]))
    if unknown:
        raise ValueError(f"region_name_aliases.csv: {unknown} is not a name_vi of regions.csv")
    return Reference(indicators, units, aliases, regions, crosswalk, region_name_aliases)
