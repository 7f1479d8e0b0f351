"""From a file on disk to a checked, normalised table ready for loading.

:func:`prepare_submission` reads a monthly-figures or plan-target file, reads
its numbers (Vietnamese or English convention, never guessed), converts units
to each indicator's canonical unit, adds the catalogue attributes the checks
need, and runs the Great Expectations suite for its kind. Every problem found
is a :class:`Problem` naming file, sheet, row, column, value and rule. Nothing
here touches the warehouse.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from etl import vnnum
from etl.readers import FileReadError, RawTable, read_table
from etl.reference import Reference, fold, load_reference

SubmissionKind = Literal["monthly", "plan"]

MONTHLY_REQUIRED = ("region_code", "indicator_code", "period", "value", "unit", "status")
MONTHLY_OPTIONAL = ("department_code", "note")
PLAN_REQUIRED = ("region_code", "indicator_code", "year", "target_kind", "target_value", "unit")
PLAN_OPTIONAL = ("note",)
NUMBER_COLUMN: dict[SubmissionKind, str] = {"monthly": "value", "plan": "target_value"}

# Vietnamese words for a figure's status, as clerks write them.
_STATUS_WORDS = {
    "estimate": "estimate", "uoc tinh": "estimate", "uoc": "estimate", "e": "estimate",
    "official": "official", "chinh thuc": "official", "thuc hien": "official", "a": "official",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a submission, located as a clerk would look for it."""

    file: str
    sheet: str | None
    row: int | None
    column: str | None
    value: str | None
    rule: str
    message: str
    severity: str = "error"

    def describe(self) -> str:
        where = [self.file]
        if self.sheet:
            where.append(f"sheet {self.sheet!r}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column!r}")
        shown = f" (value {self.value!r})" if self.value not in (None, "") else ""
        return f"{', '.join(where)}: {self.message}{shown} [{self.rule}]"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class PreparedSubmission:
    path: Path
    sha256: str
    kind: SubmissionKind | None
    sheet: str | None
    number_convention: str | None
    frame: pd.DataFrame | None
    rows_in_file: int
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def accepted(self) -> bool:
        return not self.errors


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def detect_kind(columns: list[str]) -> SubmissionKind | None:
    names = set(columns)
    if "target_kind" in names or "target_value" in names:
        return "plan"
    if "period" in names or "value" in names:
        return "monthly"
    return None


def prepare_submission(
    path: Path,
    *,
    number_format: vnnum.Convention | None = None,
    today: dt.date | None = None,
    reference: Reference | None = None,
) -> PreparedSubmission:
    """Read, normalise and validate one submission file. Never raises for bad content."""
    from etl.validation import run_suite  # GX is slow to import; only pay when validating

    reference = reference or load_reference()
    today = today or dt.date.today()
    path = Path(path)
    prepared = PreparedSubmission(path, file_sha256(path), None, None, None, None, 0)
    file_name = path.name

    def problem(row, column, value, rule, message, sheet=None):
        prepared.problems.append(
            Problem(file_name, sheet if sheet is not None else prepared.sheet, row, column,
                    None if value is None else str(value), rule, message)
        )

    try:
        raw = read_table(path)
    except FileReadError as exc:
        problem(exc.row, None, None, "file_readable", str(exc), sheet=exc.sheet)
        return prepared
    prepared.sheet = raw.sheet
    prepared.rows_in_file = len(raw.frame)
    columns = [c for c in raw.frame.columns if c != "source_row"]
    kind = detect_kind(columns)
    if kind is None:
        problem(raw.header_row, None, ", ".join(columns), "submission_kind",
                "cannot tell the kind of file: a monthly file has a 'period' column, "
                "a plan file 'target_kind'")
        return prepared
    prepared.kind = kind
    structure = run_suite(f"{kind}_structure", pd.DataFrame(columns=columns), {}, file_name, raw.sheet,
                          header_row=raw.header_row)
    prepared.problems += structure
    if structure:
        return prepared
    if len(raw.frame) == 0:
        problem(raw.header_row, None, None, "not_empty", "the file has a header but no data rows")
        return prepared

    convention = _settle_convention(raw, kind, number_format, problem)
    prepared.number_convention = convention
    frame = _normalise(raw, kind, convention, reference, today, problem)
    prepared.frame = frame
    parameters = _suite_parameters(reference, today)
    prepared.problems += run_suite(kind, frame, parameters, file_name, raw.sheet)
    prepared.problems = _dedupe(prepared.problems)
    return prepared


