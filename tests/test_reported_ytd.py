"""A flow's year is December's reported year to date where the department reports one
(PRODUCT.md: "revisions hide inside year-to-date figures").

The figures are the General Statistics Office's example: the twelve monthly retail values of
2023 as first published add up to 6.270.337 tỷ đồng, while December's published year to date
is 6.231.828, 0,6% lower, because earlier months were revised inside it. Every test runs on
DuckDB and PostgreSQL (the ``engine`` fixture)."""

from __future__ import annotations

import datetime as dt
from itertools import accumulate
from pathlib import Path

import pytest
import sqlalchemy as sa

from etl.pipeline import ingest_file
from etl.queries import annual_rollup
from etl.warehouse import WAREHOUSE_TABLES, apply_schema, table_contents
from tests.conftest import write_csv

#: 2023 retail sales as first published, January..December (tỷ đồng): they add up to 6.270.337
FIRST_PUBLISHED_2023 = (518_512, 497_431, 508_210, 515_306, 519_844, 521_773,
                        526_912, 530_418, 534_226, 541_011, 548_902, 507_792)
SUM_OF_MONTHS_2023 = 6_270_337
DECEMBER_YTD_2023 = 6_231_828
#: 2024 has no report-layout file: its year is the sum of its months
MONTHS_2024 = tuple(round(v * 1.09) for v in FIRST_PUBLISHED_2023)
DATA_TABLES = tuple(t for t in WAREHOUSE_TABLES if not t.startswith("dw.audit"))
ROLLUP = ("annual_value", "annual_source", "is_complete", "months_reported", "partial_value",
          "reported_december_ytd", "implied_revision", "implied_revision_pct", "annual_value_prev_year", "growth_pct")


def test_the_example_adds_up_as_the_gso_published_it():
    assert sum(FIRST_PUBLISHED_2023) == SUM_OF_MONTHS_2023
    assert round((DECEMBER_YTD_2023 / SUM_OF_MONTHS_2023 - 1) * 100, 2) == -0.61


def _vi(number: int) -> str:
    return f"{number:,}".replace(",", ".")


def _report(folder: Path, month: int, value: int, ytd: int | None, year: int = 2023, name: str | None = None,
            title: str = "BÁO CÁO SỐ LIỆU", region: str = "74") -> Path:
    """A department's monthly report (CSV, report layout) for ``region`` (Bình Dương) with one
    row, retail sales: this month's figure and, unless ``ytd`` is None, the year to date (Lũy kế)."""
    ytd_header, ytd_cell = (";Lũy kế từ đầu năm", f";{_vi(ytd)}") if ytd is not None else ("", "")
    text = (f"# number_format: vi\n{title} THÁNG {month} NĂM {year};;\nMã tỉnh:;{region};\nTháng:;{month}/{year};\n;;\n"
            f"Chỉ tiêu;Đơn vị;Thực hiện tháng{ytd_header}\n"
            f"Tổng mức bán lẻ hàng hóa và doanh thu dịch vụ tiêu dùng;tỷ đồng;{_vi(value)}{ytd_cell}\n")
    return write_csv(folder, name or f"bao_cao_{region}_{year}-{month:02d}.csv", text)


def _long_format(folder: Path, name: str, year: int, values: tuple[int, ...], region: str = "74") -> Path:
    """``region``'s (Bình Dương's) retail sales of ``year`` in the long format (which has no year to date)."""
    rows = "".join(f"{region};RETAIL;{year}-{m:02d};{_vi(v)};tỷ đồng;official\n" for m, v in enumerate(values, 1))
    return write_csv(folder, name, "# number_format: vi\nregion_code;indicator_code;period;value;unit;status\n" + rows)


def _retail(engine, year: int, as_of: dt.datetime | None = None) -> dict:
    rows = annual_rollup(engine, year, "74", as_of=as_of).query("indicator_code == 'RETAIL'")
    assert len(rows) == 1
    return {k: (None if v is None or v != v else v) for k, v in rows.iloc[0][list(ROLLUP)].to_dict().items()}


def _monthly_reports(engine, landing, december_ytd: int = DECEMBER_YTD_2023) -> list:
    """The twelve 2023 reports, each with its year to date: January..November's are the running
    sums of the months as published, December's carries the revisions of earlier months."""
    results, running = [], 0
    for month, value in enumerate(FIRST_PUBLISHED_2023, 1):
        running += value
        ytd = december_ytd if month == 12 else running
        results.append(ingest_file(_report(landing, month, value, ytd), engine,
                                   recorded_at=dt.datetime(2023, month, 28) if month < 12 else dt.datetime(2024, 1, 10)))
    return results


