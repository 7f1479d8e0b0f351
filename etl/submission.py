"""From a file on disk to a checked, normalised table ready for loading.

:func:`prepare_submission` reads a monthly-figures or plan-target file, reads
its numbers (Vietnamese or English convention, never guessed), converts units
to each indicator's canonical unit, adds the catalogue attributes the checks
need, and runs the Great Expectations suite for its kind. Every problem found
is a :class:`Problem` naming file, sheet, row, column, value and rule. Nothing
here touches the warehouse.
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from etl import vnnum
from etl.readers import (CellOrigins, FileReadError, Place, RawTable, SeveralTablesError, read_table,
                         repeated_header_rows)
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


#: the suite name under which the checks made while reading a file are recorded
READING_SUITE = "reading"


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check (a suite's rule) on one file, passed or failed; stored with
    the batch in ``dw.audit_check_result`` so data quality can be followed over time."""

    suite: str
    rule: str
    severity: str                        # what a failure means: 'error' | 'warning' | 'info'
    success: bool
    element_count: int | None = None     # rows, header cells or figures checked
    unexpected_count: int | None = None  # how many of them failed


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
    #: a report-layout file's own comparison figures, checked by etl.cross_checks after loading
    reported: object | None = None
    #: every check run on the file, passed or failed (reading, suites, then those run while loading)
    check_results: list[CheckResult] = field(default_factory=list)
    #: where the long-format cells were written, for a file in another layout (the report layout)
    origins: CellOrigins | None = None
    #: how the caller asked for the file to be read (:func:`reading_options`); None: as the file says
    reading_options: str | None = None
    #: the figures' cells as written by (source row, indicator code), made on first use by written()
    _written: pd.Series | None = field(default=None, init=False, repr=False)

    def place(self, row: int | None, column: str | None, indicator: str | None = None) -> Place:
        """(row, column) to name in a problem about long-format ``column`` of the figure of
        ``indicator`` at source ``row``: the sheet's own row and header (or label) where the
        file is in another layout, else as given."""
        return (row, column) if self.origins is None else self.origins.place(row, column, indicator)

    def written(self, row: int, indicator: str) -> str | None:
        """The number cell of the figure of ``indicator`` at source ``row`` as the clerk wrote it
        (``value_text``), or None if the file has no such figure. Looked up by an index made
        once: checks after loading ask for one cell per finding, of files up to millions of rows."""
        if self.frame is None or "value_text" not in self.frame:
            return None
        if self._written is None:
            keys = pd.MultiIndex.from_arrays([self.frame["source_row"].to_numpy(),
                                              np.asarray(self.frame["indicator_code"], dtype=object)])
            self._written = pd.Series(np.asarray(self.frame["value_text"], dtype=object), index=keys)
        found = self._written.get((row, indicator))
        if isinstance(found, pd.Series):  # the same figure twice in the file (rejected anyway)
            found = found.iloc[0]
        return None if found is None or pd.isna(found) else str(found)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def accepted(self) -> bool:
        return not self.errors


