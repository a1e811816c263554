"""The backtest as text: the ``qyzj backtest`` table (Chinese) and its JSON object."""

from __future__ import annotations

import numpy as np

from qyzj_analytics.console import render_table
from qyzj_analytics.contract.model import Contract, load_contract
from qyzj_analytics.forecast.backtest import COVERAGE_GOAL, BacktestResult
from qyzj_analytics.forecast.backtest_score import COUNT_KPIS, MIN_SKILL, MIN_SKILL_Q3, Band
from qyzj_analytics.forecast.settings import QUANTILES


def backtest_to_dict(result: BacktestResult) -> dict:
    """The ``qyzj backtest --json`` object."""

    def num(x: float) -> float | None:
        return None if np.isnan(x) else round(float(x), 4)

    return {
        "years": result.years,
        "draws": result.draws,
        "seed": result.seed,
        "coverage_goal": list(COVERAGE_GOAL),
        "count_kpis": list(COUNT_KPIS),
        "skill_count_kpis": num(result.skill),
        "oracle_skill_count_kpis": num(result.oracle_skill),
        "family_oracle_skill_count_kpis": num(result.family_skill),
        "blind_oracle_skill_count_kpis": num(result.blind_skill),
        "bands_met": result.bands_met,
        "bands": [
            {
                "label": b.label,
                "value": num(b.value),
                "low": b.low,
                "high": None if b.high == float("inf") else b.high,
                "ok": b.ok,
            }
            for b in result.bands
        ],
        "kpis": {k: {m: num(v) for m, v in s.items()} for k, s in result.per_kpi.items()},
        "quarters": {
            f"Q{r.quarter}": {
                "as_of": r.as_of.isoformat(),
                "coverage_p10_p90": num(r.coverage),
                "within_goal": r.within_goal,
                "skill": num(r.skill),
                "oracle_skill": num(r.oracle_skill),
                "family_oracle_skill": num(r.family_skill),
                "blind_oracle_skill": num(r.blind_skill),
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


MISSED = "← 未达标"


def _pct(x: float) -> str:
    return "—" if np.isnan(x) else f"{x:.0%}"


def _missed(bands: list[Band], prefix: str) -> str:
    """``MISSED`` when a band whose label starts with ``prefix`` is missed."""
    return MISSED if any(b.label.startswith(prefix) and not b.ok for b in bands) else ""


def format_backtest(result: BacktestResult, contract: Contract | None = None) -> str:
    """A readable Chinese table of the backtest; rows outside their band are flagged."""
    contract = contract or load_contract()
    names = {k.id: k.name for k in contract.kpis}
    low, high = QUANTILES[0], QUANTILES[-1]
    counts = "、".join(names.get(k, k) for k in COUNT_KPIS)
    lines = [
        f"回测：模拟 {result.years} 个完整年度（每次预测 {result.draws} 次抽样，种子 {result.seed}），"
        "在各季度末预测年底值，与真实年底值比较",
        f"计数指标：{counts}",
        "区间覆盖率 = 真实年底值落在预测 P10–P90 之内的比例；"
        "技巧分 = 1 - 预测的分位数损失 / 按进度外推（其余部分取泊松分位数）的损失；损失按目标值折算",
        "",
    ]
    head = ["季度", "截至日", "区间覆盖率", "技巧分", "校正覆盖率", "P50误差(占目标)", "得分覆盖率"]
    rows = [
        [
            f"Q{r.quarter}",
            str(r.as_of),
            f"{r.coverage:.1%}",
            f"{r.skill:.1%}",
            f"{r.pit_coverage:.1%}",
            f"{r.median_abs_error:.1%}",
            f"{r.score_coverage:.1%}",
            _missed(result.bands, f"Q{r.quarter} "),
        ]
        for r in result.quarters
    ]
    rows.append(
        ["合计", "", "", f"{result.skill:.1%}", "", "", "", _missed(result.bands, "技巧分")]
    )
    lines += render_table([*head, ""], rows, [False, False, True, True, True, True, True, False])
    lines.append(
        f"（区间覆盖率、技巧分只含计数指标；覆盖率目标 {COVERAGE_GOAL[0]:.0%}–{COVERAGE_GOAL[1]:.0%}，"
        f"技巧分目标合计 ≥ {MIN_SKILL:.0%}、Q3 ≥ {MIN_SKILL_Q3:.0%}；校正覆盖率：随机化 PIT 落在 "
        f"[{low:g}, {high:g}] 的比例，扣除计数型指标端点相等带来的虚高，理想值 {high - low:.0%}）"
    )
    qs = [f"Q{r.quarter}" for r in result.quarters]
    head = [
        "指标",
        *(f"覆盖率{q}" for q in qs),
        "覆盖率合计",
        *(f"技巧分{q}" for q in qs),
        "技巧分合计",
    ]
    rows = []
    for k, pooled in result.per_kpi.items():
        name = names.get(k, k)
        flag = _missed(result.bands, name) or _missed(result.bands, f"Q1 {name}")
        rows.append(
            [
                name + ("" if k in COUNT_KPIS else "*"),
                *(_pct(r.per_kpi[k]["coverage"]) for r in result.quarters),
                _pct(pooled["coverage"]),
                *(_pct(r.per_kpi[k]["skill"]) for r in result.quarters),
                _pct(pooled["skill"]),
                flag,
            ]
        )
    lines += ["", "分指标（* 不计入合计）："]
    lines += render_table([*head, ""], rows, [False, *[True] * (len(head) - 1), False])
    lines += format_headroom(result, names)
    lines += ["", "达标检查（issue 16）："]
    for b in result.bands:
        goal = f"≥ {b.low:.0%}" if b.high == float("inf") else f"{b.low:.0%}–{b.high:.0%}"
        lines.append(f"  {'达标  ' if b.ok else '未达标'}  {b.label}：{b.value:.1%}（目标 {goal}）")
    met = sum(b.ok for b in result.bands)
    lines.append(f"共 {len(result.bands)} 项，达标 {met} 项")
    return "\n".join(lines)


def format_headroom(result: BacktestResult, names: dict[str, str]) -> list[str]:
    """The oracle table (``--oracle``): per count KPI and quarter, the model's skill, the three
    oracles' and the KPI's share of the baseline loss; empty without the oracles."""
    if np.isnan(result.oracle_skill):
        return []
    qs = result.quarters
    measures = {
        "skill": "技巧分",
        "blind_skill": "盲上限",
        "family_skill": "族上限",
        "oracle_skill": "上限",
    }
    head = ["指标", *(f"{m}Q{r.quarter}" for m in [*measures.values(), "损失占比"] for r in qs)]
    rows = [
        [
            names.get(k, k),
            *(
                _pct(r.per_kpi.get(k, {}).get(m, float("nan")))
                for m in [*measures, "base_share"]
                for r in qs
            ),
        ]
        for k in COUNT_KPIS
        if k in result.per_kpi
    ]
    rows.append(
        ["合计", *(_pct(getattr(r, m)) for m in measures for r in qs), *("100%" for _ in qs)]
    )
    return [
        "",
        f"对照：上限 = 知道每年真实过程的预测（合计 {result.oracle_skill:.1%}）；族上限 = 知道模拟"
        f"族（各速率在示例 ±50% 内）但不知道当年速率、从已有数据估计（{result.family_skill:.1%}）；"
        f"盲上限 = 同上但不知道速率范围（{result.blind_skill:.1%}）；模型 {result.skill:.1%}。"
        "损失占比 = 该指标在基准损失合计中的份额（按目标值折算，决定它在合计技巧分中的权重）",
        *render_table(head, rows, [False, *[True] * (len(head) - 1)]),
    ]
