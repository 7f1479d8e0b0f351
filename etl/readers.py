"""Reading submission files (CSV, XLSX) into a table of cells with their source positions.

Nothing here interprets numbers or codes: a reader only finds the header, the
data rows and where each came from (sheet and spreadsheet row number, counting
the header as a row, as a clerk sees it when opening the file), plus any
``# key: value`` directive lines above the header (``# number_format: vi``).

It also refuses, with a message naming the row or cells, what would otherwise be read
wrongly: a file over ``STATWH_MAX_FILE_BYTES`` (from its size, unread), text in an
encoding it cannot tell for certain (see "encodings" below), merged cells and formulas
without a calculated value in a sheet, columns with values but no name, and a workbook with
figures on more than one sheet (only one would be read).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import json
import os
import re
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

SUPPORTED_SUFFIXES = (".csv", ".xlsx")
_DIRECTIVE = re.compile(r"^\s*#\s*(?P<key>[A-Za-z_]+)\s*[:=]\s*(?P<value>.*?)\s*$")


class FileReadError(ValueError):
    """A file that cannot be read as a table at all; the message says where and why."""

    #: the reading check (suite ``reading``) the file fails
    rule = "file_readable"

    def __init__(self, message: str, *, row: int | None = None, sheet: str | None = None,
                 column: str | None = None):
        super().__init__(message)
        self.row = row
        self.sheet = sheet
        self.column = column


class SeveralTablesError(FileReadError):
    """A workbook with figures on more than one sheet: which of them to load cannot be told."""

    rule = "one_sheet_of_figures"


#: where a cell was written: (row as the clerk sees it, the sheet's header or label as written)
Place = tuple[int | None, str | None]


@dataclass
class CellOrigins:
    """Where the cells of a table read into the long format from another layout (the
    departments' report, :mod:`etl.report_layout`) were written, so that a problem names the
    cell the clerk wrote (its row and the sheet's own header, or the label beside a value
    written above the table), never a long-format column the sheet does not have.

    ``records``: source row -> indicator code of each long-format record read from that row
    (in the order read) -> long-format column -> where that record's cell is. One row may give
    two records: an IIP row's year-to-date cell is the cumulative index. ``columns``:
    long-format column -> where it is for a problem naming no row: the header of the sheet's
    column (row None), or the labelled cell above the table (``Mã tỉnh:``). ``texts``: place of
    such a labelled cell -> its value as written (``01/2099`` for the period ``2099-01``),
    quoted instead of the value it was read as.
    """

    records: dict[int, dict[str, dict[str, Place]]]
    columns: dict[str, Place]
    texts: dict[Place, str] = field(default_factory=dict)

    def written(self, place: Place, value: str | None) -> str | None:
        """``value``, of the cell at ``place``, as the clerk wrote it where that is known."""
        return self.texts.get(place, value)

    def place(self, row: int | None, column: str | None, indicator: str | None = None) -> Place:
        """Where the cell of long-format ``column`` of the record of ``indicator`` at source
        ``row`` was written (the row's first record when ``indicator`` is not one of its).
        A column list (``region_code, indicator_code, period``) names the columns of the row
        itself (``Mã chỉ tiêu``): the others hold one value for the whole table."""
        if column is None:
            return row, column
        in_row = self.records.get(row) if row is not None else None
        cells = None
        if in_row:
            cells = in_row.get(indicator) if indicator in in_row else next(iter(in_row.values()))
        places = []
        for part in (c.strip() for c in column.split(",")):
            where, label = (cells or self.columns).get(part, (row, part))
            places.append((row if where is None else where, label))  # a header: the cell is in the row
        if len(places) == 1:
            return places[0]
        own = [label for where, label in places if where == row and label]
        return row, ", ".join(own) if own else column


@dataclass
class RawTable:
    """Cells of a submission as written. Text columns hold ``str``; for XLSX the
    numeric cells of a sheet stay Python numbers so they are never re-parsed."""

    frame: pd.DataFrame  # one column per header cell, plus ``source_row``
    sheet: str | None
    header_row: int
    directives: dict[str, str] = field(default_factory=dict)
    #: how the encoding was recognised when the file did not state it (stored as a warning)
    encoding_note: str | None = None
    #: problems the reader found in cells, as (row, column, value, rule, message), errors, or with a
    #: sixth item, their severity ("warning": a cell of a column that is not stored)
    problems: list[tuple] = field(default_factory=list)
    #: a report-layout file's own comparison figures (etl.report_layout.ReportedFigures)
    reported: object | None = None
    #: where each long-format cell was written in the sheet, for a table read from another
    #: layout (etl.report_layout); None when the file's own columns are the long format's
    origins: CellOrigins | None = None
    #: sheets in the workbook (None for a CSV)
    sheets_in_file: int | None = None


def column_key(header: object) -> str:
    """A header cell as the known column name it may be: lower case, ``_`` for spaces."""
    return re.sub(r"[\s_]+", "_", str(header).strip().lower())


@functools.lru_cache(maxsize=4)
def _known_columns(expectations_dir: Path) -> frozenset[str]:
    """The columns of the structure suites' ``known_columns`` rule, read once per folder (as
    JSON: checking the suites, which needs Great Expectations, is the validation's job)."""
    return frozenset(
        value for kind in ("monthly", "plan")
        for expectation in json.loads((expectations_dir / f"{kind}_structure.json").read_text(encoding="utf-8"))[
            "expectations"]
        if expectation["meta"]["rule"] == "known_columns" for value in expectation["kwargs"]["value_set"])


def known_column_names(headers) -> dict[str, str]:
    """Header -> the known column it names when written in another case or with spaces
    (``Region_Code``, ``Period``, ``department code``): a spreadsheet's header is typed by
    people, and ``period`` with a capital P is still the period. The known columns are those
    of the structure suites' ``known_columns`` rule; other headers are left as written."""
    from etl.config import load_settings

    known = _known_columns(load_settings().expectations_dir)
    renamed = {}
    for header in headers:
        name = column_key(header)
        if name in known and name != header:
            renamed[header] = name
    return renamed


def read_table(path: Path, *, encoding: str | None = None) -> RawTable:
    """``encoding``: what a CSV without byte-order mark that is not UTF-8 is written in
    (``statwh ingest --encoding``); see :func:`_decode`."""
    check_size(path)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".xlsx"):
        sheet_count = refuse_several_tables(path) if suffix == ".xlsx" else None
        try:
            table = read_csv(path, encoding=encoding) if suffix == ".csv" else read_xlsx(path, "region_code")
        except DamagedWorkbookError:
            raise  # no layout can be read from it either
        except FileReadError as error:
            table = error
        if isinstance(table, RawTable):
            table.frame = table.frame.rename(columns=known_column_names(table.frame.columns))
        if not (isinstance(table, RawTable) and "region_code" in table.frame.columns):
            from etl.report_layout import report_layout_or  # the departments' report layout (Chỉ tiêu, Đơn vị, ...)

            table = report_layout_or(path, table, encoding=encoding)
        table.sheets_in_file = sheet_count
        return table
    raise FileReadError(f"unsupported file type {suffix!r}; send .csv or .xlsx")


# --------------------------------------------------------------------------- size

#: a file larger than this is refused from its size alone, before it is read
#: (``STATWH_MAX_FILE_BYTES``); a province's month is a few thousand rows, well under 1 MB
DEFAULT_MAX_FILE_BYTES = 200 * 1024 * 1024


def max_file_bytes() -> int:
    raw = os.environ.get("STATWH_MAX_FILE_BYTES", "").strip()
    if not raw:
        return DEFAULT_MAX_FILE_BYTES
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"STATWH_MAX_FILE_BYTES must be a number of bytes, not {raw!r}") from None


