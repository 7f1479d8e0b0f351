"""The departments' report layout (XLSX and CSV) read into the long format, indicator names
matched through the name mapping, the report's own YTD and growth cross-checked against the
warehouse, and the blank template (`statwh template`)."""

from __future__ import annotations

import csv
import json
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa

from etl.cli import main as statwh
from etl.pipeline import ingest_file, ingest_paths
from etl.reference import load_reference
from etl.report_layout import match_indicator_name, name_key
from etl.report_template import HEADER_ROW, write_template
from etl.submission import prepare_submission
from etl.warehouse import WAREHOUSE_TABLES, table_contents
from tests.conftest import SAMPLE_DIR, write_csv

DATA_TABLES = tuple(t for t in WAREHOUSE_TABLES if not t.startswith("dw.audit"))
BD_SAMPLE = SAMPLE_DIR / "74_binh_duong_2020-2022.csv"
FLOWS = {"RETAIL", "EXPORT", "IMPORT", "TRADE_BALANCE", "ELEC_SOLD", "BOTT_REVENUE", "FAIRS"}


def _sample() -> dict[tuple[str, str], tuple[Decimal, str]]:
    """(indicator, period) -> (value as written, unit as written) of Bình Dương's sample."""
    with BD_SAMPLE.open(encoding="utf-8") as handle:
        return {(r["indicator_code"], r["period"]): (Decimal(r["value"].replace(".", "").replace(",", ".")), r["unit"])
                for r in csv.DictReader(handle, delimiter=";")}


def _pct(numerator: Decimal, denominator: Decimal) -> Decimal:
    return (numerator / denominator * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)


def _report_figures(code: str, period: str = "2021-12") -> dict[str, Decimal | str]:
    """What a department's December 2021 report says for one indicator, from the sample."""
    sample = _sample()
    year, month = int(period[:4]), int(period[5:])
    value, unit = sample[(code, period)]
    figures: dict[str, Decimal | str] = {"value": value, "unit": unit}
    if code in FLOWS:
        ytd = sum(sample[(code, f"{year}-{m:02d}")][0] for m in range(1, month + 1))
        ytd_prev = sum(sample[(code, f"{year - 1}-{m:02d}")][0] for m in range(1, month + 1))
        same, previous = sample[(code, f"{year - 1}-{month:02d}")][0], sample[(code, f"{year}-{month - 1:02d}")][0]
        figures.update(same=same, previous=previous, ytd=ytd, pct_previous=_pct(value, previous),
                       pct_same=_pct(value, same), pct_ytd=_pct(ytd, ytd_prev))
    return figures


TEMPLATE_COLUMNS = {"same": 5, "previous": 6, "value": 7, "ytd": 8, "pct_previous": 9, "pct_same": 10, "pct_ytd": 11}


def _filled_template(folder: Path, name: str = "bao_cao_74_2021-12.xlsx", change: dict | None = None) -> Path:
    """The blank template for Bình Dương, December 2021, filled in from the sample."""
    path = write_template("74", "2021-12", folder / name)
    workbook = openpyxl.load_workbook(path)
    sheet = workbook.active
    row = HEADER_ROW + 2
    while sheet.cell(row=row, column=2).value:
        code = sheet.cell(row=row, column=2).value
        figures = _report_figures(code)
        figures.update((change or {}).get(code, {}))
        sheet.cell(row=row, column=4).value = figures["unit"]  # the sample writes electricity in tỷ kWh
        for key, column in TEMPLATE_COLUMNS.items():
            if key in figures:
                sheet.cell(row=row, column=column).value = float(figures[key])
        row += 1
    workbook.save(path)
    return path


def _row_of(path: Path, code: str) -> int:
    sheet = openpyxl.load_workbook(path).active
    return next(r for r in range(1, sheet.max_row + 1) if sheet.cell(row=r, column=2).value == code)


def _december(engine, codes=None) -> dict[str, tuple[float, str]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT indicator_code, value, status FROM analytics.v_monthly_figure "
            "WHERE region_code = '74' AND month_key = 202112")).fetchall()
    return {code: (value, status) for code, value, status in rows if codes is None or code in codes}


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize("written, code", [
    ("Tổng mức bán lẻ hàng hóa và doanh thu dịch vụ tiêu dùng", "RETAIL"),
    ("Tổng mức BLHH và DTDVTD", "RETAIL"),
    ("TỔNG MỨC BLHH VÀ DTDVTD", "RETAIL"),
    ("tong muc ban le hang hoa va doanh thu dich vu tieu dung", "RETAIL"),
    ("Tổng mức bán lẻ hàng hoá, doanh thu dịch vụ tiêu dùng", "RETAIL"),   # hoá, and a comma
    ("1. Tổng mức BLHH & DTDVTD", "RETAIL"),                                # numbering, &
    ("KNXK", "EXPORT"),
    ("- Kim ngạch xuất khẩu", "EXPORT"),
    ("Kim ngạch nhập khẩu hàng hóa", "IMPORT"),
    ("Sản lượng điện thương phẩm", "ELEC_SOLD"),
    ("Tỉ lệ hộ dân sử dụng điện", "HH_ELECTRIFIED_PCT"),                    # tỉ = tỷ
    ("Export turnover", "EXPORT"),                                          # the catalogue's English name
])
def test_indicator_names_match_whatever_the_case_diacritics_and_synonym(written, code):
    match = match_indicator_name(written)
    assert match is not None and match.indicator_code == code


def test_the_iip_row_of_a_report_is_both_indexes_and_unknown_names_match_nothing():
    iip = match_indicator_name("Chỉ số sản xuất công nghiệp (IIP)")
    assert (iip.indicator_code, iip.ytd_indicator_code) == ("IIP_MONTH", "IIP")
    assert match_indicator_name("Doanh thu du lịch") is None
    assert match_indicator_name("Nhập siêu") is None          # a deficit written positive: never guessed
    assert name_key("  II.  Kim ngạch XUẤT khẩu (*)") == "kim ngach xuat khau"


# --------------------------------------------------------------------------- template


