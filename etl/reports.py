"""Readable reports of a year: plan attainment per region, with charts.

    statwh report --year 2021 [--region 74] --format html|xlsx|md [--out PATH] [--numbers vi|en]

* **HTML** — one self-contained page (inline CSS, charts as inline SVG drawn here in Python;
  no script, no font or library fetched from anywhere). Per region: the plan-gap table,
  plan vs actual per indicator, growth vs growth target, and the months of the year with
  the year to date (lũy kế) and the same months of the previous year. Labels are in
  Vietnamese with English in parentheses; numbers the Vietnamese way by default.
* Growth vs the previous year is shown twice wherever it is shown: computed from the annual
  values the warehouse holds (``growth_pct``, what the plan gap uses) and as the department
  reported it (``reported_growth_pct``, computed against last year's revised level; '—' or a
  blank cell when none was reported), marked (*) where the two differ by more than rounding.
* **XLSX** — the table layout departments file their annual reports in: one sheet per
  region, title rows, columns STT, Chỉ tiêu, Đơn vị, Thực hiện năm trước, Kế hoạch năm,
  Thực hiện năm, So cùng kỳ tính toán (%), So cùng kỳ theo báo cáo (%), So kế hoạch (%),
  Ghi chú (where the (*) mark goes, since a number cell cannot carry it). Cells hold numbers
  with Excel number formats (``#,##0.0``); Excel draws the separators from the reader's
  locale, so a Vietnamese Excel shows ``231.578,0`` and an English one ``231,578.0`` for the
  same cell, and the figures stay numbers a clerk can add up. (A format cannot force ``.``
  as the grouping mark without turning the number into text.) ``--numbers`` applies to the
  text in the sheet (notes) only.
* **Markdown** — the plan-gap table per region.

Everything is read from the ``analytics`` views, so the analyst role can run it.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas, SQLAlchemy and openpyxl load when a report is made, not with the CLI
    import pandas as pd
    from sqlalchemy.engine import Engine


def format_number(value: object, decimals: int = 1, convention: str = "vi", sign: bool = False) -> str:
    """:func:`etl.queries.format_number` (imported on first use)."""
    from etl.queries import format_number as fmt

    return fmt(value, decimals, convention, sign)

# --------------------------------------------------------------------------- data

MONTHLY_COLUMNS = (
    "region_code", "region_valid_from", "region_valid_to", "region_name_vi", "region_name_en", "indicator_code",
    "indicator_name_vi", "indicator_name_en", "indicator_kind", "unit", "month", "value", "status", "ytd_value",
    "is_ytd_complete", "value_prev_year", "ytd_value_prev_year", "growth_month_pct", "growth_ytd_pct",
)
ROLLUP_COLUMNS = (
    "region_code", "region_valid_from", "region_valid_to", "region_name_vi", "region_name_en", "indicator_code",
    "indicator_name_vi", "indicator_name_en", "indicator_kind", "unit", "year_rule", "months_reported", "months_from_predecessors",
    "is_complete", "annual_value", "partial_value", "annual_value_prev_year", "growth_pct", "reported_growth_pct",
)


@dataclass
class RegionData:
    code: str
    name_vi: str
    name_en: str
    unit_type: str            # 'province' | 'municipality'
    plan: pd.DataFrame        # analytics.v_plan_gap rows of the year
    rollup: pd.DataFrame      # analytics.v_annual_rollup rows of the year
    monthly: pd.DataFrame     # analytics.v_monthly_figure rows of the year
    # Set when the year has two units of this code (Hồ Chí Minh City until 06/2025 and the city
    # that absorbed Bình Dương and Bà Rịa–Vũng Tàu from 07/2025): 'từ 07/2025', '08/2008–06/2025'.
    in_force: str = ""
    valid_from: dt.date | None = None

    @property
    def anchor(self) -> str:
        """The region's id in a page: its code, or code and first month when the code is shared."""
        return f"{self.code}-{self.valid_from:%Y%m}" if self.in_force else self.code

    @property
    def heading(self) -> str:
        return f"{self.name_vi} ({self.in_force})" if self.in_force else self.name_vi

    def reported_growth(self) -> dict[str, object]:
        """indicator_code -> the year's growth as the department reported it
        (``analytics.v_annual_rollup.reported_growth_pct``: a flow's December year to date vs the
        same period last year, a stock's December vs December last year; NULL when no report stated one,
        and for indexes)."""
        if self.rollup.empty:
            return {}
        return dict(zip(self.rollup["indicator_code"], self.rollup["reported_growth_pct"]))


@dataclass
class ReportData:
    year: int
    regions: list[RegionData]
    generated_at: dt.datetime
    source: str               # warehouse URL without password


def _frame(engine: Engine, view: str, columns: tuple[str, ...], year: int, region: str | None,
           order: str) -> pd.DataFrame:
    import pandas as pd
    import sqlalchemy as sa

    sql = f"SELECT {', '.join(columns)} FROM {view} WHERE year = :year"
    params: dict[str, object] = {"year": year}
    if region:
        sql += " AND region_code = :region"
        params["region"] = region
    with engine.connect() as conn:
        result = conn.execute(sa.text(sql + f" ORDER BY {order}"), params)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def _catalogue_order() -> dict[str, int]:
    from etl.reference import load_reference

    return {code: i for i, code in enumerate(load_reference().indicators.index)}


def _sort(frame: pd.DataFrame, order: dict[str, int], extra: tuple[str, ...] = ()) -> pd.DataFrame:
    if frame.empty:
        return frame
    frame = frame.assign(_order=[order.get(c, 999) for c in frame["indicator_code"]])
    return frame.sort_values(["_order", "indicator_code", *extra]).drop(columns="_order").reset_index(drop=True)


def _unit_type(code: str, valid_from: dt.date) -> str:
    from etl.reference import load_reference

    regions = load_reference().regions
    rows = regions[(regions["region_code"] == code) & (regions["valid_from"] == valid_from)]
    return rows.iloc[0]["unit_type"] if len(rows) else "province"


def load_report_data(engine: Engine, year: int, region: str | None = None) -> ReportData:
    """Everything a report of ``year`` shows, per region, from the analytics views."""
    from etl.queries import PLAN_GAP_COLUMNS

    plan = _frame(engine, "analytics.v_plan_gap", PLAN_GAP_COLUMNS + ("region_name_en",), year, region,
                  "region_code, indicator_code")
    rollup = _frame(engine, "analytics.v_annual_rollup", ROLLUP_COLUMNS, year, region, "region_code, indicator_code")
    monthly = _frame(engine, "analytics.v_monthly_figure", MONTHLY_COLUMNS, year, region,
                     "region_code, indicator_code, month")
    import pandas as pd

    from etl.queries import months_in_force

    order = _catalogue_order()
    # a unit is a code and the day it came into force: in 2025 code 79 is two units
    units: dict[tuple[str, dt.date], tuple[str, str, dt.date | None]] = {}
    for frame in (plan, rollup, monthly):
        for code, start, end, vi, en in zip(frame["region_code"], frame["region_valid_from"], frame["region_valid_to"],
                                            frame["region_name_vi"], frame["region_name_en"]):
            units.setdefault((code, start), (vi, en, None if pd.isna(end) else end))
    shared = {code for code, n in Counter(code for code, _ in units).items() if n > 1}
    regions = []
    for code, start in sorted(units):
        vi, en, end = units[(code, start)]

        def of_unit(frame: pd.DataFrame) -> pd.DataFrame:
            return frame[(frame["region_code"] == code) & (frame["region_valid_from"] == start)]

        regions.append(RegionData(
            code=code, name_vi=vi, name_en=en, unit_type=_unit_type(code, start),
            plan=_sort(of_unit(plan), order), rollup=_sort(of_unit(rollup), order),
            monthly=_sort(of_unit(monthly), order, ("month",)),
            in_force=months_in_force(start, end) if code in shared else "", valid_from=start,
        ))
    from etl.export import safe_url

    return ReportData(year=year, regions=regions, generated_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
                      source=safe_url(engine))


