"""The data dictionary is generated from the DDL and cannot drift from the live warehouse:
every column of every table and view that exists (DuckDB and PostgreSQL) is in it, with
a description, and it lists nothing the warehouse does not have."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from etl.cli import main
from etl.dictionary import GLOSSARY, LABELLED_VIEWS, build_dictionary, undescribed, write_dictionary

SCHEMAS = ("dw", "staging", "analytics")


@pytest.fixture(scope="module")
def dictionary():
    return build_dictionary()


def _live_columns(engine) -> dict[str, list[str]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE table_schema IN ('dw', 'staging', 'analytics') "
            "ORDER BY table_schema, table_name, ordinal_position")).fetchall()
    live: dict[str, list[str]] = {}
    for schema, table, column in rows:
        live.setdefault(f"{schema}.{table}", []).append(column)
    return live


def test_every_live_column_is_in_the_dictionary_and_nothing_else(engine, dictionary):
    live = _live_columns(engine)
    assert "analytics.v_plan_gap" in live and "dw.fct_plan_gap" in live
    documented = {o.name: [c.name for c in o.columns] for o in dictionary.relations()
                  if o.dialect in (None, engine.dialect.name)}
    missing = {name: cols for name, cols in live.items() if name not in documented}
    assert not missing, f"relations in the warehouse but not in the dictionary: {missing}"
    for name, columns in live.items():
        assert documented[name] == columns, (
            f"{name}: the dictionary reads the DDL as {documented[name]}, the warehouse has {columns}")
    assert not set(documented) - set(live), "the dictionary lists relations the warehouse does not have"


def test_every_column_has_a_description(dictionary):
    missing = undescribed(dictionary)
    assert not missing, (
        "columns without a description — add an inline `-- comment` after the column in its "
        f"warehouse_sql file, or an entry in etl/dictionary.py GLOSSARY: {missing}")
    for o in dictionary.relations():
        if o.kind == "table":
            assert all(c.sql_type for c in o.columns), o.name


def test_table_columns_use_their_ddl_comments(dictionary):
    gap = {c.name: c for c in dictionary.get("dw.fct_plan_gap").columns}
    assert gap["gap_pp"].description == "growth targets only, percentage points"
    assert gap["gap_pp"].described_by == "sql"
    assert gap["gap_pp"].sql_type == "DOUBLE PRECISION"
    assert gap["region_key"].described_by == "glossary"       # no comment in the DDL
    assert dictionary.get("dw.dim_region").grain.startswith("one row per administrative unit")


def test_view_columns_inherit_from_the_fact_and_dimension_columns(dictionary):
    # analytics.v_plan_gap is SELECT * FROM v_plan_gap_history, which selects g.gap_pp FROM dw.fct_plan_gap
    view = {c.name: c for c in dictionary.get("analytics.v_plan_gap").columns}
    assert view["gap_pp"].description == "growth targets only, percentage points"
    assert view["gap_pp"].described_by == "inherited from dw.fct_plan_gap.gap_pp"
    assert view["unit"].described_by == "inherited from dw.dim_indicator.canonical_unit"  # i.canonical_unit AS unit
    # no lineage to follow (a CTE): the fact column of the same name
    calc = {c.name: c for c in dictionary.get("dw.calc_plan_gap").columns}
    assert calc["gap_level"].described_by == "inherited from dw.fct_plan_gap.gap_level"


def test_analyst_views_are_labelled_in_vietnamese_and_english(dictionary):
    for view in LABELLED_VIEWS:
        for col in dictionary.get(view).columns:
            assert col.label_vi and col.label_en, f"{view}.{col.name} needs labels in GLOSSARY"
    assert dictionary.labels("analytics.v_plan_gap")["attainment_pct"].unit == "%"


def test_the_glossary_names_only_columns_that_exist(dictionary):
    names = {c.name for o in dictionary.relations() for c in o.columns}
    qualified = {f"{o.name}.{c.name}" for o in dictionary.relations() for c in o.columns}
    stale = [k for k in GLOSSARY if k not in names and k not in qualified]
    assert not stale, f"GLOSSARY entries for columns no relation has: {stale}"


def test_reference_counts(dictionary):
    assert dictionary.regions["before_merger"] == 63
    assert dictionary.regions["from_merger"] == 34
    assert [i["indicator_code"] for i in dictionary.indicators][:2] == ["IIP", "IIP_MONTH"]


def test_markdown_and_html_list_every_column(tmp_path, dictionary):
    md_path, html_path = write_dictionary(tmp_path, dictionary)
    md, page = md_path.read_text(encoding="utf-8"), html_path.read_text(encoding="utf-8")
    for o in dictionary.relations():
        assert f"### {o.name}" in md
        assert f'data-object="{o.name}"' in page
        section = page.split(f'data-object="{o.name}"', 1)[1].split("</section>", 1)[0]
        for c in o.columns:
            assert f'data-column="{c.name}"' in section, (o.name, c.name)
    assert "Tổng mức bán lẻ hàng hóa và doanh thu dịch vụ tiêu dùng" in md  # indicator catalogue
    assert "63 in force until 2025-06-30, 34 from 2025-07-01" in md
    # self-contained: nothing fetched
    assert "<script" not in page and not re.search(r"""(src|href)=["']?(https?:)?//""", page)


def test_dictionary_command(tmp_path, capsys):
    assert main(["dictionary", "--to", str(tmp_path / "dd")]) == 0
    out = capsys.readouterr().out
    assert "data_dictionary.md" in out and "data_dictionary.html" in out
    assert (tmp_path / "dd" / "data_dictionary.html").stat().st_size > 10_000