def test_the_year_is_decembers_reported_ytd_and_the_implied_revision_is_shown(engine, landing):
    results = _monthly_reports(engine, landing)
    assert [r.status for r in results] == ["loaded"] * 12
    year = _retail(engine, 2023)
    assert year["annual_value"] == DECEMBER_YTD_2023 and year["annual_source"] == "reported_december_ytd"
    assert year["is_complete"] and year["months_reported"] == 12
    assert year["partial_value"] == SUM_OF_MONTHS_2023                  # the months are kept as sent
    assert year["reported_december_ytd"] == DECEMBER_YTD_2023
    assert year["implied_revision"] == pytest.approx(-38_509)
    assert round(year["implied_revision_pct"], 2) == -0.61
    # the implied revision is also flagged with its size, on December's report only
    flagged = [(r.file, p["rule"], p["severity"], p["message"]) for r in results for p in r.problems]
    assert [(f, rule, sev) for f, rule, sev, _ in flagged] == [
        ("bao_cao_74_2023-12.csv", "reported_ytd_matches_months", "warning")]
    # the warehouse's numbers written the file's way, as the report's own beside them
    assert "difference −38.509, −0,61%" in flagged[0][3], flagged[0][3]
    with engine.connect() as conn:
        stored = conn.execute(sa.text(
            "SELECT file_name, rule FROM analytics.v_submission_problem WHERE rule = 'reported_ytd_matches_months'"
        )).fetchall()
        # the year to date is stored with the figure it came with, versioned like it
        december = conn.execute(sa.text(
            "SELECT f.value, f.reported_ytd_value FROM dw.v_monthly_figure_current AS f "
            "JOIN dw.dim_region AS r ON r.region_key = f.region_key WHERE r.region_code = '74' "
            "AND f.month_key = 202312")).one()
    assert [tuple(r) for r in stored] == [("bao_cao_74_2023-12.csv", "reported_ytd_matches_months")]
    assert tuple(december) == (507_792, DECEMBER_YTD_2023)


def test_next_years_growth_is_against_the_reported_ytd_and_a_year_without_one_sums_its_months(engine, landing):
    _monthly_reports(engine, landing)
    ingest_file(_long_format(landing, "74_2024.csv", 2024, MONTHS_2024), engine)
    year = _retail(engine, 2024)
    assert year["annual_value"] == sum(MONTHS_2024) and year["annual_source"] == "sum_of_months"
    assert year["reported_december_ytd"] is None and year["implied_revision"] is None
    assert year["annual_value_prev_year"] == DECEMBER_YTD_2023
    assert year["growth_pct"] == pytest.approx(sum(MONTHS_2024) / DECEMBER_YTD_2023 * 100 - 100)


def test_a_ytd_reported_later_changes_the_year_and_growth_and_history_keeps_what_was_known(engine, landing):
    ingest_file(_long_format(landing, "74_2023.csv", 2023, FIRST_PUBLISHED_2023), engine,
                recorded_at=dt.datetime(2024, 1, 5))
    ingest_file(_long_format(landing, "74_2024.csv", 2024, MONTHS_2024), engine, recorded_at=dt.datetime(2025, 1, 5))
    before = _retail(engine, 2023)
    assert (before["annual_value"], before["annual_source"]) == (SUM_OF_MONTHS_2023, "sum_of_months")
    result = ingest_file(_report(landing, 12, FIRST_PUBLISHED_2023[-1], DECEMBER_YTD_2023), engine,
                         recorded_at=dt.datetime(2025, 2, 1))
    assert (result.status, result.rows_new_version) == ("loaded", 1)     # same value; the year to date is new
    assert (_retail(engine, 2023)["annual_value"], _retail(engine, 2023)["annual_source"]) == (
        DECEMBER_YTD_2023, "reported_december_ytd")
    assert _retail(engine, 2024)["growth_pct"] == pytest.approx(sum(MONTHS_2024) / DECEMBER_YTD_2023 * 100 - 100)
    # what the warehouse knew before the report: the sum of the months, and growth against it
    known_then = dt.datetime(2025, 1, 20)
    assert _retail(engine, 2023, as_of=known_then) == before
    assert _retail(engine, 2024, as_of=known_then)["growth_pct"] == pytest.approx(
        sum(MONTHS_2024) / SUM_OF_MONTHS_2023 * 100 - 100)


