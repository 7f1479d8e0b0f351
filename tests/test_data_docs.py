"""Great Expectations Data Docs that open without network access."""

from __future__ import annotations

import re

from etl.data_docs import build_data_docs
from etl.validation import load_suite_definition
from tests.conftest import SAMPLE_DIR, write_csv

EXTERNAL = re.compile(r'<(?:script|link|img)[^>]*(?:src|href)="https?://', re.IGNORECASE)


def test_data_docs_are_static_offline_html_with_the_suites_and_results(tmp_path, statwh_home):
    bad = write_csv(tmp_path, "bad_2021-12.csv", "region_code;indicator_code;period;value;unit;status\n"
                    "74;RETAIL;2021-12;21.000,5;tỷ đồng;official\n99;RETAIL;2021-12;1,5;tỷ đồng;official\n")
    index = build_data_docs(tmp_path / "docs", [SAMPLE_DIR / "74_binh_duong_2020-2022.csv", bad])
    site = index.parent
    pages = list(site.rglob("*.html"))
    assert index.exists() and len(pages) >= 5
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert not EXTERNAL.search(html), page                       # nothing fetched from a CDN
        assert "statwh-offline.css" in html
    assert (site / "statwh-offline.css").exists()
    suites = {p.stem for p in (site / "expectations").rglob("*.html")}
    assert {"monthly", "plan", "monthly_structure", "plan_structure"} <= suites
    monthly = _text(site / "expectations" / "monthly.html")
    assert "Values for given compound columns must be unique together: region_code , indicator_code , period" in monthly
    assert f"{len(load_suite_definition('monthly')['expectations'])} total Expectations" in monthly  # every one
    results = sorted(_text(p) for p in (site / "validations").rglob("*.html"))
    assert len(results) == 2
    assert sum("Status: Succeeded" in r for r in results) == 1            # the sample
    failed = next(r for r in results if "Status: Failed" in r)          # the bad file: region 99
    assert "Unsuccessful Expectations 1" in failed


def _text(page) -> str:
    html = page.read_text(encoding="utf-8")
    body = html[html.find("<body"):]
    body = re.sub(r"<style.*?</style>", " ", body, flags=re.DOTALL)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))
