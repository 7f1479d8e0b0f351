"""A report's own year-to-date, same-period and percentage columns against the warehouse.

A file in the departments' report layout (:mod:`etl.report_layout`) carries more than
the month's figures: the department's year to date (lũy kế), last year's figures (cùng
kỳ), the previous month, and growth rates (so cùng kỳ, so tháng trước). A flow's year to
date and the growth rates vs the same period are stored with the month's figure (December's
year to date becomes the year's value; a reported growth stays beside the computed one,
never in its place); once the batch is loaded and the rollups are refreshed, inside the same
transaction, each is compared with what the warehouse computes
(``dw.fct_monthly_ytd``, and the current figures for the previous month), and a
disagreement beyond the rounding of the figures as written becomes a problem stored
with the batch (rules and severities: ``expectations/report_cross_checks.json``).

A year to date that differs from the stored months usually means earlier months were
revised inside the YTD without being re-sent (PRODUCT.md); the warning says by how much
(for December, ``dw.fct_annual_rollup.implied_revision`` keeps it).
Comparisons the warehouse cannot make (a year with months missing, no figure for last
year) are skipped.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from etl.config import load_settings
from etl.quality import SEVERITY, QualityRejection, written_half_unit
from etl.queries import format_number
from etl.reference import load_reference
from etl.report_layout import MEASURES, ReportedFigures
from etl.submission import PreparedSubmission, Problem

_YTD = """
SELECT r.region_code, i.indicator_code, y.month_key, y.value, y.ytd_value, y.value_prev_year,
       y.ytd_value_prev_year, y.growth_month_pct, y.growth_ytd_pct
FROM dw.fct_monthly_ytd AS y
JOIN dw.dim_region AS r ON r.region_key = y.region_key
JOIN dw.dim_indicator AS i ON i.indicator_key = y.indicator_key
WHERE y.known_until IS NULL
  AND r.region_code IN :regions AND i.indicator_code IN :indicators AND y.month_key IN :months
