"""Vietnamese numbers: the seeds' own strings, and properties over generated ones."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etl import vnnum
from etl.sample_data import vi_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("231.578", 231578.0),        # retail sales, tỷ đồng
        ("1.302,9", 1302.9),          # Bến Tre exports, triệu USD
        ("4,51", 4.51),               # IIP growth, %
        ("69.180", 69180.0),          # tests performed
        ("0,47", 0.47),
        ("1.730,9", 1730.9),          # stabilisation revenue
        ("35.400", 35400.0),
        ("93,7", 93.7),
        ("−6,76", -6.76),             # Unicode minus
        ("-1,6", -1.6),
        ("8", 8.0),
    ],
)
def test_seed_strings_read_the_vietnamese_way(text, expected):
    assert vnnum.parse_number(text, "vi") == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("231.578 tỷ đồng", 231578.0, "tỷ đồng"),
        ("1.302,9 triệu USD", 1302.9, "triệu USD"),
        ("31 tỷ 500 triệu USD", 31500.0, "triệu USD"),
        ("24 tỷ 690 triệu đô la Mỹ", 24690.0, "triệu đô la Mỹ"),
        ("14 tỷ KWh", 14.0, "tỷ KWh"),
        ("4,51%", 4.51, "%"),
        ("99,99%", 99.99, "%"),
    ],
)
def test_seed_quantities(text, value, unit):
    got_value, got_unit = vnnum.parse_quantity(text)
    assert got_value == pytest.approx(value)
    assert got_unit == unit


@pytest.mark.parametrize("text", ["231.578", "1,500", "1.302", "12,345"])
def test_ambiguous_strings_are_refused_without_a_convention(text):
    assert vnnum.readings(text).is_ambiguous
    with pytest.raises(vnnum.NumberFormatError, match="ambiguous"):
        vnnum.parse_number(text, None)


@pytest.mark.parametrize("text", ["1.302,9", "4,51", "0,47", "1.000.000"])
def test_strings_only_vietnamese_are_read_without_a_convention(text):
    assert vnnum.readings(text).valid_under() == {"vi"}
    assert vnnum.parse_number(text, None) == vnnum.parse_number(text, "vi")


@pytest.mark.parametrize("text", ["", "abc", "1..2", "1,2,3", "12.34.5", "1.5,", ",5", "--1", "1 2"])
def test_garbage_is_not_a_number(text):
    with pytest.raises(vnnum.NumberFormatError):
        vnnum.parse_number(text, "vi")


def test_a_column_is_settled_by_its_unambiguous_members():
    column = pa.array(["231.578", "1.302,9", "8"])
    detection = vnnum.detect_convention(vnnum.array_readings(column))
    assert detection.convention == "vi"


def test_a_column_of_only_ambiguous_numbers_is_refused_with_rows():
    column = pa.array(["8", "231.578", "12"])
    detection = vnnum.detect_convention(vnnum.array_readings(column))
    assert detection.convention is None
    assert detection.ambiguous_rows.tolist() == [1]


def test_a_column_mixing_conventions_is_refused():
    column = pa.array(["1.302,9", "1,302.9"])
    detection = vnnum.detect_convention(vnnum.array_readings(column))
    assert detection.convention is None and detection.is_mixed


def test_a_percent_sign_after_a_number_is_taken_off_and_the_number_read_by_the_same_rules():
    """``9,2%`` is how a clerk writes growth; the sign comes off (the caller decides from the
    unit whether it fits) and what is left is read as before: ``1,500%`` stays ambiguous."""
    bare, signed = vnnum.split_percent_sign(pa.array(["9,2%", "4,51 %", "19.301,5", None, "1,500%", "9,2%%", "%9,2"]))
    assert bare.to_pylist() == ["9,2", "4,51", "19.301,5", None, "1,500", "9,2%", "%9,2"]
    assert signed.tolist() == [True, True, False, False, True, True, False]
    readings = vnnum.array_readings(bare)
    assert readings.value["vi"][0] == 9.2 and readings.ambiguous.tolist()[4]
    assert not (readings.valid["vi"][5] or readings.valid["en"][5] or readings.valid["vi"][6])
    unsigned = pa.array(["9,2", "12"])
    assert vnnum.split_percent_sign(unsigned)[0] is unsigned       # no sign anywhere: left as it is


def test_a_number_written_one_way_is_shown_written_the_other_way():
    assert vnnum.written_the_other_way("2,805.3") == "2.805,3"
    assert vnnum.written_the_other_way(" 19.301,5 ") == "19,301.5"
    assert vnnum.parse_number(vnnum.written_the_other_way("1,302,900.25"), "vi") == 1302900.25


decimals = st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=3, allow_nan=False,
                       allow_infinity=False)


def en_number(value: Decimal) -> str:
    sign = "-" if value < 0 else ""
    whole, _, fraction = f"{abs(value):f}".partition(".")
    return sign + f"{int(whole):,}" + ("." + fraction if fraction else "")


@given(decimals)
def test_written_the_vietnamese_way_reads_back(value):
    assert vnnum.parse_number(vi_number(value), "vi") == pytest.approx(float(value), rel=1e-15, abs=1e-9)


@given(decimals)
def test_written_the_english_way_reads_back(value):
    assert vnnum.parse_number(en_number(value), "en") == pytest.approx(float(value), rel=1e-15, abs=1e-9)


@given(decimals)
def test_a_number_never_reads_as_two_different_values_once_the_convention_is_known(value):
    vi_text = vi_number(value)
    reading = vnnum.readings(vi_text)
    if reading.en is not None and reading.en != reading.vi:
        with pytest.raises(vnnum.NumberFormatError):
            vnnum.parse_number(vi_text, None)


@settings(max_examples=300)
# Unicode minus, en dash and both non-breaking spaces included: the vectorised parser only
# rewrites them when a column has some, and an all-ASCII column must read the same.
@given(st.lists(st.text(alphabet="0123456789.,- −\u2013\u00a0\u202f", max_size=12), min_size=1, max_size=20))
def test_vectorised_parser_agrees_with_the_scalar_one(texts):
    r = vnnum.array_readings(pa.array(texts))
    for i, text in enumerate(texts):
        scalar = vnnum.readings(text)
        for convention in vnnum.CONVENTIONS:
            expected = getattr(scalar, convention)
            assert bool(r.valid[convention][i]) == (expected is not None), (text, convention)
            if expected is not None:
                assert r.value[convention][i] == expected, (text, convention)


@given(st.lists(decimals, min_size=1, max_size=30))
def test_detection_on_vietnamese_columns_never_picks_english_wrongly(values):
    texts = [vi_number(v) for v in values]
    detection = vnnum.detect_convention(vnnum.array_readings(pa.array(texts)))
    if detection.convention is not None:
        parsed, bad = vnnum.parse_number_array(pa.array(texts), detection.convention)
        assert not bad.any()
        assert np.allclose(parsed, [float(v) for v in values], rtol=1e-15, atol=1e-9)
    else:  # refused: only when some value really reads two ways
        assert len(detection.ambiguous_rows) > 0


def test_nan_for_blank_cells_and_flags_for_unreadable_ones():
    values, bad = vnnum.parse_number_array(pa.array(["1,5", "", None, "x"]), "vi")
    assert values[0] == 1.5 and math.isnan(values[1]) and math.isnan(values[2]) and math.isnan(values[3])
    assert bad.tolist() == [False, False, False, True]


def test_a_number_held_as_a_number_is_written_in_full_never_in_exponent_form():
    """What a problem quotes for a spreadsheet cell that holds a number, or a stored figure."""
    from etl.vnnum import number_in_full

    assert [number_in_full(v) for v in (2345678.0, 4.51, 1e-7, 1e16, 12, -0.5, 0.1 + 0.2)] == [
        "2345678", "4.51", "0.0000001", "10000000000000000", "12", "-0.5", "0.30000000000000004"]
