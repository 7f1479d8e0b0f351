"""Suites are data checked against a schema; the DDL is one object per file with its grain."""

from __future__ import annotations

import copy
import json
import re

import pytest

from etl.reference import load_reference
from etl.validation import SuiteDefinitionError, check_suite_definition
from etl.warehouse import sql_files
from tests.conftest import REPO

SUITES = sorted(p for p in (REPO / "expectations").glob("*.json")
                if "expectations" in json.loads(p.read_text(encoding="utf-8")))


def test_there_is_a_suite_per_submission_kind():
    assert {p.stem for p in SUITES} == {"monthly", "monthly_structure", "plan", "plan_structure"}


@pytest.mark.parametrize("path", SUITES, ids=lambda p: p.name)
def test_every_suite_follows_the_schema(path):
    check_suite_definition(json.loads(path.read_text(encoding="utf-8")), path.name)


@pytest.mark.parametrize(
    "breakage",
    [
        lambda e: e.update(type="expect_column_values_to_be_in_sett"),          # typo in the type
        lambda e: e.pop("severity"),                                             # no severity
        lambda e: e.update(severity="fatal"),                                    # unknown severity
        lambda e: e["kwargs"].update(colum="region_code"),                       # unknown kwarg
        lambda e: e["meta"].pop("rule"),                                         # no rule id
    ],
)
def test_a_broken_suite_is_refused(breakage):
    definition = json.loads((REPO / "expectations" / "monthly.json").read_text(encoding="utf-8"))
    broken = copy.deepcopy(definition)
    breakage(broken["expectations"][0])
    with pytest.raises(SuiteDefinitionError):
        check_suite_definition(broken, "monthly.json")


def test_the_revision_policy_is_valid_and_names_known_indicators():
    from etl.pipeline import load_revision_policy

    default, per_indicator = load_revision_policy(REPO / "expectations" / "revision_policy.json")
    assert default > 0 and per_indicator["IIP"] < default


def test_the_monthly_suite_checks_everything_the_issue_names():
    rules = {e["meta"]["rule"] for p in SUITES for e in json.loads(p.read_text(encoding="utf-8"))["expectations"]}
    assert {"required_columns", "known_region_code", "known_indicator_code", "period_format", "period_not_in_future",
            "unit_allowed_for_indicator", "one_figure_per_region_indicator_month", "flow_not_negative",
            "percentage_within_0_100", "value_required"} <= rules


_CREATE = re.compile(r"CREATE\s+(?:OR\s+REPLACE\s+|UNIQUE\s+)?(TABLE|VIEW|SCHEMA|SEQUENCE|INDEX|FUNCTION)\s+"
                     r"(?:IF\s+NOT\s+EXISTS\s+)?([\w.]+)", re.IGNORECASE)
#: a function's body, between dollar quotes: its statements are the function's, not the file's
_DOLLAR_QUOTED = re.compile(r"(\$\w*\$).*?\1", re.DOTALL)


#: folders whose files set a storage property of a table created elsewhere, not an object
SETTING_FOLDERS = ("45_staging_unlogged",)
#: folders whose files upgrade a table an older warehouse already has: one column added, or filled in
UPGRADE_FOLDERS = ("52_added_columns", "53_backfills")
OBJECT_FILES = [p for p in sql_files(REPO / "warehouse_sql")
                if p.parent.name not in ("90_access", *SETTING_FOLDERS, *UPGRADE_FOLDERS)]
ADDED_COLUMN_FILES = sorted((REPO / "warehouse_sql" / "52_added_columns").glob("*.sql"))
BACKFILL_FILES = sorted((REPO / "warehouse_sql" / "53_backfills").glob("*.sql"))
SETTING_FILES = [p for p in sql_files(REPO / "warehouse_sql") if p.parent.name in SETTING_FOLDERS]
ACCESS_FILES = [p for p in sql_files(REPO / "warehouse_sql") if p.parent.name == "90_access"]


@pytest.mark.parametrize("path", OBJECT_FILES, ids=lambda p: p.name)
def test_each_sql_file_creates_one_object_named_like_the_file_and_states_its_grain(path):
    text = path.read_text(encoding="utf-8")
    objects = _CREATE.findall(text)
    assert len(objects) == 1, objects
    kind, name = objects[0]
    stem = path.name.removesuffix(".sql").removesuffix(".postgresql").removesuffix(".duckdb")
    assert stem == name or (kind.upper() == "INDEX" and stem.endswith("." + name)), (path.name, name)
    code = _DOLLAR_QUOTED.sub("", "\n".join(line.split("--", 1)[0] for line in text.splitlines()))
    assert code.count(";") == 0, "one statement, no terminator (run as is by both dialects)"
    if kind.upper() == "FUNCTION":
        assert path.name.endswith(".postgresql.sql") and "Why:" in text, "a function says why it exists"
    if kind.upper() in ("TABLE", "VIEW"):
        assert "Grain:" in text, f"{path.name} must state its grain"


