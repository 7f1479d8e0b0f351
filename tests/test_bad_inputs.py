"""The corpus of bad inputs (``tests/corpus``, written by ``make_corpus.py``) through the whole
ingest: each bad file is refused with a message naming where the problem is (sheet, row,
column) and leaves every data table as it was; the awkward but good ones (other encodings,
a title row above the header, calculated formulas) load with the right Vietnamese text and
numbers. And the history of data quality: every check's result is stored with its batch."""

from __future__ import annotations

import datetime as dt
import importlib.util
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from etl import readers
from etl.pipeline import ingest_file
from etl.quality import load_checks
from etl.warehouse import WAREHOUSE_TABLES, table_contents
from tests.conftest import SAMPLE_DIR

CORPUS = Path(__file__).resolve().parent / "corpus"
DATA_TABLES = tuple(t for t in WAREHOUSE_TABLES if not t.startswith("dw.audit"))
ON_BOTH = pytest.mark.parametrize("warehouse_url", ["duckdb", "postgresql"], indirect=True)
ON_DUCKDB = pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)

# name: problems expected among those reported, as (sheet, row, column, rule, words in the message)
REJECTED = {
    "vni_font_encoding.csv": [(None, 2, None, "file_readable", "not UTF-8 (byte 0xfb at row 2)")],
    "utf16_without_bom.csv": [(None, 1, None, "file_readable", "UTF-16 without a byte-order mark")],
    "missing_column.csv": [(None, 1, "header", "required_columns", "'unit' is missing")],
    "extra_column.csv": [(None, 1, "header", "known_columns", "unknown column")],
    "header_repeated.csv": [(None, 4, None, "header_not_repeated", "repeats the header row (row 1)")],
    "header_cells_merged.xlsx": [("so_lieu", 1, "region_code", "file_readable",
                                  "the header row 1 has merged cells A1:A2")],
    "data_cells_merged.xlsx": [("so_lieu", 2, "region_code", "file_readable",
                                "cells A2:A4 are merged: Excel keeps the value only in A2")],
    "text_in_numeric_cells.csv": [(None, 3, "value", "number_readable", "not a number"),
                                  (None, 4, "value", "number_readable", "not a number")],
    "period_thang.csv": [(None, 2, "period", "period_format", "write this period as 2021-12 (YYYY-MM)"),
                         (None, 3, "period", "period_format", "write this period as 2021-11"),
                         (None, 4, "period", "period_format", "write this period as 2021-10")],
    "formula_uncalculated.xlsx": [("so_lieu", 2, "value", "file_readable",
                                   "cell D2 holds a formula without a calculated value (2 such cells: D2, D4)")],
    "empty.csv": [(None, None, None, "file_readable", "the file is empty (0 bytes)")],
    "header_only.csv": [(None, 1, None, "not_empty", "no data rows")],
    "blank_workbook.xlsx": [(None, None, None, "file_readable", "no sheet has a header row with 'region_code'")],
    "duplicate_rows.csv": [(None, 2, "region_code, indicator_code, period", "one_figure_per_region_indicator_month",
                            "more than once"),
                           (None, 5, "region_code, indicator_code, period", "one_figure_per_region_indicator_month",
                            "more than once")],
    "unknown_codes.csv": [(None, 3, "region_code", "known_region_code", "unknown region code"),
                          (None, 4, "indicator_code", "known_indicator_code", "unknown indicator code")],
    "future_period.csv": [(None, 4, "period", "period_not_in_future", "in the future")],
    "corrupt_truncated.xlsx": [(None, None, None, "file_readable", "not a readable .xlsx workbook (BadZipFile")],
    "corrupt_not_a_workbook.xlsx": [(None, None, None, "file_readable", "not a readable .xlsx workbook")],
    "corrupt_sheet_xml.xlsx": [("so_lieu", None, None, "file_readable", "sheet 'so_lieu' is damaged")],
    "two_sheets_of_figures.xlsx": [(None, None, None, "one_sheet_of_figures",
                                    "figures on 2 sheets, 'Tháng 1' (header in row 1) and 'Tháng 2' (header in "
                                    "row 1): only one sheet of a file is read")],
}
#: only these problems, nothing else (a clear message, not a cascade)
ONLY = {"vni_font_encoding.csv", "utf16_without_bom.csv", "missing_column.csv", "header_repeated.csv",
        "header_cells_merged.xlsx", "data_cells_merged.xlsx", "period_thang.csv", "formula_uncalculated.xlsx",
        "empty.csv", "header_only.csv", "corrupt_truncated.xlsx", "two_sheets_of_figures.xlsx"}

