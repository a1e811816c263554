"""Action planner: the least weighted effort that secures the best grade still reachable.

The target grade is the best grade whose probability (P(year-end grade at least that grade))
reaches the target probability with every lever at its maximum (:mod:`.levers`, maxima and
weights from the planning file :mod:`.planning`). Unreachable grades are reported — with their
best probability and the KPIs that still lose points — never planned for. A plan adds the same
extra units to every simulated year and re-scores the draws with the rules of ``qyzj kpi``.

The search is greedy on a smooth version of P(target) per unit of weighted effort (levers on
threshold KPIs may jump straight to their target), then trims every lever back as far as the
probability allows and tries dropping each lever in turn for a cheaper mix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from qyzj_analytics.contract.model import Contract
from qyzj_analytics.forecast.horizon import Horizon
from qyzj_analytics.forecast.levers import Evaluator, Lever, build_levers
from qyzj_analytics.forecast.outcomes import reached
from qyzj_analytics.forecast.plan_text import describe_step, explain_higher, order_steps
from qyzj_analytics.forecast.planning import Planning, load_planning
from qyzj_analytics.forecast.settings import TARGET_PROBABILITY
from qyzj_analytics.forecast.simulate import YearEndDraws
from qyzj_analytics.scoring.kpi import KpiContext

__all__ = ["TARGET_PROBABILITY", "Plan", "PlanStep", "plan_actions"]
PLAN_DRAWS = 5_000  # the search runs on the first draws; the result is checked on all of them


@dataclass(frozen=True)
class PlanStep:
    """One lever's addition in operator terms, and what it adds to P(target grade)."""

    lever: str
    units: int
    text: str
    adds: float


@dataclass(frozen=True)
class Plan:
    """The action plan for one set of simulated years.

    ``target_grade`` is the best grade reachable with ``target_probability``; the probabilities
    are P(year-end grade at least the target). ``higher_*`` describe the next grade up when it
    is out of reach (its best probability with every lever at its maximum, and why).
    """

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
    steps: list[PlanStep] = field(default_factory=list)
    total_effort: float = 0.0
    probability_max: float = 0.0  # P(target) with every lever at its maximum
    higher_grade: str | None = None
    higher_grade_name: str | None = None
    higher_probability_max: float | None = None
    higher_capped_by: list[str] = field(default_factory=list)
    higher_reason: str = ""
    planning_source: str = ""


def _open(ev: Evaluator, lv: Lever, units: int, wide: bool) -> list[int]:
    """Candidate increments of one lever from ``units``: a step and jumps to a held KPI's
    target; ``wide`` adds doubling steps up to the maximum, so plateaus (a ratio below its
    floor) do not stop the search."""
    room = lv.maximum - units
    incs = {lv.step} | {j - units for j in ev.jumps(lv) if j > units}
    if wide:
        incs.add(room)
        size = lv.step * 2
        while size < room:
            incs.add(size)
            size *= 2
    return sorted(i for i in incs if 0 < i <= room)


def _greedy(
    ev: Evaluator,
    levers: list[Lever],
    start: Mapping[str, int],
    goal: float,
    grade: str,
    months: int,
) -> dict[str, int]:
    """Add lever steps, best smoothed-probability gain per unit of effort first, to the goal."""
    extra = dict(start)
    exact, smooth = ev.probability(extra, grade)
    live = [lv for lv in levers if extra[lv.id] < lv.maximum]
    while exact < goal and live:
        best, best_gain, best_state = None, 0.0, (exact, smooth)
        for lv in list(live):
            useful = False
            for wide in (False, True):  # the wide candidates only when a step adds nothing
                if useful:
                    break
                for inc in _open(ev, lv, extra[lv.id], wide):
                    p, s = ev.probability({**extra, lv.id: extra[lv.id] + inc}, grade)
                    if s <= smooth and p <= exact:
                        continue
                    useful = True
                    gain = (s - smooth) / max(lv.cost(inc, months), 1e-9)
                    if best is None or gain > best_gain:
                        best, best_gain, best_state = (lv, inc), gain, (p, s)
            if not useful:
                live.remove(lv)  # adds nothing where it matters, now or later
        if best is None:
            break
        extra[best[0].id] += best[1]
        exact, smooth = best_state
        live = [lv for lv in live if extra[lv.id] < lv.maximum]
    return extra


