"""Exports of the analyst views: Parquet files that pandas and DuckDB read as they are, and
that carry their labels (Vietnamese, English, unit) and provenance; CSV in both number
conventions."""

from __future__ import annotations

import csv
import datetime as dt
import json

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from etl.cli import main
from etl.export import EXPORT_ORDER, EXPORT_VIEWS, export_views, ordered_select, safe_url
from etl.pipeline import ingest_paths
from tests.conftest import write_csv


@pytest.fixture
def exported(engine, sample_in_landing, tmp_path):
    summary = ingest_paths(sample_in_landing, engine)
    assert summary.counts["loaded"] == 3
    files = export_views(engine, tmp_path / "export")
    return engine, files


def test_one_parquet_file_per_view_with_provenance(exported):
    engine, files = exported
    assert list(files) == list(EXPORT_VIEWS)
    for view, path in files.items():
        assert path.name == view.split(".")[1] + ".parquet"
        meta = pq.read_schema(path).metadata
        assert meta[b"statwh.source_view"].decode() == view
        exported_at = dt.datetime.fromisoformat(meta[b"statwh.exported_at"].decode().replace("Z", "+00:00"))
        assert abs(dt.datetime.now(dt.UTC) - exported_at) < dt.timedelta(minutes=10)
        url = meta[b"statwh.warehouse_url"].decode()
        assert url.split("://")[0] in ("duckdb", "postgresql+psycopg") and "***" not in url
        assert meta[b"statwh.description"].decode().startswith("Grain:")
        with engine.connect() as conn:
            count = conn.execute(sa.text(f"SELECT COUNT(*) FROM {view}")).scalar()
        assert pq.ParquetFile(path).metadata.num_rows == count


def test_fields_carry_labels_and_units(exported):
    _, files = exported
    schema = pq.read_schema(files["analytics.v_plan_gap"])
    attainment = schema.field("attainment_pct").metadata
    assert attainment[b"label_vi"].decode() == "Đạt so với kế hoạch (%)"
    assert attainment[b"label_en"].decode() == "Attainment (% of plan)"
    assert attainment[b"unit"] == b"%"
    assert schema.field("gap_pp").metadata[b"unit"] == b"pp"
    assert schema.field("gap_pp").metadata[b"description"].decode() == "growth targets only, percentage points"
    assert schema.field("region_name_vi").metadata[b"label_vi"].decode() == "Tỉnh/thành phố"
    for path in files.values():
        for field in pq.read_schema(path):
            assert field.metadata[b"label_vi"] and field.metadata[b"label_en"], (path.name, field.name)


def test_pandas_reads_the_files_as_they_are(exported):
    _, files = exported
    gap = pd.read_parquet(files["analytics.v_plan_gap"])
    retail = gap[(gap.region_code == "74") & (gap.indicator_code == "RETAIL") & (gap.year == 2021)].iloc[0]
    assert round(retail.attainment_pct, 1) == 89.1 and retail.actual == pytest.approx(231578)
    assert retail.region_name_vi == "Bình Dương"
    assert len(gap[gap.year == 2021]) == 7
    monthly = pd.read_parquet(files["analytics.v_monthly_figure"])
    assert str(monthly["month"].dtype) == "int32" and str(monthly["is_ytd_complete"].dtype) == "bool"
    assert str(monthly["known_from"].dtype).startswith("datetime64")
    assert len(pd.read_parquet(files["analytics.v_load_batch"])) == 3
    revisions = pd.read_parquet(files["analytics.v_revision_summary"])  # empty, typed all the same
    assert len(revisions) == 0 and str(revisions["mean_abs_revision_pct"].dtype) == "float64"