def test_the_template_lists_what_the_department_reports_and_says_where_and_when(tmp_path):
    assert statwh(["template", "--region", "74", "--month", "2021-12", "--out", str(tmp_path / "t.xlsx")]) == 0
    sheet = openpyxl.load_workbook(tmp_path / "t.xlsx").active
    labels = {sheet.cell(row=r, column=2).value: sheet.cell(row=r, column=3).value for r in range(1, HEADER_ROW)}
    assert (labels["Mã tỉnh:"], labels["Tháng:"], labels["Mã đơn vị:"]) == ("74", "12/2021", "SCT-BD")
    header = [c.value for c in sheet[HEADER_ROW]]
    assert header[:4] == ["STT", "Mã chỉ tiêu", "Chỉ tiêu", "Đơn vị"] and "Thực hiện tháng 12/2021" in header
    codes = [sheet.cell(row=r, column=2).value for r in range(HEADER_ROW + 2, HEADER_ROW + 12)]
    assert codes == ["IIP", "IIP_MONTH", "RETAIL", "EXPORT", "IMPORT", "TRADE_BALANCE", "ELEC_SOLD",
                     "HH_ELECTRIFIED_PCT", "BOTT_REVENUE", "FAIRS"]
    retail = HEADER_ROW + 4
    assert sheet.cell(row=retail, column=4).value == "tỷ đồng"
    value_cell = sheet.cell(row=retail, column=7)
    assert value_cell.value is None and value_cell.number_format != "General"
    assert sheet.data_validations.dataValidation                       # numbers only; status from a list
    # a region without obligations gets every catalogue indicator; a unit not in force is refused
    assert statwh(["template", "--region", "79", "--month", "2021-12", "--out", str(tmp_path / "hcm.xlsx")]) == 0
    assert openpyxl.load_workbook(tmp_path / "hcm.xlsx").active.cell(row=HEADER_ROW + 13, column=2).value == "FAIRS"
    assert statwh(["template", "--region", "74", "--month", "2025-08", "--out", str(tmp_path / "x.xlsx")]) == 2
    assert statwh(["template", "--region", "74", "--month", "12/2021", "--out", str(tmp_path / "x.xlsx")]) == 2


def test_a_blank_template_is_refused_for_having_no_figures(tmp_path):
    prepared = prepare_submission(write_template("74", "2021-12", tmp_path / "blank.xlsx"))
    assert [p.rule for p in prepared.errors] == ["not_empty"]


def test_a_formula_excel_never_calculated_is_refused_naming_its_cell(tmp_path):
    """Saved by a program that does not calculate, a formula has no value: read as an empty
    cell it would drop the figure without a word."""
    path = _filled_template(tmp_path)
    workbook = openpyxl.load_workbook(path)
    row = _row_of(path, "RETAIL")
    workbook.active.cell(row=row, column=TEMPLATE_COLUMNS["ytd"]).value = f"=G{row}*1.01"
    workbook.save(path)
    [problem] = prepare_submission(path).problems
    cell = f"H{row}"
    assert (problem.rule, problem.row) == ("file_readable", row)
    assert f"cell {cell} holds a formula without a calculated value" in problem.message


def test_a_title_line_that_says_chi_tieu_does_not_hide_the_table(engine, landing):
    """Only the header line with separators decides how the CSV is split."""
    ingest_paths([BD_SAMPLE], engine)
    plain = _csv_report(landing, "plain.csv").read_text(encoding="utf-8")
    path = write_csv(landing, "titled.csv", "Báo cáo các chỉ tiêu chủ yếu\n" + plain)
    result = ingest_file(path, engine)
    assert result.status == "loaded", result.problems
    assert result.rows_in_file == ingest_file(_csv_report(landing, "again.csv"), engine).rows_in_file


def test_a_filled_template_reads_as_the_long_format_with_the_sheets_rows(tmp_path):
    path = _filled_template(tmp_path)
    prepared = prepare_submission(path)
    assert prepared.accepted, [p.describe() for p in prepared.problems]
    frame = prepared.frame.set_index("indicator_code")
    assert frame.at["RETAIL", "source_row"] == _row_of(path, "RETAIL")
    assert frame.at["ELEC_SOLD", "value"] == pytest.approx(1172.3)     # 1,1723 tỷ kWh
    assert set(frame["period"]) == {"2021-12"} and set(frame["region_code"]) == {"74"}
    assert set(frame["status"]) == {"official"} and set(frame["department_code"]) == {"SCT-BD"}


# --------------------------------------------------------------------------- warehouse


def test_a_filled_template_loads_the_same_figures_as_the_long_format(engine, landing):
    ingest_paths([BD_SAMPLE], engine)
    before = _december(engine)
    result = ingest_file(_filled_template(landing), engine)
    assert result.status == "loaded", result.problems
    # every figure identical to the sample's; the 7 flows' new versions add only the year to date
    # the report states (which the long format cannot), and it agrees with the months
    assert (result.rows_new_version, result.rows_unchanged) == (len(FLOWS), 10 - len(FLOWS))
    assert result.problems == []                                        # its YTD, cùng kỳ and % agree
    assert _december(engine) == before
    with engine.connect() as conn:
        sources = dict(conn.execute(sa.text(
            "SELECT indicator_code, annual_source FROM analytics.v_annual_rollup "
            "WHERE region_code = '74' AND year = 2021 AND indicator_kind = 'flow'")).fetchall())
    assert sources == dict.fromkeys(FLOWS, "reported_december_ytd")
    # the template's "So cùng kỳ (%)" and "Lũy kế so cùng kỳ (%)" (indexes, to 0,1) are kept as growth
    # beside the growth of the stored figures, which they agree with to their rounding
    with engine.connect() as conn:
        growth = conn.execute(sa.text(
            "SELECT m.indicator_code, m.growth_month_pct, m.reported_growth_month_pct, m.growth_ytd_pct, "
            "m.reported_growth_ytd_pct, a.growth_pct, a.reported_growth_pct FROM analytics.v_monthly_figure AS m "
            "JOIN analytics.v_annual_rollup AS a ON a.region_code = m.region_code "
            "AND a.indicator_code = m.indicator_code AND a.year = m.year "
            "WHERE m.region_code = '74' AND m.month_key = 202112 AND m.indicator_kind = 'flow'")).fetchall()
    assert {code for code, *_ in growth} == FLOWS
    for code, month, reported_month, ytd, reported_ytd, year, reported_year in growth:
        figures = _report_figures(code)
        assert reported_month == pytest.approx(float(figures["pct_same"]) - 100) and reported_year == reported_ytd
        assert reported_ytd == pytest.approx(float(figures["pct_ytd"]) - 100) and year == pytest.approx(ytd)
        assert abs(month - reported_month) <= 0.05 + 1e-9 and abs(ytd - reported_ytd) <= 0.05 + 1e-9, code


