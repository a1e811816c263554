"""The outlook of ``qyzj forecast``: the year-end forecast and the action plan on its draws.

The one module above both :mod:`.result` (the forecast) and :mod:`.plan` (the planner): it
simulates once, summarises the draws and plans on the same draws.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from qyzj_analytics.forecast.horizon import build_horizon
from qyzj_analytics.forecast.planning import Planning, load_planning
from qyzj_analytics.forecast.settings import DEFAULT_DRAWS, DEFAULT_SEED, TARGET_PROBABILITY
from qyzj_analytics.forecast.simulate import YearEndDraws, observe_and_simulate
from qyzj_analytics.scoring.kpi import KpiContext

if TYPE_CHECKING:
    from qyzj_analytics.forecast.plan import Plan
    from qyzj_analytics.forecast.result import Forecast

# what the summary, the planner and the output need once the draws are in: imported while the
# simulation's pool draws them (the main thread only waits then), not before it starts
AFTER_DRAWS = (
    "qyzj_analytics.scoring.score",
    "qyzj_analytics.forecast.result",
    "qyzj_analytics.forecast.plan",
    "qyzj_analytics.forecast.text",
)


def import_after_draws() -> None:
    """Import the modules of :data:`AFTER_DRAWS` (no-op once imported)."""
    for name in AFTER_DRAWS:
        importlib.import_module(name)


@dataclass(frozen=True)
class Outlook:
    """The year-end forecast and, when asked for, the action plan towards the best grade still
    reachable; ``sim`` holds the draws both were made on."""

    forecast: Forecast
    plan: Plan | None
    sim: YearEndDraws | None = None


def forecast_outlook(
    ctx: KpiContext,
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    plan: bool = True,
    plan_probability: float = TARGET_PROBABILITY,
    planning: Planning | Path | str | None = None,
) -> Outlook:
    """The year-end forecast at ``ctx.as_of`` and the action plan searched on its draws.

    Args:
        ctx: the KPI context at the forecast date (``KpiContext.of``).
        draws: number of simulated years.
        seed: random seed; the same seed gives the same outlook.
        plan: also search the action plan (``qyzj_analytics.forecast.plan``).
        plan_probability: the plan's target probability of its grade (or better).
        planning: the lever maxima and weights, or a planning file overriding the bundled ones.
    """
    settings = planning if isinstance(planning, Planning) else None
    if plan and settings is None:
        settings = load_planning(planning)  # a bad file stops before simulating
    horizon = build_horizon(ctx.contract, ctx.as_of)
    obs, sim = observe_and_simulate(
        ctx, draws, seed, horizon=horizon, meanwhile=import_after_draws
    )  # the parts start while observing
    from qyzj_analytics.forecast.plan import plan_actions
    from qyzj_analytics.forecast.result import summarize_draws
    from qyzj_analytics.scoring.score import score_points

    points = score_points(sim.values, ctx.contract)  # scored once: the summary and the planner
    forecast = summarize_draws(ctx, sim, obs, horizon, seed, points)
    found = (
        plan_actions(sim, ctx, horizon, plan_probability, settings, points, forecast.base)
        if plan
        else None
    )
    return Outlook(forecast, found, sim)


def outlook_to_dict(o: Outlook) -> dict:
    """The ``qyzj forecast --json`` object: the forecast with its ``plan`` before the notes."""
    from qyzj_analytics.forecast.text import forecast_to_dict, plan_to_dict

    out = forecast_to_dict(o.forecast)
    notes = out.pop("notes")
    months = o.forecast.remaining_months
    out["plan"] = plan_to_dict(o.plan, months) if o.plan is not None else None
    out["notes"] = notes
    return out


def format_outlook(o: Outlook) -> str:
    """The ``qyzj forecast`` summary: the forecast, the 行动建议 line, then the notes."""
    from qyzj_analytics.forecast.text import note_lines, plan_lines, summary_lines

    lines = summary_lines(o.forecast)
    if o.plan is not None:
        lines += plan_lines(o.plan)
    return "\n".join([*lines, *note_lines(o.forecast)])
