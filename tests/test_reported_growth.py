"""A reported growth rate is kept beside the growth of the stored levels (PRODUCT.md: "a
reported growth rate is computed against last year's revised level, so it can differ from
the growth of the levels first stored: keep both, and show which is which").

Bình Dương's retail sales: 2022 and January..November 2023 are stored as first sent (long
format); December 2023 comes in the report layout, whose "So cùng kỳ (%)" (an index, same
month last year = 100) and "Lũy kế tăng/giảm so cùng kỳ (%)" (a growth) the department
computed against 2022 as revised since. Every test runs on DuckDB and PostgreSQL (the
``engine`` fixture)."""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from etl.pipeline import ingest_file
from etl.queries import annual_rollup, plan_gap, render_rollup
from etl.reports import write_report
from etl.warehouse import WAREHOUSE_TABLES, table_contents
from tests.conftest import write_csv

#: 2022 as first stored, January..December (tỷ đồng)
LEVELS_2022 = (475_700, 456_359, 466_248, 472_758, 476_921, 478_691,
               483_406, 486_622, 490_116, 496_340, 503_580, 465_864)
#: 2023, January..December
LEVELS_2023 = (518_512, 497_431, 508_210, 515_306, 519_844, 521_773,
               526_912, 530_418, 534_226, 541_011, 548_902, 507_792)
YTD_2023 = sum(LEVELS_2023)
#: what the stored levels give: +9,0% for December and for the year
GROWTH_DECEMBER = LEVELS_2023[-1] / LEVELS_2022[-1] * 100 - 100
GROWTH_YEAR = YTD_2023 / sum(LEVELS_2022) * 100 - 100
#: what December's report states, against 2022 as revised: index 108,2 (growth +8,2%), and +8,3%
REPORTED_INDEX_DECEMBER, REPORTED_GROWTH_DECEMBER, REPORTED_GROWTH_YEAR = "108,2", 8.2, 8.3
DATA_TABLES = tuple(t for t in WAREHOUSE_TABLES if not t.startswith("dw.audit"))
MONTHLY = ("value", "growth_month_pct", "reported_growth_month_pct", "ytd_value", "growth_ytd_pct",
           "reported_growth_ytd_pct")


def test_the_example_levels_give_another_growth_than_the_report():
    assert round(GROWTH_DECEMBER, 2) == 9.0 and round(GROWTH_YEAR, 2) == 9.0
    assert abs(GROWTH_DECEMBER - REPORTED_GROWTH_DECEMBER) > 0.5 and abs(GROWTH_YEAR - REPORTED_GROWTH_YEAR) > 0.5


def _vi(number: float) -> str:
    whole, _, fraction = f"{number}".partition(".")
    return f"{int(whole):,}".replace(",", ".") + ("," + fraction if fraction and fraction != "0" else "")


def _long_format(folder: Path, name: str, year: int, values: tuple[int, ...], first_month: int = 1) -> Path:
    """Bình Dương's retail sales in the long format, which has no growth columns."""
    rows = "".join(f"74;RETAIL;{year}-{m:02d};{_vi(v)};tỷ đồng;official\n" for m, v in enumerate(values, first_month))
    return write_csv(folder, name, "# number_format: vi\nregion_code;indicator_code;period;value;unit;status\n" + rows)


def _december_report(folder: Path, name: str = "bao_cao_74_2023-12.csv", value: int = LEVELS_2023[-1],
                     ytd: int | None = YTD_2023, index_month: str | None = REPORTED_INDEX_DECEMBER,
                     growth_ytd: str | None = "8,3", title: str = "BÁO CÁO SỐ LIỆU") -> Path:
    """December 2023's report (CSV, report layout) with one row, retail sales: this month, the
    year to date, the month as an index (same month last year = 100) and the year to date's
    growth ("tăng/giảm"). A column given as None is left out."""
    columns = [("Thực hiện tháng", _vi(value)), ("Lũy kế từ đầu năm", ytd and _vi(ytd)),
               ("So cùng kỳ (%)", index_month), ("Lũy kế tăng/giảm so cùng kỳ (%)", growth_ytd)]
    columns = [(header, cell) for header, cell in columns if cell is not None]
    text = (f"# number_format: vi\n{title} THÁNG 12 NĂM 2023;;\nMã tỉnh:;74;\nTháng:;12/2023;\n;;\n"
            f"Chỉ tiêu;Đơn vị;{';'.join(h for h, _ in columns)}\n"
            f"Tổng mức bán lẻ hàng hóa và doanh thu dịch vụ tiêu dùng;tỷ đồng;{';'.join(c for _, c in columns)}\n")
    return write_csv(folder, name, text)