def _size_text(size: int) -> str:
    return f"{size / (1024 * 1024):,.1f} MB" if size >= 1024 * 1024 else f"{size:,} bytes"


def check_size(path: Path) -> None:
    """Refuse an empty file, or one over :func:`max_file_bytes`, from ``stat()`` alone."""
    size = path.stat().st_size
    if size == 0:
        raise FileReadError("the file is empty (0 bytes)")
    limit = max_file_bytes()
    if size > limit:
        raise FileReadError(
            f"the file is {_size_text(size)} ({size:,} bytes), over the limit of {_size_text(limit)} "
            f"({limit:,} bytes, STATWH_MAX_FILE_BYTES), and was not read; send the figures in smaller "
            "files (e.g. one per month) or ask the warehouse administrator to raise the limit"
        )


# --------------------------------------------------------------------------- encodings
#
# A CSV's encoding is decided, never guessed wrongly, in this order:
#
# 1. a byte-order mark: UTF-8, or UTF-16 as Excel's "Unicode Text" writes it (tab separated);
# 2. UTF-8, if the bytes decode as UTF-8 (and hold no NUL: that is UTF-16 without a mark);
# 3. the encoding declared by a line ``# encoding: cp1258`` above the header, or by
#    ``statwh ingest --encoding``;
# 4. Windows-1258, the "ANSI" code page of a Vietnamese Windows (what Excel's plain "CSV"
#    writes there), when the bytes decode as Windows-1258 and every character outside ASCII
#    they then give is a Vietnamese letter (or common punctuation such as "–" or "₫").
#    Another 8-bit encoding (Windows-1252, the TCVN3 or VNI font encodings) gives symbols or
#    tone marks on no letter and is refused. A file read this way carries a note, stored as a
#    warning with its batch;
# 5. anything else is refused, naming the row of the first byte that is not UTF-8.