def test_a_template_loaded_first_gives_what_the_long_format_then_confirms(engine, landing):
    result = ingest_file(_filled_template(landing), engine)
    assert (result.status, result.rows_new_version) == ("loaded", 10)
    sample = ingest_file(BD_SAMPLE, engine)
    assert sample.rows_unchanged == 10                                  # December 2021, already there


def test_a_reported_ytd_that_disagrees_with_the_months_is_a_warning(engine, landing):
    ingest_paths([BD_SAMPLE], engine)
    true_ytd = _report_figures("RETAIL")["ytd"]
    path = _filled_template(landing, change={"RETAIL": {"ytd": true_ytd + 1500}})
    result = ingest_file(path, engine)
    assert result.status == "loaded"
    found = [p for p in result.problems if p["rule"] == "reported_ytd_matches_months"]
    assert [(p["row"], p["column"], p["severity"], p["sheet"]) for p in found] == [
        (_row_of(path, "RETAIL"), "Lũy kế từ đầu năm", "warning", "Tháng 12-2021")]
    assert "RETAIL 2021-12" in found[0]["message"] and "difference +1.500" in found[0]["message"]
    with engine.connect() as conn:
        stored = conn.execute(sa.text(
            "SELECT source_row, column_name, rule FROM analytics.v_submission_problem WHERE file_name = :f"),
            {"f": path.name}).fetchall()
    assert (_row_of(path, "RETAIL"), "Lũy kế từ đầu năm", "reported_ytd_matches_months") in {tuple(r) for r in stored}


def test_a_reported_growth_that_disagrees_with_the_levels_is_a_warning(engine, landing):
    ingest_paths([BD_SAMPLE], engine)
    export = _report_figures("EXPORT")
    path = _filled_template(landing, change={"EXPORT": {"pct_same": export["pct_same"] + 2},
                                             "IMPORT": {"same": export["same"] * 2}})
    result = ingest_file(path, engine)
    assert result.status == "loaded"
    found = {(p["row"], p["column"], p["rule"]) for p in result.problems}
    assert found == {(_row_of(path, "EXPORT"), "So cùng kỳ (%)", "reported_growth_matches_levels"),
                     (_row_of(path, "IMPORT"), "Cùng kỳ năm trước", "reported_same_period_matches_warehouse")}


CSV_REPORT = """\
SỞ CÔNG THƯƠNG TỈNH BÌNH DƯƠNG;;;;;;;
BÁO CÁO ƯỚC TÍNH SỐ LIỆU THÁNG 12 NĂM 2021;;;;;;;
Tỉnh:;Bình Dương;;;;;;
;;;;;;;
STT;Chỉ tiêu;ĐVT;Thực hiện tháng 11/2021;Ước tính tháng 12/2021;Lũy kế 12 tháng;So sánh (%);
;;;;;;Tháng 12 so cùng kỳ;Lũy kế so cùng kỳ
I.;THƯƠNG MẠI;;;;;;
1;TỔNG MỨC BLHH VÀ DTDVTD;Tỷ đồng;{retail_previous};{retail_value};{retail_ytd};{retail_pct_same};{retail_pct_ytd}
2;KNXK;Triệu USD;{export_previous};{export_value};{export_ytd};{export_pct_same};{export_pct_ytd}
3;Kim ngạch nhập khẩu hàng hoá;Tr USD;;{import};;;
II.;CÔNG NGHIỆP;;;;;;
4;Chỉ số sản xuất công nghiệp (IIP);%;;108;104,51;108;104,51
5;Sản lượng điện thương phẩm;tỷ kWh;;1,1723;;;
6;{unknown};Tỷ đồng;;1.234,5;;;
;;;;;;;
;Người lập biểu;;;;GIÁM ĐỐC;;
"""


def _vi(value: Decimal) -> str:
    whole, _, fraction = f"{value:f}".partition(".")
    return f"{int(whole):,}".replace(",", ".") + ("," + fraction if fraction else "")


def _csv_report(folder: Path, name: str, unknown: str = "Doanh thu chương trình bình ổn thị trường") -> Path:
    """A December 2021 report as a department might export it to CSV; its figures are the sample's."""
    values = {f"{code.lower()}_{key}": _vi(v) for code in ("RETAIL", "EXPORT")
              for key, v in _report_figures(code).items() if key != "unit"}
    values["import"] = _vi(_report_figures("IMPORT")["value"])
    return write_csv(folder, name, CSV_REPORT.format(unknown=unknown, **values))


def test_a_report_layout_csv_with_vietnamese_numbers_and_synonyms_loads(engine, landing):
    ingest_paths([BD_SAMPLE], engine)
    path = _csv_report(landing, "bd_2021-12.csv")
    result = ingest_file(path, engine)
    assert result.status == "loaded", result.problems
    cross = [p for p in result.problems if p["rule"].startswith("reported_")]
    assert cross == []                          # its previous month, YTD and growth agree with the warehouse
    december = _december(engine, {"RETAIL", "EXPORT", "IMPORT", "IIP", "IIP_MONTH", "ELEC_SOLD", "BOTT_REVENUE"})
    sample = _sample()
    assert december["RETAIL"] == (pytest.approx(float(sample[("RETAIL", "2021-12")][0])), "estimate")
    assert december["IIP_MONTH"][0] == 108 and december["IIP"][0] == pytest.approx(104.51)
    assert december["ELEC_SOLD"][0] == pytest.approx(1172.3)
    assert december["BOTT_REVENUE"] == (pytest.approx(1234.5), "estimate")
    assert {s for _, s in december.values()} == {"estimate"}      # "Ước tính tháng 12/2021"


