"""Simulated full years for the backtest: a broad family of processes, written as tables.

The family (issue 16) varies every stream around the sample's year (``qyzj sample``): its rate
uniform within ±50 % of the sample's, a log-normal factor per calendar month with σ drawn
from 0.1 to 0.3 (seasonality the forecast cannot know in advance), daily counts from Poisson to
negative binomial with k = 2 (a Gamma shock per day), fewer events on non-working days and
holiday dips on the working days around the long holidays (春节, 国庆, … from chinese-calendar via
:mod:`qyzj_analytics.dates`). Tag shares, hybrids, appeals (rejections, never-closing ones,
closure delays), publications and courses vary too. The year is written as processed tables
(the columns ``clean`` produces), so the forecast sees exactly what it sees on real exports.
Rosters and staff are fixed before the year, sized to the contract's targets.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from qyzj_analytics.contract.model import Contract
from qyzj_analytics.dates.workdays import holiday_names, workday_calendar

# Backtest settings (not contract numbers): the sample's year (``qyzj sample``, seeds 2025 and 3)
# and how far the family strays from it.
SAMPLE_PER_YEAR = {
    "services": 1940.0,
    "offline": 54.0,  # offline activities, hybrids included
    "online": 90.0,  # online activities, hybrids included
    "appeals": 120.0,
    "publications": 95.0,
    "courses": 2.0,
}
SAMPLE_TAG_EVENTS = {"alliance": 2.0, "park": 11.0, "xiaowei_nihao": 11.0, "policy": 6.0}
SAMPLE_PARK_GIVEN_XIAOWEI = 4 / 11
SAMPLE_ONLINE_POLICY_SHARE = 0.45  # online-only activities that are policy sessions
SAMPLE_HYBRID_SHARE = 5 / 54
RATE_RANGE = (0.5, 1.5)  # a rate relative to the sample's (uniform)
MONTH_SIGMA = (0.1, 0.3)  # σ of the log-normal factor of each calendar month
DAY_DISPERSION = (0.0, 0.5)  # 1/k of the daily negative binomial (0: Poisson, 0.5: k = 2)
OFF_DAY_SHARE = (0.0, 0.15)  # rate on a non-working day relative to a working day
# Rate on the working days around 春节 relative to other working days. 春节 often halves a
# month's activity: firms wind down about two weeks before and come back after 元宵, so the
# dip reaches 10 working days each side. January and February together lose 0.2–0.86 of an
# average month's working-day activity, about half at the range's middle (was 0.3–0.9 on 5 + 10
# days: 0.07–0.55, 0.31 at the middle: kinder to a pace extrapolation than real years).
HOLIDAY_DIP = (0.2, 0.8)
# working days dipped before/after a holiday, and the share of the dip they get
HOLIDAY_REACH = {"Spring Festival": (10, 10, 1.0), "National Day": (3, 3, 0.5)}
OTHER_HOLIDAY_REACH = (1, 1, 0.3)
# Rosters sized from these KPIs' targets (held by the forecast, so only their size matters).
INSTITUTIONS_KPI, EXPERTS_KPI, STAFF_KPI = "institutions_active", "experts_recruited", "staff_total"


@dataclass(frozen=True)
class StreamProcess:
    """How one event stream really behaves in a simulated year.

    Attributes:
        per_year: expected events in the year (before the month factors).
        month_sigma: σ of the log-normal factor (mean 1) of each calendar month.
        day_dispersion: variance of each day's Gamma shock (1/k of the negative binomial).
        off_day_share: rate on a non-working day relative to a working day.
        holiday_dip: rate on the working days around 春节 relative to other working days (the
            other long holidays get part of the dip, ``HOLIDAY_REACH``).
    """

    per_year: float
    month_sigma: float = 0.0
    day_dispersion: float = 0.0
    off_day_share: float = 0.05
    holiday_dip: float = 1.0


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
        month_sigma=float(rng.uniform(*MONTH_SIGMA)),
        day_dispersion=float(rng.uniform(*DAY_DISPERSION)),
        off_day_share=float(rng.uniform(*OFF_DAY_SHARE)),
        holiday_dip=float(rng.uniform(*HOLIDAY_DIP)),
    )


def draw_process(rng: np.random.Generator, contract: Contract) -> YearProcess:
    """Random processes for one year: every rate within ``RATE_RANGE`` times the sample's.

    Each tagged stream's rate (联盟, 小微园, 小微你好, 政策) varies on its own, so its share of the
    offline activities is its rate over theirs; so do the online policy sessions' rate (a share
    of the online activities) and the hybrids' (a share of the offline ones). Drawing the share
    itself around the sample's made those rates a product of two levels, 0.25–2.25 times the
    sample's rather than the issue's ±50 %. ``contract`` is not read: the family is the
    sample's year, whatever the targets.
    """
    del contract  # the family does not depend on the contract's targets

    def level() -> float:
        return float(rng.uniform(*RATE_RANGE))

    def rate(name: str) -> float:
        return SAMPLE_PER_YEAR[name] * level()

    offline = rate("offline")
    share = {tag: level() * n / offline for tag, n in SAMPLE_TAG_EVENTS.items()}
    # the streams in the order their random numbers have always been drawn
    services = draw_stream(rng, rate("services"))
    offline_stream = draw_stream(rng, offline)
    online = draw_stream(rng, rate("online"))
    appeals = draw_stream(rng, rate("appeals"))
    publications = draw_stream(rng, rate("publications"))
    hybrid = SAMPLE_HYBRID_SHARE * SAMPLE_PER_YEAR["offline"] * level() / offline
    park_given_xiaowei = float(np.clip(SAMPLE_PARK_GIVEN_XIAOWEI * level(), 0.0, 1.0))
    online_policy = SAMPLE_ONLINE_POLICY_SHARE * SAMPLE_PER_YEAR["online"] * level()
    return YearProcess(
        services=services,
        offline=offline_stream,
        online=online,
        appeals=appeals,
        publications=publications,
        hybrid_share=float(np.clip(hybrid, 0.0, 0.95)),
        tag_share={k: float(np.clip(v, 0.005, 0.95)) for k, v in share.items()},
        park_given_xiaowei=park_given_xiaowei,
        online_policy_share=float(np.clip(online_policy / online.per_year, 0.0, 0.95)),
        unknown_share=float(rng.uniform(0.0, 0.05)),
        appeal_rejected_share=float(rng.uniform(0.0, 0.1)),
        appeal_close_probability=float(rng.uniform(0.85, 1.0)),
        appeal_median_days=float(rng.uniform(3, 40)),
        courses_per_year=rate("courses"),
    )


def holiday_weights(start: dt.date, end: dt.date, dip: float) -> np.ndarray:
    """Per day of ``start``..``end``: 1, or less on the working days around the long holidays.

    A holiday's block of days reaches ``before``/``after`` working days out (``HOLIDAY_REACH``);
    those days get ``share`` of the dip (春节 all of it).
    """
    cal = workday_calendar(start, end)
    names = holiday_names(start, end)
    work = np.flatnonzero(cal.mask)
    out = np.ones(len(names))
    for name in {n for n in names if n}:
        before, after, share = HOLIDAY_REACH.get(name, OTHER_HOLIDAY_REACH)
        days = np.flatnonzero(names == name)
        first = np.searchsorted(work, days.min())
        last = np.searchsorted(work, days.max(), side="right")
        near = work[max(0, first - before) : last + after]
        out[near] = np.minimum(out[near], 1 - share * (1 - dip))
    return out


def stream_day_rates(
    stream: StreamProcess, start: dt.date, end: dt.date
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Days of ``start``..``end``, their month index (0 = first) and expected events per day.

    The expected events before the month factors and day shocks: working days 1, other days
    ``off_day_share``, dips around the holidays, scaled to ``per_year`` over the range.
    """
    cal = workday_calendar(start, end)
    days = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + 1)
    month = days.astype("M8[M]").astype(np.int64)
    month -= month[0]
    weight = np.where(cal.mask, 1.0, stream.off_day_share)
    weight *= holiday_weights(start, end, stream.holiday_dip)
    weight *= stream.per_year / weight.sum()
    return days, month, weight


def simulate_stream(
    rng: np.random.Generator, stream: StreamProcess, start: dt.date, end: dt.date
) -> np.ndarray:
    """Event dates (``datetime64[D]``, sorted) of one stream over ``start``..``end``."""
    days, month, weight = stream_day_rates(stream, start, end)
    n = len(days)
    sigma = stream.month_sigma
    factor = np.exp(sigma * rng.standard_normal(month[-1] + 1) - sigma**2 / 2)
    rate = weight * factor[month]
    if stream.day_dispersion > 0:
        k = 1 / stream.day_dispersion
        rate *= rng.gamma(k, 1 / k, size=n)
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
