"""Ingest: one submission file in, one batch out (loaded or rejected), exactly once.

``ingest_file`` is what both the CLI and the nightly DAG call for each file:

1. a file whose checksum is already recorded is not processed again (idempotent): bytes
   loaded once stay loaded; bytes rejected earlier are read again only when the caller
   asks for them to be read another way (``number_format``, ``encoding``: the options the
   README offers instead of editing the file), since only that can change the outcome;
2. it is read, normalised and validated (:mod:`etl.submission`) before anything
   is written;
3. a rejected file's batch and problems are recorded in one transaction, the file
   goes to quarantine with a JSON report naming sheet, row, column, value and rule;
4. an accepted file is loaded in one transaction: bulk insert to staging, new or
   changed figures appended as versions, and the rollups of the (region, indicator,
   year) keys it touched recomputed. Then the file is archived under its checksum.

The batch's transaction opens, and its rows go to staging, while Great Expectations is
still validating the normalised rows (:class:`_BatchTransaction`): the COPY runs in the
database server and Arrow's writer, Great Expectations in Python, so the two overlap
instead of adding up. A file the validation rejects has its transaction rolled back.

Several files may be ingested at once (Celery workers, on PostgreSQL): their batches are
written one after another (:func:`etl.warehouse.lock_batches`). While another batch is
being written, a file is validated without waiting, and staged once it is its turn.

The warehouse write comes before the file move, so a crash in between leaves a
file whose checksum is known: the next run only finishes the move.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from etl import vnnum
from etl.config import Settings, load_settings
from etl.cross_checks import report_cross_checks
from etl.readers import SUPPORTED_SUFFIXES
from etl.quality import run_statistical_checks
from etl.submission import (CheckResult, PreparedSubmission, Problem, file_sha256, prepare_submission,
                            reading_options)
from etl.warehouse import (arrow_table, bulk_insert, lock_batches, next_batch_key, one_writer, refresh_rollups,
                           refresh_statistics, utc_now)

log = logging.getLogger(__name__)

_STAGING = {
    "monthly": (
        "staging.stg_monthly_figure",
        pa.schema(
            [("batch_key", pa.int64()), ("source_row", pa.int32()), ("region_code", pa.string()),
             ("indicator_code", pa.string()), ("month_key", pa.int32()), ("period_start", pa.date32()),
             ("value", pa.float64()), ("value_reported", pa.float64()), ("unit_reported", pa.string()),
             ("reported_ytd_value", pa.float64()), ("reported_growth_month_pct", pa.float64()),
             ("reported_growth_ytd_pct", pa.float64()), ("status", pa.string()), ("department_code", pa.string()),
             ("note", pa.string())]
        ),
    ),
    "plan": (
        "staging.stg_plan_target",
        pa.schema(
            [("batch_key", pa.int64()), ("source_row", pa.int32()), ("region_code", pa.string()),
             ("indicator_code", pa.string()), ("year", pa.int32()), ("year_start", pa.date32()),
             ("target_kind", pa.string()),
             ("target_value", pa.float64()), ("target_value_reported", pa.float64()),
             ("unit_reported", pa.string()), ("note", pa.string())]
        ),
    ),
}

# New or changed figures become versions; an unchanged re-send adds nothing. A year to date
# and growth rates the file states are part of the figure (earlier months are revised inside
# the year to date; the rates are computed against last year's revised level), but stating
# none (a long-format file never does) is no change: the latest version, with its own, stands.
# A version made for another reason (a new status, another of them stated) keeps those the file
# does not state while the value is unchanged; a changed value comes only with what its file
# states, since the earlier ones were about the earlier value.
# _CHANGED_MONTHLY_FIGURES is the FROM ... WHERE of the staged figures that differ from their
# latest version; c carries that version's batch, for the run-order rule below.
_CHANGED_MONTHLY_FIGURES = """
FROM staging.stg_monthly_figure AS s
JOIN dw.dim_region AS r
  ON r.region_code = s.region_code
 AND r.valid_from <= s.period_start AND (r.valid_to IS NULL OR s.period_start <= r.valid_to)
JOIN dw.dim_indicator AS i ON i.indicator_code = s.indicator_code
LEFT JOIN (  -- the latest version of each figure of the months in this file (not all history)
    SELECT v.region_key, v.indicator_key, v.month_key, v.batch_key, v.value, v.status, v.reported_ytd_value,
           v.reported_growth_month_pct, v.reported_growth_ytd_pct,
           b.file_name, b.pipeline_run_id, b.landing_position,
           ROW_NUMBER() OVER (PARTITION BY v.region_key, v.indicator_key, v.month_key
                              ORDER BY v.batch_key DESC) AS version_rank
    FROM dw.fct_monthly_figure_version AS v
    JOIN dw.audit_load_batch AS b ON b.batch_key = v.batch_key
    WHERE v.month_key IN (SELECT DISTINCT month_key FROM staging.stg_monthly_figure WHERE batch_key = :batch_key)
) AS c
  ON c.region_key = r.region_key AND c.indicator_key = i.indicator_key AND c.month_key = s.month_key
 AND c.version_rank = 1
