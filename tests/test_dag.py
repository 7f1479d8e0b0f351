"""The real DAG: integrity (imports, schedule, retries, no work at parse time) and an
end-to-end run with ``dag.test()`` over the sample landing folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import sqlalchemy as sa

from tests.conftest import REPO, assert_sample_loaded_by, refuse_inserts

pytestmark = pytest.mark.airflow


def test_dags_import_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == {"statwh_nightly", "statwh_completeness"}
    for dag_id in dagbag.dag_ids:
        dag = dagbag.get_dag(dag_id)
        assert str(dag.timetable.timezone.name) == "Asia/Ho_Chi_Minh" and dag.doc_md
        assert all(t.retries >= 2 for t in dag.tasks), dag_id
        # none may hang for ever (and hold the batches' turn to write): each has a time limit
        assert all(t.execution_timeout and t.execution_timeout.total_seconds() <= 2 * 3600 for t in dag.tasks), dag_id


def test_nightly_dag_is_scheduled_at_night_in_vietnam_with_retries(dagbag):
    dag = dagbag.get_dag("statwh_nightly")
    assert dag.timetable.expression == "0 2 * * *"
    assert str(dag.timetable.timezone.name) == "Asia/Ho_Chi_Minh"
    assert dag.catchup is False and dag.max_active_runs == 1
    assert {"statwh", "nightly"} <= set(dag.tags)
    assert dag.doc_md and "landing folder" in dag.doc_md
    for task in dag.tasks:
        assert task.retries >= 2, task.task_id
    order = [t.task_id for t in dag.topological_sort()]
    assert order[:3] == ["prepare_warehouse", "list_new_files", "ingest_file"]
    assert set(order[3:]) == {"summarize_run", "alert_stewards"}
    from etl.notifiers import TaskFailureAlert

    for task in dag.tasks:  # a failure of the pipeline itself reaches a person
        callbacks = task.on_failure_callback if isinstance(task.on_failure_callback, list) else [task.on_failure_callback]
        assert any(isinstance(c, TaskFailureAlert) for c in callbacks), task.task_id


@pytest.mark.parametrize("dag_file", ["statwh_nightly.py", "statwh_completeness.py"])
def test_parsing_the_dag_file_does_no_work(dag_file):
    """Heavy imports (GX, pandas, the warehouse) happen inside tasks, never at parse time."""
    code = (
        "import runpy, sys; runpy.run_path(sys.argv[1]); "
        "heavy = [m for m in ('great_expectations', 'pandas', 'etl.pipeline', 'duckdb') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(REPO / "dags" / dag_file)],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("warehouse_url", ["duckdb", "postgresql"], indirect=True)
def test_nightly_run_loads_the_sample_landing_folder(dagbag, warehouse_url, statwh_home, sample_in_landing):
    from airflow.utils.state import DagRunState

    dag = dagbag.get_dag("statwh_nightly")
    run = dag.test()
    assert run.state == DagRunState.SUCCESS
    assert_sample_loaded_by(run.run_id, warehouse_url, statwh_home)

    second = dag.test()                       # nothing new in the landing folder
    assert second.state == DagRunState.SUCCESS
    engine = sa.create_engine(warehouse_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM dw.audit_load_batch")).scalar_one() == 3
    engine.dispose()


@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)
def test_backfilling_past_dates_gives_the_same_warehouse_as_one_run(dagbag, warehouse_url, statwh_home,
                                                                    sample_in_landing):
    """Re-running the nightly DAG for past dates — with the operator putting the archived
    files back into the landing folder, the worst case — changes nothing. (Dates before
    the DAG's start_date, 2026-01-01, would run no tasks at all.)"""
    import shutil

    import pendulum
    from airflow.utils.state import DagRunState

    from etl.warehouse import WAREHOUSE_TABLES, make_engine, table_contents

    dag = dagbag.get_dag("statwh_nightly")
    tz = "Asia/Ho_Chi_Minh"
    assert dag.test(logical_date=pendulum.datetime(2026, 1, 20, 2, tz=tz)).state == DagRunState.SUCCESS
    engine = make_engine(warehouse_url)
    once = table_contents(engine, WAREHOUSE_TABLES)
    for archived in (statwh_home / "archive").iterdir():
        shutil.copy2(archived, statwh_home / "landing" / archived.name.split("_", 1)[1])
    for day in (18, 19, 20, 21):
        run = dag.test(logical_date=pendulum.datetime(2026, 1, day, 2, tz=tz))
        assert run.state == DagRunState.SUCCESS
    assert table_contents(engine, WAREHOUSE_TABLES) == once
    assert list((statwh_home / "landing").iterdir()) == []
    engine.dispose()


@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)
def test_a_nightly_run_with_a_bad_file_alerts_once(dagbag, warehouse_url, statwh_home, sample_in_landing, alert_env):
    from airflow.utils.state import DagRunState

    inbox, posts = alert_env
    bad = "region_code;indicator_code;period;value;unit;status\n74;RETAIL;2021-12;hai mươi;tỷ đồng;official\n"
    (statwh_home / "landing" / "74_2021-12.csv").write_text(bad, encoding="utf-8")
    dag = dagbag.get_dag("statwh_nightly")
    assert dag.test().state == DagRunState.SUCCESS
    assert [m["Subject"] for m in inbox.messages] == ["[statwh][error] Rejected: 74_2021-12.csv (1 problems)"]
    assert [(p["row"], p["column"], p["value"]) for p in posts[0]["payload"]["problems"]] == [(2, "value", "hai mươi")]
    # the department sends the same bad file again: the next night does not repeat the alert
    (statwh_home / "landing" / "74_2021-12.csv").write_text(bad, encoding="utf-8")
    assert dag.test().state == DagRunState.SUCCESS
    assert len(inbox.messages) == 1 and len(posts) == 1


