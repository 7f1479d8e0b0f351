"""The departments' monthly report layout, read into the long format.

Departments keep their monthly figures in a report table: one row per indicator
(chỉ tiêu) with its unit (đơn vị), this month's figure (thực hiện tháng / ước tính
tháng), and often the same month last year (cùng kỳ), the previous month (tháng
trước), the year to date (lũy kế) and percentages against the previous month and the
same period (so tháng trước, so cùng kỳ). Which province and month the report is for
is written in labelled cells above the table (``Mã tỉnh:`` / ``Tỉnh:``, ``Tháng:``);
the blank template (:mod:`etl.report_template`) writes them.

:func:`read_report_layout` finds such a table in a CSV or XLSX file and returns a
:class:`~etl.readers.RawTable` in the long format (``region_code, indicator_code,
period, value, unit, status, department_code, note``) whose ``source_row`` is the row
of the sheet as the clerk sees it, so every later problem names the real row. The
figures are then read, converted and validated exactly like a long-format file.

Indicator names are matched to catalogue codes through ``etl/reference/
indicator_names.csv`` (plus the catalogue's own names), case-, diacritics- and
punctuation-insensitively; a name that is in neither is an error naming the row,
never a guess. The report's own comparison columns travel on ``RawTable.reported`` (a
:class:`ReportedFigures`) to :mod:`etl.cross_checks`, which compares them with what the
warehouse computes once the batch is loaded; a flow's year to date and the growth rates vs
the same period are also stored with the figure (``reported_ytd_value``,
``reported_growth_month_pct``, ``reported_growth_ytd_pct``, :mod:`etl.submission`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from etl import vnnum
from etl.readers import (CellOrigins, FileReadError, Place, RawTable, csv_cells, refuse_uncalculated_formulas_in,
                         shown_value)
from etl.reference import REFERENCE_DIR, Reference, fold, load_reference

# The report's own figures carried to the cross-checks. Levels are in the row's unit as
# written; percentages are growth in % (an index written "cùng kỳ = 100" becomes index - 100).
LEVEL_MEASURES = ("ytd", "ytd_last_year", "same_month_last_year", "previous_month")
PCT_MEASURES = ("pct_vs_previous_month", "pct_vs_same_month", "pct_ytd_vs_same_period")
MEASURES = LEVEL_MEASURES + PCT_MEASURES
# Measures about the year to date: on a row whose year-to-date cell is a second indicator
# (``ytd_indicator_code``) they belong to that indicator.
YTD_MEASURES = ("ytd_last_year", "pct_ytd_vs_same_period")
# Measures stored with the figure (or, a cumulative index's year to date, the figure itself): an
# unreadable one rejects the file. The others (cùng kỳ, tháng trước, so tháng trước, last year's
# year to date) are only compared with the warehouse, so an unreadable one is a warning: the file
# loads without it, as it would if the cell were empty.
STORED_MEASURES = ("ytd", "pct_vs_same_month", "pct_ytd_vs_same_period")

NAME_COLUMN_LABEL = "Chỉ tiêu"
# ("#N/A" is not one: it is also Excel's error value for a lookup that found nothing, named as such)
_EMPTY_MARKS = {"", "-", "–", "—", "x", "…", "...", "..", "n/a"}
# A name cell starting with one of these ends the table (signatures, notes under it).
_STOP_WORDS = ("nguoi lap", "thu truong", "giam doc", "noi nhan", "ky ten", "xac nhan", "ghi chu")


# --------------------------------------------------------------------------- names


def name_key(text: object) -> str:
    """The key an indicator name is matched on: folded (case, diacritics, đ), numbering and
    punctuation dropped, ``&`` read as ``và``, ``tỉ`` as ``tỷ``."""
    text = str(text).strip()
    text = re.sub(r"^\s*(?:[IVXLC]+|\d+(?:\.\d+)*|[A-Za-zđĐ])\s*[.)]\s+", "", text)  # "1.", "II.", "a)"
    text = re.sub(r"^\s*[-+*•–—]+\s*", "", text)  # "- ", "+ "
    text = re.sub(r"\(\s*\*+\s*\)\s*$|\*+\s*$", "", text)  # footnote marks
    key = fold(text).replace("&", " va ")
    key = re.sub(r"[^0-9a-z%]+", " ", key)
    return " ".join("ty" if w == "ti" else w for w in key.split())


@dataclass(frozen=True)
class IndicatorName:
    indicator_code: str
    ytd_indicator_code: str | None  # the row's year-to-date cell is this indicator's figure


@lru_cache(maxsize=1)
def indicator_names() -> dict[str, IndicatorName]:
    """Name key -> indicator: ``indicator_names.csv`` and the catalogue's own names (vi, en)."""
    reference = load_reference()
    table = pd.read_csv(REFERENCE_DIR / "indicator_names.csv", dtype=str, keep_default_na=False)
    entries: list[tuple[str, IndicatorName, str]] = []
    for code, row in reference.indicators.iterrows():
        for name in (row["name_vi"], row["name_en"]):
            entries.append((name, IndicatorName(code, None), "indicators.csv"))
    for r in table.itertuples(index=False):
        for code in (r.indicator_code, r.ytd_indicator_code):
            if code and code not in reference.indicators.index:
                raise ValueError(f"indicator_names.csv: {r.name_as_written!r}: unknown indicator code {code!r}")
        entries.append((r.name_as_written, IndicatorName(r.indicator_code, r.ytd_indicator_code or None),
                        "indicator_names.csv"))
    names: dict[str, IndicatorName] = {}
    for written, entry, source in entries:
        key = name_key(written)
        if not key:
            raise ValueError(f"{source}: an empty indicator name")
        if names.setdefault(key, entry) != entry:
            raise ValueError(f"{source}: {written!r} names both {names[key]} and {entry}")
    return names


