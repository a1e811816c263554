"""Charts for the notebooks and the report: one function per chart, each returning a Figure.

Every function takes library results (frames from :mod:`qyzj_analytics.reporting.metrics`, forecast frames)
and draws one message with Chinese titles and labels. Figures are built with
:class:`matplotlib.figure.Figure` directly, never through pyplot, so no global figure state leaks
and nothing is shown twice in a notebook; use :func:`display_chart` there and :func:`save_chart`
to export PNG (200 dpi) and SVG. Only aggregates are drawn: no person's name, phone, ID or appeal
text.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from qyzj_analytics.forecast.settings import quantiles
from qyzj_analytics.formats import format_quantity, format_share
from qyzj_analytics.reporting.charts.fonts import setup_fonts
from qyzj_analytics.reporting.events import VENN_REGIONS, VENN_SETS
from qyzj_analytics.reporting.styles import STATUS_BY_ZH, STATUS_COLORS
from qyzj_analytics.scoring.assessment import STATUS_ZH

_IN_NOTEBOOK = "ipykernel" in sys.modules
if not _IN_NOTEBOOK and "matplotlib.pyplot" not in sys.modules and not os.environ.get("MPLBACKEND"):
    mpl.use("Agg")  # scripts, the CLI and tests: render off-screen


if TYPE_CHECKING:
    from matplotlib.axes import Axes

DPI = 200
WIDTH_IN = 10.0  # 2000 px at 200 dpi
BURNUP_WIDTH_IN = 5.0  # single burn-ups: 1000 px at 200 dpi (they are many; smaller is faster)
CATEGORY_COLORS = {
    "小微你好": "#4e79a7",
    "小微园": "#59a14f",
    "联盟": "#f28e2b",
    "政策": "#b07aa1",
    "其他": "#bab0ac",
}
FORMAT_COLORS = {
    "线下": "#4e79a7",
    "线上+线下": "#76b7b2",
    "线上": "#f28e2b",
    "形式不明": "#bab0ac",
}
LIVESTREAM_COLORS = {"达标": "#2e7d32", "未达标": "#c62828", "进行中": "#9e9e9e"}
GRADE_COLORS = {
    "excellent": "#2e7d32",
    "good": "#7cb342",
    "qualified": "#f2a900",
    "unqualified": "#c62828",
}
ACTUAL_COLOR = "#1f4e79"
PACE_COLOR = "#6d6d6d"
BAND_COLOR = "#9ecae1"
ATTAINMENT_CAP = 1.5  # bars beyond 150 % are cut and labelled with their value


def _new_figure(height: float, width: float = WIDTH_IN) -> Figure:
    setup_fonts()
    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _label_bar_tops(ax: Any, x: Iterable[float], tops: Iterable[float]) -> None:
    """Write each bar's total just above it (a fixed 2 points, whatever the axis scale)."""
    for xi, top in zip(x, tops, strict=True):
        ax.annotate(
            f"{top:.0f}",
            (xi, top),
            xytext=(0, 2),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=9,
        )


def _month_labels(months: Iterable[str]) -> list[str]:
    """``2025-01`` → ``1月`` (``2025年1月`` when the months span several years)."""
    months = list(months)
    years = {m[:4] for m in months}
    if len(years) <= 1:
        return [f"{int(m[5:7])}月" for m in months]
    return [f"{m[:4]}年{int(m[5:7])}月" for m in months]


def _thousands(value: float, _pos: Any = None) -> str:
    return f"{value:,.0f}"


def _clean_axes(ax: Axes, grid_axis: str = "y") -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis=grid_axis, color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)


# ----------------------------------------------------------------------------------------------
# KPI attainment and burn-up


