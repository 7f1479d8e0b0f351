"""Ingest against a real warehouse (DuckDB and PostgreSQL): rejections that name where the
problem is and change nothing, idempotency, versions, incomplete years, atomic batches."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import re
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openpyxl
import pandas as pd
import psycopg
import pytest
import sqlalchemy as sa

import etl.pipeline

from etl.pipeline import ingest_file, ingest_paths, run_landing
from etl.queries import annual_rollup, plan_gap
from etl.warehouse import (WAREHOUSE_TABLES, lock_batches, make_engine, prepare_warehouse, rebuild_rollups,
                           table_contents)
from tests.conftest import REPO, SAMPLE_DIR, refuse_inserts, write_csv

HEADER = "region_code;indicator_code;period;value;unit;status\n"
PLAN_HEADER = "region_code;indicator_code;year;target_kind;target_value;unit\n"
DATA_TABLES = tuple(t for t in WAREHOUSE_TABLES if not t.startswith("dw.audit"))


def test_the_same_files_twice_leave_every_table_as_it_was(engine, sample_in_landing):
    ingest_paths(sample_in_landing, engine)
    first = table_contents(engine, WAREHOUSE_TABLES)
    again = ingest_paths(sample_in_landing, engine)
    assert again.counts == {"loaded": 0, "rejected": 0, "duplicate": 3}
    assert table_contents(engine, WAREHOUSE_TABLES) == first


def test_the_landing_run_twice_changes_nothing_and_archives_files(engine, statwh_home, sample_in_landing):
    summary = run_landing(engine)
    assert summary.counts["loaded"] == 3
    assert list((statwh_home / "landing").iterdir()) == []
    archived = sorted(p.name.split("_", 1)[1] for p in (statwh_home / "archive").iterdir())
    assert archived == sorted(p.name for p in SAMPLE_DIR.iterdir())
    state = table_contents(engine, WAREHOUSE_TABLES)
    for path in SAMPLE_DIR.iterdir():  # a department sends the same files again
        shutil.copy2(path, statwh_home / "landing" / path.name)
    again = run_landing(engine)
    assert again.counts == {"loaded": 0, "rejected": 0, "duplicate": 3}
    assert table_contents(engine, WAREHOUSE_TABLES) == state
    assert list((statwh_home / "landing").iterdir()) == []


BAD_FILES = {
    # name: (content, expected (row, column, rule) among the problems)
    "unknown_codes.csv": (HEADER + "74;RETAIL;2021-01;19.301,5;tỷ đồng;official\n99;RETAIL;2021-02;1,5;tỷ đồng;official\n"
                          "74;SALES;2021-03;1,5;tỷ đồng;official\n",
                          [(3, "region_code", "known_region_code"), (4, "indicator_code", "known_indicator_code")]),
    "text_in_number.csv": (HEADER + "74;RETAIL;2021-01;19.301,5;tỷ đồng;official\n74;RETAIL;2021-02;khoảng 20 nghìn;tỷ đồng;official\n",
                           [(3, "value", "number_readable")]),
    "future_and_bad_period.csv": (HEADER + "74;RETAIL;2099-01;1,5;tỷ đồng;official\n74;RETAIL;Tháng 12/2021;1,5;tỷ đồng;official\n",
                                  [(2, "period", "period_not_in_future"), (3, "period", "period_format")]),
    "duplicates.csv": (HEADER + "74;RETAIL;2021-01;1,5;tỷ đồng;official\n74;RETAIL;2021-01;1,6;tỷ đồng;official\n",
                       [(2, "region_code, indicator_code, period", "one_figure_per_region_indicator_month"),
                        (3, "region_code, indicator_code, period", "one_figure_per_region_indicator_month")]),
    "wrong_unit_negative_percent.csv": (HEADER + "74;RETAIL;2021-01;1,5;triệu USD;official\n74;EXPORT;2021-01;-3,5;triệu USD;official\n"
                                        "74;HH_ELECTRIFIED_PCT;2021-01;100,5;%;official\n",
                                        [(2, "unit", "unit_allowed_for_indicator"), (3, "value", "flow_not_negative"),
                                         (4, "value", "percentage_within_0_100")]),
    "ambiguous_numbers.csv": (HEADER + "74;RETAIL;2021-01;231.578;tỷ đồng;official\n74;RETAIL;2021-02;19.301;tỷ đồng;official\n",
                              [(2, "value", "number_format_unambiguous"), (3, "value", "number_format_unambiguous")]),
    "missing_column.csv": ("region_code;indicator_code;period;value;status\n74;RETAIL;2021-01;1,5;official\n",
                           [(1, "header", "required_columns")]),
    "merged_province.csv": (HEADER + "74;RETAIL;2025-08;1,5;tỷ đồng;official\n",
                            [(2, "region_code", "region_in_force_for_period")]),
    "empty.csv": ("", [(None, None, "file_readable")]),
}


def test_headers_typed_in_another_case_or_with_spaces_name_the_same_columns(engine, landing):
    """'Period' used to be refused with "a monthly file has a 'period' column"."""
    typed = "Region_Code;Indicator Code;PERIOD;Value;unit ;Status;Department_Code\n74;RETAIL;2021-01;19.301,5;tỷ đồng;official;SCT-BD\n"
    result = ingest_file(write_csv(landing, "typed_headers.csv", typed), engine)
    assert result.status == "loaded", result.problems
    workbook = openpyxl.Workbook()
    workbook.active.append(["Region Code", "Indicator_Code", "Period", "Value", "Unit", "Status"])
    workbook.active.append(["74", "RETAIL", "2021-03", 19301.5, "tỷ đồng", "official"])
    workbook.save(landing / "typed_headers.xlsx")
    assert ingest_file(landing / "typed_headers.xlsx", engine).status == "loaded"
    twice = "region_code;indicator_code;period;Period;value;unit;status\n74;RETAIL;2021-02;2021-02;1,5;tỷ đồng;official\n"
    refused = ingest_file(write_csv(landing, "period_twice.csv", twice), engine)
    assert refused.status == "rejected" and {p["rule"] for p in refused.problems} == {"columns_unique"}


def test_a_percentage_typed_into_a_percent_formatted_cell_is_the_percentage_shown(engine, landing):
    """99,5% typed into a cell formatted 0.0% is stored by Excel as 0.995; it was loaded as
    0.995 %. What the clerk saw, 99,5, is the figure; other cells are taken as they are."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["region_code", "indicator_code", "period", "value", "unit", "status"])
    sheet.append(["74", "HH_ELECTRIFIED_PCT", "2021-01", 0.995, "%", "official"])
    sheet["D2"].number_format = "0.0%"
    sheet.append(["74", "RETAIL", "2021-01", 19301.5, "tỷ đồng", "official"])
    sheet["D3"].number_format = "#,##0.0"
    workbook.save(landing / "percent_cells.xlsx")
    assert ingest_file(landing / "percent_cells.xlsx", engine).status == "loaded"
    with engine.connect() as conn:
        values = dict(conn.execute(sa.text(
            "SELECT i.indicator_code, v.value FROM dw.fct_monthly_figure_version AS v "
            "JOIN dw.dim_indicator AS i ON i.indicator_key = v.indicator_key")).fetchall())
    assert values == {"HH_ELECTRIFIED_PCT": 99.5, "RETAIL": 19301.5}


