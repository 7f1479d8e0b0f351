"""What analysts ask of the warehouse, as functions: plan gap and annual rollups,
read from the ``analytics`` views and rendered as a table, CSV or JSON."""

from __future__ import annotations

import datetime as dt
import io
import json
import math
from collections.abc import Sequence
from decimal import Decimal

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from etl.reports import decimals_for
from etl.vnnum import number_in_full

PLAN_GAP_COLUMNS = (
    "region_code", "region_name_vi", "region_valid_from", "region_valid_to", "indicator_code", "indicator_name_vi",
    "indicator_name_en", "unit", "year", "target_kind", "target_value", "actual", "is_actual_complete", "actual_prev_year",
    "actual_growth_pct", "planned_level", "attainment_pct", "gap_pp", "gap_level",
)
ROLLUP_COLUMNS = (
    "region_code", "region_name_vi", "region_valid_from", "region_valid_to", "indicator_code", "indicator_name_vi",
    "indicator_name_en", "unit", "indicator_kind", "year", "year_rule", "months_reported", "months_from_predecessors",
    "is_complete", "annual_value", "annual_source",
    "partial_value", "reported_december_ytd", "implied_revision", "implied_revision_pct", "annual_value_prev_year",
    "growth_pct", "reported_growth_pct",
)


VIETNAM = dt.timezone(dt.timedelta(hours=7))


def as_of_instant(text: str) -> dt.datetime:
    """The UTC instant an ``--as-of`` value means.

    A date (``2022-02-15``) means the end of that day in Vietnam (UTC+7): what the warehouse
    knew when the day was over. A date-time is taken as given (UTC when it has no offset).
    Anything else (``2021-13-01``, ``31/12/2021``) is a ValueError that says how to write it.
    """
    text = (text or "").strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=VIETNAM)
            return end.astimezone(dt.UTC).replace(tzinfo=None)
        moment = dt.datetime.fromisoformat(text)
    except ValueError:  # Python's own message ("Invalid isoformat string") does not say what to write
        raise ValueError(f"{text!r}: write a date as YYYY-MM-DD, e.g. 2021-12-31 (the end of that day, "
                         "Vietnam time), or an ISO date-time, e.g. 2021-12-31T17:00+07:00") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def _select(engine: Engine, view: str, columns: Sequence[str], year: int, region: str | None,
            as_of: dt.datetime | None = None) -> pd.DataFrame:
    if as_of is None:
        sql = f"SELECT {', '.join(columns)} FROM {view} WHERE year = :year"
        params: dict[str, object] = {"year": year}
    else:  # the history view, restricted to the rows the warehouse held at that instant
        sql = (f"SELECT {', '.join(columns)} FROM {view}_history WHERE year = :year "
               "AND known_from <= :as_of AND (known_until IS NULL OR known_until > :as_of)")
        params = {"year": year, "as_of": as_of}
    if region:
        sql += " AND region_code = :region"
        params["region"] = region
    sql += " ORDER BY region_code, region_valid_from, indicator_code"
    with engine.connect() as conn:
        result = conn.execute(sa.text(sql), params)
        return _tell_units_apart(pd.DataFrame(result.fetchall(), columns=list(result.keys())))


def _tell_units_apart(frame: pd.DataFrame) -> pd.DataFrame:
    """Units that share a name in one answer (Hồ Chí Minh City before the 2025 merger and the
    city that absorbed Bình Dương and Bà Rịa–Vũng Tàu, both code 79) get the months they were in
    force after the name: ``Thành phố Hồ Chí Minh (08/2008–06/2025)``, ``… (từ 07/2025)``."""
    if frame.empty:
        return frame
    shared = (frame.groupby("region_name_vi")["region_valid_from"].transform("nunique") > 1).to_numpy()
    if not shared.any():
        return frame

    labelled = [f"{n} ({months_in_force(s, e)})" if is_shared else n for n, s, e, is_shared
                in zip(frame.region_name_vi, frame.region_valid_from, frame.region_valid_to, shared)]
    return frame.assign(region_name_vi=labelled)


def months_in_force(start, end) -> str:
    """``từ 07/2025`` for a unit still in force, ``08/2008–06/2025`` for one that was."""
    def month(day) -> str:
        return f"{day.month:02d}/{day.year}"

    return f"từ {month(start)}" if end is None or pd.isna(end) else f"{month(start)}–{month(end)}"


def plan_gap(engine: Engine, year: int, region: str | None = None, as_of: dt.datetime | None = None) -> pd.DataFrame:
    """One row per plan target in force for ``year`` (optionally one region), as known now
    or, with ``as_of`` (UTC), as the warehouse knew it then."""
    return _select(engine, "analytics.v_plan_gap", PLAN_GAP_COLUMNS, year, region, as_of)