def match_indicator_name(written: object) -> IndicatorName | None:
    """The indicator a name as written in a report stands for, or None if it is unknown."""
    return indicator_names().get(name_key(written))


# --------------------------------------------------------------------------- what travels on


@dataclass
class ReportedFigures:
    """The report's own comparison figures, for :mod:`etl.cross_checks`.

    ``frame``: one row per long-format row that has any (``source_row``,
    ``indicator_code``), with, per measure of :data:`MEASURES`, its value (``m``; levels in
    the row's unit as written, percentages as growth in %), its text as written
    (``m_text``) and half a unit of its last written decimal (``m_half``, the rounding the
    cross-checks allow). ``labels``: measure -> the column's header as written.
    """

    frame: pd.DataFrame
    labels: dict[str, str]
    pct_forms: dict[str, str] = field(default_factory=dict)  # measure -> 'index' | 'growth'


# --------------------------------------------------------------------------- grids


@dataclass
class _Grid:
    sheet: str | None
    rows: list[tuple[int, list[object]]]  # (row number as the clerk sees it, cells)
    merged: dict[tuple[int, int], object]  # (row, column index) -> value of its merged range
    directives: dict[str, str]
    encoding_note: str | None = None


#: the header of a report table is looked for in this many rows from the top
HEADER_SEARCH_ROWS = 100


def _csv_grids(path: Path, encoding: str | None) -> list[_Grid]:
    from etl.readers import _DIRECTIVE, _decode, _sniff_delimiter

    try:
        text, _, encoding_note = _decode(path.read_bytes(), encoding)
    except FileReadError:
        return []  # the CSV reader's own error stands
    lines = text.splitlines()
    directives: dict[str, str] = {}
    for line in lines:
        m = _DIRECTIVE.match(line)
        if m:
            directives[m["key"].lower()] = m["value"]
    # the table's header names the indicator column; a title above it ("Báo cáo các chỉ
    # tiêu chủ yếu") may say "chỉ tiêu" too, but holds no separator
    header_line = next((line for line in lines[:HEADER_SEARCH_ROWS]
                        if "chi tieu" in fold(line) and any(d in line for d in ";\t,|")), None)
    if header_line is None:
        return []
    delimiter = _sniff_delimiter(header_line)
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        rows.append((number, [c.strip() for c in csv_cells(line, delimiter)]))
    return [_Grid(None, rows, {}, directives, encoding_note)]


def _xlsx_cell(cell) -> object:
    value = cell.value
    if isinstance(value, bool):
        return str(value)
    value = shown_value(cell)  # what Excel shows: 0.034 formatted 0,0% is 3,4
    if isinstance(value, str):
        return value.strip()
    return value


def _xlsx_grids(path: Path) -> list[_Grid]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:  # a quick look first: the whole workbook is loaded only when a sheet has a report table
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, KeyError, OSError, ValueError):
        return []
    try:
        found = any("chi tieu" in fold(" ".join(str(c) for c in row if isinstance(c, str)))
                    for sheet in workbook.worksheets
                    for row in sheet.iter_rows(max_row=HEADER_SEARCH_ROWS, values_only=True))
    finally:
        workbook.close()
    if not found:
        return []
    workbook = openpyxl.load_workbook(path, data_only=True)
    grids = []
    try:
        for sheet in workbook.worksheets:
            merged = {}
            for cells in sheet.merged_cells.ranges:
                top_left = sheet.cell(row=cells.min_row, column=cells.min_col).value
                for r in range(cells.min_row, cells.max_row + 1):
                    for c in range(cells.min_col, cells.max_col + 1):
                        merged[(r, c - 1)] = top_left
            rows, directives = [], {}
            for number, row in enumerate(sheet.iter_rows(), start=1):
                cells = [_xlsx_cell(c) for c in row]
                while cells and cells[-1] in (None, ""):
                    cells.pop()
                if not cells:
                    continue
                first = next((c for c in cells if c not in (None, "")), "")
                if isinstance(first, str) and first.startswith("#"):
                    from etl.readers import _DIRECTIVE

                    m = _DIRECTIVE.match(first)
                    if m:
                        directives[m["key"].lower()] = m["value"]
                    continue
                rows.append((number, cells))
            grids.append(_Grid(sheet.title, rows, merged, directives))
    finally:
        workbook.close()
    return grids


# --------------------------------------------------------------------------- labels and columns


def _key(value: object) -> str:
    """A header or label cell, folded, punctuation as spaces (``%`` kept)."""
    return " ".join(re.sub(r"[^0-9a-z%/]+", " ", fold(value)).replace("/", " / ").split())


