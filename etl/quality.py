"""Statistical checks of new figures against the warehouse's history (``expectations/
statistical_checks.json``): robust outliers, probable unit slips, and identities.

They run inside the batch's transaction after the new versions are written, so they see
the history and the batch together, and a ``critical`` finding can still undo the batch.
Every finding is a :class:`~etl.submission.Problem` stored with the batch.

Outliers use log ratios (multiplicative changes) and the median and median absolute
deviation of the series' own past changes, so skewed, growing or seasonal series do not
raise false alarms: month-on-year compares with the same month a year earlier, and the
month-on-month check compares with the same calendar month's past month-on-month changes.
Identities allow for the rounding of the figures as written: each term may be off by half
a unit of its last written decimal.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from etl import vnnum
from etl.config import load_settings
from etl.submission import CheckResult, PreparedSubmission, Problem
from etl.warehouse import bulk_read

SEVERITY = {"warning": "warning", "critical": "error", "info": "info"}
#: the suite name the checks' outcomes are recorded under (dw.audit_check_result)
SUITE = "statistical_checks"
_COMMON = {"rule", "type", "severity", "message"}
_OUTLIER = {"threshold_robust_z", "min_history", "history_years", "min_scale"}
#: per check type: (parameters it needs, parameters it may have besides)
CHECK_PARAMETERS: dict[str, tuple[set[str], set[str]]] = {
    "outlier_yoy": (_COMMON | _OUTLIER, {"exclude_indicators"}),
    "outlier_mom": (_COMMON | _OUTLIER, {"exclude_indicators"}),
    "unit_slip": (_COMMON | {"min_history", "history_months", "low_ratio", "high_ratio"}, {"exclude_indicators"}),
    "difference": (_COMMON | {"result", "minuend", "subtrahend"}, set()),
    "ratio": (_COMMON | {"result", "numerator", "denominator"}, {"scale"}),
}
CHECK_TYPES = set(CHECK_PARAMETERS)
#: parameters that name indicators of the catalogue
_INDICATOR_PARAMETERS = ("result", "minuend", "subtrahend", "numerator", "denominator")


class QualityRejection(Exception):
    """A critical statistical check failed: the batch must not be loaded."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} critical data-quality problems")
        self.problems = problems


def load_checks(path: Path | None = None) -> list[dict]:
    path = path or load_settings().expectations_dir / "statistical_checks.json"
    definition = json.loads(path.read_text(encoding="utf-8"))
    checks = definition["checks"]
    for check in checks:
        if check.get("type") not in CHECK_TYPES:
            raise ValueError(f"{path.name}: {check.get('rule')}: unknown type {check.get('type')!r}")
        if check.get("severity") not in SEVERITY:
            raise ValueError(f"{path.name}: {check.get('rule')}: severity must be one of {sorted(SEVERITY)}")
        if not check.get("rule") or not check.get("message"):
            raise ValueError(f"{path.name}: every check needs a rule and a message")
        _check_parameters(check, path.name)
    return checks


def _check_parameters(check: dict, source: str) -> None:
    """A misspelt parameter or indicator code would otherwise switch part of a check off
    without a word (``exclude_indicator`` ignored, ``FAIRSS`` excluding nothing)."""
    from etl.reference import load_reference

    needed, optional = CHECK_PARAMETERS[check["type"]]
    where = f"{source}: {check['rule']}"
    if missing := needed - set(check):
        raise ValueError(f"{where}: missing {sorted(missing)}")
    if unknown := set(check) - needed - optional:
        raise ValueError(f"{where}: unknown parameter(s) {sorted(unknown)}; a {check['type']} check takes "
                         f"{sorted(needed | optional)}")
    codes = list(check.get("exclude_indicators", [])) + [check[k] for k in _INDICATOR_PARAMETERS if k in check]
    if unknown_codes := sorted(set(codes) - set(load_reference().indicators.index)):
        raise ValueError(f"{where}: unknown indicator code(s) {unknown_codes}")


def history_window_years(checks: list[dict] | None = None) -> int:
    """Years of each touched series' history the checks read (at least 2: last year's month)."""
    checks = load_checks() if checks is None else checks
    return max([c.get("history_years", 1) for c in checks] + [2])


def robust_z(value: float, history: np.ndarray, min_scale: float) -> float:
    """How many robust standard deviations ``value`` lies from the median of ``history``."""
    median = float(np.median(history))
    mad = float(np.median(np.abs(history - median)))
    scale = max(1.4826 * mad, min_scale)
    return (value - median) / scale


