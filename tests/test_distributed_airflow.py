"""The nightly DAG on a real distributed Airflow: CeleryExecutor, Redis broker, PostgreSQL
metadata database and result backend, and every component in its own process — API server,
scheduler, DAG processor and two Celery workers — started from the venv's ``airflow`` command
exactly as ``docker-compose.yml`` starts them in containers.

Needs PostgreSQL (``STATWH_TEST_PG_ADMIN_URL``, default 127.0.0.1:5432) and Redis
(``STATWH_TEST_REDIS_URL``, default ``redis://127.0.0.1:6379/5``); fails, never skips, when
either is down. Each run uses fresh databases, its own Celery queue and worker names (a worker
left over from another run cannot take its tasks), stops every process it started by PID and
drops what it created.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from tests.conftest import REPO, _admin, _pg_url, assert_sample_loaded_by, free_port

pytestmark = pytest.mark.airflow

REDIS_URL = os.environ.get("STATWH_TEST_REDIS_URL", "redis://127.0.0.1:6379/5")
VENV_BIN = Path(sys.executable).parent
DAG_ID = "statwh_nightly"
WORKERS = ("w1", "w2")
RUN_TIMEOUT_S = 600  # a liveness bound, not a speed claim: generous on a busy 2-core machine
STARTUP_TIMEOUT_S = 120

# The settings that make Airflow distributed: the same names are in docker-compose.yml's
# x-airflow-env (tests/test_docker_compose.py checks that they stay the same).
EXECUTOR = "CeleryExecutor"
DISTRIBUTED_SETTINGS = (
    "AIRFLOW__CORE__EXECUTOR",
    "AIRFLOW__CELERY__BROKER_URL",
    "AIRFLOW__CELERY__RESULT_BACKEND",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC",
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__API__SECRET_KEY",
)
# Set here only: one host runs several test clusters (and other people's workers), so each run
# gets its own queue, and the result backend records which worker ran each task.
TEST_ONLY_SETTINGS = (
    "AIRFLOW__OPERATORS__DEFAULT_QUEUE",
    "AIRFLOW__CELERY__EXTRA_CELERY_CONFIG",
    "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE",
)


def compose_worker_healthcheck() -> str:
    """The shell command docker-compose.yml's airflow-worker healthcheck runs (``$$`` -> ``$``)."""
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    kind, command = compose["services"]["airflow-worker"]["healthcheck"]["test"]
    assert kind == "CMD-SHELL"
    return command.replace("$$", "$")


def result_backend_url(sqlalchemy_url: str) -> str:
    """Celery's database result backend for a metadata database URL: ``db+`` and the same
    driver (``postgresql+psycopg``: a bare ``postgresql://`` would ask for psycopg2)."""
    return f"db+{sqlalchemy_url}"


def airflow_environment(*, airflow_home: Path, metadata_url: str, broker_url: str, api_port: int,
                        queue: str, jwt_secret: str, api_secret_key: str) -> dict[str, str]:
    """The Airflow settings shared by every process of one cluster."""
    return {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__EXECUTOR": EXECUTOR,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
        # Left unset, Airflow derives postgresql+asyncpg:// for its async engine, and asyncpg is
        # not installed: every airflow command fails at import. psycopg 3 does async itself.
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": metadata_url,
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": result_backend_url(metadata_url),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": jwt_secret,
        "AIRFLOW__API__SECRET_KEY": api_secret_key,
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
        # celery_taskmeta.worker then names the worker that ran each task
        "AIRFLOW__CELERY__EXTRA_CELERY_CONFIG": '{"result_extended": true}',
        # Unpausing would otherwise start a run for the latest 02:00 at once (catchup=False
        # still runs the most recent interval), which takes the files before the test's run.
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
    }


# --------------------------------------------------------------------------- processes