def test_a_number_format_given_on_the_command_line_must_agree_with_the_files_own(engine, landing):
    """``--number-format en`` on a file that declares ``vi`` used to win silently: 1.500 was
    stored as 1.5. Two declarations that disagree are refused; agreeing ones load."""
    declared_vi = "# number_format: vi\n" + HEADER + "74;RETAIL;2021-01;1.500;tỷ đồng;official\n"
    refused = ingest_file(write_csv(landing, "declared_vi.csv", declared_vi), engine, number_format="en")
    assert refused.status == "rejected"
    assert [(p["row"], p["rule"]) for p in refused.problems if p["rule"] == "number_format_declared"] == [
        (None, "number_format_declared")]
    assert "--number-format en" in refused.problems[0]["message"]
    agreeing = declared_vi.replace("2021-01", "2021-02")
    loaded = ingest_file(write_csv(landing, "declared_vi_too.csv", agreeing), engine, number_format="vi")
    assert loaded.status == "loaded"
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT value_reported FROM dw.fct_monthly_figure_version")).scalars().all() == [1500]


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_bad_file_is_rejected_with_where_and_why_and_nothing_is_loaded(engine, statwh_home, landing, name):
    content, expected = BAD_FILES[name]
    ingest_paths([p for p in _copy_sample(landing) if p.suffix == ".csv" and "plan" in p.name], engine)
    before = table_contents(engine, DATA_TABLES)
    path = write_csv(landing, name, content)

    result = ingest_file(path, engine, move=True)

    assert result.status == "rejected"
    found = {(p["row"], p["column"], p["rule"]) for p in result.problems}
    assert set(expected) <= found, found
    assert table_contents(engine, DATA_TABLES) == before          # nothing half-loaded
    kept = statwh_home / "quarantine" / result.kept_at.rsplit("/", 1)[1]
    assert kept.read_text(encoding="utf-8") == content           # the submission is kept as sent
    report = json.loads(kept.with_name(kept.name + ".report.json").read_text(encoding="utf-8"))
    assert {(p["row"], p["column"], p["rule"]) for p in report["problems"]} == found
    assert all(p["file"] == name for p in report["problems"])
    with engine.connect() as conn:
        stored = conn.execute(sa.text(
            "SELECT source_row, column_name, rule FROM analytics.v_submission_problem WHERE file_name = :f"),
            {"f": name}).fetchall()
        status = conn.execute(sa.text("SELECT status FROM dw.audit_load_batch WHERE file_name = :f"),
                              {"f": name}).scalar_one()
    assert {tuple(r) for r in stored} == found
    assert status == "rejected"


def test_xlsx_problems_name_the_sheet(engine, landing):
    path = landing / "bad.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Tháng 12"
    sheet.append(["Báo cáo tháng 12/2021"])  # a title row above the header is skipped? no: it is the header
    workbook.remove(sheet)
    sheet = workbook.create_sheet("so_lieu")
    sheet.append(["region_code", "indicator_code", "period", "value", "unit", "status"])
    sheet.append([74, "RETAIL", "2021-12", 21000.5, "tỷ đồng", "official"])
    sheet.append([74, "EXPORT", "2021-12", "hai nghìn", "triệu USD", "official"])
    workbook.save(path)
    result = ingest_file(path, engine)
    assert result.status == "rejected"
    assert [(p["sheet"], p["row"], p["column"], p["value"]) for p in result.problems] == [
        ("so_lieu", 3, "value", "hai nghìn")
    ]


COUNT_MESSAGE = "a count (fairs held…) must be a whole number"


def test_a_count_with_a_decimal_part_is_rejected_quoting_the_cell_as_written(engine, statwh_home, landing):
    """1,5 fairs held used to load: a count is a whole number, in a CSV or on a sheet, and a
    level target of 10,5 fairs is as wrong. 2,0 fairs and a growth target of 12,5 % are fine."""
    before = table_contents(engine, DATA_TABLES)
    path = write_csv(landing, "hoi_cho.csv", HEADER + "74;FAIRS;2021-01;2,0;count;official\n"
                     "74;FAIRS;2021-02;1,5;phiên;official\n74;RETAIL;2021-02;1,5;tỷ đồng;official\n")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "so_lieu"
    sheet.append(["region_code", "indicator_code", "period", "value", "unit", "status"])
    sheet.append([74, "FAIRS", "2021-03", 3, "count", "official"])
    sheet.append([74, "FAIRS", "2021-04", 2.5, "count", "official"])
    workbook.save(landing / "hoi_cho.xlsx")
    plan = write_csv(landing, "ke_hoach_hoi_cho.csv", PLAN_HEADER + "74;FAIRS;2023;growth_pct;12,5;%\n"
                     "74;FAIRS;2024;level;10,5;count\n")

    files = [path, landing / "hoi_cho.xlsx", plan]
    sent = [f.read_bytes() for f in files]

    results = [ingest_file(f, engine, move=True) for f in files]

    assert [r.status for r in results] == ["rejected"] * 3
    assert [[(p["file"], p["sheet"], p["row"], p["column"], p["value"], p["rule"], p["message"], p["severity"])
             for p in r.problems] for r in results] == [
        [("hoi_cho.csv", None, 3, "value", "1,5", "count_whole_number", COUNT_MESSAGE, "error")],
        [("hoi_cho.xlsx", "so_lieu", 3, "value", "2.5", "count_whole_number", COUNT_MESSAGE, "error")],
        [("ke_hoach_hoi_cho.csv", None, 3, "target_value", "10,5", "level_target_count_whole_number",
          "a level target for a count (fairs to hold…) must be a whole number", "error")]]
    assert table_contents(engine, DATA_TABLES) == before               # nothing loaded
    for result, as_sent in zip(results, sent):                         # kept in quarantine with its reasons
        kept = statwh_home / "quarantine" / Path(result.kept_at).name
        assert kept.read_bytes() == as_sent
        report = json.loads(kept.with_name(kept.name + ".report.json").read_text(encoding="utf-8"))
        assert (report["status"], report["problems"]) == ("rejected", result.problems)
    with engine.connect() as conn:
        stored = conn.execute(sa.text(
            "SELECT file_name, source_row, column_name, value_text, rule FROM analytics.v_submission_problem "
            "ORDER BY file_name")).fetchall()
        checks = conn.execute(sa.text(
            "SELECT rule, success, element_count, unexpected_count FROM dw.audit_check_result "
            "WHERE rule LIKE '%count_whole_number' ORDER BY batch_key")).fetchall()
    assert [tuple(r) for r in stored] == [
        ("hoi_cho.csv", 3, "value", "1,5", "count_whole_number"),
        ("hoi_cho.xlsx", 3, "value", "2.5", "count_whole_number"),
        ("ke_hoach_hoi_cho.csv", 3, "target_value", "10,5", "level_target_count_whole_number")]
    assert [tuple(r) for r in checks] == [("count_whole_number", False, 2, 1), ("count_whole_number", False, 2, 1),
                                          ("level_target_count_whole_number", False, 1, 1)]


