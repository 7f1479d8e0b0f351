"""Settings, read from the environment so the same code serves a laptop and production.

| variable | meaning | default |
|---|---|---|
| ``STATWH_HOME`` | folder for the embedded warehouse and the file folders | ``<repo>/var`` |
| ``STATWH_WAREHOUSE_URL`` | SQLAlchemy URL of the warehouse | ``duckdb:///$STATWH_HOME/statwh.duckdb`` |
| ``STATWH_LANDING_DIR`` | where departments' files arrive | ``$STATWH_HOME/landing`` |
| ``STATWH_ARCHIVE_DIR`` | where loaded files are kept, named by checksum | ``$STATWH_HOME/archive`` |
| ``STATWH_QUARANTINE_DIR`` | where rejected files are kept with their reports | ``$STATWH_HOME/quarantine`` |
| ``STATWH_EXPECTATIONS_DIR`` | the Great Expectations suites | ``<repo>/expectations`` |
| ``STATWH_SQL_DIR`` | the warehouse DDL | ``<repo>/warehouse_sql`` |
| ``STATWH_MAX_FILE_BYTES`` | larger submission files are refused unread (:mod:`etl.readers`) | ``209715200`` (200 MB) |
| ``STATWH_MAX_PARALLEL_INGESTS`` | files one nightly run ingests at once (:func:`ingest_parallelism`) | ``1`` |
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    home: Path
    warehouse_url: str
    landing_dir: Path
    archive_dir: Path
    quarantine_dir: Path
    expectations_dir: Path
    sql_dir: Path

    def ensure_folders(self) -> None:
        for folder in (self.home, self.landing_dir, self.archive_dir, self.quarantine_dir):
            folder.mkdir(parents=True, exist_ok=True)


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``env`` (default: the process environment)."""
    env = dict(os.environ if env is None else env)
    home = Path(env.get("STATWH_HOME") or REPO_ROOT / "var").resolve()

    def folder(name: str, default: Path) -> Path:
        return Path(env[name]).resolve() if env.get(name) else default

    return Settings(
        home=home,
        warehouse_url=env.get("STATWH_WAREHOUSE_URL") or f"duckdb:///{home / 'statwh.duckdb'}",
        landing_dir=folder("STATWH_LANDING_DIR", home / "landing"),
        archive_dir=folder("STATWH_ARCHIVE_DIR", home / "archive"),
        quarantine_dir=folder("STATWH_QUARANTINE_DIR", home / "quarantine"),
        expectations_dir=folder("STATWH_EXPECTATIONS_DIR", REPO_ROOT / "expectations"),
        sql_dir=folder("STATWH_SQL_DIR", REPO_ROOT / "warehouse_sql"),
    )


#: files ingested at once by one nightly run, unless STATWH_MAX_PARALLEL_INGESTS says otherwise:
#: one, so that a run writes its files in landing-folder order (see ingest_parallelism)
DEFAULT_MAX_PARALLEL_INGESTS = 1


def ingest_parallelism(env: dict[str, str] | None = None) -> int:
    """How many ``ingest_file`` tasks of one nightly run may run at once
    (``STATWH_MAX_PARALLEL_INGESTS``, default 1).

    With 1, a run writes its files one after another in landing-folder order (name order), so
    when one night brings two versions of the same figure (an estimate and the official
    report after an outage), the later name becomes the current one, every time. With more,
    Celery workers read, parse and validate several files side by side; on PostgreSQL their
    batches are still written one after another (:func:`etl.warehouse.lock_batches`), in the
    order they finish validating, and a file never replaces a figure that a later-named file
    of the run has set (``landing_position``, :func:`etl.pipeline.ingest_file`), so such a pair
    ends the same way. Raise it where throughput matters. Each ingest holds a whole file in
    memory, so it also bounds a run's memory. On an embedded DuckDB file, which has a single
    writer process, whole ingests take turns (:func:`etl.warehouse.one_writer`). The value does
    not depend on the warehouse, so every Airflow component parses the same DAG.
    """
    raw = dict(os.environ if env is None else env).get("STATWH_MAX_PARALLEL_INGESTS", "").strip()
    if not raw:
        return DEFAULT_MAX_PARALLEL_INGESTS
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"STATWH_MAX_PARALLEL_INGESTS must be a whole number of files, 1 or more, not {raw!r}")
    return int(raw)