"""

_CURRENT = """
SELECT region_code, indicator_code, month_key, value, value_reported FROM (
    SELECT r.region_code, i.indicator_code, f.month_key, f.value, f.value_reported,
           ROW_NUMBER() OVER (PARTITION BY f.region_key, f.indicator_key, f.month_key
                              ORDER BY f.batch_key DESC) AS version_rank
    FROM dw.fct_monthly_figure_version AS f
    JOIN dw.dim_region AS r ON r.region_key = f.region_key
    JOIN dw.dim_indicator AS i ON i.indicator_key = f.indicator_key
    WHERE r.region_code IN :regions AND i.indicator_code IN :indicators
      AND f.month_key BETWEEN :first AND :last
) AS ranked
WHERE version_rank = 1
"""


def load_cross_checks(path: Path | None = None) -> dict[str, dict]:
    """measure -> check (rule, severity, message) from ``expectations/report_cross_checks.json``."""
    path = path or load_settings().expectations_dir / "report_cross_checks.json"
    checks = json.loads(path.read_text(encoding="utf-8"))["checks"]
    by_measure = {}
    for check in checks:
        if check.get("measure") not in MEASURES:
            raise ValueError(f"{path.name}: {check.get('rule')}: unknown measure {check.get('measure')!r}")
        if check.get("severity") not in SEVERITY:
            raise ValueError(f"{path.name}: {check.get('rule')}: severity must be one of {sorted(SEVERITY)}")
        if not check.get("rule") or not check.get("message"):
            raise ValueError(f"{path.name}: every check needs a rule and a message")
        by_measure[check["measure"]] = check
    return by_measure


def _fmt(value: float, convention: str, sign: bool = False) -> str:
    """A number of a message, written the way the file writes its own (``262.888,5`` in a
    Vietnamese file), so the report's figure and the warehouse's read alike side by side."""
    return format_number(value, 4, convention, sign)


def _query(conn: Connection, sql: str, params: dict, columns: list[str]) -> pd.DataFrame:
    statement = sa.text(sql).bindparams(*(sa.bindparam(k, expanding=True) for k, v in params.items()
                                          if isinstance(v, list)))
    return pd.DataFrame(conn.execute(statement, params).fetchall(), columns=columns)


def report_cross_checks(conn: Connection, batch_key: int, prepared: PreparedSubmission,
                        checks: dict[str, dict] | None = None) -> list[Problem]:
    """Problems for the report's own figures that disagree with the warehouse (none for a file
    that is not in the report layout). Raises :class:`~etl.quality.QualityRejection` if a
    check marked critical fails."""
    reported: ReportedFigures | None = getattr(prepared, "reported", None)
    if reported is None or reported.frame.empty or prepared.frame is None or prepared.kind != "monthly":
        return []
    checks = load_cross_checks() if checks is None else checks
    reference = load_reference()
    rows = reported.frame.merge(
        prepared.frame[["source_row", "indicator_code", "region_code", "month_key", "unit", "value",
                        "value_reported"]].rename(columns={"value": "figure", "value_reported": "figure_reported"}),
        on=["source_row", "indicator_code"])
    rows = rows[rows["month_key"].notna()]
    if rows.empty:
        return []
    months = sorted({int(m) for m in rows["month_key"]})
    params = {"regions": sorted(set(rows["region_code"])), "indicators": sorted(set(rows["indicator_code"]))}
    ytd = _query(conn, _YTD, {**params, "months": months},
                 ["region_code", "indicator_code", "month_key", "value", "ytd_value", "value_prev_year",
                  "ytd_value_prev_year", "growth_month_pct", "growth_ytd_pct"])
    current = _query(conn, _CURRENT, {**params, "first": (months[0] // 100 - 1) * 100 + 1, "last": months[-1]},
                     ["region_code", "indicator_code", "month_key", "value", "value_reported"])
    figures = {(r.region_code, r.indicator_code, int(r.month_key)): (float(r.value), r.value_reported)
               for r in current.itertuples(index=False)}
    computed = {(r.region_code, r.indicator_code, int(r.month_key)): r for r in ytd.itertuples(index=False)}

    def half(key) -> float:
        """Half a unit of the stored figure's last written decimal, in the canonical unit."""
        value, written = figures.get(key, (np.nan, None))
        if written is None or pd.isna(written) or not written:
            return 0.0
        return written_half_unit(float(written)) * abs(value / float(written))

    def ytd_half(region, code, month_key) -> float:
        """The rounding of the warehouse's year to date: a flow's adds up its months' (January to
        ``month_key``); a stock's or a cumulative index's year to date is the month's own figure,
        so its rounding is that month's alone (summed over the months, a stock's 99,95 % beside
        a stored 99,99 % passed as rounding)."""
        if reference.indicators.at[code, "year_rule"] != "sum":
            return half((region, code, month_key))
        first = month_key // 100 * 100 + 1
        return sum(half((region, code, m)) for m in range(first, month_key + 1))

    conv = prepared.number_convention or "vi"
    problems: list[Problem] = []
    for row in rows.itertuples(index=False):
        region, code, month_key = row.region_code, row.indicator_code, int(row.month_key)
        if code not in reference.indicators.index or row.unit not in reference.units:
            continue
        facts = computed.get((region, code, month_key))
        if facts is None:
            continue
        factor = reference.conversion_factor(row.unit, code)
        kind = reference.indicators.at[code, "kind"]
        year_rule = reference.indicators.at[code, "year_rule"]
        year_ago, month_ago = month_key - 100, (month_key - 1 if month_key % 100 > 1 else month_key - 89)
        prev_month = figures.get((region, code, month_ago), (np.nan, None))[0]
        value, h_value = float(facts.value), half((region, code, month_key))

        def growth_tolerance(cur, h_cur, base, h_base):
            if not (base and np.isfinite(base) and cur):
                return np.nan
            return 100 * abs(cur / base) * (h_cur / abs(cur) + h_base / abs(base))

        candidates = {
            "ytd": (facts.ytd_value, ytd_half(region, code, month_key)),
            "ytd_last_year": (facts.ytd_value_prev_year, ytd_half(region, code, year_ago)),
            "same_month_last_year": (facts.value_prev_year, half((region, code, year_ago))),
            "previous_month": (prev_month, half((region, code, month_ago))),
        }
        if kind == "index":
            candidates["pct_vs_same_month"] = (facts.growth_month_pct, h_value)
            if year_rule == "december_cumulative":
                candidates["pct_ytd_vs_same_period"] = (facts.growth_ytd_pct, h_value)
        else:
            candidates["pct_vs_same_month"] = (facts.growth_month_pct, growth_tolerance(
                value, h_value, facts.value_prev_year, half((region, code, year_ago))))
            candidates["pct_ytd_vs_same_period"] = (facts.growth_ytd_pct, growth_tolerance(
                facts.ytd_value, ytd_half(region, code, month_key),
                facts.ytd_value_prev_year, ytd_half(region, code, year_ago)))
            if prev_month and np.isfinite(prev_month):
                candidates["pct_vs_previous_month"] = (value / prev_month * 100 - 100, growth_tolerance(
                    value, h_value, prev_month, half((region, code, month_ago))))
        for measure, (expected, stored_slack) in candidates.items():
            check = checks.get(measure)
            text = getattr(row, f"{measure}_text")
            if check is None or not text or expected is None or pd.isna(expected) or pd.isna(stored_slack):
                continue
            said = float(getattr(row, measure))
            if not np.isfinite(said):
                continue
            is_pct = measure.startswith("pct_")
            said_canonical = said if is_pct else said * factor
            tolerance = float(getattr(row, f"{measure}_half")) * (1 if is_pct else factor) + stored_slack
            difference = said_canonical - float(expected)
            if abs(difference) <= tolerance * (1 + 1e-9) + 1e-9:
                continue
            period = f"{month_key // 100}-{month_key % 100:02d}"
            if is_pct:
                form = reported.pct_forms.get(measure, "growth")
                shown = (f"report {text} ({'index, base = 100' if form == 'index' else 'growth'}: "
                         f"{format_number(said, 2, conv, sign=True)}%), warehouse "
                         f"{format_number(float(expected), 2, conv, sign=True)}%, "
                         f"difference {format_number(difference, 2, conv, sign=True)} points")
            else:
                canonical = reference.indicators.at[code, "canonical_unit"]
                relative = (f", {format_number(difference / float(expected) * 100, 2, conv, sign=True)}%"
                            if float(expected) else "")
                converted = f" = {_fmt(said_canonical, conv)} {canonical}" if row.unit != canonical else ""
                shown = (f"report {text} {row.unit}{converted}, warehouse {_fmt(float(expected), conv)} {canonical}, "
                         f"difference {_fmt(difference, conv, sign=True)}{relative}")
            problems.append(Problem(
                prepared.path.name, prepared.sheet, int(row.source_row), reported.labels.get(measure, measure), text,
                check["rule"],
                f"{code} {period}: {check['message']} ({shown}; rounding allows ±{_fmt(tolerance, conv)})",
                SEVERITY[check["severity"]]))
    if any(p.severity == "error" for p in problems):
        raise QualityRejection(problems)
    return problems