def plot_kpi_attainment(kpi_table: pd.DataFrame, as_of: Any = None) -> Figure:
    """Horizontal bars of each KPI's attainment of its annual target, coloured by pace status.

    A black tick marks where the KPI should stand today (应达进度); the dashed line is the annual
    target (100 %).

    Args:
        kpi_table: :func:`qyzj_analytics.metrics.kpi_table`.
        as_of: the assessment date, shown in the title.
    """
    table = kpi_table.iloc[::-1]
    n = len(table)
    fig = _new_figure(max(3.0, 0.42 * n + 1.4))
    ax = fig.add_subplot()
    y = np.arange(n)
    shown = np.minimum(table["完成率"].to_numpy(float), ATTAINMENT_CAP)
    colors = [STATUS_COLORS[STATUS_BY_ZH[s]] for s in table["状态"]]
    ax.barh(y, shown, color=colors, height=0.62)
    ax.scatter(
        np.minimum(table["应达完成率"].to_numpy(float), ATTAINMENT_CAP),
        y,
        marker="|",
        s=260,
        linewidths=2.4,
        color="black",
        zorder=3,
    )
    ax.axvline(1.0, color=PACE_COLOR, linestyle="--", linewidth=1)
    label_x = ATTAINMENT_CAP + 0.04
    for yi, (_, row) in zip(y, table.iterrows(), strict=True):
        text = (
            f"{row['完成率']:.0%}  ({format_quantity(row['实际'], row['单位'])}"
            f" / {format_quantity(row['目标'], row['单位'])})"
        )
        ax.text(label_x, yi, text, va="center", fontsize=9)
    ax.set_yticks(y, table["指标"])
    ax.set_xlim(0, ATTAINMENT_CAP + 0.5)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xticks(np.arange(0, ATTAINMENT_CAP + 0.01, 0.25))
    ax.set_xlabel("年度目标完成率（超过 150% 的截断显示；右侧为 完成率（实际 / 目标））")
    _clean_axes(ax, "x")
    handles = [Patch(color=STATUS_COLORS[s], label=STATUS_ZH[s]) for s in STATUS_COLORS]
    handles.append(
        Line2D([], [], marker="|", linestyle="none", color="black", markersize=12, mew=2.4)
    )
    labels = [*STATUS_ZH.values(), "今天应达到的进度"]
    fig.legend(handles, labels, loc="outside lower center", ncols=4, frameon=False, fontsize=9)
    when = f"（截至 {as_of}）" if as_of else ""
    ax.set_title(f"各项指标完成情况{when}", loc="left", fontsize=13)
    return fig


def _draw_burnup(
    ax: Axes,
    burnup: pd.DataFrame,
    target: float,
    as_of: Any,
    band: pd.DataFrame | None,
    compact: bool = False,
) -> None:
    dates = pd.to_datetime(burnup["date"])
    ax.plot(
        dates, burnup["pace"], color=PACE_COLOR, linestyle="--", linewidth=1.2, label="目标进度"
    )
    ax.axhline(target, color=PACE_COLOR, linewidth=0.8, linestyle=":")
    if band is not None and len(band):
        band_dates = pd.to_datetime(band["date"])
        ax.fill_between(
            band_dates, band["p10"], band["p90"], color=BAND_COLOR, alpha=0.6, label="预测 P10–P90"
        )
        ax.plot(
            band_dates,
            band["p50"],
            color=ACTUAL_COLOR,
            linestyle=":",
            linewidth=1.5,
            label="预测 P50",
        )
    ax.step(
        dates, burnup["cumulative"], where="post", color=ACTUAL_COLOR, linewidth=2, label="累计实际"
    )
    if as_of is not None:
        ax.axvline(pd.Timestamp(as_of), color="#999999", linewidth=0.8)
    top = max(target, np.nanmax(burnup["cumulative"].to_numpy(float), initial=0.0))
    if band is not None and len(band):
        top = max(top, float(band["p90"].max()))
    ax.set_ylim(0, max(top, 1.0) * 1.1)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
    months = pd.date_range(dates.min(), dates.max(), freq="MS")
    step = 3 if compact else 1
    ax.set_xticks(months[::step], _month_labels(m.strftime("%Y-%m") for m in months[::step]))
    ax.set_xlim(dates.min(), dates.max())
    _clean_axes(ax)


def plot_burnup(
    burnup: pd.DataFrame,
    name: str,
    target: float,
    unit: str = "",
    as_of: Any = None,
    band: pd.DataFrame | None = None,
) -> Figure:
    """Burn-up of one count KPI: cumulative actual by day against the even pace to the target.

    Args:
        burnup: :func:`qyzj_analytics.metrics.cumulative_by_day` (date, cumulative, pace).
        name: the KPI's Chinese name.
        target: the annual target (dotted line).
        unit: the KPI's unit, for the axis label.
        as_of: the assessment date (vertical line).
        band: optional forecast from as_of to year end (date, p10, p50, p90).
    """
    fig = _new_figure(3.4, width=BURNUP_WIDTH_IN)
    # a fixed layout: this chart is drawn once per KPI and constrained layout's repeated text
    # measuring would cost more than the drawing itself
    fig.set_layout_engine(None)
    fig.subplots_adjust(left=0.15, right=0.97, top=0.84, bottom=0.09)
    ax = fig.add_subplot()
    _draw_burnup(ax, burnup, target, as_of, band)
    actual = burnup["cumulative"].dropna()
    now = f"截至 {as_of} 累计 {actual.iloc[-1]:,.0f}，" if len(actual) else ""
    ax.set_title(
        f"{name}：累计完成与目标进度\n{now}年度目标 {target:,.0f}", loc="left", fontsize=11
    )
    ax.set_ylabel(f"累计{unit}")
    ax.legend(loc="lower right", fontsize=9, frameon=False)
    return fig