# --------------------------------------------------------------------------- formatting


def _missing(value: object) -> bool:
    """None, NaN or pandas' NA."""
    return value is None or type(value).__name__ == "NAType" or (isinstance(value, float) and math.isnan(value))


def decimals_for(unit: str) -> int:
    """Display precision as the reports write it: indexes and shares to 0,01, counts whole."""
    return {"%": 2, "count": 0}.get(unit, 1)


def fmt_level(value: object, unit: str, conv: str) -> str:
    return format_number(value, decimals_for(unit), conv)


def fmt_pct(value: object, decimals: int, conv: str, sign: bool = False) -> str:
    return "—" if _missing(value) else format_number(value, decimals, conv, sign) + "%"


def fmt_target(kind: str, value: object, unit: str, conv: str) -> str:
    return fmt_pct(value, 2, conv, sign=True) if kind == "growth_pct" else fmt_level(value, unit, conv)


#: Beside a reported growth that the computed one does not match within rounding.
DIFFERS_MARK = "(*)"


def reported_differs(computed: object, reported: object) -> bool:
    """Whether the growth a department reported is further from the computed one than the
    rounding of the rate as written explains (8,3 allows ±0,05, 8 allows ±0,5): the department
    computes it against last year's revised level, the warehouse from the levels it holds."""
    if _missing(computed) or _missing(reported):
        return False
    from etl.quality import written_half_unit

    # _cell: a rate written as an index, 108,2, is stored as 8.200000000000003
    return abs(float(computed) - float(reported)) > written_half_unit(_cell(reported)) + 1e-9


UNIT_LABEL = {"count": "số lượng (count)"}


def unit_label(unit: str) -> str:
    return UNIT_LABEL.get(unit, unit)


def region_title(r: RegionData) -> str:
    return f"{r.heading} ({r.name_en})" if r.name_en and r.name_en != r.name_vi else r.heading


PLAN_HEADERS = (
    ("STT", "No."), ("Chỉ tiêu", "Indicator"), ("Đơn vị", "Unit"), ("Thực hiện", "Actual"),
    ("Tăng trưởng tính toán", "Computed growth"), ("Tăng trưởng báo cáo", "Reported growth"),
    ("Kế hoạch", "Target"), ("Mức kế hoạch", "Planned level"), ("Đạt % KH", "Attainment"), ("Chênh lệch", "Gap, pp"),
)
#: What the plan table's figures are, under it (HTML) or above the tables (Markdown): the
#: two growth columns, then the plan columns.
PLAN_NOTES = (
    "Tăng trưởng tính toán = thực hiện năm / thực hiện năm trước × 100 − 100, từ số liệu lưu trong kho (chỉ số "
    "IIP: chỉ số − 100). Tăng trưởng báo cáo = lũy kế 12 tháng so cùng kỳ theo báo cáo tháng 12 của Sở, tính so "
    "với số liệu năm trước đã điều chỉnh nên có thể khác tăng trưởng tính toán; —: Sở không báo cáo. "
    f"{DIFFERS_MARK}: hai mức tăng trưởng khác nhau quá mức làm tròn (computed growth = actual / last year's actual "
    "× 100 − 100, from the figures the warehouse holds, for the IIP index − 100; reported growth = the year to date "
    "vs the same period last year as the department's December report states it, computed against last year's "
    f"revised level, so it can differ from the computed growth; —: none reported; {DIFFERS_MARK}: the two differ by "
    "more than rounding).",
    "Đạt % KH = thực hiện / mức kế hoạch × 100. Mức kế hoạch của chỉ tiêu tăng trưởng = thực hiện năm trước × "
    "(1 + mục tiêu). Chênh lệch = tăng trưởng tính toán − mục tiêu, điểm phần trăm. Đạt % KH và chênh lệch tính "
    "theo số liệu lưu trong kho, không theo tăng trưởng báo cáo (attainment = actual / planned level; planned "
    "level of a growth target = last year's actual × (1 + target); gap = computed growth − target growth, "
    "percentage points; attainment and gap use the figures the warehouse holds, not the reported growth).",
)


def plan_rows(r: RegionData, conv: str) -> list[dict[str, str | bool]]:
    """The plan-gap table of a region as display strings (shared by HTML and Markdown). The
    reported growth is '—' when none is stored, marked when it differs from the computed one
    (``reported_differs``)."""
    reported_growth = r.reported_growth()
    rows = []
    for i, row in enumerate(r.plan.to_dict(orient="records"), start=1):
        unit = row["unit"]
        reported = reported_growth.get(row["indicator_code"])
        differs = reported_differs(row["actual_growth_pct"], reported)
        actual = fmt_level(row["actual"], unit, conv)
        if _missing(row["actual"]) and not row["is_actual_complete"]:
            actual = "— (chưa đủ số liệu / incomplete)"
        elif _missing(row["actual"]):  # complete yet no value: a monthly index (IIP_MONTH) has no year
            actual = "— (không có số cả năm / no annual value)"
        rows.append({
            "stt": str(i),
            "indicator": row["indicator_name_vi"],
            "indicator_en": row["indicator_name_en"],
            "code": row["indicator_code"],
            "unit": unit_label(unit),
            "actual": actual,
            "growth": fmt_pct(row["actual_growth_pct"], 2, conv, sign=True),
            "reported_growth": fmt_pct(reported, 2, conv, sign=True) + (f" {DIFFERS_MARK}" if differs else ""),
            "reported_differs": differs,
            "target": fmt_target(row["target_kind"], row["target_value"], unit, conv),
            "planned": fmt_level(row["planned_level"], unit, conv),
            "attainment": fmt_pct(row["attainment_pct"], 1, conv),
            "gap": format_number(row["gap_pp"], 2, conv, sign=True),
            "status": _status(row["attainment_pct"]),
        })
    return rows


def _status(attainment: object) -> str:
    if _missing(attainment):
        return "none"
    return "met" if round(float(attainment), 1) >= 100 else ("near" if attainment >= 95 else "below")


# --------------------------------------------------------------------------- SVG charts

