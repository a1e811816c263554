"""Calendar arithmetic for the contract period: elapsed share, weeks, months, quarters.

The as-of rule (DESIGN "KPI semantics") lives here once: :func:`clamp_as_of`.

Weeks start on Monday. A week counts as elapsed when it intersects the period and its Sunday is on
or before ``as_of`` (so the partial first week counts). A month counts as elapsed when its last day
is on or before ``as_of``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

from qyzj_analytics.errors import UsageError

_QUARTER_RE = re.compile(r"^(\d{4})\s*[Qq]([1-4])$")


def clamp_as_of(requested: dt.date, start: dt.date, end: dt.date) -> tuple[dt.date, str | None]:
    """The as-of date an assessment uses for ``requested``, and a note when it differs.

    A date after the period end is read as the period end (the year-end assessment; data dated
    later never counts); a date before the period start is a bad argument.

    >>> clamp_as_of(dt.date(2026, 3, 31), dt.date(2025, 1, 1), dt.date(2025, 12, 31))[0]
    datetime.date(2025, 12, 31)

    Raises:
        UsageError: ``requested`` is before the period start.
    """
    period = f"{start.isoformat()} 至 {end.isoformat()}"
    if requested < start:
        raise UsageError(
            f"截至日期 {requested.isoformat()} 早于合同服务期开始日（服务期 {period}），"
            "请给出服务期内或之后的日期"
        )
    if requested > end:
        return end, (
            f"截至日期 {requested.isoformat()} 晚于合同服务期结束日，按服务期结束日 "
            f"{end.isoformat()} 计算（年终考核，服务期 {period}）；{end.isoformat()} 之后的数据不计入"
        )
    return requested, None


def period_days(start: dt.date, end: dt.date) -> int:
    """Days in the period, both ends included."""
    return (end - start).days + 1


def elapsed_share(start: dt.date, end: dt.date, as_of: dt.date) -> float:
    """Share of the period's days up to and including ``as_of``, clipped to 0..1.

    >>> elapsed_share(dt.date(2025, 1, 1), dt.date(2025, 12, 31), dt.date(2025, 12, 31))
    1.0
    """
    done = (min(as_of, end) - start).days + 1
    return max(0, done) / period_days(start, end)


def week_start(day: dt.date) -> dt.date:
    """The Monday of ``day``'s week."""
    return day - dt.timedelta(days=day.weekday())


def period_weeks(start: dt.date, end: dt.date) -> list[dt.date]:
    """Mondays of every Monday-start week that intersects the period."""
    monday = week_start(start)
    weeks = []
    while monday <= end:
        weeks.append(monday)
        monday += dt.timedelta(days=7)
    return weeks


def elapsed_weeks(start: dt.date, end: dt.date, as_of: dt.date) -> list[dt.date]:
    """Mondays of the period's weeks whose Sunday is on or before ``as_of``.

    >>> len(elapsed_weeks(dt.date(2025, 1, 1), dt.date(2025, 12, 31), dt.date(2025, 1, 5)))
    1
    """
    return [m for m in period_weeks(start, end) if m + dt.timedelta(days=6) <= as_of]


def month_end(year: int, month: int) -> dt.date:
    """Last day of a month."""
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def period_months(start: dt.date, end: dt.date) -> list[tuple[int, int]]:
    """``(year, month)`` of every month that intersects the period."""
    months = []
    year, month = start.year, start.month
    while dt.date(year, month, 1) <= end:
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def elapsed_months(start: dt.date, end: dt.date, as_of: dt.date) -> list[tuple[int, int]]:
    """The period's months whose last day is on or before ``as_of``."""
    return [(y, m) for y, m in period_months(start, end) if month_end(y, m) <= as_of]


def parse_quarter(text: str) -> tuple[int, int]:
    """``"2025Q3"`` → ``(2025, 3)``.

    Raises:
        UsageError: not of the form YYYYQn.
    """
    match = _QUARTER_RE.match(text.strip())
    if match is None:
        raise UsageError(f"季度格式应为 2025Q3 这样的形式，收到 {text!r}")
    return int(match[1]), int(match[2])


def quarter_end(year: int, quarter: int) -> dt.date:
    """Last day of a quarter."""
    return month_end(year, quarter * 3)


def latest_ended_quarter(start: dt.date, end: dt.date, today: dt.date) -> tuple[int, int]:
    """The latest quarter of the period that has ended by ``today`` (the first one if none has).

    >>> latest_ended_quarter(dt.date(2025, 1, 1), dt.date(2025, 12, 31), dt.date(2026, 11, 26))
    (2025, 4)
    """
    ended = [
        (y, q)
        for y, m in period_months(start, end)
        if m % 3 == 0
        for q in [m // 3]
        if quarter_end(y, q) <= min(today, end)
    ]
    return ended[-1] if ended else (start.year, (start.month - 1) // 3 + 1)
