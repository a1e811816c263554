"""Chinese working days with 调休 (make-up working days), from ``chinese-calendar``.

``chinese_calendar.is_workday`` knows the State Council holiday schedule year by year and raises
``NotImplementedError`` for a year it has no data for; such a year falls back to Monday–Friday and
is reported in :attr:`WorkdayCalendar.fallback_years` (and :meth:`WorkdayCalendar.note`), so a
forecast never silently uses a plain weekday calendar.

All counting is vectorised: a calendar holds one boolean per day and a cumulative sum, so the
working days between any number of date pairs cost one array lookup.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import pandas as pd

_DAY = np.timedelta64(1, "D")


def _days(first: dt.date, last: dt.date) -> np.ndarray:
    return np.arange(np.datetime64(first, "D"), np.datetime64(last, "D") + _DAY, dtype="M8[D]")


def _library_days(year: int) -> tuple[dict[dt.date, str], dict[dt.date, str]]:
    """chinese-calendar's holidays and make-up working days (date → holiday name), checked once
    for ``year`` the way its per-day functions check every date.

    Raises:
        NotImplementedError: the library has no data for ``year``.
    """
    import chinese_calendar

    chinese_calendar.is_workday(dt.date(year, 1, 1))  # raises for a year without data
    return chinese_calendar.holidays, chinese_calendar.workdays


def _in_year(dates: dict[dt.date, str], year: int) -> list[tuple[int, str]]:
    """(day of the year from 0, name) of the ``dates`` in ``year``."""
    return [(d.timetuple().tm_yday - 1, name) for d, name in dates.items() if d.year == year]


@lru_cache(maxsize=64)
def _year_mask(year: int) -> tuple[np.ndarray, bool]:
    """Working-day flags for every day of ``year`` and whether Monday–Friday was the fallback.

    The flags of ``chinese_calendar.is_workday``, day for day: a make-up working day (调休), or
    Monday–Friday outside the holidays (looked up per year: the library checks its whole table
    on every call, ≈ 15 ms a year).
    """
    days = _days(dt.date(year, 1, 1), dt.date(year, 12, 31))
    weekday = (days.astype("int64") + 3) % 7  # 1970-01-01 was a Thursday (3)
    mask = weekday < 5
    try:
        holidays, workdays = _library_days(year)
        fallback = False
    except NotImplementedError:
        fallback = True
    else:
        for day, _ in _in_year(holidays, year):
            mask[day] = False
        for day, _ in _in_year(workdays, year):
            mask[day] = True
    mask.setflags(write=False)
    return mask, fallback


def is_workday(day: dt.date) -> bool:
    """Whether ``day`` is a Chinese working day (Monday–Friday for a year without data).

    >>> is_workday(dt.date(2025, 1, 26)), is_workday(dt.date(2025, 10, 1))  # 调休 Sunday, 国庆
    (True, False)
    """
    mask, _ = _year_mask(day.year)
    return bool(mask[day.timetuple().tm_yday - 1])


@dataclass(frozen=True)
class WorkdayCalendar:
    """Working days of a date range, both ends included.

    Attributes:
        start: first day covered.
        end: last day covered.
        mask: one flag per day from ``start`` to ``end``.
        fallback_years: years the calendar library had no data for (Monday–Friday used).
    """

    start: dt.date
    end: dt.date
    mask: np.ndarray
    fallback_years: tuple[int, ...] = ()

    @property
    def _cumsum(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.mask, dtype=np.int64)])

    @property
    def source(self) -> str:
        """``chinese_calendar`` when every year had holiday data, else ``weekday_fallback``."""
        return "weekday_fallback" if self.fallback_years else "chinese_calendar"

    def note(self) -> str | None:
        """A Chinese note naming the years that fell back to Monday–Friday, or None."""
        if not self.fallback_years:
            return None
        years = "、".join(str(y) for y in self.fallback_years)
        return f"chinese-calendar 没有 {years} 年的节假日数据，这些年份按周一至周五计工作日（未含调休）"

    def _offsets(self, dates: npt.ArrayLike) -> np.ndarray:
        offsets = (np.asarray(dates, dtype="M8[D]") - np.datetime64(self.start, "D")) // _DAY
        return offsets.astype(np.int64)

    def count_between(self, firsts: npt.ArrayLike, lasts: npt.ArrayLike) -> np.ndarray:
        """Working days from each ``firsts`` to the matching ``lasts``, both included.

        Vectorised over arrays of dates; parts outside the calendar's range count nothing and an
        empty range (``last < first``) counts 0.
        """
        cum = self._cumsum
        lo = np.clip(self._offsets(firsts), 0, len(self.mask))
        hi = np.clip(self._offsets(lasts) + 1, 0, len(self.mask))
        return np.maximum(0, cum[hi] - cum[np.minimum(lo, hi)])

    def count(self, first: dt.date, last: dt.date) -> int:
        """Working days from ``first`` to ``last``, both included (0 for an empty range)."""
        return int(self.count_between([first], [last])[0])

    def workdays(self, first: dt.date | None = None, last: dt.date | None = None) -> np.ndarray:
        """The working days (``datetime64[D]``) from ``first`` to ``last``, default the whole range."""
        days = _days(self.start, self.end)
        keep = self.mask.copy()
        if first is not None:
            keep &= days >= np.datetime64(first, "D")
        if last is not None:
            keep &= days <= np.datetime64(last, "D")
        return days[keep]

    def per_month(self, first: dt.date | None = None, last: dt.date | None = None) -> pd.Series:
        """Working days per calendar month from ``first`` to ``last`` (index: monthly Periods)."""
        first, last = first or self.start, last or self.end
        months = pd.period_range(first, last, freq="M")
        starts = np.array([max(first, m.start_time.date()) for m in months], dtype="M8[D]")
        ends = np.array([min(last, m.end_time.date()) for m in months], dtype="M8[D]")
        return pd.Series(self.count_between(starts, ends), index=months, name="workdays")

    def per_week(self, first: dt.date | None = None, last: dt.date | None = None) -> pd.Series:
        """Working days per Monday-start week from ``first`` to ``last`` (index: the Mondays)."""
        first, last = first or self.start, last or self.end
        monday = first - dt.timedelta(days=first.weekday())
        mondays = np.arange(
            np.datetime64(monday, "D"), np.datetime64(last, "D") + _DAY, 7, dtype="M8[D]"
        )
        starts = np.maximum(mondays, np.datetime64(first, "D"))
        ends = np.minimum(mondays + 6 * _DAY, np.datetime64(last, "D"))
        return pd.Series(
            self.count_between(starts, ends), index=mondays.astype(dt.date), name="workdays"
        )


def workday_calendar(start: dt.date, end: dt.date) -> WorkdayCalendar:
    """The working-day calendar of ``start``..``end`` (both included).

    >>> cal = workday_calendar(dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    >>> cal.count(dt.date(2025, 1, 1), dt.date(2025, 12, 31)), cal.source
    (248, 'chinese_calendar')
    """
    if end < start:
        return WorkdayCalendar(start, end, np.zeros(0, dtype=bool))
    masks, fallback = [], []
    for year in range(start.year, end.year + 1):
        mask, fell_back = _year_mask(year)
        first = max(start, dt.date(year, 1, 1)).timetuple().tm_yday - 1
        last = min(end, dt.date(year, 12, 31)).timetuple().tm_yday
        masks.append(mask[first:last])
        if fell_back:
            fallback.append(year)
    return WorkdayCalendar(start, end, np.concatenate(masks), tuple(fallback))


@lru_cache(maxsize=16)
def _year_holidays(year: int) -> np.ndarray:
    """The statutory holiday of every day of ``year`` ('' for other days or a year without data)."""
    days = _days(dt.date(year, 1, 1), dt.date(year, 12, 31))
    out = np.full(len(days), "", dtype=object)
    try:
        holidays, workdays = _library_days(year)
    except NotImplementedError:
        return out
    # chinese_calendar.get_holiday_detail, day for day: a make-up working day is no holiday
    for day, name in _in_year(holidays, year):
        out[day] = name or ""
    for day, _ in _in_year(workdays, year):
        out[day] = ""
    out.setflags(write=False)
    return out


def holiday_names(first: dt.date, last: dt.date) -> np.ndarray:
    """The statutory holiday (chinese-calendar's name) of each day of ``first``..``last``.

    Make-up working days (调休) and ordinary days get ''; so does a year the library has no
    data for.

    >>> names = holiday_names(dt.date(2025, 9, 30), dt.date(2025, 10, 2))
    >>> list(names)
    ['', 'National Day', 'National Day']
    """
    if last < first:
        return np.zeros(0, dtype=object)
    parts = []
    for year in range(first.year, last.year + 1):
        lo = max(first, dt.date(year, 1, 1)).timetuple().tm_yday - 1
        hi = min(last, dt.date(year, 12, 31)).timetuple().tm_yday
        parts.append(_year_holidays(year)[lo:hi])
    return np.concatenate(parts)