def _levels_first_stored(engine, landing) -> None:
    for name, year, values, recorded in (("74_2022.csv", 2022, LEVELS_2022, dt.datetime(2023, 1, 10)),
                                         ("74_2023.csv", 2023, LEVELS_2023[:11], dt.datetime(2023, 12, 10))):
        assert ingest_file(_long_format(landing, name, year, values), engine, recorded_at=recorded).status == "loaded"


def _december(engine, as_of: dt.datetime | None = None) -> dict:
    """Retail sales of December 2023 in analytics.v_monthly_figure (or as known at ``as_of``)."""
    sql = f"SELECT {', '.join(MONTHLY)} FROM analytics.v_monthly_figure_history WHERE region_code = '74' " \
          "AND indicator_code = 'RETAIL' AND month_key = 202312 AND "
    sql += "known_until IS NULL" if as_of is None else \
        "known_from <= :as_of AND (known_until IS NULL OR known_until > :as_of)"
    with engine.connect() as conn:
        row = conn.execute(sa.text(sql), {"as_of": as_of}).mappings().one()
    return {k: (None if v is None else float(v)) for k, v in row.items()}


def _year(engine, as_of: dt.datetime | None = None) -> dict:
    rows = annual_rollup(engine, 2023, "74", as_of=as_of).query("indicator_code == 'RETAIL'")
    assert len(rows) == 1
    return {k: (None if v is None or v != v else v)
            for k, v in rows.iloc[0][["annual_value", "annual_source", "growth_pct", "reported_growth_pct"]].items()}


def test_a_stated_growth_that_differs_is_kept_beside_the_growth_of_the_stored_levels(engine, landing):
    _levels_first_stored(engine, landing)
    result = ingest_file(_december_report(landing), engine, recorded_at=dt.datetime(2024, 1, 10))
    assert result.status == "loaded"
    # the existing cross-check still warns, once per rate, at the report's own columns
    assert sorted((p["column"], p["rule"], p["severity"]) for p in result.problems) == [
        ("Lũy kế tăng/giảm so cùng kỳ (%)", "reported_growth_matches_levels", "warning"),
        ("So cùng kỳ (%)", "reported_growth_matches_levels", "warning")]
    # both kept, each right: computed from the levels, and as reported (the index made growth)
    december = _december(engine)
    assert december["value"] == LEVELS_2023[-1] and december["ytd_value"] == YTD_2023
    assert december["growth_month_pct"] == pytest.approx(GROWTH_DECEMBER)
    assert december["growth_ytd_pct"] == pytest.approx(GROWTH_YEAR)
    assert december["reported_growth_month_pct"] == pytest.approx(REPORTED_GROWTH_DECEMBER)
    assert december["reported_growth_ytd_pct"] == pytest.approx(REPORTED_GROWTH_YEAR)
    # the months sent in the long format state none
    with engine.connect() as conn:
        stated = conn.execute(sa.text(
            "SELECT COUNT(reported_growth_month_pct), COUNT(reported_growth_ytd_pct), COUNT(*) "
            "FROM analytics.v_monthly_figure WHERE region_code = '74' AND month_key <> 202312")).one()
        version = conn.execute(sa.text(
            "SELECT reported_growth_month_pct, reported_growth_ytd_pct FROM dw.fct_monthly_figure_version "
            "WHERE month_key = 202312")).one()
    assert tuple(stated) == (0, 0, 23)
    assert tuple(version) == (pytest.approx(REPORTED_GROWTH_DECEMBER), pytest.approx(REPORTED_GROWTH_YEAR))
    # the year: growth of the annual values, and December's reported year-to-date growth beside it
    assert _year(engine) == {"annual_value": YTD_2023, "annual_source": "reported_december_ytd",
                             "growth_pct": pytest.approx(GROWTH_YEAR),
                             "reported_growth_pct": pytest.approx(REPORTED_GROWTH_YEAR)}
    table = render_rollup(annual_rollup(engine, 2023, "74"), "table")
    header, retail = table.splitlines()[0], next(line for line in table.splitlines() if "RETAIL" in line)
    assert header.split()[-3:] == ["growth", "reported", "growth"]
    assert retail.split()[-2:] == ["+9%", "+8,3%"]


