"""Completeness and timeliness (DHIS2-style), stored in the warehouse, with alerts for
missing and late reports delivered to real receivers — and the daily DAG that runs it."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from etl.alerts import dispatch, resolve
from etl.completeness import (assess_reporting, completeness_summary, obligations_in_force, reporting_alerts,
                              reporting_completeness)
from etl.pipeline import ingest_file
from tests.conftest import SAMPLE_DIR, refuse_inserts, write_csv

BD_SAMPLE = (SAMPLE_DIR / "74_binh_duong_2020-2022.csv").read_text(encoding="utf-8").splitlines()


def _bd_month(folder, period: str):
    """Bình Dương's sample figures of one month, as the department would send them."""
    return write_csv(folder, f"74_{period}.csv", "\n".join([BD_SAMPLE[0]] + [l for l in BD_SAMPLE[1:]
                                                                           if f";{period};" in l]) + "\n")


@pytest.fixture
def reporting_history(engine, landing):
    # November 2021 arrives on 15 December (on time), December on 25 January (after the
    # 20 January deadline), January 2022 never; the department's February is not yet due.
    ingest_file(_bd_month(landing, "2021-11"), engine, recorded_at=dt.datetime(2021, 12, 15, 2))
    ingest_file(_bd_month(landing, "2021-12"), engine, recorded_at=dt.datetime(2022, 1, 25, 2))
    return engine


AS_OF = dt.datetime(2022, 3, 1)


def test_reporting_rates_per_department_and_month(reporting_history):
    assess_reporting(reporting_history, AS_OF)
    summary = completeness_summary(reporting_history).set_index(["department_code", "month_key"])
    rows = {(d, m): r for (d, m), r in summary.iterrows()}
    nov, dec, jan, feb = (rows[("SCT-BD", k)] for k in (202111, 202112, 202201, 202202))
    assert (nov.expected, nov.received, nov.on_time, nov.late, nov.missing) == (10, 10, 10, 0, 0)
    assert (dec.expected, dec.received, dec.on_time, dec.late, dec.missing) == (10, 10, 0, 10, 0)
    assert (jan.expected, jan.received, jan.missing) == (10, 0, 10)
    assert (feb.expected, feb.not_yet_due) == (0, 10)            # deadline 20 March
    assert (nov.completeness_pct, nov.timeliness_pct) == (100.0, 100.0)
    assert (dec.completeness_pct, dec.timeliness_pct) == (100.0, 0.0)
    bt_jan = rows[("SCT-BT", 202201)]
    assert (bt_jan.expected, bt_jan.missing) == (5, 5)           # Bến Tre sent nothing at all



def test_a_month_is_assessed_as_of_the_instant_asked_whatever_an_earlier_call_stored(reporting_history):
    """December 2021 (deadline 20 January, sent 25 January): missing as of 22 January, late as of
    now — though now is years later, beyond the 13 months the daily DAG reassesses. Asking about
    22 January again gives the same answer, and leaves stored what was assessed as of now."""
    def bd(summary) -> tuple:
        row = summary.set_index("department_code").loc["SCT-BD"]
        return row.month_key, row.expected, row.received, row.late, row.missing

    then = dt.datetime(2022, 1, 22)
    assert bd(reporting_completeness(reporting_history, then, 202112)) == (202112, 10, 0, 0, 10)
    assert completeness_summary(reporting_history).empty                # a question about the past: not stored
    assert bd(reporting_completeness(reporting_history, month_key=202112)) == (202112, 10, 10, 10, 0)
    assert bd(reporting_completeness(reporting_history, then, 202112)) == (202112, 10, 0, 0, 10)
    assert bd(completeness_summary(reporting_history, (202112, 202112))) == (202112, 10, 10, 10, 0)

    recent = reporting_completeness(reporting_history, AS_OF)             # the 13 months before March 2022
    assert (recent.month_key.min(), recent.month_key.max()) == (202102, 202203)
    assert bd(recent[recent.month_key == 202112]) == (202112, 10, 10, 10, 0)

