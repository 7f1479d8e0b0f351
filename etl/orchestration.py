"""The nightly pipeline's steps as plain functions; ``dags/statwh_nightly.py`` wraps each
in an Airflow task. They take and return small JSON values (paths, counts, batch keys),
never DataFrames, so any worker can run any step."""

from __future__ import annotations

import logging
from pathlib import Path

from etl.config import load_settings
from etl.pipeline import IngestResult, RunSummary, ingest_file, landing_files
from etl.warehouse import make_engine, prepare_warehouse

log = logging.getLogger(__name__)


def prepare() -> str:
    """Create what is missing in the warehouse and merge the reference data; returns the URL shown."""
    settings = load_settings()
    settings.ensure_folders()
    engine = make_engine(settings.warehouse_url)
    prepare_warehouse(engine)
    return engine.url.render_as_string(hide_password=True)


def list_new_files() -> list[str]:
    """Paths of the files waiting in the landing folder."""
    files = [str(p) for p in landing_files(load_settings())]
    log.info("%d files in the landing folder", len(files))
    return files


def ingest_one(path: str, run_id: str, landing_position: int | None = None) -> dict:
    """Ingest one landing file (moved to archive or quarantine); returns its result as a dict.

    ``landing_position``: its place in the run's listing (the mapped task's index). Files of
    one run may be written in any order when several are ingested at once; with their places
    known, a file never replaces a figure a later-named file of the run has set.
    A file that vanished since it was listed (another run took it) is reported, not failed.
    """
    settings = load_settings()
    if not Path(path).exists():
        log.info("%s is gone from the landing folder; another run took it", path)
        return IngestResult(Path(path).name, "duplicate", None).to_dict()
    result = ingest_file(Path(path), make_engine(settings.warehouse_url), settings, move=True, run_id=run_id,
                         landing_position=landing_position)
    for problem in result.problems:
        log.warning("%s", problem)
    return result.to_dict()


def summarize(results: list[dict]) -> dict:
    """Counts for the run, logged in full; rejected files are named with where their reports are."""
    summary = RunSummary([IngestResult(**r) for r in results])
    for line in summary.describe().splitlines():
        log.info("%s", line)
    return {**summary.counts, "rows_new_version": summary.rows_new_version}


def send_run_alerts(results: list[dict], run_id: str, files_listed: int | None = None) -> dict:
    """Alert stewards about this run's rejected files and warnings (deduplicated), and
    resolve earlier alerts the run cleared: a file loaded under a rejected name, and
    failures of this DAG's tasks, since the run got this far.

    ``files_listed``: how many files the run set out to ingest. Fewer ``results`` means
    some file's ingest failed in this run: the alerts of the others still go out, but the
    failure alerts of the ingest and summary tasks stay open (this run did not clear them).
    """
    from etl.alerts import alerts_from_results, dispatch, resolve

    engine = make_engine(load_settings().warehouse_url)
    alerts, cleared = alerts_from_results(results, run_id)
    report = dispatch(alerts, engine)
    failed = 0 if files_listed is None else files_listed - len(results)
    tasks = ["prepare_warehouse", "list_new_files", "alert_stewards"]  # this task: it got here
    if failed:
        log.warning("%d of %d files failed to ingest in this run; their task failure alert stays open",
                    failed, files_listed)
    else:
        tasks += ["ingest_file", "summarize_run"]
    resolved = resolve(engine, cleared + [f"task:statwh_nightly:{t}" for t in tasks])
    return {"sent": len(report.sent), "suppressed": len(report.suppressed), "resolved": len(resolved),
            "files_failed": failed}


def assess_reporting_as_of(as_of_iso: str) -> dict:
    """Store the reporting status of recent months as of an instant (ISO, any offset)."""
    from etl.completeness import assess_reporting
    from etl.queries import as_of_instant

    as_of = as_of_instant(as_of_iso)
    stored = assess_reporting(make_engine(load_settings().warehouse_url), as_of)
    log.info("reporting status of %d obligation-months assessed as of %s UTC", stored, as_of)
    return {"as_of": as_of.isoformat(), "assessed": stored}


def send_reporting_alerts(as_of_iso: str) -> dict:
    """Alert missing (error) and late (warning) reports, once per department and month."""
    from etl.alerts import dispatch, resolve
    from etl.completeness import reporting_alerts
    from etl.queries import as_of_instant

    engine = make_engine(load_settings().warehouse_url)
    alerts, cleared = reporting_alerts(engine, as_of_instant(as_of_iso))
    report = dispatch(alerts, engine)
    # Every task of the run has now succeeded, this one included: their failure alerts are over.
    tasks = ("prepare_warehouse", "assess_reporting", "alert_missing_and_late")
    resolved = resolve(engine, cleared + [f"task:statwh_completeness:{t}" for t in tasks])
    return {"sent": len(report.sent), "suppressed": len(report.suppressed), "resolved": len(resolved)}
