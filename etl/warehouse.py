"""The warehouse: connection, schema, bulk loading, reference dimensions, rollup refresh.

Everything goes through SQLAlchemy with one URL (``STATWH_WAREHOUSE_URL``). The
DDL in ``warehouse_sql/`` is plain SQL that DuckDB and PostgreSQL both accept;
the one place the dialects differ is :func:`bulk_insert` (Arrow registration
for DuckDB, ``COPY`` for PostgreSQL).
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import fcntl
import hashlib
import io
import logging
import os
import re
import threading
import uuid
import weakref
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from etl.config import load_settings
from etl.reference import Reference, load_reference

log = logging.getLogger(__name__)

FIRST_MONTH, LAST_MONTH = (2000, 1), (2040, 12)
_MONTH_ABBR = [calendar.month_abbr[m] for m in range(13)]


# --------------------------------------------------------------------------- connection


def make_engine(url: str | None = None) -> Engine:
    """An engine for ``url`` (default: the configured warehouse).

    DuckDB files are opened per transaction (no pool), so the file is not held
    locked between commands and a second process (an analyst, the CLI) can open it.
    Each connection to a DuckDB file first takes this process's turn at the file
    (:class:`EmbeddedFileTurn`): a second process waits for it instead of failing.
    """
    url = url or load_settings().warehouse_url
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "duckdb":
        engine = sa.create_engine(url, poolclass=NullPool)
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            sa.event.listen(engine, "do_connect", _connect_in_turn(EmbeddedFileTurn.of(parsed.database)))
        return engine
    # Named for the DBA: pg_stat_activity then shows which task or command each connection serves.
    connect_args = {} if "application_name" in parsed.query else {"application_name": application_name()}
    return sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def application_name() -> str:
    """How our PostgreSQL sessions are named in ``pg_stat_activity``: ``statwh``, and in an
    Airflow task the DAG and task (Airflow exports them to the task's environment), e.g.
    ``statwh statwh_nightly.ingest_file``. A batch adds what it writes (:func:`lock_batches`)."""
    dag, task = os.environ.get("AIRFLOW_CTX_DAG_ID"), os.environ.get("AIRFLOW_CTX_TASK_ID")
    return f"statwh {dag}.{task}" if dag and task else "statwh"


class EmbeddedFileTurn:
    """One process at a time uses an embedded DuckDB file; the others wait for their turn.

    DuckDB lets a single process open a file for writing and refuses every other process at
    once ("Could not set lock on file"), readers included. Without turns, an analyst's
    ``statwh batches`` during a nightly ingest failed with that error, and so did a second
    Airflow task. The turn is an exclusive ``flock`` on ``<file>.writer.lock`` beside the file,
    held while this process has the file open, or holds :func:`one_writer`. Within the process
    it is counted, not locked again (flock would make a second open of the lock file wait for
    the first), so connections opened inside a held turn, from any thread, pass straight in.
    """

    _turns: dict[str, EmbeddedFileTurn] = {}
    _turns_guard = threading.Lock()

    def __init__(self, database: str) -> None:
        self.lock_path = f"{database}.writer.lock"
        self._holders = 0
        self._handle: IO[bytes] | None = None
        self._guard = threading.Lock()

    @classmethod
    def of(cls, database: str) -> EmbeddedFileTurn:
        """The one turn object of this process for the file ``database``."""
        key = str(Path(database).resolve())
        with cls._turns_guard:
            return cls._turns.setdefault(key, cls(key))

    def take(self) -> None:
        """Wait until no other process uses the file (says so once if it has to wait)."""
        with self._guard:
            if self._holders == 0:
                handle = open(self.lock_path, "a+b")
                try:
                    try:
                        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        log.warning("waiting for another statwarehouse process to finish with %s "
                                    "(DuckDB lets one process at a time open it)", self.lock_path.removesuffix(".writer.lock"))
                        fcntl.flock(handle, fcntl.LOCK_EX)
                except BaseException:
                    handle.close()
                    raise
                self._handle = handle
            self._holders += 1

    def give_back(self) -> None:
        with self._guard:
            self._holders -= 1
            if self._holders == 0 and self._handle is not None:
                self._handle.close()  # closing the file releases the flock
                self._handle = None

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self.take()
        try:
            yield
        finally:
            self.give_back()


def _connect_in_turn(turn: EmbeddedFileTurn):
    """A ``do_connect`` hook: open the DuckDB file only in this process's turn, and give the
    turn back when the connection is closed (or, if nobody closes it, collected)."""

    def connect(dialect, connection_record, cargs, cparams):
        turn.take()
        try:
            dbapi_connection = dialect.connect(*cargs, **cparams)
        except BaseException:
            turn.give_back()
            raise
        give_back_once = weakref.finalize(dbapi_connection, turn.give_back)
        close = dbapi_connection.close

        def close_then_give_back() -> None:
            try:
                close()
            finally:
                give_back_once()

        dbapi_connection.close = close_then_give_back
        return dbapi_connection

    return connect


def sql_files(sql_dir: Path | None = None, dialect: str | None = None) -> list[Path]:
    """The DDL files in the order they must run: layer folders, then file names.

    ``name.<dialect>.sql`` files run only on that dialect (e.g. roles and grants, which
    only PostgreSQL has); all other files run everywhere. ``dialect=None`` lists all.
    """
    sql_dir = sql_dir or load_settings().sql_dir
    files = sorted(sql_dir.glob("*/*.sql"))
    if dialect is None:
        return files
    return [p for p in files if len(p.suffixes) < 2 or p.suffixes[-2] not in (".postgresql", ".duckdb")
            or p.suffixes[-2] == f".{dialect}"]


def schema_checksum(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _applied_checksum(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not column_types(conn, "dw.meta_schema_version"):
            return None
        return conn.exec_driver_sql(
            "SELECT ddl_sha256 FROM dw.meta_schema_version ORDER BY applied_at DESC, ddl_sha256 LIMIT 1"
        ).scalar()


_VIEW_NAME = re.compile(r"CREATE\s+OR\s+REPLACE\s+VIEW\s+([\w.]+)", re.IGNORECASE)


class SchemaChangeRefused(PermissionError):
    """The warehouse's schema is not the one this code's DDL makes, and the session's role may
    not change it (the loader role, as production's tasks log in)."""


def apply_schema(engine: Engine, sql_dir: Path | None = None, *, force: bool = False) -> int:
    """Create every schema object that does not exist yet (and replace the views).

    Skipped when the files are the ones last applied (their checksum is recorded), so the
    pipeline can run as a role without DDL rights. Returns the number of files run.
    Raises :class:`SchemaChangeRefused` when the schema must change and the role may not
    change it; nothing is changed then (one transaction).
    """
    files = sql_files(sql_dir, engine.dialect.name)
    checksum = schema_checksum(files)
    if not force and _applied_checksum(engine) == checksum:
        return 0
    try:
        _apply_files(engine, files, checksum)
    except Exception as exc:  # DDL goes straight to the driver: psycopg's own errors, or SQLAlchemy's
        if getattr(getattr(exc, "orig", exc), "sqlstate", None) != "42501":  # insufficient_privilege
            raise
        raise SchemaChangeRefused(
            f"the warehouse schema at {engine.url.render_as_string(hide_password=True)} is not the one "
            f"{files[0].parent.parent} makes (checksum {checksum[:12]}), and {engine.url.username or 'this role'} "
            "may not change it. Run 'statwh init' as the schema's owner (in docker-compose.yml: "
            "'docker compose up airflow-init'), then run this again."
        ) from exc
    return len(files)


def _apply_files(engine: Engine, files: list[Path], checksum: str) -> None:
    views = [_VIEW_NAME.search(p.read_text(encoding="utf-8")) for p in files]
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        # Views are re-created from scratch (dependents first), so a definition may change
        # its columns; tables are only created when missing.
        for match in reversed(views):
            if match:
                raw.execute(f"DROP VIEW IF EXISTS {match.group(1)}")
        _reshape_load_batch_table(conn, next(p for p in files if p.name == "dw.audit_load_batch.sql"))
        for path in files:
            # Straight to the driver, without parameters: a '%' in a comment is not a placeholder.
            raw.execute(path.read_text(encoding="utf-8"))
        conn.execute(
            sa.text("DELETE FROM dw.meta_schema_version WHERE ddl_sha256 = :sha"), {"sha": checksum}
        )
        conn.execute(
            sa.text("INSERT INTO dw.meta_schema_version (ddl_sha256, file_count, applied_at) "
                    "VALUES (:sha, :n, :at)"),
            {"sha": checksum, "n": len(files), "at": utc_now()},
        )


def _reshape_load_batch_table(conn: Connection, ddl: Path) -> None:
    """Drop the uniqueness of ``dw.audit_load_batch.file_sha256`` from a warehouse made before a
    rejected file could be read again, keeping its rows (the column ``reading_options`` that came
    with it is added like any other, by ``52_added_columns/``). ``CREATE TABLE IF NOT EXISTS``
    leaves an existing table as it is, and DuckDB cannot drop a constraint: there the table is
    made again from its DDL and the rows copied."""
    unique = conn.execute(sa.text(
        "SELECT constraint_name FROM information_schema.table_constraints WHERE table_schema = 'dw' "
        "AND table_name = 'audit_load_batch' AND constraint_type = 'UNIQUE'")).scalars().all()
    if not unique:
        return  # a new warehouse, or one already in shape
    log.warning("dw.audit_load_batch: dropping the uniqueness of file_sha256")
    if conn.dialect.name == "postgresql":  # in place, so its grants stay
        for name in unique:
            conn.exec_driver_sql(f'ALTER TABLE dw.audit_load_batch DROP CONSTRAINT "{name}"')
        return
    columns = column_types(conn, "dw.audit_load_batch")
    conn.exec_driver_sql("ALTER TABLE dw.audit_load_batch RENAME TO audit_load_batch_reshaped")
    conn.connection.driver_connection.execute(ddl.read_text(encoding="utf-8"))
    kept = ", ".join(columns)
    conn.exec_driver_sql(f"INSERT INTO dw.audit_load_batch ({kept}) SELECT {kept} FROM dw.audit_load_batch_reshaped")
    conn.exec_driver_sql("DROP TABLE dw.audit_load_batch_reshaped")


# --------------------------------------------------------------------------- bulk path


def bulk_insert(conn: Connection, table: str, data: pa.Table) -> int:
    """Append ``data`` to ``table`` inside the caller's transaction, without row loops.

    DuckDB reads the Arrow table in place; PostgreSQL receives it through COPY as CSV
    written by Arrow's C++ writer. Column names of ``data`` must be columns of ``table``.
    """
    if data.num_rows == 0:
        return 0
    columns = ", ".join(data.column_names)
    dialect = conn.dialect.name
    if dialect == "duckdb":
        raw = conn.connection.driver_connection
        view = f"incoming_{uuid.uuid4().hex}"
        raw.register(view, data)
        try:
            conn.exec_driver_sql(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {view}")
        finally:
            raw.unregister(view)
    elif dialect == "postgresql":
        with conn.connection.driver_connection.cursor() as cursor:
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)") as copy:
                for chunk in _csv_chunks(data):
                    copy.write(chunk)
    else:  # any other SQLAlchemy dialect: one executemany, still not a Python row loop of statements
        names = data.column_names
        placeholders = ", ".join(f":{n}" for n in names)
        conn.execute(sa.text(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"), data.to_pylist())
    return data.num_rows


def bulk_read(conn: Connection, query: str, params: dict, schema: pa.Schema) -> pd.DataFrame:
    """The rows of ``query`` (``:name`` parameters) as a DataFrame with ``schema``'s columns
    and types, inside the caller's transaction, without building a Python object per row.

    DuckDB hands over Arrow; PostgreSQL sends ``COPY (query) TO STDOUT`` as CSV, read by
    Arrow's C++ reader with the types given (so ``'01'`` stays text). Parameters are bound
    by the driver (client-side for COPY, which takes none on the server).
    """
    dialect = conn.dialect.name
    if dialect == "duckdb":
        statement = _NAMED_PARAMETER.sub(r"$\1", query)
        table = conn.connection.driver_connection.sql(statement, params=params).to_arrow_table()
        return table.select(schema.names).cast(schema).to_pandas()
    if dialect == "postgresql":
        statement = _NAMED_PARAMETER.sub(r"%(\1)s", query.replace("%", "%%"))
        with conn.connection.driver_connection.cursor() as cursor:
            with cursor.copy(f"COPY ({statement}) TO STDOUT WITH (FORMAT csv, HEADER)", params) as copy:
                data = b"".join(bytes(block) for block in copy)
        table = pacsv.read_csv(
            io.BytesIO(data),
            # PostgreSQL writes NULL as an empty field and an empty string as "": keep them apart
            convert_options=pacsv.ConvertOptions(column_types=schema, include_columns=schema.names,
                                                 strings_can_be_null=True, quoted_strings_can_be_null=False),
        )
        return table.cast(schema).to_pandas()
    rows = conn.execute(sa.text(query), params).fetchall()
    return pd.DataFrame(rows, columns=schema.names)


#: ``:name`` parameters of sa.text() queries (not ``::type`` casts)
_NAMED_PARAMETER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")

#: rows per CSV chunk sent to COPY (about 4 MB of typical figures)
_COPY_CHUNK_ROWS = 65_536


def _csv(data: pa.Table) -> memoryview:
    buffer = io.BytesIO()
    pacsv.write_csv(data, buffer, write_options=pacsv.WriteOptions(include_header=False))
    return buffer.getbuffer()


def _csv_chunks(data: pa.Table) -> Iterator[memoryview]:
    """``data`` as CSV, in chunks of rows: the next chunk is written (by Arrow, without the
    GIL) in a second thread while the server reads the previous one, so writing the CSV
    costs next to nothing beyond the COPY itself. The chunks joined are the CSV of ``data``."""
    slices = [data.slice(start, _COPY_CHUNK_ROWS) for start in range(0, data.num_rows, _COPY_CHUNK_ROWS)]
    if len(slices) == 1:
        yield _csv(slices[0])
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="csv-for-copy") as writer:
        pending = writer.submit(_csv, slices[0])
        for following in slices[1:]:
            chunk = pending.result()
            pending = writer.submit(_csv, following)
            yield chunk
        yield pending.result()


def arrow_table(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """``frame``'s columns named in ``schema``, converted to those types.

    A text column that ``frame`` holds as a categorical stays dictionary-encoded (its
    values of the schema's type): converting a million-row categorical to plain strings
    costs more than the COPY it feeds, and both loaders take dictionaries as they are
    (DuckDB natively, Arrow's CSV writer for PostgreSQL's COPY)."""
    arrays, fields = [], []
    for field in schema:
        column = frame[field.name]
        if isinstance(column.dtype, pd.CategoricalDtype) and pa.types.is_string(field.type):
            array = pa.array(column, from_pandas=True)
            array = array.cast(pa.dictionary(array.type.index_type, field.type))
            field = field.with_type(array.type)
        else:  # from_pandas: NaN, None and pd.NA all become nulls, nullable integer columns included
            array = pa.array(column, type=field.type, from_pandas=True)
        arrays.append(array)
        fields.append(field)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=schema.metadata))


# --------------------------------------------------------------------------- reference dimensions


def month_frame() -> pd.DataFrame:
    rows = []
    for year in range(FIRST_MONTH[0], LAST_MONTH[0] + 1):
        for month in range(1, 13):
            last_day = calendar.monthrange(year, month)[1]
            rows.append(
                {
                    "month_key": year * 100 + month,
                    "month_start": dt.date(year, month, 1),
                    "month_end": dt.date(year, month, last_day),
                    "year": year,
                    "month": month,
                    "quarter": (month - 1) // 3 + 1,
                    "label_vi": f"Tháng {month:02d}/{year}",
                    "label_en": f"{_MONTH_ABBR[month]} {year}",
                }
            )
    return pd.DataFrame(rows)


_REFERENCE_SCHEMAS = {
    "staging.stg_month": pa.schema(
        [("month_key", pa.int32()), ("month_start", pa.date32()), ("month_end", pa.date32()),
         ("year", pa.int32()), ("month", pa.int32()), ("quarter", pa.int32()),
         ("label_vi", pa.string()), ("label_en", pa.string())]
    ),
    "staging.stg_region": pa.schema(
        [("region_code", pa.string()), ("valid_from", pa.date32()), ("valid_to", pa.date32()),
         ("name_vi", pa.string()), ("name_en", pa.string()), ("unit_type", pa.string())]
    ),
    "staging.stg_indicator": pa.schema(
        [("indicator_code", pa.string()), ("name_vi", pa.string()), ("name_en", pa.string()),
         ("kind", pa.string()), ("canonical_unit", pa.string()), ("domain", pa.string()),
         ("year_rule", pa.string()), ("can_be_negative", pa.bool_()), ("merge_rule", pa.string()),
         ("merge_weight_indicator", pa.string()), ("description_en", pa.string())]
    ),
    "staging.stg_unit": pa.schema([("unit", pa.string()), ("dimension", pa.string()), ("factor", pa.float64())]),
    "staging.stg_region_crosswalk": pa.schema(
        [("from_region_code", pa.string()), ("to_region_code", pa.string()),
         ("effective_date", pa.date32()), ("from_in_force_on", pa.date32())]
    ),
}

_MERGE_REFERENCE = [
    # dim_month: months never change, only new ones are added
    """INSERT INTO dw.dim_month (month_key, month_start, month_end, year, month, quarter, label_vi, label_en)
       SELECT s.month_key, s.month_start, s.month_end, s.year, s.month, s.quarter, s.label_vi, s.label_en
       FROM staging.stg_month AS s
       WHERE NOT EXISTS (SELECT 1 FROM dw.dim_month AS d WHERE d.month_key = s.month_key)""",
    """UPDATE dw.dim_unit AS d SET dimension = s.dimension, factor = s.factor
       FROM staging.stg_unit AS s WHERE d.unit = s.unit
         AND (d.dimension <> s.dimension OR d.factor <> s.factor)""",
    """INSERT INTO dw.dim_unit (unit, dimension, factor)
       SELECT s.unit, s.dimension, s.factor FROM staging.stg_unit AS s
       WHERE NOT EXISTS (SELECT 1 FROM dw.dim_unit AS d WHERE d.unit = s.unit)""",
    # dimensions with surrogate keys: update by natural key, insert new with a new key
    """UPDATE dw.dim_region AS d
       SET valid_to = s.valid_to, name_vi = s.name_vi, name_en = s.name_en, unit_type = s.unit_type
       FROM staging.stg_region AS s
       WHERE d.region_code = s.region_code AND d.valid_from = s.valid_from
         AND (d.name_vi <> s.name_vi OR d.name_en <> s.name_en OR d.unit_type <> s.unit_type
              OR COALESCE(d.valid_to, DATE '9999-12-31') <> COALESCE(s.valid_to, DATE '9999-12-31'))""",
    """INSERT INTO dw.dim_region (region_key, region_code, valid_from, valid_to, name_vi, name_en, unit_type)
       SELECT nextval('dw.seq_region_key'), n.* FROM (
           SELECT s.region_code, s.valid_from, s.valid_to, s.name_vi, s.name_en, s.unit_type
           FROM staging.stg_region AS s
           WHERE NOT EXISTS (SELECT 1 FROM dw.dim_region AS d
                             WHERE d.region_code = s.region_code AND d.valid_from = s.valid_from)
           ORDER BY s.valid_from, s.region_code) AS n""",
    """UPDATE dw.dim_indicator AS d
       SET name_vi = s.name_vi, name_en = s.name_en, kind = s.kind, canonical_unit = s.canonical_unit,
           domain = s.domain, year_rule = s.year_rule, can_be_negative = s.can_be_negative,
           merge_rule = s.merge_rule, merge_weight_indicator = s.merge_weight_indicator,
           description_en = s.description_en
       FROM staging.stg_indicator AS s
       WHERE d.indicator_code = s.indicator_code
         AND (d.name_vi <> s.name_vi OR d.name_en <> s.name_en OR d.kind <> s.kind
              OR d.canonical_unit <> s.canonical_unit OR d.domain <> s.domain OR d.year_rule <> s.year_rule
              OR d.can_be_negative <> s.can_be_negative OR d.description_en <> s.description_en
              OR d.merge_rule <> s.merge_rule
              OR d.merge_weight_indicator IS DISTINCT FROM s.merge_weight_indicator)""",
    """INSERT INTO dw.dim_indicator (indicator_key, indicator_code, name_vi, name_en, kind, canonical_unit,
                                     domain, year_rule, can_be_negative, merge_rule, merge_weight_indicator,
                                     description_en)
       SELECT nextval('dw.seq_indicator_key'), n.* FROM (
           SELECT s.indicator_code, s.name_vi, s.name_en, s.kind, s.canonical_unit, s.domain, s.year_rule,
                  s.can_be_negative, s.merge_rule, s.merge_weight_indicator, s.description_en
           FROM staging.stg_indicator AS s
           WHERE NOT EXISTS (SELECT 1 FROM dw.dim_indicator AS d WHERE d.indicator_code = s.indicator_code)
           ORDER BY s.indicator_code) AS n""",
    # the crosswalk is derived wholly from its file and the region keys: rebuild it
    "DELETE FROM dw.brg_region_crosswalk",
    """INSERT INTO dw.brg_region_crosswalk (from_region_key, to_region_key, effective_date)
       SELECT f.region_key, t.region_key, s.effective_date
       FROM staging.stg_region_crosswalk AS s
       JOIN dw.dim_region AS f ON f.region_code = s.from_region_code
           AND f.valid_from <= s.from_in_force_on
           AND (f.valid_to IS NULL OR f.valid_to >= s.from_in_force_on)
       JOIN dw.dim_region AS t ON t.region_code = s.to_region_code
           AND t.valid_from <= s.effective_date
           AND (t.valid_to IS NULL OR t.valid_to >= s.effective_date)""",
]


def _reference_frames(reference: Reference) -> dict[str, pd.DataFrame]:
    indicators = reference.indicators.reset_index(drop=True).copy()
    indicators["can_be_negative"] = indicators["can_be_negative"].str.lower().eq("true")
    indicators["merge_weight_indicator"] = indicators["merge_weight_indicator"].replace("", None)
    units = pd.DataFrame(
        [{"unit": u.unit, "dimension": u.dimension, "factor": u.factor} for u in reference.units.values()]
    )
    crosswalk = reference.crosswalk.copy()
    crosswalk["from_in_force_on"] = crosswalk["effective_date"].map(lambda d: d - dt.timedelta(days=1))
    return {
        "staging.stg_month": month_frame(),
        "staging.stg_region": reference.regions,
        "staging.stg_indicator": indicators,
        "staging.stg_unit": units,
        "staging.stg_region_crosswalk": crosswalk,
    }


#: the dimensions merged from the reference files
_REFERENCE_DIMENSIONS = ("dw.dim_month", "dw.dim_region", "dw.dim_indicator", "dw.dim_unit", "dw.brg_region_crosswalk")


def load_reference_dimensions(engine: Engine, reference: Reference | None = None) -> None:
    """Merge the reference files into the dimensions, in one transaction; idempotent."""
    frames = _reference_frames(reference or load_reference())
    with engine.begin() as conn:
        for table in frames:
            conn.exec_driver_sql(f"DELETE FROM {table}")
        for table, frame in frames.items():
            bulk_insert(conn, table, arrow_table(frame, _REFERENCE_SCHEMAS[table]))
        for statement in _MERGE_REFERENCE:
            conn.exec_driver_sql(statement)
        for table in frames:
            conn.exec_driver_sql(f"DELETE FROM {table}")
        refresh_statistics(conn, *_REFERENCE_DIMENSIONS)


def prepare_warehouse(engine: Engine) -> None:
    """Schema and reference dimensions: what every command needs before it works."""
    apply_schema(engine)
    load_reference_dimensions(engine)


# --------------------------------------------------------------------------- rollup refresh

#: materialised facts, in refresh order (the plan gap reads the annual rollup)
ROLLUP_FACTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("dw.fct_monthly_ytd", "dw.calc_monthly_ytd", ("region_key", "indicator_key", "month_key")),
    ("dw.fct_annual_rollup", "dw.calc_annual_rollup", ("region_key", "indicator_key", "year")),
    ("dw.fct_plan_gap", "dw.calc_plan_gap", ("region_key", "indicator_key", "year")),
)
_LINEAGE = ("computed_by_batch_key", "known_from", "superseded_by_batch_key", "known_until")
#: session-local table holding one definition's rows while its fact is refreshed
_COMPUTED = "calc_rows_of_batch"
#: the batch's rows of dw.calc_territory_figure, the input of the monthly and annual definitions
_TERRITORY = "staging.stg_territory_figure"
_TOUCHED_ROW = (
    "EXISTS (SELECT 1 FROM staging.stg_touched_key AS t WHERE t.region_key = f.region_key "
    "AND t.indicator_key = f.indicator_key AND t.year = f.year)"
)


# A merged unit's rollups read its predecessors' months (dw.calc_territory_figure): a figure of
# old Bình Dương for 2025 changes new Hồ Chí Minh City's 2025 and, through growth, its 2026.
# Predecessors' touched years map to their successor's from the year it came into force
# (its earlier years are never rows of its own); the batch's keys already hold each year
# after a touched one.
_TOUCHED_SUCCESSORS = """
INSERT INTO staging.stg_touched_key (batch_key, region_key, indicator_key, year)
SELECT DISTINCT :batch_key, b.to_region_key, t.indicator_key, t.year
FROM staging.stg_touched_key AS t
JOIN dw.brg_region_crosswalk AS b ON b.from_region_key = t.region_key AND b.to_region_key <> b.from_region_key
JOIN dw.dim_region AS r ON r.region_key = b.to_region_key
WHERE t.batch_key = :batch_key AND t.year >= EXTRACT(YEAR FROM r.valid_from)
  AND NOT EXISTS (SELECT 1 FROM staging.stg_touched_key AS k
                  WHERE k.batch_key = :batch_key AND k.region_key = b.to_region_key
                    AND k.indicator_key = t.indicator_key AND k.year = t.year)
"""


def refresh_statistics(conn: Connection, *tables: str) -> None:
    """ANALYZE tables a batch has just filled, on PostgreSQL (within the batch's transaction,
    whose own rows ANALYZE counts). Autovacuum cannot see uncommitted rows, so without this
    the planner plans the batch's joins for the table as it was before, often empty.

    PostgreSQL 15 lets only a table's owner ANALYZE it. The tables the session's role owns
    (the warehouse owner's, or the loader's temporary tables) are analysed directly; a staging
    table owned by someone else, as it is for the loader role, through
    ``staging.analyze_staging_table``, which runs with the owner's rights and analyses nothing
    outside the staging schema. Other tables (the reference dimensions, for the loader) are
    left to autovacuum, which sees their committed rows. DuckDB keeps exact counts itself.
    """
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        owned, in_staging = conn.execute(
            sa.text("SELECT pg_has_role(current_user, c.relowner, 'USAGE'), c.relnamespace = 'staging'::regnamespace "
                    "FROM pg_class AS c WHERE c.oid = to_regclass(:t)"),
            {"t": table},
        ).one_or_none() or (False, False)
        if owned:
            conn.exec_driver_sql(f"ANALYZE {table}")
        elif in_staging:
            conn.execute(sa.text("SELECT staging.analyze_staging_table(CAST(:t AS regclass))"), {"t": table})


def column_types(conn: Connection, relation: str) -> dict[str, str]:
    """Column name -> SQL type name (lower case), in the relation's column order, from
    information_schema (portable; SQLAlchemy's inspector does not work on DuckDB through
    duckdb-engine 0.17). Empty if there is no such table or view."""
    schema, name = relation.split(".")
    rows = conn.execute(
        sa.text("SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = :s AND table_name = :t ORDER BY ordinal_position"),
        {"s": schema, "t": name},
    ).fetchall()
    return {r[0]: str(r[1]).lower() for r in rows}


def _same_row(columns: dict[str, str], keys: tuple[str, ...]) -> str:
    """SQL saying row f of a fact equals row c of its definition. Floating-point columns
    match within 1e-9 relative: a re-computed sum may differ in its last bits.

    The key columns (NOT NULL on both sides) come first as plain equalities: without them
    PostgreSQL can use no index or hash for the comparison and scans every current row of
    the fact for each computed row — a nightly run then grows with the length of history.
    """
    tests = [f"f.{k} = c.{k}" for k in keys]
    for name, sql_type in columns.items():
        if "double" in sql_type or "float" in sql_type or "real" in sql_type:
            tests.append(f"(f.{name} = c.{name} OR (f.{name} IS NULL AND c.{name} IS NULL) OR "
                         f"ABS(f.{name} - c.{name}) <= 1e-9 * (1 + ABS(c.{name})))")
        else:
            tests.append(f"f.{name} IS NOT DISTINCT FROM c.{name}")
    return " AND ".join(tests)


def refresh_rollups(conn: Connection, batch_key: int, computed_at: dt.datetime) -> dict[str, int]:
    """Bring the rollup facts up to date for the keys in ``staging.stg_touched_key``.

    Keys of units that were merged into another also touch that unit's keys (see
    ``_TOUCHED_SUCCESSORS``). Set-based, per fact: the current rows of touched keys that the
    batch changes (or that no longer exist) are closed (``superseded_by_batch_key``,
    ``known_until``), and rows that are new or different are inserted. Unchanged rows, and
    every row of other keys, are left exactly as they were, so history answers "what did we
    know on date D".
    Returns the number of rows inserted per fact.
    """
    conn.execute(sa.text(_TOUCHED_SUCCESSORS), {"batch_key": batch_key})
    # The territory (the latest versions of the touched years and the year before each, a merged
    # unit's predecessors' months added up) is computed once, not once per definition reading it.
    territory = ", ".join(c for c in column_types(conn, _TERRITORY) if c != "batch_key")
    conn.execute(sa.text(f"INSERT INTO {_TERRITORY} (batch_key, {territory}) "
                         f"SELECT :batch_key, {territory} FROM dw.calc_territory_figure"), {"batch_key": batch_key})
    refresh_statistics(conn, _TERRITORY)
    written = {}
    for fact, definition, keys in ROLLUP_FACTS:
        columns = {c: t for c, t in column_types(conn, fact).items() if c not in _LINEAGE}
        listed = ", ".join(columns)
        same = _same_row(columns, keys)
        params = {"batch_key": batch_key, "computed_at": computed_at}
        # The definition is computed once into a temporary table, not twice (once per
        # statement below). On PostgreSQL, ANALYZE gives the planner the real row count:
        # estimated from the view it is a handful of rows, and the anti-joins below then
        # run as nested loops whose cost grows with the square of the rows touched.
        conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {_COMPUTED} AS SELECT * FROM {definition}")
        refresh_statistics(conn, _COMPUTED)
        conn.execute(
            sa.text(
                f"UPDATE {fact} AS f SET superseded_by_batch_key = :batch_key, known_until = :computed_at "
                f"WHERE f.known_until IS NULL AND {_TOUCHED_ROW} "
                f"AND NOT EXISTS (SELECT 1 FROM {_COMPUTED} AS c WHERE {same})"
            ),
            params,
        )
        result = conn.execute(
            sa.text(
                f"INSERT INTO {fact} ({listed}, computed_by_batch_key, known_from) "
                f"SELECT {', '.join('c.' + c for c in columns)}, :batch_key, :computed_at "
                f"FROM {_COMPUTED} AS c "
                f"WHERE NOT EXISTS (SELECT 1 FROM {fact} AS f WHERE f.known_until IS NULL AND {same})"
            ),
            params,
        )
        conn.exec_driver_sql(f"DROP TABLE {_COMPUTED}")
        written[fact] = result.rowcount
        if written[fact] < 0:  # DuckDB's driver reports -1 for INSERT ... SELECT; its zone maps make this cheap
            written[fact] = conn.execute(sa.text(f"SELECT COUNT(*) FROM {fact} WHERE computed_by_batch_key = :b"),
                                         {"b": batch_key}).scalar_one()
    conn.execute(sa.text(f"DELETE FROM {_TERRITORY} WHERE batch_key = :b"), {"b": batch_key})
    return written


def rebuild_rollups(engine: Engine) -> dict[str, int]:
    """Recompute every rollup from the figures (a repair tool: batches refresh incrementally).

    Goes through the same refresh as a batch, for every key, so rows that are already
    right stay untouched and only wrong or missing ones are replaced.
    """
    with engine.begin() as conn:
        lock_batches(conn, "rebuild rollups")
        computed_at = utc_now()  # after the wait: no batch committed later may be stamped earlier
        batch_key = next_batch_key(conn)
        conn.execute(
            sa.text(
                "INSERT INTO staging.stg_touched_key (batch_key, region_key, indicator_key, year) "
                "SELECT DISTINCT :batch_key, f.region_key, f.indicator_key, m.year "
                "FROM dw.fct_monthly_figure_version AS f JOIN dw.dim_month AS m ON m.month_key = f.month_key "
                "UNION SELECT :batch_key, region_key, indicator_key, year FROM dw.fct_plan_target_version "
                "UNION SELECT :batch_key, region_key, indicator_key, year FROM dw.fct_annual_rollup "
                "WHERE known_until IS NULL"
            ),
            {"batch_key": batch_key},
        )
        written = refresh_rollups(conn, batch_key, computed_at)
        conn.execute(sa.text("DELETE FROM staging.stg_touched_key WHERE batch_key = :b"), {"b": batch_key})
    return written


def next_batch_key(conn: Connection) -> int:
    return int(conn.exec_driver_sql("SELECT nextval('dw.seq_batch_key')").scalar_one())


#: the advisory lock that batches take on PostgreSQL: the bytes of "statwh" as a number
BATCH_LOCK_KEY = int.from_bytes(b"statwh", "big")


@contextlib.contextmanager
def one_writer(engine: Engine) -> Iterator[None]:
    """While the block runs, no other process uses this embedded DuckDB file: the block holds
    this process's turn at it (:class:`EmbeddedFileTurn`), which the others wait for.

    An ingest takes it as a whole, not per transaction, so that another ingest (an Airflow
    task beside it, or the CLI during a nightly run) cannot slip in between its transactions.
    PostgreSQL needs none of this: its batches take turns inside the database
    (:func:`lock_batches`), and the rest of an ingest runs side by side.
    """
    database = engine.url.database if engine.dialect.name == "duckdb" else None
    if not database or database == ":memory:":
        yield
        return
    with EmbeddedFileTurn.of(database).held():
        yield


def lock_batches(conn: Connection, batch: str, *, wait: bool = True) -> bool:
    """Wait until no other batch is being written, and keep the others out until this
    transaction ends (PostgreSQL's transaction-level advisory lock; DuckDB has one writer).
    With ``wait=False``, take the lock only if it is free at once; returns whether it was taken.

    ``batch`` says what the batch writes (``ingest <file>``, ``rebuild rollups``): until the
    transaction ends the session's application_name carries it, so a DBA looking at
    ``pg_stat_activity`` or ``pg_locks`` sees which file holds the turn and which wait.

    Several Celery workers may ingest files at once (``STATWH_MAX_PARALLEL_INGESTS``): reading,
    parsing and validating run side by side, but batches are written one after another. Their keys
    are then handed out in commit order, as the version ranking expects ("the latest
    version" is the one with the highest batch key), and a batch's rollups are computed
    from every figure committed before it, never beside another batch's refresh of the
    same keys (which would leave two current rows)."""
    if conn.dialect.name != "postgresql":
        return True
    conn.execute(sa.text("SELECT set_config('application_name', current_setting('application_name') || ' ' || :batch, "
                         "true)"), {"batch": batch})
    if wait:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": BATCH_LOCK_KEY})
        return True
    return bool(conn.execute(sa.text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": BATCH_LOCK_KEY}).scalar_one())


def utc_now() -> dt.datetime:
    """Naive UTC timestamp (the warehouse stores UTC in TIMESTAMP columns)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def table_contents(engine: Engine, tables: Iterable[str]) -> dict[str, list[tuple]]:
    """Every row of each table, sorted: for comparing warehouse states in tests and tools."""
    out = {}
    with engine.connect() as conn:
        for table in tables:
            rows = conn.exec_driver_sql(f"SELECT * FROM {table}").fetchall()
            out[table] = sorted((tuple(r) for r in rows), key=repr)
    return out


WAREHOUSE_TABLES = (
    "dw.dim_month", "dw.dim_region", "dw.dim_indicator", "dw.dim_unit", "dw.brg_region_crosswalk",
    "dw.audit_load_batch", "dw.audit_problem", "dw.audit_check_result",
    "dw.fct_monthly_figure_version", "dw.fct_plan_target_version",
    "dw.fct_monthly_ytd", "dw.fct_annual_rollup", "dw.fct_plan_gap",
    "staging.stg_monthly_figure", "staging.stg_plan_target", "staging.stg_touched_key",
    "staging.stg_territory_figure",
)