_SET_UNLOGGED = re.compile(r"ALTER\s+TABLE\s+([\w.]+)\s+SET\s+UNLOGGED", re.IGNORECASE)


@pytest.mark.parametrize("path", SETTING_FILES, ids=lambda p: p.name)
def test_storage_setting_files_alter_one_staging_table_named_like_the_file(path):
    text = path.read_text(encoding="utf-8")
    code = "\n".join(line.split("--", 1)[0] for line in text.splitlines()).strip()
    assert path.name.endswith(".postgresql.sql"), "UNLOGGED is PostgreSQL's"
    table = path.name.removesuffix(".postgresql.sql").removesuffix("_unlogged")
    assert _SET_UNLOGGED.fullmatch(code) and _SET_UNLOGGED.fullmatch(code).group(1) == table, (path.name, code)
    assert table.startswith("staging."), "only tables emptied in the batch's own transaction"
    assert "Why:" in text and "Grain:" in text


def test_every_per_batch_staging_table_is_unlogged_on_postgresql():
    unlogged = {p.name.removesuffix("_unlogged.postgresql.sql") for p in SETTING_FILES}
    assert unlogged == {"staging.stg_monthly_figure", "staging.stg_plan_target", "staging.stg_touched_key",
                        "staging.stg_territory_figure"}


_ADD_COLUMN = re.compile(r"ALTER\s+TABLE\s+([\w.]+)\s+ADD\s+COLUMN\s+IF\s+NOT\s+EXISTS\s+(\w+)\s+(.+)", re.IGNORECASE)


def _code(text: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in text.splitlines()).strip()


@pytest.mark.parametrize("path", ADDED_COLUMN_FILES, ids=lambda p: p.name)
def test_an_added_column_file_adds_one_column_its_table_s_create_table_declares_alike(path):
    """`statwh init` on an older warehouse adds the column; a new one has it from CREATE TABLE:
    both must end with the same column, so the type here is the CREATE TABLE's."""
    from etl.dictionary import parse_sql_file

    text = path.read_text(encoding="utf-8")
    match = _ADD_COLUMN.fullmatch(_code(text))
    assert match, "one ALTER TABLE <table> ADD COLUMN IF NOT EXISTS <column> <type>, no terminator"
    table, column, sql_type = match.groups()
    assert path.name == f"{table}.{column}.sql"
    assert "Why:" in text and "Grain:" in text
    created = [p for p in OBJECT_FILES if p.name == f"{table}.sql"]
    assert len(created) == 1 and created[0].parent.name < path.parent.name, "runs after the table is created"
    declared = parse_sql_file(created[0], REPO / "warehouse_sql").column(column)
    assert declared is not None and declared.comment, f"{table}'s CREATE TABLE declares and describes {column}"
    assert declared.sql_type.upper() == sql_type.strip().upper()


@pytest.mark.parametrize("path", BACKFILL_FILES, ids=lambda p: p.name)
def test_a_backfill_fills_in_one_added_column_and_only_where_it_is_null(path):
    text = path.read_text(encoding="utf-8")
    match = re.fullmatch(r"UPDATE\s+([\w.]+)\s+SET\s+(\w+)\s*=.+WHERE\s+\2\s+IS\s+NULL\b.*", _code(text),
                         re.IGNORECASE | re.DOTALL)
    assert match, "one UPDATE <table> SET <column> = ... WHERE <column> IS NULL ..., so running it again changes nothing"
    assert path.name == f"{match.group(1)}.{match.group(2)}.sql"
    assert path.name in {p.name for p in ADDED_COLUMN_FILES}
    assert "Why:" in text


@pytest.mark.parametrize("path", ACCESS_FILES, ids=lambda p: p.name)
def test_access_files_are_one_block_per_dialect_stating_their_grants(path):
    text = path.read_text(encoding="utf-8")
    assert path.suffixes[-2] in (".postgresql", ".duckdb")
    assert "Grants:" in text
    code = "\n".join(line.split("--", 1)[0] for line in text.splitlines()).strip()
    assert code.startswith("DO $grants$") and code.endswith("$grants$")


def test_dialect_specific_files_run_only_on_their_dialect():
    every = sql_files(REPO / "warehouse_sql")
    postgres_only = {p for p in every if p.name.endswith(".postgresql.sql")}
    assert postgres_only >= set(ACCESS_FILES)
    assert set(every) - set(sql_files(REPO / "warehouse_sql", "duckdb")) == postgres_only
    assert set(sql_files(REPO / "warehouse_sql", "postgresql")) == set(every)