def test_an_unknown_indicator_name_is_rejected_naming_the_row_and_nothing_is_loaded(engine, landing, statwh_home):
    ingest_paths([BD_SAMPLE], engine)
    before = table_contents(engine, DATA_TABLES)
    path = _csv_report(landing, "bd_unknown.csv", unknown="Doanh thu du lịch lữ hành")
    result = ingest_file(path, engine, move=True)
    assert result.status == "rejected"
    assert [(p["row"], p["column"], p["value"], p["rule"]) for p in result.problems] == [
        (14, "Chỉ tiêu", "Doanh thu du lịch lữ hành", "known_indicator_name")]
    assert table_contents(engine, DATA_TABLES) == before           # nothing half-loaded
    assert (statwh_home / "quarantine" / Path(result.kept_at).name).exists()


def test_a_report_that_does_not_say_its_month_or_province_is_refused(tmp_path):
    table = "Chỉ tiêu;Đơn vị;Thực hiện tháng\nKNXK;triệu USD;1,5\n"
    no_month = write_csv(tmp_path, "no_month.csv", "Tỉnh:;Bình Dương;\n" + table)
    problems = prepare_submission(no_month).problems
    assert [(p.rule, p.row) for p in problems] == [("file_readable", 2)] and "Tháng:" in problems[0].message
    no_region = write_csv(tmp_path, "no_region.csv", "Tháng:;12/2021;\n" + table)
    assert "Mã tỉnh" in prepare_submission(no_region).problems[0].message
    clash = write_csv(tmp_path, "clash.csv", "Mã tỉnh:;83;\nTỉnh:;Bình Dương;\nTháng:;12/2021;\n" + table)
    assert [(p.rule, p.row) for p in prepare_submission(clash).problems] == [("file_readable", 2)]


def _report_naming(folder: Path, name: str, label: str, province: str, month: str) -> Path:
    """A one-row export report for ``month`` (``MM/YYYY``) that names its province only by name."""
    return write_csv(folder, name, f"{label};{province}\nTháng:;{month}\n"
                                   f"STT;Chỉ tiêu;Đơn vị;Thực hiện tháng {month}\n"
                                   "1;Kim ngạch xuất khẩu;triệu USD;2.900,5\n")


def _province_read(path: Path) -> str:
    """The one province code a report was read as, else the problems with it as a clerk sees them."""
    prepared = prepare_submission(path)
    if not prepared.accepted:
        return "; ".join(p.describe() for p in prepared.problems)
    (code,) = set(prepared.frame["region_code"])
    return code


def test_a_city_is_found_by_name_with_or_without_thanh_pho_before_and_after_the_merger(tmp_path):
    """The catalogue keeps 'Thành phố' in the name 'Thành phố Hồ Chí Minh' and not in the other cities'
    names; a report may write it, abbreviate it or leave it out, and must name the same unit either way."""
    regions = load_reference().regions
    expected: dict[tuple[str, str, str], str] = {}
    for month in ("08/2024", "09/2025"):       # Hồ Chí Minh City (79) exists before and after 2025-07-01
        for label in ("Tỉnh:", "Tỉnh/Thành phố:"):
            for written in ("Thành phố Hồ Chí Minh", "TP. Hồ Chí Minh", "TP Hồ Chí Minh", "Hồ Chí Minh",
                            "THÀNH PHỐ HỒ CHÍ MINH", "Ho Chi Minh"):
                expected[(label, written, month)] = "79"
        expected[("Đơn vị báo cáo:", "Sở Công Thương Thành phố Hồ Chí Minh", month)] = "79"
        expected[("Đơn vị báo cáo:", "Sở Công Thương TP. Hồ Chí Minh", month)] = "79"
        start = dt.date(int(month[3:]), int(month[:2]), 1)
        cities = regions[(regions["unit_type"] == "municipality") & (regions["valid_from"] <= start)
                         & regions["valid_to"].map(lambda end: end is None or start <= end)]
        for code, name in zip(cities["region_code"], cities["name_vi"]):   # Hà Nội, Hải Phòng, Đà Nẵng, ...
            bare = name.removeprefix("Thành phố ")
            for written in (f"Thành phố {bare}", f"TP. {bare}", f"TP {bare}", bare):
                expected[("Tỉnh:", written, month)] = code
            expected[("Đơn vị báo cáo:", f"Sở Công Thương {bare}", month)] = code
    found = {(label, written, month): _province_read(_report_naming(tmp_path, f"r{i}.csv", label, written, month))
             for i, (label, written, month) in enumerate(expected)}
    assert found == expected


def test_a_province_is_found_by_its_usual_abbreviation_or_former_name(tmp_path):
    """Names a department writes that are not the catalogue's (etl/reference/region_name_aliases.csv)."""
    cases = {("Tỉnh/Thành phố:", "TP.HCM", "08/2024"): "79", ("Tỉnh/Thành phố:", "TP. HCM", "09/2025"): "79",
             ("Đơn vị báo cáo:", "Sở Công Thương TP.HCM", "09/2025"): "79", ("Tỉnh:", "TPHCM", "08/2024"): "79",
             ("Tỉnh:", "Thừa Thiên Huế", "12/2021"): "46", ("Tỉnh:", "Thừa Thiên - Huế", "12/2021"): "46",
             ("Tỉnh:", "BRVT", "12/2021"): "77"}
    found = {case: _province_read(_report_naming(tmp_path, f"a{i}.csv", *case)) for i, case in enumerate(cases)}
    assert found == cases
    # an alias names a unit only while it is in force: Bà Rịa - Vũng Tàu joined Hồ Chí Minh City
    assert "'BRVT' names no single province in force in 2025-09" in _province_read(
        _report_naming(tmp_path, "brvt.csv", "Tỉnh:", "BRVT", "09/2025"))


