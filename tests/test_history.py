"""Estimates and revisions: every version kept, as-of answers, revision analysis, and
incremental recomputation that leaves untouched rows alone (DuckDB and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from etl.pipeline import ingest_file, ingest_paths
from etl.queries import as_of_instant, plan_gap, revision_summary
from etl.warehouse import rebuild_rollups, table_contents
from tests.conftest import write_csv
from tests.test_cli import statwh

HEADER = "region_code;indicator_code;period;value;unit;status;department_code\n"
JAN_10 = dt.datetime(2022, 1, 10, 3, 0)      # the sample "arrives" on 10 January 2022 (UTC)
MAR_15 = dt.datetime(2022, 3, 15, 3, 0)      # the official December figure, two months later


@pytest.fixture
def estimated_then_revised(engine, landing, sample_in_landing):
    for path in sample_in_landing:
        ingest_file(path, engine, recorded_at=JAN_10)
    with engine.connect() as conn:
        first = conn.execute(sa.text(
            "SELECT value FROM analytics.v_monthly_figure WHERE region_code = '74' "
            "AND indicator_code = 'RETAIL' AND month_key = 202112")).scalar_one()
    revised = first + 2500.0                                         # December revised up
    path = write_csv(landing, "74_retail_2021-12_official.csv",
                     HEADER + f"74;RETAIL;2021-12;{revised:.1f};tỷ đồng;official;SCT-BD\n".replace(".", ","))
    result = ingest_file(path, engine, recorded_at=MAR_15)
    return engine, first, revised, result


def test_plan_gap_as_of_a_date_shows_what_was_known_then(estimated_then_revised):
    engine, first, revised, _ = estimated_then_revised
    then = plan_gap(engine, 2021, "74", as_of=as_of_instant("2022-02-01"))
    now = plan_gap(engine, 2021, "74")
    retail_then = then.set_index("indicator_code").loc["RETAIL"]
    retail_now = now.set_index("indicator_code").loc["RETAIL"]
    assert retail_then.actual == pytest.approx(231578)
    assert round(retail_then.attainment_pct, 1) == 89.1
    assert retail_now.actual == pytest.approx(231578 + revised - first)
    assert retail_now.attainment_pct > retail_then.attainment_pct
    # the other targets did not change, so both answers agree on them
    assert then.set_index("indicator_code").loc["EXPORT"].actual == now.set_index("indicator_code").loc["EXPORT"].actual
    assert plan_gap(engine, 2021, "74", as_of=as_of_instant("2021-12-31")).empty   # nothing known yet


def test_the_same_question_in_sql_through_the_history_view(estimated_then_revised):
    engine, first, revised, _ = estimated_then_revised
    sql = ("SELECT actual FROM analytics.v_plan_gap_history WHERE region_code = '74' AND indicator_code = 'RETAIL' "
           "AND year = 2021 AND known_from <= :t AND (known_until IS NULL OR known_until > :t)")
    with engine.connect() as conn:
        feb = conn.execute(sa.text(sql), {"t": dt.datetime(2022, 2, 1)}).scalar_one()
        apr = conn.execute(sa.text(sql), {"t": dt.datetime(2022, 4, 1)}).scalar_one()
        versions = conn.execute(sa.text(
            "SELECT value, status FROM dw.fct_monthly_figure_version f JOIN dw.dim_indicator i USING (indicator_key) "
            "JOIN dw.dim_region r USING (region_key) WHERE r.region_code = '74' AND i.indicator_code = 'RETAIL' "
            "AND f.month_key = 202112 ORDER BY batch_key")).fetchall()
    assert feb == pytest.approx(231578) and apr == pytest.approx(231578 + revised - first)
    assert [tuple(v) for v in versions] == [(first, "official"), (revised, "official")]


def test_cli_as_of(estimated_then_revised, statwh_home):
    done = statwh("plan-gap", "--year", "2021", "--region", "74", "--format", "json", "--as-of", "2022-02-01",
                  env_home=statwh_home)
    assert done.returncode == 0, done.stderr
    retail = next(r for r in json.loads(done.stdout) if r["indicator_code"] == "RETAIL")
    assert round(retail["attainment_pct"], 1) == 89.1


def test_a_late_revision_rewrites_only_the_rows_it_touches(engine, landing, sample_in_landing):
    ingest_paths(sample_in_landing, engine)
    facts = ("dw.fct_monthly_ytd", "dw.fct_annual_rollup", "dw.fct_plan_gap")
    before = table_contents(engine, facts)
    path = write_csv(landing, "rev_2020-06.csv", HEADER + "74;RETAIL;2020-06;19.000,0;tỷ đồng;official;SCT-BD\n")
    batch = ingest_file(path, engine).batch_key
    after = table_contents(engine, facts)
    with engine.connect() as conn:
        keys = dict(conn.execute(sa.text("SELECT indicator_code, indicator_key FROM dw.dim_indicator")).fetchall())
        region = conn.execute(sa.text("SELECT region_key FROM dw.dim_region WHERE region_code = '74' "
                                      "AND valid_to IS NOT NULL")).scalar_one()
    retail = keys["RETAIL"]
    for fact in facts:
        # lineage is the last four columns: computed_by_batch_key, known_from, superseded_by, known_until
        written = [r for r in after[fact] if r[-4] == batch]
        closed = [r for r in after[fact] if r[-2] == batch]
        untouched = [r for r in after[fact] if r[-4] != batch and r[-2] != batch]
        # only Bình Dương retail changed: 2020 (the month) and 2021 (growth against 2020)
        assert {(r[0], r[1]) for r in written + closed} == {(region, retail)}, fact
        year_of = (lambda r: r[3]) if fact == "dw.fct_monthly_ytd" else (lambda r: r[2])
        assert {year_of(r) for r in written} <= {2020, 2021}, fact
        # every other row is exactly as it was, lineage included; closed rows kept as history
        assert sorted(untouched) == sorted(r for r in before[fact] if r[:-2] not in {c[:-2] for c in closed}), fact
        assert len(closed) == len(written) or fact == "dw.fct_plan_gap", fact
    ytd_written = [r for r in after["dw.fct_monthly_ytd"] if r[-4] == batch]
    # 2020: June's value and June..December's YTD change; 2021: June's growth and every YTD
    # growth from June on change; nothing else
    assert sorted(r[2] for r in ytd_written) == [202000 + m for m in range(6, 13)] + [202100 + m for m in range(6, 13)]


def test_a_revision_beyond_the_policy_warns_and_still_loads(engine, landing, sample_in_landing):
    ingest_paths(sample_in_landing, engine)
    path = write_csv(landing, "iip_rev.csv", HEADER + "74;IIP;2021-12;101,00;%;official;SCT-BD\n"
                     "74;EXPORT;2021-12;"
                     + _current(engine, "EXPORT", 202112).replace(".", ",") + ";triệu USD;official;SCT-BD\n")
    result = ingest_file(path, engine)
    assert result.status == "loaded" and result.rows_new_version == 1
    warnings = [p for p in result.problems if p["rule"] == "revision_exceeds_threshold"]
    assert [(w["row"], w["severity"]) for w in warnings] == [(2, "warning")]
    assert "from 104.51 to 101" in warnings[0]["message"]
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT rule, severity FROM analytics.v_submission_problem "
                                      "WHERE file_name = 'iip_rev.csv'")).fetchall()
    assert [tuple(r) for r in stored] == [("revision_exceeds_threshold", "warning")]


def test_an_estimate_replacing_an_official_figure_warns_however_small_the_change(engine, landing, sample_in_landing):
    """The sample's December exports are official; an estimate for the same month sent later
    (0,1 % off: far within the 5 % revision policy) becomes current as the latest version does,
    and the steward is told. An official figure replacing an estimate is the normal course."""
    ingest_paths(sample_in_landing, engine)
    official = float(_current(engine, "EXPORT", 202112))
    estimate = f"{official * 1.001:.1f}".replace(".", ",")
    result = ingest_file(write_csv(landing, "late_estimate.csv", HEADER + f"74;EXPORT;2021-12;{estimate};triệu USD;"
                                   "estimate;SCT-BD\n"), engine)
    assert result.status == "loaded" and result.rows_new_version == 1
    # and the sample's stated trade balance no longer equals exports minus imports
    assert [(p["row"], p["rule"], p["severity"]) for p in result.problems] == [
        (2, "estimate_replaces_official", "warning"), (2, "trade_balance_is_exports_minus_imports", "warning")]
    with engine.connect() as conn:
        checks = dict(conn.execute(sa.text(
            "SELECT c.rule, c.success FROM dw.audit_check_result AS c JOIN dw.audit_load_batch AS b "
            "ON b.batch_key = c.batch_key WHERE b.file_name = 'late_estimate.csv' AND c.suite_name = 'revision_policy'"
        )).fetchall())
    assert checks == {"revision_exceeds_threshold": True, "estimate_replaces_official": False}
    official_again = ingest_file(write_csv(landing, "official_again.csv", HEADER + f"74;EXPORT;2021-12;"
                                           f"{official:.1f}".replace(".", ",") + ";triệu USD;official;SCT-BD\n"), engine)
    assert official_again.status == "loaded" and official_again.problems == []


def _current(engine, indicator, month_key) -> str:
    with engine.connect() as conn:
        value = conn.execute(sa.text(
            "SELECT value FROM analytics.v_monthly_figure WHERE region_code = '74' AND indicator_code = :i "
            "AND month_key = :m"), {"i": indicator, "m": month_key}).scalar_one()
    return f"{value:.1f}"


def test_revision_analysis_per_indicator_and_department(estimated_then_revised):
    engine, first, revised, _ = estimated_then_revised
    summary = revision_summary(engine, 2021)
    row = summary[(summary.indicator_code == "RETAIL") & (summary.department_code == "SCT-BD")].iloc[0]
    expected = (revised - first) / first * 100
    assert (row.figures_reported_again, row.figures_changed) == (1, 1)
    assert row.mean_abs_revision_pct == pytest.approx(abs(expected))
    assert row.bias_pct == pytest.approx(expected)


def test_rebuild_completes_monthly_index_years_rolled_up_before(engine, sample_in_landing):
    """A warehouse rolled up before a monthly index's year could be complete holds IIP_MONTH's
    years as not complete (is_complete was FALSE for year_rule 'none' whatever its months):
    statwh rebuild closes those rows and adds complete ones, keeping the old ones as history."""
    ingest_paths(sample_in_landing, engine)
    old_rule = ("UPDATE dw.fct_annual_rollup SET is_complete = FALSE WHERE year_rule = 'none'")
    with engine.begin() as conn:
        conn.exec_driver_sql(old_rule)                       # the rows as the old definition wrote them
    assert rebuild_rollups(engine)["dw.fct_annual_rollup"] == 3                     # 74's 2020, 2021, 2022
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT year, is_complete, annual_value, known_until FROM analytics.v_annual_rollup_history "
            "WHERE region_code = '74' AND indicator_code = 'IIP_MONTH' ORDER BY year, known_from, "
            "computed_by_batch_key")).fetchall()
    assert [(r.year, bool(r.is_complete), r.annual_value, r.known_until is None) for r in rows] == [
        (year, complete, None, current) for year in (2020, 2021, 2022) for complete, current in ((False, False),
                                                                                                 (True, True))]
    assert rebuild_rollups(engine)["dw.fct_annual_rollup"] == 0


def test_rebuild_repairs_damaged_rollups_and_leaves_right_ones_alone(engine, sample_in_landing):
    ingest_paths(sample_in_landing, engine)
    facts = ("dw.fct_monthly_ytd", "dw.fct_annual_rollup", "dw.fct_plan_gap")
    good = table_contents(engine, facts)
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM dw.fct_annual_rollup WHERE year = 2021")
        conn.exec_driver_sql("UPDATE dw.fct_plan_gap SET actual = 1 WHERE year = 2022")
        damaged_gaps = conn.exec_driver_sql("SELECT COUNT(*) FROM dw.fct_plan_gap "
                                            "WHERE year = 2022 AND known_until IS NULL").scalar_one()
    written = rebuild_rollups(engine)
    annual_2021 = sum(1 for r in good["dw.fct_annual_rollup"] if r[2] == 2021 and r[-1] is None)
    assert written == {"dw.fct_monthly_ytd": 0, "dw.fct_annual_rollup": annual_2021, "dw.fct_plan_gap": damaged_gaps}
    assert rebuild_rollups(engine) == {"dw.fct_monthly_ytd": 0, "dw.fct_annual_rollup": 0, "dw.fct_plan_gap": 0}
    repaired = table_contents(engine, facts)
    assert set(good["dw.fct_monthly_ytd"]) == set(repaired["dw.fct_monthly_ytd"])   # untouched: identical

    def current_values(rows):
        return sorted(r[:-4] for r in rows if r[-1] is None)

    for fact in facts:
        assert current_values(repaired[fact]) == current_values(good[fact]), fact
