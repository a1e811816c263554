"""Scalar parsers (DESIGN "Values"): dates, counts, yes/no, text, headers and credit codes."""

from __future__ import annotations

import contextlib
import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qyzj_analytics.errors import ParseError
from qyzj_analytics.ingest.parse import (
    _PLAIN_RE,
    credit_codes_valid,
    date_note,
    is_valid_credit_code,
    key_text,
    key_texts,
    normalize_credit_code,
    normalize_header,
    normalize_text,
    parse_count,
    parse_date,
    parse_distinct,
    parse_whole_date,
    parse_yes_no,
)

D = dt.date(2025, 3, 5)
VALID_CODE = "91330382781819720R"

# ---------------------------------------------------------------- dates


@pytest.mark.parametrize(
    "value",
    [
        dt.date(2025, 3, 5),
        dt.datetime(2025, 3, 5, 14, 30),
        pd.Timestamp("2025-03-05 23:59"),
        np.datetime64("2025-03-05T08:00"),
        45721,
        45721.0,
        45721.75,
        "45721",
        20250305,
        "2025-03-05",
        "2025/3/5",
        "2025.3.5",
        "2025年3月5日",
        "2025年03月05号",
        "20250305",
        "２０２５－０３－０５",
        "２０２５年３月５日",
        " 2025-03-05 ",
        "2025-03-05 14:30",
        "2025-03-05 14:30:00",
        "2025-03-05T14:30:00",
        "2025/3/5 14:30-16:00",
        "2025年3月5日 下午2:30至4:30",
        "2025.3.5 9:00~11:30",
        "2025-3-5 14时30分",
    ],
)
def test_parse_date_reads_every_accepted_form(value: Any) -> None:
    assert parse_date(value) == D


def test_parse_date_drops_the_time_of_a_datetime() -> None:
    result = parse_date(dt.datetime(2025, 3, 5, 23, 59, 59))
    assert result == D
    assert type(result) is dt.date


@pytest.mark.parametrize("value", [None, "", "  ", float("nan"), pd.NaT, "-", "/", "无"])
def test_parse_date_empty_or_placeholder_is_none(value: Any) -> None:
    assert parse_date(value) is None


@pytest.mark.parametrize("value", ["3月5日", "3/5", "03-05", "3.5 14:30"])
def test_parse_date_without_year_is_an_error(value: str) -> None:
    with pytest.raises(ParseError, match="年份"):
        parse_date(value)


@pytest.mark.parametrize(
    "value", ["下周三", "2025-03", "2025-03-05 备注", "abc", "2025--03-05", True, -5, 1e12]
)
def test_parse_date_unreadable_is_an_error(value: Any) -> None:
    with pytest.raises(ParseError):
        parse_date(value)


@pytest.mark.parametrize("value", ["2025-02-30", "2025-13-01", "2025年4月31日", "20250230"])
def test_parse_date_impossible_date_is_an_error(value: str) -> None:
    with pytest.raises(ParseError, match="不存在"):
        parse_date(value)


# ---------------------------------------------------------------- counts


@pytest.mark.parametrize(
    "value", [30, 30.0, "30", "30家", "约30家", "30+", "30 +", "３０家", "近30人", "30余家"]
)
def test_parse_count_reads_thirty(value: Any) -> None:
    assert parse_count(value) == 30


@pytest.mark.parametrize("value", [None, "", " ", "-", "/", "无", "--", float("nan")])
def test_parse_count_empty_markers_are_none(value: Any) -> None:
    assert parse_count(value) is None


def test_parse_count_thousands_separator() -> None:
    assert parse_count("1,200人") == 1200


@pytest.mark.parametrize("value", ["很多", "30-40", "-3", 2.5, -1, "三十", True, "30家企业参加"])
def test_parse_count_junk_is_an_error(value: Any) -> None:
    with pytest.raises(ParseError):
        parse_count(value)


