"""Action planner: the fewest extra units per lever that make the top grade likely by year end.

Levers are the things the operator can still add on top of the forecast path: offline events
tagged 联盟 / 小微园 / 小微你好 / 政策 (each also an offline event), livestreams in the remaining
months, and enterprises served. A plan adds the same extra units to every simulated year and
re-scores the draws with :mod:`qyzj_analytics.scoring.score` (the rules of ``qyzj kpi``).

The search is greedy on a smooth version of P(top grade) per unit added, then trims every lever
back as far as the probability allows. When even every lever at target cannot reach the wanted
probability, the plan says so and names the best grade reachable with that probability.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from qyzj_analytics.contract.model import Contract
from qyzj_analytics.forecast.horizon import Horizon
from qyzj_analytics.forecast.methods import (
    LIVESTREAM_KPI,
    OFFLINE_KPI,
    OFFLINE_TAG_KPIS,
    POLICY_KPI,
    SERVICES_KPI,
)
from qyzj_analytics.forecast.outcomes import reached
from qyzj_analytics.forecast.simulate import YearEndDraws
from qyzj_analytics.scoring.kpi import KpiContext
from qyzj_analytics.scoring.score import apply_rule, base_score, grade_of, score_points

TARGET_PROBABILITY = 0.9  # planner setting: the wanted probability of the target grade
PLAN_DRAWS = 5_000  # the search runs on the first draws; the result is checked on all of them
SMOOTHING_POINTS = 1.0  # width (score points) of the logistic that smooths P(grade) in the search
SERVICES_STEPS = 200  # the services lever moves in steps of target / 200 while searching
LIVESTREAM_LEVER = "livestreams"


@dataclass(frozen=True)
class Lever:
    """One thing the operator can add more of.

    Attributes:
        id: lever id (the KPI it aims at, or ``livestreams``).
        name: Chinese name for the summary.
        unit: unit of one step.
        kpis: KPI ids each unit adds one to (a tagged event is an offline event too).
        per_month: a unit is one more livestream in every remaining month.
        step: units per search step.
    """

    id: str
    name: str
    unit: str
    kpis: tuple[str, ...]
    per_month: bool = False
    step: int = 1


@dataclass(frozen=True)
class Plan:
    """The action plan for one set of simulated years."""

    target_grade: str
    target_grade_name: str
    target_probability: float
    probability_now: float
    probability_with_plan: float
    reachable: bool
    extra: dict[str, int]
    total_units: int
    best_grade: str
    best_grade_name: str
    limiting: list[str] = field(default_factory=list)
    statement: str = ""
    levers: list[Lever] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # KPIs not planned on: export missing


def build_levers(
    contract: Contract, remaining_months: int, missing: tuple[str, ...] = ()
) -> list[Lever]:
    """The levers the contract's KPIs allow (those whose KPI ids exist and are not missing)."""
    ids = {k.id for k in contract.kpis} - set(missing)
    also_offline = (OFFLINE_KPI,) if OFFLINE_KPI in ids else ()
    levers = []
    for kpi_id in [*OFFLINE_TAG_KPIS, POLICY_KPI]:
        if kpi_id in ids:
            spec = contract.kpi(kpi_id)
            levers.append(Lever(kpi_id, f"线下{spec.name}", "场", (kpi_id, *also_offline)))
    if LIVESTREAM_KPI in ids and remaining_months:
        levers.append(Lever(LIVESTREAM_LEVER, "每月加开直播", "场/月", (), per_month=True))
    if SERVICES_KPI in ids:
        spec = contract.kpi(SERVICES_KPI)
        step = max(1, round(spec.target / SERVICES_STEPS))
        levers.append(Lever(SERVICES_KPI, spec.name, spec.unit, (SERVICES_KPI,), step=step))
    return levers