def test_a_province_name_that_names_no_unit_in_force_says_its_row_once(tmp_path):
    """Bình Dương joined Hồ Chí Minh City on 2025-07-01: the problem's location gives the row, the
    message does not repeat it."""
    merged = _report_naming(tmp_path, "bd.csv", "Tỉnh:", "Bình Dương", "09/2025")
    assert _province_read(merged) == ("bd.csv, row 1: 'Bình Dương' names no single province in force in 2025-09; "
                                      "write its code next to 'Mã tỉnh:' [file_readable]")
    assert _province_read(_report_naming(tmp_path, "bd_2024.csv", "Tỉnh:", "Bình Dương", "08/2024")) == "74"
    no_month = write_csv(tmp_path, "no_month.csv", "Tỉnh:;Bình Dương\nTháng:;13/2025\n"
                                                   "Chỉ tiêu;Đơn vị;Thực hiện tháng\nKNXK;triệu USD;1,5\n")
    assert _province_read(no_month) == ("no_month.csv, row 2: '13/2025' is not a month; write it as 12/2021 "
                                        "[file_readable]")
    clash = write_csv(tmp_path, "clash.csv", "Mã tỉnh:;74\nTỉnh:;TP. Hồ Chí Minh\nTháng:;09/2025\n"
                                             "Chỉ tiêu;Đơn vị;Thực hiện tháng\nKNXK;triệu USD;1,5\n")
    assert _province_read(clash) == ("clash.csv, row 2: the province 'TP. Hồ Chí Minh' is code 79, but 'Mã tỉnh' "
                                     "says 74 [file_readable]")


def test_a_report_naming_ho_chi_minh_city_loads_under_its_code(engine, landing):
    for month in ("08/2024", "09/2025"):
        result = ingest_file(_report_naming(landing, f"hcm_{month[3:]}.csv", "Tỉnh:", "TP. Hồ Chí Minh", month),
                             engine)
        assert (result.status, result.rows_new_version) == ("loaded", 1), result.problems
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT region_code, region_name_vi, indicator_code, month_key, value "
                                    "FROM analytics.v_monthly_figure ORDER BY month_key")).fetchall()
    assert [tuple(r) for r in rows] == [("79", "Thành phố Hồ Chí Minh", "EXPORT", 202408, pytest.approx(2900.5)),
                                        ("79", "Thành phố Hồ Chí Minh", "EXPORT", 202509, pytest.approx(2900.5))]


def test_a_departments_own_xlsx_with_a_two_row_header_and_percent_cells_is_read(tmp_path):
    """Not the template: merged header cells ('So sánh (%)' over its columns), the month in a
    'Kỳ báo cáo' cell, the province by name, a status column, a percentage typed with %."""

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "BC T12"
    sheet["A1"] = "SỞ CÔNG THƯƠNG TỈNH BẾN TRE"
    sheet["A3"] = "Tỉnh/Thành phố: Bến Tre"
    sheet["A4"], sheet["C4"] = "Kỳ báo cáo:", dt.datetime(2021, 12, 1)      # Excel made 12/2021 a date
    sheet.append([])
    sheet.append(["STT", "Tên chỉ tiêu", "Đơn vị tính", "Ước thực hiện tháng 12/2021", "Lũy kế", "So sánh (%)",
                  None, "Trạng thái"])
    sheet.append([None, None, None, None, None, "Tháng này so với cùng kỳ", "Lũy kế tăng/giảm so với cùng kỳ"])
    for column in "ABCDEH":
        sheet.merge_cells(f"{column}6:{column}7")
    sheet.merge_cells("F6:G6")
    sheet.append(["A", "B", "C", 1, 2, 3, 4, "D"])
    sheet.append([1, "Giá trị sản xuất CN-TTCN (giá SS 2010)", "tỷ đồng", 3210.5, 35400, 1.053, 5.36, "Chính thức"])
    sheet["F9"].number_format = "0.0%"                                       # shown as 105,3%
    sheet.append([2, "Kim ngạch xuất khẩu", "triệu USD", "110,4", "1.302,9", None, "-6,76", None])
    sheet.append([3, "Công suất điện gió hòa lưới điện quốc gia", "MW", 93.7, None, None, None, "ước tính"])
    workbook.save(tmp_path / "ben_tre.xlsx")

    prepared = prepare_submission(tmp_path / "ben_tre.xlsx")
    assert prepared.accepted, [p.describe() for p in prepared.problems]
    assert prepared.sheet == "BC T12" and prepared.number_convention == "vi"
    frame = prepared.frame.set_index("indicator_code")
    assert frame.loc[["IND_OUTPUT", "EXPORT", "WIND_MW"], "source_row"].tolist() == [9, 10, 11]
    assert set(frame["region_code"]) == {"83"} and set(frame["period"]) == {"2021-12"}
    assert frame.at["EXPORT", "value"] == pytest.approx(110.4)
    assert frame["status"].to_dict() == {"IND_OUTPUT": "official", "EXPORT": "estimate", "WIND_MW": "estimate"}
    reported = prepared.reported.frame.set_index("indicator_code")
    assert reported.at["IND_OUTPUT", "pct_vs_same_month"] == pytest.approx(5.3)        # 105,3% as an index
    assert reported.at["IND_OUTPUT", "pct_ytd_vs_same_period"] == pytest.approx(5.36)   # "tăng/giảm": growth
    assert reported.at["EXPORT", "ytd"] == pytest.approx(1302.9)
    assert prepared.reported.labels["pct_vs_same_month"] == "So sánh (%) Tháng này so với cùng kỳ"
    # stored with the figures as growth in %, whichever form the column is in
    growth = frame[["reported_growth_month_pct", "reported_growth_ytd_pct"]].to_dict("index")
    assert growth["IND_OUTPUT"] == {"reported_growth_month_pct": pytest.approx(5.3),
                                    "reported_growth_ytd_pct": pytest.approx(5.36)}
    assert pd.isna(growth["EXPORT"]["reported_growth_month_pct"])
    assert growth["EXPORT"]["reported_growth_ytd_pct"] == pytest.approx(-6.76)


# --------------------------------------------------------------------------- one sheet of figures