def test_duckdb_reads_the_files_as_they_are(exported):
    _, files = exported
    path = files["analytics.v_annual_rollup"]
    row = duckdb.sql(f"SELECT annual_value, growth_pct FROM '{path}' WHERE region_code = '83' "
                     "AND indicator_code = 'EXPORT' AND year = 2021").fetchall()[0]
    assert row[0] == pytest.approx(1302.9) and round(row[1], 2) == -6.76
    gap = files["analytics.v_plan_gap"]
    assert duckdb.sql(f"SELECT COUNT(*) FROM '{gap}' WHERE year = 2021").fetchall()[0][0] == 7
    # the labels are readable from DuckDB too, in the file's key-value metadata
    kv = dict(duckdb.sql(f"SELECT decode(key), decode(value) FROM parquet_kv_metadata('{gap}')").fetchall())
    assert kv["statwh.source_view"] == "analytics.v_plan_gap"
    assert json.loads(kv["statwh.columns"])["attainment_pct"]["label_vi"] == "Đạt so với kế hoạch (%)"
    assert duckdb.sql(f"SELECT COUNT(*) FROM '{files['analytics.v_revision_summary']}'").fetchall()[0][0] == 0


def test_the_url_in_the_metadata_has_no_password():
    engine = sa.create_engine("postgresql+psycopg://statwh:s3cret@db.example:5432/statwh")
    assert safe_url(engine) == "postgresql+psycopg://statwh@db.example:5432/statwh"
    engine = sa.create_engine("postgresql+psycopg://db.example/statwh?user=statwh&password=s3cret")
    assert "s3cret" not in safe_url(engine) and "user=statwh" in safe_url(engine)


@pytest.mark.parametrize("convention, delimiter, export_value", [("vi", ";", "1302,9"), ("en", ",", "1302.9")])
def test_csv_export_in_either_number_convention(engine, sample_in_landing, tmp_path, convention, delimiter,
                                                export_value):
    ingest_paths(sample_in_landing, engine)
    files = export_views(engine, tmp_path, fmt="csv", convention=convention)
    with files["analytics.v_annual_rollup"].open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=delimiter))
    bt_export = next(r for r in rows if r["region_code"] == "83" and r["indicator_code"] == "EXPORT"
                     and r["year"] == "2021")
    assert bt_export["annual_value"] == export_value
    assert bt_export["region_name_vi"] == "Bến Tre"
    # as published, not as summed in floating point (31499.999999999996, 24690.000000000004, 1730.8999999999999)
    bd = {r["indicator_code"]: r["annual_value"] for r in rows if r["region_code"] == "74" and r["year"] == "2021"}
    decimal_mark = export_value[4]
    assert (bd["EXPORT"], bd["IMPORT"], bd["BOTT_REVENUE"]) == ("31500", "24690", f"1730{decimal_mark}9")


def test_export_command(engine, sample_in_landing, tmp_path, capsys):
    ingest_paths(sample_in_landing, engine)
    assert main(["export", "--to", str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.split()) == 5 and "[5/5] analytics.v_load_batch: 3 rows" in captured.err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        f"{v.split('.')[1]}.parquet" for v in EXPORT_VIEWS)


@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_an_export_that_fails_half_way_leaves_the_previous_file(engine, tmp_path, fmt):
    """The server fails on the 5,000th row of an exported view (division by zero, a real
    error mid-stream): the analyst's previous file stays as it was, and no half-written
    file is left beside it. (The view's definition is swapped for one that fails.)"""
    from etl.export import export_csv, export_view

    with engine.begin() as conn:
        conn.exec_driver_sql("DROP VIEW analytics.v_load_batch")
        conn.exec_driver_sql("CREATE VIEW analytics.v_load_batch AS "
                             "SELECT g AS n, 1 / (g - 5000) AS ratio FROM generate_series(1, 10000) AS g")
    out = tmp_path / "out"
    out.mkdir()
    path = out / f"v_load_batch.{fmt}"
    path.write_text("previous export\n", encoding="utf-8")
    export = export_csv if fmt == "csv" else export_view
    with pytest.raises(sa.exc.DBAPIError, match="division by zero"):
        export(engine, "analytics.v_load_batch", path)
    assert path.read_text(encoding="utf-8") == "previous export\n"
    assert [p.name for p in out.iterdir()] == [path.name]


