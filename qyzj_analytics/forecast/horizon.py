"""The calendar of one forecast: elapsed and remaining working days of the contract period."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from qyzj_analytics.contract.model import Contract
from qyzj_analytics.dates.workdays import WorkdayCalendar, workday_calendar


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
    )