def test_a_stocks_year_shows_decembers_reported_growth(engine, landing):
    """A stock's year is its December (wind capacity at the year's end), so the year's reported
    growth is what December's report states against the same month last year."""
    months_2022 = "".join(f"83;WIND_MW;2022-{m:02d};{60 + 2 * m};MW;official\n" for m in range(1, 13))
    months_2023 = "".join(f"83;WIND_MW;2023-{m:02d};{85 + m // 2};MW;official\n" for m in range(1, 12))
    header = "region_code;indicator_code;period;value;unit;status\n"
    assert ingest_file(write_csv(landing, "83_wind.csv", header + months_2022 + months_2023), engine).status == "loaded"
    report = write_csv(landing, "bao_cao_83_2023-12.csv", (
        "# number_format: vi\nBÁO CÁO SỐ LIỆU THÁNG 12 NĂM 2023;;\nMã tỉnh:;83;\nTháng:;12/2023;\n;;\n"
        "Chỉ tiêu;Đơn vị;Thực hiện tháng;So cùng kỳ (%)\n"
        "Công suất điện gió hòa lưới điện quốc gia;MW;93,7;115,0\n"))
    assert ingest_file(report, engine).status == "loaded"

    rows = annual_rollup(engine, 2023, "83").query("indicator_code == 'WIND_MW'")
    year = rows.iloc[0]
    assert (year["annual_value"], year["annual_source"]) == (pytest.approx(93.7), "december_value")
    assert year["growth_pct"] == pytest.approx(93.7 / (60 + 2 * 12) * 100 - 100)     # +11,5% from the levels
    assert year["reported_growth_pct"] == pytest.approx(15.0)                         # index 115,0 as reported

    # a warehouse that rolled this year up before stocks had a reported growth: `statwh rebuild`
    from etl.warehouse import rebuild_rollups

    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE dw.fct_annual_rollup SET reported_growth_pct = NULL"))
    assert rebuild_rollups(engine)["dw.fct_annual_rollup"] == 1
    assert annual_rollup(engine, 2023, "83").query("indicator_code == 'WIND_MW'").iloc[0]["reported_growth_pct"] \
        == pytest.approx(15.0)


def test_the_plan_gap_keeps_the_growth_of_the_stored_levels(engine, landing):
    _levels_first_stored(engine, landing)
    plan = write_csv(landing, "kh_74_2023.csv", "region_code;indicator_code;year;target_kind;target_value;unit\n"
                                                "74;RETAIL;2023;growth_pct;10;%\n")
    assert ingest_file(plan, engine).status == "loaded"
    ingest_file(_december_report(landing), engine)
    assert _year(engine)["reported_growth_pct"] == pytest.approx(REPORTED_GROWTH_YEAR)   # shown, not used
    [gap] = plan_gap(engine, 2023, "74").itertuples()
    assert gap.actual_growth_pct == pytest.approx(GROWTH_YEAR)                 # not the reported 8,3
    assert gap.gap_pp == pytest.approx(GROWTH_YEAR - 10)
    assert gap.attainment_pct == pytest.approx((1 + GROWTH_YEAR / 100) / 1.10 * 100)


