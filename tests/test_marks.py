"""Issue 13 items 4–6: sample charts carry 示例数据, scores are truncated (never rounded up) in
every output, and the KPI workbook has whole-number formats, print setup and autofilters."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from matplotlib.figure import Figure
from PIL import Image
from reporting import QUARTER, write_tiny_raw

from qyzj_analytics.contract.model import load_contract
from qyzj_analytics.formats import format_attainment, format_score, truncate_score
from qyzj_analytics.ingest.discover import SAMPLE_MARKER
from qyzj_analytics.reporting import charts
from qyzj_analytics.reporting.bundle import Metrics, build_metrics
from qyzj_analytics.reporting.charts.style import SAMPLE_MARK, SAMPLE_MARK_ID
from qyzj_analytics.reporting.report.options import ReportOptions
from qyzj_analytics.reporting.report.workbook import write_kpi_xlsx
from qyzj_analytics.reporting.word import content

CONTRACT = load_contract()
AS_OF = dt.date(2025, 9, 30)
SHEETS = ("KPI达成", "考核得分", "数据质量")


@pytest.fixture(scope="module")
def metrics(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Metrics]:
    """Metrics of one tiny raw folder, once as real data and once marked as the sample."""
    built = {}
    for sample in (False, True):
        raw = write_tiny_raw(tmp_path_factory.mktemp("raw") / "raw")
        if sample:
            (raw / SAMPLE_MARKER).touch()
        built[sample] = build_metrics(raw, AS_OF, CONTRACT, quarter=QUARTER, draws=300)
    assert [m.is_sample for m in built.values()] == [False, True]
    return built


# ------------------------------------------------------------------------------------------------
# Sample mark (item 4)

CHARTS: dict[str, Callable[[Metrics], Figure]] = {
    "kpi_attainment": lambda m: charts.plot_kpi_attainment(
        m.kpi_table, m.as_of, sample=m.is_sample
    ),
    "burnup_grid": lambda m: charts.plot_burnup_grid(
        m.burnups, m.kpi_table, m.as_of, sample=m.is_sample
    ),
    "score_distribution": lambda m: charts.plot_score_distribution(
        m.forecast.scores["基础分"],
        m.forecast.grades,
        m.score["base"],
        max_score=m.terms.full_score,
        sample=m.is_sample,
    ),
    "grade_probabilities": lambda m: charts.plot_grade_probabilities(
        m.forecast.grades, sample=m.is_sample
    ),
    "payment_schedule": lambda m: charts.plot_payment_schedule(
        m.payment_schedule, sample=m.is_sample
    ),
    "activities_by_category": lambda m: charts.plot_activities_by_category(
        m.activities_by_month, sample=m.is_sample
    ),
    "online_offline": lambda m: charts.plot_online_offline(m.online_offline, sample=m.is_sample),
    "tag_overlap": lambda m: charts.plot_tag_overlap(m.tag_overlap, sample=m.is_sample),
    "tag_upset": lambda m: charts.plot_tag_upset(m.tag_overlap, sample=m.is_sample),
    "parks_covered": lambda m: charts.plot_parks_covered(m.parks, sample=m.is_sample),
    "livestreams": lambda m: charts.plot_livestreams(m.livestreams, sample=m.is_sample),
}


def _mark_pixels(png: bytes) -> int:
    """Pixels of the mark's red in the top-right corner (the top 0.4 in, the right 1.6 in)."""
    with Image.open(io.BytesIO(png)) as image:
        rgb = np.asarray(image.convert("RGB"), dtype=int)
    corner = rgb[:80, -320:]
    red = (corner[..., 0] > 150) & (corner[..., 1] < 40) & (corner[..., 2] < 40)
    return int(red.sum())


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_sample_charts_carry_the_mark_in_png_and_svg(
    name: str, metrics: dict[bool, Metrics], tmp_path: Path
) -> None:
    found = {}
    for sample, m in metrics.items():
        fig = CHARTS[name](m)
        png, svg = charts.save_chart(fig, f"{name}_{sample}", tmp_path)
        text = svg.read_text(encoding="utf-8")
        found[sample] = (SAMPLE_MARK in text, f'id="{SAMPLE_MARK_ID}"' in text)
        found[sample, "png"] = _mark_pixels(png.read_bytes())
    assert found[True] == (True, True)  # real text, in its own group
    assert found[False] == (False, False)
    assert found[True, "png"] > 200
    assert found[False, "png"] == 0