NOTES = ("Ước tính của Sở Công Thương", "Số liệu sơ bộ", "")
# name: (warnings expected, notes of the three figures)
LOADED = {
    "utf8_bom.csv": ([], NOTES),
    "utf16_excel_unicode_text.csv": ([], NOTES),
    "windows1258.csv": (["encoding_utf8_or_declared"], NOTES),
    "windows1258_declared.csv": ([], NOTES),
    "header_title_row_merged.xlsx": ([], NOTES),
    "formula_calculated.xlsx": ([], ("tổng hai quận", "", "")),
}
BOTH_DIALECTS = {"header_repeated.csv", "formula_uncalculated.xlsx", "corrupt_truncated.xlsx",
                 "windows1258.csv", "utf16_excel_unicode_text.csv"}


def _cases(names):
    return [pytest.param(name, dialect, id=f"{name}-{dialect}") for name in sorted(names)
            for dialect in (("duckdb", "postgresql") if name in BOTH_DIALECTS else ("duckdb",))]


def _land(landing: Path, name: str) -> Path:
    return Path(shutil.copy2(CORPUS / name, landing / name))


def _figures(engine, batch_key: int) -> list[tuple]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT i.indicator_code, f.month_key, f.value_reported, f.unit_reported, f.note "
            "FROM dw.fct_monthly_figure_version AS f JOIN dw.dim_indicator AS i USING (indicator_key) "
            "JOIN dw.dim_region AS r USING (region_key) WHERE f.batch_key = :b AND r.region_code = '74' "
            "ORDER BY f.source_row"), {"b": batch_key}).fetchall()
    return [tuple(r) for r in rows]


def _check_results(engine, batch_key: int) -> dict[tuple[str, str], tuple]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT suite_name, rule, success, element_count, unexpected_count FROM dw.audit_check_result "
            "WHERE batch_key = :b"), {"b": batch_key}).fetchall()
    return {(r[0], r[1]): tuple(r[2:]) for r in rows}


def test_the_corpus_is_what_make_corpus_writes(tmp_path):
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = {p.name: p.read_bytes() for p in module.write_corpus(tmp_path)}
    committed = {p.name: p.read_bytes() for p in CORPUS.iterdir() if p.suffix in (".csv", ".xlsx")}
    assert written.keys() == committed.keys() == set(REJECTED) | set(LOADED)
    assert [name for name in written if written[name] != committed[name]] == []


@pytest.mark.parametrize(("name", "warehouse_url"), _cases(REJECTED), indirect=["warehouse_url"])
def test_a_bad_file_is_refused_naming_where_and_nothing_is_loaded(engine, landing, statwh_home, name):
    before = table_contents(engine, DATA_TABLES)
    result = ingest_file(_land(landing, name), engine, move=True)

    assert result.status == "rejected", result.problems
    found = [(p["sheet"], p["row"], p["column"], p["rule"], p["message"]) for p in result.problems]
    for sheet, row, column, rule, words in REJECTED[name]:
        assert any((s, r, c, u) == (sheet, row, column, rule) and words in m for s, r, c, u, m in found), found
    if name in ONLY:
        assert len(found) == len(REJECTED[name]), found
    assert table_contents(engine, DATA_TABLES) == before                  # nothing half-loaded
    kept = statwh_home / "quarantine" / Path(result.kept_at).name
    assert kept.read_bytes() == (CORPUS / name).read_bytes()            # kept as sent
    checks = _check_results(engine, result.batch_key)                   # every broken rule is a failed check
    for rule in {p["rule"] for p in result.problems if p["severity"] == "error"}:
        assert any(r == rule and not outcome[0] for (_, r), outcome in checks.items()), (rule, checks)


@pytest.mark.parametrize(("name", "warehouse_url"), _cases(LOADED), indirect=["warehouse_url"])
def test_other_encodings_title_rows_and_calculated_formulas_load_right(engine, landing, name):
    warnings, notes = LOADED[name]
    result = ingest_file(_land(landing, name), engine, move=True)

    assert result.status == "loaded", result.problems
    assert [p["rule"] for p in result.problems] == warnings
    assert all(p["severity"] == "warning" for p in result.problems)
    figures = _figures(engine, result.batch_key)
    assert [f[:4] for f in figures] == [("RETAIL", 202101, 19301.5, "tỷ đồng"),
                                        ("EXPORT", 202101, 2500.0, "triệu USD"),
                                        ("RETAIL", 202102, 18002.3, "tỷ đồng")]
    assert tuple(f[4] or "" for f in figures) == notes                 # Vietnamese text as written, NFC
    checks = _check_results(engine, result.batch_key)
    assert checks[("reading", "file_readable")][0] and checks[("monthly", "known_region_code")][0]
    if warnings:
        assert checks[("reading", "encoding_utf8_or_declared")][:1] == (False,)
        message = result.problems[0]["message"]
        assert "Windows-1258" in message and "# encoding: cp1258" in message


