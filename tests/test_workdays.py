"""Chinese working days with 调休, and the Monday–Friday fallback for years without data."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from qyzj_analytics.dates.workdays import is_workday, workday_calendar

YEAR_2025 = (dt.date(2025, 1, 1), dt.date(2025, 12, 31))


def test_2025_has_248_working_days_with_make_up_days() -> None:
    cal = workday_calendar(*YEAR_2025)
    assert cal.count(*YEAR_2025) == 248
    assert cal.source == "chinese_calendar"
    assert cal.fallback_years == ()
    assert cal.note() is None


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2025, 1, 26), True),  # Sunday, 调休 before 春节
        (dt.date(2025, 1, 29), False),  # 春节, a Wednesday
        (dt.date(2025, 10, 1), False),  # 国庆
        (dt.date(2025, 10, 11), True),  # Saturday, 调休 after 国庆
        (dt.date(2025, 3, 5), True),  # an ordinary Wednesday
        (dt.date(2025, 3, 8), False),  # an ordinary Saturday
    ],
)
def test_is_workday(day: dt.date, expected: bool) -> None:
    assert is_workday(day) is expected


def test_unknown_year_falls_back_to_monday_to_friday_and_says_so() -> None:
    cal = workday_calendar(dt.date(2099, 1, 1), dt.date(2099, 12, 31))
    assert cal.fallback_years == (2099,)
    assert cal.source == "weekday_fallback"
    assert "2099" in (cal.note() or "")
    days = np.arange(np.datetime64("2099-01-01"), np.datetime64("2100-01-01"))
    weekday = (days.astype("int64") + 3) % 7
    assert cal.count(dt.date(2099, 1, 1), dt.date(2099, 12, 31)) == int((weekday < 5).sum())
    assert is_workday(dt.date(2099, 1, 1)) is True  # a Thursday; no 元旦 without data


def test_range_across_known_and_unknown_years() -> None:
    cal = workday_calendar(dt.date(2026, 12, 1), dt.date(2027, 1, 31))
    assert 2027 in cal.fallback_years
    assert 2026 not in cal.fallback_years


def test_count_between_is_vectorised_and_matches_a_loop() -> None:
    cal = workday_calendar(*YEAR_2025)
    rng = np.random.default_rng(1)
    firsts = np.datetime64("2024-12-20") + rng.integers(0, 390, size=200)
    lasts = firsts + rng.integers(-5, 120, size=200)
    got = cal.count_between(firsts, lasts)
    for a, b, n in zip(firsts.astype(dt.date), lasts.astype(dt.date), got, strict=True):
        expected = sum(
            is_workday(a + dt.timedelta(days=i))
            for i in range((b - a).days + 1)
            if YEAR_2025[0] <= a + dt.timedelta(days=i) <= YEAR_2025[1]
        )
        assert n == expected


def test_per_month_and_per_week_add_up() -> None:
    cal = workday_calendar(*YEAR_2025)
    months = cal.per_month()
    assert len(months) == 12
    assert months.sum() == 248
    assert months.iloc[0] == 19  # January 2025: 元旦 and the start of 春节
    weeks = cal.per_week()
    assert weeks.sum() == 248
    assert all(monday.weekday() == 0 for monday in weeks.index)
    part = cal.per_month(dt.date(2025, 10, 15), dt.date(2025, 12, 31))
    assert part.sum() == cal.count(dt.date(2025, 10, 15), dt.date(2025, 12, 31))


def test_empty_ranges_count_nothing() -> None:
    cal = workday_calendar(*YEAR_2025)
    assert cal.count(dt.date(2025, 5, 10), dt.date(2025, 5, 9)) == 0
    assert cal.count(dt.date(2026, 1, 5), dt.date(2026, 1, 9)) == 0
    assert len(cal.workdays(dt.date(2025, 12, 1), dt.date(2025, 12, 31))) == 23


def test_year_tables_match_the_library_day_by_day() -> None:
    """The per-year look-ups give chinese-calendar's own answers for every day it knows (and
    Monday–Friday, no names, for a year it does not)."""
    import chinese_calendar

    from qyzj_analytics.dates.workdays import _year_holidays, _year_mask

    years = sorted({d.year for d in chinese_calendar.holidays})
    for year in [*years, years[-1] + 1]:
        mask, fallback = _year_mask(year)
        names = _year_holidays(year)
        days = [dt.date(year, 1, 1) + dt.timedelta(days=i) for i in range(len(mask))]
        if year > years[-1]:
            assert fallback and list(mask) == [d.weekday() < 5 for d in days]
            assert set(names) == {""}
            continue
        assert not fallback
        assert list(mask) == [chinese_calendar.is_workday(d) for d in days]
        details = [chinese_calendar.get_holiday_detail(d) for d in days]
        assert list(names) == [name if off and name else "" for off, name in details]
