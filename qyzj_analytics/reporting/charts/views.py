"""One file per burn-up panel, cut from the burn-up grid instead of drawn again (issue 16).

The grid (:func:`.kpi.plot_burnup_grid`) is rendered once, as PNG pixels and as SVG. Each
count KPI's ``burnup_<kpi_id>`` file is its panel of that render — title, axes, tick labels and
status badge — with a key column on its right, drawn once for all panels: the 示例数据 mark on
the sample, the grid's title with the as-of date, and the legend. In the PNG the panel is the
grid's own pixels; in the SVG it is the grid's drawing, shown through a ``viewBox`` and clipped
to the panel, with the key's drawing beside it. So the files read on their own and cost a crop
and a copy, not nine more figures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from qyzj_analytics.reporting.charts.render import encode_png, render_rgba, save_chart, svg_text
from qyzj_analytics.reporting.charts.style import DPI, SAMPLE_MARK_ID, make_figure, mark_sample

if TYPE_CHECKING:
    from matplotlib.backend_bases import RendererBase
    from matplotlib.backends.backend_agg import FigureCanvasAgg

PANEL_PREFIX = "burnup_"  # a grid panel's axes label: PANEL_PREFIX + kpi_id
KEY_WIDTH_IN = 1.5  # the key column beside each panel
PAD_IN = 0.06  # white space kept around a panel's titles and tick labels
SVG_UNITS_PER_IN = 72  # matplotlib writes SVG in points


@dataclass(frozen=True)
class PanelBox:
    """A panel's cell in the grid's pixels at :data:`DPI` (origin top left, right/bottom
    exclusive)."""

    kpi_id: str
    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        """Width in pixels."""
        return self.right - self.left

    @property
    def height(self) -> int:
        """Height in pixels."""
        return self.bottom - self.top


def label_panel(ax: Axes, kpi_id: str) -> None:
    """Tag a grid panel with its KPI, so its file can be cut from the grid."""
    ax.set_label(PANEL_PREFIX + kpi_id)


def attach_agg_canvas(fig: Figure) -> FigureCanvasAgg:
    """Give ``fig`` an Agg canvas of its own (kept), so the renderer that drew its PNG — and
    the text sizes it measured — can be asked for panel boxes afterwards."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    return fig.canvas


def find_panel_boxes(fig: Figure, dpi: int = DPI) -> list[PanelBox]:
    """Each labelled panel's cell: its axes with title, tick labels and badge, padded by
    :data:`PAD_IN` but never reaching a neighbouring panel. Call after the figure was drawn."""
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.get_label().startswith(PANEL_PREFIX)]
    if not panels:
        return []
    width, height = int(fig.get_figwidth() * dpi), int(fig.get_figheight() * dpi)
    saved = fig.dpi
    fig.set_dpi(dpi)
    try:
        # the renderer of the last draw at this dpi when the figure has its own Agg canvas
        # (attach_agg_canvas): its text measurements are cached
        renderer = attach_agg_canvas(fig).get_renderer()
        tight = {ax: _panel_extent(ax, renderer) for ax in panels}
    finally:
        fig.set_dpi(saved)
    columns: dict[int, list[float]] = {}
    rows: dict[int, list[float]] = {}
    for ax, box in tight.items():
        spec = ax.get_subplotspec()
        col, row = spec.colspan.start, spec.rowspan.start
        x0, x1 = columns.get(col, [box.x0, box.x1])
        columns[col] = [min(x0, box.x0), max(x1, box.x1)]
        top, bottom = height - box.y1, height - box.y0  # rows counted from the top
        y0, y1 = rows.get(row, [top, bottom])
        rows[row] = [min(y0, top), max(y1, bottom)]
    pad = PAD_IN * dpi
    cut_x = _cuts(columns, width, pad)
    cut_y = _cuts(rows, height, pad)
    boxes = []
    for ax in panels:
        spec = ax.get_subplotspec()
        (left, right), (top, bottom) = cut_x[spec.colspan.start], cut_y[spec.rowspan.start]
        boxes.append(PanelBox(ax.get_label()[len(PANEL_PREFIX) :], left, top, right, bottom))
    return boxes