INK, MUTED, GRID = "#1f2937", "#64748b", "#e2e8f0"
PLAN_COLOR, ACTUAL_COLOR, BELOW_COLOR = "#94a3b8", "#0f766e", "#c2410c"
PREV_COLOR, REPORTED_COLOR = "#94a3b8", "#6d28d9"
FONT = 'font-family="DejaVu Sans, Segoe UI, Roboto, Noto Sans, Arial, sans-serif"'


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _text_width(text: str, size: float) -> float:
    """Approximate rendered width (no layout engine here): ~0.58 em per character."""
    return len(text) * size * 0.58


def _wrap(text: str, max_chars: int, max_lines: int = 2) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > max_chars:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: max_chars - 1].rstrip() + "…"
    return lines


def nice_ticks(lo: float, hi: float, count: int = 4, integer: bool = False) -> list[float]:
    """Round tick values covering [lo, hi] (lo and hi included in the span); ``integer``:
    whole-number steps only (counts)."""
    if hi == lo:
        hi, lo = (hi + 1, lo - 1) if hi == 0 else (hi + abs(hi) * 0.1, lo - abs(lo) * 0.1)
    raw = (hi - lo) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    multiples = (1, 2, 5, 10) if integer or magnitude < 1 else (1, 2, 2.5, 5, 10)
    step = next(m * magnitude for m in multiples if m * magnitude >= raw)
    if integer:
        step = max(1, round(step))
    ticks = [math.floor(lo / step + 1e-9) * step]
    while ticks[-1] < hi - 1e-9 * step:
        ticks.append(ticks[0] + len(ticks) * step)
    return [round(t, 10) for t in ticks]


def _tick_label(value: float, step: float, conv: str) -> str:
    """As many decimals as the step has (2,5 → 1), written in the report's convention."""
    decimals = 0
    while decimals < 6 and abs(step * 10 ** decimals - round(step * 10 ** decimals)) > 1e-6:
        decimals += 1
    return format_number(value, decimals, conv)


def _svg_open(testid: str, width: int, height: int, title: str, desc: str) -> list[str]:
    ident = testid.replace(" ", "-")
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" data-testid="{_e(testid)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-labelledby="{ident}-title {ident}-desc" aria-label="{_e(title)}" {FONT} class="chart">',
        f'<title id="{ident}-title">{_e(title)}</title>',
        f'<desc id="{ident}-desc">{_e(desc)}</desc>',
    ]


def _legend(items: list[tuple[str, str, str]], x: float, y: float, size: int = 12) -> list[str]:
    """items: (label, color, 'bar' | 'line' | 'dash')."""
    out, cx = [], x
    for label, color, style in items:
        if style == "bar":
            out.append(f'<rect x="{cx:.1f}" y="{y - 9:.1f}" width="12" height="10" rx="2" fill="{color}"/>')
        else:
            dash = ' stroke-dasharray="5 3"' if style == "dash" else ""
            out.append(f'<line x1="{cx:.1f}" y1="{y - 4:.1f}" x2="{cx + 16:.1f}" y2="{y - 4:.1f}" '
                       f'stroke="{color}" stroke-width="2.5"{dash}/>')
        out.append(f'<text x="{cx + 21:.1f}" y="{y:.1f}" font-size="{size}" fill="{INK}">{_e(label)}</text>')
        cx += 21 + _text_width(label, size) + 18
    return out


def chart_plan_vs_actual(r: RegionData, year: int, conv: str) -> str:
    """Horizontal bars, one pair per plan target: planned level and actual, each row on its own
    scale (the indicators have different units), attainment at the end of the row."""
    rows = r.plan.to_dict(orient="records")
    width, label_w, value_w, att_w = 1100, 360, 150, 90
    bar_x = label_w + 10
    bar_w = width - bar_x - value_w - att_w
    row_h, top = 58, 52
    height = top + row_h * max(len(rows), 1) + 34
    title = f"Thực hiện so với kế hoạch năm {year} (Actual vs plan {year}) — {r.heading}"
    desc = "; ".join(
        f"{row['indicator_name_vi']}: kế hoạch {fmt_level(row['planned_level'], row['unit'], conv)}, "
        f"thực hiện {fmt_level(row['actual'], row['unit'], conv)} {row['unit']}, "
        f"đạt {fmt_pct(row['attainment_pct'], 1, conv)}" for row in rows) or "Không có chỉ tiêu kế hoạch."
    out = _svg_open(f"chart-plan-vs-actual-{r.anchor}", width, height, title, desc)
    out += _legend([("Kế hoạch (Plan)", PLAN_COLOR, "bar"), ("Thực hiện (Actual)", ACTUAL_COLOR, "bar"),
                    ("Chưa đạt (Below plan)", BELOW_COLOR, "bar")], bar_x, 22)
    out.append(f'<text x="{width - 4}" y="22" font-size="12" fill="{MUTED}" text-anchor="end">'
               "Đạt % KH (Attainment)</text>")
    if not rows:
        out.append(f'<text x="{bar_x}" y="{top + 24}" font-size="14" fill="{MUTED}">'
                   "Không có chỉ tiêu kế hoạch (No plan targets)</text>")
    for i, row in enumerate(rows):
        y = top + i * row_h
        if i % 2 == 0:
            out.append(f'<rect x="0" y="{y - 6}" width="{width}" height="{row_h}" fill="#f8fafc"/>')
        lines = _wrap(row["indicator_name_vi"], 50)
        ly = y + 14 if len(lines) == 2 else y + 20
        for k, line in enumerate(lines):
            out.append(f'<text x="6" y="{ly + k * 15}" font-size="12.5" fill="{INK}">{_e(line)}</text>')
        out.append(f'<text x="6" y="{ly + len(lines) * 15}" font-size="11" fill="{MUTED}">'
                   f'{_e(row["indicator_code"])} · {_e(unit_label(row["unit"]))}</text>')
        plan_v, actual_v = row["planned_level"], row["actual"]
        scale_max = max([abs(float(v)) for v in (plan_v, actual_v) if not _missing(v)] or [1]) or 1
        status = _status(row["attainment_pct"])
        for k, (value, color, name) in enumerate((
            (plan_v, PLAN_COLOR, "Kế hoạch"),
            (actual_v, BELOW_COLOR if status in ("below", "near") else ACTUAL_COLOR, "Thực hiện"),
        )):
            by = y + 4 + k * 20
            if _missing(value):
                out.append(f'<text x="{bar_x + 4}" y="{by + 12}" font-size="12" fill="{MUTED}">'
                           f"{name}: — (chưa có số liệu)</text>")
                continue
            w = max(1.5, bar_w * abs(float(value)) / scale_max)
            out.append(f'<rect data-series="{"plan" if k == 0 else "actual"}" x="{bar_x}" y="{by}" '
                       f'width="{w:.1f}" height="16" rx="2" fill="{color}"><title>{name}: '
                       f'{_e(fmt_level(value, row["unit"], conv))} {_e(row["unit"])}</title></rect>')
            out.append(f'<text x="{bar_x + w + 6:.1f}" y="{by + 12.5}" font-size="12" fill="{INK}">'
                       f'{_e(fmt_level(value, row["unit"], conv))}</text>')
        color = {"met": ACTUAL_COLOR, "near": BELOW_COLOR, "below": BELOW_COLOR}.get(status, MUTED)
        out.append(f'<text x="{width - 6}" y="{y + 25}" font-size="16" font-weight="bold" fill="{color}" '
                   f'text-anchor="end">{_e(fmt_pct(row["attainment_pct"], 1, conv))}</text>')
    out.append(f'<text x="{bar_x}" y="{height - 10}" font-size="11" fill="{MUTED}">Mỗi dòng có thang đo riêng '
               "theo đơn vị của chỉ tiêu (each row has its own scale, in the indicator's unit).</text>")
    out.append("</svg>")
    return "\n".join(out)