class Evaluator:
    """Re-scores a set of draws with extra units per lever (vectorised over draws)."""

    def __init__(
        self,
        values: Mapping[str, np.ndarray],
        online: np.ndarray,
        livestream_done: float,
        contract: Contract,
        levers: list[Lever],
        target_grade: str,
    ) -> None:
        self.values = values
        self.online = online
        self.done = livestream_done
        self.contract = contract
        self.levers = {lv.id: lv for lv in levers}
        self.target = target_grade
        self.points = score_points(values, contract)
        self.threshold = next(g.min_score for g in contract.grades if g.id == target_grade)
        self.rank = {g.id: i for i, g in enumerate(contract.grades)}

    def scores(self, extra: Mapping[str, int]) -> np.ndarray:
        """Base score per draw with ``extra`` units added."""
        added: dict[str, float] = {}
        for lever_id, units in extra.items():
            for kpi_id in self.levers[lever_id].kpis:
                added[kpi_id] = added.get(kpi_id, 0.0) + units
        points = dict(self.points)
        for kpi_id, units in added.items():
            if units:
                spec = self.contract.kpi(kpi_id)
                points[kpi_id] = float(spec.weight) * apply_rule(self.values[kpi_id] + units, spec)
        live = extra.get(LIVESTREAM_LEVER, 0)
        if live:
            spec = self.contract.kpi(LIVESTREAM_KPI)
            months = self.done + (self.online + live >= self.contract.livestream_min_per_month).sum(
                axis=1
            )
            points[LIVESTREAM_KPI] = float(spec.weight) * apply_rule(months, spec)
        return base_score(points)

    def probability(self, extra: Mapping[str, int]) -> tuple[float, float]:
        """P(target grade) and its smooth version, with ``extra`` units added."""
        base = self.scores(extra)
        exact = float(np.mean(grade_of(base, self.contract) == self.target))
        z = np.clip((base - self.threshold) / SMOOTHING_POINTS, -700, 700)
        return exact, float(np.mean(1.0 / (1.0 + np.exp(-z))))

    def at_least(self, extra: Mapping[str, int]) -> dict[str, float]:
        """P(grade at least g) for every grade g, with ``extra`` units added."""
        found, where = np.unique(grade_of(self.scores(extra), self.contract), return_inverse=True)
        ranks = np.array([self.rank[str(g)] for g in found])[where]
        return {g.id: float(np.mean(ranks <= i)) for i, g in enumerate(self.contract.grades)}


def _cost(lever: Lever, units: int, months: int) -> int:
    """Units actually added: per-month levers count once per remaining month."""
    return units * (months if lever.per_month else 1)


def _greedy(
    ev: Evaluator,
    levers: list[Lever],
    limits: Mapping[str, int],
    start: Mapping[str, int],
    goal: float,
    months: int,
) -> dict[str, int]:
    """Add lever steps, best smoothed-probability gain per unit first, until the goal is met."""
    extra = dict(start)
    exact, smooth = ev.probability(extra)
    open_levers = [lv for lv in levers if extra[lv.id] < limits[lv.id]]
    while exact < goal and open_levers:
        best, best_gain, best_state = None, 0.0, (exact, smooth)
        for lv in list(open_levers):
            step = min(lv.step, limits[lv.id] - extra[lv.id])
            trial = {**extra, lv.id: extra[lv.id] + step}
            p, s = ev.probability(trial)
            if s <= smooth and p <= exact:
                open_levers.remove(lv)  # adds nothing where it matters, now or later
                continue
            gain = (s - smooth) / _cost(lv, step, months)
            if best is None or gain > best_gain:
                best, best_gain, best_state = lv, gain, (p, s)
        if best is None:
            break
        extra[best.id] += min(best.step, limits[best.id] - extra[best.id])
        exact, smooth = best_state
        open_levers = [lv for lv in open_levers if extra[lv.id] < limits[lv.id]]
    return extra


def _trim(
    ev: Evaluator, levers: list[Lever], extra: dict[str, int], goal: float, months: int
) -> dict[str, int]:
    """Lower each lever (costliest first) to the least units that still meet the goal."""
    extra = dict(extra)
    for lv in sorted(levers, key=lambda lv: -_cost(lv, extra[lv.id], months)):
        lo, hi = 0, extra[lv.id]
        while lo < hi:  # smallest units in [lo, hi] keeping the goal (hi always keeps it)
            mid = (lo + hi) // 2
            if ev.probability({**extra, lv.id: mid})[0] >= goal:
                hi = mid
            else:
                lo = mid + 1
        extra[lv.id] = hi
    return extra


def _limits(sim: YearEndDraws, c: Contract, levers: list[Lever]) -> dict[str, int]:
    """Units per lever beyond which it cannot add a point in any draw."""
    limits = {}
    for lv in levers:
        if lv.per_month:
            limits[lv.id] = c.livestream_min_per_month
            continue
        gaps = [c.kpi(k).target - sim.values[k] for k in lv.kpis]
        limits[lv.id] = max(0, int(np.ceil(max(float(np.max(g)) for g in gaps))))
    return limits


def _describe(levers: list[Lever], extra: Mapping[str, int], months: int) -> str:
    """The extra units of a plan in words, lever by lever."""
    parts = []
    for lv in levers:
        units = extra.get(lv.id, 0)
        if not units:
            continue
        if lv.per_month:
            parts.append(f"剩余 {months} 个月每月多开直播 {units} 场（共 {units * months} 场）")
        else:
            parts.append(f"{lv.name} {units} {lv.unit}")
    return "、".join(parts)


