"""A unit formed by the 2025 merger is rolled up over its territory: new Hồ Chí Minh City
(code 79 from 2025-07-01) took in old Hồ Chí Minh City (79), Bình Dương (74) and Bà Rịa–Vũng
Tàu (77). Its 2025 is their January–June plus its own July–December, its 2025 growth compares
with their combined 2024, and a 2026 growth target gets a planned level. The figures stay under
the units that reported them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from etl.pipeline import ingest_file
from etl.warehouse import rebuild_rollups
from tests.conftest import write_csv

HEADER = "region_code;indicator_code;period;value;unit;status\n"
PLAN_HEADER = "region_code;indicator_code;year;target_kind;target_value;unit\n"

# RETAIL, tỷ đồng a month
OLD_2024 = {"74": 100.0, "77": 20.0, "79": 500.0}          # 620 a month together
OLD_2025_H1 = {"74": 110.0, "77": 22.0, "79": 550.0}       # 682 a month together
NEW_79_2025_H2 = 700.0
NEW_79_2026 = 750.0  # January–October: later months are in the future on the day this is written
TERRITORY_2024 = 12 * 620.0                                 # 7.440
TERRITORY_2025 = 6 * 682.0 + 6 * NEW_79_2025_H2             # 4.092 + 4.200 = 8.292


def _rows(region: str, year: int, months, value: float) -> str:
    return "".join(f"{region};RETAIL;{year}-{m:02d};{value:.1f}".replace(".", ",") + ";tỷ đồng;official\n"
                   for m in months)


def _predecessors(months_2025=range(1, 7), skip: tuple[str, int] | None = None) -> str:
    text = "".join(_rows(r, 2024, range(1, 13), v) for r, v in OLD_2024.items())
    for region, value in OLD_2025_H1.items():
        text += _rows(region, 2025, [m for m in months_2025 if (region, m) != skip], value)
    return HEADER + text


def _new_unit_year(engine, year: int, region_code: str = "79"):
    """The rollup row of the unit that holds region_code on 1 January of the year after."""
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT annual_value, is_complete, months_reported, months_from_predecessors, annual_source, "
            "annual_value_prev_year, growth_pct FROM analytics.v_annual_rollup "
            "WHERE region_code = :r AND indicator_code = 'RETAIL' AND year = :y "
            "AND region_valid_from <= :d AND (region_valid_to IS NULL OR region_valid_to >= :d)"),
            {"r": region_code, "y": year, "d": f"{year}-12-31"}).mappings().one_or_none()


def _plan_gap_2026(engine):
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT actual_prev_year, planned_level, actual, attainment_pct, gap_pp FROM analytics.v_plan_gap "
            "WHERE region_code = '79' AND indicator_code = 'RETAIL' AND year = 2026")).mappings().one()


def _load(landing, engine, name: str, text: str) -> None:
    assert ingest_file(write_csv(landing, name, text), engine).status == "loaded"


def test_a_merged_unit_is_rolled_up_over_its_territory_even_when_its_predecessors_report_late(engine, landing):
    # The new unit reports first, with a 2026 growth target of +10 %: its 2025 has six months
    _load(landing, engine, "hcm_2025_h2.csv", HEADER + _rows("79", 2025, range(7, 13), NEW_79_2025_H2))
    _load(landing, engine, "hcm_plan_2026.csv", PLAN_HEADER + "79;RETAIL;2026;growth_pct;10;%\n")
    year_2025 = _new_unit_year(engine, 2025)
    assert (year_2025["annual_value"], year_2025["is_complete"], year_2025["months_reported"]) == (None, False, 6)
    assert _plan_gap_2026(engine)["planned_level"] is None

    # The three former units send 2024 and January–June 2025: the new unit's rollups follow
    _load(landing, engine, "former_units.csv", _predecessors())
    year_2025 = _new_unit_year(engine, 2025)
    assert year_2025["is_complete"] and year_2025["annual_source"] == "sum_of_months"
    assert (year_2025["months_reported"], year_2025["months_from_predecessors"]) == (12, 6)
    assert year_2025["annual_value"] == pytest.approx(TERRITORY_2025)
    assert year_2025["annual_value_prev_year"] == pytest.approx(TERRITORY_2024)
    assert year_2025["growth_pct"] == pytest.approx((TERRITORY_2025 / TERRITORY_2024 - 1) * 100)
    with engine.connect() as conn:  # the same year as the analyst's view on today's boundaries
        today = conn.execute(sa.text(
            "SELECT annual_value, comparability FROM analytics.v_annual_rollup_today_boundaries "
            "WHERE region_code = '79' AND indicator_code = 'RETAIL' AND year = 2025")).one()
    assert today[0] == pytest.approx(TERRITORY_2025) and today[1] == "complete"
    gap = _plan_gap_2026(engine)
    assert gap["actual_prev_year"] == pytest.approx(TERRITORY_2025)
    assert gap["planned_level"] == pytest.approx(TERRITORY_2025 * 1.10)       # 9.121,2
    assert gap["actual"] is None

    # 2026 so far (January–October): its year to date grows against the territory's 2025
    _load(landing, engine, "hcm_2026.csv", HEADER + _rows("79", 2026, range(1, 11), NEW_79_2026))
    with engine.connect() as conn:
        october = conn.execute(sa.text(
            "SELECT ytd_value, ytd_value_prev_year, growth_ytd_pct FROM analytics.v_monthly_figure "
            "WHERE region_code = '79' AND indicator_code = 'RETAIL' AND year = 2026 AND month = 10")).mappings().one()
    last_year_to_october = 6 * 682.0 + 4 * NEW_79_2025_H2                    # 6.892
    assert october["ytd_value"] == pytest.approx(10 * NEW_79_2026)
    assert october["ytd_value_prev_year"] == pytest.approx(last_year_to_october)
    assert october["growth_ytd_pct"] == pytest.approx((7500 / last_year_to_october - 1) * 100)
    assert _plan_gap_2026(engine)["actual"] is None                          # the year is not over

    # the figures stay under the units that reported them
    with engine.connect() as conn:
        own = conn.execute(sa.text(
            "SELECT region_code, month, value FROM analytics.v_monthly_figure "
            "WHERE indicator_code = 'RETAIL' AND year = 2025 ORDER BY region_code, month")).fetchall()
    assert [tuple(r) for r in own] == (
        [("74", m, 110.0) for m in range(1, 7)] + [("77", m, 22.0) for m in range(1, 7)]
        + [("79", m, 550.0) for m in range(1, 7)] + [("79", m, 700.0) for m in range(7, 13)])
    with engine.connect() as conn:
        # the new unit has no year before it existed: its 2024 is only the base of its growth
        assert conn.execute(sa.text(
            "SELECT COUNT(*) FROM analytics.v_annual_rollup WHERE region_code = '79' "
            "AND region_valid_from = DATE '2025-07-01' AND year < 2025")).scalar_one() == 0
        bình_dương_2025 = conn.execute(sa.text(
            "SELECT annual_value, months_reported FROM analytics.v_annual_rollup "
            "WHERE region_code = '74' AND indicator_code = 'RETAIL' AND year = 2025")).one()
    assert tuple(bình_dương_2025) == (None, 6)

    # the year to date of the new unit covers its territory since January
    with engine.connect() as conn:
        july = conn.execute(sa.text(
            "SELECT ytd_value, is_ytd_complete, value_prev_year, growth_month_pct "
            "FROM analytics.v_monthly_figure WHERE region_code = '79' "
            "AND indicator_code = 'RETAIL' AND year = 2025 AND month = 7")).mappings().one()
    assert july["ytd_value"] == pytest.approx(6 * 682 + NEW_79_2025_H2)
    assert july["is_ytd_complete"]
    assert july["value_prev_year"] == pytest.approx(620)
    assert july["growth_month_pct"] == pytest.approx((NEW_79_2025_H2 / 620 - 1) * 100)


def test_a_revision_of_a_former_unit_reaches_the_merged_unit_and_its_plan_gap(engine, landing):
    _load(landing, engine, "former_units.csv", _predecessors())
    _load(landing, engine, "hcm_2025_h2.csv", HEADER + _rows("79", 2025, range(7, 13), NEW_79_2025_H2))
    _load(landing, engine, "hcm_plan_2026.csv", PLAN_HEADER + "79;RETAIL;2026;growth_pct;10;%\n")
    assert _plan_gap_2026(engine)["planned_level"] == pytest.approx(TERRITORY_2025 * 1.10)

    # Bình Dương revises March 2025 by +100 and Bà Rịa–Vũng Tàu its 2024 December by +40
    _load(landing, engine, "revision.csv",
          HEADER + "74;RETAIL;2025-03;210,0;tỷ đồng;official\n77;RETAIL;2024-12;60,0;tỷ đồng;official\n")
    year_2025 = _new_unit_year(engine, 2025)
    assert year_2025["annual_value"] == pytest.approx(TERRITORY_2025 + 100)
    assert year_2025["annual_value_prev_year"] == pytest.approx(TERRITORY_2024 + 40)
    assert _plan_gap_2026(engine)["planned_level"] == pytest.approx((TERRITORY_2025 + 100) * 1.10)

    # what was known before the revision is kept (known_from is stamped to the second: two batches
    # within one second tie on it, and the batch key, handed out in commit order, breaks the tie)
    with engine.connect() as conn:
        history = conn.execute(sa.text(
            "SELECT annual_value FROM analytics.v_annual_rollup_history WHERE region_code = '79' "
            "AND region_valid_from = DATE '2025-07-01' AND indicator_code = 'RETAIL' AND year = 2025 "
            "AND is_complete ORDER BY known_from, computed_by_batch_key")).scalars().all()
    assert history == [pytest.approx(TERRITORY_2025), pytest.approx(TERRITORY_2025 + 100)]

    # running everything again changes nothing
    assert ingest_file(write_csv(landing, "revision.csv",
                                 HEADER + "74;RETAIL;2025-03;210,0;tỷ đồng;official\n"
                                          "77;RETAIL;2024-12;60,0;tỷ đồng;official\n"), engine).status == "duplicate"
    assert rebuild_rollups(engine) == {"dw.fct_monthly_ytd": 0, "dw.fct_annual_rollup": 0, "dw.fct_plan_gap": 0}


def test_a_month_missing_from_one_former_unit_leaves_the_merged_year_incomplete(engine, landing):
    _load(landing, engine, "former_units.csv", _predecessors(skip=("77", 4)))   # Bà Rịa–Vũng Tàu lacks April 2025
    _load(landing, engine, "hcm_2025_h2.csv", HEADER + _rows("79", 2025, range(7, 13), NEW_79_2025_H2))
    _load(landing, engine, "hcm_plan_2026.csv", PLAN_HEADER + "79;RETAIL;2026;growth_pct;10;%\n")
    year_2025 = _new_unit_year(engine, 2025)
    # April is left out, not summed short: 11 months, no annual value, no planned level
    assert (year_2025["annual_value"], year_2025["is_complete"]) == (None, False)
    assert (year_2025["months_reported"], year_2025["months_from_predecessors"]) == (11, 5)
    assert year_2025["annual_value_prev_year"] == pytest.approx(TERRITORY_2024)
    assert _plan_gap_2026(engine)["planned_level"] is None
    with engine.connect() as conn:
        july = conn.execute(sa.text(
            "SELECT ytd_value, is_ytd_complete FROM analytics.v_monthly_figure WHERE region_code = '79' "
            "AND indicator_code = 'RETAIL' AND year = 2025 AND month = 7")).one()
    assert tuple(july) == (None, False)


def test_the_rollup_and_the_report_say_which_months_came_from_the_former_units(engine, landing, tmp_path, capsys):
    from openpyxl import load_workbook

    from etl.cli import main as statwh
    from etl.reports import write_report

    _load(landing, engine, "former_units.csv", _predecessors())
    _load(landing, engine, "hcm_2025_h2.csv", HEADER + _rows("79", 2025, range(7, 13), NEW_79_2025_H2))
    capsys.readouterr()
    assert statwh(["rollup", "--year", "2025", "--region", "79"]) == 0
    table = capsys.readouterr().out
    new_city = next(line for line in table.splitlines() if "từ 07/2025" in line and "RETAIL" in line)
    old_city = next(line for line in table.splitlines() if "08/2008–06/2025" in line and "RETAIL" in line)
    assert "12 (6 before merger)" in new_city and "before merger" not in old_city

    path = write_report(engine, 2025, "xlsx", tmp_path / "bao_cao_2025.xlsx", region="79", progress=None)
    notes = {ws.title: [r[9].value for r in ws.iter_rows(min_row=10) if r[1].value and "bán lẻ" in str(r[1].value)]
             for ws in load_workbook(path)}
    # the two units of code 79 in 2025 are two sheets, each with its own retail row
    assert notes == {"79 Thành phố Hồ 08.2008–06.2025": ["Chưa đủ số liệu (6/12 tháng)"],
                     "79 Thành phố Hồ Chí từ 07.2025": ["Gồm 6 tháng của các đơn vị trước sáp nhập"]}
    page = write_report(engine, 2025, "html", region="79", progress=None)
    assert 'data-testid="region-79-200808"' in page and 'data-testid="region-79-202507"' in page
    assert "Thành phố Hồ Chí Minh (từ 07/2025)" in page and "Thành phố Hồ Chí Minh (08/2008–06/2025)" in page
