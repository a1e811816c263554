"""Simulated full years for the backtest: processes with known behaviour, written as tables.

Each simulated year draws its own processes: yearly levels around (and off) the targets, a
seasonal wave, a linear trend, month- and week-level Gamma shocks (overdispersion), events on
non-working days, hybrid and tag shares, appeal closure probability and delay, publication and
course rates. The year is written as processed tables (the columns ``clean`` produces), so the
forecast sees exactly what it sees on real exports. Rosters and staff are fixed before the year,
sized to the contract's targets.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from qyzj_analytics.contract.model import Contract
from qyzj_analytics.dates.workdays import workday_calendar
from qyzj_analytics.forecast.methods import (
    OFFLINE_KPI,
    OFFLINE_TAG_KPIS,
    POLICY_KPI,
    POLICY_TAG,
    SERVICES_KPI,
)
from qyzj_analytics.forecast.rates import online_target

# Backtest settings (not contract numbers).
LEVEL_RANGE = (0.5, 1.6)  # a year's level relative to the contract pace (log-uniform)
MONTHS_PER_YEAR = 12  # calendar months of the seasonal wave
# Rosters sized from these KPIs' targets (held by the forecast, so only their size matters).
INSTITUTIONS_KPI, EXPERTS_KPI, STAFF_KPI = "institutions_active", "experts_recruited", "staff_total"


@dataclass(frozen=True)
class StreamProcess:
    """How one event stream really behaves in a simulated year.

    Attributes:
        per_year: expected events in the year before shocks.
        amplitude: seasonal amplitude (share of the level).
        peak: calendar month (1 to ``MONTHS_PER_YEAR``, fractional) where the wave peaks.
        trend: relative change of the level from January to December.
        month_dispersion: variance of each month's Gamma shock.
        week_dispersion: variance of each week's Gamma shock.
        off_day_share: rate on a non-working day relative to a working day.
    """

    per_year: float
    amplitude: float
    peak: float
    trend: float
    month_dispersion: float
    week_dispersion: float
    off_day_share: float


@dataclass(frozen=True)
class YearProcess:
    """Every process of one simulated year."""

    services: StreamProcess
    offline: StreamProcess
    online: StreamProcess
    appeals: StreamProcess
    publications: StreamProcess
    hybrid_share: float
    tag_share: dict[str, float]
    park_given_xiaowei: float
    online_policy_share: float
    unknown_share: float
    appeal_rejected_share: float
    appeal_close_probability: float
    appeal_median_days: float
    courses_per_year: float


def draw_stream(rng: np.random.Generator, per_year: float) -> StreamProcess:
    """A random stream process with ``per_year`` events expected in the year."""
    return StreamProcess(
        per_year=per_year,
        amplitude=float(rng.uniform(0.0, 0.35)),
        peak=float(rng.uniform(1, MONTHS_PER_YEAR + 1)),
        trend=float(rng.uniform(-0.3, 0.3)),
        month_dispersion=float(rng.uniform(0.0, 0.12)),
        week_dispersion=float(rng.uniform(0.0, 0.08)),
        off_day_share=float(rng.uniform(0.0, 0.15)),
    )


def draw_process(rng: np.random.Generator, contract: Contract) -> YearProcess:
    """Random processes for one year: levels within ``LEVEL_RANGE`` times the contract's pace."""
    offline = contract.kpi(OFFLINE_KPI).target
    online = online_target(contract)
    served = contract.kpi(SERVICES_KPI).target

    def level() -> float:
        return float(np.exp(rng.uniform(np.log(LEVEL_RANGE[0]), np.log(LEVEL_RANGE[1]))))

    # one level per tag, in the order of OFFLINE_TAG_KPIS, then policy (offline + online)
    share = {
        tag: level() * contract.kpi(kpi_id).target / offline
        for kpi_id, tag in OFFLINE_TAG_KPIS.items()
    }
    share[POLICY_TAG] = level() * contract.kpi(POLICY_KPI).target / (offline + online)
    return YearProcess(
        services=draw_stream(rng, served * level()),
        offline=draw_stream(rng, offline * level()),
        online=draw_stream(rng, online * level()),
        appeals=draw_stream(rng, float(rng.uniform(20, 200))),
        publications=draw_stream(rng, float(rng.uniform(50, 250))),
        hybrid_share=float(rng.uniform(0.0, 0.25)),
        tag_share={k: float(np.clip(v, 0.01, 0.95)) for k, v in share.items()},
        park_given_xiaowei=float(rng.uniform(0.3, 0.9)),
        online_policy_share=float(rng.uniform(0.02, 0.2)),
        unknown_share=float(rng.uniform(0.0, 0.05)),
        appeal_rejected_share=float(rng.uniform(0.0, 0.1)),
        appeal_close_probability=float(rng.uniform(0.85, 1.0)),
        appeal_median_days=float(rng.uniform(3, 40)),
        courses_per_year=float(rng.uniform(0.5, 3.5)),
    )