def _trim(
    ev: Evaluator,
    levers: list[Lever],
    extra: dict[str, int],
    goal: float,
    grade: str,
    months: int,
) -> dict[str, int]:
    """Lower each lever (costliest first) to the least whole steps that still meet the goal."""
    extra = dict(extra)
    for lv in sorted(levers, key=lambda lv: -lv.cost(extra[lv.id], months)):
        grain = lv.step if lv.kind == "publications" else 1
        lo, hi = 0, extra[lv.id] // grain
        while lo < hi:  # smallest count in [lo, hi] keeping the goal (hi always keeps it)
            mid = (lo + hi) // 2
            if ev.exact({**extra, lv.id: mid * grain}, grade) >= goal:
                hi = mid
            else:
                lo = mid + 1
        extra[lv.id] = hi * grain
    return extra


def _effort(levers: list[Lever], extra: Mapping[str, int], months: int) -> float:
    return sum(lv.cost(extra[lv.id], months) for lv in levers)


def _search(
    ev: Evaluator,
    levers: list[Lever],
    start: dict[str, int],
    goal: float,
    grade: str,
    months: int,
) -> dict[str, int]:
    """Greedy, trim, then try each lever held at zero for a cheaper mix that keeps the goal.

    When the greedy path falls short, every lever starts at its maximum and is trimmed.
    """
    extra = _greedy(ev, levers, start, goal, grade, months)
    if ev.exact(extra, grade) < goal:
        extra = {lv.id: lv.maximum for lv in levers}
        if ev.exact(extra, grade) < goal:
            return extra
    extra = _trim(ev, levers, extra, goal, grade, months)
    for lv in levers:
        if not extra[lv.id]:
            continue
        others = [o for o in levers if o.id != lv.id]
        trial = _greedy(ev, others, {**extra, lv.id: 0}, goal, grade, months)
        if ev.exact(trial, grade) < goal:
            continue
        trial = _trim(ev, others, trial, goal, grade, months)
        if _effort(levers, trial, months) < _effort(levers, extra, months) - 1e-9:
            extra = trial
    return extra


def _top_up(
    sim: YearEndDraws,
    c: Contract,
    full: Evaluator,
    levers: list[Lever],
    extra: dict[str, int],
    goal: float,
    grade: str,
    months: int,
) -> dict[str, int]:
    """A plan searched on the first draws that falls short on all of them, topped up to the goal
    on all draws: the greedy search continues from it, then each lever is trimmed back.

    Searched with the fast sums on all draws; every result is checked with ``full`` (the exact
    sums): a trim that does not keep the goal there is dropped, and a greedy path that falls
    short continues on ``full`` itself, then from every lever at its maximum (which reaches the
    goal: the target grade was chosen so). The drop-each-lever retries of :func:`_search` are
    not run again: they would cost thousands of evaluations of every draw.
    """
    fast = Evaluator(sim, c, levers, fast=True, points=full.points)
    extra = _greedy(fast, levers, extra, goal, grade, months)
    if full.exact(extra, grade) < goal:
        extra = _greedy(full, levers, extra, goal, grade, months)
        if full.exact(extra, grade) < goal:
            extra = {lv.id: lv.maximum for lv in levers}
    trimmed = _trim(fast, levers, extra, goal, grade, months)
    return trimmed if full.exact(trimmed, grade) >= goal else extra