def test_a_report_with_next_months_copy_on_another_sheet_is_refused_naming_both(engine, landing):
    """A department fills the template, then copies the sheet for the next month: reading the
    first sheet only would leave the copy (and its unreadable figure) out without a word."""
    path = _filled_template(landing, "bao_cao_hai_thang.xlsx")
    workbook = openpyxl.load_workbook(path)
    copy = workbook.copy_worksheet(workbook.active)
    copy.title = "Tháng 1-2022"
    copy.cell(row=_row_of(path, "RETAIL"), column=TEMPLATE_COLUMNS["value"]).value = "ba nghìn"
    workbook.save(path)
    before = table_contents(engine, DATA_TABLES)

    result = ingest_file(path, engine, move=True)

    assert result.status == "rejected"
    assert [(p["sheet"], p["row"], p["column"], p["rule"]) for p in result.problems] == [
        (None, None, None, "one_sheet_of_figures")]
    assert (f"figures on 2 sheets, 'Tháng 12-2021' (report table, header in row {HEADER_ROW}) and 'Tháng 1-2022' "
            f"(report table, header in row {HEADER_ROW}): only one sheet of a file is read"
            in result.problems[0]["message"])
    assert table_contents(engine, DATA_TABLES) == before                # nothing half-loaded
    with engine.connect() as conn:                                      # a failed reading check of the batch
        failed = conn.execute(sa.text("SELECT suite_name, success FROM dw.audit_check_result "
                                      "WHERE batch_key = :b AND rule = 'one_sheet_of_figures'"),
                              {"b": result.batch_key}).fetchall()
    assert [tuple(r) for r in failed] == [("reading", False)]

    # the same workbook with the copy replaced by a sheet of notes is one report, and loads
    del workbook["Tháng 1-2022"]
    notes = workbook.create_sheet("Ghi chú")
    notes.append(["Số liệu tháng 12/2021 là số ước tính; số chính thức gửi vào tháng sau."])
    workbook.save(landing / "bao_cao_co_ghi_chu.xlsx")
    assert ingest_file(landing / "bao_cao_co_ghi_chu.xlsx", engine).status == "loaded"


# --------------------------------------------------------------------------- problems name the sheet's cells


def test_a_problem_with_this_months_figure_names_the_sheets_header(tmp_path):
    path = _filled_template(tmp_path)
    workbook = openpyxl.load_workbook(path)
    row = _row_of(path, "RETAIL")
    workbook.active.cell(row=row, column=TEMPLATE_COLUMNS["value"]).value = "23.900"
    workbook.active.cell(row=row, column=TEMPLATE_COLUMNS["ytd"]).value = "250.000"
    workbook.save(path)

    problems = prepare_submission(path).problems

    assert [(p.sheet, p.row, p.column, p.value, p.rule) for p in problems] == [
        ("Tháng 12-2021", row, "Lũy kế từ đầu năm", "250.000", "number_format_unambiguous"),
        ("Tháng 12-2021", row, "Thực hiện tháng 12/2021", "23.900", "number_format_unambiguous")]


def test_each_figure_of_a_two_figure_row_is_named_by_its_own_column(tmp_path):
    """The IIP row holds this month's index (IIP_MONTH) and, in its year-to-date cell, the
    cumulative index (IIP): a problem with either names that cell and quotes what is in it."""
    text = _csv_report(tmp_path, "plain.csv").read_text(encoding="utf-8")
    path = write_csv(tmp_path, "iip.csv", text.replace(";%;;108;104,51;", ";%;;khoảng 108;-4,51;"))

    problems = prepare_submission(path).problems

    assert [(p.row, p.column, p.value, p.rule) for p in problems] == [
        (12, "Lũy kế 12 tháng", "-4,51", "index_positive"),
        (12, "Ước tính tháng 12/2021", "khoảng 108", "number_readable")]


def test_a_count_with_a_decimal_part_is_refused_naming_the_sheets_cell(engine, landing, statwh_home):
    """1,5 fairs held in this month's column used to load: a count is a whole number."""
    path = _filled_template(landing, "bao_cao_hoi_cho.xlsx")
    workbook = openpyxl.load_workbook(path)
    row = _row_of(path, "FAIRS")
    workbook.active.cell(row=row, column=TEMPLATE_COLUMNS["value"]).value = "1,5"
    workbook.save(path)
    sent = path.read_bytes()
    before = table_contents(engine, DATA_TABLES)

    result = ingest_file(path, engine, move=True)

    assert result.status == "rejected"
    assert [(p["file"], p["sheet"], p["row"], p["column"], p["value"], p["rule"], p["message"])
            for p in result.problems] == [
        ("bao_cao_hoi_cho.xlsx", "Tháng 12-2021", row, "Thực hiện tháng 12/2021", "1,5", "count_whole_number",
         "a count (fairs held…) must be a whole number")]
    assert table_contents(engine, DATA_TABLES) == before                # nothing half-loaded
    kept = statwh_home / "quarantine" / Path(result.kept_at).name
    assert kept.read_bytes() == sent                                    # kept as sent, with its reasons
    report = json.loads(kept.with_name(kept.name + ".report.json").read_text(encoding="utf-8"))
    assert report["problems"] == result.problems


@pytest.mark.parametrize("code, ytd, rule, message", [
    ("FAIRS", "7,5", "count_ytd_whole_number", "a count's year to date (fairs held so far this year) must be a whole number"),
    ("RETAIL", "-12,5", "flow_ytd_not_negative", "a flow's year to date (sales, exports, output… so far this year) "
                                                    "cannot be negative"),
])
def test_a_year_to_date_that_cannot_be_is_refused_naming_its_cell(engine, landing, code, ytd, rule, message):
    """The year to date (lũy kế) of a flow becomes the year's figure in December: 7,5 fairs held
    so far, or negative sales so far, used to load as written while the same in this month's
    cell was refused."""
    path = _filled_template(landing, f"bao_cao_luy_ke_{code.lower()}.xlsx")
    workbook = openpyxl.load_workbook(path)
    row = _row_of(path, code)
    workbook.active.cell(row=row, column=TEMPLATE_COLUMNS["ytd"]).value = ytd
    workbook.save(path)
    before = table_contents(engine, DATA_TABLES)

    result = ingest_file(path, engine)

    assert result.status == "rejected"
    assert [(p["sheet"], p["row"], p["column"], p["value"], p["rule"], p["message"], p["severity"])
            for p in result.problems if p["severity"] == "error"] == [
        ("Tháng 12-2021", row, "Lũy kế từ đầu năm", ytd, rule, message, "error")]
    assert table_contents(engine, DATA_TABLES) == before