def _words(key: str) -> set[str]:
    return set(key.replace("/", " ").split())


_LABELS = {
    "region_code": ("ma tinh", "ma tinh / thanh pho", "ma tinh / tp", "ma tinh thanh pho", "ma dia phuong",
                    "ma don vi hanh chinh", "region code", "region_code"),
    "region_name": ("tinh", "tinh / thanh pho", "tinh / tp", "tinh thanh pho", "thanh pho", "dia phuong",
                    "tinh / thanh", "province"),
    "month": ("thang", "thang bao cao", "ky bao cao", "ky", "thoi gian", "thoi gian bao cao", "period",
              "month", "report month"),
    "department_code": ("ma don vi", "ma don vi bao cao", "ma so cong thuong", "department code",
                        "department_code"),
    "department_name": ("don vi bao cao", "co quan bao cao"),
    "status": ("trang thai", "trang thai so lieu", "loai so lieu", "status"),
}
_LABEL_OF = {key: label for label, keys in _LABELS.items() for key in keys}


def _month_of(value: object) -> str | None:
    """``YYYY-MM`` from a month as written: ``12/2021``, ``Tháng 12/2021``, ``tháng 12 năm 2021``,
    ``2021-12``, or a date cell. None if it is not a month."""
    if isinstance(value, (dt.datetime, dt.date)):
        return f"{value.year:04d}-{value.month:02d}"
    if not isinstance(value, str):
        return None
    text = fold(value)
    for pattern, order in ((r"^(?:thang\s*)?(\d{1,2})\s*[/.-]\s*(\d{4})$", "my"),
                           (r"^(?:thang\s*)?(\d{1,2})\s*nam\s*(\d{4})$", "my"),
                           (r"^(\d{4})\s*-\s*(\d{1,2})$", "ym")):
        m = re.match(pattern, text)
        if m:
            month, year = (int(m[1]), int(m[2])) if order == "my" else (int(m[2]), int(m[1]))
            return f"{year:04d}-{month:02d}" if 1 <= month <= 12 else None
    return None


_MONTH_IN_TEXT = re.compile(r"thang\s*(\d{1,2})\s*(?:/|-|\.|\s*nam\s*)\s*(\d{4})|(?<![\d/])(\d{1,2})\s*/\s*(\d{4})")


def _months_in(text: str) -> list[str]:
    found = []
    for m in _MONTH_IN_TEXT.finditer(fold(text)):
        month, year = (int(m[1]), int(m[2])) if m[1] else (int(m[3]), int(m[4]))
        if 1 <= month <= 12:
            found.append(f"{year:04d}-{month:02d}")
    return found


def _shift(period: str, months: int) -> str:
    year, month = int(period[:4]), int(period[5:])
    index = year * 12 + month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@dataclass
class _Column:
    index: int
    label: str  # as written (header, plus the sub-header under it)
    kind: str | None = None
    months: list[str] = field(default_factory=list)
    estimate: bool = False
    pct_form: str = "index"


_UNIT_KEYS = {"don vi", "don vi tinh", "dvt", "don vi do", "unit"}
_COMPARISON = re.compile(r"\bso sanh\b|\bso voi\b|\bso (?:cung ky|cung thang|thang truoc|ky truoc|nam truoc|ke hoach|"
                         r"ck|tt|kh|thang)\b|\btang giam\b|\btang truong\b|%")


def _classify(column: _Column) -> None:
    key = _key(column.label)
    words = _words(key)
    column.months = _months_in(column.label)
    if not key:
        return
    if key in ("stt", "so tt", "so thu tu", "tt"):
        column.kind = "stt"
    elif key in ("ma chi tieu", "ma", "ma so", "indicator code", "indicator_code"):
        column.kind = "code"
    elif key.startswith(("chi tieu", "ten chi tieu", "noi dung chi tieu")) or key == "indicator":
        column.kind = "name"
    elif key in _UNIT_KEYS:
        column.kind = "unit"
    elif key.startswith(("trang thai", "tinh trang so lieu", "loai so lieu")):
        column.kind = "status"
    elif key.startswith("ghi chu"):
        column.kind = "note"
    elif _COMPARISON.search(key):
        column.pct_form = "growth" if "tang" in words else "index"
        if "ke hoach" in key or "kh" in words:
            return  # against the plan: not a monthly figure
        ytd = "luy ke" in key or "tu dau nam" in key or "cong don" in key
        if "cung ky" in key or "cung thang" in key or "nam truoc" in key or "ck" in words:
            column.kind = "pct_ytd_vs_same_period" if ytd else "pct_vs_same_month"
        elif "thang truoc" in key or "ky truoc" in key or "tt" in words:
            column.kind = "pct_vs_previous_month"
        elif len(column.months) >= 2:
            column.kind = "pct_by_months"  # "Tháng 12/2021 so với tháng 11/2021": resolved with the month
    elif "luy ke" in key or "tu dau nam" in key or "cong don" in key:
        column.kind = "ytd_last_year" if ("cung ky" in key or "nam truoc" in key) else "ytd"
    elif "cung ky" in key or "cung thang nam truoc" in key:
        column.kind = "same_month_last_year"
    elif "thang truoc" in key:
        column.kind = "previous_month"
    elif "thang" in words or key in ("thuc hien", "uoc thuc hien", "uoc tinh", "uoc th"):
        column.kind = "month_figure"  # this month, or another month named in the header
        column.estimate = "uoc" in words or "uth" in words