def _dedupe(problems: list[Problem]) -> list[Problem]:
    """One problem per cell and rule family: the first (most specific) wins."""
    seen: set[tuple] = set()
    kept = []
    for p in problems:
        key = (p.sheet, p.row, p.column) if p.row is not None and p.column else (p.rule, p.row, p.column)
        if key in seen:
            continue
        seen.add(key)
        kept.append(p)
    return sorted(kept, key=lambda p: (p.row if p.row is not None else -1, p.column or "", p.rule))


# --------------------------------------------------------------------------- numbers


def _settle_convention(raw: RawTable, kind: SubmissionKind, declared: str | None, problem) -> str | None:
    """The file's number convention: as declared (argument or ``# number_format:`` line), or detected."""
    declared = declared or raw.directives.get("number_format")
    if declared:
        choice = {"vi": "vi", "vn": "vi", "vietnamese": "vi", "en": "en", "english": "en"}.get(fold(declared))
        if choice is None:
            problem(None, None, declared, "number_format_declared",
                    "number_format must be 'vi' (1.302,9) or 'en' (1,302.9)")
        return choice
    column = NUMBER_COLUMN[kind]
    texts = raw.frame[column]
    is_text = texts.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    if not is_text.any():
        return "vi"  # every number is a spreadsheet number: no convention involved
    strings = pa.array(texts[is_text].astype(str).tolist() if raw.sheet else texts[is_text].array)
    readings = vnnum.array_readings(strings)
    detection = vnnum.detect_convention(readings)
    rows = raw.frame["source_row"].to_numpy()[is_text]
    if detection.convention is not None:
        return detection.convention
    if detection.is_mixed:
        minority = min(vnnum.CONVENTIONS, key=lambda c: len(detection.only_rows[c]))
        for i in detection.only_rows[minority][:20]:
            problem(int(rows[i]), column, strings[i].as_py(), "number_format_consistent",
                    "numbers in this file are written both the Vietnamese way (1.302,9) and the "
                    f"English way (1,302.9); this one is written the {vnnum._NAMES[minority]} way")
        return None
    for i in detection.ambiguous_rows[:20]:
        vi, en = readings.value["vi"][i], readings.value["en"][i]
        problem(int(rows[i]), column, strings[i].as_py(), "number_format_unambiguous",
                f"reads as {vi:g} the Vietnamese way and {en:g} the English way, and nothing in the "
                "file settles which; add a first line '# number_format: vi' (or en)")
    return None


def _parse_numbers(raw: RawTable, column: str, convention: str | None, problem) -> np.ndarray:
    cells = raw.frame[column]
    is_text = cells.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    values = np.full(len(cells), np.nan)
    if (~is_text).any():  # spreadsheet numbers
        values[~is_text] = cells[~is_text].astype("float64").to_numpy()
    if is_text.any() and convention is not None:
        strings = pa.array(cells[is_text].astype(str).tolist() if raw.sheet else cells[is_text].array)
        parsed, unreadable = vnnum.parse_number_array(strings, convention)
        values[is_text] = parsed
        rows = raw.frame["source_row"].to_numpy()[is_text]
        for i in np.flatnonzero(unreadable):
            problem(int(rows[i]), column, strings[i].as_py(), "number_readable",
                    f"not a number written the {vnnum._NAMES[convention]} way")
    return values


# --------------------------------------------------------------------------- normalising