def chart_growth_vs_target(r: RegionData, year: int, conv: str) -> str:
    """Horizontal bars on one % axis, per growth target: the target, the computed growth (the
    plan gap's) and, where the department reported one, the reported growth."""
    reported = r.reported_growth()
    rows = [{**row, "reported_growth_pct": reported.get(row["indicator_code"])}
            for row in r.plan.to_dict(orient="records") if row["target_kind"] == "growth_pct"]
    any_reported = any(not _missing(row["reported_growth_pct"]) for row in rows)
    width, label_w, right = 1100, 360, 70
    plot_x0, plot_x1 = label_w + 20, width - right
    row_h, top = 64 if any_reported else 50, 48
    height = top + row_h * max(len(rows), 1) + 46
    title = f"Tăng trưởng so với mục tiêu năm {year} (Growth vs target {year}) — {r.heading}"
    desc = "; ".join(
        f"{row['indicator_name_vi']}: mục tiêu {fmt_pct(row['target_value'], 2, conv, True)}, "
        f"tính toán {fmt_pct(row['actual_growth_pct'], 2, conv, True)}"
        + (f", báo cáo {fmt_pct(row['reported_growth_pct'], 2, conv, True)}" if any_reported else "") for row in rows
    ) or "Không có chỉ tiêu kế hoạch tăng trưởng."
    out = _svg_open(f"chart-growth-vs-target-{r.anchor}", width, height, title, desc)
    out += _legend([("Mục tiêu tăng trưởng (Growth target)", PLAN_COLOR, "bar"),
                    ("Tăng trưởng tính toán (Computed growth)", ACTUAL_COLOR, "bar")]
                   + ([("Tăng trưởng báo cáo (Reported growth)", REPORTED_COLOR, "bar")] if any_reported else []),
                   6 if any_reported else plot_x0, 22)  # three items fit only from the left edge
    if not rows:
        out.append(f'<text x="{plot_x0}" y="{top + 22}" font-size="14" fill="{MUTED}">'
                   "Không có chỉ tiêu kế hoạch tăng trưởng (No growth targets)</text></svg>")
        return "\n".join(out)
    series_of_row = (("target_value", PLAN_COLOR, "target"), ("actual_growth_pct", ACTUAL_COLOR, "actual"))
    if any_reported:
        series_of_row += (("reported_growth_pct", REPORTED_COLOR, "reported"),)
    values = [float(row[column]) for row in rows for column, _, _ in series_of_row if not _missing(row[column])]
    ticks = nice_ticks(min(0.0, *values), max(0.0, *values), 5)
    lo, hi = ticks[0], ticks[-1]
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1

    def x(v: float) -> float:
        return plot_x0 + (v - lo) / (hi - lo) * (plot_x1 - plot_x0)

    bottom = top + row_h * len(rows)
    for t in ticks:
        out.append(f'<line x1="{x(t):.1f}" y1="{top - 6}" x2="{x(t):.1f}" y2="{bottom}" stroke="{GRID}"/>')
        out.append(f'<text x="{x(t):.1f}" y="{bottom + 18}" font-size="11" fill="{MUTED}" text-anchor="middle">'
                   f'{_e(_tick_label(t, step, conv))}%</text>')
    out.append(f'<line x1="{x(0):.1f}" y1="{top - 6}" x2="{x(0):.1f}" y2="{bottom}" stroke="{INK}" '
               'stroke-width="1.2"/>')
    for i, row in enumerate(rows):
        y = top + i * row_h
        lines = _wrap(row["indicator_name_vi"], 50)
        ly = y + 14 if len(lines) == 2 else y + 20
        for k, line in enumerate(lines):
            out.append(f'<text x="6" y="{ly + k * 15}" font-size="12.5" fill="{INK}">{_e(line)}</text>')
        for k, (column, color, series) in enumerate(series_of_row):
            value, by = row[column], y + 4 + k * 19
            if _missing(value):
                out.append(f'<text x="{x(0) + 4:.1f}" y="{by + 12}" font-size="12" fill="{MUTED}">—</text>')
                continue
            v = float(value)
            x0, x1 = sorted((x(0), x(v)))
            fill = color if not (series == "actual" and not _missing(row["target_value"])
                                 and v < float(row["target_value"])) else BELOW_COLOR
            out.append(f'<rect data-series="{series}" x="{x0:.1f}" y="{by}" width="{max(x1 - x0, 1.5):.1f}" '
                       f'height="15" rx="2" fill="{fill}"/>')
            label = fmt_pct(v, 2, conv, sign=True)
            if v >= 0:
                out.append(f'<text x="{x1 + 5:.1f}" y="{by + 12}" font-size="12" fill="{INK}">{_e(label)}</text>')
            else:
                out.append(f'<text x="{x0 - 5:.1f}" y="{by + 12}" font-size="12" fill="{INK}" '
                           f'text-anchor="end">{_e(label)}</text>')
    out.append(f'<text x="{plot_x0}" y="{height - 6}" font-size="11" fill="{MUTED}">So với năm trước, % '
               "(vs the previous year, %). Chỉ số IIP: chỉ số − 100 (index − 100).</text>")
    out.append("</svg>")
    return "\n".join(out)


