"""KPI charts: attainment bars, one KPI's burn-up, the burn-up grid, and one file per burn-up
(cut from the grid, :mod:`.views`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from qyzj_analytics.formats import format_attainment, format_quantity
from qyzj_analytics.reporting.charts.render import render_rgba, svg_text
from qyzj_analytics.reporting.charts.style import (
    ACTUAL_COLOR,
    ATTAINMENT_CAP,
    BAND_COLOR,
    BURNUP_WIDTH_IN,
    PACE_COLOR,
    clean_axes,
    format_months,
    format_thousands,
    make_figure,
    mark_sample,
)
from qyzj_analytics.reporting.charts.views import (
    attach_agg_canvas,
    label_panel,
    save_burnup_views,
)
from qyzj_analytics.reporting.styles import STATUS_BY_ZH, STATUS_COLORS
from qyzj_analytics.scoring.assessment import STATUS_ZH

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def plot_kpi_attainment(
    kpi_table: pd.DataFrame, as_of: Any = None, *, sample: bool = False
) -> Figure:
    """Horizontal bars of each KPI's attainment of its annual target, coloured by pace status.

    A black tick marks where the KPI should stand today (应达进度); the dashed line is the annual
    target (100 %). A KPI whose export is missing (缺少导出) has no bar, only a grey label.

    Args:
        kpi_table: :func:`qyzj_analytics.metrics.kpi_table`.
        as_of: the assessment date, shown in the title.
        sample: the data is the generated sample: the chart carries 示例数据.
    """
    table = kpi_table.iloc[::-1]
    n = len(table)
    fig = make_figure(max(3.0, 0.42 * n + 1.4))
    ax = fig.add_subplot()
    y = np.arange(n)
    shown = np.nan_to_num(np.minimum(table["完成率"].to_numpy(float), ATTAINMENT_CAP))
    colors = [STATUS_COLORS[STATUS_BY_ZH[s]] for s in table["状态"]]
    missing = (table["状态"] == STATUS_ZH["missing"]).to_numpy()
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
        if row["状态"] == STATUS_ZH["missing"]:
            ax.text(
                label_x, yi, row["状态"], va="center", fontsize=9, color=STATUS_COLORS["missing"]
            )
            continue
        text = (
            f"{format_attainment(row['完成率'])}  ({format_quantity(row['实际'], row['单位'])}"
            f" / {format_quantity(row['目标'], row['单位'])})"
        )
        ax.text(label_x, yi, text, va="center", fontsize=9)
    ax.set_yticks(y, table["指标"])
    ax.set_xlim(0, ATTAINMENT_CAP + 0.5)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xticks(np.arange(0, ATTAINMENT_CAP + 0.01, 0.25))
    ax.set_xlabel(
        f"年度目标完成率（超过 {ATTAINMENT_CAP:.0%} 的截断显示；右侧为 完成率（实际 / 目标））"
    )
    clean_axes(ax, "x")
    statuses = [s for s in STATUS_COLORS if s != "missing" or missing.any()]
    handles = [Patch(color=STATUS_COLORS[s], label=STATUS_ZH[s]) for s in statuses]
    handles.append(
        Line2D([], [], marker="|", linestyle="none", color="black", markersize=12, mew=2.4)
    )
    labels = [*(STATUS_ZH[s] for s in statuses), "截至日应达到的进度"]
    fig.legend(
        handles, labels, loc="outside lower center", ncols=len(labels), frameon=False, fontsize=9
    )
    when = f"（截至 {as_of}）" if as_of else ""
    ax.set_title(f"各项指标完成情况{when}", loc="left", fontsize=13)
    return mark_sample(fig, sample)


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
    ax.yaxis.set_major_formatter(FuncFormatter(format_thousands))
    months = pd.date_range(dates.min(), dates.max(), freq="MS")
    step = 3 if compact else 1
    ax.set_xticks(months[::step], format_months(m.strftime("%Y-%m") for m in months[::step]))
    ax.set_xlim(dates.min(), dates.max())
    clean_axes(ax)


def plot_burnup(
    burnup: pd.DataFrame,
    name: str,
    target: float,
    unit: str = "",
    as_of: Any = None,
    band: pd.DataFrame | None = None,
    *,
    sample: bool = False,
) -> Figure:
    """Burn-up of one count KPI: cumulative actual by day against the even pace to the target.

    Args:
        burnup: :func:`qyzj_analytics.metrics.cumulative_by_day` (date, cumulative, pace).
        name: the KPI's Chinese name.
        target: the annual target (dotted line).
        unit: the KPI's unit, for the axis label.
        as_of: the assessment date (vertical line).
        band: optional forecast from as_of to year end (date, p10, p50, p90).
        sample: the data is the generated sample: the chart carries 示例数据.
    """
    fig = make_figure(3.4, width=BURNUP_WIDTH_IN)
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
    return mark_sample(fig, sample)


def plot_burnup_grid(
    burnups: pd.DataFrame,
    kpi_table: pd.DataFrame,
    as_of: Any = None,
    bands: pd.DataFrame | None = None,
    columns: int = 3,
    *,
    sample: bool = False,
) -> Figure:
    """Small multiples: one burn-up per count KPI (``burnups`` is the long frame of
    :func:`qyzj_analytics.metrics.build_burnups`; ``bands`` the forecast frame with a ``kpi_id``
    column, optional). KPIs whose export is missing have no burn-up; with none left the figure
    says so. ``sample``: the data is the generated sample: the chart carries 示例数据."""
    ids = list(dict.fromkeys(burnups["kpi_id"]))
    when = f"（截至 {as_of}）" if as_of else ""
    if not ids:
        fig = make_figure(2.0)
        fig.text(0.5, 0.5, "没有可绘制的计数类指标（相关导出缺失）", ha="center", va="center")
        fig.suptitle(f"计数类指标累计进度{when}", x=0.01, ha="left", fontsize=13)
        return mark_sample(fig, sample)
    rows = -(-len(ids) // columns)
    height = 2.6 * rows + 0.9
    fig = make_figure(height)
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
        label_panel(ax, kpi_id)
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
        if status == "missing":  # missing KPIs have no burn-up
            continue
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
    fig.suptitle(
        f"计数类指标累计进度{when}", x=0.01, y=1 - 0.08 / height, ha="left", va="top", fontsize=13
    )
    return mark_sample(fig, sample)


def save_burnup_charts(
    burnups: pd.DataFrame,
    kpi_table: pd.DataFrame,
    out_dir: Path | str,
    as_of: Any = None,
    bands: pd.DataFrame | None = None,
    *,
    sample: bool = False,
) -> list[Path]:
    """Save one burn-up chart per KPI of ``burnups`` as ``burnup_<kpi_id>`` (PNG + SVG), each
    its panel of :func:`plot_burnup_grid` (:mod:`.views`), marked 示例数据 when ``sample``.

    A report renders the grid anyway and cuts the files from that render
    (:func:`.views.display_burnup_grid`); this renders the grid for them alone.
    """
    grid = plot_burnup_grid(burnups, kpi_table, as_of, bands, sample=sample)
    attach_agg_canvas(grid)
    pixels = render_rgba(grid)
    if pixels is None:
        raise RuntimeError("燃尽图渲染失败")
    return save_burnup_views(grid, pixels, svg_text(grid), out_dir)