def test_sample_burnups_are_marked(metrics: dict[bool, Metrics], tmp_path: Path) -> None:
    for sample, m in metrics.items():
        written = charts.save_burnup_charts(
            m.burnups, m.kpi_table, tmp_path / str(sample), m.as_of, sample=m.is_sample
        )
        svgs = [p for p in written if p.suffix == ".svg"]
        assert svgs
        for svg in svgs:
            assert (SAMPLE_MARK in svg.read_text(encoding="utf-8")) is sample
        for png in (p for p in written if p.suffix == ".png"):
            assert (_mark_pixels(png.read_bytes()) > 100) is sample


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_the_mark_keeps_clear_of_the_drawing(name: str, metrics: dict[bool, Metrics]) -> None:
    """The mark overlaps no axes (with its titles and tick labels) nor legend."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = CHARTS[name](metrics[True])
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    mark = next(t for t in fig.texts if t.get_gid() == SAMPLE_MARK_ID)
    box = mark.get_window_extent(renderer)
    others = [ax.get_tightbbox(renderer) for ax in fig.axes if ax.get_visible()]
    others += [legend.get_window_extent(renderer) for legend in fig.legends]
    others += [t.get_window_extent(renderer) for t in fig.texts if t is not mark]
    for other in others:
        assert not box.overlaps(other), (name, box, other)


# ------------------------------------------------------------------------------------------------
# One rounding rule (item 5)


@pytest.mark.parametrize(
    ("value", "shown", "number"),
    [
        (89.999, "89.99", 89.99),
        (87.495, "87.49", 87.49),
        (89.98999999999, "89.99", 89.99),  # 89.99 as float noise stays 89.99
        (90.0, "90.00", 90.0),
        (4, "4.00", 4.0),
        (0.1 + 0.2, "0.30", 0.3),
    ],
)
def test_scores_are_truncated(value: float, shown: str, number: float) -> None:
    assert format_score(value) == shown
    assert truncate_score(value) == number


def test_missing_scores_and_attainment_are_empty() -> None:
    assert format_score(None) == "" and format_score(float("nan")) == ""
    assert truncate_score(None) is None
    assert format_attainment(float("nan")) == "" and format_attainment(0.695) == "70%"


def _with_score(m: Metrics, base: float, bonus: float) -> Metrics:
    table = m.kpi_table.copy()
    table.iloc[0, table.columns.get_loc("得分")] = 9.999
    return dataclasses.replace(m, score={**m.score, "base": base, "bonus": bonus}, kpi_table=table)


def test_score_chart_label_is_truncated(metrics: dict[bool, Metrics], tmp_path: Path) -> None:
    m = _with_score(metrics[False], 89.999, 4.0)
    fig = CHARTS["score_distribution"](m)
    _, svg = charts.save_chart(fig, "score", tmp_path)
    text = svg.read_text(encoding="utf-8")
    assert "截至今日得分 89.99" in text and "90.00" not in text


def test_word_overview_truncates_base_and_bonus(metrics: dict[bool, Metrics]) -> None:
    text = "".join(content.overview(_with_score(metrics[False], 87.495, 3.999)))
    assert "基础分87.49分" in text and "奖励分3.99分" in text
    # 89.99 carrying float noise is still 89.99 (a bare Decimal cut would give 89.98)
    text = "".join(content.overview(_with_score(metrics[False], 89.98999999999, 0.0)))
    assert "基础分89.99分" in text


# ------------------------------------------------------------------------------------------------
# The workbook (item 6)


@pytest.fixture(scope="module")
def book(metrics: dict[bool, Metrics], tmp_path_factory: pytest.TempPathFactory) -> object:
    m = _with_score(metrics[False], 89.999, 4.0)
    table = m.kpi_table.copy()
    table.iloc[1, table.columns.get_loc("实际")] = 1944.0  # a whole number in the thousands
    m = dataclasses.replace(m, kpi_table=table)
    folder = tmp_path_factory.mktemp("xlsx")
    options = ReportOptions(QUARTER, AS_OF, Path(m.raw_dir), folder / "out")
    return openpyxl.load_workbook(write_kpi_xlsx(folder / "kpi.xlsx", options, CONTRACT, m))


def _column(ws: object, header: str) -> list[object]:
    col = [c.value for c in ws[4]].index(header) + 1
    return [ws.cell(row=r, column=col) for r in range(5, 5 + len(CONTRACT.kpis))]


def test_workbook_number_formats(book: object) -> None:
    ws = book["KPI达成"]
    units = [c.value for c in _column(ws, "单位")]
    for cell, unit in zip(_column(ws, "实际完成"), units, strict=True):
        if unit == "比例":
            assert cell.number_format == "0.0%"
        elif cell.value is not None and float(cell.value).is_integer():
            assert cell.number_format == "#,##0", (unit, cell.value)
    assert _column(ws, "实际完成")[1].value == 1944
    assert {c.number_format for c in _column(ws, "年度目标") if c.value is not None} <= {
        "#,##0",
        "0.0%",
    }
    assert {c.number_format for c in _column(ws, "完成率")} == {"0%"}  # as the report shows it
    assert {c.number_format for c in _column(ws, "得分")} == {"0.00"}
    assert _column(ws, "得分")[0].value == 9.99
    formats = {c.number_format for row in ws.iter_rows() for c in row}
    assert "#,##0.##" not in formats


def test_workbook_scores_are_truncated(book: object) -> None:
    rows = {r[0].value: r[1] for r in book["考核得分"].iter_rows(min_row=5) if r[0].value}
    assert rows["基础分"].value == 89.99 and rows["基础分"].number_format == "0.00"
    assert rows["奖励分"].value == 4.0
    ws = book["KPI达成"]
    total = next(r for r in ws.iter_rows(min_row=5) if r[1].value == "合计")
    assert total[10].value == 89.99


@pytest.mark.parametrize("name", SHEETS)
def test_every_sheet_prints_on_a4_landscape_with_filter(book: object, name: str) -> None:
    ws = book[name]
    assert ws.page_setup.orientation == "landscape"
    assert int(ws.page_setup.paperSize) == 9  # A4 (ws.PAPERSIZE_A4 is the string "9")
    assert ws.sheet_properties.pageSetUpPr.fitToPage is True
    assert int(ws.page_setup.fitToWidth) == 1 and int(ws.page_setup.fitToHeight) == 0
    assert ws.print_title_rows == "$4:$4"
    assert ws.freeze_panes == "A5"
    ref = ws.auto_filter.ref
    assert ref and ref.startswith("A4:")
    last = int("".join(ch for ch in ref.split(":")[1] if ch.isdigit()))
    assert last > 4
    last_col = ref.split(":")[1].rstrip("0123456789")
    assert last_col == openpyxl.utils.get_column_letter(ws.max_column)
    assert ws.cell(row=last, column=1).value is not None or ws.cell(row=last, column=2).value


def test_the_kpi_filter_leaves_out_the_total(book: object) -> None:
    ws = book["KPI达成"]
    last = int(ws.auto_filter.ref.split(":")[1].lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    assert last == 4 + len(CONTRACT.kpis)
    assert ws.cell(row=last + 1, column=2).value == "合计"