def plot_burnup_grid(
    burnups: pd.DataFrame,
    kpi_table: pd.DataFrame,
    as_of: Any = None,
    bands: pd.DataFrame | None = None,
    columns: int = 3,
) -> Figure:
    """Small multiples: one burn-up per count KPI (``burnups`` is the long frame of
    :func:`qyzj_analytics.metrics.build_burnups`; ``bands`` the forecast frame with a ``kpi_id``
    column, optional)."""
    ids = list(dict.fromkeys(burnups["kpi_id"]))
    rows = -(-len(ids) // columns)
    height = 2.6 * rows + 0.9
    fig = _new_figure(height)
    # a fixed layout (in inches, so it holds for any number of rows): constrained layout would
    # measure every tick label of every panel several times, doubling the cost of this chart
    fig.set_layout_engine(None)
    fig.subplots_adjust(
        left=0.065,
        right=0.985,
        top=1 - 0.62 / height,
        bottom=0.62 / height,
        hspace=0.5,
        wspace=0.22,
    )
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax, kpi_id in zip(axes.flat, ids, strict=False):
        info = kpi_table.loc[kpi_id]
        frame = burnups.loc[burnups["kpi_id"] == kpi_id]
        band = bands.loc[bands["kpi_id"] == kpi_id] if bands is not None else None
        _draw_burnup(ax, frame, float(info["目标"]), as_of, band, compact=True)
        status = STATUS_BY_ZH[info["状态"]]
        ax.set_title(
            f"{info['指标']}  {format_quantity(info['实际'], info['单位'])}"
            f" / {info['目标']:,.0f} {info['单位']}",
            loc="left",
            fontsize=10,
        )
        ax.text(
            0.03,
            0.94,
            info["状态"],
            transform=ax.transAxes,
            va="top",
            fontsize=9,
            color="white",
            bbox={"boxstyle": "round,pad=0.3", "facecolor": STATUS_COLORS[status], "linewidth": 0},
        )
    for ax in axes.flat[len(ids) :]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    for status, zh in STATUS_ZH.items():
        handles.append(Patch(color=STATUS_COLORS[status]))
        labels.append(f"进度{zh}")
    fig.legend(
        handles,
        labels,
        loc="lower center",
        bbox_to_anchor=(0.5, 0.0),
        ncols=len(labels),
        frameon=False,
    )
    when = f"（截至 {as_of}）" if as_of else ""
    fig.suptitle(
        f"计数类指标累计进度{when}", x=0.01, y=1 - 0.08 / height, ha="left", va="top", fontsize=13
    )
    return fig


def save_burnup_charts(
    burnups: pd.DataFrame,
    kpi_table: pd.DataFrame,
    out_dir: Path | str,
    as_of: Any = None,
    bands: pd.DataFrame | None = None,
) -> list[Path]:
    """Save one burn-up chart per KPI of ``burnups`` as ``burnup_<kpi_id>`` (PNG + SVG)."""
    written: list[Path] = []
    for kpi_id in dict.fromkeys(burnups["kpi_id"]):
        info = kpi_table.loc[kpi_id]
        band = bands.loc[bands["kpi_id"] == kpi_id] if bands is not None else None
        fig = plot_burnup(
            burnups.loc[burnups["kpi_id"] == kpi_id],
            str(info["指标"]),
            float(info["目标"]),
            str(info["单位"]),
            as_of,
            band,
        )
        written += save_chart(fig, f"burnup_{kpi_id}", out_dir)
    return written


# ----------------------------------------------------------------------------------------------
# Forecast: score, grade, payment


def plot_score_distribution(
    scores: Sequence[float] | np.ndarray | pd.Series,
    grades: pd.DataFrame,
    current: float | None = None,
) -> Figure:
    """Histogram of the simulated year-end base score, with the grade thresholds.

    Args:
        scores: one base score per simulated year.
        grades: columns ``id``, ``档次`` and ``最低分`` (the forecast's grade table).
        current: today's base score (marked), optional.
    """
    values = np.asarray(scores, dtype=float)
    fig = _new_figure(4.4)
    ax = fig.add_subplot()
    ordered = sorted(
        zip(grades["id"], grades["档次"], grades["最低分"].astype(float), strict=True),
        key=lambda g: g[2],
    )
    low = min(np.floor(values.min()) - 2, min(g[2] for g in ordered if g[2] > 0) - 5)
    high = 100.5
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
            f"截至今日得分 {current:.1f}",
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
    _clean_axes(ax)
    p10, p50, p90 = quantiles(values)
    if p10 == p90:
        title = f"年终基础分：所有 {len(values):,} 次模拟都是 {p50:.1f} 分（已无不确定性）"
    else:
        title = (
            f"年终基础分分布（{len(values):,} 次模拟）：中位数 {p50:.1f}，"
            f"80% 的模拟在 {p10:.1f}–{p90:.1f} 之间"
        )
    ax.set_title(
        title,
        loc="left",
        fontsize=13,
        pad=20,
    )
    return fig


def plot_grade_probabilities(grades: pd.DataFrame) -> Figure:
    """Bars: the probability of each grade at year end.

    Args:
        grades: columns ``id`` (grade id), ``档次`` (Chinese name) and ``概率`` (0..1), in order.
    """
    fig = _new_figure(3.6, 7.0)
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
    _clean_axes(ax)
    best = grades.iloc[int(np.argmax(probs))]
    ax.set_title(
        f"年终考核档次概率：最可能为「{best['档次']}」（{format_share(best['概率'])}）",
        loc="left",
        fontsize=13,
    )
    return fig


def plot_payment_schedule(schedule: pd.DataFrame, full_subsidy: float | None = None) -> Figure:
    """Bars of the year's payments: three advances, then the subsidy with its P10–P90 range.

    Args:
        schedule: :func:`qyzj_analytics.metrics.payment_schedule`.
        full_subsidy: the full subsidy (dotted reference line), optional.
    """
    fig = _new_figure(4.2)
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
    ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.set_ylabel("金额（元）")
    _clean_axes(ax)
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
    return fig


# ----------------------------------------------------------------------------------------------
# Event mix


def _stacked_months(frame: pd.DataFrame, colors: dict[str, str], title: str, ylabel: str) -> Figure:
    fig = _new_figure(4.2)
    ax = fig.add_subplot()
    x = np.arange(len(frame))
    bottom = np.zeros(len(frame))
    for column in frame.columns:
        values = frame[column].to_numpy(float)
        ax.bar(
            x, values, bottom=bottom, color=colors.get(column, "#999999"), label=column, width=0.7
        )
        bottom += values
    _label_bar_tops(ax, x, bottom)
    ax.set_xticks(x, _month_labels(frame.index))
    ax.set_ylim(0, max(bottom.max(), 1) * 1.15)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(ylabel)
    _clean_axes(ax)
    fig.legend(loc="outside right upper", frameon=False, fontsize=9)
    ax.set_title(title, loc="left", fontsize=13)
    return fig


def plot_activities_by_category(frame: pd.DataFrame) -> Figure:
    """Monthly stacked bars of activities by category (each activity counted once).

    Args:
        frame: :func:`qyzj_analytics.metrics.activities_by_month_and_category`.
    """
    total = int(frame.to_numpy().sum())
    return _stacked_months(
        frame, CATEGORY_COLORS, f"每月活动场次（按类别，共 {total} 场）", "活动场次"
    )


def plot_online_offline(frame: pd.DataFrame) -> Figure:
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
    )