def annual_rollup(engine: Engine, year: int, region: str | None = None,
                  as_of: dt.datetime | None = None) -> pd.DataFrame:
    """One row per region x indicator with figures in ``year``, now or as known at ``as_of``."""
    return _select(engine, "analytics.v_annual_rollup", ROLLUP_COLUMNS, year, region, as_of)


REVISION_COLUMNS = ("indicator_code", "department_code", "year", "figures_reported_again", "figures_changed",
                    "mean_abs_revision_pct", "bias_pct", "max_abs_revision_pct")


def revision_summary(engine: Engine, year: int | None = None) -> pd.DataFrame:
    """Revisions from first report to latest, per indicator x department x year."""
    sql = f"SELECT {', '.join(REVISION_COLUMNS)} FROM analytics.v_revision_summary"
    params: dict[str, object] = {}
    if year is not None:
        sql += " WHERE year = :year"
        params["year"] = year
    sql += " ORDER BY year, indicator_code, department_code"
    with engine.connect() as conn:
        result = conn.execute(sa.text(sql), params)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


# --------------------------------------------------------------------------- rendering


def format_number(value: object, decimals: int = 1, convention: str = "vi", sign: bool = False) -> str:
    """``231578.0`` → ``231.578`` (vi) or ``231,578`` (en); trailing zero decimals dropped."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "—"
    number = Decimal(str(round(float(value), decimals)))
    text = f"{abs(number):,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if convention == "vi":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    prefix = "−" if number < 0 else ("+" if sign and number > 0 else "")
    return prefix + text


#: Significant digits of numbers written out as text (CSV, JSON): more than any reported
#: figure has, far fewer than the 16-17 where the binary noise of sums shows.
SIGNIFICANT_DIGITS = 12


def without_float_noise(value: float) -> float:
    """``1730.8999999999999`` (a sum of monthly figures) → ``1730.9``: the float rounded to
    :data:`SIGNIFICANT_DIGITS`, so that what an analyst reads matches the published report."""
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


def plain_decimal_text(value: float, decimal_mark: str = ".") -> str:
    """A float as plain decimal text, without float noise, exponent or trailing zeros:
    ``24690.000000000004`` → ``24690``, ``1e-07`` → ``0.0000001``."""
    return number_in_full(without_float_noise(value)).replace(".", decimal_mark)


def _records(frame: pd.DataFrame) -> list[dict]:
    records = []
    for row in frame.to_dict(orient="records"):
        clean = {}
        for key, value in row.items():
            if hasattr(value, "item"):  # numpy scalars
                value = value.item()
            if isinstance(value, float):
                value = None if math.isnan(value) else without_float_noise(value)
            clean[key] = value
        records.append(clean)
    return records


def render(frame: pd.DataFrame, fmt: str, table_columns: Sequence[tuple[str, str, object]],
           convention: str = "vi") -> str:
    """Render as ``json`` (every column, numbers as numbers), ``csv`` (every column) or ``table``.
JSON and CSV write numbers with ``.`` decimals and without float noise (:func:`without_float_noise`).

    ``table_columns`` lists (header, column, formatter) for the table view.
    """
    if fmt == "json":
        return json.dumps(_records(frame), ensure_ascii=False, indent=2, default=str)
    if fmt == "csv":
        buffer = io.StringIO()
        floats = frame.select_dtypes("floating").columns
        text = {c: frame[c].map(plain_decimal_text, na_action="ignore") for c in floats}
        frame.assign(**text).to_csv(buffer, index=False, lineterminator="\n")
        return buffer.getvalue()
    headers = [h for h, _, _ in table_columns]
    body = [
        [fmt_fn(row[col], convention) if callable(fmt_fn) else _cell_text(row[col]) for _, col, fmt_fn in table_columns]
        for row in frame.to_dict(orient="records")
    ]
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)),
             "  ".join("-" * w for w in widths)]
    for r in body:
        lines.append("  ".join(c.rjust(w) if i >= 2 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))))
    if not body:
        lines.append("(no rows)")
    return "\n".join(lines)


def _cell_text(value: object) -> str:
    """A table cell: missing values (None, NaN, NA) as ``—``, like the numbers' formatter."""
    return "—" if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)) else str(value)


def _num(decimals: int, sign: bool = False):
    return lambda v, conv: format_number(v, decimals, conv, sign)


def _pct(decimals: int, sign: bool = False):
    return lambda v, conv: "—" if format_number(v, decimals, conv) == "—" else format_number(v, decimals, conv, sign) + "%"


COMPLETENESS_TABLE = (
    ("department", "department_code", None),
    ("month", "month_key", None),
    ("expected", "expected", None),
    ("not yet due", "not_yet_due", None),  # reports whose deadline is ahead: not counted as expected
    ("received", "received", None),
    ("on time", "on_time", None),
    ("late", "late", None),
    ("missing", "missing", None),
    ("completeness", "completeness_pct", _pct(1)),  # '—' when nothing was due yet (NaN), not '—%'
    ("timeliness", "timeliness_pct", _pct(1)),
)

