"""Reading submission files (CSV, XLSX) into a table of cells with their source positions.

Nothing here interprets numbers or codes: a reader only finds the header, the
data rows and where each came from (sheet and spreadsheet row number, counting
the header as a row, as a clerk sees it when opening the file), plus any
``# key: value`` directive lines above the header (``# number_format: vi``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
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

    def __init__(self, message: str, *, row: int | None = None, sheet: str | None = None):
        super().__init__(message)
        self.row = row
        self.sheet = sheet


@dataclass
class RawTable:
    """Cells of a submission as written. Text columns hold ``str``; for XLSX the
    numeric cells of a sheet stay Python numbers so they are never re-parsed."""

    frame: pd.DataFrame  # one column per header cell, plus ``source_row``
    sheet: str | None
    header_row: int
    directives: dict[str, str] = field(default_factory=dict)


def read_table(path: Path) -> RawTable:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_csv(path)
    if suffix == ".xlsx":
        return read_xlsx(path, required_column="region_code")
    raise FileReadError(f"unsupported file type {suffix!r}; send .csv or .xlsx")


# --------------------------------------------------------------------------- CSV


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileReadError(
            f"not UTF-8: byte 0x{data[exc.start]:02x} at row {line}; save the file as UTF-8 CSV",
            row=line,
        ) from exc


def _sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (";", "\t", ",", "|")}
    best = max(counts, key=lambda d: counts[d])
    if counts[best] == 0:
        raise FileReadError("the header row has a single column; expected columns separated by , or ;", row=1)
    return best


def read_csv(path: Path) -> RawTable:
    text = _decode(path.read_bytes())
    if not text.strip():
        raise FileReadError("the file is empty")
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
    header = [h.strip() for h in next(csv.reader([lines[header_index]], delimiter=delimiter))]
    header_row = header_index + 1
    body = "\n".join(lines[header_index + 1 :])
    # Row numbers must survive blank lines, which the fast reader drops.
    nonblank = np.array([bool(line.strip()) for line in lines[header_index + 1 :]], dtype=bool)
    source_rows = np.flatnonzero(nonblank) + header_row + 1
    try:
        table = pacsv.read_csv(
            io.BytesIO(body.encode("utf-8")),
            read_options=pacsv.ReadOptions(column_names=[f"c{i}" for i in range(len(header))]),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types={f"c{i}": pa.string() for i in range(len(header))},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise _locate_csv_error(lines, header_index, delimiter, len(header)) from exc
    frame = table.to_pandas(types_mapper=pd.ArrowDtype)
    frame.columns = header
    if len(frame) != len(source_rows):
        raise FileReadError("a value spans several lines; remove line breaks inside cells")
    frame["source_row"] = source_rows
    return RawTable(frame=frame, sheet=None, header_row=header_row, directives=directives)


def _locate_csv_error(lines: list[str], header_index: int, delimiter: str, width: int) -> FileReadError:
    """Slow path, only after the fast reader refused the file: find the first bad row."""
    for offset, line in enumerate(lines[header_index + 1 :], start=header_index + 2):
        if not line.strip():
            continue
        cells = next(csv.reader([line], delimiter=delimiter))
        if len(cells) != width:
            return FileReadError(
                f"row {offset} has {len(cells)} cells but the header has {width}", row=offset
            )
    return FileReadError("the CSV could not be parsed")


# --------------------------------------------------------------------------- XLSX


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


def read_xlsx(path: Path, required_column: str | None = None) -> RawTable:
    import openpyxl  # imported here: only XLSX submissions need it
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise FileReadError(f"not a readable .xlsx workbook ({exc.__class__.__name__}: {exc})") from exc
    try:
        for sheet in workbook.worksheets:
            rows = sheet.iter_rows(values_only=True)
            directives: dict[str, str] = {}
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
                if required_column and required_column not in header:
                    break  # not this sheet
                records, source_rows = [], []
                for data_row_number, data in enumerate(rows, start=row_number + 1):
                    values = list(data[: len(header)]) + [None] * (len(header) - len(data))
                    if all(v in (None, "") for v in values):
                        continue
                    records.append([_cell_text(v) for v in values])
                    source_rows.append(data_row_number)
                frame = pd.DataFrame(records, columns=header, dtype=object)
                frame["source_row"] = np.array(source_rows, dtype="int64")
                return RawTable(frame=frame, sheet=sheet.title, header_row=row_number, directives=directives)
        raise FileReadError("no sheet has a header row" + (f" with {required_column!r}" if required_column else ""))
    finally:
        workbook.close()