def reading_options(number_format: str | None, encoding: str | None) -> str | None:
    """How the caller asked for a file to be read, as recorded with its batch
    (``number_format=vi; encoding=cp1252``), or None when it left both to the file. Spellings
    of one encoding are one option (``CP1252``, ``windows-1252``: ``cp1252``), so the same
    bytes read the same way are recognised as read before."""
    options = []
    if number_format:
        options.append(f"number_format={number_format.strip().lower()}")
    if encoding:
        try:
            name = codecs.lookup(encoding.strip()).name
        except LookupError:  # refused by the reader; recorded as given
            name = encoding.strip().lower()
        options.append(f"encoding={name}")
    return "; ".join(options) or None


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
    encoding: str | None = None,
    sha256: str | None = None,
    while_validating: Callable[[PreparedSubmission], object] | None = None,
) -> PreparedSubmission:
    """Read, normalise and validate one submission file. Never raises for bad content.

    ``encoding``: of a CSV that is neither UTF-8 nor marked (see :mod:`etl.readers`).
    ``sha256``: the file's checksum when the caller has already computed it.
    ``while_validating``: called with the normalised submission just before the
    whole-frame validation, only while no error has been found, so the caller can start
    work that needs the rows (the ingest starts the staging COPY) alongside Great
    Expectations. The submission may still be rejected after it."""
    from etl.validation import run_suite  # GX is slow to import; only pay when validating

    reference = reference or load_reference()
    today = today or dt.date.today()
    path = Path(path)
    prepared = PreparedSubmission(path, sha256 or file_sha256(path), None, None, None, None, 0,
                                  reading_options=reading_options(number_format, encoding))
    file_name = path.name

    def problem(row, column, value, rule, message, sheet=None, indicator=None, placed=False, severity="error"):
        """Record a problem; one about a long-format column is placed where the clerk wrote the
        cell (``placed``: already named as in the sheet, e.g. by the report-layout reader)."""
        if not placed:
            row, column = prepared.place(row, column, indicator)
            if prepared.origins is not None:
                value = prepared.origins.written((row, column), value)
        prepared.problems.append(
            Problem(file_name, sheet if sheet is not None else prepared.sheet, row, column,
                    None if value is None else str(value), rule, message, severity)
        )

    def checked(rule, failures, elements=None, severity="error"):
        prepared.check_results.append(
            CheckResult(READING_SUITE, rule, severity, failures == 0, elements, failures))

    try:
        raw = read_table(path, encoding=encoding)
    except FileReadError as exc:  # unreadable, or (rule one_sheet_of_figures) figures on several sheets
        problem(exc.row, exc.column, None, exc.rule, str(exc), sheet=exc.sheet)
        checked(exc.rule, 1)
        return prepared
    checked("file_readable", 0, len(raw.frame))
    if raw.sheets_in_file is not None:  # a workbook: its figures are on one sheet
        checked(SeveralTablesError.rule, 0, raw.sheets_in_file)
    prepared.sheet = raw.sheet
    if raw.sheet is None:  # a CSV: UTF-8, or its encoding stated (BOM, directive, --encoding)
        if raw.encoding_note:
            prepared.problems.append(Problem(file_name, None, None, None, None, "encoding_utf8_or_declared",
                                             raw.encoding_note, "warning"))
        checked("encoding_utf8_or_declared", int(bool(raw.encoding_note)), severity="warning")
    prepared.rows_in_file = len(raw.frame)
    prepared.reported = raw.reported
    prepared.origins = raw.origins
    for row, column, value, rule, message, *severity in raw.problems:  # found by the reader (report layout)
        problem(row, column, value, rule, message, placed=True, severity=severity[0] if severity else "error")
    columns = [c for c in raw.frame.columns if c != "source_row"]
    kind = detect_kind(columns)
    checked("submission_kind", int(kind is None), len(columns))
    if kind is None:
        problem(raw.header_row, None, ", ".join(columns), "submission_kind",
                "cannot tell the kind of file: a monthly file has a 'period' column, "
                "a plan file 'target_kind'")
        return prepared
    prepared.kind = kind
    structure = run_suite(f"{kind}_structure", pd.DataFrame(columns=columns), {}, file_name, raw.sheet,
                          header_row=raw.header_row, outcomes=prepared.check_results)
    prepared.problems += structure
    if structure:
        return prepared
    checked("not_empty", int(len(raw.frame) == 0), len(raw.frame))
    if len(raw.frame) == 0:
        problem(raw.header_row, None, None, "not_empty", "the file has a header but no data rows")
        return prepared
    repeated = repeated_header_rows(raw)
    checked("header_not_repeated", len(repeated), len(raw.frame))
    if repeated:  # reported, and left out of the other checks (which it would fail)
        for row in repeated[:20]:
            problem(row, None, None, "header_not_repeated",
                    f"this row repeats the header row (row {raw.header_row}): a table pasted twice, or a header "
                    "repeated on every printed page? Delete the row")
        raw.frame = raw.frame[~raw.frame["source_row"].isin(repeated)].reset_index(drop=True)

    numbers = _NumberCells(raw, NUMBER_COLUMN[kind])
    convention = _settle_convention(raw, kind, number_format, problem, numbers)
    prepared.number_convention = convention
    frame = _normalise(raw, kind, convention, reference, today, problem, numbers)
    prepared.frame = frame
    rules_broken = [p.rule for p in prepared.problems if p.severity == "error"]  # a warning breaks no rule
    declared = number_format or raw.directives.get("number_format")
    for rule in ("number_format_declared",) if declared else ("number_format_consistent", "number_format_unambiguous"):
        checked(rule, rules_broken.count(rule), len(frame))
    checked("number_readable", rules_broken.count("number_readable"), len(frame))
    if kind == "monthly":  # GX says "write YYYY-MM"; a period written the Vietnamese way gets its own words
        for row, written, period in _periods_written_otherwise(frame):
            problem(row, "period", written, "period_format", f"write this period as {period} (YYYY-MM)")
    parameters = _suite_parameters(reference, today)
    if while_validating is not None and prepared.accepted:
        while_validating(prepared)
    prepared.problems += run_suite(kind, frame, parameters, file_name, raw.sheet, outcomes=prepared.check_results,
                                   origins=raw.origins)
    prepared.problems = _dedupe(prepared.problems)
    return prepared