def test_re_sending_the_same_figures_changes_nothing(engine, landing):
    _monthly_reports(engine, landing)
    december = landing / "bao_cao_74_2023-12.csv"
    before = table_contents(engine, DATA_TABLES)
    assert ingest_file(december, engine).status == "duplicate"            # the same bytes
    # the same report with another title, and the months in the long format (which states no
    # year to date: that withdraws nothing), are unchanged figures
    again = ingest_file(_report(landing, 12, FIRST_PUBLISHED_2023[-1], DECEMBER_YTD_2023, name="again.csv",
                                title="BÁO CÁO GỬI LẠI"), engine)
    long_format = ingest_file(_long_format(landing, "74_2023.csv", 2023, FIRST_PUBLISHED_2023), engine)
    assert [(r.status, r.rows_new_version, r.rows_unchanged) for r in (again, long_format)] == [
        ("loaded", 0, 1), ("loaded", 0, 12)]
    assert table_contents(engine, DATA_TABLES) == before


def test_a_re_sent_report_with_another_ytd_is_a_new_version(engine, landing):
    _monthly_reports(engine, landing)
    revised = ingest_file(_report(landing, 12, FIRST_PUBLISHED_2023[-1], DECEMBER_YTD_2023 + 1_000,
                                  name="revised.csv"), engine)
    assert (revised.status, revised.rows_new_version) == ("loaded", 1)
    year = _retail(engine, 2023)
    assert year["annual_value"] == DECEMBER_YTD_2023 + 1_000
    assert year["implied_revision"] == pytest.approx(DECEMBER_YTD_2023 + 1_000 - SUM_OF_MONTHS_2023)
    with engine.connect() as conn:
        versions = conn.execute(sa.text(
            "SELECT reported_ytd_value FROM dw.fct_monthly_figure_version WHERE month_key = 202312 "
            "ORDER BY batch_key")).scalars().all()
    assert versions == [DECEMBER_YTD_2023, DECEMBER_YTD_2023 + 1_000]    # history kept


def test_decembers_ytd_completes_a_year_with_a_month_missing(engine, landing):
    """Decided where the rule is silent: December's year to date covers January..December, so
    the year has its value even if a month was never sent; no implied revision is shown, since
    the gap to the months present is mostly the missing month."""
    months = FIRST_PUBLISHED_2023[:5] + FIRST_PUBLISHED_2023[6:11]        # no June, no December
    ingest_file(_long_format(landing, "74_2023.csv", 2023, months), engine)
    ingest_file(_report(landing, 12, FIRST_PUBLISHED_2023[-1], DECEMBER_YTD_2023), engine)
    year = _retail(engine, 2023)
    assert (year["annual_value"], year["annual_source"], year["is_complete"], year["months_reported"]) == (
        DECEMBER_YTD_2023, "reported_december_ytd", True, 11)
    assert year["implied_revision"] is None and year["implied_revision_pct"] is None


def test_a_ytd_of_a_month_before_december_does_not_make_the_year(engine, landing):
    ingest_file(_report(landing, 11, FIRST_PUBLISHED_2023[10], sum(FIRST_PUBLISHED_2023[:11])), engine)
    year = _retail(engine, 2023)
    assert (year["annual_value"], year["annual_source"], year["is_complete"]) == (None, None, False)


# ---------------------------------------------------------------- the analyst's monthly view


def _monthly(engine, as_of: dt.datetime | None = None, region: str = "74", year: int = 2023) -> dict:
    """month -> (value, ytd_value, reported_ytd_value) of ``region``'s retail sales in
    analytics.v_monthly_figure, or as known at ``as_of`` in its history view."""
    view, params = "analytics.v_monthly_figure", {"r": region, "y": year}
    when = ""
    if as_of is not None:
        view, params["t"] = "analytics.v_monthly_figure_history", as_of
        when = " AND known_from <= :t AND (known_until IS NULL OR known_until > :t)"
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            f"SELECT month, value, ytd_value, reported_ytd_value FROM {view} WHERE region_code = :r "
            f"AND indicator_code = 'RETAIL' AND year = :y{when} ORDER BY month"), params).fetchall()
    assert len({r.month for r in rows}) == len(rows)                    # one row per month at any instant
    return {r.month: (r.value, r.ytd_value, r.reported_ytd_value) for r in rows}


