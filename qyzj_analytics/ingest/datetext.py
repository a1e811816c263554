"""What may follow the day in a written date cell: a time, a weekday, the end of a day range.

:func:`read_date_rest` checks the text after ``2025年3月5日`` (already NFKC-normalised) and says
whether the cell needs a warning. A day range (``-3月7日``, ``至2025-03-07``, ``~3/7``) keeps the
first day with a warning; a weekday (``（周三）``, ``星期四``, ``(Thu)``) that matches the date is
silent, one that contradicts it keeps the date with a warning. Anything else is rejected.
"""

from __future__ import annotations

import datetime as dt
import re

from qyzj_analytics.errors import ParseError

RANGE_NOTE = "日期为区间，取第一天"
WEEKDAY_NOTE = "星期与日期不符，按日期处理"

_TIME = r"\d{1,2}[:时点]\d{0,2}(?::\d{2})?(?:\.\d+)?分?"
TIME_REST = re.compile(
    r"^(?:\s*(?:T|\s)?\s*(?:上午|下午|晚上|早上|中午|AM|PM|am|pm)?\s*"
    rf"(?:{_TIME})?"
    rf"(?:\s*(?:-|~|至|到)\s*(?:{_TIME})?)?\s*)$"
)
_CN_DAYS = "一二三四五六"  # Monday .. Saturday; 日/天 is Sunday
_EN_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_RE = re.compile(
    r"^\s*[(\[]?\s*(?:(?:星期|周|礼拜)(?P<cn>[一二三四五六日天])"
    r"|(?P<en>(?:mon|tue|wed|thu|fri|sat|sun)(?:day|sday|nesday|rsday|urday|s|r|rs)?)\.?"
    r"(?![a-z]))\s*[)\]]?",
    re.IGNORECASE,
)
_RANGE_RE = re.compile(
    r"^\s*(?:-|~|—|–|至|到)\s*"
    r"(?:(?P<y>\d{4})\s*[-/.年]\s*)?(?:(?P<m>\d{1,2})\s*[-/.月]\s*)?(?P<d>\d{1,2})\s*[日号]?"
    r"(?![\d:时点])"
    r"|^\s*(?:-|~|—|–|至|到)\s*(?P<cy>\d{4})(?P<cm>\d{2})(?P<cd>\d{2})(?![\d:时点])"
)


def _weekday(text: str) -> tuple[int | None, str]:
    """The weekday (0 = Monday) written at the start of ``text``, if any, and the text after it."""
    match = _WEEKDAY_RE.match(text)
    if match is None:
        return None, text
    if match["cn"]:
        day = _CN_DAYS.find(match["cn"])
        return (6 if day < 0 else day), text[match.end() :]
    return _EN_DAYS.index(match["en"][:3].casefold()), text[match.end() :]


def _range_end(match: re.Match[str], start: dt.date) -> dt.date:
    """The last day of a range whose first day is ``start`` (missing year and month as start's)."""
    if match["cy"]:
        y, m, d = int(match["cy"]), int(match["cm"]), int(match["cd"])
    else:
        y = int(match["y"] or start.year)
        m, d = int(match["m"] or start.month), int(match["d"])
    try:
        end = dt.date(y, m, d)
        if end < start and match["m"] and not match["y"] and m < start.month:  # 12月30日-1月2日
            end = dt.date(y + 1, m, d)
    except ValueError as exc:
        raise ParseError("日期区间的结束日期不存在") from exc
    if end < start:
        raise ParseError("日期区间的结束早于开始")
    return end


def read_date_rest(rest: str, start: dt.date) -> str | None:
    """Check the text after the day ``start``; the warning it calls for, or None.

    >>> import datetime as dt
    >>> read_date_rest("-3月7日", dt.date(2025, 3, 5))
    '日期为区间，取第一天'
    >>> read_date_rest("(周三) 14:30", dt.date(2025, 3, 5)) is None
    True

    Raises:
        ParseError: the text is neither a time, a weekday nor the end of a day range.
    """
    if TIME_REST.match(rest):
        return None
    note = None
    weekday, rest = _weekday(rest)
    if weekday is not None and weekday != start.weekday():
        note = WEEKDAY_NOTE
    span = _RANGE_RE.match(rest)
    if span is not None:
        end = _range_end(span, start)
        end_weekday, rest = _weekday(rest[span.end() :])
        if end_weekday is not None and end_weekday != end.weekday():
            note = WEEKDAY_NOTE
        note = RANGE_NOTE if note is None else f"{RANGE_NOTE}；{note}"
    if not TIME_REST.match(rest):
        raise ParseError("无法识别的日期")
    return note
