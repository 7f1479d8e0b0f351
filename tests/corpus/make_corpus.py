"""Write the corpus of bad (and awkward but good) submission files that
``tests/test_bad_inputs.py`` sends through the whole ingest.

    .venv/bin/python tests/corpus/make_corpus.py [--to DIR]   # default: this folder

The output is byte-for-byte deterministic (fixed workbook dates and zip timestamps), so
the committed files can be checked against this script. What each file is, and what
ingest does with it:

=================================  =====================================================
file                               what is wrong with it
=================================  =====================================================
utf8_bom.csv                       UTF-8 with a byte-order mark (Excel's "CSV UTF-8"): loads
utf16_excel_unicode_text.csv       UTF-16 LE with BOM, tab separated, CRLF (Excel's "Unicode
                                   Text"): loads
windows1258.csv                    Windows-1258 (Vietnamese Windows' "CSV"), not declared:
                                   loads, with a warning saying how it was read
windows1258_declared.csv           the same with a first line ``# encoding: cp1258``: loads
vni_font_encoding.csv              Vietnamese in the VNI font encoding (not UTF-8, and not
                                   Vietnamese as Windows-1258): refused at its first such row
utf16_without_bom.csv              UTF-16 LE without byte-order mark: refused (NUL bytes)
missing_column.csv                 no ``unit`` column
extra_column.csv                   an unknown column ``tinh_thanh``
header_repeated.csv                the header row again in the middle of the data
header_title_row_merged.xlsx       a title row merged across the table above the header:
                                   the header is found below it; loads
header_cells_merged.xlsx           a two-row header with merged cells
data_cells_merged.xlsx             one region code merged down over three rows
text_in_numeric_cells.csv          ``khoảng 20 nghìn`` and ``n/a`` in the value column
period_thang.csv                   periods written ``Tháng 12/2021``, ``T11/2021``, ``10/2021``
formula_uncalculated.xlsx          formulas never calculated (no cached value)
formula_calculated.xlsx            formulas with the value Excel calculated: loads
empty.csv                          0 bytes
header_only.csv                    a header and no data rows
blank_workbook.xlsx                a workbook with nothing in it
duplicate_rows.csv                 the same region, indicator and month twice
unknown_codes.csv                  region 99 and indicator SALES
future_period.csv                  a period in 2099
corrupt_truncated.xlsx             a workbook cut off half-way (a broken download)
corrupt_not_a_workbook.xlsx        a CSV renamed .xlsx
corrupt_sheet_xml.xlsx             a zip whose sheet XML is broken
two_sheets_of_figures.xlsx         January on one sheet, February (one value unreadable) on
                                   another: refused naming both sheets, not half read
=================================  =====================================================

The file "far too large" is not here: the test makes a sparse one in a temporary folder.
"""

from __future__ import annotations

import argparse
import io
import re
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
HEADER = ["region_code", "indicator_code", "period", "value", "unit", "status", "note"]
#: three good rows (Bình Dương, 2021): Vietnamese numbers, units and notes
ROWS = [
    ["74", "RETAIL", "2021-01", "19.301,5", "tỷ đồng", "official", "Ước tính của Sở Công Thương"],
    ["74", "EXPORT", "2021-01", "2.500,0", "triệu USD", "estimate", "Số liệu sơ bộ"],
    ["74", "RETAIL", "2021-02", "18.002,3", "tỷ đồng", "official", ""],
]
FIXED_TIME = (2022, 1, 15, 8, 0, 0)


def _csv(rows: list[list[str]], sep: str = ";", eol: str = "\n", header: list[str] = HEADER) -> str:
    return "".join(sep.join(r) + eol for r in [header, *rows])


_TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"  # grave, acute, tilde, hook above, dot below


def _cp1258(text: str) -> bytes:
    """``text`` as Windows-1258 writes it: a letter with its vowel mark (ă, ơ, ê...) and the
    tone as a separate combining mark (Python's codec does not decompose by itself)."""
    import unicodedata

    out = []
    for ch in text:
        try:
            out.append(ch.encode("cp1258"))
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONE_MARKS))
        out.append((base + "".join(c for c in parts if c in _TONE_MARKS)).encode("cp1258"))
    return b"".join(out)


