"""Running the Great Expectations suites kept as data under ``expectations/``.

A suite file is GX's own suite JSON (``name``, ``expectations`` of ``type``,
``kwargs`` and GX's ``severity``) with a ``meta`` block on every expectation that
says how a broken rule is reported to a clerk:

- ``severity`` (GX's field): ``critical`` rejects the file (our severity ``error``);
  ``warning`` loads it and reports the problem; ``info`` only records it;
- ``rule``: a stable identifier stored with every problem;
- ``column``: the column of the submission the clerk should look at;
- ``value_column`` (optional): the normalised column holding what was written;
- ``message``: the explanation.

Values that depend on reference data (known codes, allowed units, today's month)
are ``{"$PARAMETER": name}`` placeholders filled at validation time.
"""

from __future__ import annotations

import json
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from etl.config import load_settings
from etl.readers import CellOrigins
from etl.submission import CheckResult, Problem

#: GX severity -> what it means for a submission
SEVERITIES = {"critical": "error", "warning": "warning", "info": "info"}
REQUIRED_META = ("rule", "column", "message")
#: rows listed per broken rule; beyond that one summary problem gives the count
MAX_ROWS_PER_RULE = 200


class SuiteDefinitionError(ValueError):
    """A suite file that does not follow the format above."""


def suite_path(name: str, expectations_dir: Path | None = None) -> Path:
    return (expectations_dir or load_settings().expectations_dir) / f"{name}.json"


def load_suite_definition(name: str, expectations_dir: Path | None = None) -> dict[str, Any]:
    """Read and check a suite file; a typo in it raises :class:`SuiteDefinitionError`."""
    path = suite_path(name, expectations_dir)
    definition = json.loads(path.read_text(encoding="utf-8"))
    check_suite_definition(definition, path.name)
    return definition


def check_suite_definition(definition: dict[str, Any], source: str) -> None:
    from great_expectations.core import ExpectationSuite

    if set(definition) - {"name", "expectations", "meta"} or "expectations" not in definition:
        raise SuiteDefinitionError(f"{source}: a suite has 'name', 'expectations' and optional 'meta'")
    rules = set()
    for i, expectation in enumerate(definition["expectations"]):
        meta = expectation.get("meta", {})
        missing = [k for k in REQUIRED_META if not meta.get(k)]
        if missing:
            raise SuiteDefinitionError(f"{source}: expectation {i} lacks meta {missing}")
        if expectation.get("severity") not in SEVERITIES:
            raise SuiteDefinitionError(
                f"{source}: expectation {i} needs a severity, one of {sorted(SEVERITIES)}"
            )
        if meta["rule"] in rules:
            raise SuiteDefinitionError(f"{source}: rule {meta['rule']!r} appears twice")
        rules.add(meta["rule"])
    try:  # GX itself rejects unknown kwargs and values
        suite = ExpectationSuite(**{k: v for k, v in definition.items() if k != "meta"})
    except Exception as exc:  # noqa: BLE001 - GX raises many kinds; all mean "bad suite"
        raise SuiteDefinitionError(f"{source}: {exc}") from exc
    # GX 1.24 logs and *drops* an expectation whose type it does not know: a typo would
    # silently remove a check. Every expectation must have survived.
    if len(suite.expectations) != len(definition["expectations"]):
        known = {e.expectation_type for e in suite.expectations}
        lost = [e["type"] for e in definition["expectations"] if e["type"] not in known]
        raise SuiteDefinitionError(f"{source}: unknown expectation type(s) {lost}")


_ONE_VALIDATION_AT_A_TIME = threading.Lock()


@lru_cache(maxsize=1)
def _context():
    import logging

    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    # GX announces the temporary folder of an ephemeral context's docs at INFO, every run.
    logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("submissions").add_dataframe_asset("submission")
    return context, asset.add_batch_definition_whole_dataframe("whole_file")