# ---------------------------------------------------------------- yes/no


@pytest.mark.parametrize(
    "value", ["是", "Y", "y", "yes", "YES", " Yes ", "√", "✓", "1", 1, 1.0, "true", "TRUE", True]
)
def test_parse_yes_no_yes(value: Any) -> None:
    assert parse_yes_no(value) is True


@pytest.mark.parametrize(
    "value", ["否", "N", "no", "0", 0, 2, "", None, "×", "false", False, "是的"]
)
def test_parse_yes_no_everything_else_is_no(value: Any) -> None:
    assert parse_yes_no(value) is False


# ---------------------------------------------------------------- text and headers


def test_normalize_text_applies_nfkc() -> None:
    assert normalize_text("ＡＢＣ１２３（线上）") == "ABC123(线上)"


def test_normalize_text_removes_zero_width_characters() -> None:
    assert normalize_text("小微\u200b你\u200d好\ufeff") == "小微你好"


@pytest.mark.parametrize("quoted", ["“小微你好”", '"小微你好"', "'小微你好'", "「小微你好」"])
def test_normalize_text_removes_quotes(quoted: str) -> None:
    assert normalize_text(quoted) == "小微你好"


@pytest.mark.parametrize("value", [None, "", "  \u3000 ", "\u200b", "“”"])
def test_normalize_text_empty_is_none(value: Any) -> None:
    assert normalize_text(value) is None


def test_normalize_text_integral_float_prints_as_int() -> None:
    assert normalize_text(12.0) == "12"


def test_key_text_ignores_case_and_inner_spaces() -> None:
    assert key_text(" Policy 宣讲 ") == key_text("policy宣讲")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("参与企业数（家）", "参与企业数"),
        ("参与企业数(家)", "参与企业数"),
        ("参与人数【人】", "参与人数"),
        (" 活动 名称 ", "活动名称"),
        ("*活动时间", "活动时间"),
        ("活动时间＊", "活动时间"),
        ("企业名称\u200b", "企业名称"),
        ("(备注)", "(备注)"),
    ],
)
def test_normalize_header(raw: str, expected: str) -> None:
    assert normalize_header(raw) == expected


# ---------------------------------------------------------------- credit codes


def test_normalize_credit_code_upper_cases_and_removes_spaces() -> None:
    assert normalize_credit_code(" 9133 0382 7818 1972 0r ") == VALID_CODE


def test_normalize_credit_code_full_width() -> None:
    assert normalize_credit_code("９１３３０３８２７８１８１９７２０Ｒ") == VALID_CODE


def test_normalize_credit_code_empty_is_none() -> None:
    assert normalize_credit_code("  ") is None


def test_known_credit_code_passes_the_check_digit() -> None:
    assert is_valid_credit_code(VALID_CODE)


@pytest.mark.parametrize(
    "code",
    [
        "91330382781819720A",  # wrong check digit
        "91330382781819721R",  # one body digit changed
        "9133038278181972R",  # 17 characters
        "91330382781819720I",  # I is not in the code set
        "",
        None,
    ],
)
def test_corrupted_credit_code_fails_the_check_digit(code: str | None) -> None:
    assert not is_valid_credit_code(code)


# ---------------------------------------------------------------- parse_distinct


def test_parse_distinct_maps_results_and_reasons_back_to_rows() -> None:
    parsed = parse_distinct(pd.Series(["2025-03-05", "x", None, "2025-03-05"]), parse_date)
    assert list(parsed.values()) == [D, None, None, D]
    assert [r is not None for r in parsed.row_reasons()] == [False, True, False, False]


# ---------------------------------------------------------------- property tests