def test_a_revision_replaces_the_reported_growth_and_history_keeps_the_earlier_one(engine, landing):
    _levels_first_stored(engine, landing)
    first_known = dt.datetime(2024, 1, 10)
    ingest_file(_december_report(landing), engine, recorded_at=first_known)
    revised_value = LEVELS_2023[-1] + 2_000
    revised = ingest_file(_december_report(landing, "bao_cao_74_2023-12_dieu_chinh.csv", value=revised_value,
                                           ytd=YTD_2023 + 2_000, index_month="108,6", growth_ytd="8,35"),
                          engine, recorded_at=dt.datetime(2024, 2, 10))
    assert (revised.status, revised.rows_new_version) == ("loaded", 1)
    december = _december(engine)
    assert december["value"] == revised_value
    assert december["growth_month_pct"] == pytest.approx(revised_value / LEVELS_2022[-1] * 100 - 100)
    assert december["reported_growth_month_pct"] == pytest.approx(8.6)
    assert december["reported_growth_ytd_pct"] == pytest.approx(8.35)
    assert _year(engine)["reported_growth_pct"] == pytest.approx(8.35)
    with engine.connect() as conn:
        versions = conn.execute(sa.text(
            "SELECT reported_growth_month_pct, reported_growth_ytd_pct FROM dw.fct_monthly_figure_version "
            "WHERE month_key = 202312 ORDER BY batch_key")).fetchall()
    assert [tuple(v) for v in versions] == [(pytest.approx(8.2), pytest.approx(8.3)),
                                            (pytest.approx(8.6), pytest.approx(8.35))]
    # what the warehouse knew between the two reports
    between = dt.datetime(2024, 1, 20)
    assert _december(engine, as_of=between) == {
        "value": LEVELS_2023[-1], "growth_month_pct": pytest.approx(GROWTH_DECEMBER),
        "reported_growth_month_pct": pytest.approx(8.2), "ytd_value": YTD_2023,
        "growth_ytd_pct": pytest.approx(GROWTH_YEAR), "reported_growth_ytd_pct": pytest.approx(8.3)}
    assert _year(engine, as_of=between)["reported_growth_pct"] == pytest.approx(8.3)
    # a long-format revision states no growth: the new value's growth is only the computed one
    corrected = LEVELS_2023[-1] + 1_000
    ingest_file(_long_format(landing, "74_2023-12.csv", 2023, (corrected,), first_month=12), engine)
    december = _december(engine)
    assert (december["value"], december["reported_growth_month_pct"], december["reported_growth_ytd_pct"]) == (
        corrected, None, None)
    assert december["growth_month_pct"] == pytest.approx(corrected / LEVELS_2022[-1] * 100 - 100)
    assert _year(engine)["reported_growth_pct"] is None


def test_a_rate_stated_alone_makes_a_version_and_withdraws_nothing(engine, landing):
    """A report re-sent with the growth only (no year to date) is a new version for the growth it
    states; the year to date stated before, with the same value, stands."""
    _levels_first_stored(engine, landing)
    ingest_file(_december_report(landing, index_month=None, growth_ytd=None), engine)
    assert _december(engine)["reported_growth_month_pct"] is None
    again = ingest_file(_december_report(landing, "growth_only.csv", ytd=None, growth_ytd=None), engine)
    assert (again.status, again.rows_new_version) == ("loaded", 1)
    with engine.connect() as conn:
        latest = conn.execute(sa.text(
            "SELECT reported_ytd_value, reported_growth_month_pct, reported_growth_ytd_pct "
            "FROM dw.v_monthly_figure_current WHERE month_key = 202312")).one()
    assert tuple(latest) == (YTD_2023, pytest.approx(REPORTED_GROWTH_DECEMBER), None)
    assert _year(engine)["annual_source"] == "reported_december_ytd"


def test_re_sending_the_same_figures_changes_nothing(engine, landing):
    _levels_first_stored(engine, landing)
    report = _december_report(landing)
    ingest_file(report, engine)
    assert _december(engine)["reported_growth_month_pct"] == pytest.approx(REPORTED_GROWTH_DECEMBER)
    before = table_contents(engine, DATA_TABLES)
    assert ingest_file(report, engine).status == "duplicate"                   # the same bytes
    # the same report under another title, and the long format (which states no growth)
    again = ingest_file(_december_report(landing, "gui_lai.csv", title="BÁO CÁO GỬI LẠI"), engine)
    long_format = ingest_file(_long_format(landing, "74_2023_all.csv", 2023, LEVELS_2023), engine)
    assert [(r.status, r.rows_new_version, r.rows_unchanged) for r in (again, long_format)] == [
        ("loaded", 0, 1), ("loaded", 0, 12)]
    assert table_contents(engine, DATA_TABLES) == before