# --------------------------------------------------------------------------- workbooks


def _workbook_bytes(build) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    build(workbook)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _deterministic(data: bytes, edit=None) -> bytes:
    """The same zip with fixed timestamps (entries and workbook properties); ``edit(name,
    bytes)`` may change a part."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            part = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                part = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>2022-01-15T08:00:00Z", part)
            if edit:
                part = edit(info.filename, part)
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            target.writestr(entry, part)
    return out.getvalue()


def _sheet(workbook, title: str = "so_lieu"):
    sheet = workbook.active
    sheet.title = title
    return sheet


def _good_rows_as_cells() -> list[list]:
    """The good rows as a clerk types them into Excel: codes and numbers as numbers."""
    return [[74, "RETAIL", "2021-01", 19301.5, "tỷ đồng", "official", "Ước tính của Sở Công Thương"],
            [74, "EXPORT", "2021-01", 2500, "triệu USD", "estimate", "Số liệu sơ bộ"],
            [74, "RETAIL", "2021-02", 18002.3, "tỷ đồng", "official", None]]


def title_row_merged(workbook) -> None:
    sheet = _sheet(workbook)
    sheet.append(["BÁO CÁO SỐ LIỆU THÁNG — SỞ CÔNG THƯƠNG BÌNH DƯƠNG"])
    sheet.merge_cells("A1:G1")
    sheet.append([])
    sheet.append(HEADER)
    for row in _good_rows_as_cells():
        sheet.append(row)


def header_cells_merged(workbook) -> None:
    sheet = _sheet(workbook)
    sheet.append(["region_code", "indicator_code", "period", "Số liệu", None, "status", "note"])
    sheet.append([None, None, None, "value", "unit", None, None])
    for cell in ("A1:A2", "B1:B2", "C1:C2", "D1:E1", "F1:F2", "G1:G2"):
        sheet.merge_cells(cell)
    for row in _good_rows_as_cells():
        sheet.append(row)


def data_cells_merged(workbook) -> None:
    sheet = _sheet(workbook)
    sheet.append(HEADER)
    for row in _good_rows_as_cells():
        sheet.append(row)
    sheet["A3"] = None
    sheet["A4"] = None
    sheet.merge_cells("A2:A4")  # one "74" shown for three rows


def formulas(workbook) -> None:
    sheet = _sheet(workbook)
    sheet.append(HEADER)
    sheet.append([74, "RETAIL", "2021-01", "=10000+9301.5", "tỷ đồng", "official", "tổng hai quận"])
    sheet.append([74, "EXPORT", "2021-01", 2500, "triệu USD", "estimate", None])
    sheet.append([74, "RETAIL", "2021-02", "=D2-1299.2", "tỷ đồng", "official", None])


def _with_cached_values(name: str, part: bytes) -> bytes:
    """What Excel does on saving: each formula keeps the value it calculated."""
    if name != "xl/worksheets/sheet1.xml":
        return part
    cached = {b"D2": b"19301.5", b"D4": b"18002.3"}
    return re.sub(rb'(<c r="(D\d+)"[^>]*>)(<f>[^<]*</f>)<v\s*/>',
                  lambda m: m.group(1) + m.group(3) + b"<v>" + cached[m.group(2)] + b"</v>", part)


def _broken_sheet_xml(name: str, part: bytes) -> bytes:
    if name != "xl/worksheets/sheet1.xml":
        return part
    return part.replace(b"</sheetData>", b"<row r=\"9\"><c r=\"A9\"><v>1</c></row></sheetData>")


def simple_sheet(workbook) -> None:
    sheet = _sheet(workbook)
    sheet.append(HEADER)
    for row in _good_rows_as_cells():
        sheet.append(row)


def two_sheets_of_figures(workbook) -> None:
    january = _sheet(workbook, "Tháng 1")
    january.append(HEADER)
    for row in _good_rows_as_cells()[:2]:
        january.append(row)
    february = workbook.create_sheet("Tháng 2")
    february.append(HEADER)
    february.append(_good_rows_as_cells()[2])
    february.append([74, "EXPORT", "2021-02", "ba nghìn", "triệu USD", "official", None])


# --------------------------------------------------------------------------- the corpus


def corpus() -> dict[str, bytes]:
    good = _csv(ROWS)
    good_xlsx = _deterministic(_workbook_bytes(simple_sheet))
    files = {
        "utf8_bom.csv": b"\xef\xbb\xbf" + good.encode("utf-8"),
        "utf16_excel_unicode_text.csv": b"\xff\xfe" + _csv(ROWS, sep="\t", eol="\r\n").encode("utf-16-le"),
        "windows1258.csv": _cp1258(good),
        "windows1258_declared.csv": _cp1258("# encoding: cp1258\n" + good),
        # "tỷ đồng" and "Ước tính" as the VNI font encoding writes them
        "vni_font_encoding.csv": (_csv(ROWS[2:]).encode("utf-8").replace("ỷ đồng".encode(), b"y\xfb \xf1o\xe0ng")
                                  + b"74;EXPORT;2021-01;2.500,0;tri\xe6u USD;estimate;\xd6\xf9c t\xednh\n"),
        "utf16_without_bom.csv": good.encode("utf-16-le"),
        "missing_column.csv": _csv([r[:4] + r[5:] for r in ROWS],
                                   header=[h for h in HEADER if h != "unit"]).encode("utf-8"),
        "extra_column.csv": _csv([r + ["Bình Dương"] for r in ROWS], header=HEADER + ["tinh_thanh"]).encode("utf-8"),
        "header_repeated.csv": _csv(ROWS[:2] + [HEADER] + ROWS[2:]).encode("utf-8"),
        "header_title_row_merged.xlsx": _deterministic(_workbook_bytes(title_row_merged)),
        "header_cells_merged.xlsx": _deterministic(_workbook_bytes(header_cells_merged)),
        "data_cells_merged.xlsx": _deterministic(_workbook_bytes(data_cells_merged)),
        "text_in_numeric_cells.csv": _csv([ROWS[0], ROWS[1][:3] + ["khoảng 20 nghìn"] + ROWS[1][4:],
                                           ROWS[2][:3] + ["n/a"] + ROWS[2][4:]]).encode("utf-8"),
        "period_thang.csv": _csv([ROWS[0][:2] + ["Tháng 12/2021"] + ROWS[0][3:],
                                  ROWS[1][:2] + ["T11/2021"] + ROWS[1][3:],
                                  ROWS[2][:2] + ["10/2021"] + ROWS[2][3:]]).encode("utf-8"),
        "formula_uncalculated.xlsx": _deterministic(_workbook_bytes(formulas)),
        "formula_calculated.xlsx": _deterministic(_workbook_bytes(formulas), _with_cached_values),
        "empty.csv": b"",
        "header_only.csv": _csv([]).encode("utf-8"),
        "blank_workbook.xlsx": _deterministic(_workbook_bytes(lambda wb: None)),
        "duplicate_rows.csv": _csv(ROWS + [ROWS[0][:3] + ["19.310,0"] + ROWS[0][4:]]).encode("utf-8"),
        "unknown_codes.csv": _csv([ROWS[0], ["99"] + ROWS[1][1:], ROWS[2][:1] + ["SALES"] + ROWS[2][2:]])
        .encode("utf-8"),
        "future_period.csv": _csv(ROWS[:2] + [ROWS[2][:2] + ["2099-01"] + ROWS[2][3:]]).encode("utf-8"),
        "corrupt_truncated.xlsx": good_xlsx[: len(good_xlsx) // 2],
        "corrupt_not_a_workbook.xlsx": good.encode("utf-8"),
        "corrupt_sheet_xml.xlsx": _deterministic(_workbook_bytes(simple_sheet), _broken_sheet_xml),
        "two_sheets_of_figures.xlsx": _deterministic(_workbook_bytes(two_sheets_of_figures)),
    }
    return files


def write_corpus(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in sorted(corpus().items()):
        (folder / name).write_bytes(data)
        written.append(folder / name)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--to", type=Path, default=HERE)
    args = parser.parse_args(argv)
    for path in write_corpus(args.to):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