def plot_tag_overlap(counts: dict[str, int]) -> Figure:
    """Venn diagram of offline activities tagged 小微园 / 小微你好 / 联盟 (region sizes as labels;
    circles drawn equal, since areas of a few events would mislead).

    Args:
        counts: :func:`qyzj_analytics.metrics.tag_overlap_counts`.
    """
    from matplotlib_venn import venn3
    from matplotlib_venn.layout.venn3 import DefaultLayoutAlgorithm

    fig = _new_figure(5.2, 7.0)
    ax = fig.add_subplot()
    sizes = tuple(int(counts.get(r, 0)) for r in VENN_REGIONS)
    totals = [
        sum(n for r, n in zip(VENN_REGIONS, sizes, strict=True) if r[i] == "1") for i in range(3)
    ]
    labels = tuple(f"{name}\n（{t} 场）" for (_, name), t in zip(VENN_SETS, totals, strict=True))
    diagram = venn3(
        sizes,
        set_labels=labels,
        set_colors=(
            CATEGORY_COLORS["小微园"],
            CATEGORY_COLORS["小微你好"],
            CATEGORY_COLORS["联盟"],
        ),
        alpha=0.45,
        ax=ax,
        layout_algorithm=DefaultLayoutAlgorithm(fixed_subset_sizes=(1, 1, 1, 1, 1, 1, 1)),
    )
    for region in VENN_REGIONS:
        label = diagram.get_label_by_id(region)
        if label is not None:
            label.set_fontsize(13)
    for label in diagram.set_labels or []:
        if label is not None:
            label.set_fontsize(11)
    none = int(counts.get("000", 0)) if "000" in counts else None
    tail = f"；另有 {none} 场不属于三类" if none else ""
    ax.set_title(
        f"线下活动的标签交叉（同一场活动可同时计入多项指标{tail}）",
        loc="left",
        fontsize=12,
    )
    return fig


