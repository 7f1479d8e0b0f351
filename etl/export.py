"""Exports of the analyst views as Parquet files that carry their own documentation.

    statwh export --to DIR [--format parquet|csv] [--numbers vi|en]

One file per view in :data:`EXPORT_VIEWS` (``v_plan_gap.parquet`` …). Each file holds:

* schema metadata: ``statwh.source_view``, ``statwh.exported_at`` (UTC, ISO 8601),
  ``statwh.warehouse_url`` (the URL without its password), ``statwh.description`` (the
  view's header comment) and ``statwh.columns`` (the field metadata below as JSON, for
  readers such as DuckDB's ``parquet_kv_metadata`` that do not show Arrow field metadata);
* field metadata on every column: ``label_vi``, ``label_en``, ``description`` and, where a
  column has one, ``unit`` (``%``, ``pp``, ``UTC``, or the row's ``unit`` column) — all from
  :mod:`etl.dictionary`, the one place column labels are kept.

Column types come from ``information_schema.columns``, not from the values, so an empty
view still exports with its real types. Rows are streamed in row groups, so a long
history does not have to fit in memory. pandas (``read_parquet``) and DuckDB
(``FROM 'v_plan_gap.parquet'``) read the files as they are.

Rows are written in the order of each view's key (:data:`EXPORT_ORDER`: region, indicator,
period; batch for ``v_load_batch``), sorted by the database, the same on DuckDB and PostgreSQL,
so two exports of the same data are the same file.

``--format csv`` writes the same views as CSV (UTF-8 with BOM, so Excel opens the
Vietnamese text correctly); ``--numbers vi`` writes them the way a Vietnamese Excel reads
CSV (``;`` between fields, ``,`` as the decimal mark), ``en`` the English way. Parquet
holds numbers as numbers, so ``--numbers`` does not change it.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import decimal
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pyarrow and SQLAlchemy load when an export runs, not with the CLI
    import pyarrow as pa
    from sqlalchemy.engine import Engine

# Each view is written in the order of its key (its grain), so two exports of the same data
# are the same file, row for row, on DuckDB and on PostgreSQL: analysts diff nightly exports,
# and a view has no order of its own (DuckDB's parallel scan returns its rows in any order).
# A region code names another unit after the 2025 merger (79), so region_valid_from is part
# of the key.
EXPORT_ORDER = {
    "analytics.v_plan_gap": ("region_code", "region_valid_from", "indicator_code", "year"),
    "analytics.v_annual_rollup": ("region_code", "region_valid_from", "indicator_code", "year"),
    "analytics.v_monthly_figure": ("region_code", "region_valid_from", "indicator_code", "month_key"),
    "analytics.v_revision_summary": ("indicator_code", "department_code", "year"),
    "analytics.v_load_batch": ("batch_key",),
}
EXPORT_VIEWS = tuple(EXPORT_ORDER)
BATCH_ROWS = 50_000


def _arrow_type(sql_type: str) -> pa.DataType:
    import pyarrow as pa

    t = sql_type.lower()
    if t in ("integer", "int", "int4", "smallint", "int2"):
        return pa.int32()
    if t in ("bigint", "int8", "hugeint"):
        return pa.int64()
    if t in ("double", "double precision", "float8", "real", "float", "float4") or t.startswith(("numeric", "decimal")):
        return pa.float64()
    if t in ("boolean", "bool"):
        return pa.bool_()
    if t == "date":
        return pa.date32()
    if t.startswith("timestamp with time zone") or t == "timestamptz":
        return pa.timestamp("us", tz="UTC")
    if t.startswith("timestamp"):
        return pa.timestamp("us")
    return pa.string()


def view_columns(conn, view: str) -> list[tuple[str, str]]:
    """(name, SQL type) of each column of ``view``, in order; LookupError if there is no such view."""
    from etl.warehouse import column_types

    columns = list(column_types(conn, view).items())
    if not columns:
        raise LookupError(f"{view} is not in the warehouse")
    return columns


def ordered_select(dialect: str, view: str, columns: list[tuple[str, str]]) -> str:
    """The SELECT that exports ``view``: every column, ordered by its key in :data:`EXPORT_ORDER`
    (ascending, NULLs last). Text keys compare by code point on both backends (``COLLATE "C"``
    on PostgreSQL, whose default collation follows the locale, e.g. ignores ``_`` at first;
    DuckDB compares bytes), so both sort alike. A view not listed there is ordered by all its
    columns, which still makes the file stable."""
    import pyarrow as pa

    types = dict(columns)
    keys = [k for k in EXPORT_ORDER.get(view, ()) if k in types] or list(types)

    def key(name: str) -> str:
        text = _arrow_type(types[name]) == pa.string()
        return f'{name} COLLATE "C" NULLS LAST' if text and dialect == "postgresql" else f"{name} NULLS LAST"

    return f"SELECT {', '.join(types)} FROM {view} ORDER BY {', '.join(key(k) for k in keys)}"


def export_schema(view: str, columns: list[tuple[str, str]], dictionary, exported_at: dt.datetime,
                  warehouse_url: str) -> pa.Schema:
    """The Arrow schema of an export: types from the warehouse, labels from the dictionary."""
    import pyarrow as pa

    described = dictionary.labels(view)
    fields = []
    for name, sql_type in columns:
        col = described.get(name)
        meta = {"sql_type": sql_type}
        if col is not None:
            meta.update({"label_vi": col.label_vi, "label_en": col.label_en, "description": col.description})
            if col.unit:
                meta["unit"] = col.unit
        fields.append(pa.field(name, _arrow_type(sql_type), metadata={k: v for k, v in meta.items() if v}))
    obj = dictionary.get(view)
    header = " ".join(line.strip() for line in obj.header) if obj else ""
    return pa.schema(fields, metadata={
        "statwh.source_view": view,
        "statwh.exported_at": exported_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "statwh.warehouse_url": warehouse_url,
        "statwh.description": header,
        "statwh.columns": json.dumps(
            {f.name: {k.decode(): v.decode() for k, v in (f.metadata or {}).items()} for f in fields},
            ensure_ascii=False),
    })


def _clean(value: object) -> object:
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _batches(result, schema: pa.Schema) -> Iterable[pa.RecordBatch]:
    import pyarrow as pa

    while True:
        rows = result.fetchmany(BATCH_ROWS)
        if not rows:
            return
        columns = list(zip(*rows))
        yield pa.record_batch(
            [pa.array([_clean(v) for v in col], type=field.type) for col, field in zip(columns, schema)],
            schema=schema)


def safe_url(engine: Engine) -> str:
    """The warehouse URL without its password (nor a ``password`` query parameter).

    (``URL.set(password=None)`` would keep it: None there means "unchanged".)
    """
    import sqlalchemy as sa

    url = engine.url
    query = {k: v for k, v in url.query.items() if k.lower() not in ("password", "passwd", "pwd")}
    return sa.engine.URL.create(url.drivername, username=url.username, host=url.host, port=url.port,
                                database=url.database, query=query).render_as_string(hide_password=False)


def export_view(engine: Engine, view: str, path: Path, dictionary=None,
                exported_at: dt.datetime | None = None) -> int:
    """Write one view as Parquet; returns the number of rows."""
    import pyarrow.parquet as pq
    import sqlalchemy as sa

    from etl.dictionary import build_dictionary

    dictionary = dictionary or build_dictionary()
    exported_at = exported_at or dt.datetime.now(dt.UTC).replace(microsecond=0)
    rows = 0
    with engine.connect() as conn:
        columns = view_columns(conn, view)
        schema = export_schema(view, columns, dictionary, exported_at, safe_url(engine))
        result = conn.execution_options(stream_results=True).execute(
            sa.text(ordered_select(engine.dialect.name, view, columns)))
        with _written_whole(path) as tmp, pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for batch in _batches(result, schema):
                writer.write_batch(batch)
                rows += batch.num_rows
    return rows


@contextlib.contextmanager
def _written_whole(path: Path) -> Iterator[Path]:
    """A temporary name beside ``path`` that replaces it only once writing succeeded: an
    export that fails half-way leaves the previous file (or none), never a truncated one
    that an analyst's spreadsheet would open without a word."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)