def _polyline(points: list[tuple[float, float | None]], color: str, dashed: bool, series: str,
              dots: bool) -> list[str]:
    """A path through the points, broken where a value is missing."""
    d, pen_down = [], False
    for px, py in points:
        if py is None:
            pen_down = False
            continue
        d.append(f"{'L' if pen_down else 'M'}{px:.1f},{py:.1f}")
        pen_down = True
    if not d:
        return []
    dash = ' stroke-dasharray="6 4"' if dashed else ""
    out = [f'<path data-series="{series}" d="{" ".join(d)}" fill="none" stroke="{color}" stroke-width="2.4" '
           f'stroke-linejoin="round" stroke-linecap="round"{dash}/>']
    if dots:
        out += [f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.8" fill="{color}"/>' for px, py in points if py is not None]
    return out


def _panel(out: list[str], x0: float, y0: float, w: float, h: float, label: str,
           series: list[tuple[str, list[object], str, bool]], conv: str, integer: bool = False) -> None:
    """One line panel over months 1..12: series = (name, 12 values, color, dashed)."""
    values = [float(v) for _, vals, _, _ in series for v in vals if not _missing(v)]
    out.append(f'<text x="{x0}" y="{y0 - 8}" font-size="11.5" fill="{MUTED}">{_e(label)}</text>')
    if not values:
        out.append(f'<text x="{x0 + 10}" y="{y0 + h / 2}" font-size="12" fill="{MUTED}">'
                   "Không có số liệu (no data)</text>")
        return
    lo, hi = min(values), max(values)
    if lo >= 0 and (lo > (hi - lo) * 1.5):  # far from zero (an index around 100): do not start at 0,
        span = max(hi - lo, abs(hi) * 0.02)  # but do not blow a 0,01 difference up to full height
        middle = (hi + lo) / 2
        ticks = nice_ticks(middle - span / 2, middle + span / 2, 4, integer)
    else:
        ticks = nice_ticks(min(0.0, lo), max(0.0, hi), 4, integer)
    t_lo, t_hi = ticks[0], ticks[-1]
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1
    axis_w = 64

    def px(month: int) -> float:
        return x0 + axis_w + (month - 1) / 11 * (w - axis_w - 10)

    def py(v: float) -> float:
        return y0 + h - (v - t_lo) / (t_hi - t_lo) * h

    for t in ticks:
        out.append(f'<line x1="{x0 + axis_w:.1f}" y1="{py(t):.1f}" x2="{x0 + w - 10:.1f}" y2="{py(t):.1f}" '
                   f'stroke="{GRID}"/>')
        out.append(f'<text x="{x0 + axis_w - 6:.1f}" y="{py(t) + 4:.1f}" font-size="10.5" fill="{MUTED}" '
                   f'text-anchor="end">{_e(_tick_label(t, step, conv))}</text>')
    for month in range(1, 13):
        out.append(f'<text x="{px(month):.1f}" y="{y0 + h + 15:.1f}" font-size="10.5" fill="{MUTED}" '
                   f'text-anchor="middle">T{month}</text>')
    for name, vals, color, dashed in series:
        pts = [(px(m), None if _missing(v) else py(float(v))) for m, v in zip(range(1, 13), vals)]
        out += _polyline(pts, color, dashed, name, dots=not dashed)


def chart_monthly(r: RegionData, indicator: str, year: int, conv: str) -> str:
    """The months of the year against the same months of the previous year; for flows a
    second panel with the year to date (lũy kế) against the same period last year."""
    frame = r.monthly[r.monthly["indicator_code"] == indicator]
    first = frame.iloc[0]
    by_month = {int(m): row for m, row in zip(frame["month"], frame.to_dict(orient="records"))}

    def series(column: str) -> list[object]:
        return [by_month[m][column] if m in by_month else None for m in range(1, 13)]

    is_flow = first["indicator_kind"] == "flow"
    integer = first["unit"] == "count"
    width, panel_h, top, gap = 540, 130, 104, 50
    height = top + panel_h + (gap + panel_h if is_flow else 0) + 28
    unit = unit_label(first["unit"])
    title = f"{first['indicator_name_vi']} ({first['indicator_name_en']}), {unit}"
    values = series("value")
    desc = (f"{first['indicator_name_vi']}, {year} theo tháng (by month): "
            + ", ".join(f"T{m}: {fmt_level(v, first['unit'], conv)}" for m, v in zip(range(1, 13), values)))
    out = _svg_open(f"chart-monthly-{r.anchor}-{indicator}", width, height, title, desc)
    for k, line in enumerate(_wrap(first["indicator_name_vi"], 62, 2)):
        out.append(f'<text x="8" y="{18 + k * 16}" font-size="13" font-weight="bold" fill="{INK}">{_e(line)}</text>')
    out.append(f'<text x="8" y="{52}" font-size="11" fill="{MUTED}">'
               f'{_e(first["indicator_name_en"])} · {_e(first["indicator_code"])} · {_e(unit)}</text>')
    out += _legend([(f"Năm {year}", ACTUAL_COLOR, "line"), (f"Năm {year - 1} (cùng kỳ / previous year)",
                                                             PREV_COLOR, "dash")], 8, 74, 11)
    label_month = "Giá trị tháng (monthly value)" if first["indicator_kind"] != "index" else \
        "Chỉ số (index, same period last year = 100)"
    _panel(out, 8, top, width - 16, panel_h, label_month,
           [("value", values, ACTUAL_COLOR, False), ("value-prev-year", series("value_prev_year"), PREV_COLOR, True)],
           conv, integer)
    if is_flow:
        _panel(out, 8, top + panel_h + gap, width - 16, panel_h, "Lũy kế từ đầu năm (year to date)",
               [("ytd", series("ytd_value"), ACTUAL_COLOR, False),
                ("ytd-prev-year", series("ytd_value_prev_year"), PREV_COLOR, True)], conv, integer)
    out.append("</svg>")
    return "\n".join(out)


# --------------------------------------------------------------------------- HTML

CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f1f5f9;color:#1f2937;font-family:"DejaVu Sans","Segoe UI",Roboto,"Noto Sans",Arial,sans-serif;font-size:14px;line-height:1.45}
main{max-width:1180px;margin:0 auto;padding:28px 32px 56px}
header.cover{background:#0f766e;color:#fff;padding:26px 32px;border-radius:10px;margin-bottom:22px}
header.cover .eyebrow{font-size:12px;letter-spacing:.08em;text-transform:uppercase;opacity:.85}
header.cover h1{margin:6px 0 2px;font-size:26px;line-height:1.25}
header.cover .en{font-size:15px;opacity:.9;margin:0}
header.cover .meta{font-size:12px;opacity:.85;margin:12px 0 0}
nav.toc{background:#fff;border-radius:10px;padding:12px 20px;margin-bottom:22px;font-size:13px}
nav.toc a{color:#0f766e;text-decoration:none;margin-right:18px}
section.region{background:#fff;border-radius:10px;padding:22px 28px 26px;margin-bottom:26px;box-shadow:0 1px 2px rgba(15,23,42,.06)}
section.region h2{margin:0 0 2px;font-size:22px}
section.region h2 .en{font-weight:normal;color:#64748b;font-size:16px}
section.region h2 .code{font-size:12px;font-weight:normal;background:#e2e8f0;color:#334155;border-radius:9px;padding:2px 8px;vertical-align:middle;margin-left:6px}
h3{font-size:16px;margin:24px 0 10px;color:#0f172a}
h3 .en,.muted{color:#64748b;font-weight:normal}
.kpis{display:flex;gap:14px;margin:14px 0 4px;flex-wrap:wrap}
.kpi{border:1px solid #e2e8f0;border-radius:8px;padding:8px 14px;min-width:170px}
.kpi b{display:block;font-size:20px;color:#0f172a}
.kpi span{font-size:12px;color:#64748b}
table.plan-gap{border-collapse:collapse;width:100%;font-size:13px}
table.plan-gap th{background:#f1f5f9;color:#334155;font-weight:600;text-align:right;padding:7px 8px;border-bottom:2px solid #cbd5e1;vertical-align:bottom;white-space:nowrap}
table.plan-gap th small{display:block;font-weight:normal;color:#64748b}
table.plan-gap td{padding:7px 8px;border-bottom:1px solid #e2e8f0;text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
table.plan-gap th.l,table.plan-gap td.l{text-align:left;white-space:normal}
table.plan-gap td small{color:#64748b}
table.plan-gap td.differs{color:#6d28d9;font-weight:600;cursor:help}
.pill{display:inline-block;min-width:62px;padding:2px 8px;border-radius:10px;font-weight:600;text-align:center}
.pill.met{background:#ccfbf1;color:#115e59}.pill.near{background:#ffedd5;color:#9a3412}.pill.below{background:#fee2e2;color:#991b1b}.pill.none{background:#f1f5f9;color:#64748b}
figure{margin:8px 0 0}
figure svg{max-width:100%;height:auto;display:block}
.grid{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:16px}
.grid figure{border:1px solid #e2e8f0;border-radius:8px;padding:6px;margin:0}
.note{font-size:12px;color:#64748b;margin:8px 0 0}
footer{font-size:12px;color:#64748b;text-align:center;margin-top:8px}
@media print{body{background:#fff}section.region{box-shadow:none;page-break-after:always}}
"""


DIFFERS_TITLE = ("Khác tăng trưởng tính toán quá mức làm tròn: Sở tính so với số liệu năm trước đã điều chỉnh "
                 "(differs from the computed growth by more than rounding: the department computes it against "
                 "last year's revised level)")


def _plan_table_html(r: RegionData, conv: str) -> str:
    rows = plan_rows(r, conv)
    head = "".join(
        f'<th class="{"l" if i in (1, 2) else ""}">{_e(vi)}<small>({_e(en)})</small></th>'
        for i, (vi, en) in enumerate(PLAN_HEADERS))
    if not rows:
        return ('<p class="muted" data-testid="plan-gap-empty-' + _e(r.anchor) + '">Không có chỉ tiêu kế hoạch năm '
                "này (No plan targets this year).</p>")
    body = []
    for row in rows:
        differs = f' class="differs" title="{_e(DIFFERS_TITLE)}"' if row["reported_differs"] else ""
        body.append(
            f'<tr data-indicator="{_e(row["code"])}"><td>{row["stt"]}</td>'
            f'<td class="l">{_e(row["indicator"])}<br><small>{_e(row["indicator_en"])} · {_e(row["code"])}</small></td>'
            f'<td class="l">{_e(row["unit"])}</td><td>{_e(row["actual"])}</td><td>{_e(row["growth"])}</td>'
            f'<td data-column="reported-growth"{differs}>{_e(row["reported_growth"])}</td>'
            f'<td>{_e(row["target"])}</td><td>{_e(row["planned"])}</td>'
            f'<td><span class="pill {row["status"]}">{_e(row["attainment"])}</span></td><td>{_e(row["gap"])}</td></tr>')
    return (f'<table class="plan-gap" data-testid="plan-gap-{_e(r.anchor)}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


def _kpis(r: RegionData, conv: str) -> str:
    plan = r.plan
    with_att = plan[plan["attainment_pct"].notna()] if not plan.empty else plan
    met = int(sum(1 for a in with_att["attainment_pct"] if round(float(a), 1) >= 100)) if not plan.empty else 0
    indicators = r.rollup[r.rollup["is_complete"].astype(bool)]["indicator_code"].nunique() if not r.rollup.empty else 0
    cards = [
        (f"{met}/{len(with_att)}", "chỉ tiêu đạt/vượt kế hoạch (targets met)"),
        (str(len(plan)), "chỉ tiêu kế hoạch (plan targets)"),
        (str(indicators), "chỉ tiêu có số liệu cả năm (indicators with a full year)"),
    ]
    return '<div class="kpis">' + "".join(f'<div class="kpi"><b>{_e(v)}</b><span>{_e(t)}</span></div>'
                                          for v, t in cards) + "</div>"


def render_html(data: ReportData, conv: str = "vi",
                progress: Callable[[int, int, RegionData], None] | None = None) -> str:
    y = data.year
    convention = "Việt Nam: 1.234,5 (Vietnamese)" if conv == "vi" else "English: 1,234.5"
    parts = [
        "<!DOCTYPE html>", '<html lang="vi"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Báo cáo thực hiện kế hoạch năm {y} (Plan attainment report {y})</title>",
        f"<style>{CSS}</style></head><body><main>",
        '<header class="cover"><div class="eyebrow">statwarehouse · Sở Công Thương '
        "(Department of Industry and Trade)</div>",
        f"<h1>Báo cáo thực hiện kế hoạch năm {y}</h1>",
        f'<p class="en">(Plan attainment report {y})</p>',
        f'<p class="meta">Số liệu hiện hành lúc (figures as held at) {data.generated_at:%Y-%m-%d %H:%M} UTC · '
        f"{len(data.regions)} tỉnh/thành phố (regions) · Định dạng số (numbers): {_e(convention)}</p></header>",
    ]
    if len(data.regions) > 1:
        parts.append('<nav class="toc">' + "".join(
            f'<a href="#region-{_e(r.anchor)}">{_e(r.heading)}</a>' for r in data.regions) + "</nav>")
    if not data.regions:
        parts.append(f'<section class="region"><p>Không có số liệu năm {y} (no figures for {y}).</p></section>')
    for index, r in enumerate(data.regions, start=1):
        if progress:
            progress(index, len(data.regions), r)
        parts += [
            f'<section class="region" id="region-{_e(r.anchor)}" data-testid="region-{_e(r.anchor)}">',
            f'<h2>{_e(r.heading)} <span class="en">({_e(r.name_en)})</span> '
            f'<span class="code">mã (code) {_e(r.code)}</span></h2>',
            _kpis(r, conv),
            f'<h3>Thực hiện so với kế hoạch năm {y} <span class="en">(Actual against the {y} plan)</span></h3>',
            _plan_table_html(r, conv),
            *(f'<p class="note">{_e(note)}</p>' for note in PLAN_NOTES),
        ]
        if not r.plan.empty:
            parts += [
                '<h3>Kế hoạch và thực hiện <span class="en">(Plan and actual)</span></h3>',
                f"<figure>{chart_plan_vs_actual(r, y, conv)}</figure>",
                '<h3>Tăng trưởng so với mục tiêu <span class="en">(Growth against target)</span></h3>',
            ]
            if (r.plan["target_kind"] == "growth_pct").any():
                parts.append(f"<figure>{chart_growth_vs_target(r, y, conv)}</figure>")
            else:
                parts.append('<p class="muted">Không có chỉ tiêu kế hoạch tăng trưởng năm này '
                             "(no growth targets this year).</p>")
        indicators = list(dict.fromkeys(r.monthly["indicator_code"])) if not r.monthly.empty else []
        if indicators:
            parts.append(f'<h3>Diễn biến theo tháng năm {y} <span class="en">(Month by month, {y} against '
                         f"{y - 1})</span></h3>")
            parts.append('<div class="grid">' + "".join(
                f"<figure>{chart_monthly(r, code, y, conv)}</figure>" for code in indicators) + "</div>")
        parts.append("</section>")
    parts.append(f"<footer>statwarehouse · nguồn (source): analytics.v_plan_gap, analytics.v_annual_rollup, "
                 f"analytics.v_monthly_figure · {_e(data.source)}</footer></main></body></html>")
    return "\n".join(parts) + "\n"


# --------------------------------------------------------------------------- Markdown


def _md_escape(text: str) -> str:
    """Text as Markdown shows it: a '|' does not end a table cell, the (*) mark is no emphasis."""
    return text.replace("|", "\\|").replace("*", "\\*")


def render_markdown(data: ReportData, conv: str = "vi",
                    progress: Callable[[int, int, RegionData], None] | None = None) -> str:
    y = data.year
    lines = [f"# Báo cáo thực hiện kế hoạch năm {y} (Plan attainment report {y})", "",
             f"Số liệu hiện hành lúc (figures as held at) {data.generated_at:%Y-%m-%d %H:%M} UTC.", "",
             "Ghi chú (notes):", "", *(f"- {_md_escape(note)}" for note in PLAN_NOTES), ""]
    if not data.regions:
        lines.append(f"Không có số liệu năm {y} (no figures for {y}).")
    header = "| " + " | ".join(f"{vi} ({en})" for vi, en in PLAN_HEADERS) + " |"
    align = "|" + "|".join("---" if i in (1, 2) else "---:" for i in range(len(PLAN_HEADERS))) + "|"
    for index, r in enumerate(data.regions, start=1):
        if progress:
            progress(index, len(data.regions), r)
        lines += [f"## {region_title(r)} — {r.code}", ""]
        rows = plan_rows(r, conv)
        if not rows:
            lines += ["Không có chỉ tiêu kế hoạch năm này (no plan targets this year).", ""]
            continue
        lines += [header, align]
        for row in rows:
            cells = [row["stt"], f"{row['indicator']} ({row['code']})", row["unit"], row["actual"], row["growth"],
                     row["reported_growth"], row["target"], row["planned"], row["attainment"], row["gap"]]
            lines.append("| " + " | ".join(_md_escape(c) for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------- XLSX

XLSX_HEADERS = ("STT", "Chỉ tiêu", "Đơn vị", "Thực hiện năm trước", "Kế hoạch năm", "Thực hiện năm",
                "So cùng kỳ tính toán (%)", "So cùng kỳ theo báo cáo (%)", "So kế hoạch (%)", "Ghi chú")
XLSX_NUMBERING = ("A", "B", "C", "1", "2", "3", "4 = 3/1", "5", "6 = 3/2", "D")
XLSX_WIDTHS = (6, 50, 14, 17, 17, 17, 13, 13, 13, 34)
HEADER_ROW = 8


def _number_format(unit: str) -> str:
    return {0: "#,##0", 1: "#,##0.0", 2: "#,##0.00"}[decimals_for(unit)]


def _cell(value: object) -> float | None:
    """A number for a cell, without binary noise (6809.999999999999 → 6810): the formats
    show the precision; 9 significant decimals keep every figure the warehouse holds."""
    return None if _missing(value) else round(float(value), 9)


def xlsx_rows(r: RegionData, conv: str) -> list[dict[str, object]]:
    """One row per indicator with an annual figure or a plan target, in catalogue order."""
    plan = {row["indicator_code"]: row for row in r.plan.to_dict(orient="records")}
    rollup = {row["indicator_code"]: row for row in r.rollup.to_dict(orient="records")}
    order = _catalogue_order()
    codes = [c for c in rollup if rollup[c]["year_rule"] != "none"] + [c for c in plan if c not in rollup]
    codes = sorted(dict.fromkeys(codes), key=lambda c: (order.get(c, 999), c))
    rows = []
    for code in codes:
        roll, target = rollup.get(code), plan.get(code)
        source = roll or target
        unit = source["unit"]
        actual = roll["annual_value"] if roll else target["actual"]
        previous = roll["annual_value_prev_year"] if roll else target["actual_prev_year"]
        growth = roll["growth_pct"] if roll else target["actual_growth_pct"]
        reported = roll["reported_growth_pct"] if roll else None
        notes = []
        if reported_differs(growth, reported):
            notes.append(f"{DIFFERS_MARK} So cùng kỳ theo báo cáo khác số tính toán: Sở tính so với số liệu năm "
                         "trước đã điều chỉnh")
        if target is not None and target["target_kind"] == "growth_pct":
            notes.append(f"KH tăng {format_number(target['target_value'], 2, conv)}% so với năm trước")
        if roll is not None and not roll["is_complete"]:
            notes.append(f"Chưa đủ số liệu ({int(roll['months_reported'])}/12 tháng)")
        if roll is not None and not _missing(roll["months_from_predecessors"]) and roll["months_from_predecessors"] > 0:
            notes.append(f"Gồm {int(roll['months_from_predecessors'])} tháng của các đơn vị trước sáp nhập")
        rows.append({
            "indicator": source["indicator_name_vi"], "unit": unit_label(unit) if unit == "count" else unit,
            "previous": _cell(previous),
            "planned": None if target is None else _cell(target["planned_level"]),
            "actual": _cell(actual),
            "vs_previous": None if _missing(growth) else _cell(100 + float(growth)),
            "reported_vs_previous": None if _missing(reported) else _cell(100 + float(reported)),
            "vs_plan": None if target is None else _cell(target["attainment_pct"]),
            "note": "; ".join(notes), "number_format": _number_format(unit),
            "pct_format": "0.00" if unit == "%" else "0.0",
        })
    return rows


def _sheet_title(r: RegionData, used: set[str]) -> str:
    title = f"{r.code} {r.name_vi}"
    if r.in_force:  # a sheet name has at most 31 characters and no '/': keep the months whole
        suffix = " " + r.in_force.replace("/", ".")
        title = title[:31 - len(suffix)].rstrip() + suffix
    for bad in "[]:*?/\\":
        title = title.replace(bad, " ")
    title = title[:31]
    base, n = title, 2
    while title in used:
        title = f"{base[:28]}~{n}"
        n += 1
    used.add(title)
    return title


def render_xlsx(data: ReportData, path: Path, conv: str = "vi",
                progress: Callable[[int, int, RegionData], None] | None = None) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    y = data.year
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.title = f"Báo cáo kết quả thực hiện các chỉ tiêu năm {y}"
    wb.properties.creator = "statwarehouse"
    thin = Side(style="thin", color="808080")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    bold, centre = Font(name="Times New Roman", bold=True, size=12), Alignment(horizontal="center", vertical="center",
                                                                               wrap_text=True)
    body_font = Font(name="Times New Roman", size=12)
    used: set[str] = set()
    if not data.regions:
        ws = wb.create_sheet("Không có số liệu")
        ws["A1"] = f"Không có số liệu năm {y} (no figures for {y})"
    for index, r in enumerate(data.regions, start=1):
        if progress:
            progress(index, len(data.regions), r)
        ws = wb.create_sheet(_sheet_title(r, used))
        last_col = get_column_letter(len(XLSX_HEADERS))
        authority = r.name_vi.upper() if r.unit_type == "municipality" else f"TỈNH {r.name_vi.upper()}"
        ws.merge_cells("A1:C1")
        ws["A1"] = f"UBND {authority}"
        ws["A1"].font, ws["A1"].alignment = Font(name="Times New Roman", size=12), centre
        ws.merge_cells("A2:C2")
        ws["A2"] = "SỞ CÔNG THƯƠNG"
        ws["A2"].font, ws["A2"].alignment = bold, centre
        ws.merge_cells(f"A4:{last_col}4")
        ws["A4"] = f"BÁO CÁO KẾT QUẢ THỰC HIỆN CÁC CHỈ TIÊU NĂM {y}"
        ws["A4"].font, ws["A4"].alignment = Font(name="Times New Roman", bold=True, size=14), centre
        ws.merge_cells(f"A5:{last_col}5")
        ws["A5"] = f"(Report on the {y} indicators — {r.name_en}, GSO code {r.code}" + (
            f", {r.in_force.replace('từ', 'from')})" if r.in_force else ")")
        ws["A5"].font, ws["A5"].alignment = Font(name="Times New Roman", italic=True, size=12), centre
        ws.merge_cells(f"A6:{last_col}6")
        ws["A6"] = (f"Số liệu hiện hành lúc {data.generated_at:%H:%M} ngày {data.generated_at:%d/%m/%Y} (UTC), "
                    "nguồn: statwarehouse")
        ws["A6"].font, ws["A6"].alignment = Font(name="Times New Roman", italic=True, size=11), centre
        fill = PatternFill("solid", fgColor="DDEBF7")
        for col, (title, numbering, width) in enumerate(zip(XLSX_HEADERS, XLSX_NUMBERING, XLSX_WIDTHS), start=1):
            head = ws.cell(row=HEADER_ROW, column=col, value=title)
            head.font, head.alignment, head.border, head.fill = bold, centre, border, fill
            number = ws.cell(row=HEADER_ROW + 1, column=col, value=numbering)
            number.font = Font(name="Times New Roman", italic=True, size=11)
            number.alignment, number.border = centre, border
            ws.column_dimensions[get_column_letter(col)].width = width
        ws.row_dimensions[HEADER_ROW].height = 36
        row_no = HEADER_ROW + 2
        for stt, row in enumerate(xlsx_rows(r, conv), start=1):
            values = (stt, row["indicator"], row["unit"], row["previous"], row["planned"], row["actual"],
                      row["vs_previous"], row["reported_vs_previous"], row["vs_plan"], row["note"])
            for col, value in enumerate(values, start=1):
                cell = ws.cell(row=row_no, column=col, value=value)
                cell.font, cell.border = body_font, border
                if col in (4, 5, 6):
                    cell.number_format = row["number_format"]
                elif col in (7, 8, 9):
                    cell.number_format = row["pct_format"]
                cell.alignment = Alignment(horizontal="center" if col in (1, 3) else None, vertical="center",
                                           wrap_text=col in (2, 10))
            row_no += 1
        notes = ("Ghi chú: So cùng kỳ tính toán (%) = Thực hiện năm / Thực hiện năm trước × 100, từ số liệu lưu "
                 "trong kho (với chỉ số IIP: chỉ số lũy kế tháng 12); So cùng kỳ theo báo cáo (%) = lũy kế 12 tháng "
                 "so cùng kỳ theo báo cáo tháng 12 của Sở, tính so với số liệu năm trước đã điều chỉnh nên có thể "
                 f"khác số tính toán; dấu {DIFFERS_MARK} ở cột Ghi chú: hai số khác nhau quá mức làm tròn; So kế "
                 "hoạch (%) = Thực hiện năm / Kế hoạch năm × 100; Kế hoạch năm của chỉ tiêu tăng trưởng = Thực hiện "
                 "năm trước × (1 + mức tăng kế hoạch), tính theo số liệu lưu trong kho, không theo số báo cáo. Ô "
                 "trống: chưa có số liệu, Sở không báo cáo hoặc không có kế hoạch.")
        ws.merge_cells(start_row=row_no + 1, start_column=1, end_row=row_no + 1, end_column=len(XLSX_HEADERS))
        note = ws.cell(row=row_no + 1, column=1, value=notes)
        note.font = Font(name="Times New Roman", italic=True, size=11)
        note.alignment = Alignment(wrap_text=True, vertical="top")
        ws.row_dimensions[row_no + 1].height = 80
        ws.freeze_panes = ws.cell(row=HEADER_ROW + 2, column=4)
        ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW + 1}"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


# --------------------------------------------------------------------------- command line


def _progress(index: int, total: int, region: RegionData) -> None:
    if total > 1:
        print(f"[{index}/{total}] {region.name_vi}", file=sys.stderr, flush=True)


def write_report(engine: Engine, year: int, fmt: str, out: Path | None = None, region: str | None = None,
                 conv: str = "vi", progress: Callable[[int, int, RegionData], None] | None = _progress) -> Path | str:
    """Render the report; write it to ``out`` (returns the path), or return the text when
    ``out`` is None for html/md."""
    data = load_report_data(engine, year, region)
    if fmt == "xlsx":
        if out is None:
            raise ValueError("an XLSX report needs a path")
        return render_xlsx(data, out, conv, progress)
    text = (render_html if fmt == "html" else render_markdown)(data, conv, progress)
    if out is None:
        return text
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return out


def cmd_report(args) -> int:
    from etl.cli import _engine_and_settings

    engine, _ = _engine_and_settings()
    out = Path(args.out) if args.out else None
    if out is None and args.format in ("html", "xlsx"):
        out = Path(f"statwh-report-{args.year}{'-' + args.region if args.region else ''}.{args.format}")
    result = write_report(engine, args.year, args.format, out, args.region, args.numbers)
    if isinstance(result, Path):
        print(result)
    else:
        sys.stdout.write(result)
    return 0


def register(sub) -> None:
    from etl.cli import year_argument

    p = sub.add_parser("report", help="a readable report of a year: HTML with charts, XLSX or Markdown")
    p.add_argument("--year", type=year_argument, required=True)
    p.add_argument("--region", help="GSO region code, e.g. 74 (default: every region with figures)")
    p.add_argument("--format", choices=("html", "xlsx", "md"), default="html")
    p.add_argument("--out", metavar="PATH", help="file to write (default: statwh-report-YEAR[-REGION].html|xlsx "
                                                  "in the current folder; md goes to standard output)")
    p.add_argument("--numbers", choices=("vi", "en"), default="vi",
                   help="number convention of the text (default vi: 231.578,5); XLSX cells are numbers "
                        "shown in the reader's Excel locale")
    p.set_defaults(func=cmd_report)