def _text(raw: RawTable, column: str) -> pd.Series:
    if column not in raw.frame:
        return pd.Series([""] * len(raw.frame), dtype=object)
    series = raw.frame[column]
    if raw.sheet is not None:  # spreadsheet cells: numbers that are codes (74, 2021.0) become text
        series = series.map(lambda v: str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
    return series.astype(str).str.strip().astype(object)


def _normalise(raw, kind, convention, reference: Reference, today, problem) -> pd.DataFrame:
    frame = pd.DataFrame({"source_row": raw.frame["source_row"].to_numpy(dtype="int64")})
    region = _text(raw, "region_code")
    # Excel drops the leading zero of codes like 01; GSO province codes have two digits.
    frame["region_code"] = region.where(~region.str.fullmatch(r"\d"), "0" + region)
    frame["indicator_code"] = _text(raw, "indicator_code").str.upper()
    unit_written = _text(raw, "unit")
    frame["unit_reported"] = unit_written
    folded_units = {u: reference.canonical_unit(u) for u in unit_written.unique()}
    frame["unit"] = unit_written.map(folded_units).astype(object)
    number_column = NUMBER_COLUMN[kind]
    # the cell as written, for problem reports
    frame[f"{number_column}_text"] = raw.frame[number_column].map(lambda v: "" if v is None else str(v)).to_numpy()
    frame[f"{number_column}_reported"] = _parse_numbers(raw, number_column, convention, problem)
    catalogue = reference.indicators
    frame["indicator_kind"] = frame["indicator_code"].map(catalogue["kind"]).fillna("unknown")
    frame["canonical_unit"] = frame["indicator_code"].map(catalogue["canonical_unit"]).fillna("")
    frame["indicator_can_be_negative"] = (
        frame["indicator_code"].map(catalogue["can_be_negative"]).fillna("false").str.lower()
    )
    if kind == "monthly":
        _normalise_monthly(raw, frame, reference)
    else:
        _normalise_plan(raw, frame, reference)
    frame["indicator_unit"] = frame["indicator_code"] + "|" + frame["unit"].fillna("?")
    factor = _conversion_factors(frame, reference)
    frame[number_column] = frame[f"{number_column}_reported"] * factor
    if kind == "plan":  # growth targets are percentages whatever the indicator's unit
        growth = frame["target_kind"] == "growth_pct"
        frame.loc[growth, "target_value"] = frame.loc[growth, "target_value_reported"]
    return frame


def _normalise_monthly(raw: RawTable, frame: pd.DataFrame, reference: Reference) -> None:
    period = _text(raw, "period")
    frame["period"] = period
    parsed = pd.to_datetime(period.where(period.str.fullmatch(r"\d{4}-\d{2}"), None), format="%Y-%m", errors="coerce")
    frame["month_key"] = (parsed.dt.year * 100 + parsed.dt.month).astype("Int64")
    frame["period_start"] = parsed.dt.date
    status = _text(raw, "status")
    frame["status_reported"] = status
    frame["status"] = status.map(lambda s: _STATUS_WORDS.get(fold(s), s)).astype(object)
    frame["department_code"] = _text(raw, "department_code")
    frame["note"] = _text(raw, "note")
    frame["region_in_force"] = _region_in_force(frame, reference)


def _normalise_plan(raw: RawTable, frame: pd.DataFrame, reference: Reference) -> None:
    year = _text(raw, "year")
    frame["year_reported"] = year
    frame["year"] = pd.to_numeric(year.where(year.str.fullmatch(r"\d{4}"), None), errors="coerce").astype("Int64")
    frame["target_kind"] = _text(raw, "target_kind").str.lower()
    frame["note"] = _text(raw, "note")
    # A plan names the unit in force on 1 January of its year.
    frame["year_start"] = [dt.date(int(y), 1, 1) if pd.notna(y) else None for y in frame["year"]]
    frame["period_start"] = frame["year_start"]
    frame["region_in_force"] = _region_in_force(frame, reference)


def _region_in_force(frame: pd.DataFrame, reference: Reference) -> pd.Series:
    """True where the region code names a unit in force in the row's month."""
    pairs = frame[["region_code", "period_start"]].dropna().drop_duplicates()
    merged = pairs.merge(reference.regions, on="region_code")
    valid_to = merged["valid_to"].map(lambda d: d or dt.date.max)
    ok = merged[(merged["valid_from"] <= merged["period_start"]) & (merged["period_start"] <= valid_to)]
    good = set(zip(ok["region_code"], ok["period_start"]))
    known = set(reference.regions["region_code"])
    # Unknown codes and unreadable periods are reported by their own checks, not this one.
    return pd.Series(
        [
            (code, start) in good or code not in known or start is None or pd.isna(start)
            for code, start in zip(frame["region_code"], frame["period_start"])
        ],
        index=frame.index,
        dtype=bool,
    )


def _conversion_factors(frame: pd.DataFrame, reference: Reference) -> np.ndarray:
    factors = {}
    for code, unit in frame[["indicator_code", "unit"]].drop_duplicates().itertuples(index=False):
        ok = code in reference.indicators.index and unit in reference.units
        same_dimension = ok and (
            reference.units[unit].dimension
            == reference.units[reference.indicators.at[code, "canonical_unit"]].dimension
        )
        factors[(code, unit)] = reference.conversion_factor(unit, code) if same_dimension else np.nan
    keys = list(zip(frame["indicator_code"], frame["unit"]))
    return np.array([factors[k] for k in keys], dtype="float64")


def _suite_parameters(reference: Reference, today: dt.date) -> dict:
    return {
        "known_region_codes": sorted(set(reference.regions["region_code"])),
        "known_indicator_codes": sorted(reference.indicators.index),
        # "CODE|unit" keys: GX 1.24's column-pair expectation ignores row_condition on pandas
        "allowed_indicator_units": [f"{code}|{unit}" for code, unit in reference.allowed_units()],
        "latest_month_key": today.year * 100 + today.month,
        "latest_plan_year": today.year + 5,
    }