def written_half_unit(value: float) -> float:
    """Half a unit of the last decimal of a number as it was written (0.47 -> 0.005)."""
    exponent = Decimal(repr(float(value))).normalize().as_tuple().exponent
    return 0.5 * 10.0 ** min(int(exponent), 0) if isinstance(exponent, int) else 0.0


# --------------------------------------------------------------------------- history

_HISTORY = """
WITH batch_series AS MATERIALIZED (  -- the batch's series, first: each is then one index range of the version key
    SELECT DISTINCT region_key, indicator_key FROM dw.fct_monthly_figure_version WHERE batch_key = :batch_key
),
series AS MATERIALIZED (
    SELECT region_key, indicator_key, BOOL_OR(is_term) AS is_term
    FROM (SELECT region_key, indicator_key, FALSE AS is_term FROM batch_series
          UNION ALL
          -- the terms of an identity in the batch's regions that sent one: a trade balance sent
          -- alone is checked against the exports and imports already in the warehouse.
          -- :identity_terms is the identities' indicator codes as one ',EXPORT,IMPORT,TRADE_BALANCE,'
          -- string: a list parameter is bound differently by each driver, a string alike.
          SELECT b.region_key, term.indicator_key, TRUE
          FROM batch_series AS b
          JOIN dw.dim_indicator AS sent ON sent.indicator_key = b.indicator_key
          CROSS JOIN dw.dim_indicator AS term
          WHERE :identity_terms LIKE '%,' || sent.indicator_code || ',%'
            AND :identity_terms LIKE '%,' || term.indicator_code || ',%') AS s
    GROUP BY region_key, indicator_key
),
earlier AS (  -- whether any of these series has a version from an earlier batch in the months read
    SELECT EXISTS (SELECT 1 FROM series AS s
                   JOIN dw.fct_monthly_figure_version AS f
                     ON f.region_key = s.region_key AND f.indicator_key = s.indicator_key
                    AND f.month_key BETWEEN :since AND :until AND f.batch_key < :batch_key) AS found
)
SELECT f.region_key, f.indicator_key, f.month_key, f.batch_key, f.value, f.value_reported, f.unit_reported,
       f.source_row
FROM series AS s
JOIN dw.fct_monthly_figure_version AS f
  ON f.region_key = s.region_key AND f.indicator_key = s.indicator_key
 AND f.month_key BETWEEN :since AND :until
-- Without an earlier version the outliers and unit slips have no past to compare with and find
-- nothing, so only the identities' series are read (a quarter of a 1,000,000-figure first load).
WHERE s.is_term OR (SELECT found FROM earlier)
"""
# The codes are looked up separately (see _history): joined in the SQL above, the dimensions
# lead PostgreSQL, which cannot estimate a new batch's series, to a plan 4-5x slower.

_HISTORY_COLUMNS = pa.schema([("region_key", pa.int64()), ("indicator_key", pa.int64()), ("month_key", pa.int64()),
                              ("batch_key", pa.int64()), ("value", pa.float64()), ("value_reported", pa.float64()),
                              ("unit_reported", pa.string()), ("source_row", pa.int64())])


def _history(conn: Connection, batch_key: int, since: int, until: int, identity_terms: set[str]) -> pd.DataFrame:
    """Every version of the batch's series in months ``since``..``until``, and of the series that
    make an identity with one of them (``identity_terms``) in the same regions. When none of
    them has a version from an earlier batch in those months, only the identities' series: the
    other checks compare with earlier figures, and there are none."""
    params = {"batch_key": batch_key, "since": since, "until": until,
              "identity_terms": "," + ",".join(sorted(identity_terms)) + ","}
    frame = bulk_read(conn, _HISTORY, params, _HISTORY_COLUMNS)
    regions = dict(conn.execute(sa.text("SELECT region_key, region_code FROM dw.dim_region")).fetchall())
    indicators = dict(conn.execute(sa.text("SELECT indicator_key, indicator_code FROM dw.dim_indicator")).fetchall())
    # Series keys as categoricals: every frame the checks derive shares the categories, so
    # their merges and groupings compare small integer codes instead of strings.
    frame.insert(0, "region", frame.pop("region_key").map(regions).astype("category"))
    frame.insert(1, "indicator", frame.pop("indicator_key").map(indicators).astype("category"))
    return frame.sort_values(["region", "indicator", "month_key", "batch_key"], ignore_index=True)


