"""Backtest of the year-end forecast against simulated full years with known processes.

Each simulated year draws its own processes: yearly levels around (and off) the targets, a
seasonal wave, a linear trend, month- and week-level Gamma shocks (overdispersion), events on
non-working days, hybrid and tag shares, appeal closure probability and delay, publication and
course rates. The year is written as processed tables, so the forecast sees exactly what it sees
on real exports. At the end of Q1, Q2 and Q3 the forecast is run on the data up to that day and
compared with the year's true KPI values (``compute_actuals`` at period end): how often the
truth falls inside P10–P90 (the target is 70–90 %), and the median absolute error of P50.

Rosters, staff and facts are held by the forecast; they are held here too (fixed before the year).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from qyzj_analytics.contract.model import Contract, load_contract
from qyzj_analytics.dates.periods import quarter_end
from qyzj_analytics.dates.workdays import workday_calendar
from qyzj_analytics.forecast.settings import quantiles
from qyzj_analytics.forecast.simulate import SIMULATED_KPIS, run_forecast
from qyzj_analytics.ingest.facts import Facts
from qyzj_analytics.scoring.kpi import KpiContext, compute_actuals

DEFAULT_YEARS = 200
DEFAULT_DRAWS = 2_000
DEFAULT_SEED = 7
COVERAGE_GOAL = (0.70, 0.90)
LEVEL_RANGE = (0.5, 1.6)  # a year's level relative to the contract pace (log-uniform)


@dataclass(frozen=True)
class StreamProcess:
    """How one event stream really behaves in a simulated year.

    Attributes:
        per_year: expected events in the year before shocks.
        amplitude: seasonal amplitude (share of the level).
        peak: month (1–12, fractional) where the seasonal wave peaks.
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
        peak=float(rng.uniform(1, 13)),
        trend=float(rng.uniform(-0.3, 0.3)),
        month_dispersion=float(rng.uniform(0.0, 0.12)),
        week_dispersion=float(rng.uniform(0.0, 0.08)),
        off_day_share=float(rng.uniform(0.0, 0.15)),
    )


def draw_process(rng: np.random.Generator, contract: Contract) -> YearProcess:
    """Random processes for one year: levels from half to 1.6 times the contract's pace."""
    target = {k.id: k.target for k in contract.kpis}
    offline = target.get("offline_events", 30.0)
    online = contract.livestream_min_per_month * 12
    served = target.get("enterprises_served", 2000.0)

    def level() -> float:
        return float(np.exp(rng.uniform(np.log(LEVEL_RANGE[0]), np.log(LEVEL_RANGE[1]))))

    share = {
        "alliance": level() * target.get("alliance_events", 3) / offline,
        "park": level() * target.get("park_events", 13) / offline,
        "xiaowei_nihao": level() * target.get("xiaowei_nihao_events", 12) / offline,
        "policy": level() * target.get("policy_sessions", 10) / (offline + online),
    }
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
    season = 1 + stream.amplitude * np.cos(2 * np.pi * (month_pos - stream.peak) / 12)
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
    out = {}
    for name, value in columns.items():
        out[name] = value
    frame = pd.DataFrame(out, index=pd.RangeIndex(n))
    frame["source_file"] = pd.Series(["backtest"] * n, dtype="str")
    frame["source_sheet"] = pd.Series([""] * n, dtype="str")
    frame["source_row"] = np.arange(2, n + 2, dtype=np.int64)
    return frame


def _dates(values: np.ndarray) -> pd.Series:
    return pd.Series(np.asarray(values, dtype="M8[D]").astype("M8[s]"))


def _text(values: list[str] | np.ndarray) -> pd.Series:
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
    roster = {k.id: int(k.target) for k in contract.kpis}
    n_inst = roster.get("institutions_active", 10) + 1
    n_exp = roster.get("experts_recruited", 30) + 1
    n_staff = roster.get("staff_total", 30)
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


@dataclass(frozen=True)
class QuarterResult:
    """Forecast quality at one quarter end over all simulated years."""

    quarter: int
    as_of: dt.date
    coverage: float  # share of (year, simulated KPI) pairs with P10 ≤ truth ≤ P90
    score_coverage: float
    pit_coverage: float  # discreteness-corrected: randomized PIT in [0.1, 0.9], pooled
    median_abs_error: float  # pooled |P50 − truth| / target over simulated KPIs
    score_median_abs_error: float  # base score points
    per_kpi: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def within_goal(self) -> bool:
        """Coverage inside the 70–90 % goal."""
        return COVERAGE_GOAL[0] <= self.coverage <= COVERAGE_GOAL[1]


@dataclass(frozen=True)
class BacktestResult:
    """The backtest over ``years`` simulated years."""

    years: int
    draws: int
    seed: int
    quarters: list[QuarterResult]


