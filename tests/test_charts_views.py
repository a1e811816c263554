"""Issue 16 item 1: the per-KPI burn-up files are cut from the grid's one render
(qyzj_analytics.reporting.charts.views) and still read on their own: the panel's title, axes and
tick labels, the as-of date, the legend and, on the sample, 示例数据 — PNG ≥ 800 px at 200 dpi
and SVG."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from builders import CONTRACT, activity, context
from PIL import Image

from qyzj_analytics.reporting import charts, tables
from qyzj_analytics.reporting.charts import views
from qyzj_analytics.reporting.charts.render import render_rgba, svg_text
from qyzj_analytics.reporting.charts.style import DPI, SAMPLE_MARK, SAMPLE_MARK_ID
from qyzj_analytics.reporting.report.kernels import estimate_seconds
from qyzj_analytics.scoring.assessment import assess

AS_OF = dt.date(2025, 9, 30)


@pytest.fixture(scope="module")
def frames() -> dict:
    """A KPI table, its burn-ups and forecast-shaped bands on a handful of rows."""
    rows = [
        activity("“小微你好”走进柳市小微园", "2025-01-10", "线下"),
        activity("服务联盟年会", "2025-02-14", "线下"),
        activity("惠企政策直播", "2025-05-21", "直播"),
    ]
    ctx = context(
        AS_OF,
        activities=rows,
        services=[{"enterprise": "甲", "date": "2025-02-01"}] * 3,
        experts=[{"name": "甲", "appointed": None}],
    )
    table = tables.kpi_table(assess(ctx))
    burnups = tables.build_burnups(ctx)
    days = pd.date_range(AS_OF, CONTRACT.period_end, freq="D")
    t = np.linspace(0, 1, len(days))
    bands = pd.concat(
        [
            pd.DataFrame(
                {"kpi_id": k, "date": days, "p10": a + t, "p50": a + 3 * t, "p90": a + 9 * t}
            )
            for k, a in table.loc[tables.select_burnup_kpis(CONTRACT), "实际"].items()
        ]
    )
    return {"table": table, "burnups": burnups, "bands": bands}


def _grid(frames: dict, sample: bool = True):
    fig = charts.plot_burnup_grid(
        frames["burnups"], frames["table"], AS_OF, frames["bands"], sample=sample
    )
    views.attach_agg_canvas(fig)
    pixels = render_rgba(fig)
    assert pixels is not None
    return fig, pixels


def _tight_boxes(fig) -> dict[str, tuple[float, float, float, float]]:
    """matplotlib's own tight box of each panel, in pixels from the top left at DPI."""
    saved = fig.dpi
    fig.set_dpi(DPI)
    try:
        renderer = fig.canvas.get_renderer()
        height = fig.bbox.height
        boxes = {}
        for ax in fig.axes:
            if ax.get_visible() and ax.get_label().startswith(views.PANEL_PREFIX):
                b = ax.get_tightbbox(renderer)
                boxes[ax.get_label()[len(views.PANEL_PREFIX) :]] = (
                    b.x0,
                    height - b.y1,
                    b.x1,
                    height - b.y0,
                )
        return boxes
    finally:
        fig.set_dpi(saved)


def test_each_box_holds_its_whole_panel_and_nothing_of_another(frames: dict) -> None:
    fig, _ = _grid(frames)
    boxes = views.find_panel_boxes(fig)
    tight = _tight_boxes(fig)
    assert [b.kpi_id for b in boxes] == tables.select_burnup_kpis(CONTRACT)
    for box in boxes:
        x0, y0, x1, y1 = tight[box.kpi_id]
        # titles, tick labels, badge inside (a pixel of rounding)
        assert box.left <= x0 + 1 and box.top <= y0 + 1
        assert box.right >= x1 - 1 and box.bottom >= y1 - 1
        for other, (ox0, oy0, ox1, oy1) in tight.items():
            if other != box.kpi_id:  # no part of a neighbouring panel
                assert (
                    ox1 <= box.left + 1
                    or ox0 >= box.right - 1
                    or oy1 <= box.top + 1
                    or (oy0 >= box.bottom - 1)
                ), (box, other)


def test_views_are_the_grid_pixels_with_a_key_beside(frames: dict, tmp_path: Path) -> None:
    fig, pixels = _grid(frames)
    written = views.save_burnup_views(fig, pixels, svg_text(fig), tmp_path)
    ids = tables.select_burnup_kpis(CONTRACT)
    assert sorted(p.name for p in written) == sorted(
        f"burnup_{k}.{ext}" for k in ids for ext in ("png", "svg")
    )
    boxes = {b.kpi_id: b for b in views.find_panel_boxes(fig)}
    for kpi_id in ids:
        with Image.open(tmp_path / f"burnup_{kpi_id}.png") as image:
            assert image.width >= 800
            assert round(image.info["dpi"][0]) == DPI
            view = np.asarray(image.convert("RGBA"))
        box = boxes[kpi_id]
        panel = view[: box.height, : box.width]
        assert np.array_equal(panel, pixels[box.top : box.bottom, box.left : box.right])
        key = view[:, box.width :]
        assert key.shape[1] == round(views.KEY_WIDTH_IN * DPI)
        assert (key[..., :3] < 128).any()  # the legend and heading are drawn


