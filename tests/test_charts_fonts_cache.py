"""Issue 16 item 1 (SVG cost): chart figures read each font's height tables once
(qyzj_analytics.reporting.charts.figure) and draw exactly what a plain Figure draws. The hook is
matplotlib's own, marked temporary: these tests fail when matplotlib changes it."""

from __future__ import annotations

import inspect
import re

import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text
from test_charts import CHARTS, small  # noqa: F401  (small: the fixture CHARTS draws from)

from qyzj_analytics.reporting.charts import figure
from qyzj_analytics.reporting.charts.render import render_png, svg_text


def _normalised(svg: str) -> str:
    """The SVG without its date and with its random clip-path and marker ids numbered."""
    svg = re.sub(r"<dc:date>[^<]*</dc:date>", "", svg)
    ids: dict[str, str] = {}
    return re.sub(r"\b[pm][0-9a-f]{10}\b", lambda m: ids.setdefault(m[0], f"id{len(ids)}"), svg)


def test_matplotlib_still_asks_the_renderer_and_reads_the_same_tables() -> None:
    """What FontHeights mirrors: if this fails, matplotlib changed Text._get_layout — check
    figure.py against the new code (or drop ChartFigure)."""
    source = inspect.getsource(Text._get_layout)
    assert f"hasattr(renderer, '{figure.HOOK}')" in source
    assert f"renderer.{figure.HOOK}(" in source
    for table in figure.TABLES:
        assert repr(table) in source
    assert "font.get_sfnt_table('head')['unitsPerEm']" in source
    assert "scale = 1 / units_per_em * fontsize * dpi / 72" in source
    assert "min_descent = -table[descent_key] * scale" in source
    assert "get_font(fontManager._find_fonts_by_props(self._fontproperties))" in source


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_charts_draw_the_same_with_and_without_the_cache(
    name: str,
    small: dict,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cached = CHARTS[name](small)
    assert isinstance(cached, figure.ChartFigure)
    png, svg = render_png(cached), svg_text(cached)
    monkeypatch.setattr(figure.ChartFigure, "draw", Figure.draw)  # a plain Figure's drawing
    plain = CHARTS[name](small)
    assert png == render_png(plain)
    assert _normalised(svg) == _normalised(svg_text(plain))


def test_the_tables_are_read_once_per_font(small: dict) -> None:  # noqa: F811
    figure.read_font_heights.cache_clear()
    render_png(CHARTS["kpi_attainment"](small))
    info = figure.read_font_heights.cache_info()
    assert info.misses <= 3  # the CJK font, perhaps a bold face or the fallback
    assert info.hits > 50  # every other text was laid out from the cache
