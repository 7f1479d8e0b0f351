"""Reading numbers written the Vietnamese way (and telling them from English ones).

In Vietnamese writing ``.`` groups thousands and ``,`` is the decimal mark:
``231.578`` is 231578, ``1.302,9`` is 1302.9 and ``4,51`` is 4.51. English writing
swaps the two marks. Many strings read validly both ways with different values
(``231.578``, ``1,500``); such a string is never guessed: either the file declares
its convention, or every number in it together settles the question, or it is an
error that names where the ambiguous value is.

Two implementations share one grammar (the regular expressions below):
:func:`parse_number` for single strings and :func:`parse_number_array`, a
vectorised pyarrow version for whole columns. Tests check they agree.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

Convention = Literal["vi", "en"]
CONVENTIONS: tuple[Convention, ...] = ("vi", "en")

# Signs people type: ASCII minus, the Unicode minus sign, en dash, and an explicit plus.
_SIGN = "[-+\u2212\u2013]?"  # not raw: RE2 wants the characters themselves
# Digits grouped by spaces (ordinary or non-breaking) read the same in both conventions.
_SPACE_GROUPED = "\\d{1,3}(?:[ \u00a0\u202f]\\d{3})+"
GRAMMAR: dict[Convention, str] = {
    "vi": rf"^{_SIGN}(?:\d{{1,3}}(?:\.\d{{3}})+|{_SPACE_GROUPED}|\d+)(?:,\d+)?$",
    "en": rf"^{_SIGN}(?:\d{{1,3}}(?:,\d{{3}})+|{_SPACE_GROUPED}|\d+)(?:\.\d+)?$",
}
_COMPILED = {c: re.compile(p) for c, p in GRAMMAR.items()}
_GROUP_MARK: dict[Convention, str] = {"vi": ".", "en": ","}
_DECIMAL_MARK: dict[Convention, str] = {"vi": ",", "en": "."}


class NumberFormatError(ValueError):
    """A string that is not a number under the convention asked for, or is ambiguous."""


@dataclass(frozen=True)
class Readings:
    """What one string means under each convention (None: not a number that way)."""

    vi: float | None
    en: float | None

    @property
    def is_ambiguous(self) -> bool:
        return self.vi is not None and self.en is not None and self.vi != self.en

    def valid_under(self) -> set[Convention]:
        return {c for c in CONVENTIONS if getattr(self, c) is not None}


def _normalise_sign(text: str) -> str:
    return text.replace("\u2212", "-").replace("\u2013", "-")


def _to_float(text: str, convention: Convention) -> float:
    cleaned = _normalise_sign(text)
    for space in (" ", "\u00a0", "\u202f"):
        cleaned = cleaned.replace(space, "")
    cleaned = cleaned.replace(_GROUP_MARK[convention], "").replace(_DECIMAL_MARK[convention], ".")
    return float(cleaned)


def readings(text: str) -> Readings:
    """Read ``text`` under both conventions; a reading is None where the grammar refuses it."""
    stripped = text.strip()
    values = {
        c: (_to_float(stripped, c) if _COMPILED[c].match(stripped) else None) for c in CONVENTIONS
    }
    return Readings(vi=values["vi"], en=values["en"])


def parse_number(text: str, convention: Convention | None = "vi") -> float:
    """Parse one number.

    ``convention=None`` accepts a string only when it reads the same way in both
    conventions (``8``, ``1302``, ``35 400``) or is valid in just one (``1.302,9``);
    a string with two different readings raises :class:`NumberFormatError`.
    """
    r = readings(text)
    if convention is not None:
        value = getattr(r, convention)
        if value is None:
            raise NumberFormatError(f"{text!r} is not a number written the {_NAMES[convention]} way")
        return value
    if r.is_ambiguous:
        raise NumberFormatError(
            f"{text!r} is ambiguous: {_fmt(r.vi)} written the Vietnamese way, "
            f"{_fmt(r.en)} written the English way"
        )
    if r.vi is None and r.en is None:
        raise NumberFormatError(f"{text!r} is not a number")
    return r.vi if r.vi is not None else r.en  # type: ignore[return-value]


_NAMES: dict[Convention, str] = {"vi": "Vietnamese", "en": "English"}
#: the marks of each convention, in words a clerk recognises
MARKS: dict[Convention, str] = {"vi": "point for thousands, comma for decimals",
                                "en": "comma for thousands, point for decimals"}


def convention_named(declared: str | None) -> Convention | None:
    """``vi``/``en`` for a declared number format (``vn``, ``Vietnamese``, ``English``, any case);
    None if it names none (or nothing was declared)."""
    key = " ".join((declared or "").casefold().split())
    return {"vi": "vi", "vn": "vi", "vietnamese": "vi", "en": "en", "english": "en"}.get(key)


def other(convention: Convention) -> Convention:
    return "en" if convention == "vi" else "vi"


def written_the_other_way(text: str) -> str:
    """``text`` with its two marks swapped: a number only one convention reads, written the
    other way (``2,805.3`` -> ``2.805,3``, ``19.301,5`` -> ``19,301.5``), to show a clerk
    what to write instead of a number written in the convention their file does not use."""
    return text.strip().translate(_SWAP_MARKS)


_SWAP_MARKS = str.maketrans({",": ".", ".": ","})

#: what Excel shows in a cell whose formula it could not compute (``=G24/F24`` with last month 0
#: is ``#DIV/0!``); a workbook keeps it as the cell's value
EXCEL_ERROR_VALUES = frozenset({"#DIV/0!", "#VALUE!", "#REF!", "#N/A", "#NAME?", "#NUM!", "#NULL!",
                                "#SPILL!", "#CALC!", "#GETTING_DATA"})


def is_excel_error(text: object) -> bool:
    """Whether a cell holds one of Excel's error values rather than something a person wrote."""
    return isinstance(text, str) and text.strip().upper() in EXCEL_ERROR_VALUES


