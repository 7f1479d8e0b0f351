"""The sample goes through the real ingest into a real warehouse (DuckDB and PostgreSQL)
and comes out with the figures the two 2021 reports published."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from etl.queries import annual_rollup, plan_gap


def _row(frame, region, indicator):
    rows = frame[(frame.region_code == region) & (frame.indicator_code == indicator)]
    assert len(rows) == 1, (region, indicator)
    return rows.iloc[0]


def test_plan_gap_2021_matches_the_binh_duong_and_ben_tre_reports(sample_warehouse):
    gap = plan_gap(sample_warehouse, 2021)
    retail = _row(gap, "74", "RETAIL")
    assert retail.actual == pytest.approx(231578)
    assert round(retail.actual_growth_pct, 1) == 3.4
    assert round(retail.attainment_pct, 1) == 89.1
    assert round(retail.gap_pp, 1) == -12.6
    assert round(retail.planned_level) == 259797            # PRODUCT.md's worked example
    exports = _row(gap, "74", "EXPORT")
    assert exports.actual == pytest.approx(31500)
    assert round(exports.attainment_pct, 1) == 101.3
    assert round(_row(gap, "74", "IMPORT").attainment_pct, 1) == 101.5
    iip = _row(gap, "74", "IIP")
    assert round(iip.actual_growth_pct, 2) == 4.51
    assert round(iip.gap_pp, 2) == -4.69
    assert round(_row(gap, "74", "BOTT_REVENUE").attainment_pct, 1) == 101.2
    assert round(_row(gap, "74", "FAIRS").attainment_pct, 1) == 80.0
    assert round(_row(gap, "83", "WIND_MW").attainment_pct, 1) == 100.0
    assert len(gap) == 7


def test_annual_rollups_2021_match_the_reports(sample_warehouse):
    rollup = annual_rollup(sample_warehouse, 2021)
    expected = {
        # region, indicator: (annual value in the canonical unit, growth % as published)
        ("74", "RETAIL"): (231578, 3.4),
        ("74", "EXPORT"): (31500, 13.5),
        ("74", "IMPORT"): (24690, 14.7),
        ("74", "ELEC_SOLD"): (14000, -1.6),        # 14 tỷ kWh, submitted in tỷ kWh
        ("74", "IIP"): (104.51, 4.51),
        ("83", "IND_OUTPUT"): (35400, 5.36),
        ("83", "RETAIL"): (49000, 1.95),
        ("83", "EXPORT"): (1302.9, -6.76),          # submitted in nghìn USD
        ("83", "IMPORT"): (900, 80.07),
    }
    for (region, indicator), (value, growth) in expected.items():
        row = _row(rollup, region, indicator)
        assert bool(row.is_complete)
        assert row.annual_value == pytest.approx(value, abs=1e-6), (region, indicator)
        assert round(row.growth_pct, 2 if abs(growth * 10 - round(growth * 10)) > 1e-9 else 1) == growth
    # identity stated in the report: trade balance = exports − imports = 6.810 ≈ "6,8 tỷ USD"
    assert _row(rollup, "74", "TRADE_BALANCE").annual_value == pytest.approx(6810)
    # a stock's year is its December value, not a sum of months
    wind = _row(rollup, "83", "WIND_MW")
    assert wind.annual_value == pytest.approx(93.7) and wind.partial_value == pytest.approx(93.7)
    # a monthly index has no annual value (its year is the cumulative IIP), yet all 12 of its
    # months are in: the year is complete, and year_rule says why there is no value
    iip_month = _row(rollup, "74", "IIP_MONTH")
    assert pd.isna(iip_month.annual_value)
    assert (bool(iip_month.is_complete), iip_month.months_reported, iip_month.year_rule) == (True, 12, "none")
    assert pd.isna(iip_month.annual_source) and pd.isna(iip_month.growth_pct)


def test_year_to_date_is_the_running_sum_of_flows(sample_warehouse, sample_in_landing):
    with sample_warehouse.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT month, value, ytd_value, is_ytd_complete, growth_ytd_pct FROM analytics.v_monthly_figure "
            "WHERE region_code = '74' AND indicator_code = 'RETAIL' AND year = 2021 ORDER BY month")).fetchall()
    assert [r.month for r in rows] == list(range(1, 13))
    running = 0.0
    for r in rows:
        running += r.value
        assert r.ytd_value == pytest.approx(running)
        assert r.is_ytd_complete
    assert rows[-1].ytd_value == pytest.approx(231578)
    assert round(rows[-1].growth_ytd_pct, 1) == 3.4


def test_the_iip_year_to_date_is_the_cumulative_index_as_reported(sample_warehouse):
    with sample_warehouse.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT ytd_value, growth_ytd_pct FROM analytics.v_monthly_figure "
            "WHERE region_code = '74' AND indicator_code = 'IIP' AND month_key = 202106")).one()
    assert row.ytd_value == pytest.approx(108.4)
    assert row.growth_ytd_pct == pytest.approx(8.4)


def test_every_fact_row_names_the_batch_that_wrote_it(sample_warehouse):
    with sample_warehouse.connect() as conn:
        orphans = conn.execute(sa.text(
            "SELECT COUNT(*) FROM dw.fct_monthly_figure_version f "
            "LEFT JOIN dw.audit_load_batch b ON b.batch_key = f.batch_key WHERE b.batch_key IS NULL")).scalar()
        by_batch = conn.execute(sa.text(
            "SELECT b.file_name, COUNT(*) FROM dw.fct_monthly_figure_version f "
            "JOIN dw.audit_load_batch b ON b.batch_key = f.batch_key GROUP BY b.file_name ORDER BY 1")).fetchall()
    assert orphans == 0
    assert by_batch == [("74_binh_duong_2020-2022.csv", 360), ("83_ben_tre_2020-2022.xlsx", 180)]
