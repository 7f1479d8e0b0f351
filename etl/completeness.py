"""Completeness and timeliness of departments' monthly reports (DHIS2-style reporting rates).

Who must report what is reference data: ``etl/reference/reporting_obligations.csv``
(department, region, indicator, first and last period, deadline day of the following
month). :func:`assess_reporting` stores each obligation-month's status in
``dw.fct_reporting_status`` as of an instant; :func:`reporting_alerts` turns missing
reports into error alerts and late ones into warnings, one per department and month.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from etl.alerts import Alert
from etl.reference import REFERENCE_DIR
from etl.warehouse import arrow_table, bulk_insert

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


def assess_reporting(engine: Engine, as_of: dt.datetime, months_back: int = 13) -> int:
    """Reassess the obligations of the ``months_back`` months before ``as_of`` (UTC, naive),
    in one transaction; returns the number of obligation-months stored."""
    from_key, to_key = _month_key(as_of, months_back), _month_key(as_of, 0)
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM staging.stg_reporting_obligation")
        bulk_insert(conn, "staging.stg_reporting_obligation", arrow_table(load_obligations(), _OBLIGATION_SCHEMA))
        conn.execute(sa.text("DELETE FROM dw.fct_reporting_status WHERE month_key BETWEEN :f AND :t"),
                     {"f": from_key, "t": to_key})
        stored = conn.execute(sa.text(_ASSESS), {"from_key": from_key, "to_key": to_key, "as_of": as_of}).rowcount
        conn.exec_driver_sql("DELETE FROM staging.stg_reporting_obligation")
    return stored


def reporting_alerts(engine: Engine, as_of: dt.datetime, months_back: int = 13) -> tuple[list[Alert], list[str]]:
    """Alerts for missing (error) and late (warning) reports per department and month, and
    the fingerprints of department-months that no longer have missing reports."""
    from_key, to_key = _month_key(as_of, months_back), _month_key(as_of, 0)
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


def completeness_summary(engine: Engine, month_key: int | None = None) -> pd.DataFrame:
    sql = ("SELECT department_code, month_key, expected, received, on_time, late, missing, not_yet_due, "
           "completeness_pct, timeliness_pct FROM analytics.v_reporting_completeness")
    params = {}
    if month_key is not None:
        sql += " WHERE month_key = :m"
        params["m"] = month_key
    with engine.connect() as conn:
        result = conn.execute(sa.text(sql + " ORDER BY month_key, department_code"), params)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
