"""Shared fixtures. Warehouse tests run twice: on the embedded DuckDB default and on the
PostgreSQL server at 127.0.0.1:5432 (a fresh database per test, cloned from a template
that already holds the schema and reference data)."""

from __future__ import annotations

import email
import email.policy
import json
import os
import shutil
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

# Airflow reads its home at import time: give the test session its own, before anything imports it.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="statwh-airflow-"))
REPO = Path(__file__).resolve().parent.parent
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"

import pytest  # noqa: E402
from aiosmtpd.controller import Controller  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from etl.warehouse import make_engine, prepare_warehouse  # noqa: E402

SAMPLE_DIR = REPO / "sample_data" / "landing"
PG_ADMIN_URL = os.environ.get("STATWH_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
_TEMPLATE_DB = f"statwh_test_template_{os.getpid()}"

_STATWH_VARIABLES = (
    "STATWH_WAREHOUSE_URL", "STATWH_LANDING_DIR", "STATWH_ARCHIVE_DIR", "STATWH_QUARANTINE_DIR",
    "STATWH_EXPECTATIONS_DIR", "STATWH_SQL_DIR",
)


def _pg_url(database: str) -> str:
    return sa.engine.make_url(PG_ADMIN_URL).set(database=database).render_as_string(hide_password=False)


def _admin():
    return sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


@pytest.fixture(autouse=True)
def no_airflow_task_context(monkeypatch):
    """Each test starts outside any Airflow task. A DAG run in this process (``dag.test()``)
    leaves its task's AIRFLOW_CTX_* variables in os.environ, as Airflow's task runner exports
    them there, and later tests would see themselves inside that task (e.g. in the names of
    their PostgreSQL sessions)."""
    for name in [n for n in os.environ if n.startswith("AIRFLOW_CTX_")]:
        monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def pg_template():
    """A PostgreSQL database with the schema and reference data, cloned by each test."""
    admin = _admin()
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {_TEMPLATE_DB} WITH (FORCE)")
        conn.exec_driver_sql(f"CREATE DATABASE {_TEMPLATE_DB}")
    engine = make_engine(_pg_url(_TEMPLATE_DB))
    prepare_warehouse(engine)
    engine.dispose()
    yield _TEMPLATE_DB
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {_TEMPLATE_DB} WITH (FORCE)")


@pytest.fixture
def statwh_home(tmp_path, monkeypatch) -> Path:
    """A private STATWH_HOME with landing, archive and quarantine folders."""
    home = tmp_path / "statwh"
    for name in _STATWH_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STATWH_HOME", str(home))
    for folder in ("landing", "archive", "quarantine"):
        (home / folder).mkdir(parents=True)
    return home


@pytest.fixture(params=["duckdb", "postgresql"])
def warehouse_url(request, statwh_home, monkeypatch) -> str:
    if request.param == "duckdb":
        url = f"duckdb:///{statwh_home / 'statwh.duckdb'}"
        monkeypatch.setenv("STATWH_WAREHOUSE_URL", url)
        yield url
        return
    template = request.getfixturevalue("pg_template")
    database = f"statwh_test_{uuid.uuid4().hex[:12]}"
    admin = _admin()
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {database} TEMPLATE {template}")
    url = _pg_url(database)
    monkeypatch.setenv("STATWH_WAREHOUSE_URL", url)
    yield url
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


@pytest.fixture
def engine(warehouse_url):
    engine = make_engine(warehouse_url)
    prepare_warehouse(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def landing(statwh_home) -> Path:
    return statwh_home / "landing"


@pytest.fixture
def sample_in_landing(landing) -> list[Path]:
    """The bundled sample files, copied into the landing folder."""
    copies = []
    for path in sorted(SAMPLE_DIR.iterdir()):
        shutil.copy2(path, landing / path.name)
        copies.append(landing / path.name)
    return copies


def assert_sample_loaded_by(run_id: str, warehouse_url: str, statwh_home: Path) -> None:
    """After a nightly DAG run on the bundled sample: the landing folder is empty, the three
    files are archived and loaded by that run, and Bình Dương's 2021 retail attainment is
    the published 89,1%."""
    assert list((statwh_home / "landing").iterdir()) == []
    assert len(list((statwh_home / "archive").iterdir())) == 3
    warehouse = sa.create_engine(warehouse_url, poolclass=sa.pool.NullPool)
    try:
        with warehouse.connect() as conn:
            batches = conn.execute(sa.text(
                "SELECT status, pipeline_run_id, file_name, landing_position FROM dw.audit_load_batch "
                "ORDER BY batch_key")).fetchall()
            attainment = conn.execute(sa.text(
                "SELECT ROUND(CAST(attainment_pct AS NUMERIC), 1) FROM analytics.v_plan_gap "
                "WHERE region_code = '74' AND indicator_code = 'RETAIL' AND year = 2021")).scalar_one()
    finally:
        warehouse.dispose()
    assert [b.status for b in batches] == ["loaded"] * 3
    assert {b.pipeline_run_id for b in batches} == {run_id}
    # each mapped ingest knew its file's place in the run's name order (tests/test_run_order.py)
    assert sorted((b.file_name, b.landing_position) for b in batches) == [
        (name, place) for place, name in enumerate(sorted(b.file_name for b in batches))]
    assert float(attainment) == 89.1


@pytest.fixture
def sample_warehouse(engine, sample_in_landing):
    """The warehouse with the bundled sample loaded (all three files)."""
    from etl.pipeline import ingest_paths

    summary = ingest_paths(sample_in_landing, engine)
    assert summary.counts == {"loaded": 3, "rejected": 0, "duplicate": 0}
    return engine


@pytest.fixture
def login(engine):
    """Make a login role that is a member of a group role (``statwh_loader``, ``statwh_analyst``),
    and connect as it: the warehouse as production's services and people use it."""
    created, engines = [], []

    def make(group: str) -> sa.Engine:
        name = f"{group}_{uuid.uuid4().hex[:8]}"
        with engine.begin() as conn:
            conn.exec_driver_sql(f"CREATE ROLE {name} LOGIN IN ROLE {group}")
        created.append(name)
        e = sa.create_engine(engine.url.set(username=name), poolclass=sa.pool.NullPool)
        engines.append(e)
        return e

    yield make
    for e in engines:
        e.dispose()
    with engine.begin() as conn:
        for name in created:
            conn.exec_driver_sql(f"DROP OWNED BY {name}")
            conn.exec_driver_sql(f"DROP ROLE {name}")


def refuse_inserts(engine, table: str, when: str = "true") -> Callable[[], None]:
    """Make PostgreSQL itself refuse rows inserted into ``table`` for which the SQL condition
    ``when`` (on ``NEW``) holds: a real server-side failure in the middle of a run, like a
    full disk or a broken constraint. Returns what lifts it again (the cause fixed)."""
    name = f"refuse_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE FUNCTION dw.{name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                             f"IF {when} THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$")
        conn.exec_driver_sql(f"CREATE TRIGGER {name} BEFORE INSERT ON {table} "
                             f"FOR EACH ROW EXECUTE FUNCTION dw.{name}()")

    def lift() -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP TRIGGER {name} ON {table}")

    return lift


def write_csv(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- Airflow


@pytest.fixture(scope="session")
def airflow_db():
    from airflow.utils import db

    db.resetdb()


@pytest.fixture(scope="session")
def dagbag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


# --------------------------------------------------------------------------- alert receivers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Inbox:
    def __init__(self):
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def smtp_inbox():
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


@pytest.fixture
def webhook_inbox():
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.received = received
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def alert_env(monkeypatch, smtp_inbox, webhook_inbox):
    monkeypatch.setenv("STATWH_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("STATWH_SMTP_PORT", str(smtp_inbox.port))
    monkeypatch.setenv("STATWH_ALERT_EMAIL_TO", "steward@soct.example,team@soct.example")
    monkeypatch.setenv("STATWH_ALERT_EMAIL_SEVERITIES", "error")
    monkeypatch.setenv("STATWH_ALERT_WEBHOOK_URL", f"http://127.0.0.1:{webhook_inbox.server_port}/hooks/statwh")
    monkeypatch.setenv("STATWH_ALERT_WEBHOOK_SEVERITIES", "error,warning")
    return smtp_inbox, webhook_inbox.received


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    session.config._statwh_exitstatus = int(exitstatus)


def pytest_unconfigure(config):
    """End the test process without interpreter teardown.

    With Great Expectations and duckdb both loaded, duckdb's nanobind bindings print a page of
    benign "leaked instances" diagnostics at shutdown, after pytest's summary line; CI reads
    that closing line. pytest has written its summary and cache by now.
    """
    status = getattr(config, "_statwh_exitstatus", None)
    # An xdist worker ends normally: it still has results to hand to the controller over execnet.
    if status is None or os.environ.get("STATWH_TEST_NORMAL_EXIT") or hasattr(config, "workerinput"):
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