def _in_key_order(view: str, rows: list[dict]) -> bool:
    """Whether ``rows`` follow the view's documented key (code points, NULLs last)."""
    keys = [tuple((r[k] in (None, ""), "" if r[k] is None else r[k]) for k in EXPORT_ORDER[view]) for r in rows]
    return keys == sorted(keys) and len(set(keys)) == len(keys)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_every_view_is_exported_in_its_key_order_the_same_each_time(engine, sample_in_landing, tmp_path, fmt):
    """Each file is in its view's key order (EXPORT_ORDER), on both backends, and a second
    export of the same warehouse writes the same rows in the same order. (DuckDB wrote
    v_monthly_figure as BOTT_REVENUE 202010, 202110, 202210, … and analysts diffing two nightly
    exports saw every row move.)"""
    revisions = write_csv(tmp_path, "74_revised.csv", "region_code;indicator_code;period;value;unit;status;department_code\n"
                          "74;RETAIL;2022-02;22.600,0;tỷ đồng;official;SCT-BD\n"
                          "74;EXPORT;2021-05;2.630,0;triệu USD;official;SCT-BD\n")
    assert ingest_paths([*sample_in_landing, revisions], engine).counts["loaded"] == 4  # v_revision_summary has rows
    first = export_views(engine, tmp_path / "first", fmt=fmt)
    second = export_views(engine, tmp_path / "second", fmt=fmt)

    def read(path) -> list[dict]:
        if fmt == "parquet":
            return pq.read_table(path).to_pylist()
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return list(csv.DictReader(handle, delimiter=";"))

    for view in EXPORT_VIEWS:
        rows = read(first[view])
        assert rows and _in_key_order(view, rows), view
        assert read(second[view]) == rows, view
    if fmt == "csv":                                        # byte for byte, not only row for row
        assert all(first[v].read_bytes() == second[v].read_bytes() for v in EXPORT_VIEWS)
    monthly = [(r["region_code"], r["indicator_code"], str(r["month_key"])) for r in read(first["analytics.v_monthly_figure"])]
    assert monthly[:3] == [("74", "BOTT_REVENUE", "202001"), ("74", "BOTT_REVENUE", "202002"),
                           ("74", "BOTT_REVENUE", "202003")]
    rollup = [(r["region_code"], r["indicator_code"], str(r["year"])) for r in read(first["analytics.v_annual_rollup"])]
    assert rollup[:4] == [("74", "BOTT_REVENUE", "2020"), ("74", "BOTT_REVENUE", "2021"), ("74", "BOTT_REVENUE", "2022"),
                          ("74", "ELEC_SOLD", "2020")]


def test_text_keys_sort_by_code_point_on_postgresql_too():
    """PostgreSQL's default collation follows the locale (en_US ignores '_' at first and sorts
    'IIP_MONTH' against 'IIPX' unlike DuckDB), so its text keys are compared as "C"."""
    columns = [("region_code", "character varying"), ("region_valid_from", "date"), ("indicator_code", "VARCHAR"),
               ("year", "integer"), ("actual", "double precision")]
    assert ordered_select("postgresql", "analytics.v_plan_gap", columns) == (
        "SELECT region_code, region_valid_from, indicator_code, year, actual FROM analytics.v_plan_gap ORDER BY "
        'region_code COLLATE "C" NULLS LAST, region_valid_from NULLS LAST, indicator_code COLLATE "C" NULLS LAST, '
        "year NULLS LAST")
    assert ordered_select("duckdb", "analytics.v_plan_gap", columns).endswith(
        "ORDER BY region_code NULLS LAST, region_valid_from NULLS LAST, indicator_code NULLS LAST, year NULLS LAST")