_BOMS = (  # UTF-32's marks first: they begin like UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"), (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"), (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)
_VIETNAMESE_LETTERS = frozenset(
    "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ"
    "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴĐ"
)
_PUNCTUATION_1258 = frozenset("\u00a0–—‘’“”…•°±×·€₫")
WINDOWS_1258_NOTE = (
    "the file is not UTF-8; it was read as Windows-1258 (Vietnamese Windows 'ANSI'), the encoding in "
    "which all its letters are Vietnamese. Save it as 'CSV UTF-8', or add a first line '# encoding: cp1258'"
)


def _row_of(data: bytes, offset: int, codec: str = "latin-1") -> int:
    return data[:offset].decode(codec, errors="replace").count("\n") + 1


def _declared_encoding(data: bytes, declared: str | None) -> str | None:
    """The encoding the caller names, else a ``# encoding:`` line above the header names."""
    if not declared:
        for line in data[: 1 << 16].split(b"\n"):
            text = line.decode("latin-1").strip()
            if text and not text.startswith("#"):
                break
            m = _DIRECTIVE.match(text)
            if m and m["key"].lower() in ("encoding", "charset"):
                declared = m["value"]
                break
    if not declared:
        return None
    try:
        return codecs.lookup(declared).name
    except LookupError:
        raise FileReadError(
            f"unknown encoding {declared!r} declared; declare 'cp1258' (Vietnamese Windows) or save the "
            "file as 'CSV UTF-8'"
        ) from None


def _as_windows_1258(data: bytes) -> str | None:
    try:
        text = unicodedata.normalize("NFC", data.decode("cp1258"))  # tone marks are separate in 1258
    except UnicodeDecodeError:
        return None
    beyond_ascii = {ch for ch in set(text) if ord(ch) > 127}
    if not beyond_ascii & _VIETNAMESE_LETTERS or beyond_ascii - _VIETNAMESE_LETTERS - _PUNCTUATION_1258:
        return None
    return text


def _decode(data: bytes, declared: str | None = None) -> tuple[str, bool, str | None]:
    """(text, whether ``data`` is the UTF-8 of ``text`` after any BOM, note); see above."""
    for bom, codec, label in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec), codec == "utf-8-sig", None
            except UnicodeDecodeError as exc:
                row = _row_of(data, exc.start, codec)
                raise FileReadError(
                    f"the file starts with a {label} byte-order mark but row {row} is not {label} "
                    f"(byte 0x{data[exc.start]:02x}); save it again as 'CSV UTF-8'", row=row,
                ) from exc
    not_utf8: UnicodeDecodeError | None = None
    try:
        text = data.decode("utf-8")
        if "\x00" not in text:
            return text, True, None
    except UnicodeDecodeError as exc:
        not_utf8 = exc
    encoding = _declared_encoding(data, declared)
    if encoding:
        try:
            return unicodedata.normalize("NFC", data.decode(encoding)), False, None
        except UnicodeDecodeError as exc:
            row = _row_of(data, exc.start)
            raise FileReadError(
                f"row {row} is not {encoding} as declared (byte 0x{data[exc.start]:02x}); save the file as "
                "'CSV UTF-8', or declare the encoding it is written in", row=row,
            ) from exc
    if b"\x00" in data:  # no text encoding but UTF-16 and UTF-32 writes NUL bytes
        row = _row_of(data, data.index(b"\x00"))
        raise FileReadError(
            f"row {row} holds NUL bytes: the file looks like UTF-16 without a byte-order mark; save it as "
            "'CSV UTF-8' (or Excel's 'Unicode Text'), or declare it with --encoding utf-16-le", row=row,
        )
    text = _as_windows_1258(data)
    if text is not None:
        return text, False, WINDOWS_1258_NOTE
    assert not_utf8 is not None
    row = _row_of(data, not_utf8.start)
    raise FileReadError(
        f"the file is not UTF-8 (byte 0x{data[not_utf8.start]:02x} at row {row}) and does not read as "
        "Vietnamese Windows-1258 either; save it as 'CSV UTF-8' (Excel: Save As > CSV UTF-8), or declare "
        "its encoding with a first line such as '# encoding: cp1258'", row=row,
    )