def plot_tag_upset(counts: dict[str, int]) -> Figure:
    """UpSet view of the same overlap: one bar per combination of 小微园 / 小微你好 / 联盟 (largest
    first) above a dot matrix showing which tags each bar combines.

    Args:
        counts: :func:`qyzj_analytics.metrics.tag_overlap_counts`.
    """
    combos = sorted(
        ((r, int(counts.get(r, 0))) for r in VENN_REGIONS if int(counts.get(r, 0)) > 0),
        key=lambda item: (-item[1], -item[0].count("1"), item[0]),
    )
    fig = _new_figure(4.6, 7.0)
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
    return fig


def plot_parks_covered(parks: pd.DataFrame) -> Figure:
    """Horizontal bars: offline park events per park (location).

    Args:
        parks: :func:`qyzj_analytics.metrics.parks_covered`.
    """
    n = max(len(parks), 1)
    fig = _new_figure(max(2.6, 0.38 * n + 1.3))
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
    _clean_axes(ax, "x")
    ax.set_title(
        f"进小微园活动覆盖的园区：{len(parks)} 个地点，共 {int(parks['场次'].sum())} 场",
        loc="left",
        fontsize=13,
    )
    return fig


def plot_livestreams(frame: pd.DataFrame) -> Figure:
    """Bars: online activities per month, coloured by whether the month met the monthly minimum.

    Args:
        frame: :func:`qyzj_analytics.metrics.livestreams_by_month`.
    """
    fig = _new_figure(4.0)
    ax = fig.add_subplot()
    x = np.arange(len(frame))
    counts = frame["线上场次"].to_numpy(float)
    colors = [LIVESTREAM_COLORS[s] for s in frame["状态"]]
    ax.bar(x, counts, color=colors, width=0.65)
    minimum = int(frame["最低要求"].iloc[0]) if len(frame) else 6
    ax.axhline(minimum, color="black", linestyle="--", linewidth=1.2)
    ax.text(
        1.0,
        minimum,
        f" 每月至少 {minimum} 场",
        transform=ax.get_yaxis_transform(),
        va="center",
        fontsize=9,
    )
    _label_bar_tops(ax, x, counts)
    ax.set_xticks(x, _month_labels(frame.index))
    ax.set_ylim(0, max(counts.max() if len(counts) else 0, minimum) * 1.25)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("线上活动场次（含线上+线下）")
    _clean_axes(ax)
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
    return fig


# ----------------------------------------------------------------------------------------------
# Output


def save_chart(fig: Figure, name: str, out_dir: Path | str, png: bytes | None = None) -> list[Path]:
    """Write ``<name>.png`` (200 dpi) and ``<name>.svg`` into ``out_dir``; returns both paths.

    ``png`` reuses bytes already rendered by :func:`render_png` instead of rendering again.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{name}.png", out / f"{name}.svg"]
    paths[0].write_bytes(png if png is not None else render_png(fig))
    fig.savefig(paths[1], facecolor="white")
    return paths


def render_png(fig: Figure, dpi: int = DPI) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()


def display_chart(fig: Figure, name: str = "", out_dir: str | Path = "") -> None:
    """Show ``fig`` inline in a notebook (PNG, 900 px wide) and, with ``out_dir``, save it."""
    from IPython.display import Image, display

    png = render_png(fig)  # rendered once: shown inline and, with out_dir, saved
    if out_dir and name:
        save_chart(fig, name, out_dir, png=png)
    width_px = int(fig.get_figwidth() * 90)
    display(Image(data=png, format="png", width=width_px))