_VIETNAMESE_PERIOD = re.compile(r"(?:thang|t)?\s*(\d{1,2})\s*(?:[/.\-]|nam)\s*(\d{4})")  # folded: Tháng 12/2021
_YEAR_FIRST_PERIOD = re.compile(r"(\d{4})\s*[/.]\s*(\d{1,2})")                          # 2021/12
_YYYY_MM = re.compile(r"\d{4}-\d{2}")


def _periods_written_otherwise(frame: pd.DataFrame) -> list[tuple[int, str, str]]:
    """(row, period as written, the same as YYYY-MM) for periods written as ``Tháng 12/2021``,
    ``T12/2021``, ``12/2021`` or ``2021/12``: rejected like any other period not written
    YYYY-MM, with the exact replacement in the message. Looks at each distinct period once."""
    periods = frame["period"]
    rewritten = {}
    for written in pd.unique(periods):
        if _YYYY_MM.fullmatch(str(written)):
            continue
        folded = fold(written)
        m = _VIETNAMESE_PERIOD.fullmatch(folded)
        month, year = (int(m[1]), m[2]) if m else (None, None)
        if m is None and (m := _YEAR_FIRST_PERIOD.fullmatch(folded)):
            month, year = int(m[2]), m[1]
        if month and 1 <= month <= 12:
            rewritten[written] = f"{year}-{month:02d}"
    if not rewritten:
        return []
    chosen = periods.isin(list(rewritten)).to_numpy(dtype=bool)
    return [(int(row), str(written), rewritten[written])
            for row, written in zip(frame["source_row"].to_numpy()[chosen], periods.to_numpy()[chosen])]


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


class _NumberCells:
    """The number column's text cells as one pyarrow array, and their readings under both
    conventions once computed: detecting the convention and parsing share them."""

    def __init__(self, raw: RawTable, column: str):
        cells = raw.frame[column]
        self.column = column
        self.is_text = _is_text(cells)
        if not self.is_text.any():
            self.strings = pa.array([], pa.string())
        elif raw.sheet:
            self.strings = pa.array(cells[self.is_text].astype(str).tolist())
        else:
            self.strings = pa.array((cells if self.is_text.all() else cells[self.is_text]).array)
        #: the cells as written, quoted in problems; ``strings`` is read without a percent sign
        #: written after the number, and ``percent`` says which had one (it fits a figure in %)
        self.written = self.strings
        self.strings, self.percent = vnnum.split_percent_sign(self.written)
        self.rows = raw.frame["source_row"].to_numpy()[self.is_text]
        self.readings: vnnum.ArrayReadings | None = None
        self._indicators = raw.frame["indicator_code"] if "indicator_code" in raw.frame else None
        self._positions: np.ndarray | None = None

    def indicator(self, i: int) -> str | None:
        """The indicator code written for the ``i``-th text cell: which figure of its row it is
        (a report-layout row can hold two), so its problem names the right cell. Only looked
        up for cells with a problem."""
        if self._indicators is None:
            return None
        if self._positions is None:
            self._positions = np.flatnonzero(self.is_text)
        return str(self._indicators.iloc[int(self._positions[i])]).strip().upper()


def _is_text(cells: pd.Series) -> np.ndarray:
    """Which cells hold a ``str`` (spreadsheet cells may hold numbers)."""
    dtype = cells.dtype
    if isinstance(dtype, pd.ArrowDtype) and pa.types.is_string(dtype.pyarrow_dtype):
        return cells.notna().to_numpy(dtype=bool)  # a CSV column: every non-null cell is a str
    return cells.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)