# --------------------------------------------------------------------------- CSV


def _sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (";", "\t", ",", "|")}
    best = max(counts, key=lambda d: counts[d])
    if counts[best] == 0:
        raise FileReadError("the header row has a single column; expected columns separated by , or ;", row=1)
    return best


def _is_plain_utf8(data: bytes) -> bool:
    """Whether ``data`` is UTF-8 (a UTF-8 byte-order mark allowed) without NUL bytes: exactly
    the files :func:`_decode` returns unchanged as UTF-8 with no note (other marks are not
    UTF-8, and a declared encoding only counts for files that are not). Checked by Arrow's
    validator, without making a Python string of the whole file."""
    if b"\x00" in data:
        return False
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    try:
        pa.LargeStringArray.from_buffers(1, offsets, pa.py_buffer(data)).validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def read_csv(path: Path, *, encoding: str | None = None) -> RawTable:
    data = path.read_bytes()
    if _is_plain_utf8(data):  # the usual file: no decoding into Python text at all
        raw = _read_csv_fast(data)
        if raw is not None:
            return _unnamed_columns(raw, lambda i: f"column {i + 1}")
    text, is_utf8, note = _decode(data, encoding)
    if not text or text.isspace():  # i.e. not text.strip(), without copying the file
        raise FileReadError("the file is empty")
    if not is_utf8:  # the fast reader reads UTF-8 bytes
        data = text.encode("utf-8")
    raw = _read_csv_fast(data) or _read_csv_lines(text)
    raw.encoding_note = note
    return _unnamed_columns(raw, lambda i: f"column {i + 1}")


# Where str.splitlines() breaks a line besides "\n" and "\r\n" (UTF-8 encoded).
_OTHER_LINE_BREAKS = (b"\x0b", b"\x0c", b"\x1c", b"\x1d", b"\x1e", "\x85".encode(), "\u2028".encode(),
                      "\u2029".encode())
_CSV_CELLS_AS_TEXT = {"strings_can_be_null": False, "quoted_strings_can_be_null": False}


def _parse_body(body: pa.Buffer | bytes, header: list[str], delimiter: str) -> pa.Table:
    names = [f"c{i}" for i in range(len(header))]

    def parse(block_size: int | None) -> pa.Table:
        return pacsv.read_csv(
            pa.BufferReader(body),
            read_options=pacsv.ReadOptions(column_names=names, **({"block_size": block_size} if block_size else {})),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, **_CSV_CELLS_AS_TEXT),
        )

    try:
        return parse(None)  # Arrow's blocks of 1 MB, parsed in parallel
    except pa.ArrowInvalid as exc:
        if "straddl" not in str(exc):
            raise
        # A row longer than a block (a note of a few MB pasted into a cell) cannot be split
        # between blocks: such a file is read as one block instead of failing.
        return parse(len(body) + 1)


