"""Chart output: PNG bytes, PNG + SVG files, and inline display in a notebook.

No backend is selected anywhere: :meth:`Figure.savefig` picks its renderer by file format, and a
notebook is shown the rendered PNG through :mod:`IPython.display`.

Each chart is laid out once: the PNG render runs the figure's layout engine (constrained layout
measures every text), then the figure keeps those positions (:func:`freeze_layout`), so its SVG
is one more draw, not a second layout.
"""

from __future__ import annotations

import io
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine

from qyzj_analytics.reporting.charts.style import DPI

# zlib level 1 instead of Pillow's 6: the same pixels, about 2× faster to encode, ≈ 15 % larger
PNG_OPTIONS = {"compress_level": 1}


def save_chart(fig: Figure, name: str, out_dir: Path | str, png: bytes | None = None) -> list[Path]:
    """Write ``<name>.png`` (200 dpi) and ``<name>.svg`` into ``out_dir``; returns both paths.

    ``png`` reuses bytes already rendered by :func:`render_png` instead of rendering again.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{name}.png", out / f"{name}.svg"]
    paths[0].write_bytes(png if png is not None else render_png(fig))
    freeze_layout(fig)
    fig.savefig(paths[1], facecolor="white")
    return paths


def render_png(fig: Figure, dpi: int = DPI) -> bytes:
    """The figure as PNG bytes; the figure keeps the layout of this render
    (:func:`freeze_layout`)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white", pil_kwargs=dict(PNG_OPTIONS))
    freeze_layout(fig)
    return buffer.getvalue()


def freeze_layout(fig: Figure) -> Figure:
    """Keep the positions the layout engine last computed and stop recomputing them.

    Constrained layout runs at every save (a draw to measure, then the real draw); once a figure
    has been drawn its axes hold their laid-out positions, which are fractions of the figure and
    so serve any dpi and format. Call it after a draw (a save), never before.
    """
    if isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine):
        fig.set_layout_engine("none")
    return fig


def display_chart(fig: Figure, name: str = "", out_dir: str | Path = "") -> None:
    """Show ``fig`` inline in a notebook (PNG, 900 px wide) and, with ``out_dir``, save it."""
    from IPython.display import Image, display

    png = render_png(fig)  # rendered once: shown inline and, with out_dir, saved
    if out_dir and name:
        save_chart(fig, name, out_dir, png=png)
    width_px = int(fig.get_figwidth() * 90)
    display(Image(data=png, format="png", width=width_px))
