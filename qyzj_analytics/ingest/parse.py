"""Scalar value parsers for the messy cells of platform exports (DESIGN "Values").

Each parser takes one raw cell (``str``, number, ``datetime``, ``None`` ...) and returns a clean
value, ``None`` for an empty cell, or raises :class:`~qyzj_analytics.errors.ParseError`; never
anything else.
:func:`parse_distinct` applies a parser to a whole column through its distinct values, which keeps
cleaning a million-row export fast.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from qyzj_analytics.errors import ParseError
from qyzj_analytics.ingest.datetext import read_date_rest
from qyzj_analytics.ingest.headertext import SPACES_RE as _SPACES_RE
from qyzj_analytics.ingest.headertext import clean_text, header_key

_EMPTY_MARKERS = {"", "-", "--", "—", "——", "/", "无", "n/a", "na", "none", "null", "nan"}
_YES = {"是", "y", "yes", "√", "✓", "✔", "1", "1.0", "true"}
BLANK_CHARS = " \t\r\n\u3000\u200b\ufeff"  # a cell of only these is empty (io matches this too)
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_SERIAL_MIN, _SERIAL_MAX = 1, 2_958_465  # 1900-01-01 .. 9999-12-31


def is_empty(value: Any) -> bool:
    """True for ``None``, NaN/NaT/NA and blank strings.

    >>> is_empty("  "), is_empty(float("nan")), is_empty("0")
    (True, True, False)
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    if isinstance(value, np.datetime64 | np.timedelta64):
        return bool(np.isnat(value))
    if isinstance(value, str):
        return not value.strip(BLANK_CHARS)
    return False


def normalize_text(value: Any) -> str | None:
    """NFKC, strip, drop zero-width characters and quotes; ``None`` when nothing is left.

    >>> normalize_text(" “小微你好”\\u200b专项 ")
    '小微你好专项'
    """
    if isinstance(value, str):  # the common case first (blank strings come out as None)
        return clean_text(value)
    if is_empty(value):
        return None
    if isinstance(value, float | np.floating) and np.isfinite(value) and float(value).is_integer():
        value = int(value)
    try:
        raw = str(value)
    except ValueError as exc:  # an int too long to print (over 4300 digits)
        raise ParseError("数值过长，无法作为文本读取") from exc
    return clean_text(raw)


def normalize_header(value: Any) -> str:
    """Header cell for matching: NFKC, no whitespace, no trailing unit in brackets, no ``*`` marks.

    >>> normalize_header("参与企业数（家）")
    '参与企业数'
    """
    return header_key(normalize_text(value))


def key_text(value: Any) -> str | None:
    """Text for deduplication keys: :func:`normalize_text` without any whitespace, case-folded."""
    text = normalize_text(value)
    return _SPACES_RE.sub("", text).casefold() if text else None


# Printable ASCII but quotes, and CJK unified ideographs: NFKC leaves these characters alone
# and none of them is dropped, stripped or a space, so text made of them only is normalised.
_PLAIN_RE = re.compile("[!#-&(-~\u4e00-\u9fff]+")


def key_texts(values: Iterable[Any]) -> list[str | None]:
    """:func:`key_text` of each value (plain text, the common case, takes a short cut).

    >>> key_texts(["ABC有限公司", " “Abc”有限 公司", None])
    ['abc有限公司', 'abc有限公司', None]
    """
    plain = _PLAIN_RE.fullmatch
    # (plain text: key_text is lower-casing, which is case-folding for these characters)
    return [v.lower() if type(v) is str and plain(v) else key_text(v) for v in values]


_DATE_RE = re.compile(
    r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*[日号]?"
    r"(?P<rest>.*)$"
)
_COMPACT_RE = re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?P<rest>.*)$")
_PLAIN_DATE_RE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?: [\d:]+)?")
_NO_YEAR_RE = re.compile(r"^\d{1,2}\s*[-/.月]\s*\d{1,2}\s*[日号]?")


def _serial_to_date(number: float) -> dt.date:
    """An Excel serial day number (the 1900 date system) as a date; a fraction is the time."""
    if not _SERIAL_MIN <= number <= _SERIAL_MAX:  # also false for NaN
        raise ParseError(f"无法识别的日期数值 {_short(number)}")
    return _EXCEL_EPOCH + dt.timedelta(days=int(number))


