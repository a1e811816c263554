"""The backtest's oracle: a forecast that knows each simulated year's true process.

A diagnostic, not a forecast anyone can run: it draws the rest of the year from the very process
:mod:`.backtest_years` used to make it (rates, month σ, day dispersion, holiday dips, tag shares),
so its only uncertainty is what no model can know — the remaining months' factors, the days'
shocks and the Poisson noise. Its skill is the ceiling a model of the family could reach; the
gap between it and the model's (per KPI and quarter) is where the model loses.

Exact for a forecast at a month end (the quarter ends of the backtest): the remaining months are
whole, so their factors are independent of the data seen. Two approximations, both tiny: a
month's sum of day shocks is one Gamma with its exact mean and variance, and a non-小微你好
event is tagged 小微园 with the expected share rather than the one the year's realised 小微你好
events imply.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from qyzj_analytics.contract.model import Contract
from qyzj_analytics.forecast.backtest_years import StreamProcess, YearProcess, stream_day_rates
from qyzj_analytics.forecast.methods import (
    LIVESTREAM_KPI,
    OFFLINE_KPI,
    OFFLINE_TAG_KPIS,
    POLICY_KPI,
    POLICY_TAG,
    SERVICES_KPI,
)


def oracle_month_counts(
    stream: StreamProcess,
    start: dt.date,
    end: dt.date,
    as_of: dt.date,
    draws: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Events per draw and month after ``as_of`` (shape (draws, remaining months)).

    Each month: a log-normal factor (mean 1, σ ``month_sigma``) times the sum of its days'
    expected events and Gamma shocks (one Gamma with that sum's mean and variance), then Poisson.
    """
    days, month, weight = stream_day_rates(stream, start, end)
    after = days > np.datetime64(as_of, "D")
    if not after.any():
        return np.zeros((draws, 0))
    month, weight = month[after], weight[after]
    month -= month[0]
    n_months = int(month[-1]) + 1
    mean = np.bincount(month, weight, minlength=n_months)
    sigma = stream.month_sigma
    factor = np.exp(sigma * rng.standard_normal((draws, n_months)) - sigma**2 / 2)
    if stream.day_dispersion > 0:
        var = stream.day_dispersion * np.bincount(month, weight**2, minlength=n_months)
        shape = np.divide(mean**2, var, out=np.zeros_like(mean), where=var > 0)
        scale = np.divide(var, mean, out=np.zeros_like(mean), where=mean > 0)
        level = rng.gamma(shape, scale, size=(draws, n_months))
    else:
        level = np.broadcast_to(mean, (draws, n_months))
    return rng.poisson(factor * level)


def oracle_year_end(
    process: YearProcess,
    contract: Contract,
    as_of: dt.date,
    actuals: dict[str, float],
    draws: int,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Year-end values of the count KPIs per draw: the actuals at ``as_of`` plus the rest.

    The rest is drawn from ``process`` as :func:`.backtest_years.simulate_tables` writes a year:
    offline events (some hybrid) tagged independently (小微园 depending on 小微你好), online-only
    events some of which are policy sessions, livestream months from online + hybrid events.
    """
    start, end = contract.period_start, contract.period_end
    off = oracle_month_counts(process.offline, start, end, as_of, draws, rng)
    on = oracle_month_counts(process.online, start, end, as_of, draws, rng)
    services = oracle_month_counts(process.services, start, end, as_of, draws, rng)
    n_off = off.sum(axis=1)
    share = process.tag_share
    xiaowei = rng.binomial(n_off, share["xiaowei_nihao"])
    park_else = (share["park"] - process.park_given_xiaowei * share["xiaowei_nihao"]) / max(
        1e-9, 1 - share["xiaowei_nihao"]
    )
    added = {
        SERVICES_KPI: services.sum(axis=1),
        OFFLINE_KPI: n_off,
        "xiaowei_nihao_events": xiaowei,
        "park_events": rng.binomial(xiaowei, process.park_given_xiaowei)
        + rng.binomial(n_off - xiaowei, float(np.clip(park_else, 0.0, 1.0))),
        "alliance_events": rng.binomial(n_off, share["alliance"]),
        POLICY_KPI: rng.binomial(n_off, share[POLICY_TAG])
        + rng.binomial(on.sum(axis=1), process.online_policy_share),
    }
    online = on + rng.binomial(off, process.hybrid_share)
    added[LIVESTREAM_KPI] = (online >= contract.livestream_min_per_month).sum(axis=1)
    ids = {SERVICES_KPI, OFFLINE_KPI, *OFFLINE_TAG_KPIS, POLICY_KPI, LIVESTREAM_KPI}
    return {k: float(actuals[k]) + added[k].astype(float) for k in ids}
