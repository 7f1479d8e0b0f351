"""The bundled sample is reproducible and its years add up to the seeds' figures."""

from __future__ import annotations

from decimal import Decimal

import openpyxl

from etl.sample_data import SAMPLE_DIR, monthly_rows, write_sample


def test_regenerating_the_sample_gives_the_committed_files_byte_for_byte(tmp_path):
    """Byte for byte, the workbook too: the warehouse knows a file by its checksum, so a sample
    written again must be recognised as already processed, not loaded as a new batch."""
    written = write_sample(tmp_path)
    assert len(written) == 3
    for path in written:
        assert path.read_bytes() == (SAMPLE_DIR / path.name).read_bytes(), path.name
    workbook = openpyxl.load_workbook(tmp_path / "83_ben_tre_2020-2022.xlsx", read_only=True)
    assert next(workbook.active.iter_rows(values_only=True))[:3] == ("region_code", "indicator_code", "period")


def _total(region, indicator, year):
    return sum(r["value"] for r in monthly_rows()
               if (r["region_code"], r["indicator_code"]) == (region, indicator) and r["period"].startswith(str(year)))


def test_2021_totals_are_the_published_figures():
    published = {("74", "RETAIL"): "231578", ("74", "EXPORT"): "31500", ("74", "IMPORT"): "24690",
                 ("74", "ELEC_SOLD"): "14000", ("74", "BOTT_REVENUE"): "1730.9", ("74", "FAIRS"): "8",
                 ("83", "IND_OUTPUT"): "35400", ("83", "RETAIL"): "49000", ("83", "EXPORT"): "1302.9",
                 ("83", "IMPORT"): "900"}
    for (region, indicator), value in published.items():
        assert _total(region, indicator, 2021) == Decimal(value), (region, indicator)


def test_2020_totals_give_the_published_growth_rates():
    growth = {("74", "RETAIL"): "3.4", ("74", "EXPORT"): "13.5", ("74", "IMPORT"): "14.7",
              ("74", "ELEC_SOLD"): "-1.6", ("83", "IND_OUTPUT"): "5.36", ("83", "RETAIL"): "1.95",
              ("83", "EXPORT"): "-6.76", ("83", "IMPORT"): "80.07"}
    for (region, indicator), rate in growth.items():
        places = Decimal(1).scaleb(-len(rate.split(".")[1]))
        computed = (_total(region, indicator, 2021) / _total(region, indicator, 2020) * 100 - 100).quantize(places)
        assert computed == Decimal(rate), (region, indicator, computed)


def test_every_month_of_three_years_is_present_for_each_series():
    series = {}
    for r in monthly_rows():
        series.setdefault((r["region_code"], r["indicator_code"]), set()).add(r["period"])
    assert len(series) == 15
    assert all(len(periods) == 36 for periods in series.values())