def not_a_number(text: str, convention: Convention | None) -> str:
    """Why ``text`` is not a number under ``convention``, in the words a problem gives a clerk: an
    Excel error value is named as such, since "not written the Vietnamese way" would send the clerk
    looking for a misplaced comma in a cell that holds a formula Excel could not compute."""
    if is_excel_error(text):
        return (f"an Excel error value ({text.strip()}): Excel could not compute this cell's formula; "
                "write the number, or leave the cell empty")
    return "not a number" if convention is None else f"not a number written the {_NAMES[convention]} way"


def number_in_full(value: float) -> str:
    """A number held as a number (a spreadsheet cell, a stored figure) with every digit it has
    and never in exponent form: 2345678.0 -> '2345678', 4.51 -> '4.51', 1e-7 -> '0.0000001'.
    Problems quote it where no text was written, so the clerk recognises the cell."""
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    text = repr(float(value))  # the shortest digits that give the number back
    if "e" not in text and "n" not in text:  # the common case, ten times faster (every cell of a sheet)
        return text.removesuffix(".0")
    return text if not np.isfinite(value) else np.format_float_positional(float(value), trim="-")


def _fmt(value: float | None) -> str:
    return "-" if value is None else repr(value)


# --------------------------------------------------------------------------- vectorised


@dataclass(frozen=True)
class ArrayReadings:
    """Column-wide readings: validity masks and values under each convention."""

    present: np.ndarray  # the cell holds a non-blank string
    valid: dict[Convention, np.ndarray]
    value: dict[Convention, np.ndarray]

    @property
    def ambiguous(self) -> np.ndarray:
        both = self.valid["vi"] & self.valid["en"]
        return both & (self.value["vi"] != self.value["en"])


def array_readings(strings: pa.Array | pa.ChunkedArray) -> ArrayReadings:
    """Vectorised :func:`readings` over a pyarrow string array (nulls are 'not present')."""
    return _array_readings(strings, CONVENTIONS)


def _array_readings(strings: pa.Array | pa.ChunkedArray, conventions: tuple[Convention, ...]) -> ArrayReadings:
    """Readings under ``conventions`` only (parsing with a known convention needs one)."""
    text = pc.utf8_trim_whitespace(strings.cast(pa.string()))
    present = pc.fill_null(pc.greater(pc.utf8_length(text), 0), False)
    # Unicode signs and spaces (rare) are rewritten only if some cell has one: the regular
    # expressions cost more than the rest of the reading.
    unspaced = text
    if not pc.all(pc.string_is_ascii(text)).as_py():
        unspaced = pc.replace_substring_regex(unspaced, pattern="^[\u2212\u2013]", replacement="-")
        unspaced = pc.replace_substring_regex(unspaced, pattern="[\u00a0\u202f]", replacement="")
    if pc.any(pc.match_substring(unspaced, " ")).as_py():
        unspaced = pc.replace_substring(unspaced, pattern=" ", replacement="")
    valid: dict[Convention, np.ndarray] = {}
    value: dict[Convention, np.ndarray] = {}
    for c in conventions:
        ok = pc.fill_null(pc.match_substring_regex(text, pattern=GRAMMAR[c]), False)
        plain = pc.replace_substring(unspaced, pattern=_GROUP_MARK[c], replacement="")
        plain = pc.replace_substring(plain, pattern=_DECIMAL_MARK[c], replacement=".")
        # Cast only the rows the grammar accepted; the rest become NaN.
        plain = pc.if_else(ok, plain, pa.scalar(None, pa.string()))
        numbers = pc.cast(plain, pa.float64())
        valid[c] = np.asarray(ok.to_numpy(zero_copy_only=False), dtype=bool)
        value[c] = np.asarray(numbers.to_numpy(zero_copy_only=False), dtype="float64")
    return ArrayReadings(present=np.asarray(present.to_numpy(zero_copy_only=False), dtype=bool), valid=valid, value=value)