def test_the_monthly_view_shows_the_reported_ytd_beside_the_computed_one(engine, landing):
    _monthly_reports(engine, landing)
    months = _monthly(engine)
    assert [months[m][2] for m in range(1, 13)] == [*accumulate(FIRST_PUBLISHED_2023[:11]), DECEMBER_YTD_2023]
    assert months[12] == (FIRST_PUBLISHED_2023[-1], SUM_OF_MONTHS_2023, DECEMBER_YTD_2023)
    # before December's report: November's year to date, as reported and as computed
    known_then = _monthly(engine, as_of=dt.datetime(2023, 12, 15))
    assert sorted(known_then) == list(range(1, 12))
    assert known_then[11][1:] == (sum(FIRST_PUBLISHED_2023[:11]),) * 2


def test_the_monthly_history_keeps_each_reported_ytd_of_an_unchanged_month(engine, landing):
    """A report that re-sends December's figure unchanged with a year to date changes no
    computed figure, yet the analyst sees the new year to date now, and what was stated before
    it at earlier instants: each year to date is a version of the month's row."""
    ingest_file(_long_format(landing, "74_2023.csv", 2023, FIRST_PUBLISHED_2023), engine,
                recorded_at=dt.datetime(2024, 1, 5))
    for ytd, at in ((DECEMBER_YTD_2023, dt.datetime(2025, 2, 1)), (DECEMBER_YTD_2023 + 1_000, dt.datetime(2025, 3, 1))):
        assert ingest_file(_report(landing, 12, FIRST_PUBLISHED_2023[-1], ytd, name=f"74_{at:%m}.csv"), engine,
                           recorded_at=at).rows_new_version == 1
    december = (FIRST_PUBLISHED_2023[-1], SUM_OF_MONTHS_2023)
    assert _monthly(engine)[12] == (*december, DECEMBER_YTD_2023 + 1_000)
    assert _monthly(engine, as_of=dt.datetime(2025, 2, 15))[12] == (*december, DECEMBER_YTD_2023)
    assert _monthly(engine, as_of=dt.datetime(2025, 1, 20))[12] == (*december, None)
    assert _monthly(engine, as_of=dt.datetime(2025, 3, 2))[11] == (FIRST_PUBLISHED_2023[10],
                                                                   sum(FIRST_PUBLISHED_2023[:11]), None)
    with engine.connect() as conn:
        history = conn.execute(sa.text(
            "SELECT reported_ytd_value, known_from, known_until FROM analytics.v_monthly_figure_history "
            "WHERE region_code = '74' AND month_key = 202312 ORDER BY known_from")).fetchall()
        computed = conn.execute(sa.text("SELECT COUNT(*) FROM dw.fct_monthly_ytd WHERE month_key = 202312")).scalar()
    assert [tuple(r) for r in history] == [
        (None, dt.datetime(2024, 1, 5), dt.datetime(2025, 2, 1)),
        (DECEMBER_YTD_2023, dt.datetime(2025, 2, 1), dt.datetime(2025, 3, 1)),
        (DECEMBER_YTD_2023 + 1_000, dt.datetime(2025, 3, 1), None)]
    assert computed == 3


def test_an_older_warehouse_gets_its_current_reported_ytds_in_the_monthly_facts(engine, landing):
    """dw.fct_monthly_ytd.reported_ytd_value is added by `statwh init` and filled in on the current
    rows from their figures' latest versions, so nothing is left to recompute."""
    from etl.warehouse import rebuild_rollups

    _monthly_reports(engine, landing)
    upgrade_a_warehouse_from_before(engine, {"dw.fct_monthly_ytd": ("reported_ytd_value",)})
    assert [_monthly(engine)[m][2] for m in range(1, 13)] == [*accumulate(FIRST_PUBLISHED_2023[:11]),
                                                             DECEMBER_YTD_2023]
    assert rebuild_rollups(engine) == {"dw.fct_monthly_ytd": 0, "dw.fct_annual_rollup": 0, "dw.fct_plan_gap": 0}


# ---------------------------------------------------------------- today's boundaries (the 2025 merger)


def _today(engine, region: str, year: int) -> tuple:
    with engine.connect() as conn:
        return tuple(conn.execute(sa.text(
            "SELECT annual_value, annual_source, comparability FROM analytics.v_annual_rollup_today_boundaries "
            "WHERE region_code = :r AND indicator_code = 'RETAIL' AND year = :y"), {"r": region, "y": year}).one())


def _today_december(engine, region: str, year: int) -> tuple:
    with engine.connect() as conn:
        return tuple(conn.execute(sa.text(
            "SELECT combined_value, combined_reported_ytd_value, members_reported, members_expected "
            "FROM analytics.v_monthly_figure_today_boundaries WHERE region_code = :r AND indicator_code = 'RETAIL' "
            "AND month_key = :m"), {"r": region, "m": year * 100 + 12}).one())