def test_svg_view_shows_only_its_panel_and_the_key(frames: dict, tmp_path: Path) -> None:
    fig, pixels = _grid(frames)
    views.save_burnup_views(fig, pixels, svg_text(fig), tmp_path)
    box = next(b for b in views.find_panel_boxes(fig) if b.kpi_id == "offline_events")
    text = (tmp_path / "burnup_offline_events.svg").read_text(encoding="utf-8")
    root = ET.fromstring(text.encode("utf-8"))
    scale = 72 / DPI
    x, y, w, h = (float(v) for v in root.attrib["viewBox"].split())
    assert (x, y) == pytest.approx((box.left * scale, box.top * scale), abs=0.01)
    assert w == pytest.approx((box.width + views.KEY_WIDTH_IN * DPI) * scale, abs=0.01)
    assert h >= box.height * scale - 0.01
    ids = re.findall(r'\bid="([^"]+)"', text)
    assert len(ids) == len(set(ids))  # the grid's and the key's drawings do not clash
    assert ids.count(SAMPLE_MARK_ID) == 1  # the key's mark; the grid's is renamed
    assert "线下公益活动" in text and "截至 2025-09-30" in text
    clip = root.find("{http://www.w3.org/2000/svg}defs/{http://www.w3.org/2000/svg}clipPath")
    assert clip is not None and clip.attrib["id"] == "panel-view"


def test_real_data_views_carry_no_mark(frames: dict, tmp_path: Path) -> None:
    fig, pixels = _grid(frames, sample=False)
    written = views.save_burnup_views(fig, pixels, svg_text(fig), tmp_path)
    for path in written:
        if path.suffix == ".svg":
            assert SAMPLE_MARK not in path.read_text(encoding="utf-8")
        else:
            with Image.open(path) as image:
                rgb = np.asarray(image.convert("RGB"), dtype=int)
            red = (rgb[..., 0] > 150) & (rgb[..., 1] < 40) & (rgb[..., 2] < 40)
            assert not red.any()


def test_key_has_the_grid_title_date_and_legend(frames: dict) -> None:
    fig, _ = _grid(frames)
    key = views.plot_burnup_key(fig, 2.4)
    texts = [t.get_text() for t in key.texts]
    assert "计数类指标累计进度\n截至 2025-09-30" in texts
    assert SAMPLE_MARK in texts
    labels = [t.get_text() for t in key.legends[0].get_texts()]
    assert labels == ["目标进度", "预测 P10–P90", "预测 P50", "累计实际"]


def test_display_burnup_grid_renders_once_for_grid_and_views(
    frames: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    fig = charts.plot_burnup_grid(
        frames["burnups"], frames["table"], AS_OF, frames["bands"], sample=True
    )
    calls = []
    real = views.render_rgba
    monkeypatch.setattr(views, "render_rgba", lambda f, *a: calls.append(f) or real(f, *a))
    charts.display_burnup_grid(fig, tmp_path)
    assert [f for f in calls if f is fig] == [fig]  # the grid drawn once (the key is its own)
    names = {p.name for p in tmp_path.iterdir()}
    assert {"burnup_all.png", "burnup_all.svg"} <= names
    assert len(names) == 2 + 2 * len(tables.select_burnup_kpis(CONTRACT))
    assert shown[0].data == (tmp_path / "burnup_all.png").read_bytes()
    # the same picture display_chart shows for a fresh grid (the page does not change)
    again = charts.plot_burnup_grid(
        frames["burnups"], frames["table"], AS_OF, frames["bands"], sample=True
    )
    assert shown[0].data == charts.render_png(again)


def test_no_panels_no_files(frames: dict, tmp_path: Path) -> None:
    empty = frames["burnups"].iloc[:0]
    fig = charts.plot_burnup_grid(empty, frames["table"], AS_OF)
    pixels = render_rgba(fig)
    assert views.save_burnup_views(fig, pixels, svg_text(fig), tmp_path) == []


def test_notebook_estimate_counts_the_grid_as_several_charts(tmp_path: Path) -> None:
    one = tmp_path / "one.ipynb"
    one.write_text('"charts.display_chart(fig)"', encoding="utf-8")
    grid = tmp_path / "grid.ipynb"
    grid.write_text('"charts.display_burnup_grid(fig, charts_dir)"', encoding="utf-8")
    assert estimate_seconds(grid) > 2 * estimate_seconds(one)