def export_csv(engine: Engine, view: str, path: Path, convention: str = "vi") -> int:
    """Write one view as CSV in the given number convention; returns the number of rows."""
    import sqlalchemy as sa

    delimiter, decimal_mark = (";", ",") if convention == "vi" else (",", ".")
    rows = 0
    with engine.connect() as conn, _written_whole(path) as tmp, \
            tmp.open("w", encoding="utf-8-sig", newline="") as handle:
        columns = view_columns(conn, view)
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\n")
        writer.writerow([n for n, _ in columns])
        result = conn.execution_options(stream_results=True).execute(
            sa.text(ordered_select(engine.dialect.name, view, columns)))
        for row in result:
            writer.writerow([_csv_value(v, decimal_mark) for v in row])
            rows += 1
    return rows


def _csv_value(value: object, decimal_mark: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (float, decimal.Decimal)):
        from etl.queries import plain_decimal_text  # loaded once; not with the CLI

        return plain_decimal_text(float(value), decimal_mark)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return str(value)


def export_views(engine: Engine, folder: Path, fmt: str = "parquet", convention: str = "vi",
                 views: Iterable[str] = EXPORT_VIEWS,
                 progress: Callable[[int, int, str, Path, int], None] | None = None) -> dict[str, Path]:
    """Export every view into ``folder``; returns view -> file written."""
    from etl.dictionary import build_dictionary

    folder.mkdir(parents=True, exist_ok=True)
    views = list(views)
    dictionary = build_dictionary() if fmt == "parquet" else None
    exported_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    written = {}
    for index, view in enumerate(views, start=1):
        path = folder / f"{view.split('.')[-1]}.{fmt}"
        if fmt == "parquet":
            rows = export_view(engine, view, path, dictionary, exported_at)
        else:
            rows = export_csv(engine, view, path, convention)
        written[view] = path
        if progress:
            progress(index, len(views), view, path, rows)
    return written


def cmd_export(args) -> int:
    from etl.cli import _engine_and_settings

    engine, _ = _engine_and_settings()

    def progress(index: int, total: int, view: str, path: Path, rows: int) -> None:
        print(f"[{index}/{total}] {view}: {rows} rows", file=sys.stderr, flush=True)
        print(path)

    export_views(engine, Path(args.to), args.format, args.numbers, progress=progress)
    return 0


def register(sub) -> None:
    p = sub.add_parser("export", help="write the analyst views as Parquet (with labels) or CSV")
    p.add_argument("--to", required=True, metavar="DIR", help="folder to write one file per view into")
    p.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    p.add_argument("--numbers", choices=("vi", "en"), default="vi",
                   help="CSV only: vi = ';' between fields and ',' as decimal mark (Vietnamese Excel); "
                        "en = ',' and '.'. Parquet stores numbers as numbers.")
    p.set_defaults(func=cmd_export)