def test_an_unchanged_units_year_on_todays_boundaries_is_its_own(engine, landing):
    """Hà Nội (01) was not merged: on today's boundaries its year is its own, December's
    reported year to date, not the sum of the months it revised."""
    ingest_file(_long_format(landing, "01_2023.csv", 2023, FIRST_PUBLISHED_2023, region="01"), engine)
    assert _today(engine, "01", 2023) == (SUM_OF_MONTHS_2023, "sum_of_months", "complete")
    ingest_file(_report(landing, 12, FIRST_PUBLISHED_2023[-1], DECEMBER_YTD_2023, region="01"), engine)
    assert _today(engine, "01", 2023) == (DECEMBER_YTD_2023, "reported_december_ytd", "complete")
    assert _today_december(engine, "01", 2023) == (FIRST_PUBLISHED_2023[-1], DECEMBER_YTD_2023, 1, 1)
    year = annual_rollup(engine, 2023, "01")
    assert (year.annual_value.item(), year.annual_source.item()) == (DECEMBER_YTD_2023, "reported_december_ytd")


def test_todays_year_adds_the_december_ytds_only_when_every_member_reported_one(engine, landing):
    """Today's Hồ Chí Minh City, 2023: old Hồ Chí Minh City (79), Bình Dương (74) and Bà Rịa–Vũng
    Tàu (77). While one member has stated no December year to date, the year is the sum of the
    members' months; once all have, it is the sum of their December years to date."""
    hcm, brvt = tuple(v * 3 for v in FIRST_PUBLISHED_2023), tuple(v // 5 for v in FIRST_PUBLISHED_2023)
    hcm_ytd, brvt_ytd = sum(hcm) - 90_000, sum(brvt) + 4_000
    for region, values in (("74", FIRST_PUBLISHED_2023), ("79", hcm), ("77", brvt)):
        ingest_file(_long_format(landing, f"{region}_2023.csv", 2023, values, region=region), engine)
    ingest_file(_report(landing, 12, FIRST_PUBLISHED_2023[-1], DECEMBER_YTD_2023), engine)
    ingest_file(_report(landing, 12, hcm[-1], hcm_ytd, region="79"), engine)
    months = SUM_OF_MONTHS_2023 + sum(hcm) + sum(brvt)
    assert _today(engine, "79", 2023) == (months, "sum_of_months", "complete")          # 77 stated none
    assert _today_december(engine, "79", 2023) == (FIRST_PUBLISHED_2023[-1] + hcm[-1] + brvt[-1], None, 3, 3)
    ingest_file(_report(landing, 12, brvt[-1], brvt_ytd, region="77"), engine)
    reported = DECEMBER_YTD_2023 + hcm_ytd + brvt_ytd
    assert _today(engine, "79", 2023) == (reported, "reported_december_ytd", "complete")
    with engine.connect() as conn:
        revision, revision_pct = conn.execute(sa.text(
            "SELECT implied_revision, implied_revision_pct FROM analytics.v_annual_rollup_today_boundaries "
            "WHERE region_code = '79' AND indicator_code = 'RETAIL' AND year = 2023")).one()
    assert revision == pytest.approx(reported - months)           # the members' revisions inside their YTDs
    assert revision_pct == pytest.approx((reported - months) / months * 100)
    assert _today_december(engine, "79", 2023)[1:] == (reported, 3, 3)


def test_a_unit_formed_in_2025_makes_the_year_with_its_december_ytd(engine, landing):
    """Today's Hồ Chí Minh City (79 from 2025-07-01) states its December 2025 year to date for its
    whole territory, January to June included (when Bình Dương, Bà Rịa–Vũng Tàu and the old
    city reported): that is the combined year, since in December only the new unit is in force."""
    first_half = {"74": 20_000, "77": 4_000, "79": 60_000}
    new_city = 85_000
    rows = "".join(f"{region};RETAIL;2025-{m:02d};{_vi(v)};tỷ đồng;official\n"
                   for region, v in first_half.items() for m in range(1, 7))
    rows += "".join(f"79;RETAIL;2025-{m:02d};{_vi(new_city)};tỷ đồng;official\n" for m in range(7, 13))
    header = "# number_format: vi\nregion_code;indicator_code;period;value;unit;status\n"
    assert ingest_file(write_csv(landing, "hcm_2025.csv", header + rows), engine).status == "loaded"
    months = 6 * sum(first_half.values()) + 6 * new_city
    assert _today(engine, "79", 2025) == (months, "sum_of_months", "complete")
    ingest_file(_report(landing, 12, new_city, months - 7_000, year=2025, region="79"), engine)
    assert _today(engine, "79", 2025) == (months - 7_000, "reported_december_ytd", "complete")
    assert _today_december(engine, "79", 2025) == (new_city, months - 7_000, 1, 1)


#: the columns this rule added to tables an older warehouse already has
ADDED_COLUMNS = {"staging.stg_monthly_figure": ("reported_ytd_value",),
                 "dw.fct_monthly_figure_version": ("reported_ytd_value",),
                 "dw.fct_annual_rollup": ("annual_source", "reported_december_ytd", "implied_revision",
                                          "implied_revision_pct", "months_from_predecessors")}


def _make_it_a_warehouse_from_before_the_rule(engine, added_columns: dict[str, tuple[str, ...]] = ADDED_COLUMNS) -> None:
    """The tables rebuilt as an older `statwh init` created them (today's CREATE TABLE without
    the added columns), their rows kept, and the older DDL's checksum recorded as applied."""
    from etl.warehouse import column_types, sql_files

    with engine.begin() as conn:
        views = conn.execute(sa.text("SELECT table_schema || '.' || table_name FROM information_schema.views "
                                     "WHERE table_schema IN ('dw', 'analytics')")).scalars().all()
        for view in views:  # they use the columns; init re-creates every view
            conn.exec_driver_sql(f"DROP VIEW IF EXISTS {view} CASCADE")
        for table, added in added_columns.items():
            create = next(p for p in sql_files() if p.name == f"{table}.sql").read_text(encoding="utf-8")
            older = "\n".join(line for line in create.splitlines() if line.split()[:1] not in ([c] for c in added))
            kept = ", ".join(c for c in column_types(conn, table) if c not in added)
            conn.exec_driver_sql(f"CREATE TEMPORARY TABLE kept_rows AS SELECT {kept} FROM {table}")
            conn.exec_driver_sql(f"DROP TABLE {table}")
            conn.connection.driver_connection.execute(older)  # as apply_schema runs DDL: '%' in comments
            conn.exec_driver_sql(f"INSERT INTO {table} ({kept}) SELECT {kept} FROM kept_rows")
            conn.exec_driver_sql("DROP TABLE kept_rows")
        conn.exec_driver_sql("UPDATE dw.meta_schema_version SET ddl_sha256 = 'the DDL before reported years to date'")


def upgrade_a_warehouse_from_before(engine, added_columns: dict[str, tuple[str, ...]] = ADDED_COLUMNS) -> None:
    """Make the warehouse one from before ``added_columns`` existed, then upgrade it with
    `statwh init`: the columns are gone before and there after."""
    from etl.cli import main as statwh
    from etl.warehouse import column_types

    _make_it_a_warehouse_from_before_the_rule(engine, added_columns)
    for expected in (False, True):
        if expected:
            assert statwh(["init"]) == 0
        with engine.connect() as conn:
            for table, columns in added_columns.items():
                assert {c in column_types(conn, table) for c in columns} == {expected}, table


def test_statwh_init_upgrades_a_warehouse_from_before_the_rule(engine, landing, capsys):
    from etl.cli import main as statwh
    from etl.warehouse import rebuild_rollups

    ingest_file(_long_format(landing, "74_2023.csv", 2023, FIRST_PUBLISHED_2023), engine)
    upgrade_a_warehouse_from_before(engine)
    # the rows computed before: their source filled in, nothing else to recompute
    year = _retail(engine, 2023)
    assert (year["annual_value"], year["annual_source"], year["reported_december_ytd"]) == (
        SUM_OF_MONTHS_2023, "sum_of_months", None)
    assert rebuild_rollups(engine) == {"dw.fct_monthly_ytd": 0, "dw.fct_annual_rollup": 0, "dw.fct_plan_gap": 0}
    # and the upgraded warehouse follows the rule
    ingest_file(_report(landing, 12, FIRST_PUBLISHED_2023[-1], DECEMBER_YTD_2023), engine)
    year = _retail(engine, 2023)
    assert (year["annual_value"], year["annual_source"]) == (DECEMBER_YTD_2023, "reported_december_ytd")
    assert statwh(["init"]) == 0 and apply_schema(engine) == 0           # up to date: nothing runs again