def test_the_iip_rows_rates_go_to_the_index_each_is_about(engine, landing):
    """One row for both indexes: its "So cùng kỳ" is this month's index (IIP_MONTH), its
    "Lũy kế so cùng kỳ" the cumulative index's (IIP); IIP_MONTH has no year to date."""
    path = write_csv(landing, "iip.csv", "Mã tỉnh:;74\nTháng:;12/2021\n"
                                         "Chỉ tiêu;Đơn vị;Thực hiện tháng;Lũy kế;So cùng kỳ (%);Lũy kế so cùng kỳ (%)\n"
                                         "Chỉ số sản xuất công nghiệp (IIP);%;108;104,51;108;104,51\n")
    assert ingest_file(path, engine).status == "loaded"
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT indicator_code, reported_growth_month_pct, reported_growth_ytd_pct, growth_ytd_pct "
            "FROM analytics.v_monthly_figure WHERE region_code = '74' ORDER BY indicator_code")).fetchall()
    assert [tuple(r) for r in rows] == [("IIP", None, pytest.approx(4.51), pytest.approx(4.51)),
                                        ("IIP_MONTH", pytest.approx(8), None, None)]


#: the columns reported growth added to tables an older warehouse already has
ADDED_COLUMNS = {"staging.stg_monthly_figure": ("reported_growth_month_pct", "reported_growth_ytd_pct"),
                 "dw.fct_monthly_figure_version": ("reported_growth_month_pct", "reported_growth_ytd_pct"),
                 "dw.fct_monthly_ytd": ("reported_growth_month_pct", "reported_growth_ytd_pct"),
                 "dw.fct_annual_rollup": ("reported_growth_pct",)}


def test_statwh_init_upgrades_a_warehouse_from_before_reported_growth(engine, landing):
    from etl.cli import main as statwh
    from etl.warehouse import apply_schema, rebuild_rollups
    from tests.test_reported_ytd import upgrade_a_warehouse_from_before

    _levels_first_stored(engine, landing)
    ingest_file(_december_report(landing), engine)
    upgrade_a_warehouse_from_before(engine, ADDED_COLUMNS)              # its reported growth never stored
    # nothing to fill in (no rate had been stored) and nothing to recompute
    assert _december(engine)["reported_growth_month_pct"] is None and _year(engine)["annual_value"] == YTD_2023
    assert rebuild_rollups(engine) == {"dw.fct_monthly_ytd": 0, "dw.fct_annual_rollup": 0, "dw.fct_plan_gap": 0}
    # the report sent again now keeps its rates
    again = ingest_file(_december_report(landing, "gui_lai.csv", title="BÁO CÁO GỬI LẠI"), engine)
    assert (again.status, again.rows_new_version) == ("loaded", 1)
    assert _december(engine)["reported_growth_ytd_pct"] == pytest.approx(REPORTED_GROWTH_YEAR)
    assert _year(engine)["reported_growth_pct"] == pytest.approx(REPORTED_GROWTH_YEAR)
    assert statwh(["init"]) == 0 and apply_schema(engine) == 0


# --------------------------------------------------------------------------- the reports
# Bình Dương 2023 with two growth targets: retail sales, whose December report states +8,3%
# for the year against 2022 as revised while the stored levels give +9%, and exports, sent in
# the long format only (no reported growth: +10% computed, nothing reported).

#: exports (triệu USD), every month of 2022 and of 2023 in the long format: +10% computed
EXPORTS_2022, EXPORTS_2023 = 2_500, 2_750
EXPORT_GROWTH = EXPORTS_2023 * 12 / (EXPORTS_2022 * 12) * 100 - 100
TARGETS = {"RETAIL": 10, "EXPORT": 12}
RETAIL_NAME = "Tổng mức bán lẻ hàng hóa và doanh thu dịch vụ tiêu dùng"
EXPORT_NAME = "Kim ngạch xuất khẩu"
COMPUTED, REPORTED = "Tăng trưởng tính toán (Computed growth)", "Tăng trưởng báo cáo (Reported growth)"


