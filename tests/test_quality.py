"""Statistical checks against history: robust seasonal outliers without false alarms on
skewed series, unit slips, identities within rounding — with severities set in data."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from etl.pipeline import ingest_file
from etl.quality import _identity, load_checks, robust_z, written_half_unit, written_half_units
from etl.sample_data import vi_number
from etl.warehouse import bulk_read
from tests.conftest import REPO, write_csv

HEADER = "region_code;indicator_code;period;value;unit;status\n"
SEASON = np.array([1.10, 0.78, 1.02, 1.00, 1.01, 1.03, 1.04, 1.05, 1.03, 1.02, 1.04, 1.05])


def skewed_series(years: int, seed: int = 7) -> np.ndarray:
    """Monthly exports that grow, are seasonal, and take right-skewed shocks (gamma)."""
    rng = np.random.default_rng(seed)
    months = np.arange(years * 12)
    shocks = rng.gamma(shape=2.0, scale=0.06, size=months.size) - 0.12      # skewed to the right, mean 0
    return 100.0 * (1.08 ** (months / 12)) * SEASON[months % 12] * np.exp(shocks)


def _file(folder, name, year, values, region="83", indicator="EXPORT", unit="triệu USD"):
    from decimal import Decimal

    rows = "".join(f"{region};{indicator};{year}-{m:02d};{vi_number(Decimal(f'{v:.1f}'))};{unit};official\n"
                   for m, v in enumerate(values, 1))
    return write_csv(folder, name, HEADER + rows)


def _rules(result):
    return [p["rule"] for p in result.problems]


def test_robust_z_ignores_the_skew_of_past_changes():
    history = np.log(1 + np.array([0.02, 0.05, -0.01, 0.30, 0.04, 0.03, 0.01, 0.06, 0.02, 0.45]))
    assert abs(robust_z(np.log(1.35), history, 0.02)) > 5          # a +35% change is out of line…
    assert abs(robust_z(np.log(1.05), history, 0.02)) < 1          # …a +5% one is not


@pytest.fixture
def five_years_of_exports(engine, landing):
    series = skewed_series(6)
    results = [ingest_file(_file(landing, f"bt_{2016 + y}.csv", 2016 + y, series[12 * y:12 * (y + 1)]), engine)
               for y in range(5)]
    return series, results


def test_a_skewed_seasonal_series_raises_no_false_alarm(five_years_of_exports, engine, landing):
    series, results = five_years_of_exports
    assert all(r.status == "loaded" for r in results)
    assert [p for r in results for p in r.problems] == []
    sixth = ingest_file(_file(landing, "bt_2021.csv", 2021, series[60:72]), engine)
    assert sixth.status == "loaded" and sixth.problems == []


def test_an_outlier_and_a_unit_slip_are_flagged_and_still_loaded(five_years_of_exports, engine, landing):
    series, _ = five_years_of_exports
    year = series[60:72].copy()
    year[4] *= 3.0                       # May: three times its usual level
    year[9] *= 1000.0                    # October: written in nghìn USD but labelled triệu USD
    result = ingest_file(_file(landing, "bt_2021_bad.csv", 2021, year), engine)
    assert result.status == "loaded"
    by_row = {}
    for p in result.problems:
        by_row.setdefault(p["row"], set()).add(p["rule"])
        assert p["severity"] == "warning"
    assert "outlier_vs_same_month_last_year" in by_row[6]          # May is row 6 (header = row 1)
    assert "probable_unit_slip" in by_row[11]
    assert set(by_row) <= {6, 7, 11, 12}                            # and the months right after


def test_a_steward_makes_unit_slips_critical_in_configuration(five_years_of_exports, engine, landing, tmp_path,
                                                              monkeypatch):
    config = tmp_path / "expectations"
    shutil.copytree(REPO / "expectations", config)
    checks = json.loads((config / "statistical_checks.json").read_text(encoding="utf-8"))
    for check in checks["checks"]:
        if check["rule"] == "probable_unit_slip":
            check["severity"] = "critical"
    (config / "statistical_checks.json").write_text(json.dumps(checks), encoding="utf-8")
    monkeypatch.setenv("STATWH_EXPECTATIONS_DIR", str(config))
    series, _ = five_years_of_exports
    year = series[60:72].copy()
    year[9] *= 1000.0
    result = ingest_file(_file(landing, "bt_2021_slip.csv", 2021, year), engine)
    assert result.status == "rejected"
    assert ("probable_unit_slip", "error") in {(p["rule"], p["severity"]) for p in result.problems}
    import sqlalchemy as sa

    with engine.connect() as conn:  # nothing of 2021 was loaded
        assert conn.execute(sa.text("SELECT COUNT(*) FROM dw.fct_monthly_figure_version "
                                    "WHERE month_key >= 202101")).scalar_one() == 0


@pytest.mark.parametrize("balance, flagged", [("6,8", False), ("6,81", False), ("6,5", True)])
def test_trade_balance_identity_within_the_rounding_of_the_report(engine, landing, balance, flagged):
    """Bình Dương 2021: exports 31.500 − imports 24.690 = 6.810 triệu USD, written '6,8 tỷ USD'."""
    rows = ("74;EXPORT;2021-12;31.500;triệu USD;official\n74;IMPORT;2021-12;24.690;triệu USD;official\n"
            f"74;TRADE_BALANCE;2021-12;{balance};tỷ USD;official\n")
    result = ingest_file(write_csv(landing, f"tb_{balance}.csv", "# number_format: vi\n" + HEADER + rows), engine)
    assert result.status == "loaded"
    assert ("trade_balance_is_exports_minus_imports" in _rules(result)) is flagged


def _identity_findings(result) -> list[tuple]:
    return [(p["row"], p["column"], p["value"]) for p in result.problems
            if p["rule"] == "trade_balance_is_exports_minus_imports"]


def test_a_broken_trade_balance_is_reported_at_the_trade_balance_figure(engine, landing):
    """Not at the region-month's first row (here an unrelated FAIRS figure): at the figure the
    identity is about, with its value as written (0,05 tỷ USD = 50 triệu USD; 100 − 80 = 20)."""
    rows = ("74;FAIRS;2024-05;2;count;official\n74;EXPORT;2024-05;100,0;triệu USD;official\n"
            "74;IMPORT;2024-05;80,0;triệu USD;official\n74;TRADE_BALANCE;2024-05;0,05;tỷ USD;official\n")
    result = ingest_file(write_csv(landing, "tb.csv", "# number_format: vi\n" + HEADER + rows), engine)
    assert result.status == "loaded"
    assert _identity_findings(result) == [(6, "value", "0,05")]      # row 6: after the directive and the header


def test_a_re_sent_part_that_breaks_a_stored_trade_balance_is_reported_at_that_part(engine, landing):
    """The balance came in an earlier file; the batch that re-sends May's imports (among other
    figures: an unrelated FAIRS row first, June's trade figures after) is to blame at its IMPORT row."""
    first = ("74;EXPORT;2024-05;100,0;triệu USD;official\n74;IMPORT;2024-05;80,0;triệu USD;official\n"
             "74;TRADE_BALANCE;2024-05;20,0;triệu USD;official\n")
    assert _identity_findings(ingest_file(write_csv(landing, "may.csv", HEADER + first), engine)) == []
    revised = ("74;FAIRS;2024-05;2;count;official\n74;IMPORT;2024-05;30,0;triệu USD;official\n"
               "74;EXPORT;2024-06;110,0;triệu USD;official\n74;IMPORT;2024-06;90,0;triệu USD;official\n"
               "74;TRADE_BALANCE;2024-06;20,0;triệu USD;official\n")
    result = ingest_file(write_csv(landing, "may_revised.csv", HEADER + revised), engine)
    assert result.status == "loaded"
    assert _identity_findings(result) == [(3, "value", "30,0")]     # as the clerk wrote it


