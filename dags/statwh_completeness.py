"""
### statwh_completeness — which departments reported, on time, late, or not at all

Every morning at 07:00 (Asia/Ho_Chi_Minh) this DAG reassesses the last 13 months of
reporting obligations (`etl/reference/reporting_obligations.csv`: who reports which
indicator, and the deadline day of the following month) as of the run's data interval
end, stores the result in `dw.fct_reporting_status` (summary:
`analytics.v_reporting_completeness`), and alerts stewards about missing reports (error)
and late ones (warning) — once per department and month, until the set changes.
Logic lives in `etl.orchestration` and `etl.completeness`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, get_current_context, task

from etl.notifiers import TaskFailureAlert


@dag(
    dag_id="statwh_completeness",
    schedule="0 7 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Ho_Chi_Minh"),
    catchup=False,
    max_active_runs=1,
    default_args={
        "retries": 2,
        "retry_delay": pendulum.duration(minutes=5),
        # A task stuck on a dead connection fails (and alerts, and is retried) instead of holding
        # the run, and on PostgreSQL the batches' turn to write, until someone notices. Two hours
        # is far beyond the largest file's ingest (200 MB) with the others' turns to wait for.
        "execution_timeout": pendulum.duration(hours=2),
        "on_failure_callback": TaskFailureAlert(),
    },
    tags=["statwh", "data-quality"],
    doc_md=__doc__,
)
def statwh_completeness():
    @task
    def prepare_warehouse() -> str:
        from etl.orchestration import prepare

        return prepare()

    @task
    def assess_reporting() -> str:
        from etl.orchestration import assess_reporting_as_of

        # As of the end of the run's interval, not "now": a backfilled day reassesses that day.
        as_of = get_current_context()["data_interval_end"].isoformat()
        assess_reporting_as_of(as_of)
        return as_of

    @task
    def alert_missing_and_late(as_of: str) -> dict:
        from etl.orchestration import send_reporting_alerts

        return send_reporting_alerts(as_of)

    assessed = assess_reporting()
    prepare_warehouse() >> assessed
    alert_missing_and_late(assessed)


statwh_completeness()