def _read_csv_fast(data: bytes) -> RawTable | None:
    """The common case without splitting the file into Python strings: lines end in "\n" or
    "\r\n", there are no blank lines between the header and the last row, and Arrow reads
    the rest as it stands. Returns None for anything else; :func:`_read_csv_lines` then reads
    the file (and reports its problems) line by line, with the same result."""
    carriage_returns = data.count(b"\r")
    if any(b in data for b in _OTHER_LINE_BREAKS) or (carriage_returns and carriage_returns != data.count(b"\r\n")):
        return None
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0  # the BOM utf-8-sig dropped
    directives: dict[str, str] = {}
    line_number = 0
    while True:  # directive and blank lines above the header
        end = data.find(b"\n", start)
        raw_line = data[start:] if end < 0 else data[start:end]
        line = raw_line.decode("utf-8").removesuffix("\r")
        line_number += 1
        if line.strip() and not line.lstrip().startswith("#"):
            break
        m = _DIRECTIVE.match(line)
        if m:
            directives[m["key"].lower()] = m["value"]
        if end < 0:
            return None  # no header row
        start = end + 1
    body_start = len(data) if end < 0 else end + 1
    if data.endswith(b"\n", body_start) or body_start == len(data):
        body_lines = data.count(b"\n", body_start)
    else:
        body_lines = data.count(b"\n", body_start) + 1
    delimiter = _sniff_delimiter(line)
    if delimiter == "\t":
        return None  # a line of tabs is blank to the line reader but a row to Arrow
    header = [h.strip() for h in csv_cells(line, delimiter)]
    try:
        table = _parse_body(pa.py_buffer(data)[body_start:], header, delimiter)
    except pa.ArrowInvalid:
        return None
    if table.num_rows != body_lines:  # blank lines skipped: their row numbers need the line reader
        return None
    frame = table.to_pandas(types_mapper=pd.ArrowDtype)
    frame.columns = header
    frame["source_row"] = np.arange(line_number + 1, line_number + 1 + body_lines, dtype=np.int64)
    return RawTable(frame=frame, sheet=None, header_row=line_number, directives=directives)


def _read_csv_lines(text: str) -> RawTable:
    lines = text.splitlines()
    directives: dict[str, str] = {}
    header_index = 0
    while header_index < len(lines) and (
        not lines[header_index].strip() or lines[header_index].lstrip().startswith("#")
    ):
        m = _DIRECTIVE.match(lines[header_index])
        if m:
            directives[m["key"].lower()] = m["value"]
        header_index += 1
    if header_index >= len(lines):
        raise FileReadError("the file has no header row")
    delimiter = _sniff_delimiter(lines[header_index])
    header = [h.strip() for h in csv_cells(lines[header_index], delimiter)]
    header_row = header_index + 1
    body = "\n".join(lines[header_index + 1 :])
    # Row numbers must survive blank lines, which the fast reader drops.
    nonblank = np.array([bool(line.strip()) for line in lines[header_index + 1 :]], dtype=bool)
    source_rows = np.flatnonzero(nonblank) + header_row + 1
    try:
        if len(source_rows):
            table = _parse_body(body.encode("utf-8"), header, delimiter)
        else:  # a header and no data rows (Arrow reads no columns from nothing)
            table = pa.table({f"c{i}": pa.array([], pa.string()) for i in range(len(header))})
    except pa.ArrowInvalid as exc:
        raise _locate_csv_error(lines, header_index, delimiter, len(header)) from exc
    frame = table.to_pandas(types_mapper=pd.ArrowDtype)
    frame.columns = header
    if len(frame) != len(source_rows):
        raise FileReadError("a value spans several lines; remove line breaks inside cells")
    frame["source_row"] = source_rows
    return RawTable(frame=frame, sheet=None, header_row=header_row, directives=directives)


def csv_cells(line: str, delimiter: str) -> list[str]:
    """The cells of one CSV line. Python's csv module refuses a field longer than its limit
    (128 KiB), a process-wide setting: it is raised for this line only, so a long note is read
    (Arrow reads it too) rather than ending the ingest in a traceback."""
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, len(line) + 1))
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    finally:
        csv.field_size_limit(limit)


def _locate_csv_error(lines: list[str], header_index: int, delimiter: str, width: int) -> FileReadError:
    """Slow path, only after the fast reader refused the file: find the first bad row."""
    for offset, line in enumerate(lines[header_index + 1 :], start=header_index + 2):
        if not line.strip():
            continue
        cells = csv_cells(line, delimiter)
        if len(cells) != width:
            return FileReadError(
                f"row {offset} has {len(cells)} cells but the header has {width}", row=offset
            )
    return FileReadError("the CSV could not be parsed")


# --------------------------------------------------------------------------- XLSX


def shown_value(cell) -> object:
    """A spreadsheet cell's value as Excel shows it where the two differ: a number formatted as
    a percentage is stored as a fraction (99,5% typed into a ``0.0%`` cell is 0.995), and the
    clerk means the 99,5 they see."""
    value = cell.value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and "%" in str(cell.number_format or ""):
        return round(float(value) * 100, 10)
    return value


