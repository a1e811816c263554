"""Event-mix charts: activities by month and category or format, tag overlap (Venn and UpSet),
parks covered and monthly livestreams."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from qyzj_analytics.reporting.charts.style import (
    ACTUAL_COLOR,
    CATEGORY_COLORS,
    FORMAT_COLORS,
    LIVESTREAM_COLORS,
    clean_axes,
    format_months,
    label_bar_tops,
    make_figure,
    mark_sample,
)
from qyzj_analytics.reporting.charts.venn import draw_equal_venn3
from qyzj_analytics.reporting.events import VENN_REGIONS, VENN_SETS


def _stacked_months(
    frame: pd.DataFrame, colors: dict[str, str], title: str, ylabel: str, sample: bool
) -> Figure:
    fig = make_figure(4.2)
    ax = fig.add_subplot()
    x = np.arange(len(frame))
    bottom = np.zeros(len(frame))
    for column in frame.columns:
        values = frame[column].to_numpy(float)
        ax.bar(
            x, values, bottom=bottom, color=colors.get(column, "#999999"), label=column, width=0.7
        )
        bottom += values
    label_bar_tops(ax, x, bottom)
    ax.set_xticks(x, format_months(frame.index))
    ax.set_ylim(0, max(bottom.max(), 1) * 1.15)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(ylabel)
    clean_axes(ax)
    # an axes legend beside the plot (the layout makes room for it), not a figure legend: that
    # one would sit at the figure's top edge, where a sample chart has its 示例数据 mark
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9)
    ax.set_title(title, loc="left", fontsize=13)
    return mark_sample(fig, sample)


def plot_activities_by_category(frame: pd.DataFrame, *, sample: bool = False) -> Figure:
    """Monthly stacked bars of activities by category (each activity counted once).

    Args:
        frame: :func:`qyzj_analytics.metrics.activities_by_month_and_category`.
    """
    total = int(frame.to_numpy().sum())
    return _stacked_months(
        frame, CATEGORY_COLORS, f"每月活动场次（按类别，共 {total} 场）", "活动场次", sample
    )


def plot_online_offline(frame: pd.DataFrame, *, sample: bool = False) -> Figure:
    """Monthly stacked bars of activities by format: offline, hybrid, online, unknown.

    Args:
        frame: :func:`qyzj_analytics.metrics.online_offline_by_month`.
    """
    offline = int(frame["线下"].sum() + frame["线上+线下"].sum())
    online = int(frame["线上"].sum() + frame["线上+线下"].sum())
    return _stacked_months(
        frame,
        FORMAT_COLORS,
        f"每月线上 / 线下活动（线下含结合共 {offline} 场，线上含结合共 {online} 场）",
        "活动场次",
        sample,
    )


def plot_tag_overlap(counts: dict[str, int], *, sample: bool = False) -> Figure:
    """Venn diagram of offline activities tagged 小微园 / 小微你好 / 联盟 (region sizes as labels;
    circles drawn equal, since areas of a few events would mislead).

    Args:
        counts: :func:`qyzj_analytics.metrics.tag_overlap_counts`.
    """
    fig = make_figure(5.2, 7.0)
    ax = fig.add_subplot()
    sizes = tuple(int(counts.get(r, 0)) for r in VENN_REGIONS)
    totals = [
        sum(n for r, n in zip(VENN_REGIONS, sizes, strict=True) if r[i] == "1") for i in range(3)
    ]
    labels = tuple(f"{name}\n（{t} 场）" for (_, name), t in zip(VENN_SETS, totals, strict=True))
    region_labels, set_labels = draw_equal_venn3(
        ax,
        sizes,
        labels,
        (CATEGORY_COLORS["小微园"], CATEGORY_COLORS["小微你好"], CATEGORY_COLORS["联盟"]),
        alpha=0.45,
    )
    for label in region_labels:
        label.set_fontsize(13)
    for label in set_labels:
        label.set_fontsize(11)
    none = int(counts.get("000", 0)) if "000" in counts else None
    tail = f"；另有 {none} 场不属于三类" if none else ""
    ax.set_title(
        f"线下活动的标签交叉（同一场活动可同时计入多项指标{tail}）",
        loc="left",
        fontsize=12,
    )
    return mark_sample(fig, sample)


def plot_tag_upset(counts: dict[str, int], *, sample: bool = False) -> Figure:
    """UpSet view of the same overlap: one bar per combination of 小微园 / 小微你好 / 联盟 (largest
    first) above a dot matrix showing which tags each bar combines.

    Args:
        counts: :func:`qyzj_analytics.metrics.tag_overlap_counts`.
    """
    combos = sorted(
        ((r, int(counts.get(r, 0))) for r in VENN_REGIONS if int(counts.get(r, 0)) > 0),
        key=lambda item: (-item[1], -item[0].count("1"), item[0]),
    )
    fig = make_figure(4.6, 7.0)
    grid = fig.add_gridspec(2, 1, height_ratios=(3, 1.4))
    bars, matrix = fig.add_subplot(grid[0]), fig.add_subplot(grid[1])
    x = np.arange(len(combos))
    heights = [n for _, n in combos]
    bars.bar(x, heights, color=ACTUAL_COLOR, width=0.6)
    for xi, n in zip(x, heights, strict=True):
        bars.annotate(
            f"{n}", (xi, n), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=10
        )
    bars.set_ylabel("场次")
    bars.set_xticks([])
    bars.set_xlim(-0.6, max(len(combos), 1) - 0.4)
    bars.set_ylim(0, max([*heights, 1]) * 1.18)
    bars.spines[["top", "right"]].set_visible(False)
    bars.set_title(
        "线下活动按标签组合计数（UpSet 视图：下方实心点 = 该组合包含的标签）",
        loc="left",
        fontsize=12,
    )
    names = [name for _, name in VENN_SETS]
    for row in range(len(names)):
        matrix.scatter(x, [row] * len(x), s=70, color="#d9d9d9", zorder=1)
    for xi, (region, _) in zip(x, combos, strict=True):
        rows = [i for i, flag in enumerate(region) if flag == "1"]
        matrix.scatter([xi] * len(rows), rows, s=70, color=ACTUAL_COLOR, zorder=2)
        if len(rows) > 1:
            matrix.plot([xi, xi], [min(rows), max(rows)], color=ACTUAL_COLOR, lw=2, zorder=2)
    matrix.set_yticks(range(len(names)), names)
    matrix.set_ylim(len(names) - 0.5, -0.5)
    matrix.set_xlim(bars.get_xlim())
    matrix.set_xticks([])
    matrix.spines[:].set_visible(False)
    matrix.tick_params(left=False)
    if not combos:
        bars.text(0.5, 0.5, "本期没有这三类线下活动", transform=bars.transAxes, ha="center")
    return mark_sample(fig, sample)


def plot_parks_covered(parks: pd.DataFrame, *, sample: bool = False) -> Figure:
    """Horizontal bars: offline park events per park (location).

    Args:
        parks: :func:`qyzj_analytics.metrics.parks_covered`.
    """
    n = max(len(parks), 1)
    fig = make_figure(max(2.6, 0.38 * n + 1.3))
    ax = fig.add_subplot()
    frame = parks.iloc[::-1]
    y = np.arange(len(frame))
    ax.barh(y, frame["场次"], color=CATEGORY_COLORS["小微园"], height=0.6)
    for yi, (count, last) in enumerate(zip(frame["场次"], frame["最近一次"], strict=True)):
        ax.text(count + 0.05, yi, f"{count} 场（最近 {last}）", va="center", fontsize=9)
    ax.set_yticks(y, frame["地点"])
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(0, (frame["场次"].max() if len(frame) else 1) * 1.6 + 0.5)
    ax.set_xlabel("进园活动场次（线下）")
    clean_axes(ax, "x")
    ax.set_title(
        f"进小微园活动覆盖的园区：{len(parks)} 个地点，共 {int(parks['场次'].sum())} 场",
        loc="left",
        fontsize=13,
    )
    return mark_sample(fig, sample)


def plot_livestreams(
    frame: pd.DataFrame, minimum: int | None = None, *, sample: bool = False
) -> Figure:
    """Bars: online activities per month, coloured by whether the month met the monthly minimum.

    Args:
        frame: :func:`qyzj_analytics.metrics.livestreams_by_month`.
        minimum: the contract's monthly minimum (dashed line); by default the frame's
            ``最低要求`` column. With neither (no month yet), no line is drawn.
    """
    fig = make_figure(4.0)
    ax = fig.add_subplot()
    x = np.arange(len(frame))
    counts = frame["线上场次"].to_numpy(float)
    colors = [LIVESTREAM_COLORS[s] for s in frame["状态"]]
    ax.bar(x, counts, color=colors, width=0.65)
    if minimum is None and len(frame):
        minimum = int(frame["最低要求"].iloc[0])
    if minimum is not None:
        ax.axhline(minimum, color="black", linestyle="--", linewidth=1.2)
        ax.text(
            1.0,
            minimum,
            f" 每月至少 {minimum} 场",
            transform=ax.get_yaxis_transform(),
            va="center",
            fontsize=9,
        )
    label_bar_tops(ax, x, counts)
    ax.set_xticks(x, format_months(frame.index))
    ax.set_ylim(0, max(counts.max() if len(counts) else 0, minimum or 0, 1) * 1.25)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("线上活动场次（含线上+线下）")
    clean_axes(ax)
    present = [s for s in LIVESTREAM_COLORS if s in set(frame["状态"])]
    ax.legend(
        handles=[Patch(color=LIVESTREAM_COLORS[s], label=s) for s in present],
        loc="upper left",
        frameon=False,
        fontsize=9,
        ncols=len(present) or 1,
    )
    reached = int((frame["状态"] == "达标").sum())
    done = int((frame["状态"] != "进行中").sum())
    ax.set_title(
        f"每月直播（线上活动）场次：已结束的 {done} 个月中 {reached} 个月达标",
        loc="left",
        fontsize=13,
    )
    return mark_sample(fig, sample)