def test_a_count_is_whole_in_its_canonical_unit_whatever_unit_it_was_written_in(tmp_path):
    """Written in thousands, 1,001 is 1001 fairs (1000.9999999999999 once converted, which is
    whole but for float noise, and is stored as exactly 1001) and 0,0015 is 1,5 fairs (not
    whole). The noise allowed is the suites' own."""
    from etl.reference import Unit, fold, load_reference
    from etl.submission import WHOLE_NUMBER_NOISE, prepare_submission

    base = load_reference()
    thousands = Unit("nghìn phiên", "count", 1000.0)
    reference = dataclasses.replace(base, units={**base.units, thousands.unit: thousands},
                                    unit_aliases={**base.unit_aliases, fold(thousands.unit): thousands.unit})
    whole = write_csv(tmp_path, "nghin.csv", HEADER + "74;FAIRS;2021-01;1,001;nghìn phiên;official\n")
    prepared = prepare_submission(whole, reference=reference, number_format="vi")
    assert prepared.accepted, [p.describe() for p in prepared.problems]
    assert prepared.frame["value"].tolist() == [1001.0]
    assert 0 < prepared.frame["value_distance_to_whole"].iloc[0] <= WHOLE_NUMBER_NOISE
    # a plan's level target likewise; a growth target of a count is a percentage, kept as written
    plan = write_csv(tmp_path, "ke_hoach_nghin.csv", PLAN_HEADER + "74;FAIRS;2023;level;1,001;nghìn phiên\n"
                     "79;FAIRS;2023;growth_pct;12,5;%\n")
    planned = prepare_submission(plan, reference=reference, number_format="vi")
    assert planned.accepted, [p.describe() for p in planned.problems]
    assert planned.frame["target_value"].tolist() == [1001.0, 12.5]
    half = write_csv(tmp_path, "nua.csv", HEADER + "74;FAIRS;2021-01;0,0015;nghìn phiên;official\n")
    assert [p.describe() for p in prepare_submission(half, reference=reference).problems] == [
        f"nua.csv, row 2, column 'value': {COUNT_MESSAGE} (value '0,0015') [count_whole_number]"]


def test_a_growth_target_without_a_unit_or_with_an_unknown_one_is_rejected_like_one_in_another_unit(tmp_path):
    """A growth target with an empty unit loaded: 0,12 was shown as EXPORT +0,12% (the clerk
    meant 12 %, most likely). GX's in-set rule passed the blank (a null once units are read), as
    it did a unit the catalogue does not know; a monthly figure without a unit was rejected."""
    from etl.submission import prepare_submission

    plan = write_csv(tmp_path, "ke_hoach.csv", PLAN_HEADER + "74;EXPORT;2023;growth_pct;0,12;\n"
                     "74;IMPORT;2023;growth_pct;13;triệu USD\n74;RETAIL;2023;growth_pct;16;tỷ lệ\n"
                     "74;IIP;2023;growth_pct;9,2;%\n74;FAIRS;2023;level;10;\n")
    assert [p.describe() for p in prepare_submission(plan).problems] == [
        "ke_hoach.csv, row 2, column 'unit': a growth target is given in %: write % as its unit "
        "[growth_target_in_percent]",
        "ke_hoach.csv, row 3, column 'unit': a growth target is given in %: write % as its unit "
        "(value 'triệu USD') [growth_target_in_percent]",
        "ke_hoach.csv, row 4, column 'unit': a growth target is given in %: write % as its unit "
        "(value 'tỷ lệ') [growth_target_in_percent]",
        "ke_hoach.csv, row 6, column 'unit': unit unknown or not allowed for this indicator "
        "[unit_allowed_for_indicator]"]
    monthly = write_csv(tmp_path, "thang.csv", HEADER + "74;RETAIL;2023-01;19.301,5;;official\n")
    assert [p.describe() for p in prepare_submission(monthly).problems] == [
        "thang.csv, row 2, column 'unit': unit unknown or not allowed for this indicator [unit_allowed_for_indicator]"]


def test_a_percent_sign_is_read_where_the_figure_is_in_percent_and_named_where_it_is_not(tmp_path):
    """``9,2%`` (growth as a clerk writes it) was "not a number written the Vietnamese way", in a
    plan file and a monthly one alike. It is read where the row's unit is % (a growth target, a %
    indicator); in a row in tỷ đồng the sign is a mistake, named as such and never dropped unseen."""
    from etl.submission import prepare_submission

    plan = write_csv(tmp_path, "ke_hoach.csv", PLAN_HEADER + "74;IIP;2023;growth_pct;9,2%;%\n"
                     "74;EXPORT;2023;growth_pct;12 %;%\n74;HH_ELECTRIFIED_PCT;2023;level;99,5%;%\n")
    planned = prepare_submission(plan)
    assert planned.accepted, [p.describe() for p in planned.problems]
    assert planned.frame["target_value"].tolist() == [9.2, 12.0, 99.5]
    assert planned.frame["target_value_text"].tolist() == ["9,2%", "12 %", "99,5%"]    # quoted as written
    monthly = write_csv(tmp_path, "thang.csv", HEADER + "74;IIP;2023-01;104,51%;%;official\n"
                        "74;HH_ELECTRIFIED_PCT;2023-01;99,5%;%;official\n74;RETAIL;2023-01;19.301,5;tỷ đồng;official\n")
    prepared = prepare_submission(monthly)
    assert prepared.accepted, [p.describe() for p in prepared.problems]
    assert prepared.frame["value"].tolist() == [104.51, 99.5, 19301.5]
    wrong = write_csv(tmp_path, "sai.csv", PLAN_HEADER + "74;BOTT_REVENUE;2023;level;1.711,1%;tỷ đồng\n"
                      "74;IIP;2023;growth_pct;9,2%;%\n")
    assert [p.describe() for p in prepare_submission(wrong).problems] == [
        "sai.csv, row 2, column 'target_value': a percent sign in a row whose unit is tỷ đồng, not %: write the "
        "figure in tỷ đồng without it (1.711,1) (value '1.711,1%') [number_readable]"]
    wrong = write_csv(tmp_path, "sai_thang.csv", HEADER + "74;RETAIL;2023-01;19.301,5%;tỷ đồng;official\n"
                      "74;HH_ELECTRIFIED_PCT;2023-01;99,5%;;official\n")
    assert [p.describe() for p in prepare_submission(wrong).problems] == [
        "sai_thang.csv, row 2, column 'value': a percent sign in a row whose unit is tỷ đồng, not %: write the "
        "figure in tỷ đồng without it (19.301,5) (value '19.301,5%') [number_readable]",
        "sai_thang.csv, row 3, column 'unit': unit unknown or not allowed for this indicator [unit_allowed_for_indicator]",
        "sai_thang.csv, row 3, column 'value': a percent sign in a row with no unit: write % as its unit if the "
        "figure is a percentage (value '99,5%') [number_readable]"]


