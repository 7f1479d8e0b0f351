"""Files of one nightly run count in landing-folder (name) order, whichever is written first.

With STATWH_MAX_PARALLEL_INGESTS above 1 the files of a run are written in the order they
finish validating. When one night brings two versions of a figure (an estimate, then the
official report), the later name must end current as it does when the files go one after
another: here the later file is written first, as a faster worker would, and the earlier one
after it. On both warehouses. That the nightly DAG gives each file its place is checked after
its real runs (tests.conftest.assert_sample_loaded_by).
"""

from __future__ import annotations

import sqlalchemy as sa

from etl.pipeline import ingest_file
from etl.warehouse import rebuild_rollups
from tests.conftest import write_csv

HEADER = "region_code;indicator_code;period;value;unit;status\n"
PLAN_HEADER = "region_code;indicator_code;year;target_kind;target_value;unit\n"
RUN = "scheduled__2026-12-07T02:00:00+07:00"


def _current(engine) -> dict[tuple[str, int], tuple[float, str]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT indicator_code, month, value, status FROM analytics.v_monthly_figure "
            "WHERE region_code = '74' AND year = 2021")).fetchall()
    return {(code, month): (value, status) for code, month, value, status in rows}


def _december_ytd(engine) -> float:
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT ytd_value FROM analytics.v_monthly_figure WHERE region_code = '74' "
            "AND indicator_code = 'RETAIL' AND year = 2021 AND month = 12")).scalar_one()


def test_a_file_written_after_a_later_named_file_of_its_run_does_not_replace_its_figures(engine, landing):
    # the night's files, in name order: the estimate (0), then the official report (1)
    estimate = write_csv(landing, "74_2021-12_a_estimate.csv", HEADER
                         + "74;RETAIL;2021-11;19.000,0;tỷ đồng;estimate\n"
                         + "74;RETAIL;2021-12;20.000,0;tỷ đồng;estimate\n")
    official = write_csv(landing, "74_2021-12_b_official.csv", HEADER
                         + "74;RETAIL;2021-12;21.500,0;tỷ đồng;official\n"
                         + "74;EXPORT;2021-12;2.900,0;triệu USD;official\n")

    # the official report's worker finishes first
    first = ingest_file(official, engine, run_id=RUN, landing_position=1)
    second = ingest_file(estimate, engine, run_id=RUN, landing_position=0)
    assert (first.status, second.status) == ("loaded", "loaded")

    # December stays the official 21.500; the estimate's November, which no later file set, is loaded
    current = _current(engine)
    assert current[("RETAIL", 12)] == (21_500.0, "official")
    assert current[("RETAIL", 11)] == (19_000.0, "estimate")
    assert current[("EXPORT", 12)] == (2_900.0, "official")
    assert (second.rows_new_version, second.rows_unchanged) == (1, 0)
    [warning] = [p for p in second.problems if p["rule"] == "set_by_a_later_file_of_the_run"]
    assert (warning["row"], warning["column"], warning["value"], warning["severity"]) == (3, "value", "20.000,0",
                                                                                       "warning")
    assert "74_2021-12_b_official.csv" in warning["message"] and "21500" in warning["message"]
    with engine.connect() as conn:
        positions = dict(conn.execute(sa.text(
            "SELECT file_name, landing_position FROM dw.audit_load_batch WHERE pipeline_run_id = :r"), {"r": RUN}).all())
        recorded = conn.execute(sa.text(
            "SELECT success, element_count, unexpected_count FROM dw.audit_check_result "
            "WHERE batch_key = :b AND rule = 'set_by_a_later_file_of_the_run'"), {"b": second.batch_key}).one()
    assert positions == {estimate.name: 0, official.name: 1}
    assert tuple(recorded) == (False, 2, 1)
    # the rollups were computed from what is current: nothing for a rebuild to repair
    assert _december_ytd(engine) is None  # January-October missing: no year to date, whatever the order
    assert rebuild_rollups(engine) == {"dw.fct_monthly_ytd": 0, "dw.fct_annual_rollup": 0, "dw.fct_plan_gap": 0}


def test_the_order_of_names_holds_only_within_one_run(engine, landing):
    """A later run, or a file loaded by hand, is newer news whatever its name."""
    official = write_csv(landing, "74_b_official.csv", HEADER + "74;RETAIL;2021-12;21.500,0;tỷ đồng;official\n")
    correction = write_csv(landing, "74_a_correction.csv", HEADER + "74;RETAIL;2021-12;21.700,0;tỷ đồng;official\n")
    assert ingest_file(official, engine, run_id=RUN, landing_position=1).status == "loaded"
    later_run = ingest_file(correction, engine, run_id=RUN + "_next", landing_position=0)
    assert later_run.rows_new_version == 1 and not later_run.problems
    assert _current(engine)[("RETAIL", 12)] == (21_700.0, "official")
    by_hand = write_csv(landing, "74_0_by_hand.csv", HEADER + "74;RETAIL;2021-12;21.800,0;tỷ đồng;official\n")
    assert ingest_file(by_hand, engine).rows_new_version == 1                 # run 'cli', no position
    assert _current(engine)[("RETAIL", 12)] == (21_800.0, "official")


def test_a_plan_target_follows_the_same_order(engine, landing):
    draft = write_csv(landing, "74_plan_a_draft.csv", PLAN_HEADER + "74;RETAIL;2022;growth_pct;15;%\n")
    approved = write_csv(landing, "74_plan_b_approved.csv", PLAN_HEADER + "74;RETAIL;2022;growth_pct;16;%\n")
    assert ingest_file(approved, engine, run_id=RUN, landing_position=1).status == "loaded"
    result = ingest_file(draft, engine, run_id=RUN, landing_position=0)
    assert result.rows_new_version == 0
    assert [p["rule"] for p in result.problems] == ["set_by_a_later_file_of_the_run"]
    with engine.connect() as conn:
        target = conn.execute(sa.text(
            "SELECT target_value FROM dw.v_plan_target_current AS t JOIN dw.dim_region AS r ON r.region_key = "
            "t.region_key WHERE r.region_code = '74' AND t.year = 2022")).scalar_one()
    assert target == 16.0


def test_files_of_a_run_written_in_name_order_are_not_warned_about(engine, landing):
    estimate = write_csv(landing, "74_a.csv", HEADER + "74;RETAIL;2021-12;20.000,0;tỷ đồng;estimate\n")
    official = write_csv(landing, "74_b.csv", HEADER + "74;RETAIL;2021-12;21.500,0;tỷ đồng;official\n")
    assert ingest_file(estimate, engine, run_id=RUN, landing_position=0).rows_new_version == 1
    result = ingest_file(official, engine, run_id=RUN, landing_position=1)
    assert result.rows_new_version == 1
    assert [p["rule"] for p in result.problems] == ["revision_exceeds_threshold"]  # +7.5%: the policy's, not ours
    assert _current(engine)[("RETAIL", 12)] == (21_500.0, "official")