def _settle_convention(raw: RawTable, kind: SubmissionKind, declared: str | None, problem,
                       numbers: _NumberCells | None = None) -> str | None:
    """The file's number convention: as declared (argument or ``# number_format:`` line), or detected."""
    in_file = raw.directives.get("number_format")
    if declared and in_file and vnnum.convention_named(declared) != vnnum.convention_named(in_file):
        # Two declarations that disagree: taking either one would be a guess about every number.
        problem(None, None, in_file, "number_format_declared",
                f"the file declares number_format: {in_file}, the command line --number-format {declared}; "
                "they must agree (remove one of them)")
        return None
    declared = declared or in_file
    if declared:
        choice = vnnum.convention_named(declared)
        if choice is None:
            problem(None, None, declared, "number_format_declared",
                    "number_format must be 'vi' (1.302,9) or 'en' (1,302.9)")
        return choice
    column = NUMBER_COLUMN[kind]
    numbers = numbers or _NumberCells(raw, column)
    if not numbers.is_text.any():
        return "vi"  # every number is a spreadsheet number: no convention involved
    strings, written, rows = numbers.strings, numbers.written, numbers.rows
    readings = numbers.readings = vnnum.array_readings(strings)
    detection = vnnum.detect_convention(readings)
    if detection.convention is not None:
        return detection.convention
    if detection.is_mixed:
        # The file's convention is the one most of its numbers are written in (Vietnamese when
        # as many are written each way: the house style); the others are the mistakes, each named
        # with what to write instead. The file is read in its convention, so its other numbers
        # are checked as usual: read in none, every one of them was "a number is required".
        used = "vi" if len(detection.only_rows["vi"]) >= len(detection.only_rows["en"]) else "en"
        for i in detection.only_rows[vnnum.other(used)][:20]:
            problem(int(rows[i]), column, written[i].as_py(), "number_format_consistent",
                    _written_the_other_way(written[i].as_py(), used, "uses"), indicator=numbers.indicator(i))
        return used
    for i in detection.ambiguous_rows[:20]:
        vi, en = readings.value["vi"][i], readings.value["en"][i]
        problem(int(rows[i]), column, written[i].as_py(), "number_format_unambiguous",
                f"reads as {vi:g} the Vietnamese way and {en:g} the English way, and nothing in the "
                "file settles which; add a first line '# number_format: vi' (or en)", indicator=numbers.indicator(i))
    return None


def _parse_numbers(raw: RawTable, column: str, convention: str | None, problem,
                   numbers: _NumberCells | None = None) -> np.ndarray:
    cells = raw.frame[column]
    numbers = numbers if numbers is not None and numbers.column == column else _NumberCells(raw, column)
    is_text = numbers.is_text
    values = np.full(len(cells), np.nan)
    if (~is_text).any():  # spreadsheet numbers
        values[~is_text] = cells[~is_text].astype("float64").to_numpy()
    if is_text.any() and convention is not None:
        strings = numbers.strings
        if numbers.readings is not None:  # already read while detecting the convention
            r = numbers.readings
            parsed = np.where(r.valid[convention], r.value[convention], np.nan)
            unreadable = r.present & ~r.valid[convention]
        else:
            parsed, unreadable = vnnum.parse_number_array(strings, convention)
        values[is_text] = parsed
        rows, written = numbers.rows, numbers.written
        for i in np.flatnonzero(unreadable):
            text = written[i].as_py()
            other_way = vnnum.readings(strings[i].as_py()).valid_under() == {vnnum.other(convention)}
            problem(int(rows[i]), column, text, "number_readable",
                    _written_the_other_way(text, convention, "declares") if other_way
                    else vnnum.not_a_number(text, convention), indicator=numbers.indicator(i))
    return values


def _written_the_other_way(text: str, convention: str, how: str) -> str:
    """The message for a number written in the convention the file does not use (it ``how``:
    'uses' or 'declares' ``convention``), with the number as it should be written."""
    odd = vnnum.other(convention)
    return (f"this number is written the {vnnum._NAMES[odd]} way ({vnnum.MARKS[odd]}) while the file {how} the "
            f"{vnnum._NAMES[convention]} way ({vnnum.MARKS[convention]}): write {vnnum.written_the_other_way(text)}")