def plan_actions(
    sim: YearEndDraws,
    ctx: KpiContext,
    horizon: Horizon,
    target_probability: float = TARGET_PROBABILITY,
    planning: Planning | None = None,
    points: Mapping[str, np.ndarray] | None = None,
    base: np.ndarray | None = None,
) -> Plan:
    """The least-effort extra units per lever lifting P(best reachable grade) to the target.

    Args:
        sim: the simulated year-end values (``simulate_year_end``); they are re-scored.
        ctx: the KPI context the draws started from.
        horizon: the draws' calendar.
        target_probability: wanted probability of the target grade (or better) at year end.
        planning: lever maxima and weights (the bundled ``planning.yaml`` by default).
        points: ``score_points`` of the draws when already at hand (the forecast's).
        base: their ``base_score`` likewise (``Forecast.base``).
    """
    c = ctx.contract
    planning = planning or load_planning()
    names = {g.id: g.name for g in c.grades}
    months = sim.remaining_months
    levers = build_levers(sim, c, horizon, planning)
    unplanned = [c.kpi(k).name for k in sim.missing]
    cannot = f"缺少导出，无法规划：{'、'.join(unplanned)}。" if unplanned else ""
    full = Evaluator(sim, c, levers, points=points, base=base)
    zero = {lv.id: 0 for lv in levers}
    most_extra = {lv.id: lv.maximum for lv in levers}
    now_all = full.at_least(zero)
    most = full.at_least(most_extra)
    goal = target_probability
    target = next((g.id for g in c.grades if most[g.id] >= goal), c.grades[-1].id)
    rank = [g.id for g in c.grades].index(target)
    higher = c.grades[rank - 1].id if rank > 0 else None
    reason, capped = "", []
    if higher is not None:
        lost = full.lost_points(most_extra)
        reason, capped = explain_higher(c, names[higher], most[higher], goal, lost)
    now = now_all[target]
    pct = f"{goal:.0%}"

    def done(extra: dict[str, int], p: float, statement: str, steps: list[PlanStep]) -> Plan:
        return Plan(
            target_grade=target,
            target_grade_name=names[target],
            target_probability=goal,
            probability_now=now,
            probability_with_plan=p,
            reachable=p >= goal,
            extra=extra,
            total_units=sum(extra[lv.id] * (months if lv.per_month else 1) for lv in levers),
            best_grade=target,
            best_grade_name=names[target],
            limiting=_limiting(sim, c, levers),
            statement=statement + reason + cannot,
            levers=levers,
            missing=unplanned,
            steps=steps,
            total_effort=round(_effort(levers, extra, months), 6),
            probability_max=most[target],
            higher_grade=higher,
            higher_grade_name=names[higher] if higher else None,
            higher_probability_max=most[higher] if higher else None,
            higher_capped_by=capped,
            higher_reason=reason,
            planning_source=planning.source,
        )

    head = f"以 {pct} 的把握可争取的最好档次为{names[target]}。"
    if now >= goal:
        return done(
            zero,
            now,
            head + f"按当前预测，年底达到{names[target]}（或更好）的概率为 "
            f"{now:.0%}，已不低于 {pct}，无需额外动作。",
            [],
        )
    extra = _search(
        Evaluator(sim, c, levers, PLAN_DRAWS, fast=True), levers, zero, goal, target, months
    )
    p = full.exact(extra, target)
    if p < goal:  # checked on every draw: short, so top it up on every draw
        extra = _top_up(sim, c, full, levers, extra, goal, target, months)
        p = full.exact(extra, target)
    steps = [
        PlanStep(lv.id, extra[lv.id], describe_step(lv, extra[lv.id], c, months), adds)
        for lv, adds in order_steps(full, levers, extra, target)
    ]
    what = "；".join(f"{s.text}（+{s.adds:.1%}）" for s in steps)
    return done(
        extra,
        p,
        head + f"在当前预测基础上：{what}，可使年底达到{names[target]}（或更好）"
        f"的概率从 {now:.0%} 提高到 {p:.0%}（目标 {pct}）。各类活动可交叉计数，"
        "一场活动同时带多个标签可同时满足多项。",
        steps,
    )


def _limiting(sim: YearEndDraws, c: Contract, levers: list[Lever]) -> list[str]:
    """KPIs no lever moves that may still miss their target at year end."""
    moved = {k for lv in levers for k in lv.kpis}
    return [
        k.name
        for k in c.kpis
        if k.id not in moved
        and k.id not in sim.missing
        and not reached(sim.values[k.id], k.target).all()
    ]