@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)
def test_a_failed_ingest_does_not_silence_the_files_rejected_in_the_same_run(
        dagbag, warehouse_url, engine, statwh_home, sample_in_landing, alert_env, monkeypatch):
    """One file's load fails inside PostgreSQL (a trigger refuses its figure: a real error
    from the server, like a disk or constraint failure). The run ends failed, the stewards
    still get the rejected file of the same run and the task failure, and the failure alert
    stays open until a later run gets every file through."""
    from airflow.utils.state import DagRunState, TaskInstanceState

    inbox, _ = alert_env
    landing = statwh_home / "landing"
    (landing / "74_2021-12.csv").write_text(
        "region_code;indicator_code;period;value;unit;status\n74;RETAIL;2021-12;hai mươi;tỷ đồng;official\n",
        encoding="utf-8")
    (landing / "01_2022-01.csv").write_text(
        "region_code;indicator_code;period;value;unit;status;note\n"
        "01;RETAIL;2022-01;31.250,5;tỷ đồng;official;inject failure\n", encoding="utf-8")
    lift = refuse_inserts(engine, "dw.fct_monthly_figure_version", when="NEW.note = 'inject failure'")
    dag = dagbag.get_dag("statwh_nightly")
    monkeypatch.setattr(dag.get_task("ingest_file"), "retries", 0)  # no 5-minute retry waits in a test

    run = dag.test()
    assert run.state == DagRunState.FAILED
    states = {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()}
    assert sorted(s for (task, _), s in states.items() if task == "ingest_file") == \
        sorted([TaskInstanceState.FAILED] + [TaskInstanceState.SUCCESS] * 4)
    assert states[("alert_stewards", -1)] == TaskInstanceState.SUCCESS
    subjects = sorted(m["Subject"] for m in inbox.messages)
    assert subjects == ["[statwh][error] Pipeline task failed: statwh_nightly.ingest_file",
                        "[statwh][error] Rejected: 74_2021-12.csv (1 problems)"]
    assert (landing / "01_2022-01.csv").exists()     # not loaded: waits for the next run

    def open_alerts() -> list[str]:
        with engine.connect() as conn:
            return sorted(conn.execute(sa.text(
                "SELECT fingerprint FROM dw.audit_alert WHERE resolved_at IS NULL")).scalars())

    assert open_alerts() == ["submission:74_2021-12.csv", "task:statwh_nightly:ingest_file"]

    lift()                                           # the cause is fixed: the next night gets through
    assert dag.test().state == DagRunState.SUCCESS
    assert not (landing / "01_2022-01.csv").exists()
    assert open_alerts() == ["submission:74_2021-12.csv"]
    assert len(inbox.messages) == 2


@pytest.mark.parametrize(("settings", "expected"), [
    ({}, 1),
    ({"STATWH_WAREHOUSE_URL": "postgresql+psycopg://statwh@db/statwh", "STATWH_MAX_PARALLEL_INGESTS": "2"}, 2),
])
def test_the_nightly_dag_ingests_as_many_files_at_once_as_configured(tmp_path, settings, expected):
    """Parsed as the DAG processor parses it, with the settings of the environment."""
    code = ("import sys; from airflow.dag_processing.dagbag import DagBag; "
            "bag = DagBag(dag_folder=sys.argv[1]); "
            "print(bag.dags['statwh_nightly'].get_task('ingest_file').max_active_tis_per_dagrun)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("STATWH_")}
    env.update({"STATWH_HOME": str(tmp_path), **settings})
    out = subprocess.run([sys.executable, "-c", code, str(REPO / "dags" / "statwh_nightly.py")],
                         capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip().splitlines()[-1] == str(expected)


@pytest.mark.parametrize("written", ["0", "-1", "two", "1.5"])
def test_a_parallelism_that_is_not_a_whole_number_of_files_is_refused(written):
    from etl.config import ingest_parallelism

    with pytest.raises(ValueError, match=f"STATWH_MAX_PARALLEL_INGESTS .* not '{re.escape(written)}'"):
        ingest_parallelism({"STATWH_MAX_PARALLEL_INGESTS": written})