@pytest.mark.parametrize("ytd, warned", [(Decimal("99.95"), True), (Decimal("99.99"), False)])
def test_a_stocks_year_to_date_is_checked_within_the_rounding_of_its_month_alone(engine, landing, ytd, warned):
    """A stock's year to date is its month's level (99,99 % of households in December), so the
    rounding allowed is that of the month's figure and of the report's cell, not of every month
    of the year added up (which let 99,95 pass beside 99,99 as rounding)."""
    ingest_paths([BD_SAMPLE], engine)
    path = _filled_template(landing, change={"HH_ELECTRIFIED_PCT": {"ytd": ytd}})
    result = ingest_file(path, engine)
    assert result.status == "loaded"
    found = [(p["row"], p["column"], p["severity"]) for p in result.problems if p["rule"] == "reported_ytd_matches_months"]
    assert found == ([(_row_of(path, "HH_ELECTRIFIED_PCT"), "Lũy kế từ đầu năm", "warning")] if warned else [])


def test_a_cumulative_indexs_year_to_date_cell_that_disagrees_with_its_month_cell_is_refused(engine, landing):
    """The template's IIP row is the index from January to this month itself, so its year-to-date
    cell (Lũy kế từ đầu năm) holds the same figure as its month cell. 104,51 beside 104,61 used to
    load 104,51 and drop 104,61 without a word; which one is right is not for the warehouse to guess
    (December's is the year's figure, the one the plan is measured against)."""
    path = _filled_template(landing, "bao_cao_iip.xlsx", change={"IIP": {"ytd": Decimal("104.61")}})
    row = _row_of(path, "IIP")
    before = table_contents(engine, DATA_TABLES)

    result = ingest_file(path, engine)

    assert result.status == "rejected"
    assert [(p["file"], p["sheet"], p["row"], p["column"], p["value"], p["rule"], p["message"], p["severity"])
            for p in result.problems] == [
        ("bao_cao_iip.xlsx", "Tháng 12-2021", row, "Lũy kế từ đầu năm", "104.61", "cumulative_index_cells_agree",
         "IIP is itself the index from January to this month, so this cell and 'Thực hiện tháng 12/2021' (104.51) "
         "are the same figure, and they disagree: write it in one of them, or the same in both", "error")]
    assert table_contents(engine, DATA_TABLES) == before


@pytest.mark.parametrize("month_cell, ytd_cell", [
    (None, "104,51"),        # only the year-to-date cell: it is the figure, not "a number is required"
    (104.51, "104,51%"),     # both, the same figure (a percent written after it)
    (104.5, 104.51),         # both, the same within the rounding of 104,5
])
def test_a_cumulative_index_written_in_its_year_to_date_cell_is_its_figure(engine, landing, month_cell, ytd_cell):
    path = _filled_template(landing, "bao_cao_iip.xlsx")
    workbook = openpyxl.load_workbook(path)
    row = _row_of(path, "IIP")
    workbook.active.cell(row=row, column=TEMPLATE_COLUMNS["value"]).value = month_cell
    workbook.active.cell(row=row, column=TEMPLATE_COLUMNS["ytd"]).value = ytd_cell
    workbook.save(path)

    result = ingest_file(path, engine)

    assert result.status == "loaded", result.problems
    assert [p for p in result.problems if p["row"] == row] == []
    assert _december(engine, {"IIP"}) == {"IIP": (pytest.approx(104.51 if month_cell is None else month_cell),
                                                  "official")}


def test_a_year_to_date_written_in_a_monthly_indexs_row_is_a_warning_naming_where_it_belongs(engine, landing):
    """IIP_MONTH, the month's own index, has no year to date: a figure in its row's Lũy kế cell was
    dropped without a word. It is still not stored (the month's index loads), but the clerk is told,
    and where the index from January on goes, in a warning kept with the batch."""
    path = _filled_template(landing, "bao_cao_iip_thang.xlsx", change={"IIP_MONTH": {"ytd": Decimal("104.7")}})
    row = _row_of(path, "IIP_MONTH")

    result = ingest_file(path, engine)

    assert result.status == "loaded", result.problems
    assert [(p["sheet"], p["row"], p["column"], p["value"], p["rule"], p["message"], p["severity"])
            for p in result.problems if p["row"] == row] == [
        ("Tháng 12-2021", row, "Lũy kế từ đầu năm", "104.7", "no_year_to_date",
         "IIP_MONTH is the month's own index and has no year to date, so this cell is not stored; the index "
         "from January to this month is IIP ('Chỉ số sản xuất công nghiệp (lũy kế từ đầu năm)'): write it in "
         "that row", "warning")]
    assert set(_december(engine, {"IIP", "IIP_MONTH"})) == {"IIP", "IIP_MONTH"}
    with engine.connect() as conn:
        kept = conn.execute(sa.text("SELECT rule, severity FROM analytics.v_submission_problem "
                                    "WHERE file_name = 'bao_cao_iip_thang.xlsx'")).fetchall()
    assert [tuple(k) for k in kept] == [("no_year_to_date", "warning")]


EXCEL_ERROR = "an Excel error value ({}): Excel could not compute this cell's formula; write the number, or leave " \
              "the cell empty"


