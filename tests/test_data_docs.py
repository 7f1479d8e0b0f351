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
    # each result page says which file it is about (its run, named after the file: every page was
    # "__none__"), and the index links to every page (GX fills it from scripts the offline copy drops)
    assert "Validations / monthly / bad_2021_12 / " in failed
    links = re.findall(r'<a href="((?:validations|expectations)/[^"]+)"', index.read_text(encoding="utf-8"))
    assert sorted(links) == sorted(p.relative_to(site).as_posix() for p in pages if p != index
                                   and p.relative_to(site).parts[0] in ("validations", "expectations"))
    assert sum(link.startswith("validations/monthly/bad_2021_12/") and link.endswith("bad_2021-12.csv.html")
               for link in links) == 1


def _text(page) -> str:
    html = page.read_text(encoding="utf-8")
    body = html[html.find("<body"):]
    body = re.sub(r"<style.*?</style>", " ", body, flags=re.DOTALL)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))
