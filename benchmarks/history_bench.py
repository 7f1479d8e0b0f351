"""History benchmark: does a nightly run's time grow with the length of history?

Not a test. Run from the repository root::

    .venv/bin/python benchmarks/history_bench.py [--dialect duckdb|postgresql|both]
        [--years-short 1] [--years-long 20] [--repeat 3] [--last-year 2024]
        [--pg-history replica|ingest] [--pg-statement-timeout 600] [--pg-rebuild-timeout 300]
        [--keep]

What is measured
----------------
For each dialect two scratch warehouses are built through the real ingest path
(``etl.pipeline.ingest_file``, one call per file, ``recorded_at`` increasing; for
PostgreSQL see "How the PostgreSQL history is built" below), one with
``--years-short`` years of monthly history and one with ``--years-long`` years, both
ending December of ``--last-year`` (2024). Then the same nightly work is run on both and
timed with ``time.perf_counter`` around ``ingest_file``:

(a) **new month**: the month after the history ends (2025-01, then 2025-02, ... one per
    repeat), every province x every indicator, status ước tính;
(b) **late revision, one year back**: one province (Bình Dương, 74) re-sends every
    indicator of one month of the last history year (2024-01, 2024-02, ... one per
    repeat) with changed values (counts and zero figures re-sent unchanged), status chính
    thức;
(c) **late revision of the oldest year** (long history only, reported separately): the same
    as (b) for a month of the first history year (2005-01, ...).

Every repeat sends new values (different months for (a), changed values for (b), (c)), so
each run really writes versions and recomputes rollups; the median of ``--repeat`` runs is
reported. For every run the table also gives how many rollup rows the batch wrote
(``computed_by_batch_key`` = the batch) and closed (``superseded_by_batch_key``) in
``dw.fct_monthly_ytd`` / ``dw.fct_annual_rollup`` / ``dw.fct_plan_gap``: the scope of the
recomputation, which must be the same whatever the history. As a contrast,
``etl.warehouse.rebuild_rollups`` (every key) is timed once per warehouse: it should grow
with history (and write 0 rows, since the incremental refreshes left nothing to repair).

The ingest time is split into ``prepare`` (read, parse Vietnamese numbers, normalise, Great
Expectations validation: ``etl.submission.prepare_submission``, timed by wrapping the name
``etl.pipeline.prepare_submission``; the code itself is unchanged) and ``load`` (the rest:
checksum lookup, the one transaction that writes versions, runs the revision and statistical
checks and refreshes rollups, the archive copy). The load is broken down by step (the
functions ``etl.pipeline`` calls: ``bulk_insert``, ``large_revisions``,
``run_statistical_checks``, ``refresh_rollups``, wrapped the same way) and by SQL statement
(SQLAlchemy cursor events; PostgreSQL's COPY into staging does not go through those events
and is counted in "(not SQL-hooked)"), for the short and the long history side by side.
The ratio long/short of ``load`` is the number to look at: near 1.0 means the nightly work
does not grow with history. (The statistical checks read up to ``history_years`` of each
touched series by design, so they do a little more on the long history until it is that
long; that part is bounded, not proportional to history.)

The data
--------
Realistic monthly figures: every province x every indicator of kind flow or stock in
``etl/reference/indicators.csv`` (the index indicators IIP and IIP_MONTH are left out), in
its canonical unit, every month; per-province levels, trends, seasonality and noise drawn
deterministically (no wall-clock or global random state), written as ``;``-separated CSV the
Vietnamese way (``1.234,5``, ``# number_format: vi``). Each history year is three files,
ingested in this order with increasing ``recorded_at``: the year's plan targets (growth %
for retail, exports and industrial output, a level for fairs; recorded 5 January), the
year's figures (January-September chính thức, October-December ước tính; recorded 20
December), and the official October-December figures with revised values (recorded 3
January of the next year). So every figure has a version, a quarter of them two, and the
plan gap is populated. The 2025 plan is loaded before the nightly runs.

**Which provinces, and why 20 years really are 20 years.** The 63-province map of
``etl/reference/regions.csv`` starts on 2008-08-01 (Hà Tây merged into Hà Nội), so with
history ending 2024 the reference files allow at most 16 years and 5 months. Backdating the
63 units would claim a map that never existed; instead this benchmark points
:mod:`etl.reference` at a scratch copy of the reference files (the repository's files are
not touched) that adds the map in force before: from 2004-01-01 (when Điện Biên, Đắk Nông
and Hậu Giang were created) to 2008-07-31 there were 64 units, the same codes plus Hà Tây
(28) and Hà Nội within its old boundaries (01, a separate unit row). The 62 other units'
rows start on 2004-01-01 in the copy. (Vĩnh Phúc and Hòa Bình also lost a few communes to Hà
Nội on 2008-08-01; the copy ignores that.) Each month's file lists the units in force that
month: 64 until 2008-07, 63 from 2008-08. The 20-year history is 2005-01..2024-12, a
1-year history 2024-01..2024-12, and the nightly work (2025) is identical on both. Both
warehouses of a dialect load the same scratch reference and the same files for the years
they share.

Where the warehouses live
------------------------
DuckDB files in a temporary folder; PostgreSQL scratch databases
``statwh_hist_<pid>_<short|long>`` (dropped at the end unless ``--keep``). After the history
is loaded, PostgreSQL gets ``ANALYZE`` (as autovacuum would) and DuckDB a ``CHECKPOINT``.

**How the PostgreSQL history is built.** By default (``--pg-history replica``) the DuckDB
warehouses are built through ``ingest_file`` as above and every ``dw`` table is then copied
row for row into the PostgreSQL warehouse (same DDL, same keys, sequences set), so both
dialects start the nightly runs from the same state, every row of which came through the
real path. ``--pg-history ingest`` runs ``ingest_file`` on PostgreSQL itself; with the
refresh SQL of this version that is impractical for 20 years: ``refresh_rollups`` compares
rows with ``IS NOT DISTINCT FROM`` and a float tolerance, which PostgreSQL can only evaluate
as a nested-loop anti-join (current rows of the whole fact x the batch's computed rows), so a
year's file costs minutes and the whole history hours. The nightly runs and the rebuild
always go through the real code on each dialect. A PostgreSQL statement that runs past
``--pg-statement-timeout`` (``--pg-rebuild-timeout`` for the rebuild) is cancelled and
reported as ``timeout``.

Progress goes to stderr, the report to stdout.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from benchmarks.sql_timing import time_each_statement  # noqa: E402

_START = time.perf_counter()
MAP_2004 = dt.date(2004, 1, 1)  # the 64-unit map (Điện Biên, Đắk Nông, Hậu Giang created)
MAP_2008 = dt.date(2008, 8, 1)  # the 63-unit map (Hà Tây merged into Hà Nội)
REVISING_REGION = "74"  # Bình Dương
FACTS = ("dw.fct_monthly_ytd", "dw.fct_annual_rollup", "dw.fct_plan_gap")


def progress(message: str) -> None:
    print(f"[{time.perf_counter() - _START:7.1f}s] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- reference copy


def scratch_reference(folder: Path) -> Path:
    """A copy of etl/reference with the 2004-01-01..2008-07-31 map added (see the docstring)."""
    from etl import reference as ref_module

    target = folder / "reference"
    shutil.copytree(ref_module.REFERENCE_DIR, target)
    path = target / "regions.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames, list(reader)
    out = []
    for row in rows:
        if row["valid_from"] == MAP_2008.isoformat() and row["region_code"] != "01":
            row = {**row, "valid_from": MAP_2004.isoformat()}  # unchanged by the 2008 merger
        out.append(row)
    if any(r["region_code"] == "28" for r in rows):
        raise SystemExit("regions.csv already has code 28; the pre-2008 map of this benchmark needs revisiting")
    before = (MAP_2008 - dt.timedelta(days=1)).isoformat()
    out += [
        {"region_code": "01", "name_vi": "Hà Nội", "name_en": "Hanoi", "unit_type": "municipality",
         "valid_from": MAP_2004.isoformat(), "valid_to": before},
        {"region_code": "28", "name_vi": "Hà Tây", "name_en": "Ha Tay", "unit_type": "province",
         "valid_from": MAP_2004.isoformat(), "valid_to": before},
    ]
    out.sort(key=lambda r: (r["valid_from"], r["region_code"]))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(out)
    return target


def units_in_force(reference, day: dt.date) -> list[str]:
    r = reference.regions
    ok = (r["valid_from"] <= day) & r["valid_to"].map(lambda d: d is None or day <= d)
    return sorted(r.loc[ok, "region_code"])


# --------------------------------------------------------------------------- figures

# Monthly level in 2005 of a mid-sized province (canonical unit), yearly trend, decimals.
_PROFILE = {
    "IND_OUTPUT": (2_600.0, 0.09, 1), "RETAIL": (1_500.0, 0.10, 1), "EXPORT": (95.0, 0.12, 1),
    "IMPORT": (85.0, 0.11, 1), "ELEC_SOLD": (110.0, 0.09, 1), "BOTT_REVENUE": (25.0, 0.07, 1),
    "FAIRS": (1.0, 0.0, 0), "HH_ELECTRIFIED_PCT": (88.0, 0.0, 2), "WIND_MW": (0.0, 0.0, 1),
    "TRADE_BALANCE": (0.0, 0.0, 1),
}
_SEASONAL = np.array([1.06, 0.86, 1.00, 0.98, 1.00, 1.00, 1.01, 1.02, 1.00, 1.01, 1.02, 1.06])


def _seed(*key: object) -> int:
    return zlib.crc32("|".join(map(str, key)).encode())


def _region_scale(region: str) -> float:
    return float(np.random.default_rng(_seed("scale", region)).lognormal(0.0, 0.6))


def base_year(region: str, code: str, kind: str, year: int) -> tuple[np.ndarray, int]:
    """The 12 monthly values of one region x indicator x year (canonical unit), and decimals."""
    rng = np.random.default_rng(_seed(region, code, year))
    noise = rng.normal(0.0, 1.0, 12)
    scale = _region_scale(region)
    level, trend, decimals = _PROFILE.get(code, (100.0, 0.05, 1) if kind == "flow" else (50.0, 0.0, 1))
    elapsed = (year - 2005) + np.arange(12) / 12
    if code == "TRADE_BALANCE":
        export, _ = base_year(region, "EXPORT", "flow", year)
        import_, _ = base_year(region, "IMPORT", "flow", year)
        values = export - import_
    elif code == "FAIRS":
        values = rng.poisson(0.8 + 0.4 * min(scale, 2.0), 12).astype(float)
    elif code == "HH_ELECTRIFIED_PCT":
        values = np.minimum(99.99, 88.0 + 0.6 * elapsed + 0.2 * noise)
    elif code == "WIND_MW":
        built = np.floor(np.maximum(0.0, elapsed - 14.0) * 3) * 10 * scale  # farms from 2019
        values = built * (scale > 0.9)
    elif kind == "flow":
        values = level * scale * (1 + trend) ** elapsed * _SEASONAL * (1 + 0.04 * noise)
    else:
        values = level * scale * (1 + trend) ** elapsed * (1 + 0.01 * noise)
    return np.round(values, decimals), decimals


def revised(value: float, decimals: int, code: str, step: int) -> float:
    """A revised value: 0.2% x ``step`` up (0.1% x ``step`` down for a percentage near 100),
    within the revision policy (expectations/revision_policy.json) for ``step`` up to 9. Counts and
    zeros are re-sent unchanged (a fair held or a wind farm not yet built is not revised
    by a fraction), so those rows add no version."""
    if decimals == 0 or value == 0:
        return value
    sign = -0.5 if code == "HH_ELECTRIFIED_PCT" else 1.0
    new = round(value * (1 + sign * 0.002 * step), decimals)
    if new == round(value, decimals):
        new = round(value + (1 if sign > 0 else -1) * step * 10.0 ** -decimals, decimals)
    return new


def vi(value: float, decimals: int) -> str:
    from etl.sample_data import vi_number

    return vi_number(Decimal(f"{value:.{decimals}f}"))


@dataclass
class Spec:
    """What to put in one monthly file."""

    months: list[tuple[int, int]]
    status: object  # str, or a function (year, month) -> str
    regions: list[str] | None = None  # None: every unit in force that month
    revision_step: int = 0  # 0: the base values; k: revised(base, k)


def write_monthly(path: Path, spec: Spec, reference, indicators: list[tuple[str, str, str]]) -> int:
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("# number_format: vi\n")
        writer = csv.writer(handle, delimiter=";", lineterminator="\n")
        writer.writerow(["region_code", "indicator_code", "period", "value", "unit", "status",
                         "department_code", "note"])
        cache: dict[tuple, tuple[np.ndarray, int]] = {}
        kinds = {code: kind for code, kind, _ in indicators}
        for year, month in spec.months:
            regions = spec.regions or units_in_force(reference, dt.date(year, month, 1))
            status = spec.status(year, month) if callable(spec.status) else spec.status
            for region in regions:
                figures: dict[str, tuple[float, int]] = {}
                for code in (*kinds, "EXPORT", "IMPORT"):
                    key = (region, code, year)
                    if key not in cache:
                        cache[key] = base_year(region, code, kinds.get(code, "flow"), year)
                    values, decimals = cache[key]
                    value = float(values[month - 1])
                    if spec.revision_step:
                        value = revised(value, decimals, code, spec.revision_step)
                    figures[code] = (value, decimals)
                if spec.revision_step and "TRADE_BALANCE" in kinds:  # the identity holds in revisions too
                    figures["TRADE_BALANCE"] = (round(figures["EXPORT"][0] - figures["IMPORT"][0], 1), 1)
                for code, _, unit in indicators:
                    value, decimals = figures[code]
                    writer.writerow([region, code, f"{year}-{month:02d}", vi(value, decimals), unit, status,
                                     f"SCT-{region}", ""])
                    rows += 1
    return rows


_PLAN = [("RETAIL", "growth_pct", "%"), ("EXPORT", "growth_pct", "%"), ("IND_OUTPUT", "growth_pct", "%"),
         ("FAIRS", "level", None)]


def write_plan(path: Path, year: int, reference) -> int:
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("# number_format: vi\n")
        writer = csv.writer(handle, delimiter=";", lineterminator="\n")
        writer.writerow(["region_code", "indicator_code", "year", "target_kind", "target_value", "unit"])
        for region in units_in_force(reference, dt.date(year, 1, 1)):
            rng = np.random.default_rng(_seed("plan", region, year))
            for code, kind, unit in _PLAN:
                if code not in reference.indicators.index:
                    continue
                if kind == "growth_pct":
                    value, decimals = round(float(rng.uniform(6.0, 16.0)), 1), 1
                else:
                    value, decimals = float(rng.integers(8, 16)), 0
                unit = unit or reference.indicators.at[code, "canonical_unit"]
                writer.writerow([region, code, year, kind, vi(value, decimals), unit])
                rows += 1
    return rows


# --------------------------------------------------------------------------- timing hooks


@dataclass
class Recorder:
    active: bool = False
    sql: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    steps: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    prepare: float = 0.0

    def reset(self) -> None:
        self.sql = defaultdict(float)
        self.steps = defaultdict(float)
        self.prepare = 0.0


REC = Recorder()

_LABELS = (
    ("SELECT batch_key, status, archived_path", "checksum lookup"),
    ("SELECT nextval", "next batch key"),
    ("INSERT INTO staging.stg_monthly_figure", "staging insert (DuckDB Arrow)"),
    ("INSERT INTO staging.stg_plan_target", "staging insert (DuckDB Arrow)"),
    ("SELECT COUNT(*) FROM staging.stg_monthly_figure", "_COUNT_MONTHLY_MATCHED"),
    ("INSERT INTO dw.fct_monthly_figure_version", "_INSERT_MONTHLY_VERSIONS"),
    ("INSERT INTO dw.fct_plan_target_version", "_INSERT_PLAN_VERSIONS"),
    ("INSERT INTO staging.stg_touched_key", "_TOUCHED_BY_*"),
    ("SELECT COUNT(*) FROM dw.fct_", "count new versions"),
    ("WITH versions_of_the_figures", "_REVISED_BY_BATCH (large_revisions)"),
    ("SELECT column_name, data_type FROM information_schema", "refresh: column types"),
    ("UPDATE dw.fct_monthly_ytd", "refresh fct_monthly_ytd: UPDATE (close)"),
    ("INSERT INTO dw.fct_monthly_ytd", "refresh fct_monthly_ytd: INSERT"),
    ("UPDATE dw.fct_annual_rollup", "refresh fct_annual_rollup: UPDATE (close)"),
    ("INSERT INTO dw.fct_annual_rollup", "refresh fct_annual_rollup: INSERT"),
    ("UPDATE dw.fct_plan_gap", "refresh fct_plan_gap: UPDATE (close)"),
    ("INSERT INTO dw.fct_plan_gap", "refresh fct_plan_gap: INSERT"),
    ("DELETE FROM staging", "empty staging"),
    ("SELECT r.region_code, i.indicator_code, f.month_key, f.batch_key", "etl.quality._HISTORY (series history)"),
    ("SELECT MIN(month_key) FROM dw.fct_monthly_figure_version", "etl.quality: first month of the batch"),
    ("INSERT INTO dw.audit_load_batch", "audit row"),
)


def _label(statement: str) -> str:
    s = " ".join(statement.split())
    for prefix, label in _LABELS:
        if s.startswith(prefix):
            return label
    return "other SQL: " + s[:50]


def hook(engine: sa.Engine) -> None:
    def record(statement: str, seconds: float) -> None:
        if REC.active:
            REC.sql[_label(statement)] += seconds

    time_each_statement(engine, record)


_STEPS = ("bulk_insert", "large_revisions", "run_statistical_checks", "refresh_rollups")


def instrument() -> None:
    """Time prepare_submission and the load's Python-level steps inside ingest_file, by
    wrapping the names etl.pipeline calls them by (the code itself is unchanged)."""
    import etl.pipeline as pipeline

    def wrap(name: str, add) -> None:
        original = getattr(pipeline, name, None)
        if original is None:  # a step the pipeline does not have (any more)
            return

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                add(name, time.perf_counter() - start)

        setattr(pipeline, name, timed)

    def add_prepare(name: str, seconds: float) -> None:
        REC.prepare += seconds

    def add_step(name: str, seconds: float) -> None:
        if REC.active:
            REC.steps[name] += seconds

    wrap("prepare_submission", add_prepare)
    for step in _STEPS:
        wrap(step, add_step)


# --------------------------------------------------------------------------- one warehouse


@dataclass
class Run:
    seconds: float  # inf: cut off by the PostgreSQL statement timeout
    prepare: float
    sql: dict[str, float]
    steps: dict[str, float]
    written: dict[str, int]
    closed: dict[str, int]
    rows_in_file: int
    new_versions: int

    @property
    def load(self) -> float:
        return self.seconds - self.prepare

    @property
    def timed_out(self) -> bool:
        return self.seconds == float("inf")


@dataclass
class Warehouse:
    dialect: str
    years: int
    engine: sa.Engine
    url: str
    settings: object
    clock: dt.datetime = dt.datetime(2000, 1, 1)
    versions: int = 0
    built_seconds: float = 0.0
    built_how: str = "ingest_file"
    runs: dict[str, list[Run]] = field(default_factory=lambda: defaultdict(list))
    rebuild: float | None = None
    rebuild_written: dict[str, int] = field(default_factory=dict)

    def tick(self, at: dt.datetime) -> dt.datetime:
        """recorded_at never goes back: at, or one second after the last one."""
        self.clock = max(at, self.clock + dt.timedelta(seconds=1))
        return self.clock


def _timed_out(exc: BaseException) -> bool:
    return type(getattr(exc, "orig", exc)).__name__ == "QueryCanceled"


def ingest(wh: Warehouse, path: Path, at: dt.datetime, label: str | None = None) -> Run:
    from etl.pipeline import ingest_file

    REC.reset()
    REC.active = True
    start = time.perf_counter()
    try:
        result = ingest_file(path, wh.engine, wh.settings, recorded_at=wh.tick(at), run_id="history_bench")
    except sa.exc.OperationalError as exc:
        if not _timed_out(exc):
            raise
        REC.active = False
        if not label:
            raise SystemExit(f"{wh.dialect} {wh.years}y: {path.name} hit the statement timeout while loading "
                             "history (see --pg-history in the docstring)") from exc
        run = Run(float("inf"), REC.prepare, dict(REC.sql), dict(REC.steps), {}, {}, 0, 0)
        if label:
            wh.runs[label].append(run)
        progress(f"  {wh.dialect} {wh.years}y: {path.name}: statement timeout after "
                 f"{time.perf_counter() - start:.0f} s (rolled back)")
        return run
    seconds = time.perf_counter() - start
    REC.active = False
    if result.status != "loaded":
        raise SystemExit(f"{path.name} was {result.status}: {result.problems[:5]}")
    warnings = [p for p in result.problems if p.get("severity") == "warning"]
    written, closed = {}, {}
    with wh.engine.connect() as conn:
        for fact in FACTS:
            written[fact] = conn.execute(sa.text(f"SELECT COUNT(*) FROM {fact} WHERE computed_by_batch_key = :b"),
                                         {"b": result.batch_key}).scalar_one()
            closed[fact] = conn.execute(sa.text(f"SELECT COUNT(*) FROM {fact} WHERE superseded_by_batch_key = :b"),
                                        {"b": result.batch_key}).scalar_one()
    run = Run(seconds, REC.prepare, dict(REC.sql), dict(REC.steps), written, closed, result.rows_in_file,
              result.rows_new_version)
    if label:
        wh.runs[label].append(run)
    note = f", {len(warnings)} revision warnings" if warnings else ""
    progress(f"  {wh.dialect} {wh.years}y: {path.name}: {result.rows_in_file:,} rows, "
             f"{result.rows_new_version:,} new versions, {seconds:.2f} s (prepare {REC.prepare:.2f} s){note}")
    return run


def load_history(wh: Warehouse, files: dict[int, list[tuple[Path, dt.datetime]]], first: int, last: int) -> None:
    for year in range(first, last + 1):
        for path, at in files[year]:
            ingest(wh, path, at)
    for path, at in files[last + 1]:  # next year's plan
        ingest(wh, path, at)


def replicate(source: Warehouse, target: Warehouse) -> None:
    """Copy every dw table of a DuckDB warehouse (built through ingest_file) into a PostgreSQL
    one with the same schema, and set the sequences: the same state, row for row."""
    from etl.warehouse import bulk_insert, column_types

    with source.engine.connect() as src, target.engine.begin() as dst:
        tables = [r[0] for r in src.exec_driver_sql(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'dw' "
            "AND table_type = 'BASE TABLE' ORDER BY table_name").fetchall() if r[0] != "meta_schema_version"]
        raw = src.connection.driver_connection
        for table in tables:
            columns = list(column_types(dst, f"dw.{table}"))
            result = raw.execute(f"SELECT {', '.join(columns)} FROM dw.{table}")
            data = result.to_arrow_table() if hasattr(result, "to_arrow_table") else result.fetch_arrow_table()
            dst.exec_driver_sql(f"DELETE FROM dw.{table}")
            bulk_insert(dst, f"dw.{table}", data)
        for sequence, table, column in (("dw.seq_batch_key", "dw.audit_load_batch", "batch_key"),
                                        ("dw.seq_region_key", "dw.dim_region", "region_key"),
                                        ("dw.seq_indicator_key", "dw.dim_indicator", "indicator_key")):
            dst.exec_driver_sql(f"SELECT setval('{sequence}', (SELECT COALESCE(MAX({column}), 1) FROM {table}))")
    target.clock = source.clock


def settle(wh: Warehouse) -> None:
    """Statistics and checkpoint after the history load (what autovacuum / DuckDB do anyway)."""
    with wh.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE" if wh.dialect == "postgresql" else "CHECKPOINT")
        conn.commit()
        wh.versions = conn.exec_driver_sql("SELECT COUNT(*) FROM dw.fct_monthly_figure_version").scalar_one()


def time_rebuild(wh: Warehouse, engine: sa.Engine | None = None) -> None:
    from etl.warehouse import rebuild_rollups

    REC.reset()
    REC.active = True
    start = time.perf_counter()
    try:
        written = rebuild_rollups(engine or wh.engine)
    except sa.exc.OperationalError as exc:
        if not _timed_out(exc):
            raise
        wh.rebuild, written = float("inf"), {}
        progress(f"  {wh.dialect} {wh.years}y: rebuild_rollups hit the statement timeout after "
                 f"{time.perf_counter() - start:.0f} s")
    else:
        wh.rebuild = time.perf_counter() - start
        progress(f"  {wh.dialect} {wh.years}y: rebuild_rollups {wh.rebuild:.2f} s, rows written {written}")
    REC.active = False
    wh.rebuild_written = written


# --------------------------------------------------------------------------- report


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _fmt_s(x: float) -> str:
    return "—" if x != x else "timeout" if x == float("inf") else f"{x:.3f}"


def _ratio(a: float, b: float) -> str:
    if not b or a != a or b != b or float("inf") in (a, b):
        return "—"
    return f"{a / b:.2f}"


def _scope(runs: list[Run]) -> str:
    runs = [r for r in runs if not r.timed_out]
    if not runs:
        return "—"

    def med(d: str, fact: str) -> int:
        return int(_median([getattr(r, d)[fact] for r in runs]))

    return " / ".join(f"{med('written', f)}+{med('closed', f)}" for f in FACTS)


def report(dialect: str, short: Warehouse, long: Warehouse, first_long: int) -> list[str]:
    out = [""]
    head = (f"{'run':<44} {'history':>8} {'figure versions':>15} {'ingest s':>9} {'prepare s':>9} "
            f"{'load s':>8}  {'rollup rows written+closed (ytd / annual / gap)':<}")
    out.append(head)
    out.append("-" * len(head))
    labels = [("a", "(a) new month, every province"), ("b", "(b) revision 1 year back, one province"),
              ("c", f"(c) revision of {first_long}, one province")]
    verdicts = []
    for key, title in labels:
        for wh in (short, long):
            runs = wh.runs.get(key)
            if not runs:
                continue
            out.append(f"{title:<44} {wh.years:>6} y {wh.versions:>15,} "
                       f"{_fmt_s(_median([r.seconds for r in runs])):>9} "
                       f"{_fmt_s(_median([r.prepare for r in runs])):>9} {_fmt_s(_median([r.load for r in runs])):>8}  "
                       f"{_scope(runs)}")
        if short.runs.get(key) and long.runs.get(key):
            s_in, l_in = _median([r.seconds for r in short.runs[key]]), _median([r.seconds for r in long.runs[key]])
            s_ld, l_ld = _median([r.load for r in short.runs[key]]), _median([r.load for r in long.runs[key]])
            line = (f"{'   ratio ' + str(long.years) + 'y / ' + str(short.years) + 'y':<44} {'':>8} "
                    f"{_ratio(long.versions, short.versions):>15} {_ratio(l_in, s_in):>9} {'':>9} "
                    f"{_ratio(l_ld, s_ld):>8}")
            out.append(line)
            s_rest = _median([r.load - r.steps.get("run_statistical_checks", 0.0) for r in short.runs[key]])
            l_rest = _median([r.load - r.steps.get("run_statistical_checks", 0.0) for r in long.runs[key]])
            out.append(f"{'   ratio of load without statistical checks':<44} {'':>8} {'':>15} {'':>9} {'':>9} "
                       f"{_ratio(l_rest, s_rest):>8}")
            verdicts.append((title, l_in / s_in, l_ld / s_ld))
    if long.runs.get("c") and long.runs.get("b"):
        c_ld, b_ld = _median([r.load for r in long.runs["c"]]), _median([r.load for r in long.runs["b"]])
        out.append(f"{'   ratio (c) / (b) on ' + str(long.years) + 'y (load)':<44} {'':>8} {'':>15} {'':>9} {'':>9} "
                   f"{_ratio(c_ld, b_ld):>8}")
    out.append(f"{'rebuild_rollups (contrast: every key)':<44} {short.years:>6} y {short.versions:>15,} "
               f"{_fmt_s(short.rebuild or float('nan')):>9}")
    out.append(f"{'':<44} {long.years:>6} y {long.versions:>15,} {_fmt_s(long.rebuild or float('nan')):>9}")
    out.append(f"{'   ratio':<44} {'':>8} {'':>15} {_ratio(long.rebuild or 0, short.rebuild or 0):>9}")
    out.append(f"   rebuild rows written (should be 0: incremental refreshes left nothing to repair): "
               f"{short.years}y {sum(short.rebuild_written.values())}, "
               f"{long.years}y {sum(long.rebuild_written.values())}")

    # per statement, summed over the three nightly kinds a and b (medians per kind)
    for key, title in labels[:2]:
        if not (short.runs.get(key) and long.runs.get(key)):
            continue
        out.append("")
        out.append(f"{title}: the load by step (etl.pipeline functions, inclusive), median seconds")
        out.append(f"  {'step':<48} {str(short.years) + 'y':>9} {str(long.years) + 'y':>9} {'ratio':>7}")
        for name in (*_STEPS, "load (all)"):
            pick = (lambda r: r.load) if name == "load (all)" else (lambda r, n=name: r.steps.get(n, 0.0))
            s = _median([pick(r) for r in short.runs[key]])
            lg = _median([pick(r) for r in long.runs[key]])
            out.append(f"  {name:<48} {s:>9.4f} {lg:>9.4f} {_ratio(lg, s):>7}")
        out.append(f"{title}: SQL statements of the load, median seconds")
        names = sorted({n for wh in (short, long) for r in wh.runs[key] for n in r.sql},
                       key=lambda n: -_median([r.sql.get(n, 0.0) for r in long.runs[key]]))
        out.append(f"  {'statement':<48} {str(short.years) + 'y':>9} {str(long.years) + 'y':>9} {'ratio':>7}")
        for name in names:
            s = _median([r.sql.get(name, 0.0) for r in short.runs[key]])
            lg = _median([r.sql.get(name, 0.0) for r in long.runs[key]])
            if max(s, lg) < 0.0005:
                continue
            out.append(f"  {name:<48} {s:>9.4f} {lg:>9.4f} {_ratio(lg, s):>7}")
        s_rest = _median([r.load - sum(r.sql.values()) for r in short.runs[key]])
        l_rest = _median([r.load - sum(r.sql.values()) for r in long.runs[key]])
        out.append(f"  {'(not SQL-hooked: COPY, Python, file copy)':<48} {s_rest:>9.4f} {l_rest:>9.4f} "
                   f"{_ratio(l_rest, s_rest):>7}")
    out.append("")
    from etl.quality import history_window_years

    window = history_window_years()
    for title, r_in, r_ld in verdicts:
        judged = "close to 1" if r_ld <= 1.25 else "GROWS with history"
        if r_ld > 1.25 and short.years <= window:
            judged += (f" (the statistical checks read up to {window} years of each series by design; "
                       f"beyond that compare --years-short {window + 1})")
        out.append(f"{dialect}: {title}: long/short ingest {r_in:.2f}, load {r_ld:.2f} -> {judged}")
    return out


# --------------------------------------------------------------------------- main


def build_files(folder: Path, reference, indicators, first: int,
                last: int) -> dict[int, list[tuple[Path, dt.datetime]]]:
    """History files per year (and next year's plan), with the recorded_at of each."""
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[int, list[tuple[Path, dt.datetime]]] = {}
    for year in range(first, last + 1):
        plan = folder / f"plan_{year}.csv"
        write_plan(plan, year, reference)
        figures = folder / f"monthly_{year}.csv"
        write_monthly(figures, Spec([(year, m) for m in range(1, 13)],
                                    lambda y, m: "chính thức" if m <= 9 else "ước tính"), reference, indicators)
        official = folder / f"monthly_{year}_q4_official.csv"
        write_monthly(official, Spec([(year, m) for m in (10, 11, 12)], "chính thức", revision_step=1),
                      reference, indicators)
        files[year] = [(plan, dt.datetime(year, 1, 5, 8)), (figures, dt.datetime(year, 12, 20, 8)),
                       (official, dt.datetime(year + 1, 1, 3, 8))]
    plan = folder / f"plan_{last + 1}.csv"
    write_plan(plan, last + 1, reference)
    files[last + 1] = [(plan, dt.datetime(last + 1, 1, 5, 8))]
    return files


def nightly(wh: Warehouse, folder: Path, reference, indicators, last: int, first: int, repeat: int,
            with_oldest: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(repeat):
        night = dt.datetime(last + 1, 2, 1, 2) + dt.timedelta(days=30 * k)
        new_month = folder / f"nightly_{k}_new_{last + 1}-{k + 1:02d}.csv"
        if not new_month.exists():
            write_monthly(new_month, Spec([(last + 1, k + 1)], "ước tính"), reference, indicators)
        ingest(wh, new_month, night, "a")
        # (b) a revision one year back, and (c) on the long history a revision of its first year
        for year, minutes, kind in [(last, 5, "b")] + ([(first, 10, "c")] if with_oldest else []):
            revision = folder / f"nightly_{k}_revision_{year}-{k + 1:02d}.csv"
            if not revision.exists():
                write_monthly(revision, Spec([(year, k + 1)], "chính thức", [REVISING_REGION], revision_step=k + 2),
                              reference, indicators)
            ingest(wh, revision, night + dt.timedelta(minutes=minutes), kind)


class Scratch:
    """The scratch warehouses: DuckDB files, PostgreSQL databases (dropped at the end)."""

    def __init__(self, args, folder: Path, settings) -> None:
        self.args, self.folder, self.settings = args, folder, settings
        self.admin: sa.Engine | None = None
        self.created: list[str] = []
        self.engines: list[sa.Engine] = []

    def url(self, dialect: str, name: str, statement_timeout: int = 0) -> str:
        if dialect == "duckdb":
            return f"duckdb:///{self.folder / 'duckdb' / f'{name}.duckdb'}"
        admin_url = sa.engine.make_url(self.args.pg_admin_url)
        db = f"statwh_hist_{os.getpid()}_{name}"
        url = admin_url.set(database=db)
        if statement_timeout:
            url = url.update_query_dict({"options": f"-c statement_timeout={statement_timeout * 1000}"})
        return url.render_as_string(hide_password=False)

    def warehouse(self, dialect: str, name: str, years: int) -> Warehouse:
        from etl.warehouse import make_engine, prepare_warehouse

        if dialect == "postgresql":
            admin_url = sa.engine.make_url(self.args.pg_admin_url)
            self.admin = self.admin or sa.create_engine(admin_url, isolation_level="AUTOCOMMIT",
                                                        poolclass=sa.pool.NullPool)
            db = f"statwh_hist_{os.getpid()}_{name}"
            with self.admin.connect() as conn:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
                conn.exec_driver_sql(f"CREATE DATABASE {db}")
            self.created.append(db)
        url = self.url(dialect, name, self.args.pg_statement_timeout if dialect == "postgresql" else 0)
        engine = make_engine(url)
        self.engines.append(engine)
        prepare_warehouse(engine)
        hook(engine)
        return Warehouse(dialect, years, engine, url, self.settings)

    def close(self) -> None:
        for engine in self.engines:
            engine.dispose()
        if self.admin is not None:
            with self.admin.connect() as conn:
                for db in self.created:
                    if self.args.keep:
                        progress(f"kept PostgreSQL database {db}")
                    else:
                        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
            self.admin.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dialect", choices=("duckdb", "postgresql", "both"), default="both")
    parser.add_argument("--years-short", type=int, default=1)
    parser.add_argument("--years-long", type=int, default=20)
    parser.add_argument("--last-year", type=int, default=2024, help="last year of history (default 2024)")
    parser.add_argument("--repeat", type=int, default=3, help="nightly runs of each kind; the median is reported")
    parser.add_argument("--pg-history", choices=("replica", "ingest"), default="replica",
                        help="PostgreSQL history: a row-for-row copy of the DuckDB warehouse built through "
                             "ingest_file (default), or ingest_file on PostgreSQL itself (slow: see the docstring)")
    parser.add_argument("--pg-statement-timeout", type=int, default=600,
                        help="PostgreSQL statement_timeout in seconds (0 = none); a run cut off is reported as such")
    parser.add_argument("--pg-rebuild-timeout", type=int, default=300,
                        help="PostgreSQL statement_timeout for the rebuild_rollups contrast, seconds (0 = none)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder and PostgreSQL databases")
    parser.add_argument("--pg-admin-url", default=os.environ.get(
        "STATWH_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args(argv)
    last = args.last_year
    first_long = last - args.years_long + 1
    if not 1 <= args.years_short < args.years_long:
        parser.error("need 1 <= --years-short < --years-long")
    if dt.date(first_long, 1, 1) < MAP_2004:
        parser.error(f"history from {first_long} needs a region map before 2004-01-01, which this benchmark lacks")
    if not 1 <= args.repeat <= 6:
        parser.error("--repeat 1..6 (the new months of the next year run up to June; the 63 units end 2025-06-30)")
    if dt.date(last + 1, args.repeat, 1) > dt.date.today():
        parser.error("the nightly months would be in the future")
    dialects = ("duckdb", "postgresql") if args.dialect == "both" else (args.dialect,)

    folder = Path(tempfile.mkdtemp(prefix="statwh-history-"))
    scratch = None
    try:
        for name in ("STATWH_WAREHOUSE_URL", "STATWH_LANDING_DIR", "STATWH_ARCHIVE_DIR", "STATWH_QUARANTINE_DIR"):
            os.environ.pop(name, None)
        os.environ["STATWH_HOME"] = str(folder / "home")
        from etl import reference as ref_module
        from etl.config import load_settings

        ref_module.REFERENCE_DIR = scratch_reference(folder)
        ref_module.load_reference.cache_clear()
        reference = ref_module.load_reference()
        indicators = [(code, row["kind"], row["canonical_unit"]) for code, row in reference.indicators.iterrows()
                      if row["kind"] in ("flow", "stock")]
        settings = load_settings()
        settings.ensure_folders()
        instrument()
        scratch = Scratch(args, folder, settings)
        progress(f"scratch {folder}; indicators {[c for c, _, _ in indicators]}")
        progress(f"writing history files {first_long}..{last} (+ plan {last + 1})")
        files = build_files(folder / "history", reference, indicators, first_long, last)
        sizes = {"short": args.years_short, "long": args.years_long}

        # 1. history, through ingest_file (PostgreSQL: or a copy of the DuckDB warehouses)
        built: dict[tuple[str, str], Warehouse] = {}
        order = [d for d in ("duckdb", "postgresql")
                 if d in dialects or (d == "duckdb" and args.pg_history == "replica")]
        for dialect in order:
            for name, years in sizes.items():
                wh = scratch.warehouse(dialect, name, years)
                first = last - years + 1
                start = time.perf_counter()
                if dialect == "postgresql" and args.pg_history == "replica":
                    progress(f"postgresql {years}y: copying the DuckDB warehouse ({first}-01..{last}-12)")
                    replicate(built[("duckdb", name)], wh)
                    wh.built_how = "copy of the DuckDB warehouse built through ingest_file"
                else:
                    progress(f"{dialect} {years}y: ingesting {first}-01..{last}-12 into {wh.url}")
                    load_history(wh, files, first, last)
                settle(wh)
                wh.built_seconds = time.perf_counter() - start
                progress(f"{dialect} {years}y: history ready in {wh.built_seconds:.1f} s, "
                         f"{wh.versions:,} figure versions")
                built[(dialect, name)] = wh

        # 2. the nightly runs, then the rebuild contrast
        lines = [
            f"history_bench: nightly ingest time vs length of history; {len(indicators)} flow/stock indicators, "
            f"every province in force each month (64 before 2008-08, 63 after), monthly, ending {last}-12; "
            f"median of {args.repeat} runs",
            "  prepare = read + parse + normalise + GX validation; load = ingest - prepare (the warehouse "
            "transaction); rollup rows: written+closed by the batch",
        ]
        for dialect in dialects:
            for name, wh in ((n, built[(dialect, n)]) for n in sizes):
                progress(f"{dialect} {wh.years}y: nightly runs x {args.repeat}")
                nightly(wh, folder / "nightly", reference, indicators, last, last - wh.years + 1, args.repeat,
                        with_oldest=(name == "long"))
            for name in sizes:
                wh = built[(dialect, name)]
                if dialect == "postgresql":
                    from etl.warehouse import make_engine

                    limited = make_engine(scratch.url(dialect, name, args.pg_rebuild_timeout))
                    scratch.engines.append(limited)
                    time_rebuild(wh, limited)
                else:
                    time_rebuild(wh)
            short, long = built[(dialect, "short")], built[(dialect, "long")]
            lines.append(f"\n{dialect}: history built by {long.built_how} "
                         f"({short.years}y in {short.built_seconds:.0f} s, "
                         f"{long.years}y in {long.built_seconds:.0f} s)")
            lines += report(dialect, short, long, first_long)
        print("\n".join(lines))
    finally:
        if scratch is not None:
            scratch.close()
        if args.keep:
            progress(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
