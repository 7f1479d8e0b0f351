"""The data dictionary, generated from what defines the warehouse: the DDL files.

Every object in ``warehouse_sql/*/*.sql`` is described by its header comment (grain, keys,
source) and every column by the inline ``-- comment`` after it. This module parses those
files, so the dictionary cannot say something the DDL does not:

* table columns are read from ``CREATE TABLE`` (name, type, inline comment);
* view columns are read from the view's outer ``SELECT`` list (``expr AS name``,
  ``alias.column``, ``*`` expanded from the relation it selects from), and a view column
  without its own comment inherits the description of the column it comes from
  (``g.actual`` in ``analytics.v_plan_gap_history`` is ``dw.fct_plan_gap.actual``), or
  else of a fact or dimension column of the same name;
* what neither gives — plain column names such as ``region_key``, and the labels in
  Vietnamese and English that exports and reports show — comes from :data:`GLOSSARY`, the
  one mapping of column names to labels kept in Python.

:func:`build_dictionary` returns the parsed catalogue; :func:`write_dictionary` renders it
as Markdown and as a self-contained HTML page (``statwh dictionary --to DIR``).
``tests/test_dictionary.py`` checks it against ``information_schema.columns`` of a live
warehouse on DuckDB and PostgreSQL, so a column added to the DDL without a description, or
a view whose columns the parser misreads, fails the build.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass, field
from pathlib import Path

# --------------------------------------------------------------------------- glossary


@dataclass(frozen=True)
class Term:
    """Labels of a column name (and a description when the DDL has no comment for it)."""

    label_vi: str
    label_en: str
    description: str | None = None
    unit: str | None = None  # '%', 'pp', 'UTC', or 'unit' = the row's unit column (canonical unit)


ROW_UNIT = "the row's unit (indicator's canonical unit)"

#: Column name (or ``schema.relation.column`` for one column only) -> labels and description.
#: Descriptions here are used only where the DDL has no comment to give or inherit.
GLOSSARY: dict[str, Term] = {
    # ---- keys and lineage
    "region_key": Term("Khóa tỉnh/thành phố", "Region key", "Surrogate key of dw.dim_region (a unit for the dates it was in force)."),
    "indicator_key": Term("Khóa chỉ tiêu", "Indicator key", "Surrogate key of dw.dim_indicator."),
    "month_key": Term("Mã tháng", "Month key", "Month as year * 100 + month (202112 = December 2021); key of dw.dim_month."),
    "batch_key": Term("Mã lô nạp", "Batch key", "The load (one submission file) that wrote the row; key of dw.audit_load_batch."),
    "from_region_key": Term("Khóa đơn vị cũ", "Pre-merger region key", "The unit in force the day before effective_date."),
    "to_region_key": Term("Khóa đơn vị mới", "Post-merger region key", "The unit in force on effective_date that the old unit became part of."),
    "effective_date": Term("Ngày hiệu lực", "Effective date", "Day the merger took effect (2025-07-01)."),
    "from_region_code": Term("Mã đơn vị cũ", "Pre-merger region code", "GSO code of the unit before the merger."),
    "to_region_code": Term("Mã đơn vị mới", "Post-merger region code", "GSO code of the unit after the merger."),
    "source_row": Term("Dòng trong tệp", "Source row", "Row of the submitted file the figure came from (spreadsheet numbering)."),
    "ddl_sha256": Term("Mã băm DDL", "DDL checksum", "SHA-256 over every file in warehouse_sql/ applied."),
    "file_count": Term("Số tệp DDL", "DDL file count", "How many DDL files the checksum covers."),
    "applied_at": Term("Thời điểm áp dụng", "Applied at", "When the schema version was applied.", "UTC"),
    # ---- regions
    "region_code": Term("Mã tỉnh/thành phố", "Region code", "Official GSO code of the province or city, two digits ('74' Bình Dương)."),
    "region_name_vi": Term("Tỉnh/thành phố", "Region (Vietnamese)", "Name of the province or city in Vietnamese."),
    "region_name_en": Term("Tỉnh/thành phố (tiếng Anh)", "Region (English)", "Name of the province or city in English."),
    "valid_from": Term("Hiệu lực từ", "Valid from", "First day the unit was in force."),
    "valid_to": Term("Hiệu lực đến", "Valid to", "Last day the unit was in force; NULL while in force."),
    "region_valid_from": Term("Đơn vị hiệu lực từ", "Region valid from",
                              "First day the region's unit was in force (a code can name another unit after a merger)."),
    "region_valid_to": Term("Đơn vị hiệu lực đến", "Region valid to",
                            "Last day the region's unit was in force; NULL while in force."),
    "unit_type": Term("Loại đơn vị", "Unit type", "'province' (tỉnh) or 'municipality' (thành phố trực thuộc trung ương)."),
    "name_vi": Term("Tên tiếng Việt", "Name (Vietnamese)", "Name in Vietnamese."),
    "name_en": Term("Tên tiếng Anh", "Name (English)", "Name in English."),
    # ---- indicators and units
    "indicator_code": Term("Mã chỉ tiêu", "Indicator code", "Code of the indicator in etl/reference/indicators.csv ('RETAIL')."),
    "indicator_name_vi": Term("Chỉ tiêu", "Indicator (Vietnamese)", "Name of the indicator in Vietnamese."),
    "indicator_name_en": Term("Chỉ tiêu (tiếng Anh)", "Indicator (English)", "Name of the indicator in English."),
    "indicator_kind": Term("Loại chỉ tiêu", "Indicator kind", "'flow' (summed over months), 'stock' (last month) or 'index'."),
    "kind": Term("Loại chỉ tiêu", "Indicator kind", "'flow' | 'stock' | 'index'."),
    "domain": Term("Lĩnh vực", "Domain", "Field of the indicator: industry, domestic_trade, trade, energy."),
    "description_en": Term("Mô tả (tiếng Anh)", "Description (English)", "What the indicator measures and how its year is made."),
    "merge_rule": Term("Quy tắc gộp", "Merge rule", "How figures of merged provinces combine: 'sum' | 'weighted_mean' | 'not_comparable'."),
    "unit": Term("Đơn vị", "Unit", "Unit of measure: for figures, the indicator's canonical unit (every value is in it)."),
    "dimension": Term("Đại lượng", "Dimension", "What the unit measures: money_vnd, money_usd, energy, power, percent, count."),
    "factor": Term("Hệ số quy đổi", "Conversion factor", "Multiplier taking a value in this unit to the dimension's base unit."),
    "unit_reported": Term("Đơn vị báo cáo", "Unit as reported", "The unit the department wrote the value in."),
    # ---- calendar
    "year": Term("Năm", "Year", "Calendar year."),
    "month": Term("Tháng", "Month", "Month of the year, 1..12."),
    "quarter": Term("Quý", "Quarter", "Quarter of the year, 1..4."),
    "month_start": Term("Ngày đầu tháng", "Month start", "First day of the month."),
    "month_end": Term("Ngày cuối tháng", "Month end", "Last day of the month."),
    "period_start": Term("Ngày đầu kỳ", "Period start", "First day of the month the figure is for."),
    "year_start": Term("Ngày đầu năm", "Year start", "1 January of the plan year."),
    "label_vi": Term("Nhãn tiếng Việt", "Label (Vietnamese)"),
    "label_en": Term("Nhãn tiếng Anh", "Label (English)"),
    "year_rule": Term("Cách tính năm", "Year rule", "How months make a year: 'sum' | 'last' | 'december_cumulative' | 'none' (a monthly index such as IIP_MONTH: no annual value)."),
    # ---- monthly figures
    "value": Term("Giá trị tháng", "Monthly value", "The month's value, in the indicator's canonical unit.", ROW_UNIT),
    "value_reported": Term("Giá trị báo cáo", "Value as reported", "The value as the department wrote it, in unit_reported."),
    "status": Term("Trạng thái", "Status", "'estimate' (ước tính) or 'official' (chính thức)."),
    "department_code": Term("Mã đơn vị báo cáo", "Department code", "The department (Sở) that reported the figure."),
    "note": Term("Ghi chú", "Note", "Free text the department wrote with the figure."),
    "recorded_at": Term("Thời điểm ghi nhận", "Recorded at", "When the warehouse learnt it.", "UTC"),
    "ytd_value": Term("Lũy kế từ đầu năm", "Year to date", None, ROW_UNIT),
    "months_in_ytd": Term("Số tháng trong lũy kế", "Months in year to date"),
    "is_ytd_complete": Term("Lũy kế đủ tháng", "Year to date complete"),
    "value_prev_year": Term("Cùng tháng năm trước", "Same month last year", None, ROW_UNIT),
    "ytd_value_prev_year": Term("Lũy kế cùng kỳ năm trước", "Year to date, same period last year", None, ROW_UNIT),
    "growth_month_pct": Term("Tháng so cùng kỳ (%)", "Month vs same month last year (%)", None, "%"),
    "growth_ytd_pct": Term("Lũy kế so cùng kỳ (%)", "Year to date vs same period last year (%)", None, "%"),
    "reported_growth_month_pct": Term(
        "Tháng so cùng kỳ theo báo cáo (%)", "Month vs same month last year, as reported (%)",
        "The month's growth vs the same month last year as the department's report states it with the figure "
        "(latest version), in % (an index written with base 100 less 100); NULL when none was stated. "
        "growth_month_pct is the growth of the stored figures.", "%"),
    "reported_growth_ytd_pct": Term(
        "Lũy kế so cùng kỳ theo báo cáo (%)", "Year to date vs same period last year, as reported (%)",
        "The year to date's growth vs the same period last year as the department's report states it with the "
        "month's figure (latest version), in %; NULL when none was stated. growth_ytd_pct is the growth of the "
        "stored figures.", "%"),
    # ---- annual rollups
    "months_reported": Term("Số tháng có số liệu", "Months reported", "Months of the year with a current figure."),
    "from_predecessors": Term(
        "Số liệu của đơn vị trước sáp nhập", "From predecessors",
        "A month before a unit formed by the 2025 merger came into force: the figures of the units it "
        "was formed from, added together. An input of its rollups, never a figure of its own."),
    "is_touched": Term(
        "Năm cần tính lại", "Touched year",
        "TRUE for a (region, indicator, year) the batch touched; FALSE for the year before one, read only "
        "as the base of its growth. The rollups keep the touched years' rows."),
    "months_from_predecessors": Term(
        "Số tháng của đơn vị trước sáp nhập", "Months from predecessors",
        "Of the months reported, those before a unit formed by the 2025 merger came into force: "
        "the figures of the units it was formed from, added together (new Hồ Chí Minh City's 2025: 6)."),
    "last_month_reported": Term("Tháng cuối có số liệu", "Last month reported", "Latest month of the year with a current figure."),
    "is_complete": Term("Đủ số liệu", "Complete", "Whether every month the year's rule needs is present (year_rule 'none': all 12 months, though there is no annual value)."),
    "annual_value": Term("Thực hiện năm", "Annual value", None, ROW_UNIT),
    "partial_value": Term("Giá trị tạm tính", "Partial value", None, ROW_UNIT),
    "annual_value_prev_year": Term("Thực hiện năm trước", "Previous year's value",
                                   "The previous year's annual value; for a unit formed by the 2025 merger, "
                                   "over its territory (its predecessors' figures added together).", ROW_UNIT),
    "growth_pct": Term("So cùng kỳ (%)", "Growth vs previous year (%)", None, "%"),
    "annual_source": Term("Nguồn số liệu năm", "Source of the annual value"),
    "reported_ytd_value": Term("Lũy kế theo báo cáo", "Year to date as reported",
                               "A flow's year to date (lũy kế) as the department reported it with the month; "
                               "NULL if it reported none. Beside ytd_value, the sum of the stored months.", ROW_UNIT),
    "reported_december_ytd": Term("Lũy kế 12 tháng theo báo cáo", "December year to date as reported", None, ROW_UNIT),
    "implied_revision": Term("Điều chỉnh ẩn trong lũy kế", "Implied revision", None, ROW_UNIT),
    "implied_revision_pct": Term("Điều chỉnh ẩn trong lũy kế (%)", "Implied revision (%)", None, "%"),
    "reported_growth_pct": Term("So cùng kỳ theo báo cáo (%)", "Growth vs previous year, as reported (%)", None, "%"),
    # ---- plan targets and plan gap
    "target_kind": Term("Loại kế hoạch", "Target kind", "'growth_pct' (growth target) or 'level' (level target)."),
    "target_value": Term("Chỉ tiêu kế hoạch", "Target value", "Growth in % for a growth target, level in the canonical unit for a level target."),
    "target_value_reported": Term("Kế hoạch theo báo cáo", "Target as reported", "The target as written in the plan file, in unit_reported."),
    "actual": Term("Thực hiện", "Actual", None, ROW_UNIT),
    "is_actual_complete": Term("Thực hiện đủ số liệu", "Actual complete", "Whether the actual covers every month its rule needs."),
    "actual_prev_year": Term("Thực hiện năm trước", "Previous year's actual", "Last year's annual value (the base of a growth target).", ROW_UNIT),
    "actual_growth_pct": Term("Tăng trưởng so cùng kỳ (%)", "Actual growth (%)", "Growth of the actual vs the previous year, %.", "%"),
    "planned_level": Term("Mức kế hoạch", "Planned level", "Level implied by the plan: the level target, or last year's actual x (1 + growth target).", ROW_UNIT),
    "attainment_pct": Term("Đạt so với kế hoạch (%)", "Attainment (% of plan)", "actual / planned_level x 100 (đạt x% KH).", "%"),
    "gap_pp": Term("Chênh lệch tăng trưởng (điểm %)", "Growth gap (percentage points)", None, "pp"),
    "gap_level": Term("Chênh lệch mức", "Level gap", None, ROW_UNIT),
    # ---- versions (bitemporal lineage)
    "computed_by_batch_key": Term("Lô tính toán", "Computed by batch", None),
    "known_from": Term("Biết từ", "Known from", None, "UTC"),
    "known_until": Term("Biết đến", "Known until", None, "UTC"),
    "superseded_by_batch_key": Term("Bị thay bởi lô", "Superseded by batch"),
    # ---- audit
    "file_name": Term("Tên tệp", "File name", "Name of the submitted file."),
    "file_sha256": Term("Mã băm tệp", "File checksum"),
    "submission_kind": Term("Loại báo cáo", "Submission kind"),
    "sheet_name": Term("Trang tính", "Sheet", "Sheet of the XLSX file (NULL for CSV)."),
    "number_convention": Term("Quy ước số", "Number convention"),
    "reading_options": Term("Cách đọc theo yêu cầu", "Reading options",
                            "How the sender asked for the file to be read (statwh ingest --number-format, "
                            "--encoding); empty: as the file says."),
    "rows_in_file": Term("Số dòng", "Rows in file", "Data rows in the file."),
    "rows_new_version": Term("Số liệu mới/thay đổi", "New or changed figures"),
    "rows_unchanged": Term("Số liệu không đổi", "Unchanged figures"),
    "problem_count": Term("Số lỗi/cảnh báo", "Problems", "Problems (errors and warnings) found in the file."),
    "archived_path": Term("Nơi lưu tệp", "Kept at"),
    "pipeline_run_id": Term("Lượt chạy", "Pipeline run"),
    "problem_seq": Term("STT lỗi", "Problem number", "Number of the problem within its batch."),
    "column_name": Term("Cột", "Column", "Column of the file the problem is in."),
    "value_text": Term("Giá trị ô", "Cell value"),
    "rule": Term("Quy tắc", "Rule"),
    "severity": Term("Mức độ", "Severity"),
    "message": Term("Thông báo", "Message", "What is wrong, in words a clerk can act on."),
    "batch_status": Term("Trạng thái lô", "Batch status"),
    # ---- alerts
    "fingerprint": Term("Dấu nhận diện", "Fingerprint", "What the alert is about, e.g. 'submission:<file>' or 'missing:<department>:<month>'."),
    "dw.audit_alert.kind": Term("Loại cảnh báo", "Alert kind"),
    "subject": Term("Tiêu đề", "Subject", "Subject line of the alert."),
    "content_sha256": Term("Mã băm nội dung", "Content checksum"),
    "payload_json": Term("Nội dung (JSON)", "Payload (JSON)", "The alert's content as JSON."),
    "channels": Term("Kênh gửi", "Channels"),
    "first_sent_at": Term("Gửi lần đầu", "First sent at", None, "UTC"),
    "last_sent_at": Term("Gửi lần cuối", "Last sent at", "When the alert was last sent (or logged).", "UTC"),
    "send_count": Term("Số lần gửi", "Times sent", "How many times the alert was sent."),
    "suppressed_count": Term("Số lần không gửi lại", "Times suppressed"),
    "resolved_at": Term("Thời điểm khắc phục", "Resolved at", None, "UTC"),
    # ---- reporting obligations and completeness
    "first_month_key": Term("Tháng bắt đầu phải báo cáo", "First month due", "First month (year * 100 + month) the obligation covers."),
    "last_month_key": Term("Tháng cuối phải báo cáo", "Last month due"),
    "deadline_day": Term("Hạn báo cáo (ngày)", "Deadline day"),
    "deadline_at": Term("Hạn báo cáo", "Deadline", None, "UTC"),
    "first_received_at": Term("Nhận lần đầu", "First received at", None, "UTC"),
    "assessed_at": Term("Thời điểm đánh giá", "Assessed at", None, "UTC"),
    "expected": Term("Số báo cáo phải nộp", "Reports expected", "Reports whose deadline has passed."),
    "received": Term("Số báo cáo đã nhận", "Reports received", "Expected reports received (on time or late)."),
    "on_time": Term("Đúng hạn", "On time", "Reports whose first version was recorded by the deadline."),
    "late": Term("Trễ hạn", "Late", "Reports first recorded after the deadline."),
    "missing": Term("Chưa nộp", "Missing", "Nothing received and the deadline has passed."),
    "not_yet_due": Term("Chưa đến hạn", "Not yet due", "Nothing received yet and the deadline is ahead."),
    "completeness_pct": Term("Tỷ lệ đầy đủ (%)", "Completeness (%)", "received / expected x 100 (DHIS2 reporting rate).", "%"),
    "timeliness_pct": Term("Tỷ lệ đúng hạn (%)", "Timeliness (%)", "on time / expected x 100.", "%"),
    # ---- rules of indicators
    "can_be_negative": Term("Có thể âm", "Can be negative"),
    "merge_weight_indicator": Term("Chỉ tiêu trọng số", "Weight indicator"),
    "canonical_unit": Term("Đơn vị chuẩn", "Canonical unit"),
    "from_in_force_on": Term("Đơn vị cũ hiệu lực ngày", "Old unit in force on"),
    # ---- revisions
    "version_count": Term("Số phiên bản", "Versions", "How many versions of the figure the warehouse holds."),
    "first_status": Term("Trạng thái lần đầu", "First status", "Status of the first report of the figure."),
    "first_value": Term("Giá trị lần đầu", "First value", "Value as first reported (canonical unit).", ROW_UNIT),
    "first_recorded_at": Term("Ghi nhận lần đầu", "First recorded at", "When the first report was loaded.", "UTC"),
    "latest_status": Term("Trạng thái mới nhất", "Latest status", "Status of the latest version."),
    "latest_value": Term("Giá trị mới nhất", "Latest value", "Value of the latest version (canonical unit).", ROW_UNIT),
    "latest_recorded_at": Term("Ghi nhận mới nhất", "Latest recorded at", "When the latest version was loaded.", "UTC"),
    "revision": Term("Điều chỉnh", "Revision", "latest_value - first_value, canonical unit.", ROW_UNIT),
    "revision_pct": Term("Điều chỉnh (%)", "Revision (%)", "(latest - first) / |first| x 100.", "%"),
    "figures_reported_again": Term("Số liệu báo cáo lại", "Figures reported again", "Figures with more than one version (revisable)."),
    "figures_changed": Term("Số liệu thay đổi", "Figures changed", "Figures whose latest value differs from the first."),
    "mean_abs_revision_pct": Term("Điều chỉnh tuyệt đối bình quân (%)", "Mean absolute revision (%)",
                                  "Mean |latest - first| / |first| x 100 over the figures reported again.", "%"),
    "bias_pct": Term("Độ lệch bình quân (%)", "Mean revision, bias (%)",
                     "Mean (latest - first) / |first| x 100; positive: first reports too low.", "%"),
    "max_abs_revision_pct": Term("Điều chỉnh tuyệt đối lớn nhất (%)", "Largest absolute revision (%)", "Largest |latest - first| / |first| x 100.", "%"),
    # ---- today's boundaries
    "members_reported": Term("Số đơn vị đã báo cáo", "Member units reported", "Pre-merger units that reported the figure."),
    "members_expected": Term("Số đơn vị phải báo cáo", "Member units expected", "Units in force that month that are part of today's unit."),
    "combined_value": Term("Giá trị gộp", "Combined value", "The members' figures combined by the merge rule.", ROW_UNIT),
    "combined_reported_ytd_value": Term("Lũy kế gộp theo báo cáo", "Combined year to date as reported",
                                        "The year to date each member reported itself, added up ('sum' indicators); "
                                        "NULL unless every member expected that month reported one.", ROW_UNIT),
    "months_present": Term("Số tháng có số liệu", "Months present", "Months with at least one member's figure."),
    "months_complete": Term("Số tháng đủ đơn vị", "Months complete", "Months every member reported and the value could be combined."),
    "min_members_reported": Term("Số đơn vị báo cáo ít nhất", "Fewest members reported", "Fewest member units reporting in any month of the year."),
    "comparability": Term("Khả năng so sánh", "Comparability", "'complete' | 'incomplete' | 'not_comparable' | 'no_annual_value'."),
}

#: The analyst views whose columns must all carry labels (exports and reports show them).
LABELLED_VIEWS = (
    "analytics.v_plan_gap", "analytics.v_annual_rollup", "analytics.v_monthly_figure",
    "analytics.v_revision_summary", "analytics.v_load_batch",
)

# --------------------------------------------------------------------------- catalogue


@dataclass
class Column:
    name: str
    sql_type: str | None = None          # tables: as declared; views: None (derived)
    comment: str | None = None           # the inline `-- comment` in the DDL
    source: tuple[str, str] | None = None  # view column: (relation, column) it is selected from
    description: str = ""
    described_by: str = ""               # 'sql' | 'inherited from <relation.column>' | 'glossary'
    label_vi: str = ""
    label_en: str = ""
    unit: str | None = None


@dataclass
class DbObject:
    name: str               # schema.relation
    kind: str               # 'table' | 'view' | 'schema' | 'sequence' | 'index' | 'function' | 'grants'
    path: str               # relative to the SQL folder
    dialect: str | None     # None: every dialect; else 'postgresql' | 'duckdb'
    header: list[str]       # the header comment, line by line
    columns: list[Column] = field(default_factory=list)
    star_from: list[str] = field(default_factory=list)  # relations a `*` expands from

    @property
    def schema(self) -> str:
        return self.name.split(".")[0]

    @property
    def grain(self) -> str:
        """The first sentence after 'Grain:' in the header comment."""
        text = " ".join(line.strip() for line in self.header)
        match = re.search(r"Grain:\s*(.*?(?:(?<!e\.g)(?<!i\.e)\.(?=\s)|$))", text)
        return match.group(1).strip() if match else ""

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


@dataclass
class Dictionary:
    objects: list[DbObject]
    indicators: list[dict[str, str]]
    regions: dict[str, int | str]  # unit counts, and the reorganisation's dates (ISO)
    generated_at: dt.datetime

    def get(self, name: str) -> DbObject | None:
        return next((o for o in self.objects if o.name == name), None)

    def relations(self) -> list[DbObject]:
        return [o for o in self.objects if o.kind in ("table", "view")]

    def labels(self, relation: str) -> dict[str, Column]:
        obj = self.get(relation)
        if obj is None:
            raise KeyError(relation)
        return {c.name: c for c in obj.columns}


# --------------------------------------------------------------------------- SQL scanning


def _scan(sql: str) -> tuple[str, str, dict[int, str]]:
    """(code, masked, comments): ``code`` is ``sql`` with comments blanked (same length and
    lines), ``masked`` also blanks string contents, ``comments`` maps line number -> the
    text of the ``--`` comment on that line."""
    code, masked = list(sql), list(sql)
    comments: dict[int, str] = {}
    i, line, n = 0, 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch == "\n":
            line += 1
            i += 1
        elif ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            comments[line] = sql[i + 2:end].strip()
            for k in range(i, end):
                code[k] = masked[k] = " "
            i = end
        elif ch == "'":
            end = i + 1
            while end < n:
                if sql[end] == "'" and sql.startswith("''", end):
                    end += 2
                    continue
                if sql[end] == "'":
                    break
                end += 1
            for k in range(i + 1, min(end, n)):
                if sql[k] != "\n":
                    masked[k] = "x"
            line += sql.count("\n", i, end)
            i = end + 1
        else:
            i += 1
    return "".join(code), "".join(masked), comments


def _depths(masked: str) -> list[int]:
    """Parenthesis depth before each character."""
    depth, out = 0, []
    for ch in masked:
        if ch == ")":
            depth -= 1
        out.append(depth)
        if ch == "(":
            depth += 1
    return out


def _top_level(masked: str, depths: list[int], pattern: str, start: int = 0,
               depth: int = 0) -> list[tuple[int, int]]:
    """(start, end) of every match of ``pattern`` at ``depth`` from ``start`` on (absolute positions)."""
    return [(start + m.start(), start + m.end()) for m in re.finditer(pattern, masked[start:], re.IGNORECASE)
            if depths[start + m.start()] == depth and _word_boundary(masked, start + m.start())]


def _word_boundary(text: str, pos: int) -> bool:
    return pos == 0 or not (text[pos - 1].isalnum() or text[pos - 1] == "_")


def _split_items(code: str, masked: str, depths: list[int], start: int, end: int,
                 depth: int) -> list[tuple[str, int]]:
    """Comma-separated items at ``depth`` in code[start:end]: (item text, line it ends on)."""
    items, item_start = [], start
    for pos in range(start, end + 1):
        if pos == end or (masked[pos] == "," and depths[pos] == depth):
            text = code[item_start:pos]
            if text.strip():
                last = item_start + len(text.rstrip())  # position just after the item's last character
                line = code.count("\n", 0, last - 1 if pos == end else pos)
                items.append((" ".join(text.split()), line))
            item_start = pos + 1
    return items


_KIND = (
    (re.compile(r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([\w.]+)", re.I), "table"),
    (re.compile(r"CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+([\w.]+)", re.I), "view"),
    (re.compile(r"CREATE\s+SEQUENCE\s+(?:IF\s+NOT\s+EXISTS\s+)?([\w.]+)", re.I), "sequence"),
    (re.compile(r"CREATE\s+SCHEMA\s+(?:IF\s+NOT\s+EXISTS\s+)?([\w.]+)", re.I), "schema"),
    (re.compile(r"CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?([\w.]+)\s+ON\s+([\w.]+)", re.I), "index"),
    (re.compile(r"CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+([\w.]+)", re.I), "function"),
)
_CONSTRAINT = {"PRIMARY", "UNIQUE", "FOREIGN", "CONSTRAINT", "CHECK"}
_TYPE_END = re.compile(r"\s+(?:NOT\s+NULL|NULL|PRIMARY\s+KEY|UNIQUE|DEFAULT|REFERENCES|CHECK)\b.*$", re.I)


def _header(sql: str) -> list[str]:
    lines = []
    for raw in sql.splitlines():
        if not raw.startswith("--"):
            break
        lines.append(raw[2:].rstrip().removeprefix(" "))
    return lines


def parse_sql_file(path: Path, sql_dir: Path) -> DbObject:
    """One DDL file -> the object it defines, with columns for tables and views."""
    sql = path.read_text(encoding="utf-8")
    code, masked, comments = _scan(sql)
    suffixes = path.name.split(".")
    dialect = suffixes[-2] if len(suffixes) >= 3 and suffixes[-2] in ("postgresql", "duckdb") else None
    header = _header(sql)
    kind, name = "grants", ".".join(suffixes[:-1] if dialect is None else suffixes[:-2])
    for pattern, candidate in _KIND:
        match = pattern.search(masked)
        if match:
            kind, name = candidate, match.group(1)
            if candidate == "index" and "." not in name:  # an index lives in its table's schema
                name = match.group(2).split(".")[0] + "." + name
            break
    obj = DbObject(name=name, kind=kind, path=str(path.relative_to(sql_dir)), dialect=dialect, header=header)
    # the first header line is usually just the object's short name: not worth repeating
    short = name.split(".")[-1]
    if obj.header and obj.header[0].split(" (")[0].strip() == short:
        obj.header = obj.header[1:] if obj.header[0].strip() == short else obj.header
    depths = _depths(masked)
    if kind == "table":
        open_at = masked.index("(", match.end())
        close_at = next(i for i in range(open_at + 1, len(masked)) if masked[i] == ")" and depths[i] == depths[open_at])
        for text, line in _split_items(code, masked, depths, open_at + 1, close_at, 1):
            first = text.split()[0]
            if first.upper() in _CONSTRAINT:
                continue
            sql_type = _TYPE_END.sub("", text[len(first):].strip()).strip()
            obj.columns.append(Column(name=first.lower(), sql_type=sql_type, comment=comments.get(line)))
    elif kind == "view":
        _parse_view(obj, code, masked, depths, comments, match.end())
    return obj


def _parse_view(obj: DbObject, code: str, masked: str, depths: list[int], comments: dict[int, str],
                body_start: int) -> None:
    _, as_end = _top_level(masked, depths, r"\bAS\b", body_start)[0]
    _, list_start = _top_level(masked, depths, r"\bSELECT\b", as_end)[0]  # the outer SELECT (CTEs are nested)
    distinct = re.match(r"\s*DISTINCT\b", masked[list_start:], re.I)
    if distinct:
        list_start += distinct.end()
    from_at, _ = _top_level(masked, depths, r"\bFROM\b", list_start)[0]
    clause_end = [s for s, _ in _top_level(
        masked, depths, r"\b(?:WHERE|GROUP\s+BY|ORDER\s+BY|HAVING|LIMIT|UNION|WINDOW)\b", from_at)]
    from_clause = code[from_at:clause_end[0] if clause_end else len(code)]
    aliases: dict[str, str] = {}
    for m in re.finditer(r"\b(?:FROM|JOIN)\s+([\w.]+)(?:\s+(?:AS\s+)?(?!ON\b|JOIN\b|LEFT\b|INNER\b|CROSS\b|WHERE\b)(\w+))?",
                         from_clause, re.I):
        relation = m.group(1).lower()
        aliases[(m.group(2) or relation.split(".")[-1]).lower()] = relation
        aliases.setdefault(relation, relation)
    single = next(iter(set(aliases.values()))) if len(set(aliases.values())) == 1 else None
    for text, line in _split_items(code, masked, depths, list_start, from_at, 0):
        named = re.match(r"^(.*?)\s+AS\s+(\w+)$", text, re.I | re.S)
        expression, name = (named.group(1), named.group(2)) if named else (text, None)
        star = re.fullmatch(r"(?:(\w+)\.)?\*", expression.strip())
        if star:
            relation = aliases.get(star.group(1).lower()) if star.group(1) else single
            obj.star_from.append(relation or "?")
            obj.columns.append(Column(name="*", source=(relation or "?", "*")))
            continue
        ref = re.fullmatch(r"(?:(\w+)\.)?(\w+)", expression.strip())
        if name is None:
            if not ref:
                raise ValueError(f"{obj.path}: cannot name the select item {text!r}")
            name = ref.group(2)
        source = None
        if ref:
            relation = aliases.get(ref.group(1).lower()) if ref.group(1) else single
            if relation and "." in relation:
                source = (relation, ref.group(2).lower())
        obj.columns.append(Column(name=name.lower(), comment=comments.get(line), source=source))


# --------------------------------------------------------------------------- resolution


def _expand_stars(objects: dict[str, DbObject]) -> None:
    def expand(obj: DbObject, seen: tuple[str, ...] = ()) -> list[Column]:
        if obj.name in seen:
            raise ValueError(f"view cycle through {obj.name}")
        out = []
        for col in obj.columns:
            if col.name != "*":
                out.append(col)
                continue
            relation = objects.get(col.source[0])
            if relation is None:
                raise ValueError(f"{obj.path}: SELECT * from an unknown relation {col.source[0]}")
            for inner in expand(relation, seen + (obj.name,)):
                out.append(Column(name=inner.name, source=(relation.name, inner.name)))
        obj.columns = out
        return out

    for obj in objects.values():
        if obj.kind == "view":
            expand(obj)


def _describe(objects: dict[str, DbObject]) -> None:
    """Fill description, labels and unit of every column, taking the first of:

    1. its own inline comment in the DDL;
    2. the DDL comment of the column it is selected from (views; followed through views);
    3. its glossary entry;
    4. what the column it is selected from resolves to (its glossary entry, ...);
    5. outside dw tables (views, staging): the DDL comment of the dw table column of the same
       name, when all dw tables that have that column say the same thing.
    """
    same_name: dict[str, dict[str, str]] = {}  # column -> comment -> first owner
    for obj in objects.values():
        if obj.kind == "table" and obj.schema == "dw":
            for col in obj.columns:
                if col.comment:
                    same_name.setdefault(col.name, {}).setdefault(col.comment, f"{obj.name}.{col.name}")

    def source_of(col: Column) -> tuple[DbObject, Column] | None:
        if col.source and col.source[0] in objects:
            src_obj = objects[col.source[0]]
            src_col = src_obj.column(col.source[1])
            if src_col is not None:
                return src_obj, src_col
        return None

    def sql_comment(obj: DbObject, col: Column, depth: int = 0) -> tuple[str, str] | None:
        if col.comment:
            return col.comment, f"{obj.name}.{col.name}"
        found = source_of(col)
        return sql_comment(*found, depth + 1) if found and depth < 20 else None

    def glossary(obj: DbObject, col: Column) -> Term | None:
        return GLOSSARY.get(f"{obj.name}.{col.name}") or GLOSSARY.get(col.name)

    def resolve(obj: DbObject, col: Column, depth: int = 0) -> tuple[str, str] | None:
        if col.comment:
            return col.comment, "sql"
        found = source_of(col) if depth < 20 else None
        if found:
            inherited = sql_comment(*found)
            if inherited:
                return inherited[0], f"inherited from {inherited[1]}"
        term = glossary(obj, col)
        if term and term.description:
            return term.description, "glossary"
        if found:
            via = resolve(*found, depth + 1)
            if via:
                return via[0], via[1] if via[1].startswith("inherited") else f"{via[1]} (via {found[0].name})"
        if not (obj.kind == "table" and obj.schema == "dw") and len(same_name.get(col.name, {})) == 1:
            (comment, owner), = same_name[col.name].items()
            return comment, f"inherited from {owner}"
        return None

    for obj in objects.values():
        for col in obj.columns:
            term = glossary(obj, col)
            if term:
                col.label_vi, col.label_en, col.unit = term.label_vi, term.label_en, term.unit
            found = resolve(obj, col)
            if found:
                col.description, col.described_by = found


# --------------------------------------------------------------------------- building


def build_dictionary(sql_dir: Path | None = None) -> Dictionary:
    """Parse every DDL file and the reference catalogue into a :class:`Dictionary`."""
    from etl.config import load_settings
    from etl.reference import load_reference

    sql_dir = Path(sql_dir or load_settings().sql_dir)
    parsed = [parse_sql_file(p, sql_dir) for p in sorted(sql_dir.glob("*/*.sql"))]
    objects = {o.name: o for o in parsed}
    _expand_stars(objects)
    _describe(objects)

    reference = load_reference()
    indicators = [
        {key: str(row[key]) for key in ("indicator_code", "name_vi", "name_en", "kind", "canonical_unit",
                                        "year_rule", "merge_rule", "description_en")}
        for _, row in reference.indicators.iterrows()
    ]
    # the latest reorganisation in the crosswalk (2025-07-01 today), not a date written here
    merger = max(reference.crosswalk["effective_date"])
    before = merger - dt.timedelta(days=1)
    counts = {"units": len(reference.regions), "before_merger": len(reference.regions_in_force(before)),
              "from_merger": len(reference.regions_in_force(merger)),
              "crosswalk_rows": len(reference.crosswalk), "last_day_before": before.isoformat(),
              "merger_date": merger.isoformat()}
    return Dictionary(objects=parsed, indicators=indicators, regions=counts,
                      generated_at=dt.datetime.now(dt.UTC).replace(microsecond=0))


def undescribed(dictionary: Dictionary) -> list[str]:
    """``relation.column`` of every column without a description."""
    return [f"{o.name}.{c.name}" for o in dictionary.relations() for c in o.columns if not c.description]


# --------------------------------------------------------------------------- rendering

_SCHEMA_TITLE = {
    "analytics": "analytics — views for analysts (Vietnamese and English labels)",
    "dw": "dw — dimensions, facts, audit",
    "staging": "staging — bulk-load landing tables",
}


def _paragraphs(lines: list[str]) -> list[str]:
    """Header comment lines -> paragraphs; a line starting 'Label:' starts a new one."""
    out: list[str] = []
    for line in lines:
        stripped = line.strip()
        if not stripped:
            continue
        if not out or re.match(r"^[A-Z][A-Za-z' ]{0,24}:\s", stripped):
            out.append(stripped)
        else:
            out[-1] += " " + stripped
    return out


def _md_cell(text: object) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def render_markdown(d: Dictionary) -> str:
    lines = [
        "# statwarehouse — data dictionary (từ điển dữ liệu)",
        "",
        f"Generated {d.generated_at:%Y-%m-%d %H:%M} UTC by `statwh dictionary` from `warehouse_sql/*/*.sql` "
        "(header and inline comments), `etl/reference/` and the glossary in `etl/dictionary.py`. "
        "Do not edit by hand: change the DDL comments and regenerate.",
        "",
        f"Regions (`etl/reference/regions.csv`): {d.regions['units']} administrative units over time — "
        f"{d.regions['before_merger']} in force until {d.regions['last_day_before']}, "
        f"{d.regions['from_merger']} from {d.regions['merger_date']}; "
        f"{d.regions['crosswalk_rows']} crosswalk rows (pre-merger unit → post-merger unit).",
        "",
        "## Objects",
        "",
        "| object | kind | grain |",
        "|---|---|---|",
    ]
    for o in d.objects:
        if o.kind in ("table", "view"):
            lines.append(f"| [`{o.name}`](#{o.name.replace('.', '')}) | {o.kind} | {_md_cell(o.grain)} |")
    for schema in ("analytics", "dw", "staging"):
        lines += ["", f"## {_SCHEMA_TITLE[schema]}"]
        for o in (x for x in d.objects if x.schema == schema and x.kind in ("table", "view")):
            lines += ["", f"### {o.name}", "", f"*{o.kind}, `warehouse_sql/{o.path}`*", ""]
            lines += [p + "\n" for p in _paragraphs(o.header)]
            lines += ["| column | type | label (vi) | label (en) | unit | description |", "|---|---|---|---|---|---|"]
            for c in o.columns:
                origin = "" if c.described_by in ("sql", "") else f" *({c.described_by})*"
                lines.append(f"| `{c.name}` | {_md_cell(c.sql_type or '')} | {_md_cell(c.label_vi)} | "
                             f"{_md_cell(c.label_en)} | {_md_cell(c.unit or '')} | {_md_cell(c.description)}{origin} |")
    other = [o for o in d.objects if o.kind not in ("table", "view")]
    lines += ["", "## Other objects", "", "| object | kind | file | note |", "|---|---|---|---|"]
    for o in other:
        lines.append(f"| `{o.name}` | {o.kind} | `{o.path}` | {_md_cell(' '.join(_paragraphs(o.header)))} |")
    lines += ["", "## Indicator catalogue (danh mục chỉ tiêu)", "",
              "| code | tên chỉ tiêu | indicator | kind | unit | year rule | merge rule | description |",
              "|---|---|---|---|---|---|---|---|"]
    for i in d.indicators:
        lines.append("| " + " | ".join(_md_cell(i[k]) for k in (
            "indicator_code", "name_vi", "name_en", "kind", "canonical_unit", "year_rule", "merge_rule",
            "description_en")) + " |")
    return "\n".join(lines) + "\n"


_CSS = """
body{font-family:"Segoe UI",Roboto,"Noto Sans","DejaVu Sans",Arial,sans-serif;margin:0;color:#1f2937;background:#f8fafc}
main{max-width:1200px;margin:0 auto;padding:24px 32px 64px}
h1{font-size:26px;margin:0 0 4px} h2{font-size:21px;margin:40px 0 8px;border-bottom:2px solid #0f766e;padding-bottom:4px}
h3{font-size:17px;margin:28px 0 4px;font-family:ui-monospace,Menlo,Consolas,monospace}
p{line-height:1.5;margin:6px 0} .meta{color:#64748b;font-size:13px}
table{border-collapse:collapse;width:100%;background:#fff;font-size:13px;margin:8px 0}
th,td{border:1px solid #e2e8f0;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f1f5f9;font-weight:600} code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px}
.origin{color:#64748b;font-style:italic} .kind{display:inline-block;font-size:11px;padding:1px 6px;border-radius:8px;background:#ccfbf1;color:#115e59}
"""


def render_html(d: Dictionary) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html>", '<html lang="vi"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Từ điển dữ liệu (Data dictionary) — statwarehouse</title>",
        f"<style>{_CSS}</style></head><body><main>",
        "<h1>Từ điển dữ liệu (Data dictionary)</h1>",
        f'<p class="meta">Generated {d.generated_at:%Y-%m-%d %H:%M} UTC by <code>statwh dictionary</code> from '
        "<code>warehouse_sql/*/*.sql</code> (header and inline comments), <code>etl/reference/</code> and the "
        "glossary in <code>etl/dictionary.py</code>.</p>",
        f"<p>Regions: {d.regions['units']} administrative units over time — {d.regions['before_merger']} in force "
        f"until {d.regions['last_day_before']}, {d.regions['from_merger']} from {d.regions['merger_date']}; "
        f"{d.regions['crosswalk_rows']} crosswalk rows.</p>",
        "<h2>Objects</h2><table><thead><tr><th>object</th><th>kind</th><th>grain</th></tr></thead><tbody>",
    ]
    for o in d.relations():
        parts.append(f'<tr><td><a href="#{e(o.name)}"><code>{e(o.name)}</code></a></td>'
                     f"<td>{e(o.kind)}</td><td>{e(o.grain)}</td></tr>")
    parts.append("</tbody></table>")
    for schema in ("analytics", "dw", "staging"):
        parts.append(f"<h2>{e(_SCHEMA_TITLE[schema])}</h2>")
        for o in (x for x in d.objects if x.schema == schema and x.kind in ("table", "view")):
            parts.append(f'<section id="{e(o.name)}" data-object="{e(o.name)}"><h3>{e(o.name)} '
                         f'<span class="kind">{e(o.kind)}</span></h3>')
            parts.append(f'<p class="meta">warehouse_sql/{e(o.path)}</p>')
            parts += [f"<p>{e(p)}</p>" for p in _paragraphs(o.header)]
            parts.append("<table><thead><tr><th>column</th><th>type</th><th>nhãn (vi)</th><th>label (en)</th>"
                         "<th>unit</th><th>description</th></tr></thead><tbody>")
            for c in o.columns:
                origin = "" if c.described_by in ("sql", "") else f' <span class="origin">({e(c.described_by)})</span>'
                parts.append(f'<tr data-column="{e(c.name)}"><td><code>{e(c.name)}</code></td>'
                             f"<td>{e(c.sql_type or '')}</td><td>{e(c.label_vi)}</td><td>{e(c.label_en)}</td>"
                             f"<td>{e(c.unit or '')}</td><td>{e(c.description)}{origin}</td></tr>")
            parts.append("</tbody></table></section>")
    parts.append("<h2>Other objects</h2><table><thead><tr><th>object</th><th>kind</th><th>file</th><th>note</th>"
                 "</tr></thead><tbody>")
    for o in d.objects:
        if o.kind not in ("table", "view"):
            parts.append(f"<tr><td><code>{e(o.name)}</code></td><td>{e(o.kind)}</td><td><code>{e(o.path)}</code></td>"
                         f"<td>{e(' '.join(_paragraphs(o.header)))}</td></tr>")
    parts.append("</tbody></table><h2>Danh mục chỉ tiêu (Indicator catalogue)</h2><table><thead><tr>"
                 "<th>code</th><th>tên chỉ tiêu</th><th>indicator</th><th>kind</th><th>unit</th><th>year rule</th>"
                 "<th>merge rule</th><th>description</th></tr></thead><tbody>")
    for i in d.indicators:
        parts.append("<tr>" + "".join(f"<td>{e(i[k])}</td>" for k in (
            "indicator_code", "name_vi", "name_en", "kind", "canonical_unit", "year_rule", "merge_rule",
            "description_en")) + "</tr>")
    parts.append("</tbody></table></main></body></html>")
    return "\n".join(parts) + "\n"


def write_dictionary(folder: Path, dictionary: Dictionary | None = None) -> list[Path]:
    """Write ``data_dictionary.md`` and ``data_dictionary.html`` into ``folder``."""
    dictionary = dictionary or build_dictionary()
    folder.mkdir(parents=True, exist_ok=True)
    md, page = folder / "data_dictionary.md", folder / "data_dictionary.html"
    md.write_text(render_markdown(dictionary), encoding="utf-8")
    page.write_text(render_html(dictionary), encoding="utf-8")
    return [md, page]


# --------------------------------------------------------------------------- command line


def cmd_dictionary(args) -> int:
    import sys

    dictionary = build_dictionary()
    for path in write_dictionary(Path(args.to), dictionary):
        print(path)
    missing = undescribed(dictionary)
    if missing:
        print(f"{len(missing)} columns without a description: " + ", ".join(missing), file=sys.stderr)
        return 1
    return 0


def register(sub) -> None:
    p = sub.add_parser("dictionary", help="write the data dictionary (Markdown and HTML) from the DDL")
    p.add_argument("--to", required=True, metavar="DIR", help="folder to write data_dictionary.md/.html into")
    p.set_defaults(func=cmd_dictionary)