def simulate_stream(
    rng: np.random.Generator, stream: StreamProcess, start: dt.date, end: dt.date
) -> np.ndarray:
    """Event dates (``datetime64[D]``, sorted) of one stream over ``start``..``end``."""
    cal = workday_calendar(start, end)
    days = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + 1)
    n = len(days)
    month = days.astype("M8[M]").astype(np.int64)
    month -= month[0]
    week = (np.arange(n) + start.weekday()) // 7
    t = np.arange(n) / max(1, n - 1)
    month_pos = month + 1 + (days - days.astype("M8[M]")).astype(np.int64) / 30.5
    season = 1 + stream.amplitude * np.cos(2 * np.pi * (month_pos - stream.peak) / MONTHS_PER_YEAR)
    level = 1 + stream.trend * (t - 0.5)
    weight = season * level * np.where(cal.mask, 1.0, stream.off_day_share)
    weight *= stream.per_year / weight.sum()

    def shocks(size: int, dispersion: float) -> np.ndarray:
        if dispersion <= 0:
            return np.ones(size)
        return rng.gamma(1 / dispersion, dispersion, size=size)

    rate = weight * shocks(month[-1] + 1, stream.month_dispersion)[month]
    rate *= shocks(week[-1] + 1, stream.week_dispersion)[week]
    return np.repeat(days, rng.poisson(rate))


def _frame(columns: dict[str, object], n: int) -> pd.DataFrame:
    """A processed table of ``n`` rows from ``columns``, with the source columns ``clean`` adds."""
    out = {}
    for name, value in columns.items():
        out[name] = value
    frame = pd.DataFrame(out, index=pd.RangeIndex(n))
    frame["source_file"] = pd.Series(["backtest"] * n, dtype="str")
    frame["source_sheet"] = pd.Series([""] * n, dtype="str")
    frame["source_row"] = np.arange(2, n + 2, dtype=np.int64)
    return frame


def _dates(values: np.ndarray) -> pd.Series:
    """Day dates as the ``datetime64[s]`` column of a processed table."""
    return pd.Series(np.asarray(values, dtype="M8[D]").astype("M8[s]"))


def _text(values: list[str] | np.ndarray) -> pd.Series:
    """Text as the ``str`` column of a processed table."""
    return pd.Series(list(values), dtype="str")