def _cell_text(value: object) -> object:
    """Keep numbers as numbers; give dates the ``YYYY-MM`` shape of a period; all else text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return f"{value.year:04d}-{value.month:02d}"
    if isinstance(value, (int, float)):
        return value
    return str(value)


#: a damaged workbook fails while its parts are read: zip, deflate and XML errors
#: (SyntaxError covers ElementTree's and lxml's parse errors)
_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, KeyError, SyntaxError)
#: non-empty rows looked at for the header: title rows (often merged across the table) may come first
HEADER_SEARCH_ROWS = 20


class DamagedWorkbookError(FileReadError):
    """An .xlsx file that is not a readable workbook at all."""


def _damaged(exc: Exception, sheet: str | None = None) -> FileReadError:
    where = f"sheet {sheet!r} is damaged: " if sheet else ""
    return DamagedWorkbookError(
        f"not a readable .xlsx workbook ({where}{exc.__class__.__name__}: {exc}); the file is damaged or not "
        "an Excel workbook: open it in Excel and save it again as 'Excel Workbook (.xlsx)'", sheet=sheet,
    )


def _long_format_header(rows, required_column: str | None) -> tuple[int, list[str], dict[str, str]] | None:
    """(row number, header cells, directives above it) of a sheet's long-format header: its
    first row, after ``# key: value`` directive lines, that holds ``required_column``, among
    the first :data:`HEADER_SEARCH_ROWS` rows with anything in them (title rows may come
    first). None if there is none. ``rows`` is the sheet's iterator of row values, left just
    after the header so the caller reads the data rows from it."""
    directives: dict[str, str] = {}
    title_rows = 0
    for row_number, row in enumerate(rows, start=1):
        cells = [c for c in row if c not in (None, "")]
        if not cells:
            continue
        first = str(cells[0])
        if first.lstrip().startswith("#"):
            m = _DIRECTIVE.match(first)
            if m:
                directives[m["key"].lower()] = m["value"]
            continue
        header = [str(c).strip() if c is not None else "" for c in row]
        while header and header[-1] == "":
            header.pop()
        if not required_column or required_column in {column_key(h) for h in header}:
            return row_number, header, directives
        title_rows += 1
        if title_rows >= HEADER_SEARCH_ROWS:
            return None
    return None


def refuse_several_tables(path: Path) -> int:
    """Refuse a workbook that has figures on more than one sheet; return how many sheets it has.

    Only one sheet of a file is read, so a second sheet of figures (next month's report on a
    copied sheet, a long-format table beside the report) would be left out without a word,
    bad cells included. A sheet holds figures when it has a table header: a long-format header
    with ``region_code``, or the report layout's (``Chỉ tiêu`` and ``Đơn vị``), found the way
    the readers find them. Other sheets (instructions, notes, empty) are fine."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    from etl.report_layout import HEADER_SEARCH_ROWS as REPORT_HEADER_SEARCH_ROWS
    from etl.report_layout import is_table_header

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, OSError, ValueError, *_DAMAGED) as exc:
        raise _damaged(exc) from exc
    tables: list[str] = []
    sheet_title = None
    try:
        for sheet in workbook.worksheets:
            sheet_title = sheet.title
            found = _long_format_header(sheet.iter_rows(values_only=True), "region_code")
            if found is not None:
                tables.append(f"{sheet.title!r} (header in row {found[0]})")
                continue
            for row_number, row in enumerate(sheet.iter_rows(max_row=REPORT_HEADER_SEARCH_ROWS, values_only=True),
                                             start=1):
                if is_table_header(row):
                    tables.append(f"{sheet.title!r} (report table, header in row {row_number})")
                    break
        count = len(workbook.worksheets)
    except _DAMAGED as exc:
        raise _damaged(exc, sheet_title) from exc
    finally:
        workbook.close()
    if len(tables) > 1:
        raise SeveralTablesError(
            f"the workbook has figures on {len(tables)} sheets, {', '.join(tables[:-1])} and {tables[-1]}: only "
            "one sheet of a file is read, and the others would be left out; send one sheet of figures per file "
            "(e.g. each month in its own file). Sheets of notes or instructions may stay"
        )
    return count