def _short(value: Any) -> str:
    """``repr`` of a value for messages, at most 40 characters (huge ints cannot even print)."""
    try:
        text = repr(value)
    except ValueError:
        return "<过长的数值>"
    return text if len(text) <= 40 else text[:37] + "..."


def parse_date(value: Any) -> dt.date | None:
    """A cell as a calendar day; a trailing time or time range is dropped.

    Accepts Excel date cells and serial numbers, ``2025-03-05``, ``2025/3/5``, ``2025.3.5``,
    ``2025年3月5日``, ``20250305`` and full-width digits. Empty cells and the placeholders
    ``-``, ``/`` and ``无`` give ``None``. A date without a year, or one that cannot be read,
    raises :class:`ParseError`.

    >>> parse_date("２０２５年３月５日 14:30-16:00")
    datetime.date(2025, 3, 5)
    >>> parse_date(45721.5)
    datetime.date(2025, 3, 5)
    """
    if is_empty(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, np.datetime64):
        day = value.astype("datetime64[D]").item()  # an int when outside datetime.date's range
        if isinstance(day, dt.date):
            return day
        raise ParseError(f"无法识别的日期 {_short(value)}")
    if isinstance(value, bool | np.bool_):
        raise ParseError(f"无法识别的日期 {value!r}")
    if isinstance(value, int | np.integer):
        value = int(value)
        if 19000101 <= value <= 21001231:  # 20250305 typed as a number
            return parse_date(str(value))
        return _serial_to_date(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        if 19000101 <= number <= 21001231 and number.is_integer():
            return parse_date(str(int(number)))
        return _serial_to_date(number)
    text = normalize_text(value)
    if text is None or text.casefold() in _EMPTY_MARKERS:  # "-", "/", "无": no date
        return None
    match = _DATE_RE.match(text) or _COMPACT_RE.match(text)
    if match is None:
        if re.fullmatch(r"\d+(?:\.\d+)?", text):
            return _serial_to_date(float(text))
        if _NO_YEAR_RE.match(text):
            raise ParseError(f"日期缺少年份: {_short(text)}")
        raise ParseError(f"无法识别的日期: {_short(text)}")
    return _written_date(match, text)[0]


def _written_date(match: re.Match[str], text: str) -> tuple[dt.date, str | None]:
    """The day a matched written date names, and the warning its rest calls for (if any)."""
    try:
        day = dt.date(int(match["y"]), int(match["m"]), int(match["d"]))
    except ValueError as exc:
        raise ParseError(f"不存在的日期: {_short(text)}") from exc
    try:
        return day, read_date_rest(match["rest"], day)
    except ParseError as exc:
        raise ParseError(f"{exc}: {_short(text)}") from None


def date_note(value: Any) -> str | None:
    """The warning a date cell that :func:`parse_date` reads calls for (a day range ...), or None.

    >>> date_note("2025.3.5-3.7"), date_note("2025-03-05")
    ('日期为区间，取第一天', None)
    """
    if not isinstance(value, str) or _PLAIN_DATE_RE.fullmatch(value):
        return None
    text = normalize_text(value) or ""
    match = _DATE_RE.match(text) or _COMPACT_RE.match(text)
    try:
        return None if match is None else _written_date(match, text)[1]
    except ParseError:
        return None


def parse_whole_date(text: str) -> dt.date:
    """A date a person typed (``--as-of``, a notebook parameter): the whole text is one day.

    Accepts what :func:`parse_date` reads as a written date — ``2025-09-30``, ``2025/9/30``,
    ``2025年9月30日``, ``20250930``, full-width digits — but no time, range or serial number.

    >>> parse_whole_date("２０２５年９月３０日")
    datetime.date(2025, 9, 30)

    Raises:
        ParseError: anything else, or a day that does not exist.
    """
    written = normalize_text(text) or ""
    match = _DATE_RE.match(written) or _COMPACT_RE.match(written)
    day = parse_date(written) if match is not None and not match["rest"].strip() else None
    if day is None:
        raise ParseError(
            f"日期应为 2025-09-30、2025/9/30 或 2025年9月30日 这样的完整日期，收到 {_short(text)}"
        )
    return day


_COUNT_RE = re.compile(  # matched with all whitespace removed (no backtracking blow-up)
    r"^(?:约|大约|近|超过|超|逾|共|计)?(?P<n>\d{1,3}(?:,\d{3})+|\d+)(?:\.0+)?\+?"
    r"(?:家次|人次|家|人|个|次|场|名|位|户|余家|余人|多家|多人|余|多)?\+?$"
)
_MAX_COUNT_DIGITS = 18


def parse_count(value: Any) -> int | None:
    """A count cell as an ``int``: ``30``, ``30家``, ``约30家``, ``30+`` → 30; ``-``, ``无`` → None.

    >>> parse_count("约30家"), parse_count("无")
    (30, None)
    """
    if is_empty(value):
        return None
    if isinstance(value, bool | np.bool_):
        raise ParseError(f"无法识别的数量: {value!r}")
    if isinstance(value, int | np.integer):
        if 0 <= value < 10**_MAX_COUNT_DIGITS:
            return int(value)
        raise ParseError(f"无法识别的数量: {_short(value)}")
    if isinstance(value, float | np.floating):
        number = float(value)
        if 0 <= number < 10**_MAX_COUNT_DIGITS and number.is_integer():
            return int(number)
        raise ParseError(f"无法识别的数量: {_short(value)}")
    text = normalize_text(value)
    if text is None or text.casefold() in _EMPTY_MARKERS:
        return None
    match = _COUNT_RE.match(_SPACES_RE.sub("", text))
    digits = match["n"].replace(",", "") if match else ""
    if match is None or len(digits) > _MAX_COUNT_DIGITS:
        raise ParseError(f"无法识别的数量: {_short(text)}")
    return int(digits)


def parse_yes_no(value: Any) -> bool:
    """是, Y, yes, √, ✓, 1, true → True; everything else (including empty) → False.

    >>> parse_yes_no(" Yes "), parse_yes_no("否")
    (True, False)
    """
    if is_empty(value):
        return False
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return bool(value == 1)
    text = normalize_text(value)
    return text is not None and text.casefold() in _YES


CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CODE_VALUE = {c: i for i, c in enumerate(CODE_CHARS)}


def normalize_credit_code(value: Any) -> str | None:
    """Upper-case, every space removed (after NFKC, so full-width letters become ASCII).

    >>> normalize_credit_code(" 9133 0382 7818 1972 0r ")
    '91330382781819720R'
    """
    text = normalize_text(value)
    if text is None:
        return None
    return _SPACES_RE.sub("", text).upper() or None


def is_valid_credit_code(code: str | None) -> bool:
    """GB 32100-2015 check: 18 characters from the code set with a matching check digit.

    >>> is_valid_credit_code("91330382781819720R"), is_valid_credit_code("91330382781819720A")
    (True, False)
    """
    if not isinstance(code, str) or len(code) != 18:
        return False
    try:
        values = [_CODE_VALUE[c] for c in code]
    except KeyError:  # a character outside the code set (I, O, S, V, Z, lower case ...)
        return False
    total = sum(map(operator.mul, values, CODE_WEIGHTS))  # the first 17 characters
    return values[17] == (31 - total % 31) % 31


_CODE_LOOKUP = np.full(256, -1, np.int64)  # ASCII byte -> value in the code set, or -1
_CODE_LOOKUP[np.frombuffer(CODE_CHARS.encode("ascii"), np.uint8)] = np.arange(len(CODE_CHARS))


def credit_codes_valid(codes: Sequence[Any]) -> np.ndarray:
    """:func:`is_valid_credit_code` of each item, as a bool array (all codes checked at once).

    >>> credit_codes_valid(["91330382781819720R", "91330382781819720A", None]).tolist()
    [True, False, False]
    """
    valid = np.zeros(len(codes), bool)
    at = [i for i, c in enumerate(codes) if isinstance(c, str) and len(c) == 18 and c.isascii()]
    if at:
        text = "".join([codes[i] for i in at]).encode("ascii")
        values = _CODE_LOOKUP[np.frombuffer(text, np.uint8).reshape(len(at), 18)]
        total = values[:, :17] @ np.asarray(CODE_WEIGHTS, np.int64)
        valid[at] = (values >= 0).all(axis=1) & (values[:, 17] == (31 - total % 31) % 31)
    return valid


class DistinctParse(NamedTuple):
    """A parser applied to the distinct values of a column (see :func:`parse_distinct`)."""

    results: list[Any]  # one per distinct value, plus one for "empty" at the end
    reasons: list[str | None]  # the ParseError message, or None
    take: np.ndarray  # position of each row's value in ``results`` (read-only)
    notes: dict[int, Any] | None = None  # position in ``results`` -> note (see parse_distinct)

    def values(self, dtype: Any = object) -> np.ndarray:
        """Parsed value per row, as a numpy array of ``dtype``."""
        return np.asarray(self.results, dtype=dtype)[self.take]

    def row_reasons(self) -> np.ndarray:
        """Error message per row (``None`` where the value parsed)."""
        return np.asarray(self.reasons, dtype=object)[self.take]


def factorize_values(values: pd.Series | np.ndarray) -> tuple[np.ndarray, Sequence[Any]]:
    """Codes (``-1`` for missing) and distinct values; a ``Categorical`` reuses its own codes.

    >>> codes, uniques = factorize_values(pd.Series(["b", None, "a", "b"], dtype="category"))
    >>> codes.tolist(), list(uniques)
    ([1, -1, 0, 1], ['a', 'b'])
    """
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        return values.array.codes, values.cat.categories  # (int8 to int32 codes, read-only)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes.astype(np.int64, copy=False), uniques


def _normalize_texts(values: list[Any]) -> list[str | None]:
    """:func:`normalize_text` of each value (plain text, see ``_PLAIN_RE``, is already normal)."""
    plain = _PLAIN_RE.fullmatch
    return [v if type(v) is str and plain(v) else normalize_text(v) for v in values]


def _normalize_credit_codes(values: list[Any]) -> list[str | None]:
    """:func:`normalize_credit_code` of each value (plain text only needs upper-casing)."""
    plain = _PLAIN_RE.fullmatch
    return [v.upper() if type(v) is str and plain(v) else normalize_credit_code(v) for v in values]


# parsers with a faster way through a list of values (same results, same errors)
_BATCHES: dict[Callable[[Any], Any], Callable[[list[Any]], list[Any]]] = {
    normalize_text: _normalize_texts,
    normalize_credit_code: _normalize_credit_codes,
}


def parse_distinct(
    values: pd.Series,
    parser: Callable[[Any], Any],
    note: Callable[[list[Any]], dict[int, Any]] | None = None,
) -> DistinctParse:
    """Apply ``parser`` once per distinct value (and ``note`` to the list of them, into ``notes``).

    A value the parser rejects gives result ``None`` and the :class:`ParseError` message as its
    reason. Columns of a million rows hold a few thousand distinct values, so this is fast.

    >>> p = parse_distinct(pd.Series(["约3家", "x", None, "约3家"]), parse_count)
    >>> list(p.values()), [r is None for r in p.row_reasons()]
    ([3, None, None, 3], [True, False, True, True])
    """
    codes, uniques = factorize_values(values)
    if isinstance(uniques, pd.Index | pd.api.extensions.ExtensionArray):
        uniques = uniques.tolist()  # plain Python values: iterating an arrow array is slow
    results: list[Any] = []
    reasons: list[str | None] = []
    batch = _BATCHES.get(parser)
    if batch is not None:
        try:
            results = batch(uniques)
            reasons = [None] * len(results)
        except ParseError:  # some value is rejected: parse them one by one
            results = []
    if len(results) != len(uniques):
        for item in uniques:
            try:
                results.append(parser(item))
                reasons.append(None)
            except ParseError as exc:
                results.append(None)
                reasons.append(str(exc))
    results.append(parser(None))
    reasons.append(None)
    notes = None if note is None else note(uniques)
    take = codes  # (no copy when nothing is missing, as in every column read from a CSV)
    if len(codes) and codes.min() < 0:
        take = codes.astype(np.promote_types(codes.dtype, np.min_scalar_type(len(uniques))))
        take[take < 0] = len(uniques)
    return DistinctParse(results, reasons, take, notes)