WHERE s.batch_key = :batch_key
  AND (c.batch_key IS NULL OR c.value <> s.value OR c.status <> s.status
       OR (s.reported_ytd_value IS NOT NULL AND c.reported_ytd_value IS DISTINCT FROM s.reported_ytd_value)
       OR (s.reported_growth_month_pct IS NOT NULL
           AND c.reported_growth_month_pct IS DISTINCT FROM s.reported_growth_month_pct)
       OR (s.reported_growth_ytd_pct IS NOT NULL
           AND c.reported_growth_ytd_pct IS DISTINCT FROM s.reported_growth_ytd_pct))
"""

# Files of one nightly run count in landing-folder (name) order, whatever order their batches
# are written in: with STATWH_MAX_PARALLEL_INGESTS above 1 they are written in the order they
# finish validating, and a file must not then replace a figure that a later-named file of the
# same run has already set (the estimate and the official report of one month, sent the same
# night, end with the official one current, as when the files go one after another). Only DAG
# runs give a landing_position (their run ids name one run); NULL never matches.
_SET_BY_A_LATER_FILE_OF_THE_RUN = (
    "COALESCE(c.pipeline_run_id = :run_id AND c.landing_position > :landing_position, FALSE)"
)

_INSERT_MONTHLY_VERSIONS = f"""
INSERT INTO dw.fct_monthly_figure_version (
    region_key, indicator_key, month_key, batch_key, value, status, value_reported, unit_reported,
    reported_ytd_value, reported_growth_month_pct, reported_growth_ytd_pct, department_code, note,
    source_row, recorded_at)
SELECT r.region_key, i.indicator_key, s.month_key, s.batch_key, s.value, s.status, s.value_reported,
       s.unit_reported,
       COALESCE(s.reported_ytd_value, CASE WHEN c.value = s.value THEN c.reported_ytd_value END),
       COALESCE(s.reported_growth_month_pct, CASE WHEN c.value = s.value THEN c.reported_growth_month_pct END),
       COALESCE(s.reported_growth_ytd_pct, CASE WHEN c.value = s.value THEN c.reported_growth_ytd_pct END),
       s.department_code, s.note, s.source_row, :recorded_at
{_CHANGED_MONTHLY_FIGURES}
  AND NOT {_SET_BY_A_LATER_FILE_OF_THE_RUN}
"""

#: the figures the rule above kept out: what the file said, and what the later file had set
_MONTHLY_SET_BY_A_LATER_FILE = f"""
SELECT s.indicator_code, s.source_row, s.value_reported, c.value AS current_value, c.file_name
{_CHANGED_MONTHLY_FIGURES}
  AND {_SET_BY_A_LATER_FILE_OF_THE_RUN}
ORDER BY s.source_row
"""

_CHANGED_PLAN_TARGETS = """
FROM staging.stg_plan_target AS s
JOIN dw.dim_region AS r
  ON r.region_code = s.region_code
 AND r.valid_from <= s.year_start AND (r.valid_to IS NULL OR s.year_start <= r.valid_to)
JOIN dw.dim_indicator AS i ON i.indicator_code = s.indicator_code
LEFT JOIN (SELECT t.*, b.file_name, b.pipeline_run_id, b.landing_position
           FROM dw.v_plan_target_current AS t JOIN dw.audit_load_batch AS b ON b.batch_key = t.batch_key) AS c
  ON c.region_key = r.region_key AND c.indicator_key = i.indicator_key AND c.year = s.year
WHERE s.batch_key = :batch_key
  AND (c.batch_key IS NULL OR c.target_value <> s.target_value OR c.target_kind <> s.target_kind)
"""

_INSERT_PLAN_VERSIONS = f"""
INSERT INTO dw.fct_plan_target_version (
    region_key, indicator_key, year, batch_key, target_kind, target_value, target_value_reported,
    unit_reported, note, source_row, recorded_at)
SELECT r.region_key, i.indicator_key, s.year, s.batch_key, s.target_kind, s.target_value,
       s.target_value_reported, s.unit_reported, s.note, s.source_row, :recorded_at
{_CHANGED_PLAN_TARGETS}
  AND NOT {_SET_BY_A_LATER_FILE_OF_THE_RUN}
"""

_PLAN_SET_BY_A_LATER_FILE = f"""
SELECT s.indicator_code, s.source_row, s.target_value_reported, c.target_value AS current_value, c.file_name
{_CHANGED_PLAN_TARGETS}
  AND {_SET_BY_A_LATER_FILE_OF_THE_RUN}
ORDER BY s.source_row
"""

#: whether a later-named file of the same run has been loaded already (else the rule has nothing to find)
_LATER_FILE_OF_THE_RUN_LOADED = """
SELECT COUNT(*) FROM dw.audit_load_batch
WHERE pipeline_run_id = :run_id AND landing_position > :landing_position AND status = 'loaded'
"""

# The joins must find every staged row; a mismatch means dimensions and reference files
# disagree, and the batch is rolled back rather than silently dropping figures.
_COUNT_MONTHLY_MATCHED = """
SELECT COUNT(*) FROM staging.stg_monthly_figure AS s
JOIN dw.dim_region AS r
  ON r.region_code = s.region_code
 AND r.valid_from <= s.period_start AND (r.valid_to IS NULL OR s.period_start <= r.valid_to)