@pytest.mark.parametrize("alone, row, written", [
    ("74;TRADE_BALANCE;2024-05;35,0;triệu USD;official\n", 2, "35,0"),   # the balance, sent after its parts
    ("74;IMPORT;2024-05;30,0;triệu USD;official\n", 2, "30,0"),          # a part, re-sent alone
])
def test_a_figure_sent_alone_is_checked_against_the_other_terms_in_the_warehouse(engine, landing, alone, row, written):
    """A file that carries one term of the identity is checked against the other two as stored:
    exports 100 − imports 80 = 20, so a balance of 35, or imports of 30 against a balance of 20, is
    flagged at the figure the file sent."""
    stored = ("74;EXPORT;2024-05;100,0;triệu USD;official\n74;IMPORT;2024-05;80,0;triệu USD;official\n"
              + ("74;TRADE_BALANCE;2024-05;20,0;triệu USD;official\n" if "IMPORT" in alone else ""))
    assert _identity_findings(ingest_file(write_csv(landing, "parts.csv", HEADER + stored), engine)) == []
    result = ingest_file(write_csv(landing, "alone.csv", HEADER + alone), engine)
    assert result.status == "loaded"
    assert _identity_findings(result) == [(row, "value", written)]
    # and a consistent figure sent alone is not flagged
    fine = alone.replace("35,0", "20,0").replace("30,0", "80,0")
    assert _identity_findings(ingest_file(write_csv(landing, "fine.csv", HEADER + fine), engine)) == []


