"""Every chart draws on small data, exports a ≥ 800 px PNG at ≥ 200 dpi plus an SVG, and draws
Chinese text without a missing-glyph warning (qyzj_analytics.reporting.charts)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from builders import CONTRACT, activity, context
from matplotlib.figure import Figure
from PIL import Image

from qyzj_analytics.reporting import charts, events, payment, tables
from qyzj_analytics.reporting.charts import fonts
from qyzj_analytics.scoring.assessment import assess

AS_OF = dt.date(2025, 3, 31)
MAX_SCORE = float(sum(k.weight for k in CONTRACT.kpis))
GLYPH_WORDS = ("Glyph", "missing from font")


def _act(title: str, date: str, fmt: str | None, location: str | None = None) -> dict:
    return {**activity(title, date, fmt), "location": location}


@pytest.fixture(scope="module")
def small() -> dict:
    """Library results on a handful of rows, plus forecast-shaped frames."""
    rows = [
        _act("“小微你好”走进柳市小微园", "2025-01-10", "线下", "柳市小微园"),
        _act("服务联盟年会", "2025-02-14", "线下", "企业之家"),
        _act("进园服务", "2025-02-20", "现场", "白石小微企业园"),
        _act("惠企政策直播", "2025-02-21", "直播"),
        _act("线上线下结合沙龙", "2025-03-02", "线上+线下"),
        _act("企业座谈", "2025-03-06", None),
    ]
    ctx = context(
        AS_OF,
        activities=rows,
        services=[{"enterprise": "甲", "date": "2025-02-01"}],
        experts=[{"name": "甲", "appointed": None}],
    )
    table = tables.kpi_table(assess(ctx))
    burnups = tables.build_burnups(ctx)
    days = pd.date_range(AS_OF, CONTRACT.period_end, freq="D")
    t = np.linspace(0, 1, len(days))
    bands = pd.concat(
        [
            pd.DataFrame(
                {"kpi_id": k, "date": days, "p10": a + 2 * t, "p50": a + 4 * t, "p90": a + 7 * t}
            )
            for k, a in table.loc[tables.select_burnup_kpis(CONTRACT), "实际"].items()
        ]
    )
    grades = pd.DataFrame(
        {
            "id": [g.id for g in CONTRACT.grades],
            "档次": [g.name for g in CONTRACT.grades],
            "最低分": [g.min_score for g in CONTRACT.grades],
            "概率": [0.1, 0.6, 0.296, 0.004],
        }
    )
    scores = np.random.default_rng(1).normal(82, 5, 500).clip(0, 100)
    return {
        "ctx": ctx,
        "table": table,
        "burnups": burnups,
        "bands": bands,
        "grades": grades,
        "scores": scores,
        "schedule": payment.payment_schedule(CONTRACT, AS_OF, (120000.0, 140000.0, 168333.0)),
    }


def _one_burnup(s: dict) -> Figure:
    frame = s["burnups"].loc[s["burnups"]["kpi_id"] == "offline_events"]
    band = s["bands"].loc[s["bands"]["kpi_id"] == "offline_events"]
    return charts.plot_burnup(frame, "线下公益活动", 30, "场", AS_OF, band)


CHARTS: dict[str, Callable[[dict], Figure]] = {
    "kpi_attainment": lambda s: charts.plot_kpi_attainment(s["table"], AS_OF),
    "burnup": _one_burnup,
    "burnup_grid": lambda s: charts.plot_burnup_grid(s["burnups"], s["table"], AS_OF, s["bands"]),
    "burnup_grid_no_forecast": lambda s: charts.plot_burnup_grid(s["burnups"], s["table"]),
    "score_distribution": lambda s: charts.plot_score_distribution(
        s["scores"], s["grades"], 71.5, max_score=MAX_SCORE
    ),
    "score_certain": lambda s: charts.plot_score_distribution(
        np.full(50, 88.1), s["grades"], max_score=MAX_SCORE
    ),
    "grade_probabilities": lambda s: charts.plot_grade_probabilities(s["grades"]),
    "payment_schedule": lambda s: charts.plot_payment_schedule(s["schedule"], 168333.0),
    "activities_by_category": lambda s: charts.plot_activities_by_category(
        events.activities_by_month_and_category(s["ctx"])
    ),
    "online_offline": lambda s: charts.plot_online_offline(
        events.online_offline_by_month(s["ctx"])
    ),
    "tag_overlap": lambda s: charts.plot_tag_overlap(events.tag_overlap_counts(s["ctx"])),
    "tag_overlap_empty": lambda s: charts.plot_tag_overlap(dict.fromkeys(events.VENN_REGIONS, 0)),
    "tag_upset": lambda s: charts.plot_tag_upset(events.tag_overlap_counts(s["ctx"])),
    "tag_upset_empty": lambda s: charts.plot_tag_upset(dict.fromkeys(events.VENN_REGIONS, 0)),
    "parks_covered": lambda s: charts.plot_parks_covered(events.parks_covered(s["ctx"])),
    "parks_covered_empty": lambda s: charts.plot_parks_covered(
        events.parks_covered(context(AS_OF))
    ),
    "livestreams": lambda s: charts.plot_livestreams(events.livestreams_by_month(s["ctx"])),
    "livestreams_before_start": lambda s: charts.plot_livestreams(
        events.livestreams_by_month(context(CONTRACT.period_start - dt.timedelta(days=1))),
        CONTRACT.livestream_min_per_month,
    ),
}


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_chart_exports_png_and_svg_without_missing_glyphs(
    name: str, small: dict, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        fig = CHARTS[name](small)
        assert isinstance(fig, Figure)
        png, svg = charts.save_chart(fig, name, tmp_path)
    messages = [str(w.message) for w in caught] + [r.getMessage() for r in caplog.records]
    assert not [m for m in messages if any(word in m for word in GLYPH_WORDS)], messages
    assert not [m for m in messages if "findfont" in m], messages
    assert png.name == f"{name}.png" and svg.name == f"{name}.svg"
    with Image.open(png) as image:
        assert image.width >= 800
        assert min(image.info["dpi"]) >= 199.9
    text = svg.read_text(encoding="utf-8")
    assert text.lstrip().startswith("<?xml") and "<svg" in text


def test_capture_detects_missing_glyphs(tmp_path: Path) -> None:
    """Control: without the CJK font, the same capture does see the warning."""
    with mpl.rc_context({"font.family": ["DejaVu Sans"]}):
        fig = Figure()
        fig.text(0.5, 0.5, "中文")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fig.savefig(tmp_path / "x.png")
    assert any("missing from font" in str(w.message) for w in caught)


def test_setup_fonts_is_idempotent() -> None:
    from matplotlib import font_manager

    family = fonts.setup_fonts()
    count = len(font_manager.fontManager.ttflist)
    assert fonts.setup_fonts() == family
    assert len(font_manager.fontManager.ttflist) == count
    assert mpl.rcParams["font.sans-serif"][0] == family
    assert mpl.rcParams["axes.unicode_minus"] is False
    assert "SimHei" not in family


def test_bundled_font_is_noto_not_simhei() -> None:
    path = fonts.find_bundled_font()
    assert path is not None and path.name == "NotoSansCJKsc-Regular.otf"


def test_save_burnup_charts_writes_one_pair_per_kpi(small: dict, tmp_path: Path) -> None:
    written = charts.save_burnup_charts(
        small["burnups"], small["table"], tmp_path, AS_OF, small["bands"]
    )
    ids = tables.select_burnup_kpis(CONTRACT)
    assert sorted(p.name for p in written) == sorted(
        f"burnup_{k}.{ext}" for k in ids for ext in ("png", "svg")
    )


def test_import_changes_no_matplotlib_state() -> None:
    """Importing the charts selects no backend, loads no pyplot and leaves rcParams alone."""
    code = (
        "import sys, matplotlib as mpl\n"
        # rcParams._get: reading 'backend' through [] would resolve it (and import pyplot)
        "state = lambda: ({k: mpl.rcParams._get(k) for k in mpl.rcParams}, sorted(sys.modules))\n"
        "rc, modules = state()\n"
        "import qyzj_analytics.reporting.charts\n"
        "rc_after, modules_after = state()\n"
        "assert rc == rc_after, 'rcParams changed'\n"
        "new = set(modules_after) - set(modules)\n"
        "assert not {'matplotlib.pyplot', 'matplotlib.backends'} & new, 'pyplot or a backend'\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_render_png_is_png(small: dict) -> None:
    data = charts.render_png(charts.plot_grade_probabilities(small["grades"]))
    assert data[:8] == b"\x89PNG\r\n\x1a\n"


def test_chart_is_laid_out_once(small: dict, tmp_path: Path) -> None:
    """The PNG render lays a constrained chart out; its SVG reuses those positions (no second
    layout) and the PNG has the pixels of a default-compressed render."""
    import io

    from matplotlib.layout_engine import ConstrainedLayoutEngine

    fig = charts.plot_grade_probabilities(small["grades"])
    assert isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine)
    reference = io.BytesIO()
    fig.savefig(reference, format="png", dpi=200, facecolor="white")  # matplotlib's default
    png = charts.render_png(fig)
    assert not isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine)
    positions = [ax.get_position().bounds for ax in fig.axes]
    charts.save_chart(fig, "grades", tmp_path, png=png)
    assert [ax.get_position().bounds for ax in fig.axes] == positions
    expected = np.asarray(Image.open(io.BytesIO(reference.getvalue())))
    assert np.array_equal(np.asarray(Image.open(tmp_path / "grades.png")), expected)


def test_encode_png_keeps_every_pixel_and_the_dpi() -> None:
    import io

    from qyzj_analytics.reporting.charts.render import encode_png

    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, size=(37, 23, 4), dtype=np.uint8)  # bytes that wrap when filtered
    pixels[5:9] = 255  # and flat runs, as in a chart
    image = Image.open(io.BytesIO(encode_png(pixels, 200)))
    assert image.mode == "RGBA" and image.size == (23, 37)
    assert np.array_equal(np.asarray(image), pixels)
    assert round(image.info["dpi"][0]) == 200 and image.info["Software"].startswith("Matplotlib")