def _misplaced_percent_signs(numbers: _NumberCells, frame: pd.DataFrame, kind: SubmissionKind, problem) -> np.ndarray:
    """Rows whose number has a percent sign though the figure is not in %, each reported.

    ``9,2%`` is how a clerk writes a percentage, so the sign is read where the row's unit is %
    (a % indicator, a growth plan target, whose unit its own rule checks) as a monthly and a
    plan file alike; elsewhere (``9,2%`` of tỷ đồng) it is a mistake, never dropped unseen."""
    signed = np.zeros(len(frame), dtype=bool)
    signed[numbers.is_text] = numbers.percent
    if not signed.any():
        return signed
    in_percent = np.asarray(frame["unit"] == "%", dtype=bool)
    if kind == "plan":
        in_percent = in_percent | np.asarray(frame["target_kind"] == "growth_pct", dtype=bool)
    misplaced = signed & ~in_percent
    text_index = np.cumsum(numbers.is_text) - 1  # a row's position among the text cells
    for position in np.flatnonzero(misplaced):
        i = int(text_index[position])
        unit, bare = frame["unit_reported"].iloc[position], numbers.strings[i].as_py()
        problem(int(numbers.rows[i]), numbers.column, numbers.written[i].as_py(), "number_readable",
                f"a percent sign in a row whose unit is {unit}, not %: write the figure in {unit} without it ({bare})"
                if unit else "a percent sign in a row with no unit: write % as its unit if the figure is a percentage",
                indicator=numbers.indicator(i))
    return misplaced


# --------------------------------------------------------------------------- normalising
#
# Most columns of a submission repeat a few values (63 regions, 12 indicators, a few units,
# periods and status words) over many rows. Every row-by-row step below is therefore
# computed once per distinct value (or combination of values) of the raw cells it reads,
# on the rows that first hold them, and spread back over all rows: the same result, dtype
# included, as computing it on every row.


class _Distinct:
    """Row-wise computations on a table's columns, evaluated once per distinct combination."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self._groups: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray]] = {}
        self._column_codes: dict[str, tuple[np.ndarray, int]] = {}

    def column(self, name: str) -> pd.Series:
        if name in self.frame:
            return self.frame[name]
        return pd.Series([""] * len(self.frame), dtype=object, index=self.frame.index)

    def _codes(self, name: str) -> tuple[np.ndarray, int]:
        """Per row, the number of its value in order of first appearance (each missing cell
        numbered on its own: factorize would fold NA, None and NaN together); and how many."""
        if name not in self._column_codes:
            codes, uniques = pd.factorize(self.column(name))
            codes = codes.astype(np.int64, copy=False)
            missing = codes < 0
            if missing.any():
                codes[missing] = len(uniques) + np.arange(int(missing.sum()))
                codes = pd.factorize(codes)[0]  # back in order of first appearance
            self._column_codes[name] = (codes, len(uniques) + int(missing.sum()))
        return self._column_codes[name]

    def _group(self, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Per row, the number of its combination; per combination, the first row holding it."""
        if names not in self._groups:
            combined = None
            for name in names:
                codes, count = self._codes(name)
                if combined is None:
                    combined = codes
                else:  # numbered again in order of first appearance
                    combined = pd.factorize(combined * count + codes)[0]
            assert combined is not None
            # Numbers in order of first appearance: the running maximum steps up exactly at
            # each combination's first row.
            running = np.maximum.accumulate(combined)
            steps = np.empty(len(combined), dtype=bool)
            steps[:1] = True
            np.greater(running[1:], running[:-1], out=steps[1:])
            self._groups[names] = (combined, np.flatnonzero(steps))
        return self._groups[names]

    def on_rows(self, names: tuple[str, ...], frame: pd.DataFrame,
                func: Callable[[pd.DataFrame], pd.Series | np.ndarray]) -> np.ndarray:
        """``func(frame)`` for a row-wise ``func`` of columns of ``frame`` that are themselves
        row-wise functions of the raw columns ``names``: evaluated on one row per distinct
        combination of those raw values."""
        codes, first = self._group(names)
        if len(first) == len(codes):
            return np.asarray(func(frame))
        return np.asarray(func(frame.iloc[first].reset_index(drop=True)))[codes]

    def compute(self, names: tuple[str, ...], func: Callable[..., pd.Series | np.ndarray]) -> pd.Series | np.ndarray:
        """``func(*columns)`` for a row-wise ``func``, evaluated on one row per distinct combination."""
        codes, first = self._group(names)
        if len(first) == len(codes):  # every row distinct (or no rows): nothing to share
            return func(*(self.column(n) for n in names))
        result = func(*(self.column(n).iloc[first].reset_index(drop=True) for n in names))
        if isinstance(result, pd.Series):
            return _spread(result, codes, self.frame.index)
        return np.asarray(result)[codes]


