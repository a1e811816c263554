"""The backtest's oracles: forecasts that know more of each simulated year than any model can.

Diagnostics, not forecasts anyone can run (``qyzj backtest --oracle``). The oracle draws the rest
of the year from the very process :mod:`.backtest_years` used to make it (rates, month σ, day
dispersion, holiday dips, tag shares), so its only uncertainty is what nobody can know — the
remaining months' factors, the days' shocks and the Poisson noise: its skill is the ceiling. The
family oracle knows the same but the year's levels, which it estimates from the data so far with
the family's prior (every rate within ±50 % of the sample's): about the best a forecaster that
does not know the year can do. The rate-blind oracle does that with flat priors. The gaps
between them and the model (per KPI and quarter) say where the model loses, and why.

Exact for a forecast at a month end (the quarter ends of the backtest): the remaining months are
whole, so their factors are independent of the data seen. Two approximations, both tiny: a
month's sum of day shocks is one Gamma with its exact mean and variance, and a non-小微你好
event is tagged 小微园 with the expected share rather than the one the year's realised 小微你好
events imply. The blind oracles' posteriors are moment-matched Gammas (the Poisson, month and
day noise of the estimate, known to them), not exact.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace

import numpy as np

from qyzj_analytics.contract.model import Contract
from qyzj_analytics.forecast.backtest_years import (
    RATE_RANGE,
    SAMPLE_HYBRID_SHARE,
    SAMPLE_ONLINE_POLICY_SHARE,
    SAMPLE_PER_YEAR,
    SAMPLE_TAG_EVENTS,
    StreamProcess,
    YearProcess,
    stream_day_rates,
)
from qyzj_analytics.forecast.methods import (
    LIVESTREAM_KPI,
    OFFLINE_KPI,
    OFFLINE_TAG_KPIS,
    POLICY_KPI,
    POLICY_TAG,
    SERVICES_KPI,
)
from qyzj_analytics.forecast.observe import Observed


def oracle_month_counts(
    stream: StreamProcess,
    start: dt.date,
    end: dt.date,
    as_of: dt.date,
    draws: int,
    rng: np.random.Generator,
    scale: np.ndarray | None = None,
) -> np.ndarray:
    """Events per draw and month after ``as_of`` (shape (draws, remaining months)).

    Each month: a log-normal factor (mean 1, σ ``month_sigma``) times the sum of its days'
    expected events and Gamma shocks (one Gamma with that sum's mean and variance), then Poisson.
    ``scale`` (per draw) multiplies the stream's rate: the rate-blind oracle's rate draws.
    """
    days, month, weight = stream_day_rates(stream, start, end)
    after = days > np.datetime64(as_of, "D")
    if not after.any():
        return np.zeros((draws, 0), dtype=np.int64)
    month, weight = month[after], weight[after]
    month -= month[0]
    n_months = int(month[-1]) + 1
    mean = np.bincount(month, weight, minlength=n_months)
    sigma = stream.month_sigma
    factor = np.exp(sigma * rng.standard_normal((draws, n_months)) - sigma**2 / 2)
    if stream.day_dispersion > 0:
        var = stream.day_dispersion * np.bincount(month, weight**2, minlength=n_months)
        shape = np.divide(mean**2, var, out=np.zeros_like(mean), where=var > 0)
        spread = np.divide(var, mean, out=np.zeros_like(mean), where=mean > 0)
        level = rng.gamma(shape, spread, size=(draws, n_months))
    else:
        level = np.broadcast_to(mean, (draws, n_months))
    rate = factor * level
    if scale is not None:
        rate = rate * scale[:, None]
    return rng.poisson(rate)


def blind_scale(
    stream: StreamProcess,
    start: dt.date,
    end: dt.date,
    as_of: dt.date,
    seen: int,
    draws: int,
    rng: np.random.Generator,
    bounds: tuple[float, float] = (0.0, math.inf),
) -> np.ndarray:
    """The rate-blind oracle's stream rate relative to the true one, per draw.

    ``seen`` events so far against the E the true process expected: a Gamma with mean
    (seen + ½)/E (Jeffreys) and the variance of that estimate under the process's own Poisson,
    month and day noise (known to this oracle): m/E + m² (v_month Σ E_month² + v_day Σ E_day²)/E².
    ``bounds``: a prior uniform between them (the family's range), by rejection.
    """
    days, month, weight = stream_day_rates(stream, start, end)
    past = days <= np.datetime64(as_of, "D")
    expected = float(weight[past].sum())
    if expected <= 0:
        return np.ones(draws)
    months = np.bincount(month[past], weight[past])
    noise = math.expm1(stream.month_sigma**2) * float(np.sum(months**2))
    noise += stream.day_dispersion * float(np.sum(weight[past] ** 2))
    mean = (seen + 0.5) / expected
    var = mean / expected + mean**2 * noise / expected**2
    out = rng.gamma(mean**2 / var, var / mean, size=draws)
    lo, hi = bounds
    for _ in range(20):  # redraw what falls outside the prior's range
        outside = (out < lo) | (out > hi)
        if not outside.any():
            break
        out[outside] = rng.gamma(mean**2 / var, var / mean, size=int(outside.sum()))
    return np.clip(out, lo, hi)  # a posterior far outside: its nearest end


def _family_levels(process: YearProcess) -> dict[str, float]:
    """Each rate of ``process`` over the sample's (the family draws it within ``RATE_RANGE``)."""
    off, on = process.offline.per_year, process.online.per_year
    levels = {n: getattr(process, n).per_year / SAMPLE_PER_YEAR[n] for n in ("services", "online")}
    levels["offline"] = off / SAMPLE_PER_YEAR["offline"]
    levels |= {t: off * process.tag_share[t] / n for t, n in SAMPLE_TAG_EVENTS.items()}
    hybrids = SAMPLE_PER_YEAR["offline"] * SAMPLE_HYBRID_SHARE
    levels["hybrid"] = off * process.hybrid_share / hybrids
    policy = SAMPLE_PER_YEAR["online"] * SAMPLE_ONLINE_POLICY_SHARE
    levels["online_policy"] = on * process.online_policy_share / policy
    return levels


def _share(k: int, n: int, draws: int, rng: np.random.Generator) -> np.ndarray:
    """A share seen ``k`` times in ``n``: Beta(k + ½, n − k + ½) draws (Jeffreys)."""
    return rng.beta(k + 0.5, n - k + 0.5, size=draws)


def oracle_year_end(
    process: YearProcess,
    contract: Contract,
    as_of: dt.date,
    observed: Observed,
    draws: int,
    rng: np.random.Generator,
    knows: str = "process",
) -> dict[str, np.ndarray]:
    """Year-end values of the count KPIs per draw: the actuals at ``as_of`` plus the rest.

    The rest is drawn from ``process`` as :func:`.backtest_years.simulate_tables` writes a year:
    offline events (some hybrid) tagged independently (小微园 depending on 小微你好), online-only
    events some of which are policy sessions, livestream months from online + hybrid events.
    ``knows``: ``"process"``, the whole process; ``"family"``, everything but the year's levels,
    which it estimates from ``observed`` with the family's prior (each rate uniform within
    ``RATE_RANGE`` of the sample's; shares are ratios of rates); ``"structure"``, the same with
    flat priors (Jeffreys: rates :func:`blind_scale`, shares Beta). Blind, 小微园 is tagged on
    its own share, which leaves every KPI's distribution as it is.
    """
    start, end = contract.period_start, contract.period_end
    share: dict[str, float | np.ndarray] = dict(process.tag_share)
    hybrid: float | np.ndarray = process.hybrid_share
    online_policy: float | np.ndarray = process.online_policy_share
    scale: dict[str, np.ndarray | None] = dict.fromkeys(("offline", "online", "services"))
    blind = knows != "process"
    if blind:
        acts = observed.activities
        kind = acts["format_kind"].to_numpy(str)
        off = (kind == "offline") | (kind == "hybrid")
        only = kind == "online"
        seen = {"offline": int(off.sum()), "online": int(only.sum())}
        seen["services"] = len(observed.services)
        seen |= {t: int((acts[f"tag_{t}"].to_numpy(bool) & off).sum()) for t in share}
        seen["hybrid"] = int((kind == "hybrid").sum())
        seen["online_policy"] = int((acts[f"tag_{POLICY_TAG}"].to_numpy(bool) & only).sum())
        if knows == "family":
            levels = _family_levels(process)

            def rate(name: str, stream: StreamProcess) -> np.ndarray:
                bounds = (RATE_RANGE[0] / levels[name], RATE_RANGE[1] / levels[name])
                return blind_scale(stream, start, end, as_of, seen[name], draws, rng, bounds)

            for name in scale:
                scale[name] = rate(name, getattr(process, name))

            def part(name: str, stream: StreamProcess, true: float, parent: str) -> np.ndarray:
                own = rate(name, replace(stream, per_year=stream.per_year * true))
                return np.clip(true * own / scale[parent], 0.0, 0.95)

            for tag in share:
                share[tag] = part(tag, process.offline, process.tag_share[tag], "offline")
            hybrid = part("hybrid", process.offline, process.hybrid_share, "offline")
            online_policy = part(
                "online_policy", process.online, process.online_policy_share, "online"
            )
        else:
            for name in scale:
                stream = getattr(process, name)
                scale[name] = blind_scale(stream, start, end, as_of, seen[name], draws, rng)
            for tag in share:
                share[tag] = _share(seen[tag], seen["offline"], draws, rng)
            hybrid = _share(seen["hybrid"], seen["offline"], draws, rng)
            online_policy = _share(seen["online_policy"], seen["online"], draws, rng)

    def rest(name: str) -> np.ndarray:
        stream = getattr(process, name)
        return oracle_month_counts(stream, start, end, as_of, draws, rng, scale[name])

    off, on, services = rest("offline"), rest("online"), rest("services")
    n_off = off.sum(axis=1)
    if blind:
        xiaowei = rng.binomial(n_off, share["xiaowei_nihao"])
        park = rng.binomial(n_off, share["park"])
    else:
        s_x = process.tag_share["xiaowei_nihao"]
        xiaowei = rng.binomial(n_off, s_x)
        given = process.park_given_xiaowei
        other = (process.tag_share["park"] - given * s_x) / max(1e-9, 1 - s_x)
        park = rng.binomial(xiaowei, given)
        park += rng.binomial(n_off - xiaowei, float(np.clip(other, 0.0, 1.0)))
    added = {
        SERVICES_KPI: services.sum(axis=1),
        OFFLINE_KPI: n_off,
        "xiaowei_nihao_events": xiaowei,
        "park_events": park,
        "alliance_events": rng.binomial(n_off, share["alliance"]),
        POLICY_KPI: rng.binomial(n_off, share[POLICY_TAG])
        + rng.binomial(on.sum(axis=1), online_policy),
    }
    hybrid_months = rng.binomial(off, np.reshape(hybrid, (-1, 1)) if blind else hybrid)
    online = on + hybrid_months
    added[LIVESTREAM_KPI] = (online >= contract.livestream_min_per_month).sum(axis=1)
    ids = {SERVICES_KPI, OFFLINE_KPI, *OFFLINE_TAG_KPIS, POLICY_KPI, LIVESTREAM_KPI}
    return {k: float(observed.actuals[k]) + added[k].astype(float) for k in ids}