CELLS = st.one_of(
    st.none(),
    st.text(),
    st.text(alphabet="0123456789０１２３年月日号-/.: +约家无时分至~"),
    st.from_regex(r"\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}[日号]?.{0,12}", fullmatch=True),
    st.from_regex(r"(约|近)?\d{1,30}(家|人|\+|余家)?", fullmatch=True),
    st.integers(),
    st.integers(min_value=-(10**5000), max_value=10**5000),
    st.floats(),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -0.0, 5e-324]),
    st.booleans(),
    st.datetimes(),
    st.dates(),
    st.sampled_from([np.float32("nan"), np.int64(45721), np.datetime64("NaT"), pd.NaT, pd.NA]),
)
PARSERS = [parse_date, parse_count, parse_yes_no, normalize_text, normalize_header]
PARSERS += [normalize_credit_code, key_text, is_valid_credit_code]


@settings(max_examples=400, deadline=None)
@given(CELLS)
def test_parsers_only_ever_raise_parse_error(value: Any) -> None:
    for parser in PARSERS:
        with contextlib.suppress(ParseError):
            parser(value)


@settings(max_examples=300, deadline=None)
@given(CELLS)
def test_parse_date_returns_a_plain_date_or_none(value: Any) -> None:
    try:
        result = parse_date(value)
    except ParseError:
        return
    assert result is None or type(result) is dt.date


@settings(max_examples=300, deadline=None)
@given(CELLS)
def test_parse_count_returns_a_non_negative_int_or_none(value: Any) -> None:
    try:
        result = parse_count(value)
    except ParseError:
        return
    assert result is None or (type(result) is int and result >= 0)


@settings(max_examples=300, deadline=None)
@given(CELLS)
def test_parse_yes_no_returns_a_bool(value: Any) -> None:
    assert type(parse_yes_no(value)) is bool


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2100, 12, 31)))
def test_parse_date_round_trips_every_written_form(day: dt.date) -> None:
    forms = [
        day.isoformat(),
        f"{day.year}/{day.month}/{day.day}",
        f"{day.year}.{day.month}.{day.day}",
        f"{day.year}年{day.month}月{day.day}日",
        f"{day:%Y%m%d}",
        (day - dt.date(1899, 12, 30)).days,
    ]
    assert all(parse_date(f) == day for f in forms)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10**12))
def test_parse_count_round_trips(n: int) -> None:
    assert parse_count(str(n)) == n
    assert parse_count(f"约{n}家") == n


CODE_SET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CODE_WEIGHTS = [pow(3, i, 31) for i in range(17)]  # GB 32100-2015: W_i = 3^(i-1) mod 31


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=CODE_SET, min_size=17, max_size=17), st.sampled_from(CODE_SET))
def test_check_digit_matches_the_standard(body: str, other: str) -> None:
    total = sum(CODE_SET.index(c) * w for c, w in zip(body, CODE_WEIGHTS, strict=True))
    check = CODE_SET[(31 - total % 31) % 31]
    assert is_valid_credit_code(body + check)
    if other != check:
        assert not is_valid_credit_code(body + other)


# ---------------------------------------------------------------- batch short cuts

PLAIN_CHARS = [chr(c) for c in range(0x21, 0x7F) if chr(c) not in "\"'"]
PLAIN_CHARS += [chr(c) for c in range(0x4E00, 0xA000)]


def test_plain_characters_are_left_alone_by_normalisation() -> None:
    # the batch short cuts assume text of these characters is already normal
    plain = {chr(c) for c in range(0x30000) if _PLAIN_RE.fullmatch(chr(c))}
    assert plain == set(PLAIN_CHARS)
    for c in PLAIN_CHARS:
        assert normalize_text(c) == c, repr(c)
        assert key_text(c) == c.lower(), repr(c)
        assert normalize_credit_code(c) == c.upper(), repr(c)
    text = "".join(PLAIN_CHARS)
    assert normalize_text(text) == text
    assert key_text(text) == text.lower()


