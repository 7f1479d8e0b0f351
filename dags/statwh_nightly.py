"""
### statwh_nightly — monthly figures from the landing folder into the warehouse

Every night at 02:00 (Asia/Ho_Chi_Minh) this DAG

1. **prepare_warehouse** — creates missing schema objects and merges the reference data;
2. **list_new_files** — lists the CSV/XLSX files waiting in `STATWH_LANDING_DIR`;
3. **ingest_file** (one mapped task per file; one at a time in landing order, or up to
   `STATWH_MAX_PARALLEL_INGESTS` side by side, batches still written one after another, and
   a file never replacing a figure that a later-named file of the run has set) —
   validates the file with the Great Expectations suites in `expectations/`; a bad file
   goes to quarantine with a report naming sheet, row, column and rule, a good one is
   loaded in one transaction and its rollups, year-to-date and plan-gap facts are
   recomputed; the file is archived;
4. **summarize_run** — counts loaded, rejected and already-seen files;
5. **alert_stewards** — e-mails / posts (per `STATWH_ALERT_*`) the rejected files and
   warnings, once per open problem, even when another file's ingest failed; a failed task
   alerts too (`TaskFailureAlert`), and that alert stays open until a run completes.

Re-running is safe: a file whose checksum is known is not loaded twice.
Logic lives in `etl.orchestration`; this file only wires it.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, get_current_context, task

from etl.config import ingest_parallelism
from etl.notifiers import TaskFailureAlert


@dag(
    dag_id="statwh_nightly",
    schedule="0 2 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Ho_Chi_Minh"),
    catchup=False,  # each run takes whatever is in the landing folder: no per-date backlog
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
    tags=["statwh", "nightly"],
    doc_md=__doc__,
)
def statwh_nightly():
    @task
    def prepare_warehouse() -> str:
        from etl.orchestration import prepare

        return prepare()

    @task
    def list_new_files() -> list[str]:
        from etl.orchestration import list_new_files as list_files

        return list_files()

    # STATWH_MAX_PARALLEL_INGESTS at once (default 1: in landing order). With more, batches
    # still commit one by one on PostgreSQL; on DuckDB, which has one writer, whole ingests
    # take turns (etl.config.ingest_parallelism says what the choice means).
    @task(max_active_tis_per_dagrun=ingest_parallelism())
    def ingest_file(path: str) -> dict:
        from etl.orchestration import ingest_one

        context = get_current_context()
        # the mapped index is the file's place in list_new_files' name order
        return ingest_one(path, run_id=context["run_id"], landing_position=context["ti"].map_index)

    @task(trigger_rule="none_failed")
    def summarize_run(results: list[dict]) -> dict:
        from etl.orchestration import summarize

        # Index instead of iterating: iterating a lazy XCom sequence probes past its end.
        return summarize([results[i] for i in range(len(results))])

    # all_done: a file whose ingest failed must not keep the stewards from hearing about the
    # files that were rejected in the same run. Only the finished files' results arrive; the
    # run itself still ends failed (summarize_run is upstream_failed) and the failed task has
    # alerted on its own.
    @task(trigger_rule="all_done")
    def alert_stewards(results: list[dict], files: list[str]) -> dict:
        from etl.orchestration import send_run_alerts

        return send_run_alerts([results[i] for i in range(len(results))], get_current_context()["run_id"],
                               files_listed=len(files))

    files = list_new_files()
    prepare_warehouse() >> files
    results = ingest_file.expand(path=files)
    summarize_run(results)
    alert_stewards(results, files)


statwh_nightly()