def _panel_extent(ax: Axes, renderer: RendererBase) -> Bbox:
    """The axes with its title, its drawn tick labels and its texts (the status badge), in
    display pixels: what :meth:`Axes.get_tightbbox` finds for these panels, at a fraction of
    its cost (it re-lays out ticks and titles)."""
    texts = [child for child in ax.get_children() if isinstance(child, Text)]  # titles, badge
    for axis, limits in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        low, high = sorted(limits)
        slack = (high - low) * 1e-9
        texts += [
            tick.label1
            for tick, loc in zip(axis.get_major_ticks(), axis.get_majorticklocs(), strict=False)
            if low - slack <= loc <= high + slack
        ]
    boxes = [ax.bbox]
    boxes += [t.get_window_extent(renderer) for t in texts if t.get_visible() and t.get_text()]
    return Bbox.union(boxes)


def _cuts(spans: dict[int, list[float]], limit: int, pad: float) -> dict[int, tuple[int, int]]:
    """Padded pixel ranges of spans ordered along one axis, each stopping short of the next."""
    order = sorted(spans)
    cuts = {}
    for i, key in enumerate(order):
        start, end = spans[key]
        low = spans[order[i - 1]][1] if i else 0.0
        high = spans[order[i + 1]][0] if i + 1 < len(order) else float(limit)
        cuts[key] = (
            int(max(np.floor(start - pad), np.ceil(low), 0)),
            int(min(np.ceil(end + pad), np.floor(high), limit)),
        )
    return cuts


def plot_burnup_key(grid: Figure, height_in: float) -> Figure:
    """The key column shared by every panel file: the 示例数据 mark when the grid has one,
    the grid's title (its as-of date on a line of its own) and the first panel's legend."""
    fig = make_figure(height_in, width=KEY_WIDTH_IN)
    fig.set_layout_engine(None)
    title = grid.get_suptitle()
    heading = title.replace("（", "\n").replace("）", "")
    fig.text(0.08, 1 - 0.42 / height_in, heading, ha="left", va="top", fontsize=9, linespacing=1.5)
    panels = [ax for ax in grid.axes if ax.get_label().startswith(PANEL_PREFIX)]
    if panels:
        handles, labels = panels[0].get_legend_handles_labels()
        fig.legend(
            handles,
            labels,
            loc="lower left",
            bbox_to_anchor=(0.02, 0.04),
            ncols=1,
            frameon=False,
            fontsize=9,
        )
    sample = any(t.get_gid() == SAMPLE_MARK_ID for t in grid.texts)
    return mark_sample(fig, sample)


def save_burnup_views(
    grid: Figure, pixels: np.ndarray, svg: str, out_dir: Path | str, dpi: int = DPI
) -> list[Path]:
    """Write ``burnup_<kpi_id>.png`` and ``.svg`` for each panel of ``grid``, already rendered
    as ``pixels`` (:func:`.render.render_rgba`) and ``svg`` (its SVG text)."""
    boxes = find_panel_boxes(grid, dpi)
    if not boxes:
        return []
    height = max(box.height for box in boxes)
    key = plot_burnup_key(grid, height / dpi)
    key_pixels = render_rgba(key, dpi)
    if key_pixels is None:
        raise RuntimeError("图例栏渲染失败")
    key_pixels = _fit_rows(key_pixels, height)
    key_svg = _svg_body(svg_text(key), prefix="key-")
    grid_svg = svg.replace(f'id="{SAMPLE_MARK_ID}"', f'id="grid-{SAMPLE_MARK_ID}"')
    grid_root, grid_body = _svg_root(grid_svg), _svg_body(grid_svg)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for box in boxes:
        panel = _fit_rows(pixels[box.top : box.bottom, box.left : box.right], height)
        png_path, svg_path = out / f"burnup_{box.kpi_id}.png", out / f"burnup_{box.kpi_id}.svg"
        png_path.write_bytes(encode_png(np.concatenate([panel, key_pixels], axis=1), dpi))
        svg_path.write_text(
            _svg_view(grid_root, grid_body, box, height, key_svg, key_pixels.shape[1], dpi),
            encoding="utf-8",
        )
        written += [png_path, svg_path]
    return written