def descendants(pid: int) -> set[int]:
    """PIDs of every live descendant of ``pid`` (from /proc), so that a child that left the
    process group is still stopped by its PID."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


class Cluster:
    """The processes of one test run: each in its own process group, output in a log file."""

    def __init__(self, log_dir: Path, env: dict[str, str]):
        self.log_dir = log_dir
        self.env = env
        self.processes: dict[str, subprocess.Popen] = {}
        log_dir.mkdir(parents=True, exist_ok=True)

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def run(self, name: str, *args: str, timeout: float = 120) -> str:
        """Run an ``airflow`` command to completion; its output is kept in its log file."""
        with self.log_path(name).open("wb") as log:
            done = subprocess.run([str(VENV_BIN / "airflow"), *args], env=self.env, stdout=log,
                                  stderr=subprocess.STDOUT, timeout=timeout, start_new_session=True)
        output = self.log_path(name).read_text(errors="replace")
        assert done.returncode == 0, f"airflow {' '.join(args)} exited {done.returncode}:\n{output[-3000:]}"
        return output

    def shell(self, name: str, command: str, extra_env: dict[str, str], timeout: float = 60) -> int:
        """Run a shell command with this cluster's environment; returns its exit status."""
        with self.log_path(name).open("wb") as log:
            return subprocess.run(["sh", "-c", command], env={**self.env, **extra_env}, stdout=log,
                                  stderr=subprocess.STDOUT, timeout=timeout, start_new_session=True).returncode

    def start(self, name: str, *args: str) -> None:
        with self.log_path(name).open("wb") as log:
            self.processes[name] = subprocess.Popen(
                [str(VENV_BIN / "airflow"), *args], env=self.env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)

    def assert_running(self) -> None:
        exited = {name: p.returncode for name, p in self.processes.items() if p.poll() is not None}
        assert not exited, f"exited early: {exited}"

    def stop(self, grace_s: float = 20) -> None:
        """SIGTERM to each process group, then SIGKILL to whatever is left, by PID."""
        family = {name: {p.pid} | descendants(p.pid) for name, p in self.processes.items()}
        for p in self.processes.values():
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + grace_s
        for p in self.processes.values():
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for name, p in self.processes.items():
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            for pid in family[name] | descendants(p.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            p.wait(timeout=10)

    def print_logs(self, lines: int = 60) -> None:
        """The tail of every process's log and of every task log (without GX's import chatter)."""
        task_logs = sorted((Path(self.env["AIRFLOW_HOME"]) / "logs").rglob("attempt=*.log"))
        for path in [*sorted(self.log_dir.glob("*.log")), *task_logs]:
            text = [line for line in path.read_text(errors="replace").splitlines() if "_docs_decorators" not in line]
            tail = text[-lines:]
            print(f"\n===== {path} (last {len(tail)} lines) =====", *tail, sep="\n")


def wait_for(what: str, check, cluster: Cluster, timeout_s: float, interval_s: float = 1.0):
    deadline = time.monotonic() + timeout_s
    while True:
        cluster.assert_running()
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(interval_s)


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def scalar(engine: sa.Engine, sql: str, **params):
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar()
    except sa.exc.ProgrammingError:  # table not created yet
        return None


def forget_redis_keys(redis_url: str, tag: str) -> None:
    """Remove what kombu left in Redis for this run's queue and workers (names contain ``tag``)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        for key in client.scan_iter(match=f"*{tag}*"):
            client.delete(key)
        for key in client.scan_iter(match="_kombu.binding.*"):
            members = [m for m in client.smembers(key) if tag.encode() in m]
            if members:
                client.srem(key, *members)
    finally:
        client.close()


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def redis_broker() -> str:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.fail(f"the distributed Airflow test needs Redis at {REDIS_URL} (STATWH_TEST_REDIS_URL): {exc}")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def airflow_metadata_url():
    """A fresh PostgreSQL database for Airflow's metadata and Celery's results."""
    database = f"statwh_af_{uuid.uuid4().hex[:12]}"
    admin = _admin()
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {database}")
    yield _pg_url(database)
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    admin.dispose()


# --------------------------------------------------------------------------- the run


@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)
def test_nightly_dag_on_celery_workers(tmp_path, redis_broker, airflow_metadata_url, warehouse_url, engine, login,
                                       statwh_home, sample_in_landing):
    tag = f"statwh-{uuid.uuid4().hex[:10]}"
    queue = f"{tag}-queue"
    worker_names = {name: f"celery@{tag}-{name}" for name in WORKERS}
    api_port = free_port()

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "STATWH_"))}
    env.update(airflow_environment(
        airflow_home=tmp_path / "airflow", metadata_url=airflow_metadata_url, broker_url=redis_broker,
        api_port=api_port, queue=queue, jwt_secret=secrets.token_hex(32), api_secret_key=secrets.token_hex(32)))
    env.update({
        # one warehouse and one set of file folders, shared by configuration by every worker
        "STATWH_HOME": str(statwh_home),
        # as in docker-compose.yml: the schema's owner prepared the warehouse (the engine fixture,
        # as airflow-init's `statwh init`), the tasks log in as a member of statwh_loader
        "STATWH_WAREHOUSE_URL": login("statwh_loader").url.render_as_string(hide_password=False),
        "STATWH_LANDING_DIR": str(statwh_home / "landing"),
        "STATWH_ARCHIVE_DIR": str(statwh_home / "archive"),
        "STATWH_QUARANTINE_DIR": str(statwh_home / "quarantine"),
        # the three sample files side by side (the default, 1, takes them in landing order)
        "STATWH_MAX_PARALLEL_INGESTS": "3",
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
    })
    cluster = Cluster(tmp_path / "process-logs", env)
    metadata = sa.create_engine(airflow_metadata_url, poolclass=sa.pool.NullPool)
    background = ThreadPoolExecutor(1)
    timings: dict[str, float] = {}
    started = time.monotonic()

    def lap(name: str) -> None:
        timings[name] = round(time.monotonic() - started, 1)

    try:
        cluster.run("db-migrate", "db", "migrate")
        lap("db migrate")
        cluster.start("api-server", "api-server", "--host", "127.0.0.1", "--port", str(api_port), "--workers", "1")
        cluster.start("scheduler", "scheduler")
        cluster.start("dag-processor", "dag-processor")
        for name, hostname in worker_names.items():
            # Both workers share this host and its log folder, which the API server reads task
            # logs from directly: no log-serving port (8793 on each container in compose).
            cluster.start(f"worker-{name}", "celery", "worker", "--celery-hostname", hostname.split("@", 1)[1],
                          "--queues", queue, "--concurrency", "2", "--skip-serve-logs")

        wait_for("the API server", lambda: http_ok(f"http://127.0.0.1:{api_port}/api/v2/monitor/health"),
                 cluster, STARTUP_TIMEOUT_S)
        lap("api-server healthy")
        def parsed():
            error = scalar(metadata, "SELECT stacktrace FROM import_error LIMIT 1")
            assert not error, f"the DAG processor could not import the DAG file:\n{error}"
            return scalar(metadata, "SELECT COUNT(*) FROM serialized_dag WHERE dag_id = :d", d=DAG_ID)

        wait_for(f"{DAG_ID} to be parsed", parsed, cluster, STARTUP_TIMEOUT_S)
        lap("DAG parsed")
        wait_for("both Celery workers", lambda: all(
            f"{hostname} ready" in cluster.log_path(f"worker-{name}").read_text(errors="replace")
            for name, hostname in worker_names.items()), cluster, STARTUP_TIMEOUT_S)
        lap("workers ready")

        run_id = f"distributed__{tag}"
        # as an operator would, from the command line; together (a run triggered while the DAG
        # is paused waits for it to be unpaused)
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda args: cluster.run(*args), [
                ("unpause", "dags", "unpause", DAG_ID),
                ("trigger", "dags", "trigger", DAG_ID, "--run-id", run_id),
            ]))
        lap("triggered")

        # meanwhile, docker-compose.yml's worker healthcheck, pointed at each worker
        healthcheck = compose_worker_healthcheck()
        pings = background.submit(lambda: {
            name: cluster.shell(f"healthcheck-{name}", healthcheck, {"HOSTNAME": hostname.split("@", 1)[1]})
            for name, hostname in worker_names.items()})

        def run_finished():
            with metadata.connect() as conn:
                state = conn.execute(sa.text("SELECT state FROM dag_run WHERE dag_id = :d AND run_id = :r"),
                                     {"d": DAG_ID, "r": run_id}).scalar()
                troubled = conn.execute(sa.text(
                    "SELECT task_id, map_index, state FROM task_instance WHERE dag_id = :d AND run_id = :r "
                    "AND state IN ('failed', 'up_for_retry', 'upstream_failed')"), {"d": DAG_ID, "r": run_id}).fetchall()
            # retries wait 5 minutes: a first failure is reported now, not after the timeout
            assert not troubled, f"task instances in trouble: {troubled}"
            return state if state in ("success", "failed") else None

        state = wait_for(f"run {run_id}", run_finished, cluster, RUN_TIMEOUT_S, interval_s=2)
        lap("run finished")
        assert state == "success"
        assert pings.result(timeout=60) == {name: 0 for name in WORKERS}, "a worker failed the compose healthcheck"
        lap("healthchecks answered")

        # --- which worker ran what: the metadata DB and Celery's result backend (same database).
        # A task instance is marked successful by its own process through the Execution API; the
        # Celery task around it records SUCCESS a moment later.
        def task_instances():
            with metadata.connect() as conn:
                rows = conn.execute(sa.text(
                    "SELECT ti.task_id, ti.map_index, ti.state, ti.queue, ti.hostname, ti.try_number, "
                    "       ti.external_executor_id, ti.start_date, ti.end_date, "
                    "       tm.worker, tm.status AS celery_status "
                    "FROM task_instance ti LEFT JOIN celery_taskmeta tm ON tm.task_id = ti.external_executor_id "
                    "WHERE ti.dag_id = :d AND ti.run_id = :r ORDER BY ti.start_date"),
                    {"d": DAG_ID, "r": run_id}).fetchall()
            return rows if all(row.celery_status == "SUCCESS" for row in rows) else None

        tis = wait_for("Celery to record every task's result", task_instances, cluster, 30, interval_s=0.5)
        print(f"\nrun {run_id} on queue {queue}; timings (s since start): {timings}")
        for ti in tis:
            print(f"  {ti.task_id:<18} map_index={ti.map_index:>2}  {ti.state:<8} worker={ti.worker} "
                  f"host={ti.hostname} {(ti.end_date - ti.start_date).total_seconds():.1f} s")

        ran = {(ti.task_id, ti.map_index) for ti in tis}
        assert {("prepare_warehouse", -1), ("list_new_files", -1), ("summarize_run", -1)} <= ran
        assert sorted(i for task_id, i in ran if task_id == "ingest_file") == [0, 1, 2]  # one per sample file
        for ti in tis:
            assert ti.state == "success" and ti.try_number == 1, ti
            assert ti.queue == queue and ti.hostname, ti
            assert ti.external_executor_id, f"{ti.task_id} did not go through Celery"
            assert ti.worker in worker_names.values(), f"{ti.task_id} ran on {ti.worker}, not on this run's workers"

        # --- the files were ingested side by side (STATWH_MAX_PARALLEL_INGESTS=3 on 2 workers x 2
        # slots), their batches committed one after another
        ingests = [ti for ti in tis if ti.task_id == "ingest_file"]
        at_once = max(sum(1 for other in ingests if other.start_date < ti.end_date and ti.start_date < other.end_date)
                      for ti in ingests)
        print(f"  ingest_file tasks running at the same time: up to {at_once}")
        assert at_once >= 2, "the files were ingested one after another"

        # --- the warehouse and the folders, as after `statwh run`
        assert_sample_loaded_by(run_id, warehouse_url, statwh_home)
    except BaseException:
        cluster.print_logs()
        raise
    finally:
        cluster.stop()
        background.shutdown(cancel_futures=True)  # a healthcheck still running ends within its timeout
        metadata.dispose()
        forget_redis_keys(redis_broker, tag)
        print(f"stopped after {time.monotonic() - started:.1f} s")