def _month_label(period: str) -> str:
    """``2023-01`` as a report writes it: ``01/2023``."""
    return f"{period[5:7]}/{period[:4]}"


def _resolve_months(columns: list[_Column], period: str, header_row: int) -> None:
    """Columns named by their month (``Thực hiện tháng 11/2021``) take their role from it."""
    roles = {period: "this_month", _shift(period, -1): "previous_month", _shift(period, -12): "same_month_last_year"}
    for c in columns:
        if c.kind == "month_figure":
            if not c.months:
                c.kind = "this_month"
            elif c.months[0] in roles:
                c.kind = roles[c.months[0]]
            else:
                raise FileReadError(
                    f"the column {c.label!r} (row {header_row}) is for {c.months[0]}, but the report is for "
                    f"{period}", row=header_row)
        elif c.kind == "pct_by_months":
            base = c.months[1] if c.months[0] == period else None
            c.kind = {_shift(period, -1): "pct_vs_previous_month",
                      _shift(period, -12): "pct_vs_same_month"}.get(base or "")


# --------------------------------------------------------------------------- the table


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _is_empty(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip().casefold() in _EMPTY_MARKS)


def _cell(cells: list[object], index: int | None) -> object:
    if index is None or index >= len(cells):
        return None
    return cells[index]


_NUMBERING = re.compile(r"^[(\[]?(?:[A-Za-z]|\d{1,2}|[IVXivx]+)[)\]]?(?:\s*[=*/+x-].*)?$")


def _is_numbering_row(cells: list[object]) -> bool:
    """A row of column numbers under the header: ``A B C 1 2 3 4=3/1``."""
    present = [c for c in cells if not _is_empty(c)]
    return bool(present) and all(isinstance(c, (int, float)) or _NUMBERING.match(str(c).strip()) for c in present)


def is_table_header(cells) -> bool:
    """Whether a row of cells is a report table's header: it names the indicator column
    (``Chỉ tiêu``) and the unit column (``Đơn vị``)."""
    keys = [_key(c) if isinstance(c, str) else "" for c in cells]
    return any(k.startswith(("chi tieu", "ten chi tieu")) for k in keys) and any(k in _UNIT_KEYS for k in keys)


def _find_header(grid: _Grid) -> int | None:
    return next((position for position, (_, cells) in enumerate(grid.rows) if is_table_header(cells)), None)


def _labelled_cells(grid: _Grid, above: int) -> dict[str, tuple[int, object, str]]:
    """Values of labelled cells above the table: label -> (row, value, the label as written)."""
    found: dict[str, tuple[int, object, str]] = {}
    for number, cells in grid.rows[:above]:
        for i, cell in enumerate(cells):
            if not isinstance(cell, str) or not cell.strip():
                continue
            label_text, colon, rest = cell.partition(":")
            label = _LABEL_OF.get(_key(label_text))
            if label is None:
                continue
            value: object = rest.strip() if colon and rest.strip() else next(
                (c for c in cells[i + 1:] if not _is_empty(c)), None)
            if value is not None and label not in found:
                found[label] = (number, value, label_text.strip())
    return found


def _title_month(grid: _Grid, above: int) -> tuple[str, int] | None:
    """(month, row) of the first month written in a title above the table."""
    for number, cells in grid.rows[:above]:
        for cell in cells:
            if isinstance(cell, str):
                months = _months_in(cell)
                if months:
                    return months[0], number
    return None


#: words written before a province's name that are not part of it, in any order and number:
#: "Sở Công Thương", "Tỉnh", "Thành phố", "TP." (``_key`` has already folded them)
_REGION_NAME_PREFIX = re.compile(r"^(?:(?:so cong thuong|tinh|thanh pho|tp)\s+)+")


def _region_name_key(name: object) -> str:
    """A province's name folded and without its prefix (``'TP. Hồ Chí Minh'`` → ``'ho chi minh'``).
    Applied to the name in the file and to the catalogue's alike, because the catalogue keeps the
    prefix where it belongs to the name (``Thành phố Hồ Chí Minh``) and a file may or may not write it."""
    return _REGION_NAME_PREFIX.sub("", _key(name))


def region_codes_by_name(name: str, reference: Reference, period: str | None = None) -> list[str]:
    """The codes of the units whose name is ``name``, prefix or not, or whose name ``name`` stands
    for in the reference's region_name_aliases.csv (``TP.HCM``): those in force in ``period``
    (``YYYY-MM``), or, without one, every unit the reference has known."""
    key = _region_name_key(name)
    aliases = {_region_name_key(a): _region_name_key(n) for a, n in reference.region_name_aliases.items()}
    key = aliases.get(key, key)
    units = (reference.regions if period is None
             else reference.regions_in_force(dt.date(int(period[:4]), int(period[5:]), 1)))
    return sorted({code for code, n in zip(units["region_code"], units["name_vi"]) if _region_name_key(n) == key})


def _region_code(value: object) -> str:
    text = _text(value)
    return "0" + text if re.fullmatch(r"\d", text) else text


