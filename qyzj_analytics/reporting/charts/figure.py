"""The charts' Figure: the CJK font's height metrics read once per font, not once per text.

To lay out a text, matplotlib (3.11, ``Text._get_layout``) looks up its font and reads the
font's ``OS/2`` and ``head`` tables — for every text, every time it is measured or drawn: about
6,000 reads per report (≈ 0.1 ms each) for a handful of fonts. It first asks the renderer for
``_get_font_height_metrics(prop)`` (the PDF and PostScript renderers answer it); a
:class:`ChartFigure` gives each renderer it draws with that method, answering from a per-font
cache with exactly the numbers the table reads would give (same lookups, same arithmetic), so
every pixel and coordinate stays the same. The hook is matplotlib's own (marked temporary there):
``tests/test_charts_fonts_cache.py`` fails when ``Text._get_layout`` stops calling it or changes
what it computes.
"""

from __future__ import annotations

import functools
import weakref
from typing import Any

from matplotlib.figure import Figure

HOOK = "_get_font_height_metrics"  # what Text._get_layout asks the renderer for
TABLES = (  # as Text._get_layout reads them: the first table the font has wins
    ("OS/2", "sTypoLineGap", "sTypoAscender", "sTypoDescender"),
    ("hhea", "lineGap", "ascent", "descent"),
)


@functools.lru_cache(maxsize=64)
def read_font_heights(paths: tuple[Any, ...]) -> tuple[float, float, float, float] | None:
    """(line gap, ascent, descent, units per em) of the first font of ``paths`` (what
    ``font_manager.get_font`` makes of them), in font units; None when it has neither table."""
    from matplotlib.font_manager import get_font

    font = get_font(list(paths))
    for table_name, gap_key, ascent_key, descent_key in TABLES:
        table = font.get_sfnt_table(table_name)
        if table is None:
            continue
        units_per_em = font.get_sfnt_table("head")["unitsPerEm"]
        return table[gap_key], table[ascent_key], table[descent_key], units_per_em
    return None


class FontHeights:
    """A renderer's ``_get_font_height_metrics``: the font's ascent, descent and line gap at the
    figure's current dpi, from :func:`read_font_heights`."""

    def __init__(self, fig: Figure) -> None:
        self._fig = weakref.ref(fig)

    def __call__(self, prop: Any) -> tuple[float | None, float | None, float | None]:
        from matplotlib.font_manager import fontManager

        fig = self._fig()
        heights = read_font_heights(tuple(fontManager._find_fonts_by_props(prop)))
        if fig is None or heights is None:
            return None, None, None  # matplotlib measures the text itself
        gap, ascent, descent, units_per_em = heights
        fontsize = prop.get_size_in_points()
        scale = 1 / units_per_em * fontsize * fig.dpi / 72  # Text._get_layout's expression
        return ascent * scale, -descent * scale, gap * scale


class ChartFigure(Figure):
    """A :class:`~matplotlib.figure.Figure` whose renderers know its fonts' heights
    (:class:`FontHeights`), so texts are laid out without re-reading font tables."""

    def draw(self, renderer: Any) -> None:
        """Draw as :meth:`Figure.draw`, with :class:`FontHeights` on ``renderer`` unless it has
        its own (PDF, PostScript)."""
        if not hasattr(renderer, HOOK):
            setattr(renderer, HOOK, FontHeights(self))
        super().draw(renderer)