def test_a_number_written_the_other_way_from_the_rest_of_the_file_is_named_with_what_to_write(tmp_path):
    """In a file of Vietnamese numbers, ``2,805.3`` was "a number is required": it is a number,
    written the English way. The message says so, and how to write it; the file's other numbers
    are read in its convention (Vietnamese when as many are written each way) and checked as usual."""
    from etl.submission import prepare_submission

    mixed = write_csv(tmp_path, "m.csv", HEADER + "74;RETAIL;2023-01;19.301,5;tỷ đồng;official\n"
                      "74;EXPORT;2023-01;2,805.3;triệu USD;official\n")
    prepared = prepare_submission(mixed)
    assert [p.describe() for p in prepared.problems] == [
        "m.csv, row 3, column 'value': this number is written the English way (comma for thousands, point for "
        "decimals) while the file uses the Vietnamese way (point for thousands, comma for decimals): write "
        "2.805,3 (value '2,805.3') [number_format_consistent]"]
    assert prepared.number_convention == "vi" and prepared.frame["value"].iloc[0] == 19301.5
    english = write_csv(tmp_path, "en.csv", HEADER + "74;RETAIL;2023-01;19,301.5;tỷ đồng;official\n"
                        "74;EXPORT;2023-01;2,805.3;triệu USD;official\n74;IMPORT;2023-01;2.690,5;triệu USD;official\n")
    assert [p.describe() for p in prepare_submission(english).problems] == [
        "en.csv, row 4, column 'value': this number is written the Vietnamese way (point for thousands, comma for "
        "decimals) while the file uses the English way (comma for thousands, point for decimals): write "
        "2,690.5 (value '2.690,5') [number_format_consistent]"]
    declared = write_csv(tmp_path, "vi.csv", "# number_format: vi\n" + HEADER + "74;EXPORT;2023-01;2,805.3;triệu USD;official\n")
    assert [p.describe() for p in prepare_submission(declared).problems] == [
        "vi.csv, row 3, column 'value': this number is written the English way (comma for thousands, point for "
        "decimals) while the file declares the Vietnamese way (point for thousands, comma for decimals): write "
        "2.805,3 (value '2,805.3') [number_readable]"]


def test_the_suites_whole_number_rules_allow_the_noise_that_is_rounded_away():
    """Every suite rule on a ``*_distance_to_whole`` column allows exactly the noise that
    normalising rounds away: a looser rule would store fractions, a stricter one reject counts
    that are stored whole."""
    from etl.submission import WHOLE_NUMBER_NOISE

    rules = [(path.name, e["meta"]["rule"], e["kwargs"]["max_value"])
             for path in sorted((REPO / "expectations").glob("*.json"))
             for e in json.loads(path.read_text(encoding="utf-8")).get("expectations", [])
             if str(e.get("kwargs", {}).get("column", "")).endswith("_distance_to_whole")]
    assert {name for name, _, _ in rules} == {"monthly.json", "plan.json"}
    assert [(name, rule) for name, rule, noise in rules if noise != WHOLE_NUMBER_NOISE] == []


def _copy_sample(landing):
    return [shutil.copy2(p, landing / p.name) and landing / p.name for p in sorted(SAMPLE_DIR.iterdir())]


def test_a_revision_adds_a_version_and_the_rollups_follow_it(engine, landing, sample_in_landing):
    ingest_paths(sample_in_landing, engine)
    revised = write_csv(landing, "74_retail_2021-12_revised.csv",
                        HEADER + "74;RETAIL;2021-12;25.000,0;tỷ đồng;official\n74;RETAIL;2021-11;"
                        + _written_value(engine, "74", "RETAIL", 202111) + ";tỷ đồng;official\n")
    result = ingest_file(revised, engine)
    assert (result.status, result.rows_new_version, result.rows_unchanged) == ("loaded", 1, 1)
    with engine.connect() as conn:
        versions = conn.execute(sa.text(
            "SELECT f.value FROM dw.fct_monthly_figure_version f JOIN dw.dim_region r USING (region_key) "
            "JOIN dw.dim_indicator i USING (indicator_key) WHERE r.region_code = '74' "
            "AND i.indicator_code = 'RETAIL' AND f.month_key = 202112 ORDER BY f.batch_key")).scalars().all()
    assert len(versions) == 2 and versions[1] == 25000.0           # the first version is kept
    december_before = versions[0]
    retail = plan_gap(engine, 2021).query("region_code == '74' and indicator_code == 'RETAIL'").iloc[0]
    assert retail.actual == pytest.approx(231578 - december_before + 25000)
    # 2022's growth is computed against the revised 2021
    rollup_2022 = annual_rollup(engine, 2022).query("region_code == '74' and indicator_code == 'RETAIL'").iloc[0]
    assert rollup_2022.annual_value_prev_year == pytest.approx(retail.actual)


def _written_value(engine, region, indicator, month_key) -> str:
    with engine.connect() as conn:
        value = conn.execute(sa.text(
            "SELECT value FROM analytics.v_monthly_figure WHERE region_code = :r AND indicator_code = :i "
            "AND month_key = :m"), {"r": region, "i": indicator, "m": month_key}).scalar_one()
    return f"{value:.1f}".replace(".", ",")


def test_a_year_missing_a_month_is_incomplete_not_summed(engine, landing):
    rows = "".join(f"83;RETAIL;2021-{m:02d};4.000,0;tỷ đồng;official\n" for m in range(1, 12))  # no December
    rows += "".join(f"83;RETAIL;2020-{m:02d};3.900,0;tỷ đồng;official\n" for m in range(1, 13))
    ingest_file(write_csv(landing, "bt_retail.csv", HEADER + rows), engine)
    ingest_file(write_csv(landing, "bt_plan.csv",
                          "region_code;indicator_code;year;target_kind;target_value;unit\n83;RETAIL;2021;growth_pct;5;%\n"),
                engine)
    row = annual_rollup(engine, 2021, "83").iloc[0]
    assert (bool(row.is_complete), row.months_reported) == (False, 11)
    assert row.annual_value is None or row.annual_value != row.annual_value  # NULL
    assert row.partial_value == pytest.approx(44000)
    gap = plan_gap(engine, 2021, "83").iloc[0]
    assert not gap.is_actual_complete
    assert gap.attainment_pct is None or gap.attainment_pct != gap.attainment_pct
    assert gap.planned_level == pytest.approx(3900 * 12 * 1.05)      # the plan is known; the actual is not


def test_a_monthly_index_is_complete_with_its_12_months_and_has_no_annual_value(engine, landing):
    """IIP_MONTH (year_rule 'none') is never made into a year: with all its months its year is
    complete, without one it is not; either way there is no annual value, and a plan target
    set on it gets no attainment, growth or gap."""
    rows = "".join(f"83;IIP_MONTH;2021-{m:02d};105,0;%;official\n" for m in range(1, 13))
    rows += "".join(f"83;IIP_MONTH;2022-{m:02d};106,0;%;official\n" for m in range(1, 12))  # no December
    ingest_file(write_csv(landing, "bt_iip_month.csv", HEADER + rows), engine)
    ingest_file(write_csv(landing, "bt_plan.csv", PLAN_HEADER + "83;IIP_MONTH;2021;growth_pct;5;%\n"), engine)
    whole = annual_rollup(engine, 2021, "83").iloc[0]
    assert (bool(whole.is_complete), whole.months_reported, whole.year_rule) == (True, 12, "none")
    assert pd.isna(whole.annual_value) and whole.annual_source is None
    assert pd.isna(whole.partial_value)
    partial = annual_rollup(engine, 2022, "83").iloc[0]
    assert (bool(partial.is_complete), partial.months_reported) == (False, 11)
    assert pd.isna(partial.annual_value)
    gap = plan_gap(engine, 2021, "83").iloc[0]
    assert pd.isna(gap.actual) and bool(gap.is_actual_complete)
    for column in ("attainment_pct", "actual_growth_pct", "gap_pp", "gap_level"):
        assert pd.isna(gap[column]), column