def _department(labels: dict, region_code: str, period: str) -> str:
    """The department code as labelled, else the region's one reporting department, if it has one."""
    if "department_code" in labels:
        return _text(labels["department_code"][1])
    from etl.completeness import obligations_in_force

    departments = sorted(set(obligations_in_force(region_code, period)["department_code"]))
    return departments[0] if len(departments) == 1 else ""


def _half_unit(text: str, convention: str | None, number: float) -> float:
    """Half a unit of the last decimal as written: from the text when there is one."""
    from etl.quality import written_half_unit

    if text and convention:
        mark = "," if convention == "vi" else "."
        body = text.strip().rstrip("%").strip()
        if mark in body:
            return 0.5 * 10.0 ** -len(body.rsplit(mark, 1)[1].strip())
        return 0.5
    return written_half_unit(number) if np.isfinite(number) else 0.0


def _number_text(value: object) -> str | None:
    """The text of a number cell to be read by convention, ``%`` dropped; None for spreadsheet numbers."""
    if isinstance(value, str):
        return value.strip().removesuffix("%").strip()
    return None


def read_report_layout(path: Path, reference: Reference | None = None, *,
                       encoding: str | None = None) -> RawTable | None:
    """The report-layout table of a CSV or XLSX file in the long format, or None if the file
    has no such table. Raises :class:`FileReadError` for a report that says no province or month."""
    path = Path(path)
    grids = _xlsx_grids(path) if path.suffix.lower() == ".xlsx" else _csv_grids(path, encoding)
    for grid in grids:
        header = _find_header(grid)
        if header is not None:
            if path.suffix.lower() == ".xlsx":  # a formula Excel never calculated reads as an empty cell
                header_row, header_cells = grid.rows[header]
                width = max(len(cells) for _, cells in grid.rows[header:])
                labels = [_text(grid.merged.get((header_row, i), _cell(header_cells, i))) for i in range(width)]
                refuse_uncalculated_formulas_in(path, grid.sheet, header_row, labels)
            table = _convert(grid, header, reference or load_reference())
            if grid.encoding_note:
                table.encoding_note = grid.encoding_note
            return table
    return None


def report_layout_or(path: Path, fallback: RawTable | FileReadError, *, encoding: str | None = None) -> RawTable:
    """The hook in :func:`etl.readers.read_table` for a file without a ``region_code`` header:
    the file's report-layout table if it has one, else what the ordinary reader made of it
    (``fallback``: its table, or its error, raised)."""
    table = read_report_layout(path, encoding=encoding)
    if table is not None:
        return table
    if isinstance(fallback, FileReadError):
        raise fallback
    return fallback