def test_missing_and_late_reports_alert_once_until_they_change(reporting_history, landing, alert_env):
    inbox, posts = alert_env
    assess_reporting(reporting_history, AS_OF)
    alerts, _ = reporting_alerts(reporting_history, AS_OF, months_back=4)
    dispatch(alerts, reporting_history)
    subjects = sorted(str(m["Subject"]).strip() for m in inbox.messages)  # long subjects are folded
    assert "[statwh][error] SCT-BD: 10 reports for 2022-01 missing (deadline 2022-02-20)" in subjects
    assert "[statwh][error] SCT-BT: 5 reports for 2022-01 missing (deadline 2022-02-20)" in subjects
    late = [p for p in posts if p["kind"] == "late_report"]
    assert [p["payload"]["period"] for p in late] == ["2021-12"]
    assert "74/RETAIL" in late[0]["payload"]["late"]
    assert not any("[statwh][warning]" in str(m["Subject"]) for m in inbox.messages)  # e-mail: errors only

    sent = len(inbox.messages), len(posts)
    alerts, _ = reporting_alerts(reporting_history, AS_OF, months_back=4)
    assert dispatch(alerts, reporting_history).sent == []         # the next morning: nothing new
    assert (len(inbox.messages), len(posts)) == sent

    # January arrives: its missing alert is resolved
    ingest_file(_bd_month(landing, "2022-01"), reporting_history, recorded_at=dt.datetime(2022, 3, 2, 2))
    later = dt.datetime(2022, 3, 3)
    assess_reporting(reporting_history, later)
    alerts, cleared = reporting_alerts(reporting_history, later, months_back=4)
    assert "missing:SCT-BD:202201" in resolve(reporting_history, cleared)


@pytest.mark.airflow
@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)
def test_the_daily_dag_assesses_as_of_its_interval(dagbag, reporting_history, warehouse_url, alert_env):
    import pendulum
    from airflow.utils.state import DagRunState

    assert dagbag.import_errors == {}
    dag = dagbag.get_dag("statwh_completeness")
    assert dag.timetable.expression == "0 7 * * *"
    run = dag.test(logical_date=pendulum.datetime(2026, 3, 1, 7, tz="Asia/Ho_Chi_Minh"))
    assert run.state == DagRunState.SUCCESS
    with reporting_history.connect() as conn:
        assessed = conn.execute(sa.text("SELECT DISTINCT assessed_at FROM dw.fct_reporting_status")).scalars().all()
        months = conn.execute(sa.text("SELECT MIN(month_key), MAX(month_key) FROM dw.fct_reporting_status")).one()
    # the run's interval ends 2026-03-01 07:00 in Vietnam = 00:00 UTC; 13 months back
    assert assessed == [dt.datetime(2026, 3, 1, 0, 0)]
    # obligations end with the merger (2025-06): 13 months back from March 2026 reach February 2025
    assert tuple(months) == (202502, 202506)
    inbox, posts = alert_env
    assert any("SCT-BD: 10 reports for 2025-06 missing" in str(m["Subject"]) for m in inbox.messages)


def test_an_obligation_without_a_last_period_is_still_in_force(tmp_path):
    """A blank last_period means open-ended, for every reader of the obligations (the
    template and the report-layout reader ask the same function as the assessment)."""
    path = tmp_path / "reporting_obligations.csv"
    path.write_text("department_code,department_name_vi,region_code,indicator_code,first_period,last_period,"
                    "deadline_day\nSCT-HCM,Sở Công Thương TP. Hồ Chí Minh,79,RETAIL,2025-07,,20\n"
                    "SCT-HCM,Sở Công Thương TP. Hồ Chí Minh,79,EXPORT,2025-07,2026-06,20\n", encoding="utf-8")
    assert obligations_in_force("79", "2030-01", path)["indicator_code"].tolist() == ["RETAIL"]
    assert obligations_in_force("79", "2026-06", path)["indicator_code"].tolist() == ["RETAIL", "EXPORT"]
    assert obligations_in_force("79", "2025-06", path).empty


@pytest.mark.airflow
@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)
def test_a_failed_assessment_alerts_and_the_next_good_run_resolves_it(dagbag, reporting_history, warehouse_url,
                                                                       alert_env, monkeypatch):
    """The assessment fails inside PostgreSQL (a trigger refuses the write): the task failure
    reaches the stewards; once the cause is gone, the next day's run closes that alert."""
    import pendulum
    from airflow.utils.state import DagRunState

    inbox, _ = alert_env
    lift = refuse_inserts(reporting_history, "dw.fct_reporting_status")
    dag = dagbag.get_dag("statwh_completeness")
    monkeypatch.setattr(dag.get_task("assess_reporting"), "retries", 0)
    tz = "Asia/Ho_Chi_Minh"

    def open_task_alerts() -> list[str]:
        with reporting_history.connect() as conn:
            return conn.execute(sa.text("SELECT fingerprint FROM dw.audit_alert WHERE resolved_at IS NULL "
                                        "AND fingerprint LIKE 'task:%' ORDER BY 1")).scalars().all()

    assert dag.test(logical_date=pendulum.datetime(2026, 3, 1, 7, tz=tz)).state == DagRunState.FAILED
    # (a subject this long is folded before its first word; Python's parser keeps that space)
    assert "[statwh][error] Pipeline task failed: statwh_completeness.assess_reporting" in \
        [m["Subject"].strip() for m in inbox.messages]
    assert open_task_alerts() == ["task:statwh_completeness:assess_reporting"]
    lift()
    assert dag.test(logical_date=pendulum.datetime(2026, 3, 2, 7, tz=tz)).state == DagRunState.SUCCESS
    assert open_task_alerts() == []