def test_a_failure_inside_a_batch_leaves_the_warehouse_as_it_was(engine, landing, sample_in_landing):
    monthly = [p for p in sample_in_landing if "plan" not in p.name]
    plans = [p for p in sample_in_landing if "plan" in p.name]
    ingest_paths(monthly, engine)
    before = table_contents(engine, WAREHOUSE_TABLES)
    # Sabotage the last statement of a plan batch: the plan-gap definition now fails at run
    # time inside the database, after the versions and the other rollups were written.
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE OR REPLACE VIEW dw.calc_plan_gap AS SELECT region_key, indicator_key, year, target_kind, "
            "target_value, CAST(NULL AS DOUBLE PRECISION) AS actual, FALSE AS is_actual_complete, "
            "CAST(NULL AS DOUBLE PRECISION) AS actual_prev_year, CAST(NULL AS DOUBLE PRECISION) AS actual_growth_pct, "
            "CAST(NULL AS DOUBLE PRECISION) AS planned_level, CAST(target_kind || ' is not a number' AS DOUBLE PRECISION) AS attainment_pct, "
            "CAST(NULL AS DOUBLE PRECISION) AS gap_pp, CAST(NULL AS DOUBLE PRECISION) AS gap_level "
            "FROM dw.v_plan_target_current")
    with pytest.raises(sa.exc.DBAPIError):
        ingest_file(plans[0], engine, move=True)
    assert table_contents(engine, WAREHOUSE_TABLES) == before
    assert plans[0].exists()                                          # still in landing for the retry


def assert_rollups_equal_a_full_rebuild(engine) -> None:
    """Recomputing every rollup from the figures changes no row (lineage columns aside)."""
    facts = ("dw.fct_monthly_ytd", "dw.fct_annual_rollup", "dw.fct_plan_gap")

    def without_lineage():
        return {t: sorted(row[:-2] for row in rows) for t, rows in table_contents(engine, facts).items()}

    incremental = without_lineage()
    rebuild_rollups(engine)
    assert without_lineage() == incremental


def test_incremental_rollups_equal_a_full_rebuild(engine, landing, sample_in_landing):
    ingest_paths(sample_in_landing, engine)
    ingest_file(write_csv(landing, "rev.csv", HEADER + "74;EXPORT;2020-06;2.500,0;triệu USD;official\n"), engine)
    assert_rollups_equal_a_full_rebuild(engine)


@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)
def test_a_constraint_violation_in_the_last_rows_rolls_the_whole_batch_back(engine, landing, sample_in_landing):
    """Issue 3: the database refuses the file's final month (December 2022) while the rows
    before it are already written inside the transaction; nothing of the batch remains."""
    plans = [p for p in sample_in_landing if "plan" in p.name]
    ingest_paths(plans, engine)
    before = table_contents(engine, WAREHOUSE_TABLES)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE dw.fct_monthly_figure_version "
                             "ADD CONSTRAINT no_december_2022 CHECK (month_key < 202212)")
    bd = next(p for p in sample_in_landing if p.name.startswith("74_"))
    with pytest.raises(sa.exc.IntegrityError, match="no_december_2022"):
        ingest_file(bd, engine, move=True)
    assert table_contents(engine, WAREHOUSE_TABLES) == before
    assert bd.exists()
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE dw.fct_monthly_figure_version DROP CONSTRAINT no_december_2022")
    assert ingest_file(bd, engine, move=True).status == "loaded"         # the retry succeeds


def test_a_file_rejected_by_validation_after_its_rows_were_staged_leaves_the_warehouse_as_it_was(
        engine, landing, sample_in_landing):
    """The staging COPY starts while Great Expectations validates; when the suite then
    rejects the file, the staged rows go with the rolled-back transaction."""
    ingest_paths(sample_in_landing, engine)
    before = table_contents(engine, DATA_TABLES)
    # every cell reads and normalises; only the whole-frame suite objects (a negative flow)
    bad = write_csv(landing, "negative_export.csv", HEADER + "74;EXPORT;2022-01;-3,5;triệu USD;official\n"
                    "74;RETAIL;2022-01;1.500,0;tỷ đồng;official\n")
    result = ingest_file(bad, engine, move=True)
    assert result.status == "rejected"
    assert [(p["row"], p["rule"]) for p in result.problems] == [(2, "flow_not_negative")]
    assert table_contents(engine, DATA_TABLES) == before
    good = write_csv(landing, "fixed_export.csv", HEADER + "74;EXPORT;2022-01;3,5;triệu USD;official\n")
    assert ingest_file(good, engine, move=True).status == "loaded"   # the next batch is unaffected


def test_validation_hands_over_the_normalised_rows_only_while_the_file_can_still_be_accepted(landing):
    from etl.submission import prepare_submission

    seen = []

    def record(prepared):
        seen.append((prepared.kind, list(prepared.frame["source_row"]), list(prepared.frame["value"])))

    clean = write_csv(landing, "clean.csv", HEADER + "74;RETAIL;2022-01;1.500,5;tỷ đồng;official\n"
                      "74;RETAIL;2022-02;1.600,0;tỷ đồng;estimate\n")
    assert prepare_submission(clean, while_validating=record).accepted
    assert seen == [("monthly", [2, 3], [1500.5, 1600.0])]
    seen.clear()
    gx_rejects = write_csv(landing, "gx.csv", HEADER + "74;EXPORT;2022-01;-3,5;triệu USD;official\n")
    assert not prepare_submission(gx_rejects, while_validating=record).accepted
    assert len(seen) == 1                                              # handed over; GX rejected after
    seen.clear()
    unreadable = write_csv(landing, "text.csv", HEADER + "74;RETAIL;2022-01;khoảng 20;tỷ đồng;official\n")
    assert not prepare_submission(unreadable, while_validating=record).accepted
    assert seen == []                                                  # already rejected: nothing to stage


@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)
def test_the_staging_copy_runs_while_great_expectations_validates(engine, landing, sample_in_landing, monkeypatch):
    """While the whole-frame suite runs, another backend already holds the batch's staging
    table (its COPY running or done, inside the uncommitted transaction)."""
    import etl.validation

    run_suite = etl.validation.run_suite
    held_during_validation = []

    def watching(name, *args, **kwargs):
        if name == "monthly":
            with engine.connect() as conn:
                for _ in range(200):  # the COPY thread was started just before: give it up to 10 s
                    held = conn.execute(sa.text(
                        "SELECT COUNT(*) FROM pg_locks WHERE relation = 'staging.stg_monthly_figure'::regclass "
                        "AND pid <> pg_backend_pid()")).scalar_one()
                    if held:
                        break
                    time.sleep(0.05)
            held_during_validation.append(bool(held))
        return run_suite(name, *args, **kwargs)

    monkeypatch.setattr(etl.validation, "run_suite", watching)
    monthly = next(p for p in sample_in_landing if p.name.startswith("74_"))
    assert ingest_file(monthly, engine).status == "loaded"
    assert held_during_validation == [True]