def _convert(grid: _Grid, header: int, reference: Reference) -> RawTable:
    header_row, header_cells = grid.rows[header]
    problems: list[tuple] = []

    # --- the header, with a sub-header row under it (``So sánh (%)`` over its columns)
    width = max(len(cells) for _, cells in grid.rows[header:])
    labels = [_text(grid.merged.get((header_row, i), _cell(header_cells, i))) for i in range(width)]
    body = header + 1
    if body < len(grid.rows):
        number, cells = grid.rows[body]
        name_index = next(i for i, label in enumerate(labels) if _key(label).startswith(("chi tieu", "ten chi tieu")))
        texts = [c for c in cells if not _is_empty(c)]
        if (number == header_row + 1 and _is_empty(_cell(cells, name_index)) and texts
                and all(isinstance(c, str) for c in texts) and not _is_numbering_row(cells)):
            for i in range(width):
                sub = _text(_cell(cells, i))
                if sub and sub != labels[i]:
                    labels[i] = f"{labels[i]} {sub}".strip() if labels[i] else sub
            body += 1
    while body < len(grid.rows) and body <= header + 3 and _is_numbering_row(grid.rows[body][1]):
        body += 1
    columns = [_Column(i, label) for i, label in enumerate(labels)]
    for c in columns:
        _classify(c)

    # --- which province and month
    labelled = _labelled_cells(grid, header)
    candidates = sorted({m for c in columns if c.kind == "month_figure" for m in c.months[:1]})
    period = None
    # the labelled cells that hold the table's one value of a long-format column, for problems about it
    region_label = next((label for label in ("region_code", "region_name", "department_name") if label in labelled),
                        None)
    written_once: dict[str, Place] = {column: (labelled[label][0], labelled[label][2]) for column, label in (
        ("region_code", region_label), ("period", "month"), ("department_code", "department_code"),
        ("status", "status")) if label in labelled}
    if "month" in labelled:
        row, value, _ = labelled["month"]
        period = _month_of(value)
        if period is None:
            raise FileReadError(f"{_text(value)!r} is not a month; write it as 12/2021", row=row,
                                sheet=grid.sheet)
    elif (titled := _title_month(grid, header)) is not None:
        period, written_once["period"] = titled[0], (titled[1], None)
    elif candidates:  # the month in this month's column header: placed with the columns below
        period = candidates[-1]
    if period is None:
        raise FileReadError("the report does not say which month it is for: write it above the table, "
                            "e.g. 'Tháng:' and '12/2021'", row=header_row, sheet=grid.sheet)
    _resolve_months(columns, period, header_row)
    region_code = None
    if "region_code" in labelled:
        region_code = _region_code(labelled["region_code"][1])
    if "region_name" in labelled or ("department_name" in labelled and region_code is None):
        row, value, _ = labelled.get("region_name") or labelled["department_name"]
        by_name = region_codes_by_name(_text(value), reference, period)
        if region_code is None:
            if len(by_name) != 1:
                raise FileReadError(f"{_text(value)!r} names no single province in force in {period}; "
                                    "write its code next to 'Mã tỉnh:'", row=row, sheet=grid.sheet)
            region_code = by_name[0]
        elif by_name and region_code not in by_name:
            raise FileReadError(f"the province {_text(value)!r} is code {', '.join(by_name)}, but "
                                f"'Mã tỉnh' says {region_code}", row=row, sheet=grid.sheet)
    if region_code is None:
        raise FileReadError("the report does not say which province it is for: write its GSO code above the "
                            "table, e.g. 'Mã tỉnh:' and '74'", row=header_row, sheet=grid.sheet)
    department = _department(labelled, region_code, period)

    # --- the columns
    by_kind: dict[str, _Column] = {}
    for c in columns:
        if c.kind in (None, "month_figure", "pct_by_months", "stt"):
            continue
        if c.kind in by_kind:
            raise FileReadError(f"the columns {by_kind[c.kind].label!r} and {c.label!r} both hold "
                                f"the {c.kind.replace('_', ' ')}; keep one", row=header_row, sheet=grid.sheet)
        by_kind[c.kind] = c
    if "this_month" not in by_kind:
        # Most often last month's report copied with only its title changed: its figures' column
        # names last month, so say which month that is rather than leave the clerk to find it.
        named = next((c for c in columns if c.months and c.kind in ("previous_month", "same_month_last_year")), None)
        hint = (f"; the column {named.label!r} is for {_month_label(named.months[0])}: if the report is for that "
                "month, correct the month written above the table" if named else "")
        raise FileReadError(f"the table has no column for the figures of {_month_label(period)}, the month of the "
                            f"report ('Thực hiện tháng', 'Tháng này' or 'Ước tính tháng'){hint}",
                            row=header_row, sheet=grid.sheet)
    name_col, this_month = by_kind["name"], by_kind["this_month"]
    default_status = "official"
    if "status" in labelled:
        default_status = _text(labelled["status"][1])
    elif this_month.estimate:
        default_status = "estimate"
        written_once["status"] = (header_row, this_month.label)  # "Ước tính tháng ..." says so
    written_once.setdefault("period", (header_row, this_month.label))  # "Thực hiện tháng 12/2021"
    index = {kind: c.index for kind, c in by_kind.items()}
    in_row = {column: by_kind[kind].label for column, kind in (("unit", "unit"), ("note", "note"),
                                                                ("status", "status")) if kind in by_kind}
    origins = CellOrigins(records={}, columns={
        **written_once, **{c: (None, label) for c, label in in_row.items()},
        "indicator_code": (None, by_kind["code"].label if "code" in by_kind else name_col.label),
        "value": (None, this_month.label)}, texts={
        (row, written): _text(value) for row, value, written in labelled.values()})

    def record_origins(number: int, indicator: str, code: str, status_written: str, value_label: str) -> None:
        """Where the cells of the record of ``indicator`` read from row ``number`` are."""
        places: dict[str, Place] = {**written_once, **{c: (number, label) for c, label in in_row.items()
                                                        if c != "status" or status_written}}
        places["indicator_code"] = (number, by_kind["code"].label if code else name_col.label)
        places["value"] = (number, value_label)
        if "ytd" in by_kind:  # the year to date stated beside this month's figure
            places["reported_ytd_value"] = (number, by_kind["ytd"].label)
        origins.records.setdefault(number, {})[indicator] = places

    # --- the rows
    records, reported = [], []
    same_figure: list[tuple[int, str, object, object]] = []  # (row, indicator, month cell, year-to-date cell)
    for number, cells in grid.rows[body:]:
        name = _text(_cell(cells, index["name"]))
        code = _text(_cell(cells, index.get("code"))).upper()
        if not name and not code:
            continue
        if any(_key(name) == w or _key(name).startswith(w + " ") for w in _STOP_WORDS):
            break
        value = _cell(cells, index["this_month"])
        extras = {m: _cell(cells, index.get(m)) for m in MEASURES}
        if _is_empty(value) and all(_is_empty(v) for v in extras.values()):
            continue  # a row left blank, or a heading
        match = match_indicator_name(name) if name else None
        if code and match is not None and code not in (match.indicator_code, match.ytd_indicator_code):
            problems.append((number, name_col.label, name, "indicator_name_matches_code",
                             f"the name stands for {match.indicator_code} but the row's code is {code}"))
            continue
        if code:
            indicator, ytd_indicator = code, (match.ytd_indicator_code if match and match.indicator_code == code
                                              else None)
        elif match is not None:
            indicator, ytd_indicator = match.indicator_code, match.ytd_indicator_code
        else:
            problems.append((number, name_col.label, name, "known_indicator_name",
                             "unknown indicator name: write the catalogue's name (etl/reference/indicators.csv) or "
                             "a spelling listed in etl/reference/indicator_names.csv"))
            continue
        unit = _text(_cell(cells, index.get("unit")))
        status_written = _text(_cell(cells, index.get("status")))
        status = status_written or default_status
        note = _text(_cell(cells, index.get("note")))
        if isinstance(value, str) and value.endswith("%") and fold(unit) in ("%", "phan tram", "percent"):
            value = value.removesuffix("%").strip()
        base = {"region_code": region_code, "period": period, "unit": unit, "status": status,
                "department_code": department, "note": note, "source_row": number}
        if ytd_indicator is None:
            value_label = this_month.label
            year_rule = (reference.indicators.at[indicator, "year_rule"]
                         if not _is_empty(extras["ytd"]) and indicator in reference.indicators.index else None)
            if year_rule == "december_cumulative":
                # The indicator is itself the index from January to this month (IIP): its year-to-date
                # cell holds the very figure its month cell holds. Not stored apart, it would be lost
                # without a word; so it is the figure when the month cell is empty, and must agree
                # with it when both are written (compared once the number convention is settled).
                ytd_value = extras["ytd"]
                if isinstance(ytd_value, str) and ytd_value.endswith("%"):
                    ytd_value = ytd_value.removesuffix("%").strip()
                if _is_empty(value):
                    value, value_label = ytd_value, by_kind["ytd"].label
                else:
                    same_figure.append((number, indicator, value, ytd_value))
                extras = {**extras, "ytd": None}
            elif year_rule == "none":
                # A monthly index (IIP_MONTH) has no year to date: the index from January on is an
                # indicator of its own, with its own row. Dropped unseen, a figure written here
                # would be lost; the file still loads, its month's index being what this row holds.
                problems.append((number, by_kind["ytd"].label, _text(extras["ytd"]), "no_year_to_date",
                                 _no_year_to_date(indicator, reference), "warning"))
                extras = {**extras, "ytd": None}
            records.append({**base, "indicator_code": indicator, "value": "" if _is_empty(value) else value})
            reported.append((number, indicator, extras))
            record_origins(number, indicator, code, status_written, value_label)
            continue
        # one row, two indicators: this month's figure is one, the year-to-date cell the other
        ytd_value = extras["ytd"]
        if not _is_empty(value) or _is_empty(ytd_value):
            records.append({**base, "indicator_code": indicator, "value": "" if _is_empty(value) else value})
            reported.append((number, indicator, {m: v for m, v in extras.items() if m not in YTD_MEASURES + ("ytd",)}))
            record_origins(number, indicator, code, status_written, this_month.label)
        if not _is_empty(ytd_value):
            if isinstance(ytd_value, str) and ytd_value.endswith("%"):
                ytd_value = ytd_value.removesuffix("%").strip()
            records.append({**base, "indicator_code": ytd_indicator, "value": ytd_value})
            reported.append((number, ytd_indicator, {m: extras[m] for m in YTD_MEASURES}))
            record_origins(number, ytd_indicator, code, status_written, by_kind["ytd"].label)

    frame = _frame(records, grid.sheet is not None)
    directives = dict(grid.directives)
    figures = _reported_figures(reported, by_kind, directives, records, problems, same_figure)
    if same_figure:
        _check_same_figure(same_figure, directives, this_month.label, by_kind["ytd"].label, problems)
    return RawTable(frame=frame, sheet=grid.sheet, header_row=header_row, directives=directives,
                    problems=problems, reported=figures, origins=origins)