def read_xlsx(path: Path, required_column: str | None = None) -> RawTable:
    import openpyxl  # imported here: only XLSX submissions need it
    from openpyxl.utils import get_column_letter
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, OSError, ValueError, *_DAMAGED) as exc:
        raise _damaged(exc) from exc
    sheet_title = None
    try:
        for sheet in workbook.worksheets:
            sheet_title = sheet.title
            cell_rows = sheet.iter_rows()
            # the header is looked for in the cells' values; the data rows are read on from
            # cell_rows, where that search stopped, with their number formats
            found = _long_format_header((tuple(c.value for c in row) for row in cell_rows), required_column)
            if found is None:
                continue  # not this sheet
            row_number, header, directives = found
            records, source_rows = [], []
            for data_row_number, cells in enumerate(cell_rows, start=row_number + 1):
                data = [shown_value(c) for c in cells[: len(header)]]
                values = data + [None] * (len(header) - len(data))
                if all(v in (None, "") for v in values):
                    continue
                records.append([_cell_text(v) for v in values])
                source_rows.append(data_row_number)
            frame = pd.DataFrame(records, columns=header, dtype=object)
            frame["source_row"] = np.array(source_rows, dtype="int64")
            raw = RawTable(frame=frame, sheet=sheet.title, header_row=row_number, directives=directives)
            _check_sheet_xml(sheet, raw, header)
            return _unnamed_columns(raw, lambda i: get_column_letter(i + 1))
        raise FileReadError("no sheet has a header row" + (f" with {required_column!r}" if required_column else "")
                            + f" (sheets looked at: {', '.join(repr(s) for s in workbook.sheetnames)})")
    except _DAMAGED as exc:
        raise _damaged(exc, sheet_title) from exc
    finally:
        workbook.close()


# What openpyxl's read-only sheets do not report, read from the sheet's XML: merged cells
# (Excel keeps a merged range's value in its first cell only: the other cells read as
# empty) and formulas without a calculated value (a workbook written by a program that
# does not calculate, never opened and saved in Excel: the cell reads as empty). Either
# would silently change the figures, so the file is refused naming the cells.

_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")
_MERGE_CELL = re.compile(rb"<(?:\w+:)?mergeCell\b[^>]*?\bref=\"([A-Za-z]+[0-9]+(?::[A-Za-z]+[0-9]+)?)\"")


def _scan_sheet_xml(sheet) -> tuple[bool, set[str]]:
    """(whether the sheet has formulas, its merged ranges), in one pass over its XML."""
    has_formula, merged, tail = False, set(), b""
    with sheet._get_source() as source:
        while chunk := source.read(1 << 20):
            block = tail + chunk
            has_formula = has_formula or _FORMULA_TAG.search(block) is not None
            merged.update(ref.decode("ascii") for ref in _MERGE_CELL.findall(block))
            tail = block[-512:]  # an element cut by the chunk boundary is whole in the next block
    return has_formula, merged


def _uncalculated_formulas(sheet, below_row: int, width: int) -> list[str]:
    """Cells (``D7``) under ``below_row`` and within ``width`` columns that hold a formula
    but no calculated value."""
    from xml.etree.ElementTree import iterparse

    from openpyxl.utils.cell import coordinate_to_tuple

    found = []
    with sheet._get_source() as source:
        for _, element in iterparse(source):
            tag = element.tag.rpartition("}")[2]
            if tag == "row":
                element.clear()
            if tag != "c":
                continue
            children = {child.tag.rpartition("}")[2]: child for child in element}
            value = children.get("v")
            if "f" in children and (value is None or (not value.text and element.get("t") != "str")):
                ref = element.get("r")
                if ref:
                    row, column = coordinate_to_tuple(ref)
                    if row > below_row and column <= width:
                        found.append(ref)
    return found


def _check_sheet_xml(sheet, raw: RawTable, header: list[str]) -> None:
    from openpyxl.utils import get_column_letter
    from openpyxl.utils.cell import range_boundaries

    if not hasattr(sheet, "_get_source"):  # not a read-only sheet of a file
        return
    has_formula, merged = _scan_sheet_xml(sheet)
    width, header_row = len(header), raw.header_row

    def name(column: int) -> str:
        return header[column - 1] or get_column_letter(column)

    in_table = []
    for ref in merged:
        min_col, min_row, max_col, max_row = range_boundaries(ref)
        if max_row >= header_row and min_col <= width:  # title rows above the header may be merged
            in_table.append((min_row, min_col, ref))
    if in_table:
        in_table.sort()
        row, column, ref = in_table[0]
        others = f" (and {len(in_table) - 1} more merged ranges: {', '.join(r for *_, r in in_table[1:6])})" \
            if len(in_table) > 1 else ""
        if row <= header_row:
            message = (f"the header row {header_row} has merged cells {ref}{others}; unmerge them and give every "
                       "column its own name in one header row")
        else:
            message = (f"cells {ref} are merged{others}: Excel keeps the value only in {ref.split(':')[0]} and the "
                       "other cells read as empty; unmerge them and write the value in every row")
        raise FileReadError(message, row=max(row, header_row), sheet=sheet.title, column=name(column))
    if has_formula:
        _refuse_uncalculated_formulas(sheet, header_row, header)


