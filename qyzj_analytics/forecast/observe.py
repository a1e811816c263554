"""The year so far, read once per forecast from the KPI helpers of :mod:`kpi`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd

from qyzj_analytics.forecast.methods import APPEALS_KPI, COURSES_KPI, COVERAGE_KPI, SERVICES_KPI
from qyzj_analytics.scoring.kpi import (
    KpiActual,
    KpiContext,
    activities_to_date,
    classify_appeals,
    compute_actuals,
    events_to_date,
    online_per_month,
    publications_per_week,
)


@dataclass(frozen=True)
class Observed:
    """The year so far, read once per forecast from the KPI helpers of :mod:`kpi`.

    Attributes:
        actuals: today's value of every KPI.
        activities: classified activities in the period up to as_of.
        online_month: online (incl. hybrid) activities per month of the period.
        appeals: appeals received in the period up to as_of, with accepted/closed flags.
        weeks: publications per elapsed week.
        publications: publications in the period up to as_of.
        services: service rows in the period up to as_of.
        courses: courses accepted in the period up to as_of.
    """

    actuals: dict[str, float]
    activities: pd.DataFrame
    online_month: pd.Series
    appeals: pd.DataFrame
    weeks: pd.DataFrame
    publications: pd.DataFrame
    services: pd.DataFrame
    courses: pd.DataFrame

    def online_so_far(self, month: pd.Period) -> float:
        """Online activities already held in ``month``."""
        return float(self.online_month.get(month, 0))


def observe(ctx: KpiContext, results: Mapping[str, KpiActual] | None = None) -> Observed:
    """Everything the forecast needs from the year so far.

    Args:
        ctx: the KPI context at the forecast date.
        results: ``compute_actuals(ctx)`` when already at hand; its rows are reused.
    """
    results = results if results is not None else compute_actuals(ctx)

    def rows(kpi_id: str, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        found = results.get(kpi_id)
        return found.rows if found is not None and found.rows is not None else compute()

    return Observed(
        actuals={k: v.value for k, v in results.items()},
        activities=activities_to_date(ctx),
        online_month=online_per_month(ctx),
        appeals=rows(APPEALS_KPI, lambda: classify_appeals(ctx.tables["appeals"], ctx)),
        weeks=rows(COVERAGE_KPI, lambda: publications_per_week(ctx)),
        publications=events_to_date(ctx, "publications"),
        services=rows(SERVICES_KPI, lambda: events_to_date(ctx, "services")),
        courses=rows(COURSES_KPI, lambda: events_to_date(ctx, "courses")),
    )