@dataclass(frozen=True)
class Detection:
    """The outcome of looking at every number in a column to settle its convention."""

    convention: Convention | None
    #: row positions whose readings disagree and that nothing in the file settles
    ambiguous_rows: np.ndarray
    #: row positions that only one convention accepts, for each convention
    only_rows: dict[Convention, np.ndarray]

    @property
    def is_mixed(self) -> bool:
        return all(len(self.only_rows[c]) for c in CONVENTIONS)


def detect_convention(r: ArrayReadings) -> Detection:
    """Settle a column's convention from its numbers, without guessing.

    A convention is possible when it accepts every number that some convention
    accepts. One possible convention decides. With both possible, the column is
    fine if no number reads differently (``8``, ``1302``) and ambiguous otherwise.
    """
    any_valid = r.valid["vi"] | r.valid["en"]
    only = {
        "vi": np.flatnonzero(r.valid["vi"] & ~r.valid["en"]),
        "en": np.flatnonzero(r.valid["en"] & ~r.valid["vi"]),
    }
    possible = [c for c in CONVENTIONS if not np.any(any_valid & ~r.valid[c])]
    ambiguous = np.flatnonzero(r.ambiguous)
    if len(possible) == 1:
        return Detection(possible[0], np.array([], dtype=int), only)
    if len(possible) == 2:
        return Detection("vi" if len(ambiguous) == 0 else None, ambiguous, only)
    return Detection(None, ambiguous, only)


def parse_number_array(
    strings: pa.Array | pa.ChunkedArray, convention: Convention
) -> tuple[np.ndarray, np.ndarray]:
    """Values (float64, NaN where unreadable or blank) and a mask of unreadable non-blank cells."""
    r = _array_readings(strings, (convention,))
    values = np.where(r.valid[convention], r.value[convention], np.nan)
    return values, r.present & ~r.valid[convention]


#: a percent sign written after a number: ``4,51%``, ``4,51 %``
_PERCENT_SIGN = "[ \u00a0\u202f]*%$"


def split_percent_sign(strings: pa.Array | pa.ChunkedArray) -> tuple[pa.Array | pa.ChunkedArray, np.ndarray]:
    """``strings`` without the percent sign written after a number (``9,2%`` -> ``9,2``), and a
    mask of the cells that had one. The grammar above stays that of the bare number, so
    ``1,500%`` is as ambiguous as ``1,500``; whether a percent sign fits a figure is for the
    caller to say, from the figure's unit (``9,2%`` of a figure in tỷ đồng is a mistake)."""
    text = pc.utf8_rtrim_whitespace(strings.cast(pa.string()))
    if not pc.any(pc.match_substring(text, "%")).as_py():  # the common case: no regular expression
        return strings, np.zeros(len(strings), dtype=bool)
    has_sign = pc.fill_null(pc.ends_with(text, "%"), False)
    bare = pc.replace_substring_regex(text, pattern=_PERCENT_SIGN, replacement="")
    return bare, np.asarray(has_sign.to_numpy(zero_copy_only=False), dtype=bool)


# --------------------------------------------------------------------------- prose quantities

_SCALE_WORDS = {"nghìn": 1e3, "ngàn": 1e3, "triệu": 1e6, "tỷ": 1e9, "tỉ": 1e9}
_COMPOUND = re.compile(
    r"^\s*(?P<major>[\d.,]+)\s*(?P<major_scale>tỷ|tỉ|triệu|nghìn|ngàn)\s+"
    r"(?P<minor>[\d.,]+)\s*(?P<minor_scale>triệu|nghìn|ngàn)\s*(?P<rest>.*)$"
)
_SIMPLE = re.compile(r"^\s*(?P<number>[-+\u2212]?[\d.,]+)\s*(?P<unit>.*?)\s*$")


def parse_quantity(text: str) -> tuple[float, str]:
    """Read a quantity as reports write it, returning (value, unit).

    ``231.578 tỷ đồng`` → (231578.0, 'tỷ đồng'); ``1.302,9 triệu USD`` →
    (1302.9, 'triệu USD'); ``31 tỷ 500 triệu USD`` → (31500.0, 'triệu USD');
    ``4,51%`` → (4.51, '%'). Numbers are read the Vietnamese way, as in the reports.
    """
    text = unicodedata.normalize("NFC", text)
    m = _COMPOUND.match(text)
    if m:
        major = parse_number(m["major"], "vi") * _SCALE_WORDS[m["major_scale"]]
        minor = parse_number(m["minor"], "vi") * _SCALE_WORDS[m["minor_scale"]]
        scale = _SCALE_WORDS[m["minor_scale"]]
        unit = f"{m['minor_scale']} {m['rest'].strip()}".strip()
        return (major + minor) / scale, unit
    m = _SIMPLE.match(text)
    if not m:
        raise NumberFormatError(f"{text!r} is not a quantity")
    return parse_number(m["number"], "vi"), m["unit"]
