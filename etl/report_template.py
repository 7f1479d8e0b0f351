"""A blank monthly report for a department to fill in (``statwh template``).

The workbook is in the report layout that :mod:`etl.report_layout` reads: title rows,
labelled cells saying which province, month and department (``Mã tỉnh:``, ``Tỉnh:``,
``Tháng:``, ``Mã đơn vị:``), then the table: STT, Mã chỉ tiêu, Chỉ tiêu, Đơn vị, Cùng kỳ
năm trước, Tháng trước, Thực hiện tháng MM/YYYY, Lũy kế từ đầu năm, So tháng trước (%),
So cùng kỳ (%), Lũy kế so cùng kỳ (%), Trạng thái, Ghi chú; one row per indicator the
department reports (``etl/reference/reporting_obligations.csv``; every catalogue
indicator if the region has no obligations that month) with the canonical unit. The
number cells are empty, formatted as numbers and accept only numbers; the status cells
offer ``Ước tính`` / ``Chính thức``. A clerk may change a row's unit (e.g. to ``tỷ kWh``),
leave rows empty (not reported), or delete columns they do not fill.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from etl.completeness import obligations_in_force, year_month
from etl.reference import Reference, load_reference

HEADER_ROW = 13
COLUMNS = (  # (header, numbering, width)
    ("STT", "A", 5),
    ("Mã chỉ tiêu", "B", 14),
    ("Chỉ tiêu", "C", 48),
    ("Đơn vị", "D", 11),
    ("Cùng kỳ năm trước", "1", 14),
    ("Tháng trước", "2", 14),
    ("Thực hiện tháng {month}", "3", 15),
    ("Lũy kế từ đầu năm", "4", 15),
    ("So tháng trước (%)", "5 = 3/2", 11),
    ("So cùng kỳ (%)", "6 = 3/1", 11),
    ("Lũy kế so cùng kỳ (%)", "7", 12),
    ("Trạng thái", "E", 12),
    ("Ghi chú", "F", 24),
)
NUMBER_COLUMNS = range(5, 12)  # 1-based: Cùng kỳ .. Lũy kế so cùng kỳ
STATUS_COLUMN, FIRST_PCT_COLUMN = 12, 9


def template_rows(region_code: str, month: str, reference: Reference | None = None) -> tuple[dict, list[dict]]:
    """(the region as of that month, one row per indicator it reports) for a template."""
    reference = reference or load_reference()
    year, mon = year_month(month)
    in_force = reference.regions_in_force(dt.date(year, mon, 1))
    region = in_force[in_force["region_code"] == region_code]
    if region.empty:
        raise ValueError(f"no province with code {region_code!r} is in force in {month} "
                         "(see etl/reference/regions.csv)")
    region_row = region.iloc[0].to_dict()
    codes, department, department_name = list(reference.indicators.index), "", ""
    own = obligations_in_force(region_code, month)
    if not own.empty:
        order = {c: i for i, c in enumerate(reference.indicators.index)}
        codes = sorted(dict.fromkeys(own["indicator_code"]), key=lambda c: order.get(c, len(order)))
        if own["department_code"].nunique() == 1:
            department, department_name = own["department_code"].iloc[0], own["department_name_vi"].iloc[0]
    region_row["department_code"], region_row["department_name_vi"] = department, department_name
    rows = [{"code": c, "name": reference.indicators.at[c, "name_vi"],
             "unit": reference.indicators.at[c, "canonical_unit"]} for c in codes]
    return region_row, rows


def write_template(region_code: str, month: str, out: Path | None = None,
                   reference: Reference | None = None) -> Path:
    """Write the blank report for ``region_code`` and ``month`` (``YYYY-MM``); returns its path."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    region, rows = template_rows(region_code, month, reference)
    year, mon = year_month(month)
    shown_month = f"{mon:02d}/{year}"
    out = Path(out) if out else Path(f"bao_cao_thang_{region_code}_{month}.xlsx")

    wb = Workbook()
    ws = wb.active
    ws.title = f"Tháng {mon:02d}-{year}"
    wb.properties.title = f"Báo cáo số liệu tháng {shown_month} — {region['name_vi']}"
    wb.properties.creator = "statwarehouse"
    font = Font(name="Times New Roman", size=12)
    bold = Font(name="Times New Roman", size=12, bold=True)
    italic = Font(name="Times New Roman", size=11, italic=True)
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
    thin = Side(style="thin", color="808080")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    input_fill = PatternFill("solid", fgColor="FFF9E5")
    last_col = get_column_letter(len(COLUMNS))

    authority = region["name_vi"].upper() if region["unit_type"] == "municipality" else \
        f"TỈNH {region['name_vi'].upper()}"
    ws.merge_cells("A1:D1")
    ws["A1"], ws["A1"].font, ws["A1"].alignment = f"UBND {authority}", font, centre
    ws.merge_cells("A2:D2")
    ws["A2"], ws["A2"].font, ws["A2"].alignment = "SỞ CÔNG THƯƠNG", bold, centre
    ws.merge_cells(f"A4:{last_col}4")
    ws["A4"] = f"BÁO CÁO SỐ LIỆU THÁNG {shown_month}"
    ws["A4"].font, ws["A4"].alignment = Font(name="Times New Roman", size=14, bold=True), centre
    ws.merge_cells(f"A5:{last_col}5")
    ws["A5"] = (f"(Monthly figures of {region['name_en']}, GSO code {region_code}, for {month}: "
                "fill in the yellow cells and send the file back as it is)")
    ws["A5"].font, ws["A5"].alignment = italic, centre
    labels = (("Mã tỉnh:", region_code), ("Tỉnh:", region["name_vi"]), ("Tháng:", shown_month),
              ("Mã đơn vị:", region["department_code"]))
    for offset, (label, value) in enumerate(labels):
        row = 7 + offset
        ws.cell(row=row, column=2, value=label).font = bold
        cell = ws.cell(row=row, column=3, value=value)
        cell.font, cell.number_format = font, "@"  # text: 01 keeps its zero, 12/2021 stays a month
    ws.merge_cells(f"A11:{last_col}11")
    ws["A11"] = ("Hướng dẫn: ghi số vào các ô màu vàng, theo đơn vị ở cột Đơn vị (có thể đổi đơn vị, ví dụ tỷ kWh); "
                 "để trống chỉ tiêu chưa có số liệu. Các cột so sánh (%) lấy kỳ so sánh = 100 (ví dụ 103,4). "
                 "Trạng thái: Ước tính hoặc Chính thức (để trống: Chính thức).")
    ws["A11"].font, ws["A11"].alignment = italic, Alignment(wrap_text=True, vertical="top")
    ws.row_dimensions[11].height = 48

    head_fill = PatternFill("solid", fgColor="DDEBF7")
    for col, (title, numbering, width) in enumerate(COLUMNS, start=1):
        head = ws.cell(row=HEADER_ROW, column=col, value=title.format(month=shown_month))
        head.font, head.alignment, head.border, head.fill = bold, centre, border, head_fill
        number = ws.cell(row=HEADER_ROW + 1, column=col, value=numbering)
        number.font, number.alignment, number.border = italic, centre, border
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.row_dimensions[HEADER_ROW].height = 48

    numbers = DataValidation(type="decimal", operator="between", formula1="-1E+15", formula2="1E+15",
                             allow_blank=True, showErrorMessage=True, errorTitle="Chỉ nhập số",
                             error="Ô này chỉ nhận một con số (ví dụ 21225,9).")
    status = DataValidation(type="list", formula1='"Ước tính,Chính thức"', allow_blank=True,
                            showErrorMessage=True, errorTitle="Trạng thái",
                            error="Chọn Ước tính hoặc Chính thức.")
    ws.add_data_validation(numbers)
    ws.add_data_validation(status)
    first = HEADER_ROW + 2
    for stt, item in enumerate(rows, start=1):
        r = first + stt - 1
        values = (stt, item["code"], item["name"], item["unit"])
        for col, value in enumerate(values, start=1):
            cell = ws.cell(row=r, column=col, value=value)
            cell.font, cell.border = font, border
            cell.alignment = Alignment(horizontal="center" if col in (1, 2, 4) else None, vertical="center",
                                       wrap_text=col == 3)
        for col in range(NUMBER_COLUMNS.start, len(COLUMNS) + 1):
            cell = ws.cell(row=r, column=col)
            cell.font, cell.border, cell.fill = font, border, input_fill
            if col in NUMBER_COLUMNS:
                pct = col >= FIRST_PCT_COLUMN or item["unit"] == "%"
                cell.number_format = "0.00" if pct else ("#,##0" if item["unit"] == "count" else "#,##0.0###")
    last = first + len(rows) - 1
    if rows:
        numbers.add(f"{get_column_letter(NUMBER_COLUMNS.start)}{first}:"
                    f"{get_column_letter(NUMBER_COLUMNS.stop - 1)}{last}")
        status.add(f"{get_column_letter(STATUS_COLUMN)}{first}:{get_column_letter(STATUS_COLUMN)}{last}")
    ws.cell(row=last + 2, column=3, value="Người lập biểu").font = bold
    ws.cell(row=last + 2, column=10, value="GIÁM ĐỐC").font = bold
    ws.freeze_panes = ws.cell(row=first, column=5)
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW + 1}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out
