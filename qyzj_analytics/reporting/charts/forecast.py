"""Forecast charts: the year-end score distribution, grade probabilities, the payment schedule."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, PercentFormatter

from qyzj_analytics.forecast.settings import QUANTILES, quantiles
from qyzj_analytics.formats import format_score, format_share
from qyzj_analytics.reporting.charts.style import (
    ACTUAL_COLOR,
    GRADE_COLORS,
    clean_axes,
    format_thousands,
    make_figure,
    mark_sample,
)


def plot_score_distribution(
    scores: Sequence[float] | np.ndarray | pd.Series,
    grades: pd.DataFrame,
    current: float | None = None,
    *,
    max_score: float,
    sample: bool = False,
) -> Figure:
    """Histogram of the simulated year-end base score, with the grade thresholds.

    Args:
        scores: one base score per simulated year.
        grades: columns ``id``, ``档次`` and ``最低分`` (the forecast's grade table).
        current: today's base score (marked), optional.
        max_score: the highest base score (the sum of the contract's KPI weights); the score
            axis ends half a point beyond it.
        sample: the data is the generated sample: the chart carries 示例数据.

    Scores are shown truncated to two decimals (:func:`~qyzj_analytics.formats.format_score`),
    as everywhere else in the report.
    """
    values = np.asarray(scores, dtype=float)
    fig = make_figure(4.4)
    ax = fig.add_subplot()
    ordered = sorted(
        zip(grades["id"], grades["档次"], grades["最低分"].astype(float), strict=True),
        key=lambda g: g[2],
    )
    low = min(np.floor(values.min()) - 2, min(g[2] for g in ordered if g[2] > 0) - 5)
    high = round(float(max_score), 6) + 0.5  # weights summed as floats: noise rounded away
    bins = np.arange(np.floor(low), high + 0.5, 0.5)
    edges = [g[2] for g in ordered] + [float("inf")]
    for (gid, gname, lo), hi in zip(ordered, edges[1:], strict=True):
        ax.axvspan(max(lo, low), min(hi, high), color=GRADE_COLORS.get(gid, "#cccccc"), alpha=0.12)
        if lo > low:
            ax.axvline(lo, color=GRADE_COLORS.get(gid, "#999999"), linewidth=1.2)
        mid = (max(lo, low) + min(hi, high)) / 2
        ax.text(mid, 1.01, f"{gname}", transform=ax.get_xaxis_transform(), ha="center", fontsize=10)
    weights = np.full(len(values), 1 / len(values)) if len(values) else None
    ax.hist(values, bins=bins, weights=weights, color=ACTUAL_COLOR, alpha=0.85)
    if current is not None:
        ax.axvline(current, color="black", linestyle="--", linewidth=1.2)
        ax.annotate(
            f"截至今日得分 {format_score(current)}",
            (current, 0.95),
            xycoords=("data", "axes fraction"),
            xytext=(-4, 0),
            textcoords="offset points",
            ha="right",
            va="top",
            fontsize=9,
            bbox={"boxstyle": "round,pad=0.25", "facecolor": "white", "linewidth": 0},
        )
    ax.set_xlim(low, high)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel("年终基础分")
    ax.set_ylabel("模拟占比")
    clean_axes(ax)
    p10, p50, p90 = quantiles(values)
    if p10 == p90:
        title = (
            f"年终基础分：所有 {len(values):,} 次模拟都是 {format_score(p50)} 分（已无不确定性）"
        )
    else:
        title = (
            f"年终基础分分布（{len(values):,} 次模拟）：中位数 {format_score(p50)}，"
            f"{QUANTILES[-1] - QUANTILES[0]:.0%} 的模拟在 {format_score(p10)}–{format_score(p90)} 之间"
        )
    ax.set_title(
        title,
        loc="left",
        fontsize=13,
        pad=20,
    )
    return mark_sample(fig, sample)


def plot_grade_probabilities(grades: pd.DataFrame, *, sample: bool = False) -> Figure:
    """Bars: the probability of each grade at year end.

    Args:
        grades: columns ``id`` (grade id), ``档次`` (Chinese name) and ``概率`` (0..1), in order.
    """
    fig = make_figure(3.6, 7.0)
    ax = fig.add_subplot()
    probs = grades["概率"].to_numpy(float)
    colors = [GRADE_COLORS.get(g, "#999999") for g in grades["id"]]
    bars = ax.bar(grades["档次"], probs, color=colors, width=0.6)
    for bar, p in zip(bars, probs, strict=True):
        label = format_share(p)
        ax.text(bar.get_x() + bar.get_width() / 2, p + 0.02, label, ha="center", fontsize=11)
    ax.set_ylim(0, 1.12)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylabel("概率")
    clean_axes(ax)
    best = grades.iloc[int(np.argmax(probs))]
    ax.set_title(
        f"年终考核档次概率：最可能为「{best['档次']}」（{format_share(best['概率'])}）",
        loc="left",
        fontsize=13,
    )
    return mark_sample(fig, sample)


def plot_payment_schedule(
    schedule: pd.DataFrame, full_subsidy: float | None = None, *, sample: bool = False
) -> Figure:
    """Bars of the year's payments: three advances, then the subsidy with its P10–P90 range.

    Args:
        schedule: :func:`qyzj_analytics.metrics.payment_schedule`.
        full_subsidy: the full subsidy (dotted reference line), optional.
    """
    fig = make_figure(4.2)
    ax = fig.add_subplot()
    labels = [
        f"{r['款项']}\n{'年终考核后' if r['款项'] == '运维补助' else r['应付日期']}"
        for _, r in schedule.iterrows()
    ]
    amounts = schedule["金额"].to_numpy(float)
    low = schedule["低值"].to_numpy(float)
    high = schedule["高值"].to_numpy(float)
    is_subsidy = (schedule["款项"] == "运维补助").to_numpy()
    colors = np.where(
        is_subsidy, "#59a14f", np.where(schedule["说明"] == "已到期", ACTUAL_COLOR, "#9ecae1")
    )
    x = np.arange(len(schedule))
    ax.bar(x, amounts, color=colors, width=0.6)
    spread = is_subsidy & (high > low)
    if spread.any():
        ax.errorbar(
            x[spread],
            amounts[spread],
            yerr=[amounts[spread] - low[spread], high[spread] - amounts[spread]],
            fmt="none",
            ecolor="black",
            capsize=8,
            linewidth=1.5,
        )
    for xi, a, lo, hi, sub in zip(x, amounts, low, high, is_subsidy, strict=True):
        if sub and hi > lo:
            ax.text(xi, a / 2, f"P50\n{a:,.0f} 元", ha="center", va="center", color="white")
            for value, tag, va in ((hi, "P90", "bottom"), (lo, "P10", "top")):
                ax.text(xi + 0.33, value, f"{tag} {value:,.0f}", va=va, fontsize=9)
        else:
            ax.text(xi, a * 1.02, f"{a:,.0f} 元", ha="center", va="bottom", fontsize=9)
    ax.set_xticks(x, labels)
    ax.set_ylim(0, max(high.max(), amounts.max(), full_subsidy or 0) * 1.35)
    ax.yaxis.set_major_formatter(FuncFormatter(format_thousands))
    ax.set_ylabel("金额（元）")
    clean_axes(ax)
    total = amounts.sum()
    ax.set_title(
        f"全年付款安排：预计合计约 {total:,.0f} 元"
        + ("（运维补助取中位数）" if spread.any() else ""),
        loc="left",
        fontsize=13,
    )
    handles = []
    if (~is_subsidy & (schedule["说明"] == "已到期").to_numpy()).any():
        handles.append(Patch(color=ACTUAL_COLOR, label="预付款（已到期）"))
    if (~is_subsidy & (schedule["说明"] != "已到期").to_numpy()).any():
        handles.append(Patch(color="#9ecae1", label="预付款（未到期）"))
    handles.append(
        Patch(
            color="#59a14f",
            label="运维补助（柱高 P50，黑线 P10–P90）"
            if spread.any()
            else "运维补助（年终考核后）",
        )
    )
    if full_subsidy is not None:
        ax.axhline(full_subsidy, color="#59a14f", linestyle=":", linewidth=1.2)
        ax.text(
            -0.45,
            full_subsidy,
            f"运维补助全额 {full_subsidy:,.0f} 元",
            va="bottom",
            fontsize=9,
            color="#3b7a34",
        )
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False)
    return mark_sample(fig, sample)
