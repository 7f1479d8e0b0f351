"""Completeness and timeliness of departments' monthly reports (DHIS2-style reporting rates).

Who must report what is reference data: ``etl/reference/reporting_obligations.csv``
(department, region, indicator, first and last period, deadline day of the following
month). :func:`assess_reporting` stores each obligation-month's status in
``dw.fct_reporting_status`` as of an instant; :func:`reporting_alerts` turns missing
reports into error alerts and late ones into warnings, one per department and month.
:func:`reporting_completeness` answers ``statwh completeness``: the rates of the months
asked, assessed as of the instant asked, whatever an earlier assessment stored.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from etl.alerts import Alert
from etl.reference import REFERENCE_DIR
from etl.warehouse import arrow_table, bulk_insert, utc_now

_OBLIGATION_SCHEMA = pa.schema(
    [("department_code", pa.string()), ("region_code", pa.string()), ("indicator_code", pa.string()),
     ("first_month_key", pa.int32()), ("last_month_key", pa.int32()), ("deadline_day", pa.int32())]
)

_ASSESS = """
INSERT INTO dw.fct_reporting_status (department_code, region_key, indicator_key, month_key, deadline_at,
                                     first_received_at, status, assessed_at)
WITH expected AS (
    SELECT o.department_code, r.region_key, i.indicator_key, m.month_key,
           -- the end of the deadline day in Vietnam (UTC+7) is 17:00 UTC that day
           CAST(m.month_end + o.deadline_day AS TIMESTAMP) + INTERVAL '17 hours' AS deadline_at
    FROM staging.stg_reporting_obligation AS o
    JOIN dw.dim_month AS m
      ON m.month_key BETWEEN o.first_month_key AND o.last_month_key
     AND m.month_key BETWEEN :from_key AND :to_key
    JOIN dw.dim_region AS r
      ON r.region_code = o.region_code AND r.valid_from <= m.month_start
     AND (r.valid_to IS NULL OR r.valid_to >= m.month_end)
    JOIN dw.dim_indicator AS i ON i.indicator_code = o.indicator_code
),
received AS (
    SELECT region_key, indicator_key, month_key, MIN(recorded_at) AS first_received_at
    FROM dw.fct_monthly_figure_version
    WHERE month_key BETWEEN :from_key AND :to_key AND recorded_at <= :as_of
    GROUP BY region_key, indicator_key, month_key
)
SELECT e.department_code, e.region_key, e.indicator_key, e.month_key, e.deadline_at, r.first_received_at,
       CASE
           WHEN r.first_received_at IS NOT NULL AND r.first_received_at <= e.deadline_at THEN 'on_time'
           WHEN r.first_received_at IS NOT NULL THEN 'late'
           WHEN e.deadline_at < :as_of THEN 'missing'
           ELSE 'not_yet_due'
       END,
       :as_of
FROM expected AS e
LEFT JOIN received AS r
  ON r.region_key = e.region_key AND r.indicator_key = e.indicator_key AND r.month_key = e.month_key
"""


def load_obligations(path: Path | None = None) -> pd.DataFrame:
    """``etl/reference/reporting_obligations.csv`` with month keys; a blank ``last_period``
    is an obligation still in force."""
    frame = pd.read_csv(path or REFERENCE_DIR / "reporting_obligations.csv", dtype=str, keep_default_na=False)
    frame["first_month_key"] = frame["first_period"].str.replace("-", "").astype(int)
    frame["last_month_key"] = frame["last_period"].replace("", "9999-12").str.replace("-", "").astype(int)
    frame["deadline_day"] = frame["deadline_day"].astype(int)
    return frame


def year_month(text: str) -> tuple[int, int]:
    """(year, month) of a month written ``YYYY-MM`` ('2021-12'), as the CLI's ``--month``
    options and the obligations take it; anything else (``2021-13``, ``12/2021``) is a
    ValueError that says how to write it."""
    m = re.fullmatch(r"(\d{4})-(\d{2})", (text or "").strip())
    if not m or not 1 <= int(m[2]) <= 12:
        raise ValueError(f"{text!r}: write the month as YYYY-MM, e.g. 2021-12")
    return int(m[1]), int(m[2])


def obligations_in_force(region_code: str, period: str, path: Path | None = None) -> pd.DataFrame:
    """The obligations of ``region_code`` for the month ``period`` ('2021-12')."""
    frame = load_obligations(path)
    key = int(period.replace("-", ""))
    return frame[(frame["region_code"] == region_code) & (frame["first_month_key"] <= key)
                 & (key <= frame["last_month_key"])]


def _month_key(moment: dt.datetime, months_back: int) -> int:
    index = moment.year * 12 + moment.month - 1 - months_back
    return (index // 12) * 100 + index % 12 + 1


def _recent_months(as_of: dt.datetime, months_back: int) -> tuple[int, int]:
    """(first, last) month keys: the ``months_back`` months before ``as_of``'s month, and it."""
    return _month_key(as_of, months_back), _month_key(as_of, 0)