def run_suite(
    name: str,
    frame: pd.DataFrame,
    parameters: dict[str, Any],
    file_name: str,
    sheet: str | None,
    *,
    header_row: int | None = None,
    outcomes: list[CheckResult] | None = None,
    origins: CellOrigins | None = None,
) -> list[Problem]:
    """Validate ``frame`` against suite ``name`` and return its problems.

    Structure suites (``*_structure``) are run on the header: one row per column
    name, so a missing or unknown column is reported at the header row.

    ``outcomes``, if given, receives one :class:`~etl.submission.CheckResult` per
    expectation, passed or failed (with GX's element and unexpected counts).

    ``origins``: where the cells were written, for a file in another layout (the report
    layout); each problem then names the sheet's row and header, and, since one row of such a
    sheet can hold two figures, the failing figure is told by its row and indicator.
    """
    definition = load_suite_definition(name)
    if header_row is not None:
        data = pd.DataFrame({"column_name": list(frame.columns), "source_row": header_row})
    else:
        data = frame
    _, batch_definition = _context()
    keys = ["source_row"] + (["indicator_code"] if origins is not None and "indicator_code" in data else [])
    view = _validated_view(data, definition, keys)
    # One validation at a time per process: the context, its asset and batch definition are
    # shared, and GX 1.24 is not safe to run from two threads at once (frames got mixed up:
    # pandas warned of a boolean key from another frame). Airflow runs each task in a
    # process of its own, so this only orders threads of one process (the CLI, tests).
    with _ONE_VALIDATION_AT_A_TIME:
        batch = batch_definition.get_batch(batch_parameters={"dataframe": view})
        results = _validate(batch, definition, parameters, keys)
    problems: list[Problem] = []
    if outcomes is not None:
        outcomes += [_check_result(name, outcome) for outcome in results]
    if all(outcome.success for outcome in results):
        return problems
    values_by_row = data.set_index(keys, drop=False) if "source_row" in data else None
    for outcome in results:
        if outcome.success:
            continue
        config = outcome.expectation_config
        meta = config.meta
        if outcome.exception_info and outcome.exception_info.get("raised_exception"):
            raise RuntimeError(
                f"suite {name}, rule {meta['rule']}: {outcome.exception_info.get('exception_message')}\n"
                f"{outcome.exception_info.get('exception_traceback')}"
            )
        problems += _problems_from(outcome, meta, config, values_by_row, file_name, sheet, header_row, origins)
    return problems


def _validate(batch, definition: dict[str, Any], parameters: dict[str, Any], keys: list[str]) -> list:
    """GX's outcome per expectation of the suite, in the suite's order.

    Two passes: every expectation with GX's BASIC result format (success and counts, which
    is all a passing rule needs), then only the failed ones again with COMPLETE, for the
    rows to report (told by the columns ``keys``). Most files pass, and COMPLETE costs about
    half as much again as BASIC in GX's bookkeeping per expectation (0.35 s against 0.24 s
    per run on a sample file), whatever the rows.
    """
    from great_expectations.core import ExpectationSuite

    def run(expectations: list[dict], result_format: dict) -> dict[str, Any]:
        suite = ExpectationSuite(name=definition["name"], expectations=expectations)
        result = batch.validate(suite, expectation_parameters=parameters, result_format=result_format)
        return {outcome.expectation_config.meta["rule"]: outcome for outcome in result.results}

    expectations = definition["expectations"]
    by_rule = run(expectations, {"result_format": "BASIC"})
    failed = [e for e in expectations if not by_rule[e["meta"]["rule"]].success]
    if failed:
        by_rule |= run(failed, {"result_format": "COMPLETE", "unexpected_index_column_names": keys})
    return [by_rule[e["meta"]["rule"]] for e in expectations]


# --------------------------------------------------------------------------- what GX is given
#
# GX validates a view of the frame that gives the same results for less work: only the
# columns the suite reads (GX fingerprints the whole batch and copies every column of it
# for each row_condition); nullable integer columns without missing values as plain int64
# (GX 1.24 compares only numpy int and float columns vectorised; a nullable Int64 column is
# compared one Python call per row); and object columns holding only text as pandas' str
# dtype (GX asks for their missing values several times per expectation, which on Python
# objects is a scan of every row, on Arrow-backed strings a look at a bitmap). Every row
# stays, so rows, counts and results are those of the full frame.

#: expectation families that read only the columns named in their kwargs (and row_condition)
_COLUMN_FAMILIES = ("expect_column_", "expect_compound_columns_", "expect_select_column_values_",
                    "expect_multicolumn_")


def _condition_columns(condition: Any) -> set[str] | None:
    """Columns a structured row_condition reads; None when it cannot be told (a query string)."""
    if not isinstance(condition, dict):
        return None
    if "conditions" in condition:
        columns: set[str] = set()
        for part in condition["conditions"]:
            found = _condition_columns(part)
            if found is None:
                return None
            columns |= found
        return columns
    column = condition.get("column")
    if isinstance(column, dict) and isinstance(column.get("name"), str):
        return {column["name"]}
    return None


