"""The plan in operator terms: one Chinese sentence per lever, the order of the steps and why a
higher grade is out of reach. Every number comes from the draws, the contract or the plan."""

from __future__ import annotations

from collections.abc import Mapping

from qyzj_analytics.contract.model import Contract
from qyzj_analytics.forecast.levers import OFFLINE_KPI, QUALIFIED_KPI, Evaluator, Lever

LOST_POINTS_SHOWN = 0.05  # KPIs losing less than this many points on average are not named
MIN_WEEKLY_PUBLICATIONS = 1  # a week counts as covered with at least one publication (kpi.py)


def describe_step(lv: Lever, units: int, c: Contract, months: int) -> str:
    """One lever's addition as an operator's sentence."""
    if lv.kind == "livestream":
        return f"剩余 {months} 个月每月多开直播 {units} 场（共 {units * months} 场）"
    if lv.kind == "publications":
        return f"每周至少发布 {MIN_WEEKLY_PUBLICATIONS} 条信息直到年底（共 {units} 周）"
    if lv.kind == "appeals":
        return f"年底前办结 {units} 件在办诉求"
    if lv.kind == "hire":
        counted = "、".join(c.kpi(k).name for k in lv.kpis)
        return f"再{lv.name} {units} 名（大专或中级以上，计入{counted}）"
    if lv.kind == "qualify":
        return f"现有人员中再有 {units} 人达到{c.kpi(QUALIFIED_KPI).name}的条件"
    kpi = c.kpi(lv.kpis[0])
    if lv.id == "experts":
        return f"再招募 {units} 名{kpi.name}"
    if lv.id == "institutions":
        return f"再引入或重新激活 {units} 家服务机构（计入{kpi.name}）"
    if len(lv.kpis) > 1 and lv.kpis[1] == OFFLINE_KPI:
        return f"再办 {units} 场{kpi.name}（同时计入{c.kpi(OFFLINE_KPI).name}）"
    return f"{kpi.name}再增加 {units} {kpi.unit}"


def explain_higher(
    c: Contract, name: str, probability: float, goal: float, lost: Mapping[str, float]
) -> tuple[str, list[str]]:
    """Why the next grade up is out of reach: its best probability and the KPIs still losing
    points with every lever at its maximum (most points lost first)."""
    capped = [
        (c.kpi(k).name, p)
        for k, p in sorted(lost.items(), key=lambda kv: -kv[1])
        if p >= LOST_POINTS_SHOWN
    ]
    named = "、".join(f"{n}（平均仍失 {p:.1f} 分）" for n, p in capped)
    held = f"，主要受限于：{named}" if named else ""
    text = (
        f"{name}达不到 {goal:.0%}：即使各项措施全部用到上限，年底达到{name}的概率最高也只有 "
        f"{probability:.1%}{held}。"
    )
    return text, [n for n, _ in capped]


def order_steps(
    ev: Evaluator, levers: list[Lever], extra: Mapping[str, int], grade: str
) -> list[tuple[Lever, float]]:
    """The plan's levers in use, each with what it adds to P(grade) when the steps are taken in
    order, the step adding most first (the additions sum to the plan's total gain)."""
    left = [lv for lv in levers if extra.get(lv.id, 0)]
    taken: dict[str, int] = {lv.id: 0 for lv in levers}
    p = ev.exact(taken, grade)
    out = []
    while left:
        exact = [ev.exact({**taken, lv.id: extra[lv.id]}, grade) for lv in left]
        q = max(exact)
        tied = [lv for lv, e in zip(left, exact, strict=True) if e == q]
        if len(tied) > 1:  # the smooth gain breaks a tie (the first of equals wins)
            smooth = [ev.probability({**taken, lv.id: extra[lv.id]}, grade)[1] for lv in tied]
            lv = tied[smooth.index(max(smooth))]
        else:
            lv = tied[0]
        taken[lv.id] = extra[lv.id]
        out.append((lv, q - p))
        p = q
        left.remove(lv)
    return out