JOIN dw.dim_indicator AS i ON i.indicator_code = s.indicator_code
WHERE s.batch_key = :batch_key
"""

_TOUCHED_BY_MONTHLY = """
INSERT INTO staging.stg_touched_key (batch_key, region_key, indicator_key, year)
SELECT DISTINCT :batch_key, f.region_key, f.indicator_key, m.year + o.year_offset
FROM dw.fct_monthly_figure_version AS f
JOIN dw.dim_month AS m ON m.month_key = f.month_key
CROSS JOIN (VALUES (0), (1)) AS o (year_offset)
WHERE f.batch_key = :batch_key
"""

_TOUCHED_BY_PLAN = """
INSERT INTO staging.stg_touched_key (batch_key, region_key, indicator_key, year)
SELECT DISTINCT :batch_key, region_key, indicator_key, year
FROM dw.fct_plan_target_version WHERE batch_key = :batch_key
"""


@dataclass(frozen=True)
class RunPlace:
    """Which run a batch belongs to (``dw.audit_load_batch.pipeline_run_id``: an Airflow run id,
    or 'cli') and, for a DAG run, the file's place in the run's landing-folder listing."""

    run_id: str = "cli"
    landing_position: int | None = None

    @property
    def parameters(self) -> dict:
        return {"run_id": self.run_id, "landing_position": self.landing_position}


def _set_by_a_later_file_of_the_run(conn: Connection, batch_key: int, prepared: PreparedSubmission, run: RunPlace,
                                    query: str) -> int:
    """Warn of each figure the batch leaves as it is because a later-named file of its run
    has already set it (see _SET_BY_A_LATER_FILE_OF_THE_RUN); returns how many. Asks the
    figures only when such a file has been loaded, which in a run written in name order,
    one file after another, it never has."""
    if run.landing_position is None:
        return 0
    found = []
    if conn.execute(sa.text(_LATER_FILE_OF_THE_RUN_LOADED), run.parameters).scalar_one():
        found = conn.execute(sa.text(query), {"batch_key": batch_key, **run.parameters}).fetchall()
    for code, row, reported, current, later_file in found:
        at, column = prepared.place(int(row), "target_value" if prepared.kind == "plan" else "value", code)
        prepared.problems.append(Problem(
            prepared.path.name, prepared.sheet, at, column,
            prepared.written(int(row), code) or vnnum.number_in_full(reported), "set_by_a_later_file_of_the_run",
            f"{code}: {later_file}, later in this run's landing order, has already set this figure to {current:g}; "
            "files of one run count in name order, so it stays current. Send the value again if this one is right",
            "warning"))
    prepared.check_results.append(CheckResult("revision_policy", "set_by_a_later_file_of_the_run", "warning",
                                              not found, prepared.rows_in_file, len(found)))
    return len(found)


@dataclass
class IngestResult:
    """What happened to one file; small and JSON-friendly (it crosses Airflow's XCom)."""

    file: str
    status: str  # 'loaded' | 'rejected' | 'duplicate' | 'unreadable' (ingest_paths: not read, left where it is)
    batch_key: int | None
    submission_kind: str | None = None
    rows_in_file: int = 0
    rows_new_version: int = 0
    rows_unchanged: int = 0
    problems: list[dict] = field(default_factory=list)
    kept_at: str | None = None
    duplicate_of_status: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def find_batch_by_checksum(engine: Engine, sha256: str, options: str | None = None
                           ) -> tuple[int, str, str | None] | None:
    """(batch key, status, where the file was kept) of the batch that makes reading these bytes
    with these reading ``options`` (:func:`etl.submission.reading_options`) unnecessary: the
    batch that loaded them, else the latest that rejected them read the same way. None: read it."""
    with engine.connect() as conn:
        return _batch_with_checksum(conn, sha256, options)


# A loaded batch answers for its bytes however they are asked to be read: the figures are in.
_BATCH_WITH_CHECKSUM = """
SELECT batch_key, status, archived_path FROM dw.audit_load_batch
WHERE file_sha256 = :sha AND (status = 'loaded' OR reading_options IS NOT DISTINCT FROM :options)
ORDER BY CASE WHEN status = 'loaded' THEN 0 ELSE 1 END, batch_key DESC
LIMIT 1
"""


def _batch_with_checksum(conn: Connection, sha256: str, options: str | None) -> tuple[int, str, str | None] | None:
    row = conn.execute(sa.text(_BATCH_WITH_CHECKSUM), {"sha": sha256, "options": options}).first()
    return None if row is None else (int(row[0]), str(row[1]), row[2])


def stored_problems(engine: Engine, batch_key: int) -> list[dict]:
    """The problems recorded for a batch, as :class:`Problem` dicts."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT b.file_name, p.sheet_name, p.source_row, p.column_name, p.value_text, p.rule, p.message, "
                "p.severity FROM dw.audit_problem AS p JOIN dw.audit_load_batch AS b ON b.batch_key = p.batch_key "
                "WHERE p.batch_key = :b ORDER BY p.problem_seq"
            ),
            {"b": batch_key},
        ).fetchall()
    return [Problem(*row).to_dict() for row in rows]


def _kept_path(folder: Path, sha256: str, name: str) -> Path:
    return folder / f"{sha256[:16]}_{name}"


def _keep(source: Path, destination: Path, move: bool) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    if source.resolve() == destination.resolve():
        return
    if move:
        shutil.move(str(source), destination)
    else:
        shutil.copy2(source, destination)


def ingest_file(
    path: Path,
    engine: Engine,
    settings: Settings | None = None,
    *,
    move: bool = False,
    run_id: str = "cli",
    number_format: str | None = None,
    today: dt.date | None = None,
    recorded_at: dt.datetime | None = None,
    encoding: str | None = None,
    landing_position: int | None = None,
) -> IngestResult:
    """Process one submission file; see the module docstring. ``move`` takes it out of
    the landing folder (the pipeline), otherwise it is copied (files named on the CLI).

    ``landing_position``: the file's place in its nightly run's listing (0 for the first name),
    given by the DAG, whose ``run_id`` names one run. A figure that a later-named file of the
    same run has already set is then left as it is (a warning says so), so the run ends as if
    its files had been written in name order, whichever was written first.

    ``recorded_at`` (UTC) overrides when the warehouse learnt the figures — for loading an
    archive of past submissions in the order they arrived; it must not go back in time.
    """
    settings = settings or load_settings()
    path = Path(path)
    with one_writer(engine):  # an embedded DuckDB file: one ingest at a time
        sha256 = file_sha256(path)
        known = find_batch_by_checksum(engine, sha256, reading_options(number_format, encoding))
        if known is not None:
            return _already_processed(path, known, engine, move=move)
        try:
            with _BatchTransaction(engine) as batch:
                prepared = prepare_submission(path, number_format=number_format, today=today,  # type: ignore[arg-type]
                                              encoding=encoding, sha256=sha256, while_validating=batch.stage)
                if prepared.accepted:
                    return _load(prepared, engine, settings, move=move, run=RunPlace(run_id, landing_position),
                                 recorded_at=recorded_at, batch=batch)
            # rejected: the staging work begun during validation has been rolled back
            return _reject(prepared, engine, settings, move=move, run=RunPlace(run_id, landing_position),
                           recorded_at=recorded_at)
        except _ProcessedMeanwhile as meanwhile:  # the same bytes, under another name, on another worker
            return _already_processed(path, meanwhile.known, engine, move=move)


def _already_processed(path: Path, known: tuple[int, str, str | None], engine: Engine, *,
                       move: bool) -> IngestResult:
    batch_key, status, kept_at = known
    if move and kept_at and Path(kept_at).exists():
        path.unlink()  # already kept under its checksum: finish an interrupted move
    elif move and kept_at:
        _keep(path, Path(kept_at), move=True)
    log.info("%s: already processed as batch %s (%s); nothing to do", path.name, batch_key, status)
    # The same bytes may come under another name (two departments' identical empty files): the
    # earlier answer holds, but told of the file sent, so the clerk and the steward's alert read
    # its own name; where the earlier copy is kept (kept_at) still shows the first name.
    problems = ([{**p, "file": path.name} for p in stored_problems(engine, batch_key)]
                if status == "rejected" else [])
    return IngestResult(path.name, "duplicate", batch_key, problems=problems, kept_at=kept_at,
                        duplicate_of_status=status)


class _ProcessedMeanwhile(Exception):
    """A batch with the file's checksum was committed while this one waited for its turn."""

    def __init__(self, known: tuple[int, str, str | None]) -> None:
        super().__init__(known)
        self.known = known


def _begin_batch(conn: Connection, prepared: PreparedSubmission) -> int:
    """Inside a batch's transaction that holds the turn to write (:func:`lock_batches`): make
    sure no batch has taken the same bytes (read the same way) meanwhile, and return the new
    batch key."""
    known = _batch_with_checksum(conn, prepared.sha256, prepared.reading_options)
    if known is not None:
        raise _ProcessedMeanwhile(known)
    return next_batch_key(conn)


class _BatchTransaction:
    """One batch's transaction, with its rows bulk-inserted into staging in a second thread.

    :meth:`stage` opens the transaction, takes the batch key and starts the COPY (Arrow
    insert on DuckDB); the calling thread goes on (with Great Expectations), and
    :meth:`staged` waits for the rows. Leaving the ``with`` block rolls back whatever was
    not committed, so a rejected file or any error leaves the warehouse as it was (a batch
    key may be skipped: sequences are not transactional, and keys only need to grow).
    The connection is only ever used by one thread at a time: the COPY's, then the caller's.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Connection | None = None
        self._transaction: sa.engine.Transaction | None = None
        self._copy: Future[int] | None = None
        self._copier: ThreadPoolExecutor | None = None
        self.batch_key: int | None = None

    def stage(self, prepared: PreparedSubmission, *, wait: bool = False) -> None:
        """Begin the batch and start its COPY, if it is this batch's turn to write. Called
        back before validation, it does not wait: while another batch is being written,
        validation goes ahead on its own (side by side with that batch, on another worker)
        and :meth:`staged` waits for the turn afterwards."""
        assert prepared.frame is not None and prepared.kind is not None and self._conn is None
        table, schema = _STAGING[prepared.kind]
        self._conn = self.engine.connect()
        self._transaction = self._conn.begin()
        if not lock_batches(self._conn, f"ingest {prepared.path.name}", wait=wait):
            self._conn.close()
            self._conn = self._transaction = None
            return
        self.batch_key = _begin_batch(self._conn, prepared)
        # assign: a shallow copy (copy-on-write), not a copy of a million rows
        data = arrow_table(prepared.frame.assign(batch_key=self.batch_key), schema)
        self._copier = ThreadPoolExecutor(max_workers=1, thread_name_prefix="staging-copy")
        self._copy = self._copier.submit(bulk_insert, self._conn, table, data)

    def staged(self, prepared: PreparedSubmission) -> tuple[Connection, int, int]:
        """(connection in the open transaction, batch key, rows staged), once the rows are in."""
        if self._conn is None:  # not staged during validation (another batch's turn, or not called back)
            self.stage(prepared, wait=True)
        assert self._conn is not None and self._copy is not None and self.batch_key is not None
        return self._conn, self.batch_key, self._copy.result()

    def commit(self) -> None:
        assert self._transaction is not None
        self._transaction.commit()

    def __enter__(self) -> _BatchTransaction:
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            if self._copy is not None:
                self._copy.exception()  # wait for the COPY before rolling back under it
        finally:
            if self._copier is not None:
                self._copier.shutdown()
            if self._conn is not None:
                self._conn.close()  # rolls back an uncommitted transaction
            self._conn = self._transaction = self._copy = self._copier = None


def _record_batch(conn: Connection, prepared: PreparedSubmission, batch_key: int, status: str,
                  counts: tuple[int, int], kept_at: Path, run: RunPlace, recorded_at: dt.datetime) -> None:
    conn.execute(
        sa.text(
            "INSERT INTO dw.audit_load_batch (batch_key, file_name, file_sha256, submission_kind, sheet_name, "
            "number_convention, reading_options, status, rows_in_file, rows_new_version, rows_unchanged, "
            "problem_count, archived_path, pipeline_run_id, landing_position, recorded_at) VALUES (:batch_key, "
            ":file_name, :sha, :kind, :sheet, :convention, :options, :status, :rows_in_file, :new, :unchanged, "
            ":problems, :kept_at, :run_id, :landing_position, :recorded_at)"
        ),
        {
            "batch_key": batch_key, "file_name": prepared.path.name, "sha": prepared.sha256,
            "kind": prepared.kind, "sheet": prepared.sheet, "convention": prepared.number_convention,
            "options": prepared.reading_options,
            "status": status, "rows_in_file": prepared.rows_in_file, "new": counts[0], "unchanged": counts[1],
            "problems": len(prepared.problems), "kept_at": str(kept_at), "run_id": run.run_id,
            "landing_position": run.landing_position, "recorded_at": recorded_at,
        },
    )
    if prepared.problems:
        import pandas as pd

        problems = pd.DataFrame([p.to_dict() for p in prepared.problems])
        problems["batch_key"] = batch_key
        problems["problem_seq"] = range(1, len(problems) + 1)
        problems = problems.rename(
            columns={"sheet": "sheet_name", "row": "source_row", "column": "column_name", "value": "value_text"}
        )
        schema = pa.schema(
            [("batch_key", pa.int64()), ("problem_seq", pa.int32()), ("sheet_name", pa.string()),
             ("source_row", pa.int32()), ("column_name", pa.string()), ("value_text", pa.string()),
             ("rule", pa.string()), ("severity", pa.string()), ("message", pa.string())]
        )
        problems["source_row"] = problems["source_row"].astype("Int32")
        bulk_insert(conn, "dw.audit_problem", arrow_table(problems, schema))
    if prepared.check_results:
        bulk_insert(conn, "dw.audit_check_result", _check_result_table(prepared.check_results, batch_key, recorded_at))


_CHECK_RESULT_SCHEMA = pa.schema(
    [("batch_key", pa.int64()), ("suite_name", pa.string()), ("rule", pa.string()), ("severity", pa.string()),
     ("success", pa.bool_()), ("element_count", pa.int64()), ("unexpected_count", pa.int64()),
     ("recorded_at", pa.timestamp("us"))]
)


def _check_result_table(results: list[CheckResult], batch_key: int, recorded_at: dt.datetime) -> pa.Table:
    """One row per suite and rule (a rule run twice on the file: failed if either run failed, counts added)."""
    merged: dict[tuple[str, str], dict] = {}
    for r in results:
        row = merged.get((r.suite, r.rule))
        if row is None:
            merged[(r.suite, r.rule)] = {"batch_key": batch_key, "suite_name": r.suite, "rule": r.rule,
                                         "severity": r.severity, "success": r.success,
                                         "element_count": r.element_count, "unexpected_count": r.unexpected_count,
                                         "recorded_at": recorded_at}
            continue
        row["success"] = row["success"] and r.success
        for key, value in (("element_count", r.element_count), ("unexpected_count", r.unexpected_count)):
            row[key] = value if row[key] is None else row[key] + (value or 0)
    return pa.Table.from_pylist(list(merged.values()), schema=_CHECK_RESULT_SCHEMA)


def _reject(prepared: PreparedSubmission, engine: Engine, settings: Settings, *, move: bool,
            run: RunPlace, recorded_at: dt.datetime | None = None) -> IngestResult:
    kept_at = _kept_path(settings.quarantine_dir, prepared.sha256, prepared.path.name)
    with engine.begin() as conn:
        lock_batches(conn, f"reject {prepared.path.name}")
        batch_key = _begin_batch(conn, prepared)
        recorded_at = recorded_at or utc_now()  # after the wait for the turn: in commit order
        _record_batch(conn, prepared, batch_key, "rejected", (0, 0), kept_at, run, recorded_at)
    report = {
        "file": prepared.path.name,
        "sha256": prepared.sha256,
        "batch_key": batch_key,
        "status": "rejected",
        "recorded_at": recorded_at.isoformat() + "Z",
        "submission_kind": prepared.kind,
        "sheet": prepared.sheet,
        "rows_in_file": prepared.rows_in_file,
        "problems": [p.to_dict() for p in prepared.problems],
    }
    kept_at.parent.mkdir(parents=True, exist_ok=True)
    report_path = kept_at.with_name(kept_at.name + ".report.json")
    if report_path.exists():  # the same bytes rejected before, read another way: keep that report too
        earlier = json.loads(report_path.read_text(encoding="utf-8")).get("batch_key")
        report_path.rename(kept_at.with_name(f"{kept_at.name}.batch{earlier}.report.json"))
    report_path.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    _keep(prepared.path, kept_at, move)
    log.warning("%s rejected (batch %s): %d problems", prepared.path.name, batch_key, len(prepared.problems))
    return IngestResult(prepared.path.name, "rejected", batch_key, prepared.kind, prepared.rows_in_file,
                        problems=report["problems"], kept_at=str(kept_at))


def _load(prepared: PreparedSubmission, engine: Engine, settings: Settings, *, move: bool,
          run: RunPlace, recorded_at: dt.datetime | None = None,
          batch: _BatchTransaction | None = None) -> IngestResult:
    """Load an accepted submission; a critical statistical finding turns it into a rejection.

    ``batch``: the transaction the rows may already be staged in (by :func:`ingest_file`)."""
    from etl.quality import QualityRejection

    try:
        # Leaving this block ends the batch's transaction, also when ingest_file opened it: a
        # rejection below must not wait for the turn to write that this transaction holds.
        with batch or _BatchTransaction(engine) as transaction:
            return _load_batch(prepared, transaction, settings, move=move, run=run, recorded_at=recorded_at)
    except QualityRejection as rejection:  # the batch's transaction has been rolled back
        prepared.problems += rejection.problems
        return _reject(prepared, engine, settings, move=move, run=run, recorded_at=recorded_at)


def _load_batch(prepared: PreparedSubmission, batch: _BatchTransaction, settings: Settings, *, move: bool,
                run: RunPlace, recorded_at: dt.datetime | None = None) -> IngestResult:
    assert prepared.frame is not None and prepared.kind is not None
    kept_at = _kept_path(settings.archive_dir, prepared.sha256, prepared.path.name)
    table = _STAGING[prepared.kind][0]
    conn, batch_key, staged = batch.staged(prepared)  # the whole batch is this one transaction
    recorded_at = recorded_at or utc_now()  # after the wait for the turn: in commit order
    refresh_statistics(conn, table)
    if prepared.kind == "monthly":
        matched = conn.execute(sa.text(_COUNT_MONTHLY_MATCHED), {"batch_key": batch_key}).scalar_one()
        if matched != staged:
            raise RuntimeError(
                f"{prepared.path.name}: {staged - matched} figures match no region or indicator in the "
                "warehouse; run 'statwh init' to load the reference data"
            )
        superseded = _set_by_a_later_file_of_the_run(conn, batch_key, prepared, run, _MONTHLY_SET_BY_A_LATER_FILE)
        conn.execute(sa.text(_INSERT_MONTHLY_VERSIONS), {"batch_key": batch_key, "recorded_at": recorded_at,
                                                         **run.parameters})
        conn.execute(sa.text(_TOUCHED_BY_MONTHLY), {"batch_key": batch_key})
        refresh_statistics(conn, "staging.stg_touched_key")
        new_versions = _count(conn, "dw.fct_monthly_figure_version", batch_key)
        revisions = large_revisions(conn, batch_key, prepared)
        prepared.problems += revisions
        for rule in ("revision_exceeds_threshold", "estimate_replaces_official"):
            found = sum(p.rule == rule for p in revisions)
            prepared.check_results.append(CheckResult("revision_policy", rule, "warning", not found, new_versions, found))
        prepared.problems += run_statistical_checks(conn, batch_key, prepared)  # and records its checks
    else:
        superseded = _set_by_a_later_file_of_the_run(conn, batch_key, prepared, run, _PLAN_SET_BY_A_LATER_FILE)
        conn.execute(sa.text(_INSERT_PLAN_VERSIONS), {"batch_key": batch_key, "recorded_at": recorded_at,
                                                      **run.parameters})
        conn.execute(sa.text(_TOUCHED_BY_PLAN), {"batch_key": batch_key})
        refresh_statistics(conn, "staging.stg_touched_key")
        new_versions = _count(conn, "dw.fct_plan_target_version", batch_key)
    refresh_rollups(conn, batch_key, recorded_at)
    prepared.problems += report_cross_checks(conn, batch_key, prepared)  # a report's own YTD and growth
    for cleanup in (table, "staging.stg_touched_key"):
        conn.execute(sa.text(f"DELETE FROM {cleanup} WHERE batch_key = :b"), {"b": batch_key})
    unchanged = staged - new_versions - superseded
    _record_batch(conn, prepared, batch_key, "loaded", (new_versions, unchanged), kept_at, run, recorded_at)
    batch.commit()
    _keep(prepared.path, kept_at, move)
    log.info("%s loaded as batch %s: %d new or changed, %d unchanged, %d set by a later file of the run",
             prepared.path.name, batch_key, new_versions, unchanged, superseded)
    return IngestResult(prepared.path.name, "loaded", batch_key, prepared.kind, prepared.rows_in_file,
                        new_versions, unchanged,
                        problems=[p.to_dict() for p in prepared.problems], kept_at=str(kept_at))


_REVISED_BY_BATCH = """
WITH versions_of_the_figures AS (  -- only the figures this batch wrote, so history length does not count
    SELECT v.batch_key, v.indicator_key, v.source_row, v.value_reported, v.value,
           LAG(v.value) OVER earlier AS previous_value,
           v.status = 'estimate' AND LAG(v.status) OVER earlier = 'official' AS estimate_replaces_official
    FROM dw.fct_monthly_figure_version AS v
    WHERE (v.region_key, v.indicator_key, v.month_key) IN (
            SELECT region_key, indicator_key, month_key FROM dw.fct_monthly_figure_version WHERE batch_key = :batch_key)
      AND v.batch_key <= :batch_key
    WINDOW earlier AS (PARTITION BY v.region_key, v.indicator_key, v.month_key ORDER BY v.batch_key)
)
SELECT i.indicator_code, f.source_row, f.value_reported, f.value, f.previous_value, f.estimate_replaces_official
FROM versions_of_the_figures AS f
JOIN dw.dim_indicator AS i ON i.indicator_key = f.indicator_key
WHERE f.batch_key = :batch_key AND (f.value <> f.previous_value OR f.estimate_replaces_official)
ORDER BY f.source_row
"""


def load_revision_policy(path: Path | None = None) -> tuple[float, dict[str, float]]:
    """(default threshold, per-indicator thresholds) in absolute % from expectations/revision_policy.json."""
    from etl.reference import load_reference

    path = path or load_settings().expectations_dir / "revision_policy.json"
    policy = json.loads(path.read_text(encoding="utf-8"))
    per_indicator = {k: float(v) for k, v in policy.get("max_abs_revision_pct", {}).items()}
    unknown = set(per_indicator) - set(load_reference().indicators.index)
    if unknown:
        raise ValueError(f"{path.name}: unknown indicator codes {sorted(unknown)}")
    return float(policy["default_max_abs_revision_pct"]), per_indicator


def large_revisions(conn: Connection, batch_key: int, prepared: PreparedSubmission) -> list[Problem]:
    """Warnings for figures this batch revised by more than the policy allows, and for
    estimates that replace an official figure (an old estimate re-sent after the official
    report, most likely: it becomes the current figure, as the latest version does, but a
    steward should know, whatever the size of the change)."""
    default, per_indicator = load_revision_policy()
    problems = []
    revised = conn.execute(sa.text(_REVISED_BY_BATCH), {"batch_key": batch_key})
    for code, row, reported, value, previous, estimate_replaces_official in revised:
        at, column = prepared.place(int(row), "value", code)  # the sheet's own row and header
        where = (prepared.path.name, prepared.sheet, at, column,
                 prepared.written(int(row), code) or vnnum.number_in_full(reported))
        change = (value - previous) / abs(previous) * 100 if previous else float("inf")
        limit = per_indicator.get(code, default)
        if value != previous and abs(change) > limit:
            problems.append(Problem(
                *where, "revision_exceeds_threshold",
                f"{code} revised by {change:+.2f}% (from {previous:g} to {value:g}); the policy allows ±{limit:g}%",
                "warning"))
        if estimate_replaces_official:
            problems.append(Problem(
                *where, "estimate_replaces_official",
                f"{code}: this estimate ({value:g}) replaces the official figure ({previous:g}) as the current one; "
                "if the estimate was re-sent by mistake, send the official figure again", "warning"))
    if problems:
        log.warning("%s: %d revisions to look at", prepared.path.name, len(problems))
    return problems


def _count(conn: Connection, table: str, batch_key: int) -> int:
    return int(conn.execute(sa.text(f"SELECT COUNT(*) FROM {table} WHERE batch_key = :b"), {"b": batch_key})
               .scalar_one())


def landing_files(settings: Settings) -> list[Path]:
    """Submission files waiting in the landing folder, oldest name first (plans and months alike)."""
    if not settings.landing_dir.exists():
        return []
    return sorted(
        p for p in settings.landing_dir.iterdir()
        if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES and not p.name.startswith((".", "~$"))
    )


@dataclass
class RunSummary:
    results: list[IngestResult]

    @property
    def counts(self) -> dict[str, int]:
        out = {"loaded": 0, "rejected": 0, "duplicate": 0}
        for r in self.results:
            out[r.status] = out.get(r.status, 0) + 1  # 'unreadable' only when a file was
        return out

    @property
    def refused(self) -> list[IngestResult]:
        """Files rejected now, or earlier (the same bytes sent again), or that could not be read."""
        return [r for r in self.results if r.status in ("rejected", "unreadable")
                or (r.status == "duplicate" and r.duplicate_of_status == "rejected")]

    @property
    def rows_new_version(self) -> int:
        return sum(r.rows_new_version for r in self.results)

    def describe(self) -> str:
        c = self.counts
        lines = [
            f"{len(self.results)} files: {c['loaded']} loaded, {c['rejected']} rejected, "
            f"{c['duplicate']} already processed; {self.rows_new_version} new or changed figures"
            + (f"; {c['unreadable']} could not be read" if c.get("unreadable") else "")
        ]
        for r in self.refused:
            if r.status == "unreadable":
                lines.append(f"  not read: {r.file}, left where it is")
                lines += _first_problems(r.problems, "problems")
                continue
            when = "rejected" if r.status == "rejected" else f"rejected earlier (batch {r.batch_key})"
            lines.append(f"  {when}: {r.file} -> {r.kept_at} (report: {r.kept_at}.report.json)")
            lines += _first_problems(r.problems, "problems")
        for r in self.results:  # a steward should read these now, not find them later in `batches`
            if r.status == "loaded" and r.problems:
                lines.append(f"  loaded with {count_of(len(r.problems), 'warning')}: {r.file} (batch {r.batch_key})")
                lines += _first_problems(r.problems, "warnings")
        return "\n".join(lines)


def count_of(number: int, noun: str) -> str:
    """``1 warning``, ``2 warnings``."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _first_problems(problems: list[dict], noun: str, shown: int = 10) -> list[str]:
    lines = [f"    {Problem(**p).describe()}" for p in problems[:shown]]
    if len(problems) > shown:
        lines.append(f"    … and {len(problems) - shown} more {noun}")
    return lines


def ingest_paths(
    paths: Iterable[Path],
    engine: Engine,
    settings: Settings | None = None,
    *,
    move: bool = False,
    run_id: str = "cli",
    number_format: str | None = None,
    progress: Callable[[int, int, IngestResult], None] | None = None,
    encoding: str | None = None,
) -> RunSummary:
    """Ingest several files in order, each in its own batch. A file the operating system will not
    let this process read (permissions, a file locked by another program) is reported as
    'unreadable' and left where it is, with nothing recorded: its bytes, and so its checksum, are
    unknown. The files after it are still ingested; once it can be read, the next run takes it."""
    paths = list(paths)
    results = []
    for index, path in enumerate(paths, start=1):
        try:
            result = ingest_file(path, engine, settings, move=move, run_id=run_id, number_format=number_format,
                                 encoding=encoding)
        except OSError as exc:
            if exc.filename is None or Path(exc.filename) != Path(path):
                raise  # not the file itself (the warehouse, the archive folder): an error of the run
            reason = exc.strerror or type(exc).__name__
            log.error("%s: cannot be read (%s); left where it is", Path(path).name, reason)
            result = IngestResult(Path(path).name, "unreadable", None, problems=[Problem(
                Path(path).name, None, None, None, None, "file_readable",
                f"the file cannot be read ({reason}): let the warehouse read it (its permissions, or close the "
                "program that holds it) and ingest it again").to_dict()])
        results.append(result)
        if progress:
            progress(index, len(paths), result)
    return RunSummary(results)


def run_landing(engine: Engine, settings: Settings | None = None, *, run_id: str = "cli",
                progress: Callable[[int, int, IngestResult], None] | None = None) -> RunSummary:
    """What the nightly DAG does, in one process: every file in the landing folder."""
    settings = settings or load_settings()
    settings.ensure_folders()
    return ingest_paths(landing_files(settings), engine, settings, move=True, run_id=run_id, progress=progress)
