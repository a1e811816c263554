"""The calendar of one forecast: elapsed and remaining working days of the contract period."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from qyzj_analytics.contract.model import Contract
from qyzj_analytics.dates.workdays import WorkdayCalendar, holiday_names, workday_calendar

# Model settings (not contract numbers): the working days around a long holiday that run slow
# (people leave early and come back late), as (working days before, working days after).
HOLIDAY_WINDOWS = {"Spring Festival": (10, 10), "National Day": (3, 3)}


@dataclass(frozen=True)
class Horizon:
    """The calendar of one forecast: what has elapsed and what remains of the period.

    Attributes:
        as_of: the forecast date.
        start: first day of the contract period.
        end: last day of the contract period.
        calendar: working days of the period.
        months: the months still (partly) ahead, the month of ``as_of`` first if it is not over.
        month_workdays: working days left in each of ``months``.
        elapsed_workdays: working days from period start to ``as_of``.
        elapsed_month_workdays: working days elapsed per month (for the rate's uncertainty).
        remaining_days: calendar days after ``as_of`` up to period end.
        slow: per day of the period, a working day in a holiday window (``HOLIDAY_WINDOWS``).
        month_slow_workdays: of ``month_workdays``, those in a holiday window.
        elapsed_slow_workdays: of ``elapsed_month_workdays``, those in a holiday window.
    """

    as_of: dt.date
    start: dt.date
    end: dt.date
    calendar: WorkdayCalendar
    months: pd.PeriodIndex
    month_workdays: np.ndarray
    elapsed_workdays: int
    elapsed_month_workdays: np.ndarray
    remaining_days: int
    slow: np.ndarray
    month_slow_workdays: np.ndarray
    elapsed_slow_workdays: np.ndarray

    @property
    def remaining_weeks(self) -> float:
        """Weeks left after ``as_of`` (calendar days / 7)."""
        return self.remaining_days / 7

    @property
    def first_remaining(self) -> dt.date:
        """The first day still ahead."""
        return max(min(self.as_of, self.end) + dt.timedelta(days=1), self.start)

    @property
    def last_elapsed(self) -> dt.date:
        """The last day already behind (may precede ``start``)."""
        return min(self.as_of, self.end)

    @property
    def period_workdays(self) -> int:
        """Working days of the whole period."""
        return int(self.calendar.mask.sum())


def holiday_windows(calendar: WorkdayCalendar) -> np.ndarray:
    """Per day of the calendar: a working day within ``HOLIDAY_WINDOWS`` of a long holiday."""
    return _holiday_windows(calendar.start, calendar.end)


@lru_cache(maxsize=16)
def _holiday_windows(start: dt.date, end: dt.date) -> np.ndarray:
    calendar = workday_calendar(start, end)
    names = holiday_names(start, end)
    work = np.flatnonzero(calendar.mask)
    slow = np.zeros(len(calendar.mask), bool)
    for name, (before, after) in HOLIDAY_WINDOWS.items():
        days = np.flatnonzero(names == name)
        if len(days) and len(work):
            first = np.searchsorted(work, days.min())
            last = np.searchsorted(work, days.max(), side="right")
            slow[work[max(0, first - before) : last + after]] = True
    slow.setflags(write=False)
    return slow


def _per_month(flags: np.ndarray, start: dt.date, first: dt.date, last: dt.date) -> np.ndarray:
    """How many of ``flags`` (one per day from ``start``) fall in each month of first..last."""
    if last < first:
        return np.zeros(0)
    lo, hi = (first - start).days, (last - start).days + 1
    days = np.arange(np.datetime64(first, "D"), np.datetime64(last, "D") + 1)
    month = days.astype("M8[M]").astype(np.int64)
    return np.bincount(month - month[0], weights=flags[lo:hi].astype(float))


def build_horizon(contract: Contract, as_of: dt.date) -> Horizon:
    """The elapsed and remaining working days of the contract period at ``as_of``."""
    start, end = contract.period_start, contract.period_end
    cal = workday_calendar(start, end)
    first_remaining = max(min(as_of, end) + dt.timedelta(days=1), start)  # no date.max overflow
    last_elapsed = min(as_of, end)
    if first_remaining <= end:
        remaining = cal.per_month(first_remaining, end)
        months, month_workdays = remaining.index, remaining.to_numpy(float)
    else:
        months, month_workdays = pd.PeriodIndex([], freq="M"), np.zeros(0)
    if last_elapsed >= start:
        elapsed = cal.per_month(start, last_elapsed).to_numpy(float)
    else:
        elapsed = np.zeros(0)
    slow = holiday_windows(cal)
    return Horizon(
        as_of=as_of,
        start=start,
        end=end,
        calendar=cal,
        months=months,
        month_workdays=month_workdays,
        elapsed_workdays=int(elapsed.sum()),
        elapsed_month_workdays=elapsed,
        remaining_days=max(0, (end - max(as_of, start - dt.timedelta(days=1))).days),
        slow=slow,
        month_slow_workdays=_per_month(slow, start, first_remaining, end),
        elapsed_slow_workdays=_per_month(slow, start, start, last_elapsed),
    )