def _fit_rows(pixels: np.ndarray, height: int) -> np.ndarray:
    """``pixels`` cut or padded with white rows at the bottom to ``height`` rows."""
    if len(pixels) >= height:
        return pixels[:height]
    white = np.full((height - len(pixels), *pixels.shape[1:]), 255, np.uint8)
    return np.concatenate([pixels, white])


_ROOT = re.compile(r"<svg\b[^>]*>")
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)


def _svg_body(svg: str, prefix: str = "") -> str:
    """What is inside the root ``<svg>`` element, without metadata; with ``prefix`` every id
    and reference to one is prefixed (so two drawings can share a file), except the mark's."""
    root = _ROOT.search(svg)
    if root is None:
        raise ValueError("不是 SVG")
    body = _METADATA.sub("", svg[root.end() : svg.rindex("</svg>")])
    if prefix:
        body = re.sub(r'\bid="', f'id="{prefix}', body)
        body = body.replace("url(#", f"url(#{prefix}").replace('href="#', f'href="#{prefix}')
        body = body.replace(f'id="{prefix}{SAMPLE_MARK_ID}"', f'id="{SAMPLE_MARK_ID}"')
    return body


def _svg_root(svg: str) -> str:
    """Everything up to and including the root ``<svg …>`` tag."""
    root = _ROOT.search(svg)
    if root is None:
        raise ValueError("不是 SVG")
    return svg[: root.end()]


def _svg_view(
    root: str, body: str, box: PanelBox, height: int, key: str, key_width: int, dpi: int
) -> str:
    """The grid's SVG (``root`` tag and ``body``) showing only ``box``, clipped, with the key's
    drawing at its right."""
    scale = SVG_UNITS_PER_IN / dpi
    x, y = box.left * scale, box.top * scale
    w, h = box.width * scale, height * scale
    total = (box.width + key_width) * scale
    for name, value in (
        ("width", f"{total:.2f}pt"),
        ("height", f"{h:.2f}pt"),
        ("viewBox", f"{x:.2f} {y:.2f} {total:.2f} {h:.2f}"),
    ):
        root = re.sub(rf'(<svg\b[^>]*?\b){name}="[^"]*"', rf'\g<1>{name}="{value}"', root)
    return (
        f"{root}\n"
        f' <defs><clipPath id="panel-view"><rect x="{x:.2f}" y="{y:.2f}" width="{w:.2f}"'
        f' height="{h:.2f}"/></clipPath></defs>\n'
        f' <g clip-path="url(#panel-view)">{body} </g>\n'
        f' <g transform="translate({x + w:.2f} {y:.2f})">{key} </g>\n'
        "</svg>\n"
    )


def display_burnup_grid(grid: Figure, out_dir: str | Path = "", name: str = "burnup_all") -> None:
    """Show the burn-up grid inline (as :func:`.render.display_chart`) and, with ``out_dir``,
    save it as ``<name>`` plus one ``burnup_<kpi_id>`` file per panel, all from one render."""
    from IPython.display import Image, display

    attach_agg_canvas(grid)
    pixels = render_rgba(grid)
    if pixels is None:
        raise RuntimeError("燃尽图渲染失败")
    png = encode_png(pixels, DPI)
    if out_dir:
        _, svg_path = save_chart(grid, name, out_dir, png=png)
        save_burnup_views(grid, pixels, svg_path.read_text(encoding="utf-8"), out_dir)
    display(Image(data=png, format="png", width=int(grid.get_figwidth() * 90)))