def test_the_seed_report_s_positivity_rate_is_flagged():
    """'392 ca dương tính trong 69.180 lượt test (tỷ lệ 0,47%)': 392 / 69.180 is 0,57%."""
    check = {"rule": "rate_is_its_parts", "type": "ratio", "severity": "warning", "result": "POSITIVE_RATE",
             "numerator": "POSITIVE", "denominator": "TESTED", "scale": 100, "message": "m"}

    def frame(rate):
        return pd.DataFrame({"region": ["74"] * 3, "indicator": ["POSITIVE", "TESTED", "POSITIVE_RATE"],
                             "month_key": [202112] * 3, "value": [392.0, 69180.0, rate],
                             "value_reported": [392.0, 69180.0, rate], "source_row": [2, 3, 4]})

    [(region, month, values, expected, tolerance)] = _identity(check, frame(0.47), frame(0.47))
    assert round(expected, 4) == 0.5666 and tolerance < 0.01
    assert _identity(check, frame(0.57), frame(0.57)) == []         # the correct rate passes


@given(st.lists(st.one_of(st.decimals(min_value=-10**9, max_value=10**9, places=4, allow_nan=False),
                         st.floats(allow_nan=True, allow_infinity=True)), min_size=1, max_size=50))
@example([34359738368.75391])  # scaled by 10**5 it rounded to the wrong integer: 6 decimals, not 5
def test_vectorised_rounding_slack_agrees_with_the_scalar_one(numbers):
    """The identity check's vectorised slack gives what the documented scalar rule gives."""
    values = np.array([float(n) for n in numbers])
    expected = [written_half_unit(v) if np.isfinite(v) else 0.0 for v in values]
    assert written_half_units(values).tolist() == expected


def test_identity_checks_only_region_months_the_batch_touched_and_with_every_term():
    check = {"rule": "b", "type": "difference", "severity": "warning", "result": "TRADE_BALANCE",
             "minuend": "EXPORT", "subtrahend": "IMPORT", "message": "m"}
    current = pd.DataFrame({
        "region": ["74", "74", "74", "79", "79", "79", "01", "01"],
        "indicator": ["EXPORT", "IMPORT", "TRADE_BALANCE"] * 2 + ["EXPORT", "TRADE_BALANCE"],
        "month_key": [202112] * 8,
        "value": [31500.0, 24690.0, 9000.0, 100.0, 40.0, 1.0, 5.0, 99.0],
        "value_reported": [31500.0, 24690.0, 9000.0, 100.0, 40.0, 1.0, 5.0, 99.0]})
    new = current[current.region.isin(["74", "01"])]   # 79 is wrong too, but not in this batch
    [(region, month_key, values, expected, tolerance)] = _identity(check, current, new)
    assert (region, month_key, expected) == ("74", 202112, 6810.0) and tolerance == 1.5
    assert values == {"TRADE_BALANCE": 9000.0, "EXPORT": 31500.0, "IMPORT": 24690.0}


def test_bulk_read_keeps_codes_text_nulls_null_and_binds_parameters(engine):
    """The checks' history read (COPY TO on PostgreSQL, Arrow on DuckDB) returns what the SQL says."""
    schema = pa.schema([("code", pa.string()), ("n", pa.int64()), ("note", pa.string()), ("x", pa.float64())])
    query = ("SELECT '01' AS code, CAST(:n AS BIGINT) AS n, CAST(NULL AS VARCHAR) AS note, 1.5::DOUBLE PRECISION AS x "
             "UNION ALL SELECT 'a,b\"c', :n + 1, '', NULL "
             "UNION ALL SELECT '50%', :n + 2, 'ghi chú; 1.234,5', -2 ORDER BY n")
    with engine.connect() as conn:
        frame = bulk_read(conn, query, {"n": 7}, schema)
    assert frame.code.tolist() == ["01", 'a,b"c', "50%"]
    assert frame.n.tolist() == [7, 8, 9]
    assert frame.note.isna().tolist() == [True, False, False] and frame.note.tolist()[1:] == ["", "ghi chú; 1.234,5"]
    assert frame.x.tolist()[0] == 1.5 and pd.isna(frame.x.tolist()[1]) and frame.x.tolist()[2] == -2.0


def test_the_shipped_configuration_is_valid():
    rules = {c["rule"]: c for c in load_checks(REPO / "expectations" / "statistical_checks.json")}
    assert {c["type"] for c in rules.values()} == {"outlier_yoy", "outlier_mom", "unit_slip", "difference"}


@pytest.mark.parametrize("change, complaint", [
    (lambda c: c[0].update(exclude_indicator=c[0].pop("exclude_indicators")), "unknown parameter(s) ['exclude_indicator']"),
    (lambda c: c[0]["exclude_indicators"].append("FAIRSS"), "unknown indicator code(s) ['FAIRSS']"),
    (lambda c: c[3].update(minuend="EXPORTS"), "unknown indicator code(s) ['EXPORTS']"),
    (lambda c: c[2].pop("history_months"), "missing ['history_months']"),
])
def test_a_typo_in_the_checks_file_is_refused_not_silently_ignored(tmp_path, change, complaint):
    definition = json.loads((REPO / "expectations" / "statistical_checks.json").read_text(encoding="utf-8"))
    change(definition["checks"])
    path = tmp_path / "statistical_checks.json"
    path.write_text(json.dumps(definition, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ValueError) as refused:
        load_checks(path)
    assert complaint in str(refused.value)