BATCH_CELLS = st.one_of(
    CELLS,
    st.text(alphabet="".join(PLAIN_CHARS[:94]) + "企业有限公司乐清市 \u3000“”\"'\u200b"),
    st.text(alphabet=CODE_SET + "abcdefio ０１Ｒ-", min_size=16, max_size=20),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(BATCH_CELLS, max_size=8))
def test_batch_short_cuts_match_the_scalar_parsers(values: list[Any]) -> None:
    try:
        keys = [key_text(v) for v in values]
    except ParseError:  # e.g. an int too long to print: the batch fails the same way
        with pytest.raises(ParseError):
            key_texts(values)
    else:
        assert key_texts(values) == keys
    assert credit_codes_valid(values).tolist() == [is_valid_credit_code(v) for v in values]
    for parser in (normalize_text, normalize_credit_code):
        parsed = parse_distinct(pd.Series(values, dtype=object), parser)
        expected = []
        for v in pd.unique(pd.Series(values, dtype=object).dropna()):
            try:
                expected.append((parser(v), None))
            except ParseError as exc:
                expected.append((None, str(exc)))
        assert list(zip(parsed.results[:-1], parsed.reasons[:-1], strict=True)) == expected


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=CODE_SET, min_size=17, max_size=17), st.sampled_from(CODE_SET))
def test_credit_codes_valid_matches_the_check_of_one_code(body: str, other: str) -> None:
    codes = [body + other, (body + other).lower(), body, body + other + "0", None, 91330382]
    assert credit_codes_valid(codes).tolist() == [is_valid_credit_code(c) for c in codes]


@pytest.mark.parametrize(
    "text",
    [
        "2025-09-30",
        "2025/09/30",
        "2025/9/30",
        "2025年9月30日",
        "２０２５年９月３０日",
        " 20250930 ",
    ],
)
def test_parse_whole_date_reads_typed_dates(text: str) -> None:
    assert parse_whole_date(text) == dt.date(2025, 9, 30)


@pytest.mark.parametrize(
    "text", ["2025-09-30 10:00", "2025/9/30-10/1", "45930", "9月30日", "2025-02-30", "", "明天"]
)
def test_parse_whole_date_refuses_anything_else(text: str) -> None:
    with pytest.raises(ParseError):
        parse_whole_date(text)


# ---------------------------------------------------------------- day ranges and weekdays


@pytest.mark.parametrize(
    ("text", "note"),
    [
        ("2025年3月5日-3月7日", "日期为区间，取第一天"),
        ("2025.3.5-3.7", "日期为区间，取第一天"),
        ("2025-03-05至2025-03-07", "日期为区间，取第一天"),
        ("2025/3/5~3/7", "日期为区间，取第一天"),
        ("20250305-20250307", "日期为区间，取第一天"),
        ("2025年3月5日（周三）", None),
        ("2025-03-05 星期三 14:30", None),
        ("2025-03-05 (Wed)", None),
        ("2025-03-05 Wednesday", None),
        ("2025-03-05 周四", "星期与日期不符，按日期处理"),
        ("2025-03-05 14:30-16:00", None),
    ],
)
def test_parse_date_reads_ranges_and_weekdays_as_the_first_day(text: str, note: str | None) -> None:
    assert parse_date(text) == dt.date(2025, 3, 5)
    assert date_note(text) == note


def test_a_range_across_new_year_keeps_its_first_day() -> None:
    assert parse_date("2025年12月30日-1月2日") == dt.date(2025, 12, 30)


@pytest.mark.parametrize(
    "text",
    [
        "3月5日-3月7日",  # no year
        "2025-03-05-2",  # ends before it starts
        "2025-03-05-3月40日",  # no such end
        "2025-02-30-3月1日",  # no such start
        "2025-03-05 周八",
        "2025-03-05 thumb",
        "2025-03-05 张三",
        "2025-03-05-至",
    ],
)
def test_parse_date_still_rejects_junk_around_ranges(text: str) -> None:
    with pytest.raises(ParseError):
        parse_date(text)