def test_an_excel_error_in_a_column_that_is_not_stored_is_a_warning_and_the_file_loads(engine, landing):
    """So tháng trước (%) is not stored: =G/F with no fair held last month shows #DIV/0! there, and
    that used to reject the whole report as 'not a number written the Vietnamese way'."""
    path = _filled_template(landing, "bao_cao_div0.xlsx", change={"FAIRS": {"previous": Decimal(0)}})
    workbook = openpyxl.load_workbook(path)
    row = _row_of(path, "FAIRS")
    workbook.active.cell(row=row, column=TEMPLATE_COLUMNS["pct_previous"]).value = "#DIV/0!"
    workbook.save(path)

    result = ingest_file(path, engine)

    assert result.status == "loaded", result.problems
    assert [(p["sheet"], p["row"], p["column"], p["value"], p["rule"], p["message"], p["severity"])
            for p in result.problems if p["row"] == row and p["column"] == "So tháng trước (%)"] == [
        ("Tháng 12-2021", row, "So tháng trước (%)", "#DIV/0!", "number_readable",
         EXCEL_ERROR.format("#DIV/0!") + "; this column is not stored, so the file loads without this cell",
         "warning")]
    assert _december(engine, {"FAIRS"}) == {"FAIRS": (float(_report_figures("FAIRS")["value"]), "official")}
    with engine.connect() as conn:
        stored = conn.execute(sa.text(
            "SELECT source_row, column_name, value_text FROM analytics.v_submission_problem "
            "WHERE file_name = :f AND rule = 'number_readable'"), {"f": path.name}).fetchall()
    assert [tuple(r) for r in stored] == [(row, "So tháng trước (%)", "#DIV/0!")]


@pytest.mark.parametrize("key, column, error", [
    ("value", "Thực hiện tháng 12/2021", "#N/A"),     # used to be read as an empty cell: "a number is required"
    ("pct_same", "So cùng kỳ (%)", "#DIV/0!"),        # stored as the reported growth
    ("ytd", "Lũy kế từ đầu năm", "#REF!"),            # stored as the reported year to date
])
def test_an_excel_error_in_a_stored_column_is_refused_and_named_as_such(engine, landing, key, column, error):
    path = _filled_template(landing, "bao_cao_loi_excel.xlsx")
    workbook = openpyxl.load_workbook(path)
    row = _row_of(path, "RETAIL")
    workbook.active.cell(row=row, column=TEMPLATE_COLUMNS[key]).value = error
    workbook.save(path)
    before = table_contents(engine, DATA_TABLES)

    result = ingest_file(path, engine)

    assert result.status == "rejected"
    assert [(p["sheet"], p["row"], p["column"], p["value"], p["rule"], p["message"], p["severity"])
            for p in result.problems] == [
        ("Tháng 12-2021", row, column, error, "number_readable", EXCEL_ERROR.format(error), "error")]
    assert table_contents(engine, DATA_TABLES) == before


def test_a_value_written_above_the_table_is_named_where_it_is_written_once(tmp_path):
    path = write_csv(tmp_path, "future.csv", "Mã tỉnh:;79;\nTháng:;01/2099;\n\nChỉ tiêu;Đơn vị;Thực hiện tháng\n"
                                             "KNXK;triệu USD;1,5\nKim ngạch nhập khẩu;triệu USD;2,5\n")

    problems = prepare_submission(path).problems

    assert [(p.row, p.column, p.value, p.rule) for p in problems] == [(2, "Tháng", "01/2099", "period_not_in_future")]


def test_warnings_after_loading_quote_the_cell_as_written_under_the_sheets_header(engine, landing):
    """A revision, an outlier or a unit slip found once the batch is written names the sheet's
    column and quotes the cell as the clerk wrote it (a number cell in full, never 2.34568e+06)."""
    ingest_paths([BD_SAMPLE], engine)
    path = _filled_template(landing)
    workbook = openpyxl.load_workbook(path)
    retail, export = _row_of(path, "RETAIL"), _row_of(path, "EXPORT")
    workbook.active.cell(row=retail, column=TEMPLATE_COLUMNS["value"]).value = "23.456,7"
    workbook.active.cell(row=export, column=TEMPLATE_COLUMNS["value"]).value = 2345678.0
    workbook.save(path)

    result = ingest_file(path, engine)

    assert result.status == "loaded", result.problems
    month = "Thực hiện tháng 12/2021"
    found = {(p["row"], p["column"], p["value"], p["rule"]) for p in result.problems
             if not p["rule"].startswith("reported_")}
    assert (retail, month, "23.456,7", "revision_exceeds_threshold") in found
    assert (export, month, "2345678", "revision_exceeds_threshold") in found
    assert (export, month, "2345678", "probable_unit_slip") in found
    # exports 2345678 also break the trade balance, found at the balance's own row as written
    balance = _row_of(path, "TRADE_BALANCE")
    balance_written = str(workbook.active.cell(row=balance, column=TEMPLATE_COLUMNS["value"]).value)
    assert (balance, month, balance_written, "trade_balance_is_exports_minus_imports") in found
    assert {(row, column, value) for row, column, value, _ in found} == {
        (retail, month, "23.456,7"), (export, month, "2345678"), (balance, month, balance_written)}
    with engine.connect() as conn:
        stored = conn.execute(sa.text(
            "SELECT source_row, column_name, value_text FROM analytics.v_submission_problem "
            "WHERE file_name = :f AND rule = 'revision_exceeds_threshold'"), {"f": path.name}).fetchall()
    assert sorted(tuple(r) for r in stored) == sorted([(retail, month, "23.456,7"), (export, month, "2345678")])


def test_last_months_report_copied_with_only_its_title_changed_names_the_month_its_column_is_for(tmp_path):
    """The message was 'row 4: row 4: the table has no column for this month's figures (...)': the
    row twice, and no word of the column that names last month."""
    path = write_csv(tmp_path, "bao_cao_01_2023.csv",
                     "BÁO CÁO SỐ LIỆU THÁNG 01/2023\nMã tỉnh:;74\n\n"
                     "STT;Chỉ tiêu;Đơn vị;Thực hiện tháng 12/2022;Lũy kế từ đầu năm;So cùng kỳ (%)\n"
                     "1;Tổng mức bán lẻ hàng hóa và doanh thu dịch vụ tiêu dùng;tỷ đồng;21.225,9;231.578;103,4\n")
    assert [p.describe() for p in prepare_submission(path).problems] == [
        "bao_cao_01_2023.csv, row 4: the table has no column for the figures of 01/2023, the month of the report "
        "('Thực hiện tháng', 'Tháng này' or 'Ước tính tháng'); the column 'Thực hiện tháng 12/2022' is for "
        "12/2022: if the report is for that month, correct the month written above the table [file_readable]"]