_LONG_COLUMNS = ("region_code", "indicator_code", "period", "value", "unit", "status", "department_code", "note")


def _no_year_to_date(indicator: str, reference: Reference) -> str:
    """Why a year-to-date cell of a monthly index's row is not stored, and where it belongs: the
    cumulative index of the same domain (IIP for IIP_MONTH)."""
    catalogue = reference.indicators
    domain = catalogue.at[indicator, "domain"]
    cumulative = catalogue[(catalogue["year_rule"] == "december_cumulative") & (catalogue["domain"] == domain)]
    where = "".join(f"; the index from January to this month is {code} ('{row.name_vi}'): write it in that row"
                    for code, row in cumulative.iterrows())
    return f"{indicator} is the month's own index and has no year to date, so this cell is not stored{where}"


def _frame(records: list[dict], spreadsheet: bool) -> pd.DataFrame:
    if spreadsheet:
        frame = pd.DataFrame([[r[c] for c in _LONG_COLUMNS] for r in records], columns=list(_LONG_COLUMNS),
                             dtype=object)
    else:  # CSV: every cell is text, as the CSV reader gives it
        frame = pd.DataFrame({c: pd.Series([_text(r[c]) for r in records], dtype=pd.ArrowDtype(pa.string()))
                              for c in _LONG_COLUMNS})
    frame["source_row"] = np.array([r["source_row"] for r in records], dtype="int64")
    return frame


