"""The bundled sample: monthly figures of Bình Dương (74) and Bến Tre (83), 2020-01 to
2022-12, and their 2021-2022 plan targets, generated reproducibly.

The annual totals are fixed first, then split into months: 2021 equals the seeds'
published figures (``../shared/seeds``; PRODUCT.md's table) and 2020 is the 2021
figure divided by the published growth, rounded to the report's precision, so
growth computed from the months equals the published rate. 2022 values and the
months themselves are synthetic (a fixed seasonal pattern and a deterministic
per-year wobble; no random generator, so any machine writes the same figures).

Files written (what a department would send):

- ``74_binh_duong_2020-2022.csv``: ``;``-separated, numbers written the Vietnamese way;
  electricity in tỷ kWh (converted to the canonical triệu kWh on ingest);
- ``83_ben_tre_2020-2022.xlsx``: spreadsheet numbers; exports in nghìn USD;
- ``plan_targets_2021-2022.csv``: ``,``-separated with quoted Vietnamese decimals and a
  ``# number_format: vi`` line.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from etl.config import REPO_ROOT

SAMPLE_DIR = REPO_ROOT / "sample_data" / "landing"
YEARS = (2020, 2021, 2022)

# Seasonal weights by month (Jan..Dec). Retail peaks before Tết and at year end;
# trade and output dip in the Tết month; the stabilisation programme is sold around Tết.
_SEASONAL = {
    "retail": (1.10, 1.02, 0.93, 0.95, 0.97, 0.96, 0.98, 0.99, 0.98, 1.01, 1.03, 1.08),
    "trade": (0.93, 0.78, 1.02, 1.00, 1.01, 1.03, 1.04, 1.05, 1.03, 1.02, 1.04, 1.05),
    "output": (0.96, 0.80, 1.01, 1.01, 1.02, 1.03, 1.02, 1.03, 1.02, 1.03, 1.03, 1.04),
    "energy": (0.90, 0.86, 1.00, 1.05, 1.08, 1.05, 1.03, 1.02, 1.00, 1.00, 0.99, 1.02),
    "bott": (2.60, 2.20, 0.70, 0.55, 0.55, 0.55, 0.60, 0.65, 0.70, 0.80, 0.95, 2.15),
}

# (region, indicator, unit written in the file, seasonal pattern, annual totals by year in
# the canonical unit, decimals of the monthly figures in the canonical unit)
_FLOWS = [
    ("74", "RETAIL", "tỷ đồng", "retail", {2020: "223963.2", 2021: "231578", 2022: "262841.0"}, 1),
    ("74", "EXPORT", "triệu USD", "trade", {2020: "27753.3", 2021: "31500", 2022: "34020.0"}, 1),
    ("74", "IMPORT", "triệu USD", "trade", {2020: "21525.7", 2021: "24690", 2022: "26418.3"}, 1),
    ("74", "ELEC_SOLD", "tỷ kWh", "energy", {2020: "14227.6", 2021: "14000", 2022: "14700.0"}, 1),
    ("74", "BOTT_REVENUE", "tỷ đồng", "bott", {2020: "1650.0", 2021: "1730.9", 2022: "1802.4"}, 1),
    ("83", "IND_OUTPUT", "tỷ đồng", "output", {2020: "33599.1", 2021: "35400", 2022: "37878.0"}, 1),
    ("83", "RETAIL", "tỷ đồng", "retail", {2020: "48062.8", 2021: "49000", 2022: "55370.0"}, 1),
    ("83", "EXPORT", "nghìn USD", "trade", {2020: "1397.4", 2021: "1302.9", 2022: "1419.6"}, 1),
    ("83", "IMPORT", "triệu USD", "trade", {2020: "499.8", 2021: "900", 2022: "954.0"}, 1),
]

# Fairs held per month (a count; 2021 totals 8, against a plan of 10).
_FAIRS_74 = {
    2020: (0, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1),
    2021: (0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 2, 2),
    2022: (0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1),
}
# Cumulative IIP (Jan..month vs same period last year = 100): December 2020 = 108,02
# (+8,02%), December 2021 = 104,51 (+4,51%), as published; 2022 synthetic.
_IIP_74 = {
    2020: ("101.50", "104.20", "105.10", "104.60", "105.20", "105.80", "106.30", "106.90", "107.30", "107.60", "107.80", "108.02"),
    2021: ("106.20", "103.50", "106.80", "108.10", "108.90", "108.40", "107.00", "104.90", "103.60", "103.90", "104.20", "104.51"),
    2022: ("103.10", "105.70", "106.40", "107.00", "107.50", "107.90", "108.30", "108.60", "108.70", "108.50", "108.45", "108.40"),
}
# Month vs same month of last year = 100 (synthetic, in keeping with the cumulative path).
_IIP_MONTH_74 = {
    2020: ("101.50", "107.40", "106.90", "103.10", "107.50", "108.80", "109.20", "110.80", "110.40", "110.00", "109.60", "110.30"),
    2021: ("106.20", "100.30", "113.10", "111.90", "112.00", "106.00", "99.20", "90.10", "93.40", "106.50", "107.20", "108.00"),
    2022: ("103.10", "108.70", "107.80", "108.80", "109.40", "109.90", "110.60", "110.70", "109.40", "106.90", "108.00", "107.90"),
}
_HH_ELECTRIFIED_74 = {2020: "99.98", 2021: "99.99", 2022: "99.99"}
# Wind power connected to the grid (MW, stock): first farms connected in the second half of 2021.
_WIND_83 = {
    2020: ("0",) * 12,
    2021: ("0", "0", "0", "0", "0", "0", "0", "0", "30", "30", "60", "93.7"),
    2022: ("93.7",) * 12,
}

_PLANS = [
    # region, indicator, year, kind, value (as written, Vietnamese way), unit
    ("74", "IIP", 2021, "growth_pct", "9,2", "%"),
    ("74", "IIP", 2022, "growth_pct", "8,9", "%"),
    ("74", "RETAIL", 2021, "growth_pct", "16", "%"),
    ("74", "RETAIL", 2022, "growth_pct", "16", "%"),
    ("74", "EXPORT", 2021, "growth_pct", "12", "%"),
    ("74", "EXPORT", 2022, "growth_pct", "14,5", "%"),
    ("74", "IMPORT", 2021, "growth_pct", "13", "%"),
    ("74", "IMPORT", 2022, "growth_pct", "17", "%"),
    ("74", "BOTT_REVENUE", 2021, "level", "1.711,1", "tỷ đồng"),
    ("74", "FAIRS", 2021, "level", "10", "phiên"),
    ("74", "FAIRS", 2022, "level", "10", "phiên"),
    ("83", "WIND_MW", 2021, "level", "93,7", "MW"),
]

_UNIT_FACTOR_FROM_CANONICAL = {"tỷ kWh": Decimal("0.001"), "nghìn USD": Decimal("1000")}


def _wobble(*key: object) -> Decimal:
    """A deterministic factor in [0.97, 1.03] from a hash of the key."""
    digest = hashlib.sha256("|".join(map(str, key)).encode()).digest()
    return Decimal(970 + int.from_bytes(digest[:4], "big") % 61) / 1000


def split_year(total: Decimal, weights: tuple[float, ...], decimals: int, *key: object) -> list[Decimal]:
    """Twelve monthly values (rounded to ``decimals``) that add up exactly to ``total``."""
    quantum = Decimal(1).scaleb(-decimals)
    w = [Decimal(str(x)) * _wobble(*key, m) for m, x in enumerate(weights, start=1)]
    months = [(total * wi / sum(w)).quantize(quantum, ROUND_HALF_UP) for wi in w[:11]]
    months.append(total - sum(months))
    return months


def vi_number(value: Decimal) -> str:
    """Write a number the Vietnamese way: ``.`` groups thousands, ``,`` marks decimals."""
    sign = "-" if value < 0 else ""
    whole, _, fraction = f"{abs(value):f}".partition(".")
    grouped = f"{int(whole):,}".replace(",", ".")
    return sign + grouped + ("," + fraction if fraction else "")


def monthly_rows() -> list[dict[str, object]]:
    """Every sample figure, in canonical units, as Decimals."""
    rows: list[dict[str, object]] = []

    def add(region, indicator, unit, year, values):
        for month, value in enumerate(values, start=1):
            status = "estimate" if (year, month) == (2022, 12) else "official"
            rows.append({"region_code": region, "indicator_code": indicator, "period": f"{year}-{month:02d}",
                         "value": Decimal(value), "unit": unit, "status": status})

    for region, indicator, unit, pattern, totals, decimals in _FLOWS:
        for year in YEARS:
            add(region, indicator, unit, year,
                split_year(Decimal(totals[year]), _SEASONAL[pattern], decimals, region, indicator, year))
    for year in YEARS:
        exports = [r["value"] for r in rows if (r["region_code"], r["indicator_code"]) == ("74", "EXPORT")
                   and str(r["period"]).startswith(str(year))]
        imports = [r["value"] for r in rows if (r["region_code"], r["indicator_code"]) == ("74", "IMPORT")
                   and str(r["period"]).startswith(str(year))]
        add("74", "TRADE_BALANCE", "triệu USD", year, [e - i for e, i in zip(exports, imports)])
        add("74", "IIP", "%", year, _IIP_74[year])
        add("74", "IIP_MONTH", "%", year, _IIP_MONTH_74[year])
        add("74", "HH_ELECTRIFIED_PCT", "%", year, [_HH_ELECTRIFIED_74[year]] * 12)
        add("74", "FAIRS", "count", year, _FAIRS_74[year])
        add("83", "WIND_MW", "MW", year, _WIND_83[year])
    return rows


def _as_written(row: dict[str, object]) -> Decimal:
    factor = _UNIT_FACTOR_FROM_CANONICAL.get(str(row["unit"]), Decimal(1))
    return (row["value"] * factor).normalize()  # type: ignore[operator]


#: the time written into the sample workbook, instead of the time it was written
_SAMPLE_WRITTEN = (2022, 1, 15, 0, 0, 0)


def _save_reproducibly(workbook, path: Path) -> None:
    """Save ``workbook`` with the same bytes every time: openpyxl stamps the save time into
    docProps/core.xml and every zip entry, so each ``statwh sample`` made a file the warehouse
    had not seen (by checksum) and a run loaded it again as a new batch."""
    buffer = io.BytesIO()
    workbook.save(buffer)
    stamp = "%04d-%02d-%02dT%02d:%02d:%02dZ" % _SAMPLE_WRITTEN
    with zipfile.ZipFile(buffer) as saved, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for entry in saved.infolist():
            data = saved.read(entry.filename)
            if entry.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp.encode(), data)
            out.writestr(zipfile.ZipInfo(entry.filename, date_time=_SAMPLE_WRITTEN), data,
                         compress_type=zipfile.ZIP_DEFLATED)


def write_sample(out_dir: Path = SAMPLE_DIR) -> list[Path]:
    """Write the three sample files into ``out_dir``; returns their paths."""
    import openpyxl

    out_dir.mkdir(parents=True, exist_ok=True)
    rows = monthly_rows()
    header = ["region_code", "indicator_code", "period", "value", "unit", "status", "department_code", "note"]

    bd = out_dir / "74_binh_duong_2020-2022.csv"
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(header)
    for r in (r for r in rows if r["region_code"] == "74"):
        writer.writerow([r["region_code"], r["indicator_code"], r["period"], vi_number(_as_written(r)),
                         r["unit"], r["status"], "SCT-BD", ""])
    bd.write_text(buffer.getvalue(), encoding="utf-8")

    bt = out_dir / "83_ben_tre_2020-2022.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "so_lieu"
    sheet.append(header)
    for r in (r for r in rows if r["region_code"] == "83"):
        value = _as_written(r)
        sheet.append([r["region_code"], r["indicator_code"], r["period"],
                      int(value) if value == value.to_integral_value() else float(value),
                      r["unit"], r["status"], "SCT-BT", None])
    _save_reproducibly(workbook, bt)

    plans = out_dir / "plan_targets_2021-2022.csv"
    buffer = io.StringIO()
    buffer.write("# number_format: vi\n")
    writer = csv.writer(buffer, delimiter=",", lineterminator="\n")
    writer.writerow(["region_code", "indicator_code", "year", "target_kind", "target_value", "unit", "note"])
    for region, indicator, year, kind, value, unit in _PLANS:
        writer.writerow([region, indicator, year, kind, value, unit, "KH theo báo cáo năm 2021"])
    plans.write_text(buffer.getvalue(), encoding="utf-8")
    return [bd, bt, plans]
