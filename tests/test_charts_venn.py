"""Issue 16 item 1: the tag-overlap Venn diagram is drawn from recorded geometry
(qyzj_analytics.reporting.charts.venn) and is exactly what ``matplotlib_venn.venn3`` drew, without
importing it (it pulls in scipy.optimize and pyplot)."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
from matplotlib.figure import Figure

from qyzj_analytics.reporting import charts
from qyzj_analytics.reporting.charts import venn
from qyzj_analytics.reporting.charts.render import render_png, svg_text
from qyzj_analytics.reporting.charts.style import CATEGORY_COLORS, make_figure, mark_sample
from qyzj_analytics.reporting.events import VENN_REGIONS, VENN_SETS

COUNTS = (
    {"100": 5, "010": 4, "110": 4, "001": 1, "101": 0, "011": 0, "111": 0},
    {"100": 0, "010": 0, "110": 0, "001": 0, "101": 0, "011": 0, "111": 0, "000": 3},
    {"100": 12, "010": 1, "110": 7, "001": 30, "101": 2, "011": 9, "111": 1},
)


def _with_venn3(counts: dict[str, int], sample: bool) -> Figure:
    """plot_tag_overlap as it was, drawn by matplotlib_venn.venn3."""
    from matplotlib_venn import venn3
    from matplotlib_venn.layout.venn3 import DefaultLayoutAlgorithm

    fig = make_figure(5.2, 7.0)
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
    return mark_sample(fig, sample)


def _without_date(svg: str) -> str:
    """The SVG without its date and with its random clip-path and marker ids numbered."""
    svg = re.sub(r"<dc:date>[^<]*</dc:date>", "", svg)
    ids: dict[str, str] = {}
    return re.sub(r"\b[pm][0-9a-f]{10}\b", lambda m: ids.setdefault(m[0], f"id{len(ids)}"), svg)


@pytest.mark.parametrize("counts", COUNTS)
@pytest.mark.parametrize("sample", [False, True])
def test_tag_overlap_is_what_venn3_drew(counts: dict[str, int], sample: bool) -> None:
    ours = charts.plot_tag_overlap(counts, sample=sample)
    theirs = _with_venn3(counts, sample)
    assert render_png(ours) == render_png(theirs)  # pixel for pixel, byte for byte
    assert _without_date(svg_text(ours)) == _without_date(svg_text(theirs))


def test_recorded_geometry_is_venn3s() -> None:
    from matplotlib_venn import venn3
    from matplotlib_venn.layout.venn3 import DefaultLayoutAlgorithm

    colors = ("#4e79a7", "#59a14f", "#f28e2b")
    theirs = Figure().add_subplot()
    venn3(
        (1,) * 7,
        set_labels=("A", "B", "C"),
        set_colors=colors,
        ax=theirs,
        layout_algorithm=DefaultLayoutAlgorithm(fixed_subset_sizes=(1,) * 7),
    )
    ours = Figure().add_subplot()
    venn.draw_equal_venn3(ours, (1,) * 7, ("A", "B", "C"), colors, alpha=0.4)
    assert len(ours.patches) == len(theirs.patches) == 7
    for a, b in zip(ours.patches, theirs.patches, strict=True):
        assert np.array_equal(a.get_path().vertices, b.get_path().vertices)
        assert np.array_equal(a.get_path().codes, b.get_path().codes)
        assert a.get_facecolor() == b.get_facecolor()
    for a, b in zip(ours.texts, theirs.texts, strict=True):
        assert (a.get_position(), a.get_text(), a.get_ha(), a.get_va(), a.get_fontsize()) == (
            b.get_position(),
            b.get_text(),
            b.get_ha(),
            b.get_va(),
            b.get_fontsize(),
        )
    assert ours.get_xlim() == theirs.get_xlim() and ours.get_ylim() == theirs.get_ylim()


def test_drawing_the_venn_imports_neither_scipy_nor_pyplot() -> None:
    code = (
        "import sys\n"
        "from qyzj_analytics.reporting import charts\n"
        "charts.render_png(charts.plot_tag_overlap({'100': 1, '110': 2}))\n"
        "bad = {'scipy', 'matplotlib_venn', 'matplotlib.pyplot'} & set(sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