@ON_DUCKDB
def test_windows_1258_is_read_when_declared_on_the_command_line(engine, landing, tmp_path):
    path = landing / "khong_khai_bao.csv"
    path.write_bytes((CORPUS / "windows1258.csv").read_bytes())
    result = ingest_file(path, engine, encoding="cp1258")
    assert (result.status, result.problems) == ("loaded", [])
    assert _figures(engine, result.batch_key)[0][3:] == ("tỷ đồng", "Ước tính của Sở Công Thương")


@ON_BOTH
def test_a_file_far_too_large_is_refused_from_its_size_without_being_read(engine, landing, monkeypatch):
    monkeypatch.setenv("STATWH_MAX_FILE_BYTES", str(1024 * 1024))
    path = landing / "ca_nam_toan_quoc.csv"
    with path.open("wb") as handle:                      # a header, then a sparse 3 MB: nothing written
        handle.write(b"region_code;indicator_code;period;value;unit;status\n")
        handle.truncate(3 * 1024 * 1024)

    def must_not_read(*args, **kwargs):
        raise AssertionError("a file over the limit was read")

    monkeypatch.setattr(readers, "read_csv", must_not_read)
    before = table_contents(engine, DATA_TABLES)
    result = ingest_file(path, engine, move=True)

    assert result.status == "rejected"
    [problem] = result.problems
    assert (problem["row"], problem["column"], problem["rule"]) == (None, None, "file_readable")
    assert "the file is 3.0 MB (3,145,728 bytes), over the limit of 1.0 MB (1,048,576 bytes" in problem["message"]
    assert "STATWH_MAX_FILE_BYTES" in problem["message"]
    assert table_contents(engine, DATA_TABLES) == before


def test_the_default_limit_refuses_a_sparse_file_just_over_it(tmp_path, monkeypatch):
    monkeypatch.delenv("STATWH_MAX_FILE_BYTES", raising=False)
    path = tmp_path / "big.xlsx"
    with path.open("wb") as handle:
        handle.truncate(readers.DEFAULT_MAX_FILE_BYTES + 1)
    with pytest.raises(readers.FileReadError, match=r"over the limit of 200\.0 MB"):
        readers.read_table(path)
    path.write_bytes(b"region_code;value\n74;1\n")
    readers.check_size(path)                               # a small file passes


# --------------------------------------------------------------------------- history of data quality


@ON_BOTH
def test_a_rule_made_critical_within_a_month_shows_as_error_over_time(engine):
    """The steward raised the rule from warning to critical mid-month: the month's row says error."""
    with engine.begin() as conn:
        for batch_key, severity, day in ((901, "warning", 3), (902, "error", 20)):
            conn.execute(sa.text(
                "INSERT INTO dw.audit_load_batch (batch_key, file_name, file_sha256, status, rows_in_file, "
                "rows_new_version, rows_unchanged, problem_count, recorded_at) "
                "VALUES (:b, :f, :f, 'loaded', 1, 1, 0, 0, :t)"), {"b": batch_key, "f": f"f{batch_key}", "t": dt.datetime(2022, 3, day)})
            conn.execute(sa.text(
                "INSERT INTO dw.audit_check_result (batch_key, suite_name, rule, severity, success, element_count, "
                "unexpected_count, recorded_at) VALUES (:b, 'statistical_checks', 'probable_unit_slip', :s, TRUE, 1, 0, :t)"),
                {"b": batch_key, "s": severity, "t": dt.datetime(2022, 3, day)})
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT severity, batches_checked FROM analytics.v_data_quality_over_time "
                                   "WHERE recorded_month_key = 202203")).one()
    assert tuple(row) == ("error", 2)


