"""The charts' shared look: figure factory, sizes, colours and axis/label helpers.

Figures are built with :class:`matplotlib.figure.Figure` directly, never through pyplot, so no
global figure state leaks, nothing is shown twice in a notebook and no backend is needed (saving
picks its renderer by file format). The CJK font is set up on the first figure, not at import.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from matplotlib.figure import Figure

from qyzj_analytics.reporting.charts.figure import ChartFigure
from qyzj_analytics.reporting.charts.fonts import setup_fonts

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
SAMPLE_MARK = "示例数据"  # drawn into every chart made from the generated sample
SAMPLE_MARK_ID = "qyzj-sample-mark"  # the mark's group id in the SVG
SAMPLE_MARK_COLOR = "#c00000"
SAMPLE_STRIP_IN = 0.32  # the strip (inches) a constrained chart grows by to hold the mark


def make_figure(height: float, width: float = WIDTH_IN) -> Figure:
    """A new constrained-layout figure (inches), with the CJK font set up; a
    :class:`~.figure.ChartFigure`, which reads each font's heights once.

    Args:
        height: figure height in inches.
        width: figure width in inches.
    """
    setup_fonts()
    return ChartFigure(figsize=(width, height), dpi=100, layout="constrained")


def mark_sample(fig: Figure, sample: bool) -> Figure:
    """Draw 示例数据 at the figure's top right when ``sample`` (else leave the figure alone).

    The mark is red text on a white box in a strip of its own, clear of bars, numbers, titles
    and legends: a constrained-layout figure is made :data:`SAMPLE_STRIP_IN` taller and its
    layout kept below the strip; a fixed-layout one (the burn-ups) has it in its top margin,
    right of the left-aligned title. In SVG the text is a path in a group with id
    :data:`SAMPLE_MARK_ID`, so a sample chart pasted anywhere still says it is not real.
    """
    if not sample:
        return fig
    engine = fig.get_layout_engine()
    height = fig.get_figheight()
    if engine is not None:  # constrained: grow the figure and keep the layout below the strip
        fig.set_figheight(height + SAMPLE_STRIP_IN)
        engine.set(rect=(0, 0, 1, height / (height + SAMPLE_STRIP_IN)))
        height += SAMPLE_STRIP_IN
    fig.text(
        0.995,
        1 - 0.03 / height,
        SAMPLE_MARK,
        ha="right",
        va="top",
        fontsize=11,
        fontweight="bold",
        color=SAMPLE_MARK_COLOR,
        gid=SAMPLE_MARK_ID,
        bbox={"boxstyle": "square,pad=0.2", "facecolor": "white", "edgecolor": SAMPLE_MARK_COLOR},
    )
    return fig


def label_bar_tops(ax: Any, x: Iterable[float], tops: Iterable[float]) -> None:
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


def format_months(months: Iterable[str]) -> list[str]:
    """``2025-01`` → ``1月`` (``2025年1月`` when the months span several years).

    >>> format_months(["2025-01", "2025-12"]), format_months(["2025-12", "2026-01"])
    (['1月', '12月'], ['2025年12月', '2026年1月'])
    """
    months = list(months)
    years = {m[:4] for m in months}
    if len(years) <= 1:
        return [f"{int(m[5:7])}月" for m in months]
    return [f"{m[:4]}年{int(m[5:7])}月" for m in months]


def format_thousands(value: float, _pos: Any = None) -> str:
    """A tick label with thousands separators (a :class:`~matplotlib.ticker.FuncFormatter`).

    >>> format_thousands(12345.6)
    '12,346'
    """
    return f"{value:,.0f}"


def clean_axes(ax: Axes, grid_axis: str = "y") -> None:
    """Hide the top and right spines and draw a light grid behind the data."""
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis=grid_axis, color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
