"""Chart output: PNG bytes, PNG + SVG files, and inline display in a notebook.

No backend is selected anywhere: :meth:`Figure.savefig` picks its renderer by file format, and a
notebook is shown the rendered PNG through :mod:`IPython.display`.
"""

from __future__ import annotations

import io
from pathlib import Path

from matplotlib.figure import Figure

from qyzj_analytics.reporting.charts.style import DPI


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