@ON_BOTH
def test_every_check_result_is_stored_with_its_batch_and_queryable_over_time(engine, landing):
    january, february = dt.datetime(2022, 1, 10, 8), dt.datetime(2022, 2, 3, 9)
    batches = {}
    for offset, path in enumerate(sorted(SAMPLE_DIR.iterdir())):
        copy = Path(shutil.copy2(path, landing / path.name))
        batches[path.name] = ingest_file(copy, engine, recorded_at=january + dt.timedelta(minutes=offset))
    assert {r.status for r in batches.values()} == {"loaded"}
    bad = ingest_file(_land(landing, "unknown_codes.csv"), engine, recorded_at=february)
    assert bad.status == "rejected"

    with engine.connect() as conn:
        per_batch = conn.execute(sa.text(
            "SELECT batch_key, suite_name, COUNT(*), COUNT(DISTINCT rule) FROM dw.audit_check_result "
            "GROUP BY batch_key, suite_name")).fetchall()
        over_time = conn.execute(sa.text(
            "SELECT recorded_month_key, suite_name, rule, severity, batches_checked, batches_failing, rows_failing, "
            "batches_rejected FROM analytics.v_data_quality_over_time")).fetchall()
    suites = {}
    for batch_key, suite, rows, rules in per_batch:
        assert rows == rules                                             # one row per batch x suite x rule
        suites.setdefault(batch_key, set()).add(suite)
    monthly = [r.batch_key for n, r in batches.items() if "plan" not in n]
    plan = batches["plan_targets_2021-2022.csv"].batch_key
    for batch_key in monthly:
        assert suites[batch_key] == {"reading", "monthly_structure", "monthly", "revision_policy", "statistical_checks"}
    assert suites[plan] == {"reading", "plan_structure", "plan"}
    assert suites[bad.batch_key] == {"reading", "monthly_structure", "monthly"}  # refused before loading

    view = {(m, s, r): rest for m, s, r, *rest in over_time}
    assert view[(202201, "monthly", "known_region_code")] == ["error", 2, 0, 0, 0]
    assert view[(202202, "monthly", "known_region_code")] == ["error", 1, 1, 1, 1]
    assert view[(202202, "monthly", "known_indicator_code")] == ["error", 1, 1, 1, 1]
    assert view[(202202, "monthly", "status_known")] == ["error", 1, 0, 0, 1]   # passed, in a rejected batch
    assert view[(202201, "reading", "file_readable")] == ["error", 3, 0, 0, 0]
    assert view[(202201, "plan", "known_region_code")] == ["error", 1, 0, 0, 0]
    for check in load_checks():
        severity, checked = view[(202201, "statistical_checks", check["rule"])][:2]
        assert checked == 2 and severity in ("warning", "error", "info")
    assert (202202, "statistical_checks", "probable_unit_slip") not in view   # never reached: rejected before

    with engine.connect() as conn:                      # every problem stored is a failed check of its batch
        unmatched = conn.execute(sa.text(
            "SELECT p.batch_key, p.rule FROM dw.audit_problem AS p WHERE NOT EXISTS ("
            " SELECT 1 FROM dw.audit_check_result AS c WHERE c.batch_key = p.batch_key AND c.rule = p.rule"
            " AND NOT c.success)")).fetchall()
    assert unmatched == []


@ON_BOTH
def test_a_file_refused_as_not_utf8_is_read_again_in_the_encoding_the_caller_names(engine, landing):
    """Windows-1252 (not Vietnamese, so not recognised): refused; ``--encoding cp1252`` reads the
    same bytes again instead of the steward re-saving the file. A reading that is refused again
    is recorded once: the same bytes, read the same way (however the encoding is spelled), get
    that earlier answer."""
    path = landing / "nha_may.csv"
    path.write_bytes("region_code;indicator_code;period;value;unit;status;note\n"
                     "74;WIND_MW;2021-06;1,5;MW;official;Nhà máy Müller\n".encode("cp1252"))
    refused = ingest_file(path, engine)
    assert refused.status == "rejected" and "not UTF-8" in refused.problems[0]["message"]
    assert ingest_file(path, engine).duplicate_of_status == "rejected"

    misread = ingest_file(path, engine, encoding="ascii")         # a wrong guess is read, and refused...
    assert misread.status == "rejected" and misread.batch_key > refused.batch_key
    assert "not ascii as declared" in misread.problems[0]["message"]
    for spelling in ("ascii", "US-ASCII"):                        # ... and asking the same again changes nothing
        again = ingest_file(path, engine, encoding=spelling)
        assert (again.status, again.batch_key, again.problems) == ("duplicate", misread.batch_key, misread.problems)

    loaded = ingest_file(path, engine, encoding="cp1252")
    assert (loaded.status, loaded.problems) == ("loaded", [])
    assert _figures(engine, loaded.batch_key) == [("WIND_MW", 202106, 1.5, "MW", "Nhà máy Müller")]
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT status, reading_options FROM dw.audit_load_batch ORDER BY batch_key")
                            ).fetchall() == [("rejected", None), ("rejected", "encoding=ascii"),
                                             ("loaded", "encoding=cp1252")]
