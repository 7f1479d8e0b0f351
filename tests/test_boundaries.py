"""Provinces over time: figures stay under the unit that reported them, and can be rolled up
on today's (post-2025-07-01) boundaries without summing what cannot be summed."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from etl.pipeline import ingest_file, ingest_paths
from tests.conftest import write_csv

HEADER = "region_code;indicator_code;period;value;unit;status\n"


def _months(region, indicator, year, values, unit):
    return "".join(f"{region};{indicator};{year}-{m:02d};{v};{unit};official\n" for m, v in enumerate(values, 1))


def _today(engine, region, indicator, year):
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT annual_value, comparability, min_members_reported, members_expected "
            "FROM analytics.v_annual_rollup_today_boundaries "
            "WHERE region_code = :r AND indicator_code = :i AND year = :y"),
            {"r": region, "i": indicator, "y": year}).one()


def _annual(engine, region, indicator, year):
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT annual_value FROM analytics.v_annual_rollup WHERE region_code = :r "
            "AND indicator_code = :i AND year = :y"), {"r": region, "i": indicator, "y": year}).scalar_one()


def test_new_ho_chi_minh_city_2021_is_the_sum_of_its_three_former_provinces(engine, landing, sample_in_landing):
    ingest_paths(sample_in_landing, engine)
    # Only Bình Dương has reported: today's Hồ Chí Minh City is incomplete, not Bình Dương alone
    value, comparability, reported, expected = _today(engine, "79", "RETAIL", 2021)
    assert (value, comparability, reported, expected) == (None, "incomplete", 1, 3)

    # Old Hồ Chí Minh City (79 until 2025-06-30) and Bà Rịa–Vũng Tàu (77) report 2021
    rows = _months("79", "RETAIL", 2021, ["70.000,5"] * 12, "tỷ đồng") + _months("77", "RETAIL", 2021, ["6.000,25"] * 12, "tỷ đồng")
    assert ingest_file(write_csv(landing, "hcm_brvt_2021.csv", HEADER + rows), engine).status == "loaded"
    value, comparability, reported, expected = _today(engine, "79", "RETAIL", 2021)
    assert comparability == "complete" and (reported, expected) == (3, 3)
    assert value == pytest.approx(231578 + 12 * 70000.5 + 12 * 6000.25)
    # the figures stay under the units that reported them
    assert _annual(engine, "74", "RETAIL", 2021) == pytest.approx(231578)
    assert _annual(engine, "79", "RETAIL", 2021) == pytest.approx(12 * 70000.5)


def test_an_index_is_weighted_never_summed(engine, landing, sample_in_landing):
    ingest_paths(sample_in_landing, engine)
    # Bình Dương reports the IIP but no production value: no weight, so no combined index
    value, comparability, _, _ = _today(engine, "79", "IIP", 2021)
    assert value is None and comparability == "incomplete"

    # Today's Vĩnh Long = old Vĩnh Long (86) + Bến Tre (83) + Trà Vinh (84); Bến Tre's production
    # value is in the sample. All three report IIP and production value for 2021.
    rows = (_months("86", "IND_OUTPUT", 2021, ["2.000,0"] * 12, "tỷ đồng")
            + _months("84", "IND_OUTPUT", 2021, ["1.000,0"] * 12, "tỷ đồng")
            + _months("86", "IIP", 2021, ["110,00"] * 12, "%")
            + _months("84", "IIP", 2021, ["95,00"] * 12, "%")
            + _months("83", "IIP", 2021, ["105,36"] * 12, "%"))
    assert ingest_file(write_csv(landing, "vl_2021.csv", HEADER + rows), engine).status == "loaded"
    value, comparability, reported, expected = _today(engine, "86", "IIP", 2021)
    weights = {"86": 24000.0, "84": 12000.0, "83": 35400.0}          # year-to-date production, December
    index = {"86": 110.0, "84": 95.0, "83": 105.36}
    expected_value = sum(index[r] * weights[r] for r in weights) / sum(weights.values())
    assert comparability == "complete" and (reported, expected) == (3, 3)
    assert value == pytest.approx(expected_value)
    assert value != pytest.approx(sum(index.values()))                # not a sum


def test_a_share_is_marked_not_comparable(engine, landing, sample_in_landing):
    ingest_paths(sample_in_landing, engine)
    value, comparability, _, _ = _today(engine, "79", "HH_ELECTRIFIED_PCT", 2021)
    assert (value, comparability) == (None, "not_comparable")


def test_after_the_merger_today_units_report_for_themselves(engine, landing):
    rows = "79;RETAIL;2025-08;120.000,0;tỷ đồng;official\n"
    assert ingest_file(write_csv(landing, "hcm_2025-08.csv", HEADER + rows), engine).status == "loaded"
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT combined_value, members_reported, members_expected, is_complete FROM "
            "analytics.v_monthly_figure_today_boundaries WHERE region_code = '79' AND indicator_code = 'RETAIL' "
            "AND month_key = 202508")).one()
    assert tuple(row) == (120000.0, 1, 1, True)
    # Bình Dương no longer exists in August 2025: its code is refused for that month
    refused = ingest_file(write_csv(landing, "bd_2025-08.csv", HEADER + "74;RETAIL;2025-08;1,5;tỷ đồng;official\n"), engine)
    assert refused.status == "rejected"
    assert [p["rule"] for p in refused.problems] == ["region_in_force_for_period"]


def test_the_two_units_named_ho_chi_minh_city_in_one_year_are_told_apart(engine, landing):
    """2025 has figures of the old city (code 79 until June) and of today's (79 from July): an
    analyst asking for the year's rollup got two identical 'Thành phố Hồ Chí Minh' rows."""
    from etl.queries import annual_rollup, plan_gap

    assert ingest_file(write_csv(landing, "hcm_2025.csv", HEADER + _months("79", "RETAIL", 2025, ["100,0"] * 12,
                                                                           "tỷ đồng")), engine).status == "loaded"
    rollup = annual_rollup(engine, 2025, "79")
    assert list(zip(rollup.region_name_vi, rollup.months_reported)) == [
        ("Thành phố Hồ Chí Minh (08/2008–06/2025)", 6), ("Thành phố Hồ Chí Minh (từ 07/2025)", 6)]
    assert [str(d) for d in rollup.region_valid_from] == ["2008-08-01", "2025-07-01"]
    assert plan_gap(engine, 2025, "79").empty                      # no targets: nothing to tell apart
    assert annual_rollup(engine, 2024, "79").empty