def _latest(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.groupby(["region", "indicator", "month_key"], as_index=False).last()


def _month_index(month_key: pd.Series) -> pd.Series:
    return (month_key // 100) * 12 + month_key % 100 - 1


# --------------------------------------------------------------------------- checks


def _with_changes(frame: pd.DataFrame, prior: pd.DataFrame, lag: int) -> pd.DataFrame:
    """``frame`` with the log change of each value against ``prior``'s value ``lag`` months earlier."""
    frame = frame.assign(t=_month_index(frame.month_key))
    earlier = prior.assign(t=_month_index(prior.month_key) + lag)[["region", "indicator", "t", "value"]]
    joined = frame.merge(earlier.rename(columns={"value": "prior"}), on=["region", "indicator", "t"], how="inner")
    joined = joined[(joined.value > 0) & (joined.prior > 0)]
    return joined.assign(change=np.log(joined.value / joined.prior))


def _outliers(check: dict, before: pd.DataFrame, new: pd.DataFrame, current: pd.DataFrame) -> list[tuple]:
    """(new row, robust z, change) for new figures whose change is an outlier (vectorised)."""
    lag = 12 if check["type"] == "outlier_yoy" else 1
    excluded = check.get("exclude_indicators", [])
    new = new[~new.indicator.isin(excluded)]
    if new.empty:
        return []
    past = _with_changes(before[~before.indicator.isin(excluded)], before, lag)
    # the months being (re)sent do not vouch for themselves
    sent = new.assign(t=_month_index(new.month_key))[["region", "indicator", "t"]].drop_duplicates()
    past = past.merge(sent.assign(sent=True), on=["region", "indicator", "t"], how="left")
    past = past[past["sent"].isna()]
    fresh = _with_changes(new, current, lag)
    series = ["region", "indicator"]
    # The centre: the series' median change — for month-on-month, of the same calendar month
    # (seasonality). The spread: pooled over all the series' changes around their centres,
    # so a calendar month with three past values does not get a spread from three points.
    centre_keys = series + (["calendar_month"] if check["type"] == "outlier_mom" else [])
    past = past.assign(calendar_month=past.t % 12)
    fresh = fresh.assign(calendar_month=fresh.t % 12)
    centres = past.groupby(centre_keys)["change"].agg(centre="median", count="count").reset_index()
    past = past.merge(centres[centre_keys + ["centre"]], on=centre_keys)
    spread = (past.assign(dev=(past.change - past.centre).abs()).groupby(series)["dev"]
              .agg(mad="median", pooled="count").reset_index())
    stats = centres.merge(spread, on=series)
    scored = fresh.merge(stats[stats["count"] >= check["min_history"]], on=centre_keys)
    scale = np.maximum(1.4826 * scored["mad"], check["min_scale"])
    scored = scored.assign(z=(scored.change - scored.centre) / scale)
    flagged = scored[scored.z.abs() > check["threshold_robust_z"]]
    return [(row, row.z, math.exp(row.change) - 1) for row in flagged.itertuples()]


def _unit_slips(check: dict, before: pd.DataFrame, new: pd.DataFrame) -> list[tuple]:
    """New figures about 1000x (or 1/1000) the median of the series' recent positive values."""
    new = new[~new.indicator.isin(check.get("exclude_indicators", [])) & (new.value > 0)]
    if new.empty:
        return []
    earliest = new.groupby(["region", "indicator"])["month_key"].min().rename("first_new").reset_index()
    past = before[before.value > 0].merge(earliest, on=["region", "indicator"])
    past = past[past.month_key < past.first_new].sort_values("month_key")
    recent = past.groupby(["region", "indicator"]).tail(check["history_months"])
    usual = recent.groupby(["region", "indicator"])["value"].agg(usual="median", count="count").reset_index()
    usual = usual[usual["count"] >= check["min_history"]]
    scored = new.merge(usual, on=["region", "indicator"])
    scored = scored.assign(ratio=scored.value / scored.usual)
    flagged = scored[(scored.ratio >= check["high_ratio"]) | (scored.ratio <= check["low_ratio"])]
    return [(row, row.ratio) for row in flagged.itertuples()]


def written_half_units(values: np.ndarray) -> np.ndarray:
    """:func:`written_half_unit` of every value at once: the fewest decimals (0 to 12) that
    give the value back; any value needing more (not written by a person) goes the scalar
    way, so both always agree.

    ``np.round(x, d)`` scales by ``10**d``: only below 2**50 after scaling is that exact enough
    to trust (34359738368.75391 × 10**5 lands on ...390.5 and rounds to the wrong integer, while
    × 10**6 is past float's fractions and "gives the value back" with one decimal too many);
    a larger value goes the scalar way."""
    values = np.asarray(values, dtype=float)
    half = np.full(values.shape, np.nan)
    finite = np.isfinite(values)
    with np.errstate(over="ignore", invalid="ignore"):  # huge values overflow when scaled for more decimals
        for decimals in range(13):
            exact_enough = np.abs(values) * 10.0 ** decimals < 2.0 ** 50
            settled = finite & np.isnan(half) & exact_enough & (np.round(values, decimals) == values)
            half[settled] = 0.5 * 10.0 ** -decimals
    rest = np.isnan(half)
    half[rest] = [written_half_unit(v) if math.isfinite(v) else 0.0 for v in values[rest]]
    return half


#: check types relating several indicators of one region-month (see _identity)
_IDENTITY_TYPES = ("difference", "ratio")


def _identity_terms(check: dict) -> list[str]:
    """The indicators of an identity check, its result first."""
    return [check["result"]] + ([check["minuend"], check["subtrahend"]] if check["type"] == "difference"
                                else [check["numerator"], check["denominator"]])


def _identity_figures(check: dict, new: pd.DataFrame) -> dict[tuple[str, int], tuple[int, str, float]]:
    """(region, month key) -> (source row, indicator, value reported) of the figure a broken identity is
    reported at: the batch's figure of the check's result (the trade balance the clerk wrote), else
    — the result came in an earlier batch and a part was re-sent — the batch's first part. Never
    another indicator's row of the same region-month, which says nothing about the identity."""
    terms = _identity_terms(check)
    figures = new[new.indicator.isin(terms)]
    figures = figures.assign(is_part=figures.indicator.astype(str) != check["result"])
    first = figures.sort_values(["is_part", "source_row"]).drop_duplicates(["region", "month_key"])
    return {(region, int(month_key)): (int(row), str(indicator), float(written)) for region, month_key, row, indicator,
            written in zip(first.region, first.month_key, first.source_row, first.indicator, first.value_reported)}


def _identity(check: dict, current: pd.DataFrame, new: pd.DataFrame) -> list[tuple]:
    """Region-months touched by the batch where result != combination of its parts.

    Set-based: one row per region-month with a column per term, so a 1,000,000-figure batch
    costs a few vectorised passes, not a Python loop over its region-months."""
    terms = _identity_terms(check)
    touched = new.loc[new.indicator.isin(terms), ["region", "month_key"]].drop_duplicates()
    parts = current[current.indicator.isin(terms)].drop_duplicates(["region", "month_key", "indicator"], keep="last")
    wide = parts.pivot(index=["region", "month_key"], columns="indicator", values=["value", "value_reported"])
    if wide.empty or not set(terms) <= set(wide["value"].columns):
        return []  # an identity needs every term reported
    wide = wide.loc[wide.index.intersection(pd.MultiIndex.from_frame(touched))]
    wide = wide[wide["value"][terms].notna().all(axis=1)]
    v = {t: wide[("value", t)].to_numpy(dtype=float) for t in terms}
    # rounding: half a unit of each term's last written decimal, in the canonical unit
    slack = {}
    for t in terms:
        reported = wide[("value_reported", t)].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            slack[t] = written_half_units(reported) * np.where(reported != 0, v[t] / reported, 1.0)
    if check["type"] == "difference":
        expected = v[check["minuend"]] - v[check["subtrahend"]]
        tolerance = slack[check["result"]] + slack[check["minuend"]] + slack[check["subtrahend"]]
        testable = np.ones(len(wide), dtype=bool)
    else:
        scale = float(check.get("scale", 100))
        d = v[check["denominator"]]
        testable = d != 0
        with np.errstate(divide="ignore", invalid="ignore"):
            expected = v[check["numerator"]] / d * scale
            tolerance = slack[check["result"]] + scale * (
                slack[check["numerator"]] / np.abs(d) + np.abs(v[check["numerator"]]) * slack[check["denominator"]] / d**2)
    broken = testable & (np.abs(v[check["result"]] - expected) > tolerance)
    return [(region, int(month_key), {t: float(v[t][i]) for t in terms}, float(expected[i]), float(tolerance[i]))
            for i, (region, month_key) in zip(np.flatnonzero(broken), wide.index[broken])]


def run_statistical_checks(conn: Connection, batch_key: int, prepared: PreparedSubmission,
                           checks: list[dict] | None = None) -> list[Problem]:
    """Findings for the figures this batch wrote. Raises :class:`QualityRejection` if a
    critical check fails (the caller's transaction must then roll back). Each check's
    outcome (passed: no finding) is added to ``prepared.check_results``."""
    checks = load_checks() if checks is None else checks
    if not checks:
        return []
    years = history_window_years(checks)
    first, last, new_figures = conn.execute(
        sa.text("SELECT MIN(month_key), MAX(month_key), COUNT(*) FROM dw.fct_monthly_figure_version "
                "WHERE batch_key = :b"), {"b": batch_key}).one()
    if first is None:  # nothing new or changed: every check passes on no figures
        prepared.check_results.extend(_check_results(checks, [], 0))
        return []
    # the checks compare new figures with earlier ones: months after the batch's last do not count
    identity_terms = {t for c in checks if c["type"] in _IDENTITY_TYPES for t in _identity_terms(c)}
    history = _history(conn, batch_key, int(first) - 100 * years, int(last), identity_terms)
    before = _latest(history[history.batch_key < batch_key])
    current = _latest(history)
    new = history[history.batch_key == batch_key]
    problems = []

    def add(check, row, indicator, value, message):
        """A finding about the figure of ``indicator`` at source ``row``: named by the sheet's own
        row and header, quoting the cell as the clerk wrote it (``value``: the figure, if the
        batch did not write it or its text is not known)."""
        written = prepared.written(row, indicator) if row is not None and indicator is not None else None
        row, column = prepared.place(row, "value", indicator)
        problems.append(Problem(prepared.path.name, prepared.sheet, row, column,
                                written or vnnum.number_in_full(value), check["rule"], message,
                                SEVERITY[check["severity"]]))

    for check in checks:
        if check["type"] in ("outlier_yoy", "outlier_mom"):
            for row, z, change in _outliers(check, before, new, current):
                add(check, int(row.source_row), row.indicator, row.value_reported,
                    f"{row.indicator} {row.month_key // 100}-{row.month_key % 100:02d}: {check['message']} "
                    f"({change:+.1%}, robust z {z:+.1f})")
        elif check["type"] == "unit_slip":
            for row, ratio in _unit_slips(check, before, new):
                add(check, int(row.source_row), row.indicator, row.value_reported,
                    f"{row.indicator} {row.month_key // 100}-{row.month_key % 100:02d}: {check['message']} "
                    f"({vnnum.number_in_full(row.value_reported)} {row.unit_reported}: x{ratio:,.0f} the usual level)"
                    if ratio > 1 else
                    f"{row.indicator} {row.month_key // 100}-{row.month_key % 100:02d}: {check['message']} "
                    f"({vnnum.number_in_full(row.value_reported)} {row.unit_reported}: 1/{1 / ratio:,.0f} of the "
                    "usual level)")
        else:
            broken = _identity(check, current, new)
            figures = _identity_figures(check, new) if broken else {}
            for region, month_key, values, expected, tolerance in broken:
                result = check["result"]
                row, indicator, figure = figures[(region, month_key)]  # the batch touched it: it sent a term
                add(check, row, indicator, figure,
                    f"{region} {month_key // 100}-{month_key % 100:02d}: {check['message']} "
                    f"(reported {values[result]:g}, parts give {expected:g}, tolerance {tolerance:g})")
    # the batch's figures, counted: without earlier versions, history holds only the identities' series
    prepared.check_results.extend(_check_results(checks, problems, int(new_figures)))
    critical = [p for p in problems if p.severity == "error"]
    if critical:
        raise QualityRejection(problems)
    return problems


def _check_results(checks: list[dict], problems: list[Problem], figures: int) -> list[CheckResult]:
    """One outcome per check: passed when it found nothing among the batch's new figures."""
    return [CheckResult(SUITE, check["rule"], SEVERITY[check["severity"]],
                        not any(p.rule == check["rule"] for p in problems), figures,
                        sum(p.rule == check["rule"] for p in problems))
            for check in checks]