def _columns_read(definition: dict[str, Any], keys: list[str]) -> set[str] | None:
    """Every column the suite's expectations read, or None if some may read the whole table."""
    columns = set(keys)  # GX reports unexpected rows by them
    for expectation in definition["expectations"]:
        if not expectation["type"].startswith(_COLUMN_FAMILIES):
            return None
        kwargs = expectation.get("kwargs", {})
        for key in ("column", "column_A", "column_B"):
            if isinstance(kwargs.get(key), str):
                columns.add(kwargs[key])
        columns.update(kwargs.get("column_list") or [])
        if kwargs.get("row_condition"):
            found = _condition_columns(kwargs["row_condition"])
            if found is None:
                return None
            columns |= found
    return columns


def _validated_view(data: pd.DataFrame, definition: dict[str, Any], keys: list[str]) -> pd.DataFrame:
    columns = _columns_read(definition, keys)
    view = data if columns is None else data[[c for c in data.columns if c in columns]]
    plain = {}
    for column in view.columns:
        dtype = view[column].dtype
        if (pd.api.types.is_signed_integer_dtype(dtype) and not isinstance(dtype, np.dtype)
                and not view[column].hasnans):
            plain[column] = view[column].astype("int64")
        elif dtype == object and pd.api.types.infer_dtype(view[column], skipna=True) == "string":
            plain[column] = view[column].astype("str")
    return view.assign(**plain) if plain else view


def _missing_members(outcome) -> list:
    """What an ``expect_column_distinct_values_to_contain_set`` found missing. GX 1.24 lists it
    as ``partial_missing_list`` and leaves ``observed_value`` None (every member would look missing)."""
    if outcome.success:
        return []
    result = outcome.result or {}
    if result.get("partial_missing_list") is not None:
        return sorted(result["partial_missing_list"])
    wanted = outcome.expectation_config.kwargs["value_set"]
    return sorted(set(wanted) - set(result.get("observed_value") or []))


def _check_result(suite: str, outcome) -> CheckResult:
    config = outcome.expectation_config
    result = outcome.result or {}
    severity = SEVERITIES[str(config.severity.value if hasattr(config.severity, "value") else config.severity)]
    elements, unexpected = result.get("element_count"), result.get("unexpected_count")
    if config.type == "expect_column_distinct_values_to_contain_set":  # counts the set's missing members
        elements, unexpected = len(config.kwargs["value_set"]), len(_missing_members(outcome))
    if unexpected is None:
        unexpected = 0 if outcome.success else None
    return CheckResult(suite, config.meta["rule"], severity, bool(outcome.success),
                       None if elements is None else int(elements), None if unexpected is None else int(unexpected))


def _problems_from(outcome, meta, config, values_by_row, file_name, sheet, header_row,
                   origins: CellOrigins | None = None) -> list[Problem]:
    severity = SEVERITIES[str(config.severity.value if hasattr(config.severity, "value") else config.severity)]

    def make(row, value, message=meta["message"], indicator=None):
        column = meta["column"]
        if origins is not None:  # the sheet's own row and header, and the cell as written there
            row, column = origins.place(row, column, indicator)
            value = origins.written((row, column), value)
        return Problem(file_name, sheet, row, column, value, meta["rule"], message, severity)

    result = outcome.result
    if config.type == "expect_column_distinct_values_to_contain_set":
        missing = _missing_members(outcome)
        return [make(header_row, column, f"{meta['message']}: {column!r} is missing") for column in missing]
    index_list = result.get("unexpected_index_list")
    if not index_list:  # a table-level rule
        return [make(header_row, result.get("observed_value"))]
    # (row, indicator) when the figures are told apart by indicator too (see run_suite), else (row,)
    by_indicator = values_by_row is not None and values_by_row.index.nlevels == 2
    failed = sorted({(int(entry["source_row"]), str(entry["indicator_code"])) if by_indicator
                     else (int(entry["source_row"]),) for entry in index_list})
    rows = sorted({key[0] for key in failed})
    value_column = meta.get("value_column") or config.kwargs.get("column") or meta["column"]
    problems = []
    for key in [k for k in failed if k[0] in set(rows[:MAX_ROWS_PER_RULE])]:
        value = None
        if values_by_row is not None and value_column in values_by_row:
            at = key if by_indicator else key[0]
            cell = values_by_row.at[at, value_column] if at in values_by_row.index else None
            if isinstance(cell, pd.Series):
                cell = cell.iloc[0]
            value = None if cell is None or (isinstance(cell, float) and pd.isna(cell)) else str(cell)
        problems.append(make(key[0], value, indicator=key[1] if by_indicator else None))
    if len(rows) > MAX_ROWS_PER_RULE:
        problems.append(make(None, None, f"{meta['message']} — and {len(rows) - MAX_ROWS_PER_RULE} more rows"))
    return problems