def _reported_figures(reported: list[tuple[int, str, dict]], by_kind: dict[str, _Column], directives: dict[str, str],
                      records: list[dict], problems: list[tuple],
                      same_figure: list[tuple[int, str, object, object]] = ()) -> ReportedFigures:
    """Read the report's own numbers with the file's number convention (declared, or settled by
    every number of the table together, which then also holds for the figures)."""
    texts = [t for r in records if (t := _number_text(r["value"])) is not None]
    texts += [t for *_, ytd in same_figure if (t := _number_text(ytd)) is not None]
    texts += [t for _, _, extras in reported for v in extras.values() if not _is_empty(v)
              and (t := _number_text(v)) is not None]
    declared = directives.get("number_format")
    convention = vnnum.convention_named(declared)
    if convention is None and not declared and texts:
        detection = vnnum.detect_convention(vnnum.array_readings(pa.array(texts, pa.string())))
        convention = detection.convention
        if convention is not None:
            directives["number_format"] = convention  # the figures are read the same way
    rows = []
    for number, indicator, extras in reported:
        row: dict[str, object] = {"source_row": number, "indicator_code": indicator}
        for measure in MEASURES:
            raw = extras.get(measure)
            value, text, half = np.nan, "", 0.0
            if not _is_empty(raw):
                text = _text(raw)
                written = _number_text(raw)
                if written is None:
                    value = float(raw) if isinstance(raw, (int, float)) else np.nan
                    half = _half_unit("", None, value)
                else:
                    value = _read_number(written, convention, number, by_kind[measure].label, text, problems,
                                         stored=measure in STORED_MEASURES)
                    half = _half_unit(written, convention, value) if np.isfinite(value) else 0.0
                if measure in PCT_MEASURES and by_kind[measure].pct_form == "index" and np.isfinite(value):
                    value = value - 100
            row[measure], row[f"{measure}_text"], row[f"{measure}_half"] = value, text, half
        if any(row[f"{m}_text"] for m in MEASURES):
            rows.append(row)
    columns = ["source_row", "indicator_code"] + [f"{m}{s}" for m in MEASURES for s in ("", "_text", "_half")]
    return ReportedFigures(frame=pd.DataFrame(rows, columns=columns),
                           labels={m: by_kind[m].label for m in MEASURES if m in by_kind},
                           pct_forms={m: by_kind[m].pct_form for m in PCT_MEASURES if m in by_kind})


def _check_same_figure(same_figure: list[tuple[int, str, object, object]], directives: dict[str, str],
                       month_label: str, ytd_label: str, problems: list[tuple]) -> None:
    """A cumulative index's month cell and year-to-date cell, both written, must say the same
    figure (within the rounding of the coarser): else which one holds is a guess, and December's
    is the year's figure, the one the plan is measured against."""
    convention = vnnum.convention_named(directives.get("number_format"))
    for number, indicator, month_cell, ytd_cell in same_figure:
        ytd_text = _text(ytd_cell)
        written = _number_text(ytd_cell)
        if written is None:
            ytd = float(ytd_cell) if isinstance(ytd_cell, (int, float)) else np.nan
        else:
            ytd = _read_number(written, convention, number, ytd_label, ytd_text, problems)
        month = _figure_reading(month_cell, convention)  # unreadable: the figure's own checks say so
        if not (np.isfinite(ytd) and month is not None and np.isfinite(month)):
            continue
        slack = max(_half_unit(written or "", convention if written else None, ytd),
                    _half_unit(_number_text(month_cell) or "", convention if isinstance(month_cell, str) else None,
                               month))
        if abs(ytd - month) > slack * (1 + 1e-9) + 1e-9:
            problems.append((number, ytd_label, ytd_text, "cumulative_index_cells_agree",
                             f"{indicator} is itself the index from January to this month, so this cell and "
                             f"'{month_label}' ({_text(month_cell)}) are the same figure, and they disagree: "
                             "write it in one of them, or the same in both"))


def _figure_reading(cell: object, convention: str | None) -> float | None:
    """This month's figure as :mod:`etl.submission` will read it, or None if that is not settled here."""
    if isinstance(cell, (int, float)) and not isinstance(cell, bool):
        return float(cell)
    written = _number_text(cell)
    if written is None:
        return None
    readings = vnnum.readings(written)
    if convention is not None:
        return getattr(readings, convention)
    return None if readings.is_ambiguous else (readings.vi if readings.vi is not None else readings.en)


def _read_number(written: str, convention: str | None, row: int, column: str, text: str,
                 problems: list[tuple], *, stored: bool = True) -> float:
    """``written`` read by ``convention``; NaN, with a problem, if it is not a number. A column that
    is not stored (``stored=False``) cannot make the file wrong: its problem is a warning."""
    readings = vnnum.readings(written)
    if (convention is not None and getattr(readings, convention) is None) or (readings.vi is None
                                                                              and readings.en is None):
        message = vnnum.not_a_number(text, convention)  # type: ignore[arg-type]
        if stored:
            problems.append((row, column, text, "number_readable", message))
        else:
            problems.append((row, column, text, "number_readable",
                             f"{message}; this column is not stored, so the file loads without this cell",
                             "warning"))
        return np.nan
    if convention is not None:
        return getattr(readings, convention)
    if readings.is_ambiguous:
        problems.append((row, column, text, "number_format_unambiguous",
                         f"reads as {readings.vi:g} the Vietnamese way and {readings.en:g} the English way, and "
                         "nothing in the file settles which; add a first line '# number_format: vi' (or en)"))
        return np.nan
    return readings.vi if readings.vi is not None else readings.en  # type: ignore[return-value]
