"""Reports as a reader gets them: the HTML page (also rendered by a real headless browser),
the XLSX workbook and the Markdown table, from the sample loaded into DuckDB and PostgreSQL."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from etl.cli import main
from etl.reports import load_report_data, render_html, render_markdown, render_xlsx, write_report
from tests.conftest import REPO

ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")


# --------------------------------------------------------------------------- HTML


class _Collect(HTMLParser):
    """Every element with its attributes, and which <svg data-testid> it sits in."""

    def __init__(self):
        super().__init__()
        self.elements: list[tuple[str, dict, str | None]] = []
        self._svg: list[str | None] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "svg":
            self._svg.append(attrs.get("data-testid"))
        self.elements.append((tag, attrs, self._svg[-1] if self._svg else None))

    def handle_endtag(self, tag):
        if tag == "svg" and self._svg:
            self._svg.pop()

    def handle_data(self, data):
        self.text.append(data)

    def svgs(self) -> dict[str, dict]:
        return {a["data-testid"]: a for t, a, _ in self.elements if t == "svg" and a.get("data-testid")}

    def marks(self, testid: str) -> list[tuple[str, dict]]:
        """Drawn marks inside a chart: bars with a width, paths with a shape."""
        out = []
        for tag, attrs, svg in self.elements:
            if svg != testid:
                continue
            if tag == "rect" and attrs.get("data-series") and float(attrs.get("width", 0)) > 0:
                out.append((tag, attrs))
            if tag == "path" and attrs.get("data-series") and len(attrs.get("d", "")) > 3:
                out.append((tag, attrs))
        return out


def _parse(page: str) -> _Collect:
    parser = _Collect()
    parser.feed(page)
    return parser


def _plan_row(page: str, region: str, indicator: str) -> str:
    table = page.split(f'data-testid="plan-gap-{region}"', 1)[1].split("</table>", 1)[0]
    return table.split(f'data-indicator="{indicator}"', 1)[1].split("</tr>", 1)[0]


def _assert_self_contained(page: str) -> None:
    assert "<script" not in page.lower()
    assert "<link" not in page.lower() and "@import" not in page and "url(" not in page
    assert not re.search(r"""\b(src|href)\s*=\s*["']?(https?:)?//""", page), "fetches something"
    assert "cdn" not in page.lower()


def test_html_report_2021_both_regions(sample_warehouse):
    page = write_report(sample_warehouse, 2021, "html", progress=None)
    _assert_self_contained(page)
    assert "Báo cáo thực hiện kế hoạch năm 2021" in page and "(Plan attainment report 2021)" in page
    assert page.count("<tr data-indicator=") == 7                      # 6 plan targets in 74, 1 in 83
    retail = _plan_row(page, "74", "RETAIL")
    for shown in ("231.578", "+3,4%", "+16%", "259.797,3", "89,1%", "−12,6"):
        assert shown in retail, shown
    assert "101,3%" in _plan_row(page, "74", "EXPORT")
    assert "95,7%" in _plan_row(page, "74", "IIP") and "−4,69" in _plan_row(page, "74", "IIP")
    assert "100%" in _plan_row(page, "83", "WIND_MW")
    assert "Thực hiện" in page and "(Actual)" in page and "Đạt % KH" in page and "(Attainment)" in page

    dom = _parse(page)
    charts = dom.svgs()
    for testid in ("chart-plan-vs-actual-74", "chart-growth-vs-target-74", "chart-monthly-74-RETAIL",
                   "chart-monthly-74-IIP", "chart-plan-vs-actual-83", "chart-monthly-83-WIND_MW"):
        assert testid in charts, testid
        svg = charts[testid]
        assert svg["role"] == "img" and svg["aria-label"]
        assert dom.marks(testid), f"{testid} draws nothing"
    assert "chart-growth-vs-target-83" not in charts                   # Bến Tre has no growth target
    # plan vs actual: a plan bar and an actual bar per target
    series = [a["data-series"] for _, a in dom.marks("chart-plan-vs-actual-74")]
    assert series.count("plan") == 6 and series.count("actual") == 6
    growth = [a["data-series"] for _, a in dom.marks("chart-growth-vs-target-74")]
    assert growth.count("target") == 4 and growth.count("actual") == 4  # IIP, RETAIL, EXPORT, IMPORT
    # a flow's chart has the months, the year to date and the previous year's of both
    retail_lines = {a["data-series"] for _, a in dom.marks("chart-monthly-74-RETAIL")}
    assert retail_lines == {"value", "value-prev-year", "ytd", "ytd-prev-year"}
    # every chart has an accessible title
    titles = page.count("<title id=")
    assert titles == len(charts)


def test_html_report_one_region_english_numbers(sample_warehouse):
    page = write_report(sample_warehouse, 2021, "html", region="74", conv="en", progress=None)
    assert 'data-testid="region-74"' in page and 'data-testid="region-83"' not in page
    assert page.count("<tr data-indicator=") == 6
    retail = _plan_row(page, "74", "RETAIL")
    assert "89.1%" in retail and "231,578" in retail and "259,797.3" in retail


def test_markdown_report(sample_warehouse):
    text = write_report(sample_warehouse, 2021, "md", progress=None)
    assert "## Bình Dương (Binh Duong) — 74" in text and "## Bến Tre (Ben Tre) — 83" in text
    # the sample is in the long format: no reported growth, a dash beside the computed one
    assert ("| 2 | Tổng mức bán lẻ hàng hóa và doanh thu dịch vụ tiêu dùng (RETAIL) | tỷ đồng | 231.578 | +3,4% | — "
            "| +16% | 259.797,3 | 89,1% | −12,6 |") in text
    assert ("| 1 | Công suất điện gió hòa lưới điện quốc gia (WIND_MW) | MW | 93,7 | — | — | 93,7 | 93,7 | 100% | — |"
            in text)
    assert sum(1 for line in text.splitlines() if re.match(r"\| \d+ \|", line)) == 7