def run_backtest(
    years: int = DEFAULT_YEARS,
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    contract: Contract | None = None,
    quarters: tuple[int, ...] = (1, 2, 3),
) -> BacktestResult:
    """Simulate ``years`` years, forecast at each quarter end and score the intervals.

    Args:
        years: simulated years.
        draws: Monte Carlo draws per forecast.
        seed: seed of the whole backtest (processes, years and forecasts).
        contract: the contract (the bundled one by default).
        quarters: the quarter ends to forecast at.
    """
    contract = contract or load_contract()
    ids = [k.id for k in contract.kpis if k.id in SIMULATED_KPIS]
    targets = {k.id: k.target for k in contract.kpis}
    year = contract.period_start.year
    ends = {q: quarter_end(year, q) for q in quarters}
    root = np.random.SeedSequence(seed)
    hits = {q: {k: [] for k in ids} for q in quarters}
    errors = {q: {k: [] for k in ids} for q in quarters}
    pits: dict[int, list[float]] = {q: [] for q in quarters}
    score_hits: dict[int, list[bool]] = {q: [] for q in quarters}
    score_errors: dict[int, list[float]] = {q: [] for q in quarters}
    for child in root.spawn(years):
        rng = np.random.default_rng(child)
        tables = simulate_tables(rng, draw_process(rng, contract), contract)
        truth_ctx = KpiContext(tables, contract, contract.period_end, Facts())
        truth = {k: v.value for k, v in compute_actuals(truth_ctx).items()}
        true_score = _true_score(truth, contract)
        for q in quarters:
            ctx = KpiContext(tables, contract, ends[q], Facts())
            fc = run_forecast(ctx, draws=draws, seed=int(rng.integers(2**31)), plan=False)
            for k in fc.kpis:
                if k.id not in hits[q]:
                    continue
                hits[q][k.id].append(k.p10 - 1e-9 <= truth[k.id] <= k.p90 + 1e-9)
                errors[q][k.id].append(abs(k.p50 - truth[k.id]))
                pits[q].append(randomized_pit(fc.values[k.id], truth[k.id], rng))
            p10, p50, p90 = quantiles(fc.base)
            score_hits[q].append(p10 - 1e-9 <= true_score <= p90 + 1e-9)
            score_errors[q].append(abs(p50 - true_score))
    results = []
    for q in quarters:
        pooled = [h for k in ids for h in hits[q][k]]
        relative = [e / targets[k] for k in ids for e in errors[q][k]]
        results.append(
            QuarterResult(
                quarter=q,
                as_of=ends[q],
                coverage=float(np.mean(pooled)),
                score_coverage=float(np.mean(score_hits[q])),
                pit_coverage=float(np.mean([0.1 <= u <= 0.9 for u in pits[q]])),
                median_abs_error=float(np.median(relative)),
                score_median_abs_error=float(np.median(score_errors[q])),
                per_kpi={
                    k: {
                        "coverage": float(np.mean(hits[q][k])),
                        "median_abs_error": float(np.median(errors[q][k])),
                    }
                    for k in ids
                },
            )
        )
    return BacktestResult(years, draws, seed, results)


def randomized_pit(draws: np.ndarray, truth: float, rng: np.random.Generator) -> float:
    """Where the truth falls in the forecast's distribution, ties spread uniformly.

    For a calibrated forecast this is uniform on [0, 1] even for counts, so the share in
    [0.1, 0.9] should be 80 %: P10 ≤ truth ≤ P90 on a count over-states it (both ends count).
    """
    below = float(np.mean(draws < truth - 1e-9))
    at_most = float(np.mean(draws <= truth + 1e-9))
    return below + float(rng.random()) * (at_most - below)


def _true_score(truth: dict[str, float], contract: Contract) -> float:
    from qyzj_analytics.scoring.score import base_score, score_points

    return float(base_score(score_points(truth, contract)))


def backtest_to_dict(result: BacktestResult) -> dict:
    """The ``qyzj backtest --json`` object."""

    def num(x: float) -> float:
        return round(float(x), 4)

    return {
        "years": result.years,
        "draws": result.draws,
        "seed": result.seed,
        "coverage_goal": list(COVERAGE_GOAL),
        "quarters": {
            f"Q{r.quarter}": {
                "as_of": r.as_of.isoformat(),
                "coverage_p10_p90": num(r.coverage),
                "within_goal": r.within_goal,
                "coverage_randomized_pit": num(r.pit_coverage),
                "median_abs_error_p50_share_of_target": num(r.median_abs_error),
                "score_coverage_p10_p90": num(r.score_coverage),
                "score_median_abs_error_p50": num(r.score_median_abs_error),
                "kpis": {
                    k: {m: num(v) for m, v in stats.items()} for k, stats in r.per_kpi.items()
                },
            }
            for r in result.quarters
        },
    }


def format_backtest(result: BacktestResult, contract: Contract | None = None) -> str:
    """A readable Chinese table of the backtest."""
    contract = contract or load_contract()
    names = {k.id: k.name for k in contract.kpis}
    lines = [
        f"回测：模拟 {result.years} 个完整年度（每次预测 {result.draws} 次抽样，种子 {result.seed}），"
        f"在各季度末预测年底值，检验 P10–P90 区间覆盖率（目标 70–90%）与 P50 的中位绝对误差",
        "",
        "季度  截至日      区间覆盖率  是否达标  校正覆盖率  P50误差(占目标)  得分覆盖率  得分P50误差",
    ]
    for r in result.quarters:
        lines.append(
            f"Q{r.quarter}    {r.as_of}  {r.coverage:9.1%}  {'是' if r.within_goal else '否':>6}"
            f"  {r.pit_coverage:9.1%}  {r.median_abs_error:14.1%}  {r.score_coverage:9.1%}"
            f"  {r.score_median_abs_error:9.2f}"
        )
    lines.append(
        "（校正覆盖率：随机化 PIT 落在 [0.1, 0.9] 的比例，扣除计数型指标端点相等带来的虚高，理想值 80%）"
    )
    lines += ["", "分指标覆盖率 / P50 中位绝对误差："]
    for k in result.quarters[0].per_kpi:
        cells = "  ".join(
            f"Q{r.quarter} {r.per_kpi[k]['coverage']:5.0%} / {r.per_kpi[k]['median_abs_error']:.3g}"
            for r in result.quarters
        )
        lines.append(f"  {names.get(k, k)}：{cells}")
    return "\n".join(lines)