@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)
def test_a_staging_copy_refused_by_the_database_fails_the_ingest_and_changes_nothing(engine, landing,
                                                                                      sample_in_landing):
    """The COPY runs in a second thread; its failure still reaches the caller, and the
    batch's transaction is rolled back before the file is touched."""
    plans = [p for p in sample_in_landing if "plan" in p.name]
    ingest_paths(plans, engine)
    before = table_contents(engine, WAREHOUSE_TABLES)
    lift = refuse_inserts(engine, "staging.stg_monthly_figure", when="NEW.month_key = 202212")
    monthly = next(p for p in sample_in_landing if p.name.startswith("74_"))
    with pytest.raises(psycopg.Error, match="injected failure"):  # raised by the driver: COPY bypasses SQLAlchemy
        ingest_file(monthly, engine, move=True)
    assert table_contents(engine, WAREHOUSE_TABLES) == before
    assert monthly.exists()                                           # still in landing for the retry
    lift()
    assert ingest_file(monthly, engine, move=True).status == "loaded"


@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)
def test_a_batch_whose_connection_is_killed_mid_load_leaves_the_warehouse_as_it_was(engine, landing,
                                                                                    sample_in_landing):
    """A DBA's pg_terminate_backend, a server restart, a worker's connection cut: while the batch
    writes its year-to-date rows, after its versions, checks and territory are already in. The
    transaction dies with the connection; the file stays in landing and loads on the retry."""
    plans = [p for p in sample_in_landing if "plan" in p.name]
    ingest_paths(plans, engine)
    before = table_contents(engine, WAREHOUSE_TABLES)
    with engine.begin() as conn:  # hold the batch inside its refresh of dw.fct_monthly_ytd
        conn.exec_driver_sql("CREATE FUNCTION dw.stall_for_the_test() RETURNS trigger LANGUAGE plpgsql AS "
                             "$$ BEGIN PERFORM pg_sleep(120); RETURN NULL; END $$")
        conn.exec_driver_sql("CREATE TRIGGER stall_for_the_test BEFORE INSERT ON dw.fct_monthly_ytd "
                             "FOR EACH STATEMENT EXECUTE FUNCTION dw.stall_for_the_test()")

    def kill_the_batch() -> list[tuple]:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                killed = conn.execute(sa.text(
                    "SELECT pid, application_name, pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event = 'PgSleep' "
                    "AND query LIKE 'INSERT INTO dw.fct_monthly_ytd%'")).fetchall()
            if killed:
                return [tuple(k) for k in killed]
            time.sleep(0.1)
        return []

    monthly = next(p for p in sample_in_landing if p.name.startswith("74_"))
    with ThreadPoolExecutor(1) as dba:
        killer = dba.submit(kill_the_batch)
        with pytest.raises(sa.exc.OperationalError, match="terminat"):
            ingest_file(monthly, engine, move=True)
        [(_, session, terminated)] = killer.result()
    assert terminated and session == f"statwh ingest {monthly.name}"  # the batch, named for the DBA
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER stall_for_the_test ON dw.fct_monthly_ytd")
    assert table_contents(engine, WAREHOUSE_TABLES) == before
    assert monthly.exists() and not list((landing.parent / "archive").glob(f"*{monthly.name}"))
    result = ingest_file(monthly, engine, move=True)
    assert result.status == "loaded" and not monthly.exists()


@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)
def test_files_ingested_at_once_are_written_one_batch_after_another(engine, login, landing, sample_in_landing,
                                                                    monkeypatch):
    """Celery workers ingest several files at once on PostgreSQL, as the loader role. Here three
    start together:
    Bình Dương's file, a revision of its 2021 retail sales (the same rollup keys), and the
    same bytes as the first under another name. Every batch sees the ones committed before
    it: one current rollup row per key, equal to a full rebuild; the latest version of a
    figure is the one committed last; the twin is recognised, not loaded twice or failed."""
    monthly = next(p for p in sample_in_landing if p.name.startswith("74_"))
    revision = write_csv(landing, "74_retail_2021_revised.csv", HEADER + "".join(
        f"74;RETAIL;2021-{month:02d};20.{month:03d},0;tỷ đồng;official\n" for month in range(1, 13)))
    twin = landing / "74_the_same_file_again.csv"
    shutil.copy2(monthly, twin)
    start_together = threading.Barrier(3)
    # The two batches that load meet before refreshing their rollups, if both get there:
    # without the turn-taking they would refresh the same keys side by side.
    meeting = threading.Barrier(2, timeout=3)
    refresh_rollups = etl.pipeline.refresh_rollups

    def meet_then_refresh(*args, **kwargs):
        with contextlib.suppress(threading.BrokenBarrierError):  # the other is waiting for its turn
            meeting.wait()
        return refresh_rollups(*args, **kwargs)

    monkeypatch.setattr(etl.pipeline, "refresh_rollups", meet_then_refresh)

    loader = login("statwh_loader")

    def ingest(path):
        start_together.wait()
        return ingest_file(path, loader, move=True)

    with ThreadPoolExecutor(3) as pool:
        results = {r.file: r for r in pool.map(ingest, [monthly, revision, twin])}
    assert sorted(r.status for r in results.values()) == ["duplicate", "loaded", "loaded"]
    assert results[revision.name].status == "loaded"
    assert not monthly.exists() and not twin.exists() and not revision.exists()
    with engine.connect() as conn:
        for fact, key in (("dw.fct_monthly_ytd", "month_key"), ("dw.fct_annual_rollup", "year")):
            assert conn.execute(sa.text(
                f"SELECT COUNT(*) FROM (SELECT 1 FROM {fact} WHERE known_until IS NULL "
                f"GROUP BY region_key, indicator_key, {key} HAVING COUNT(*) > 1) AS twice")).scalar_one() == 0
        batches = conn.execute(sa.text("SELECT batch_key, file_name FROM dw.audit_load_batch "
                                       "ORDER BY recorded_at, batch_key")).fetchall()
        assert [b.batch_key for b in batches] == sorted(b.batch_key for b in batches)  # keys in commit order
        last = batches[-1].file_name
        ytd_2021_12 = conn.execute(sa.text(
            "SELECT y.value FROM dw.fct_monthly_ytd y JOIN dw.dim_region r USING (region_key) "
            "JOIN dw.dim_indicator i USING (indicator_key) WHERE r.region_code = '74' "
            "AND i.indicator_code = 'RETAIL' AND y.month_key = 202112 AND y.known_until IS NULL")).scalar_one()
    assert ytd_2021_12 == (20012.0 if last == revision.name else pytest.approx(_published_74_retail_2021_12()))
    assert_rollups_equal_a_full_rebuild(engine)