def test_reference_data_covers_the_product_catalogue_and_both_maps():
    ref = load_reference()
    assert set(ref.indicators.index) == {
        "IIP", "IIP_MONTH", "IND_OUTPUT", "RETAIL", "EXPORT", "IMPORT", "TRADE_BALANCE", "ELEC_SOLD",
        "HH_ELECTRIFIED_PCT", "WIND_MW", "BOTT_REVENUE", "FAIRS"}
    import datetime as dt

    def in_force(day):
        r = ref.regions
        return r[(r.valid_from <= day) & r.valid_to.map(lambda d: d is None or d >= day)]

    assert len(in_force(dt.date(2025, 6, 30))) == 63
    assert len(in_force(dt.date(2025, 7, 1))) == 34
    old = in_force(dt.date(2021, 1, 1)).set_index("region_code")
    assert old.at["74", "name_vi"] == "Bình Dương" and old.at["83", "name_vi"] == "Bến Tre"
    crosswalk = dict(zip(ref.crosswalk.from_region_code, ref.crosswalk.to_region_code))
    assert crosswalk["74"] == crosswalk["77"] == crosswalk["79"] == "79"
    assert crosswalk["83"] == crosswalk["84"] == crosswalk["86"] == "86"
    assert ref.canonical_unit("Tỷ Đồng") == "tỷ đồng" and ref.conversion_factor("tỷ USD", "EXPORT") == 1000


def test_every_rule_of_the_suite_is_recorded_and_a_broken_one_names_its_rows(tmp_path):
    """Passing rules get their counts from a light pass; only broken ones are run again for
    their rows. Either way each expectation of the suite gives one outcome, in the suite's
    order, and the broken rule names exactly its rows."""
    from etl.submission import prepare_submission

    path = tmp_path / "74_2021.csv"
    path.write_text("region_code;indicator_code;period;value;unit;status\n"
                    "74;RETAIL;2021-01;19.301,5;tỷ đồng;official\n"
                    "74;RETAIL;2021-02;18.002,3;tỷ đồng;chính thức\n"
                    "74;RETAIL;2021-03;17.500,0;tỷ đồng;provisional\n"
                    "74;EXPORT;2021-03;2.500,0;triệu USD;maybe\n", encoding="utf-8")
    prepared = prepare_submission(path)
    suite = json.loads((REPO / "expectations" / "monthly.json").read_text(encoding="utf-8"))
    monthly = [c for c in prepared.check_results if c.suite == "monthly"]
    assert [c.rule for c in monthly] == [e["meta"]["rule"] for e in suite["expectations"]]
    failed = {c.rule: (c.element_count, c.unexpected_count) for c in monthly if not c.success}
    assert failed == {"status_known": (4, 2)}
    assert all(c.element_count == 4 and c.unexpected_count == 0 for c in monthly
               if c.success and c.rule in ("known_region_code", "known_indicator_code", "period_format"))
    assert [(p.row, p.column, p.value, p.rule) for p in prepared.errors] == [
        (4, "status", "provisional", "status_known"), (5, "status", "maybe", "status_known")]


def test_a_region_code_is_in_force_only_in_its_own_months():
    """Bình Dương (74) until the 2025 merger, Hồ Chí Minh City (79) open-ended for any year;
    unknown codes and unreadable months are left to their own rules."""
    import datetime as dt

    import pandas as pd

    from etl.submission import _region_in_force

    rows = pd.DataFrame({"region_code": ["79", "74", "74", "XX", "79", "79"],
                         "period_start": [dt.date(9999, 1, 1), dt.date(2025, 7, 1), dt.date(2025, 6, 1),
                                          dt.date(2021, 1, 1), None, dt.date(1500, 1, 1)]})
    assert _region_in_force(rows, load_reference()).tolist() == [True, False, True, True, True, False]


def test_validations_from_several_threads_each_judge_their_own_file(tmp_path):
    """GX 1.24 shares one context per process and mixed the frames of concurrent validations
    up (a clean file reported with another's problems); they take turns now."""
    import datetime as dt
    from concurrent.futures import ThreadPoolExecutor

    from etl.submission import _suite_parameters, prepare_submission
    from etl.validation import run_suite

    header = "region_code;indicator_code;period;value;unit;status\n"
    files = {
        "clean.csv": header + "".join(f"74;RETAIL;20{year}-{month:02d};1.{month:03d},0;tỷ đồng;official\n"
                                      for year in (20, 21) for month in range(1, 13)),
        "negative.csv": header + "".join(f"79;EXPORT;2021-{month:02d};-{month},5;triệu USD;official\n"
                                         for month in range(1, 13)),
    }
    frames = {}
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        frames[name] = prepare_submission(tmp_path / name).frame
    parameters = _suite_parameters(load_reference(), dt.date.today())

    def problems(name):
        return [(p.file, p.row, p.rule) for p in run_suite("monthly", frames[name], parameters, name, None)]

    alone = {name: problems(name) for name in frames}
    assert alone["clean.csv"] == [] and len(alone["negative.csv"]) == 12
    names = list(frames) * 4
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(problems, names))
    assert together == [alone[name] for name in names]
