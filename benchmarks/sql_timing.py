"""Timing of every SQL statement an engine runs, for the benchmarks' breakdowns."""

from __future__ import annotations

import time
from collections.abc import Callable

import sqlalchemy as sa


def time_each_statement(engine: sa.Engine, record: Callable[[str, float], None]) -> None:
    """Call ``record(statement, seconds)`` after each statement ``engine`` executes
    (SQLAlchemy cursor events; a driver's COPY goes around them and is not seen)."""

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("bench_start", []).append(time.perf_counter())

    @sa.event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):
        record(statement, time.perf_counter() - conn.info["bench_start"].pop())