def _assess(conn: Connection, months: tuple[int, int], as_of: dt.datetime) -> int:
    """Replace the statuses of the months from ``months[0]`` to ``months[1]`` with their
    assessment as of ``as_of`` (UTC, naive), in the caller's transaction; returns how many
    obligation-months were assessed."""
    from_key, to_key = months
    conn.exec_driver_sql("DELETE FROM staging.stg_reporting_obligation")
    bulk_insert(conn, "staging.stg_reporting_obligation", arrow_table(load_obligations(), _OBLIGATION_SCHEMA))
    conn.execute(sa.text("DELETE FROM dw.fct_reporting_status WHERE month_key BETWEEN :f AND :t"),
                 {"f": from_key, "t": to_key})
    assessed = conn.execute(sa.text(_ASSESS), {"from_key": from_key, "to_key": to_key, "as_of": as_of}).rowcount
    conn.exec_driver_sql("DELETE FROM staging.stg_reporting_obligation")
    return assessed


def assess_reporting(engine: Engine, as_of: dt.datetime, months_back: int = 13) -> int:
    """Reassess the obligations of the ``months_back`` months before ``as_of`` (UTC, naive),
    in one transaction; returns the number of obligation-months stored."""
    with engine.begin() as conn:
        return _assess(conn, _recent_months(as_of, months_back), as_of)


def reporting_completeness(engine: Engine, as_of: dt.datetime | None = None, month_key: int | None = None,
                           months_back: int = 13) -> pd.DataFrame:
    """The reporting rates of ``month_key`` (any month, however old), or of the ``months_back``
    months before ``as_of`` and its own, each assessed as of ``as_of`` (UTC, naive) before it
    is shown, so the answer does not depend on what an earlier call stored.

    Without ``as_of`` the assessment is as of now and is stored, as the daily DAG stores it.
    An assessment as of another instant answers the question and is rolled back: the stored
    statuses, which alerts and analysts read, stay the latest assessment made."""
    instant = as_of or utc_now()
    months = (month_key, month_key) if month_key is not None else _recent_months(instant, months_back)
    with engine.connect() as conn, conn.begin() as transaction:
        _assess(conn, months, instant)
        summary = _summary(conn, months)
        if as_of is not None:
            transaction.rollback()
    return summary


def reporting_alerts(engine: Engine, as_of: dt.datetime, months_back: int = 13) -> tuple[list[Alert], list[str]]:
    """Alerts for missing (error) and late (warning) reports per department and month, and
    the fingerprints of department-months that no longer have missing reports."""
    from_key, to_key = _recent_months(as_of, months_back)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT s.department_code, s.month_key, s.status, r.region_code, i.indicator_code, s.deadline_at, "
            "s.first_received_at FROM dw.fct_reporting_status AS s "
            "JOIN dw.dim_region AS r ON r.region_key = s.region_key "
            "JOIN dw.dim_indicator AS i ON i.indicator_key = s.indicator_key "
            "WHERE s.month_key BETWEEN :f AND :t ORDER BY 1, 2, 4, 5"), {"f": from_key, "t": to_key}).fetchall()
    frame = pd.DataFrame(rows, columns=["department", "month_key", "status", "region", "indicator", "deadline_at",
                                        "first_received_at"])
    alerts, cleared = [], []
    for (department, month_key), group in frame.groupby(["department", "month_key"], sort=True):
        period = f"{month_key // 100}-{month_key % 100:02d}"
        # the last second of the deadline day, in Vietnam time
        deadline = (group["deadline_at"].max() + pd.Timedelta(hours=7) - pd.Timedelta(seconds=1)).strftime("%Y-%m-%d")
        missing = group[group.status == "missing"]
        late = group[group.status == "late"]
        if len(missing):
            items = [f"{r.region}/{r.indicator}" for r in missing.itertuples()]
            alerts.append(Alert(
                "missing_report", "error", f"missing:{department}:{month_key}",
                f"[statwh][error] {department}: {len(items)} reports for {period} missing (deadline {deadline})",
                "\n".join([f"{department} has not sent these figures for {period}; the deadline was {deadline}:",
                           *[f"  - {i}" for i in items]]),
                {"department_code": department, "period": period, "deadline": deadline, "missing": items},
            ))
        else:
            cleared.append(f"missing:{department}:{month_key}")
        if len(late):
            items = [f"{r.region}/{r.indicator}" for r in late.itertuples()]
            alerts.append(Alert(
                "late_report", "warning", f"late:{department}:{month_key}",
                f"[statwh][warning] {department}: {len(items)} reports for {period} arrived late",
                "\n".join([f"{department} sent these figures for {period} after the deadline ({deadline}):",
                           *[f"  - {r.region}/{r.indicator}: first received {r.first_received_at:%Y-%m-%d %H:%M} UTC"
                             for r in late.itertuples()]]),
                {"department_code": department, "period": period, "deadline": deadline, "late": items},
            ))
    return alerts, cleared


def completeness_summary(engine: Engine, months: tuple[int, int] | None = None) -> pd.DataFrame:
    """The stored reporting rates per department and month, of the months from ``months[0]``
    to ``months[1]`` (default: every month stored), as last assessed."""
    with engine.connect() as conn:
        return _summary(conn, months)


def _summary(conn: Connection, months: tuple[int, int] | None) -> pd.DataFrame:
    sql = ("SELECT department_code, month_key, expected, received, on_time, late, missing, not_yet_due, "
           "completeness_pct, timeliness_pct FROM analytics.v_reporting_completeness")
    params = {}
    if months is not None:
        sql += " WHERE month_key BETWEEN :f AND :t"
        params = {"f": months[0], "t": months[1]}
    result = conn.execute(sa.text(sql + " ORDER BY month_key, department_code"), params)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