PLAN_GAP_TABLE = (
    ("region", "region_name_vi", None),
    ("indicator", "indicator_code", None),
    ("unit", "unit", None),
    ("actual", "actual", None),
    ("growth", "actual_growth_pct", _pct(2, sign=True)),
    ("target", "target_label", None),
    ("planned level", "planned_level", None),
    ("attainment", "attainment_pct", _pct(1)),
    ("gap (pp)", "gap_pp", _num(2, sign=True)),
)

ROLLUP_TABLE = (
    ("region", "region_name_vi", None),
    ("indicator", "indicator_code", None),
    ("unit", "unit", None),
    ("months", "months_label", None),
    ("complete", "complete_label", None),
    ("annual", "annual_value", None),            # written by its unit's precision (render_rollup)
    ("source", "source_label", None),
    ("implied revision", "implied_revision_pct", _pct(2, sign=True)),
    ("previous year", "annual_value_prev_year", None),
    ("growth", "growth_pct", _pct(2, sign=True)),                      # computed from the annual values
    ("reported growth", "reported_growth_pct", _pct(2, sign=True)),    # as December's report states it
)


def _levels_by_unit(frame: pd.DataFrame, columns: Sequence[str], convention: str) -> pd.DataFrame:
    """``frame`` with the level ``columns`` written at their unit's precision, as the reports
    write them (:func:`etl.reports.decimals_for`): a share of 99,99 % stays 99,99, not 100."""
    return frame.assign(**{c: [format_number(v, decimals_for(u), convention) for v, u in zip(frame[c], frame["unit"])]
                           for c in columns})


def render_plan_gap(frame: pd.DataFrame, fmt: str, convention: str = "vi") -> str:
    if fmt == "table":
        frame = _levels_by_unit(frame, ("actual", "planned_level"), convention)
        frame["target_label"] = [
            (format_number(v, 2, convention, sign=True) + "%") if k == "growth_pct"
            else format_number(v, 1, convention)
            for k, v in zip(frame["target_kind"], frame["target_value"])
        ]
    return render(frame, fmt, PLAN_GAP_TABLE, convention)


def render_rollup(frame: pd.DataFrame, fmt: str, convention: str = "vi") -> str:
    if fmt == "table":
        frame = _levels_by_unit(frame, ("annual_value", "annual_value_prev_year"), convention)
        frame["complete_label"] = ["yes" if c else "NO" for c in frame["is_complete"]]
        # A monthly index (IIP_MONTH) is complete with no annual value: say why the cell is empty,
        # so it does not read as a year that is missing something.
        frame["source_label"] = ["no annual value (monthly index)" if rule == "none" else source
                                 for rule, source in zip(frame["year_rule"], frame["annual_source"])]
        # a merged unit's year over its territory says how many months its predecessors reported
        frame["months_label"] = [f"{int(n)} ({int(p)} before merger)" if p and p > 0 else f"{int(n)}"
                                 for n, p in zip(frame["months_reported"], frame["months_from_predecessors"].fillna(0))]
    return render(frame, fmt, ROLLUP_TABLE, convention)


def load_batches(engine: Engine, last: int = 20) -> pd.DataFrame:
    """The most recent batches (files processed), newest first."""
    with engine.connect() as conn:
        result = conn.execute(
            sa.text(
                "SELECT batch_key, file_name, submission_kind, reading_options, status, rows_in_file, rows_new_version, "
                "rows_unchanged, problem_count, pipeline_run_id, recorded_at FROM analytics.v_load_batch "
                "ORDER BY batch_key DESC LIMIT :last"
            ),
            {"last": last},
        )
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


BATCH_TABLE = (
    ("batch", "batch_key", None),
    ("file", "file_name", None),
    ("kind", "submission_kind", None),
    ("read as", "reading_options", None),
    ("status", "status", None),
    ("rows", "rows_in_file", None),
    ("new/changed", "rows_new_version", None),
    ("unchanged", "rows_unchanged", None),
    ("problems", "problem_count", None),
    ("run", "pipeline_run_id", None),
    ("recorded (UTC)", "recorded_at", None),
)


REVISION_TABLE = (
    ("indicator", "indicator_code", None),
    ("department", "department_code", None),
    ("year", "year", None),
    ("re-sent", "figures_reported_again", None),
    ("changed", "figures_changed", None),
    ("mean |rev|", "mean_abs_revision_pct", _pct(2)),
    ("bias", "bias_pct", _pct(2, sign=True)),
    ("max |rev|", "max_abs_revision_pct", _pct(2)),
)