def plan_actions(
    sim: YearEndDraws,
    ctx: KpiContext,
    horizon: Horizon,
    target_probability: float = TARGET_PROBABILITY,
    target_grade: str | None = None,
) -> Plan:
    """The smallest extra units per lever lifting P(target grade) to ``target_probability``.

    Args:
        sim: the simulated year-end values (``simulate_year_end``); they are re-scored.
        ctx: the KPI context the draws started from.
        horizon: the draws' calendar.
        target_probability: wanted probability of the target grade at year end.
        target_grade: grade id wanted; the contract's highest grade by default.
    """
    c = ctx.contract
    goal_grade = target_grade or c.grades[0].id
    grade_name = {g.id: g.name for g in c.grades}
    months = sim.remaining_months
    levers = build_levers(c, months, sim.missing) if horizon.remaining_days else []
    unplanned = [c.kpi(k).name for k in sim.missing]
    cannot = f"缺少导出，无法规划：{'、'.join(unplanned)}。" if unplanned else ""
    full = Evaluator(
        sim.values,
        sim.online_months,
        sim.livestream_done,
        c,
        levers,
        goal_grade,
    )
    zero = {lv.id: 0 for lv in levers}
    now = full.probability(zero)[0]
    limits = _limits(sim, c, levers)
    most = full.at_least(limits)
    best = next(g.id for g in c.grades if most[g.id] >= target_probability)
    limiting = _limiting(sim, c, levers)
    pct = f"{target_probability:.0%}"

    def done(extra: dict[str, int], p: float, reachable: bool, statement: str) -> Plan:
        return Plan(
            target_grade=goal_grade,
            target_grade_name=grade_name[goal_grade],
            target_probability=target_probability,
            probability_now=now,
            probability_with_plan=p,
            reachable=reachable,
            extra=extra,
            total_units=sum(_cost(lv, extra[lv.id], months) for lv in levers),
            best_grade=best,
            best_grade_name=grade_name[best],
            limiting=limiting,
            statement=statement + cannot,
            levers=levers,
            missing=unplanned,
        )

    if now >= target_probability:
        return done(
            zero,
            now,
            True,
            f"按当前预测，年底达到{grade_name[goal_grade]}的概率为 {now:.0%}，"
            f"已不低于 {pct}，无需额外动作。",
        )
    if not levers:
        return done(
            zero,
            now,
            False,
            f"合同期已结束，无法再增加活动；年底达到{grade_name[goal_grade]}的概率为 {now:.0%}。",
        )
    if most[goal_grade] < target_probability:
        held = f"（受限于：{'、'.join(limiting)}）" if limiting else ""
        return done(
            zero,
            now,
            False,
            f"即使各项可调指标全部补足到目标，年底达到{grade_name[goal_grade]}的概率最高也只有 "
            f"{most[goal_grade]:.0%}，达不到 {pct}{held}；以 {pct} 把握能达到的最好档次为"
            f"{grade_name[best]}。",
        )
    n = min(PLAN_DRAWS, sim.draws)
    sample = Evaluator(
        {k: v[:n] for k, v in sim.values.items()},
        sim.online_months[:n],
        sim.livestream_done,
        c,
        levers,
        goal_grade,
    )
    extra = _greedy(sample, levers, limits, zero, target_probability, months)
    extra = _trim(sample, levers, extra, target_probability, months)
    if full.probability(extra)[0] < target_probability:  # check on every draw, top up if needed
        extra = _greedy(full, levers, limits, extra, target_probability, months)
        extra = _trim(full, levers, extra, target_probability, months)
    p = full.probability(extra)[0]
    return done(
        extra,
        p,
        True,
        f"在当前预测基础上再增加：{_describe(levers, extra, months)}，"
        f"可使年底达到{grade_name[goal_grade]}的概率从 {now:.0%} 提高到 {p:.0%}"
        f"（目标 {pct}）。各类活动可交叉计数，一场活动同时带多个标签可同时满足多项。",
    )


def _limiting(sim: YearEndDraws, c: Contract, levers: list[Lever]) -> list[str]:
    """KPIs no lever moves that may still miss their target at year end."""
    moved = {k for lv in levers for k in lv.kpis} | (
        {LIVESTREAM_KPI} if any(lv.per_month for lv in levers) else set()
    )
    return [
        k.name
        for k in c.kpis
        if k.id not in moved
        and k.id not in sim.missing
        and not reached(sim.values[k.id], k.target).all()
    ]