# --------------------------------------------------------------------------- XLSX


def test_xlsx_report_government_layout(sample_warehouse, tmp_path):
    from openpyxl import load_workbook

    path = write_report(sample_warehouse, 2021, "xlsx", tmp_path / "bao_cao_2021.xlsx", progress=None)
    wb = load_workbook(path)
    assert wb.sheetnames == ["74 Bình Dương", "83 Bến Tre"]
    ws = wb["74 Bình Dương"]
    assert ws["A1"].value == "UBND TỈNH BÌNH DƯƠNG" and ws["A2"].value == "SỞ CÔNG THƯƠNG"
    assert ws["A4"].value == "BÁO CÁO KẾT QUẢ THỰC HIỆN CÁC CHỈ TIÊU NĂM 2021"
    assert [c.value for c in ws[8]] == ["STT", "Chỉ tiêu", "Đơn vị", "Thực hiện năm trước", "Kế hoạch năm",
                                        "Thực hiện năm", "So cùng kỳ tính toán (%)", "So cùng kỳ theo báo cáo (%)",
                                        "So kế hoạch (%)", "Ghi chú"]
    assert ws.freeze_panes == "D10"
    assert ws.column_dimensions["B"].width >= 40 and ws.column_dimensions["D"].width >= 14
    rows = {r[1].value: r for r in ws.iter_rows(min_row=10) if isinstance(r[0].value, int)}
    retail = rows["Tổng mức bán lẻ hàng hóa và doanh thu dịch vụ tiêu dùng"]
    assert retail[0].value == 2 and retail[2].value == "tỷ đồng"
    assert retail[5].value == pytest.approx(231578)                   # numbers, not text
    assert retail[4].value == pytest.approx(259797.3, abs=0.1)
    assert retail[3].value == pytest.approx(223963.2, abs=0.1)
    assert round(retail[6].value, 1) == 103.4 and round(retail[8].value, 1) == 89.1
    assert retail[7].value is None                                      # the sample reports no growth
    assert retail[5].number_format == "#,##0.0" and retail[8].number_format == "0.0"
    assert "16%" in retail[9].value
    fairs = rows["Phiên chợ đưa hàng Việt về nông thôn"]
    assert fairs[5].value == 8 and fairs[5].number_format == "#,##0" and fairs[8].value == pytest.approx(80)
    trade = rows["Cán cân thương mại (xuất khẩu trừ nhập khẩu)"]
    assert trade[5].value == 6810 and trade[4].value is None            # no plan: an empty cell
    assert "IIP_MONTH" not in {r[1].value for r in rows.values()}       # a monthly index has no year
    bt = wb["83 Bến Tre"]
    wind = next(r for r in bt.iter_rows(min_row=10) if r[1].value == "Công suất điện gió hòa lưới điện quốc gia")
    assert wind[5].value == pytest.approx(93.7) and wind[8].value == pytest.approx(100)


# --------------------------------------------------------------------------- command line


def test_report_command_reports_progress(sample_warehouse, tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["report", "--year", "2021", "--format", "html", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == str(out)
    assert "[1/2] Bình Dương" in captured.err and "[2/2] Bến Tre" in captured.err
    assert "89,1%" in out.read_text(encoding="utf-8")
    assert main(["report", "--year", "2021", "--region", "83", "--format", "md"]) == 0
    captured = capsys.readouterr()
    assert "WIND_MW" in captured.out and "[1/" not in captured.err   # one region: no progress lines


def test_a_year_without_figures_still_renders(sample_warehouse, tmp_path):
    data = load_report_data(sample_warehouse, 1999)
    assert data.regions == []
    assert "Không có số liệu năm 1999" in render_html(data)
    assert "Không có số liệu năm 1999" in render_markdown(data)
    assert render_xlsx(data, tmp_path / "empty.xlsx").is_file()


# --------------------------------------------------------------------------- headless browser


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's chromium, which `make test` installs when missing (scripts/ensure-chromium.sh).
    Never a skip: a missing browser fails this test."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: run scripts/ensure-chromium.sh (or apt-get install -y chromium)")
    return CHROMIUM


def _chromium(binary: Path, profile: Path, *args: str) -> subprocess.CompletedProcess:
    command = [str(binary), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-dev-shm-usage", f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)
def test_report_renders_in_a_headless_browser(sample_warehouse, chromium, tmp_path):
    page = tmp_path / "report-2021.html"
    write_report(sample_warehouse, 2021, "html", page, progress=None)
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy2(page, ARTIFACTS / "report-2021.html")
    shot = ARTIFACTS / "report-2021.png"
    shot.unlink(missing_ok=True)

    done = _chromium(chromium, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,2400",
                     page.as_uri())
    assert shot.is_file(), done.stderr[-2000:]
    assert _png_size(shot) == (1280, 2400)
    assert shot.stat().st_size > 100_000, "the screenshot is (nearly) blank"

    dom = _chromium(chromium, tmp_path / "profile-dom", "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    rendered = _parse(dom.stdout)
    charts = rendered.svgs()
    assert {"chart-plan-vs-actual-74", "chart-growth-vs-target-74", "chart-monthly-74-RETAIL",
            "chart-plan-vs-actual-83", "chart-monthly-83-WIND_MW"} <= set(charts)
    for testid in charts:
        assert rendered.marks(testid), f"{testid} has no bars or lines in the rendered DOM"
    assert "89,1%" in "".join(rendered.text)