@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)
def test_a_file_is_validated_while_another_batch_is_being_written_and_waits_only_to_write(
        engine, sample_in_landing, monkeypatch):
    import etl.validation

    run_suite = etl.validation.run_suite
    validated = threading.Event()

    def noting(name, *args, **kwargs):
        problems = run_suite(name, *args, **kwargs)
        if name == "monthly":
            validated.set()
        return problems

    monkeypatch.setattr(etl.validation, "run_suite", noting)
    monthly = next(p for p in sample_in_landing if p.name.startswith("74_"))
    with engine.connect() as other_batch, ThreadPoolExecutor(1) as pool:
        with other_batch.begin():
            lock_batches(other_batch, "ingest other.csv")   # another worker's batch is being written
            ingest = pool.submit(ingest_file, monthly, engine)
            assert validated.wait(timeout=60), "validation waited for the other batch"
            time.sleep(0.5)
            assert not ingest.done()                         # ... but writing waits for its turn
            # what a DBA sees: which file holds the turn, which waits for it
            # what a DBA sees, with the README's query: which file holds the turn, which waits
            readme = (REPO / "README.md").read_text(encoding="utf-8")
            (dba_query,) = re.findall(r"```postgresql\n(.*?)```", readme, re.DOTALL)
            with engine.connect() as dba:
                sessions = dba.execute(sa.text(dba_query)).fetchall()
            assert [(s.application_name, s.granted) for s in sessions] == [
                ("statwh ingest other.csv", True), (f"statwh ingest {monthly.name}", False)]
        assert ingest.result(timeout=120).status == "loaded"


@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)
def test_postgresql_sessions_are_named_for_the_airflow_task_unless_the_url_names_them(warehouse_url, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CTX_DAG_ID", "statwh_nightly")
    monkeypatch.setenv("AIRFLOW_CTX_TASK_ID", "ingest_file")
    named_by_url = warehouse_url + ("&" if "?" in warehouse_url else "?") + "application_name=by_the_operator"
    for url, expected in ((warehouse_url, "statwh statwh_nightly.ingest_file"), (named_by_url, "by_the_operator")):
        engine = make_engine(url)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW application_name").scalar_one() == expected
        engine.dispose()


def _published_74_retail_2021_12() -> float:
    line = next(l for l in (SAMPLE_DIR / "74_binh_duong_2020-2022.csv").read_text(encoding="utf-8").splitlines()
                if l.startswith("74;RETAIL;2021-12;"))
    return float(line.split(";")[3].replace(".", "").replace(",", "."))


@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)
def test_postgresql_keeps_per_batch_staging_unlogged_and_the_warehouse_logged(engine, sample_in_landing):
    """Staging rows never outlive their batch's transaction, so they skip the WAL; every
    table that keeps data across commits stays crash-safe. Loading still works and leaves
    staging empty."""
    prepare_warehouse(engine)
    with engine.connect() as conn:
        persistence = dict(conn.execute(sa.text(
            "SELECT n.nspname || '.' || c.relname, c.relpersistence FROM pg_class AS c "
            "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
            "WHERE c.relkind = 'r' AND n.nspname IN ('staging', 'dw')")).fetchall())
    per_batch = {"staging.stg_monthly_figure", "staging.stg_plan_target", "staging.stg_touched_key",
                 "staging.stg_territory_figure"}
    assert {t for t, p in persistence.items() if p == "u"} == per_batch
    assert all(persistence[t] == "p" for t in persistence if t.startswith("dw."))
    assert ingest_paths(sample_in_landing, engine).counts["loaded"] == 3
    with engine.connect() as conn:
        assert [conn.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in sorted(per_batch)] == [0, 0, 0, 0]


# --------------------------------------------------------------------------- reading a rejected file again

#: 231.578 reads two ways and nothing in the file settles which: rejected unless the caller says
AMBIGUOUS = HEADER + "74;RETAIL;2021-01;231.578;tỷ đồng;official\n"


def _readings(engine, path) -> list[tuple]:
    """(status, number convention, reading options) of every batch that read these bytes."""
    from etl.submission import file_sha256

    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT status, number_convention, reading_options FROM dw.audit_load_batch "
            "WHERE file_sha256 = :s ORDER BY batch_key"), {"s": file_sha256(path)})]


def test_a_rejected_file_is_read_again_with_reading_options_and_loaded_bytes_stay_loaded(engine, landing):
    path = write_csv(landing, "bd_2021-01.csv", AMBIGUOUS)
    first = ingest_file(path, engine)
    assert first.status == "rejected"
    assert [p["rule"] for p in first.problems] == ["number_format_unambiguous"]
    again = ingest_file(path, engine)                      # read the same way: the earlier answer, not a new batch
    assert (again.status, again.batch_key, again.duplicate_of_status) == ("duplicate", first.batch_key, "rejected")
    assert again.problems == first.problems

    fixed = ingest_file(path, engine, number_format="vi")  # the README's remedy instead of editing the file
    assert fixed.status == "loaded", fixed.problems
    assert fixed.batch_key > first.batch_key
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT value FROM dw.fct_monthly_figure_version WHERE batch_key = :b"),
                            {"b": fixed.batch_key}).scalars().all() == [231578.0]
    state = table_contents(engine, WAREHOUSE_TABLES)
    for options in ({}, {"number_format": "vi"}, {"number_format": "en"}, {"encoding": "cp1258"}):
        known = ingest_file(path, engine, **options)       # loaded bytes are loaded, however asked
        assert (known.status, known.batch_key, known.duplicate_of_status, known.problems) == (
            "duplicate", fixed.batch_key, "loaded", []), options
    assert table_contents(engine, WAREHOUSE_TABLES) == state
    assert _readings(engine, path) == [("rejected", None, None), ("loaded", "vi", "number_format=vi")]


def test_bytes_rejected_under_one_name_and_sent_under_another_are_told_of_the_file_sent(engine, landing):
    """Two departments' identical files (here: both empty): the second gets the first's answer, but
    its problems named the first file, so the clerk (and the steward's alert) read another name."""
    first = ingest_file(write_csv(landing, "empty.csv", ""), engine)
    again = ingest_file(write_csv(landing, "83_ben_tre_2022-01.csv", ""), engine)
    assert (again.status, again.batch_key, again.duplicate_of_status) == ("duplicate", first.batch_key, "rejected")
    assert [(p["file"], p["rule"]) for p in first.problems] == [("empty.csv", "file_readable")]
    assert [(p["file"], p["rule"], p["message"]) for p in again.problems] == [
        ("83_ben_tre_2022-01.csv", "file_readable", first.problems[0]["message"])]


def test_a_file_rejected_again_when_read_another_way_keeps_both_reports(engine, landing, statwh_home):
    """Read as cp1258 the bytes are the same text, still ambiguous: a second rejection, whose report
    does not overwrite the first one's."""
    path = write_csv(landing, "bd_2021-01.csv", AMBIGUOUS)
    first = ingest_file(path, engine)
    second = ingest_file(path, engine, encoding="cp1258")
    assert (first.status, second.status) == ("rejected", "rejected") and second.batch_key > first.batch_key
    kept = Path(second.kept_at)
    reports = {p.name: json.loads(p.read_text(encoding="utf-8"))["batch_key"]
               for p in kept.parent.glob(kept.name + ".*report.json")}
    assert reports == {f"{kept.name}.report.json": second.batch_key,
                       f"{kept.name}.batch{first.batch_key}.report.json": first.batch_key}
    assert _readings(engine, path) == [("rejected", None, None), ("rejected", None, "encoding=cp1258")]