def _spread(result: pd.Series, codes: np.ndarray, index: pd.Index) -> pd.Series:
    """``result.iloc[codes]`` with ``index``. Text comes back as a categorical of the
    distinct results: a million-row column of a few dozen codes or units then costs one
    int per row, and every later step (GX's row conditions, Arrow conversion) moves ints,
    not strings. Its values and missing cells are those of the plain spread."""
    if pd.api.types.is_string_dtype(result) and not isinstance(result.dtype, pd.CategoricalDtype):
        result_codes, categories = pd.factorize(result)  # missing results: code -1, a missing cell
        return pd.Series(pd.Categorical.from_codes(result_codes[codes], categories=categories), index=index)
    spread = result.iloc[codes]
    spread.index = index
    return spread


def _cells_as_text(cells: pd.Series, spreadsheet: bool) -> pd.Series:
    if spreadsheet:  # spreadsheet cells: numbers that are codes (74, 2021.0) become text
        cells = cells.map(lambda v: str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
    return cells.astype(str).str.strip()


def _region_codes(text: pd.Series) -> pd.Series:
    # Excel drops the leading zero of codes like 01; GSO province codes have two digits.
    return text.where(~text.str.fullmatch(r"\d"), "0" + text)


def _canonical_units(text: pd.Series, reference: Reference) -> pd.Series:
    folded_units = {u: reference.canonical_unit(u) for u in text.unique()}
    return text.map(folded_units)


def _cells_as_written(cells: pd.Series) -> np.ndarray | pd.Series:
    """The cell as written, for problem reports: text as it is, a spreadsheet number in full."""
    dtype = cells.dtype
    if isinstance(dtype, pd.ArrowDtype) and pa.types.is_string(dtype.pyarrow_dtype) and not cells.hasnans:
        return cells.astype(str)  # every cell is already a str
    return cells.map(lambda v: "" if v is None else vnnum.number_in_full(v) if isinstance(v, (int, float))
                     and not isinstance(v, bool) else str(v)).to_numpy()


def _normalise(raw, kind, convention, reference: Reference, today, problem,
               numbers: _NumberCells | None = None) -> pd.DataFrame:
    cells = _Distinct(raw.frame)
    spreadsheet = raw.sheet is not None

    def text(column: pd.Series) -> pd.Series:
        return _cells_as_text(column, spreadsheet)

    def indicator(column: pd.Series) -> pd.Series:
        return text(column).str.upper()

    def unit(column: pd.Series) -> pd.Series:
        return _canonical_units(text(column), reference)

    frame = pd.DataFrame({"source_row": raw.frame["source_row"].to_numpy(dtype="int64")})
    frame["region_code"] = cells.compute(("region_code",), lambda c: _region_codes(text(c)))
    frame["indicator_code"] = cells.compute(("indicator_code",), indicator)
    frame["unit_reported"] = cells.compute(("unit",), text)
    frame["unit"] = cells.compute(("unit",), unit)
    number_column = NUMBER_COLUMN[kind]
    frame[f"{number_column}_text"] = _cells_as_written(raw.frame[number_column])
    if numbers is None or numbers.column != number_column:
        numbers = _NumberCells(raw, number_column)
    frame[f"{number_column}_reported"] = _parse_numbers(raw, number_column, convention, problem, numbers)
    catalogue = reference.indicators
    frame["indicator_kind"] = cells.compute(
        ("indicator_code",), lambda c: indicator(c).map(catalogue["kind"]).fillna("unknown"))
    frame["canonical_unit"] = cells.compute(
        ("indicator_code",), lambda c: indicator(c).map(catalogue["canonical_unit"]).fillna(""))
    frame["indicator_can_be_negative"] = cells.compute(
        ("indicator_code",), lambda c: indicator(c).map(catalogue["can_be_negative"]).fillna("false").str.lower())
    if kind == "monthly":
        _normalise_monthly(cells, text, frame, reference)
    else:
        _normalise_plan(cells, text, frame, reference)
    misplaced = _misplaced_percent_signs(numbers, frame, kind, problem)
    frame.loc[misplaced, f"{number_column}_reported"] = np.nan  # rejected: no figure to check further
    frame["indicator_unit"] = cells.compute(
        ("indicator_code", "unit"), lambda i, u: indicator(i) + "|" + unit(u).fillna("?"))
    if kind == "plan":
        # The unit as the plan suite's growth_target_in_percent sees it: '?' where blank or
        # unknown, as in indicator_unit. GX's in-set rules pass a null, so a growth target with
        # no unit (or one the catalogue does not know) loaded as if it were in %.
        frame["unit_or_unknown"] = cells.compute(("unit",), lambda u: unit(u).fillna("?"))
    factor = cells.on_rows(("indicator_code", "unit"), frame[["indicator_code", "unit"]],
                           lambda rows: _conversion_factors(rows, reference))
    frame[number_column] = frame[f"{number_column}_reported"] * factor
    if kind == "monthly":
        _reported_with_the_month(raw, frame, factor, reference)
    if kind == "plan":  # growth targets are percentages whatever the indicator's unit
        growth = frame["target_kind"] == "growth_pct"
        frame.loc[growth, "target_value"] = frame.loc[growth, "target_value_reported"]
    # A count (fairs held) is whole in its canonical unit, whatever unit it was written in; the
    # suites allow for float noise of the conversion (1,001 nghìn is 1000.9999999999999).
    canonical = frame[number_column].to_numpy(dtype="float64")
    frame[f"{number_column}_distance_to_whole"] = np.abs(canonical - np.round(canonical))
    counts = np.asarray(frame["canonical_unit"] == "count", dtype=bool)
    if kind == "plan":  # a growth target of a count is a percentage
        counts = counts & np.asarray(frame["target_kind"] == "level", dtype=bool)
    frame[number_column] = _whole_where_noise(canonical, counts)
    if kind == "monthly":
        frame["reported_ytd_value"] = _whole_where_noise(frame["reported_ytd_value"].to_numpy(dtype="float64"), counts)
    return frame


#: how far from whole a count may be and still pass the suites' whole-number rules (their
#: ``max_value`` on ``*_distance_to_whole``): float noise of a unit conversion, not a fraction
WHOLE_NUMBER_NOISE = 1e-9


def _whole_where_noise(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``values`` with the counts that are whole but for float noise made exactly whole, so the
    warehouse stores 1001 fairs, not 1000.9999999999999 (sums and exports then show 1001 too).
    A count further from whole is left as it is: the suite rejects it, naming the cell."""
    rounded = np.round(values)
    return np.where(counts & (np.abs(values - rounded) <= WHOLE_NUMBER_NOISE), rounded, values)


def _reported_with_the_month(raw: RawTable, frame: pd.DataFrame, factor: np.ndarray, reference: Reference) -> None:
    """Add to ``frame`` what a report-layout file states with each month's figure, NaN where it
    states none (a long-format file states none):

    * ``reported_ytd_value``: the year to date (lũy kế) of a flow (an indicator whose year is the
      sum of its months), converted like the figure; a stock's or an index's is not stored (an
      index's cumulative figure is an indicator of its own, ``IIP``);
    * ``reported_ytd_text``, ``reported_ytd_distance_to_whole``: that year to date as written,
      and its distance to the nearest whole number (the monthly suite's rules on a year to date);
    * ``reported_growth_month_pct``, ``reported_growth_ytd_pct``: the month's and the year to
      date's growth vs the same period last year (% so cùng kỳ), in % whether the report wrote
      an index (same period = 100) or a growth (:mod:`etl.report_layout` has made them growth); an
      indicator without a year to date (``IIP_MONTH``) has no year-to-date growth."""
    columns = ("reported_ytd_value", "reported_growth_month_pct", "reported_growth_ytd_pct")
    reported = raw.reported
    if reported is None or reported.frame.empty:
        for column in columns + ("reported_ytd_distance_to_whole",):
            frame[column] = np.nan
        frame["reported_ytd_text"] = None
        return
    rows = pd.MultiIndex.from_arrays([frame["source_row"].to_numpy(),
                                      np.asarray(frame["indicator_code"], dtype=object)])
    stated = reported.frame.set_index(["source_row", "indicator_code"]).reindex(rows)
    year_rule = np.asarray(frame["indicator_code"].map(reference.indicators["year_rule"]), dtype=object)
    for column, measure, applies in zip(columns, ("ytd", "pct_vs_same_month", "pct_ytd_vs_same_period"),
                                        (year_rule == "sum", True, year_rule != "none")):
        frame[column] = np.where(applies, stated[measure].to_numpy(dtype="float64"), np.nan)
    frame["reported_ytd_value"] *= factor
    # for the suite's rules on a year to date: what the clerk wrote, and (counts) how far from whole
    frame["reported_ytd_text"] = np.where(year_rule == "sum", stated["ytd_text"].to_numpy(dtype=object), None)
    ytd = frame["reported_ytd_value"].to_numpy(dtype="float64")
    frame["reported_ytd_distance_to_whole"] = np.abs(ytd - np.round(ytd))


def _period_starts(period: pd.Series) -> pd.Series:
    return pd.to_datetime(period.where(period.str.fullmatch(r"\d{4}-\d{2}"), None), format="%Y-%m", errors="coerce")


def _normalise_monthly(cells: _Distinct, text, frame: pd.DataFrame, reference: Reference) -> None:
    frame["period"] = cells.compute(("period",), text)

    def month_key(column: pd.Series) -> pd.Series:
        parsed = _period_starts(text(column))
        return (parsed.dt.year * 100 + parsed.dt.month).astype("Int64")

    frame["month_key"] = cells.compute(("period",), month_key)
    # Kept as datetime64 (midnight), not as Python dates: Arrow converts it to date32 for the
    # staging load eight times faster than a column of date objects (1,000,000 rows: 5 ms, 43 ms).
    frame["period_start"] = cells.compute(("period",), lambda c: _period_starts(text(c)))
    frame["status_reported"] = cells.compute(("status",), text)
    frame["status"] = cells.compute(
        ("status",), lambda c: text(c).map(lambda s: _STATUS_WORDS.get(fold(s), s)))
    frame["department_code"] = cells.compute(("department_code",), text)
    frame["note"] = cells.compute(("note",), text)

    frame["region_in_force"] = cells.on_rows(("region_code", "period"), frame[["region_code", "period_start"]],
                                             lambda rows: _region_in_force(rows, reference))


def _plan_years(year: pd.Series) -> pd.Series:
    return pd.to_numeric(year.where(year.str.fullmatch(r"\d{4}"), None), errors="coerce").astype("Int64")


def _year_starts(years: pd.Series) -> list:
    return [dt.date(int(y), 1, 1) if pd.notna(y) else None for y in years]


def _normalise_plan(cells: _Distinct, text, frame: pd.DataFrame, reference: Reference) -> None:
    frame["year_reported"] = cells.compute(("year",), text)
    frame["year"] = cells.compute(("year",), lambda c: _plan_years(text(c)))
    frame["target_kind"] = cells.compute(("target_kind",), lambda c: text(c).str.lower())
    frame["note"] = cells.compute(("note",), text)
    # A plan names the unit in force on 1 January of its year.
    frame["year_start"] = _year_starts(frame["year"])
    frame["period_start"] = frame["year_start"]
    frame["region_in_force"] = _region_in_force(frame, reference)


def _region_in_force(frame: pd.DataFrame, reference: Reference) -> np.ndarray:
    """True where the region code names a unit in force in the row's month."""
    regions = reference.regions
    starts = pd.to_datetime(pd.Series(frame["period_start"], index=frame.index), errors="coerce")
    rows = pd.DataFrame({"row": np.arange(len(frame)), "region_code": np.asarray(frame["region_code"], dtype=object),
                         "start": starts.to_numpy()})
    spans = pd.DataFrame({"region_code": regions["region_code"].astype(object),
                          "valid_from": pd.to_datetime(regions["valid_from"]),
                          # pandas 3 reads dates at second resolution: date.max fits, as in the
                          # row-by-row rule this replaced (open-ended = in force for any year)
                          "valid_to": pd.to_datetime(regions["valid_to"].map(lambda d: d or dt.date.max))})
    merged = rows.merge(spans, on="region_code")
    in_force = merged.loc[(merged["valid_from"] <= merged["start"]) & (merged["start"] <= merged["valid_to"]), "row"]
    ok = np.zeros(len(frame), dtype=bool)
    ok[in_force.to_numpy()] = True
    # Unknown codes and unreadable periods are reported by their own checks, not this one.
    ok |= ~rows["region_code"].isin(set(regions["region_code"])).to_numpy() | starts.isna().to_numpy()
    return ok


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