def _growth_targets_and_a_reported_growth(engine, landing) -> None:
    _levels_first_stored(engine, landing)
    exports = "".join(f"74;EXPORT;{year}-{m:02d};{_vi(level)};triệu USD;official\n"
                      for year, level in ((2022, EXPORTS_2022), (2023, EXPORTS_2023)) for m in range(1, 13))
    plan = "".join(f"74;{code};2023;growth_pct;{target};%\n" for code, target in TARGETS.items())
    for path in (write_csv(landing, "74_export.csv", "# number_format: vi\n"
                                                     "region_code;indicator_code;period;value;unit;status\n" + exports),
                 write_csv(landing, "kh_74_2023.csv",
                           "region_code;indicator_code;year;target_kind;target_value;unit\n" + plan),
                 _december_report(landing)):
        assert ingest_file(path, engine).status == "loaded", path.name


def _growth(value: float) -> str:
    """A growth (or a gap in points) as the reports write it, to 0,01: +9, −1,5."""
    from etl.queries import format_number

    return format_number(value, 2, "vi", sign=True)


def test_the_report_mark_is_for_a_difference_beyond_rounding():
    from etl.reports import reported_differs

    assert reported_differs(GROWTH_YEAR, REPORTED_GROWTH_YEAR)                  # 9 against 8,3
    assert not reported_differs(GROWTH_YEAR, round(GROWTH_YEAR, 1))             # 9,0 as written: rounding
    assert not reported_differs(GROWTH_YEAR, 9.0)                               # "9": ±0,5
    assert reported_differs(GROWTH_DECEMBER, 108.2 - 100)                       # an index, ±0,05
    assert not reported_differs(8.23, 108.2 - 100)
    assert not reported_differs(GROWTH_YEAR, None) and not reported_differs(None, REPORTED_GROWTH_YEAR)


def test_html_report_shows_the_reported_growth_beside_the_computed_one(engine, landing):
    from tests.test_reports import _parse, _plan_row

    _growth_targets_and_a_reported_growth(engine, landing)
    page = write_report(engine, 2023, "html", progress=None)
    table = page.split('data-testid="plan-gap-74"', 1)[1].split("</table>", 1)[0]
    headers = [re.sub(r"<[^>]+>", " ", th).split() for th in re.findall(r"<th[^>]*>(.*?)</th>", table)]
    headers = [" ".join(words) for words in headers]
    assert COMPUTED in headers and REPORTED in headers

    def cells(code: str) -> dict[str, str]:
        row = re.findall(r"<td[^>]*>(.*?)</td>", _plan_row(page, "74", code))
        return dict(zip(headers, (html.unescape(re.sub(r"<[^>]+>", "", cell)) for cell in row)))

    retail, exports = cells("RETAIL"), cells("EXPORT")
    assert retail[COMPUTED] == f"{_growth(GROWTH_YEAR)}%" == "+9%"
    assert retail[REPORTED] == f"{_growth(REPORTED_GROWTH_YEAR)}% (*)" == "+8,3% (*)"   # marked: it differs
    assert exports[COMPUTED] == f"{_growth(EXPORT_GROWTH)}%" and exports[REPORTED] == "—"
    # the gap keeps the computed growth
    assert retail["Chênh lệch (Gap, pp)"] == _growth(GROWTH_YEAR - TARGETS["RETAIL"])
    assert exports["Chênh lệch (Gap, pp)"] == _growth(EXPORT_GROWTH - TARGETS["EXPORT"])
    note = html.unescape(page.split('data-testid="plan-gap-74"', 1)[1].split("</table>", 1)[1].split("<h3>", 1)[0])
    assert "tính so với số liệu năm trước đã điều chỉnh" in note and "(*): hai mức tăng trưởng khác nhau" in note
    assert "computed against last year's revised level" in note
    assert "attainment and gap use the figures the warehouse holds, not the reported growth" in note
    # the growth chart: a reported bar for retail sales only, beside the computed ones
    dom = _parse(page)
    bars = [a["data-series"] for _, a in dom.marks("chart-growth-vs-target-74")]
    assert sorted(bars) == ["actual", "actual", "reported", "target", "target"]
    chart = page.split('data-testid="chart-growth-vs-target-74"', 1)[1].split("</svg>", 1)[0]
    assert f"tính toán {_growth(GROWTH_YEAR)}%, báo cáo {_growth(REPORTED_GROWTH_YEAR)}%" in chart
    assert "Tăng trưởng báo cáo (Reported growth)" in chart


