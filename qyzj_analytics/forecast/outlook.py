"""The outlook of ``qyzj forecast``: the year-end forecast and the action plan on its draws.

The one module above both :mod:`.result` (the forecast) and :mod:`.plan` (the planner): it
simulates once, summarises the draws and plans on the same draws.
"""

from __future__ import annotations

from dataclasses import dataclass

from qyzj_analytics.forecast.horizon import build_horizon
from qyzj_analytics.forecast.observe import observe
from qyzj_analytics.forecast.plan import Plan, plan_actions
from qyzj_analytics.forecast.result import Forecast, summarize_draws
from qyzj_analytics.forecast.settings import DEFAULT_DRAWS, DEFAULT_SEED
from qyzj_analytics.forecast.simulate import simulate_year_end
from qyzj_analytics.forecast.text import forecast_to_dict, note_lines, plan_to_dict, summary_lines
from qyzj_analytics.scoring.kpi import KpiContext


@dataclass(frozen=True)
class Outlook:
    """The year-end forecast and, when asked for, the action plan towards the top grade."""

    forecast: Forecast
    plan: Plan | None


def forecast_outlook(
    ctx: KpiContext, draws: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED, plan: bool = True
) -> Outlook:
    """The year-end forecast at ``ctx.as_of`` and the action plan searched on its draws.

    Args:
        ctx: the KPI context at the forecast date (``KpiContext.of``).
        draws: number of simulated years.
        seed: random seed; the same seed gives the same outlook.
        plan: also search the action plan (``qyzj_analytics.forecast.plan``).
    """
    horizon = build_horizon(ctx.contract, ctx.as_of)
    obs = observe(ctx)
    sim = simulate_year_end(ctx, draws, seed, obs)
    forecast = summarize_draws(ctx, sim, obs, horizon, seed)
    return Outlook(forecast, plan_actions(sim, ctx, horizon) if plan else None)


def outlook_to_dict(o: Outlook) -> dict:
    """The ``qyzj forecast --json`` object: the forecast with its ``plan`` before the notes."""
    out = forecast_to_dict(o.forecast)
    notes = out.pop("notes")
    months = o.forecast.remaining_months
    out["plan"] = plan_to_dict(o.plan, months) if o.plan is not None else None
    out["notes"] = notes
    return out


def format_outlook(o: Outlook) -> str:
    """The ``qyzj forecast`` summary: the forecast, the 行动建议 line, then the notes."""
    lines = summary_lines(o.forecast)
    if o.plan is not None:
        lines.append(f"行动建议：{o.plan.statement}")
    return "\n".join([*lines, *note_lines(o.forecast)])