@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)
def test_twins_read_again_at_once_with_the_same_options_load_once(engine, landing, monkeypatch):
    """Two workers are given a rejected file's bytes again, each with --number-format vi. Both
    find only the rejection and read the file; the second to get its turn to write finds the
    first one's load (the check inside the turn) and reports a duplicate."""
    import etl.validation

    path = write_csv(landing, "bd_2021-01.csv", AMBIGUOUS)
    assert ingest_file(path, engine).status == "rejected"
    twin = Path(shutil.copy2(path, landing / "bd_2021-01_again.csv"))
    run_suite, validated = etl.validation.run_suite, threading.Semaphore(0)

    def noting(name, *args, **kwargs):
        problems = run_suite(name, *args, **kwargs)
        if name == "monthly":
            validated.release()
        return problems

    monkeypatch.setattr(etl.validation, "run_suite", noting)
    with engine.connect() as other_batch, ThreadPoolExecutor(2) as pool:
        with other_batch.begin():
            lock_batches(other_batch, "ingest other.csv")  # both validate while the turn is taken
            ingests = [pool.submit(ingest_file, p, engine, number_format="vi") for p in (path, twin)]
            assert all(validated.acquire(timeout=60) for _ in ingests), "validation waited for the turn"
        results = sorted((f.result(timeout=120) for f in ingests), key=lambda r: r.status)
    assert [(r.status, r.duplicate_of_status) for r in results] == [("duplicate", "loaded"), ("loaded", None)]
    assert results[0].batch_key == results[1].batch_key
    assert _readings(engine, path) == [("rejected", None, None), ("loaded", "vi", "number_format=vi")]
    with pytest.raises(sa.exc.IntegrityError, match="ux_audit_load_batch_loaded_file"), engine.begin() as conn:
        conn.execute(sa.text(                              # and the database itself refuses a second load
            "INSERT INTO dw.audit_load_batch (batch_key, file_name, file_sha256, status, rows_in_file, "
            "rows_new_version, rows_unchanged, problem_count, recorded_at) SELECT 999, file_name, file_sha256, "
            "status, 1, 0, 1, 0, recorded_at FROM dw.audit_load_batch WHERE status = 'loaded'"))


def test_a_warehouse_made_before_files_could_be_read_again_is_brought_into_shape(engine, landing):
    """An existing dw.audit_load_batch had file_sha256 UNIQUE and no reading_options;
    ``CREATE TABLE IF NOT EXISTS`` would leave it so. Applying the schema reshapes it, keeping
    its rows, and a file it rejected can then be read again."""
    from etl.submission import file_sha256
    from etl.warehouse import apply_schema, load_settings, next_batch_key

    ddl = (load_settings().sql_dir / "30_audit" / "dw.audit_load_batch.sql").read_text(encoding="utf-8")
    before = re.sub(r"\n\s*reading_options .*", "", ddl).replace(
        "file_sha256         VARCHAR NOT NULL,", "file_sha256         VARCHAR NOT NULL UNIQUE,")
    assert "UNIQUE" in before and "reading_options " not in before
    path = write_csv(landing, "bd_2021-01.csv", AMBIGUOUS)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE dw.audit_load_batch CASCADE")
        conn.connection.driver_connection.execute(before)
        old_batch = next_batch_key(conn)
        conn.execute(sa.text(                              # what the old code recorded for the rejection
            "INSERT INTO dw.audit_load_batch (batch_key, file_name, file_sha256, number_convention, status, "
            "rows_in_file, rows_new_version, rows_unchanged, problem_count, recorded_at) "
            "VALUES (:b, :f, :s, NULL, 'rejected', 1, 0, 0, 1, TIMESTAMP '2025-01-02 03:04:05')"),
            {"b": old_batch, "f": path.name, "s": file_sha256(path)})
    apply_schema(engine, force=True)

    assert ingest_file(path, engine).duplicate_of_status == "rejected"  # read the same way as then
    assert ingest_file(path, engine, number_format="vi").status == "loaded"
    assert _readings(engine, path) == [("rejected", None, None), ("loaded", "vi", "number_format=vi")]
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT recorded_at FROM dw.audit_load_batch WHERE batch_key = :b"),
                            {"b": old_batch}).scalar_one() == dt.datetime(2025, 1, 2, 3, 4, 5)


def test_a_file_that_cannot_be_read_is_reported_and_the_files_after_it_are_still_ingested(engine, landing):
    """A file gone between listing and reading (or one the process may not read) used to end the
    whole `statwh ingest`/`statwh run` in a traceback, the files after it never read. It is now
    reported as unreadable, with the operating system's reason, and nothing is recorded for it."""
    from etl.pipeline import ingest_paths

    first = write_csv(landing, "aa_74_2021-12.csv", HEADER + "74;EXPORT;2021-12;2.750,8;triệu USD;official\n")
    last = write_csv(landing, "zz_74_2021-11.csv", HEADER + "74;EXPORT;2021-11;2.612,4;triệu USD;official\n")
    gone = landing / "mm_74_2021-10.csv"  # listed by the clerk's sync tool, removed before it was read

    summary = ingest_paths([first, gone, last], engine)

    assert [(r.file, r.status) for r in summary.results] == [
        ("aa_74_2021-12.csv", "loaded"), ("mm_74_2021-10.csv", "unreadable"), ("zz_74_2021-11.csv", "loaded")]
    assert [(p["file"], p["rule"], p["message"]) for p in summary.results[1].problems] == [
        ("mm_74_2021-10.csv", "file_readable", "the file cannot be read (No such file or directory): let the "
         "warehouse read it (its permissions, or close the program that holds it) and ingest it again")]
    assert summary.refused == [summary.results[1]]
    assert "; 1 could not be read" in summary.describe().splitlines()[0]
    with engine.connect() as conn:
        files = conn.execute(sa.text("SELECT file_name FROM dw.audit_load_batch ORDER BY batch_key")).scalars().all()
    assert files == ["aa_74_2021-12.csv", "zz_74_2021-11.csv"]


def test_a_cell_longer_than_a_csv_block_is_read_and_a_bad_row_beside_one_is_named(tmp_path):
    """A note of 2 MB pasted into a cell ended the ingest in a traceback (Arrow's 1 MB blocks:
    'straddling object straddles two block boundaries'; then Python's csv field limit, 128 KiB,
    while looking for the bad row). It is read; a row with a cell too many is named as before."""
    from etl.submission import prepare_submission

    header = "region_code;indicator_code;period;value;unit;status;department_code;note\n"
    long_note = write_csv(tmp_path, "ghi_chu_dai.csv",
                          header + "74;RETAIL;2021-09;21.225,9;tỷ đồng;official;SCT-BD;" + "x" * 2_100_000 + "\n")
    prepared = prepare_submission(long_note)
    assert prepared.accepted, [p.describe() for p in prepared.problems]
    assert len(prepared.frame["note"].iloc[0]) == 2_100_000
    extra_cell = write_csv(tmp_path, "thua_o.csv",
                           header + "74;RETAIL;2021-09;21.225,9;tỷ đồng;official;SCT-BD;" + "x" * 200_000 + ";?\n")
    assert [p.describe() for p in prepare_submission(extra_cell).problems] == [
        "thua_o.csv, row 2: row 2 has 9 cells but the header has 8 [file_readable]"]