def simulate_tables(
    rng: np.random.Generator, process: YearProcess, contract: Contract
) -> dict[str, pd.DataFrame]:
    """A whole year of processed tables (the columns ``clean`` produces) from ``process``."""
    start, end = contract.period_start, contract.period_end
    word = {tag: words[0] for tag, words in contract.tag_keywords.items()}
    fmt = contract.format_keywords

    # activities: offline (some hybrid) with tags, online-only, a few of unknown format
    off = simulate_stream(rng, process.offline, start, end)
    on = simulate_stream(rng, process.online, start, end)
    xiaowei = rng.random(len(off)) < process.tag_share["xiaowei_nihao"]
    park_rate = np.where(
        xiaowei,
        process.park_given_xiaowei,
        np.clip(
            (process.tag_share["park"] - process.park_given_xiaowei * xiaowei.mean())
            / max(1e-9, 1 - xiaowei.mean()),
            0,
            1,
        ),
    )
    tags = {
        "xiaowei_nihao": xiaowei,
        "park": rng.random(len(off)) < park_rate,
        "alliance": rng.random(len(off)) < process.tag_share["alliance"],
        "policy": rng.random(len(off)) < process.tag_share["policy"],
    }
    hybrid = rng.random(len(off)) < process.hybrid_share
    titles = []
    for i in range(len(off)):
        parts = [word[t] for t in ("alliance", "park", "xiaowei_nihao", "policy") if tags[t][i]]
        titles.append("".join(parts) + "企业服务活动")
    on_policy = rng.random(len(on)) < process.online_policy_share
    on_titles = [(word["policy"] if p else "") + "企业课堂" for p in on_policy]
    unknown = int(rng.binomial(len(off) + len(on), process.unknown_share))
    unknown_dates = rng.choice(np.concatenate([off, on]), size=unknown) if unknown else off[:0]
    formats = np.where(hybrid, f"{fmt['online'][0]}+{fmt['offline'][0]}", fmt["offline"][0])
    n_act = len(off) + len(on) + unknown
    activities = _frame(
        {
            "title": _text(titles + on_titles + ["企业交流会"] * unknown),
            "date": _dates(np.concatenate([off, on, unknown_dates])),
            "format": _text([*formats, *[fmt["online"][0]] * len(on), *[""] * unknown]),
            "category": _text([""] * n_act),
            "location": _text([""] * n_act),
            "enterprises": pd.array([pd.NA] * n_act, dtype="Int64"),
            "participants": pd.array([pd.NA] * n_act, dtype="Int64"),
        },
        n_act,
    )

    served = simulate_stream(rng, process.services, start, end)
    services = _frame(
        {
            "enterprise": _text([f"企业{i}" for i in range(len(served))]),
            "credit_code": _text([""] * len(served)),
            "date": _dates(served),
            "service_type": _text(["走访"] * len(served)),
            "above_scale": np.zeros(len(served), bool),
            "credit_code_valid": np.zeros(len(served), bool),
        },
        len(served),
    )

    received = simulate_stream(rng, process.appeals, start, end)
    n_app = len(received)
    rejected = rng.random(n_app) < process.appeal_rejected_share
    closes = rng.random(n_app) < process.appeal_close_probability
    delay = np.round(process.appeal_median_days * rng.lognormal(0, 0.8, size=n_app))
    closed = received + delay.astype("m8[D]")
    done = closes & ~rejected & (closed <= np.datetime64(end, "D"))
    status = np.where(rejected, contract.not_accepted_statuses[0], "办理中")
    status = np.where(done, contract.closed_statuses[0], status)
    appeals = _frame(
        {
            "appeal_id": _text([f"SQ{i:05d}" for i in range(n_app)]),
            "enterprise": _text([""] * n_app),
            "received": _dates(received),
            "status": _text(status),
            "closed": _dates(np.where(done, closed, np.datetime64("NaT"))),
        },
        n_app,
    )

    published = simulate_stream(rng, process.publications, start, end)
    publications = _frame(
        {
            "date": _dates(published),
            "title": _text([f"动态{i}" for i in range(len(published))]),
            "channel": _text(["公众号"] * len(published)),
        },
        len(published),
    )

    workdays = workday_calendar(start, end).workdays()
    n_courses = int(rng.poisson(process.courses_per_year))
    accepted = np.sort(rng.choice(workdays, size=n_courses)) if n_courses else workdays[:0]
    courses = _frame(
        {"title": _text(["课程"] * n_courses), "accepted": _dates(accepted)}, n_courses
    )

    before = np.datetime64(start, "D") - 30
    n_inst = int(contract.kpi(INSTITUTIONS_KPI).target) + 1
    n_exp = int(contract.kpi(EXPERTS_KPI).target) + 1
    n_staff = int(contract.kpi(STAFF_KPI).target)
    institutions = _frame(
        {
            "name": _text([f"机构{i}" for i in range(n_inst)]),
            "joined": _dates(np.full(n_inst, before)),
            "status": _text(["合作中"] * n_inst),
        },
        n_inst,
    )
    experts = _frame(
        {
            "name": _text([f"专家{i}" for i in range(n_exp)]),
            "appointed": _dates(np.full(n_exp, before)),
        },
        n_exp,
    )
    staff = _frame(
        {
            "name": _text([f"员工{i}" for i in range(n_staff)]),
            "fulltime_ops": np.ones(n_staff, bool),
            "education": _text([contract.qualified_education[0]] * n_staff),
            "title_level": _text([""] * n_staff),
        },
        n_staff,
    )
    return {
        "activities": activities,
        "services": services,
        "appeals": appeals,
        "publications": publications,
        "institutions": institutions,
        "experts": experts,
        "courses": courses,
        "staff": staff,
    }