def _refuse_uncalculated_formulas(sheet, header_row: int, header: list) -> None:
    """Raise for a cell under ``header_row`` and within the header's columns that holds a
    formula without a calculated value (read with ``data_only`` it would be empty)."""
    from openpyxl.utils import get_column_letter
    from openpyxl.utils.cell import coordinate_to_tuple

    cells = _uncalculated_formulas(sheet, header_row, len(header))
    if cells:
        row, column = coordinate_to_tuple(cells[0])
        listed = ", ".join(cells[:10]) + (f" and {len(cells) - 10} more" if len(cells) > 10 else "")
        raise FileReadError(
            f"cell {cells[0]} holds a formula without a calculated value ({len(cells)} such cells: {listed}): "
            "the workbook was saved by a program that does not calculate formulas. Open it in Excel and "
            "save it again, or paste the values instead of the formulas",
            row=row, sheet=sheet.title, column=str(header[column - 1] or get_column_letter(column)),
        )


def refuse_uncalculated_formulas_in(path: Path, sheet_title: str, header_row: int, header: list) -> None:
    """:func:`_refuse_uncalculated_formulas` for a sheet of a workbook on disk (for readers
    that opened it another way, such as the report-layout reader)."""
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = workbook[sheet_title]
        if _scan_sheet_xml(sheet)[0]:
            _refuse_uncalculated_formulas(sheet, header_row, header)
    finally:
        workbook.close()


# --------------------------------------------------------------------------- every reader


def _unnamed_columns(raw: RawTable, label) -> RawTable:
    """Columns without a name in the header row: dropped when they hold nothing (a trailing
    separator, an empty spreadsheet column); refused when they hold values (a header cell
    left empty, or merged with its neighbour)."""
    positions = [i for i, column in enumerate(raw.frame.columns) if column == ""]
    if not positions:
        return raw
    for i in positions:
        cells = raw.frame.iloc[:, i]
        filled = np.flatnonzero(cells.map(lambda v: str(v).strip() != "").to_numpy(dtype=bool))
        if len(filled):
            first = int(raw.frame["source_row"].iloc[filled[0]])
            raise FileReadError(
                f"{label(i)} has no name in the header row {raw.header_row} but holds values (first at row "
                f"{first}): a header cell left empty or merged with its neighbour? Give every column its own "
                "name in the header row", row=raw.header_row, sheet=raw.sheet, column=label(i),
            )
    raw.frame = raw.frame.iloc[:, [i for i in range(raw.frame.shape[1]) if i not in set(positions)]]
    return raw


def repeated_header_rows(raw: RawTable) -> list[int]:
    """Source rows of data rows that repeat the header row (ignoring case and spaces): two
    tables pasted one under the other, or a header repeated on every printed page."""
    names = [c for c in raw.frame.columns if c != "source_row"]
    if not names or raw.frame.empty:
        return []

    def same(column: str, rows) -> np.ndarray:
        cells = raw.frame[column] if rows is None else raw.frame[column].iloc[rows]
        return cells.map(lambda v: str(v).strip().casefold() == column.casefold()).to_numpy(dtype=bool)

    first = raw.frame[names[0]]
    dtype = first.dtype
    if isinstance(dtype, pd.ArrowDtype) and pa.types.is_string(dtype.pyarrow_dtype):
        import pyarrow.compute as pc

        cells = pc.utf8_lower(pc.utf8_trim_whitespace(pa.array(first.array)))
        candidates = np.flatnonzero(pc.equal(cells, names[0].lower()).to_numpy(zero_copy_only=False))
    else:
        candidates = np.flatnonzero(same(names[0], None))
    if not len(candidates):
        return []
    repeated = np.ones(len(candidates), dtype=bool)
    for column in names[1:]:
        repeated &= same(column, candidates)
    return [int(r) for r in raw.frame["source_row"].to_numpy()[candidates[repeated]]]