def test_markdown_report_shows_the_reported_growth_beside_the_computed_one(engine, landing):
    _growth_targets_and_a_reported_growth(engine, landing)
    text = write_report(engine, 2023, "md", progress=None)
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("| STT"))
    names = [c.strip() for c in header.strip("|").split("|")]
    assert COMPUTED in names and REPORTED in names

    def cells(code: str) -> dict[str, str]:
        line = next(line for line in lines if f"({code}) |" in line)
        return dict(zip(names, (c.strip() for c in re.split(r"(?<!\\)\|", line.strip("|")))))

    retail, exports = cells("RETAIL"), cells("EXPORT")
    assert retail[COMPUTED] == f"{_growth(GROWTH_YEAR)}%"
    assert retail[REPORTED] == f"{_growth(REPORTED_GROWTH_YEAR)}% (\\*)"           # the mark, escaped
    assert exports[COMPUTED] == f"{_growth(EXPORT_GROWTH)}%" and exports[REPORTED] == "—"
    assert retail["Chênh lệch (Gap, pp)"] == _growth(GROWTH_YEAR - TARGETS["RETAIL"])
    note = text.split("Ghi chú (notes):", 1)[1].split("## ", 1)[0]
    assert "tính so với số liệu năm trước đã điều chỉnh" in note and r"(\*): hai mức tăng trưởng khác nhau" in note
    assert "attainment and gap use the figures the warehouse holds, not the reported growth" in note


def test_xlsx_report_shows_the_reported_growth_beside_the_computed_one(engine, landing, tmp_path):
    from openpyxl import load_workbook

    _growth_targets_and_a_reported_growth(engine, landing)
    ws = load_workbook(write_report(engine, 2023, "xlsx", tmp_path / "bao_cao_2023.xlsx", progress=None))[
        "74 Bình Dương"]
    column = {cell.value: cell.column - 1 for cell in ws[8]}
    computed, reported = column["So cùng kỳ tính toán (%)"], column["So cùng kỳ theo báo cáo (%)"]
    rows = {r[1].value: r for r in ws.iter_rows(min_row=10) if isinstance(r[0].value, int)}
    retail, exports = rows[RETAIL_NAME], rows[EXPORT_NAME]
    assert retail[column["Thực hiện năm"]].value == YTD_2023                       # December's year to date
    assert retail[computed].value == pytest.approx(100 + GROWTH_YEAR)
    assert retail[reported].value == pytest.approx(100 + REPORTED_GROWTH_YEAR)    # a number, 108,3
    assert retail[reported].number_format == retail[computed].number_format == "0.0"
    assert "(*) So cùng kỳ theo báo cáo khác số tính toán" in retail[column["Ghi chú"]].value
    assert retail[column["So kế hoạch (%)"]].value == pytest.approx(
        (1 + GROWTH_YEAR / 100) / (1 + TARGETS["RETAIL"] / 100) * 100)
    assert exports[computed].value == pytest.approx(100 + EXPORT_GROWTH)
    assert exports[reported].value is None                                         # none reported: blank
    assert "(*)" not in (exports[column["Ghi chú"]].value or "")
    note = next(r[0].value for r in ws.iter_rows(min_row=10) if str(r[0].value or "").startswith("Ghi chú:"))
    assert "So cùng kỳ theo báo cáo (%) = lũy kế 12 tháng so cùng kỳ theo báo cáo tháng 12 của Sở" in note
    assert "tính theo số liệu lưu trong kho, không theo số báo cáo" in note
