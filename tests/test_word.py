"""The bureau's Word report: GB/T 9704 layout, East Asian fonts, page numbers, the KPI table
against ``qyzj kpi --json``, the sample mark and nothing internal or personal."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime as dt
import io
import json
import re
import zipfile
from pathlib import Path

import docx
import pytest
from docx.shared import Mm
from lxml import etree

from qyzj_analytics import cli
from qyzj_analytics.contract.model import load_contract
from qyzj_analytics.formats import format_score
from qyzj_analytics.ingest.discover import SAMPLE_MARKER
from qyzj_analytics.reporting import bundle
from qyzj_analytics.reporting.word.document import word_report_name, write_word_report
from qyzj_analytics.reporting.word.steps import plan_steps_of
from qyzj_analytics.sample.generate import write_sample

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
NS = {"w": W[1:-1]}
PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
AS_OF = "2025-09-30"


@dataclasses.dataclass(frozen=True)
class Sample:
    raw: Path
    metrics: bundle.Metrics
    docx: Path
    personal: tuple[str, ...]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    work = tmp_path_factory.mktemp("word")
    raw = work / "raw"
    truth = write_sample(raw, seed=2025)
    (raw / SAMPLE_MARKER).touch()
    metrics = bundle.build_metrics(
        raw, dt.date.fromisoformat(AS_OF), quarter="2025Q3", draws=2000, seed=7
    )
    charts = work / "charts"
    charts.mkdir()
    (charts / "kpi_attainment.png").write_bytes(PNG_1PX)
    path = write_word_report(
        work / word_report_name("2025Q3"),
        metrics,
        plan_steps=plan_steps_of(metrics),
        buyer=load_contract().buyer,
        charts_dir=charts,
    )
    return Sample(raw, metrics, path, truth.personal_values)


def _xml(path: Path, name: str) -> etree._Element:
    with zipfile.ZipFile(path) as z:
        return etree.fromstring(z.read(name))


def _parts(path: Path, prefix: str) -> dict[str, etree._Element]:
    with zipfile.ZipFile(path) as z:
        return {
            n: etree.fromstring(z.read(n))
            for n in z.namelist()
            if n.startswith(prefix) and n.endswith(".xml")
        }


def _text(element: etree._Element) -> str:
    return "".join(element.itertext())


def _all_text(path: Path) -> str:
    """Every text a reader could see: body, headers, footers, properties, alt text."""
    with zipfile.ZipFile(path) as z:
        texts = []
        for name in z.namelist():
            if name.endswith(".xml"):
                root = etree.fromstring(z.read(name))
                texts.append(_text(root))
                texts += [str(v) for v in root.xpath("//@descr | //@name")]
    return "\n".join(texts)


def test_page_is_a4_with_the_standard_margins(sample: Sample) -> None:
    section = docx.Document(str(sample.docx)).sections[0]
    for got, want in [
        (section.page_width, Mm(210)),
        (section.page_height, Mm(297)),
        (section.top_margin, Mm(37)),
        (section.bottom_margin, Mm(35)),
        (section.left_margin, Mm(28)),
        (section.right_margin, Mm(26)),
    ]:
        assert abs(got - want) <= Mm(0.1), (got, want)
    orient = _xml(sample.docx, "word/document.xml").find(".//w:pgSz", NS).get(f"{W}orient")
    assert orient in (None, "portrait")


def _style(styles: etree._Element, name: str) -> etree._Element:
    found = styles.xpath(f"//w:style[w:name/@w:val='{name}']", namespaces=NS)
    assert found, name
    return found[0]


def test_styles_name_east_asian_fonts(sample: Sample) -> None:
    styles = _xml(sample.docx, "word/styles.xml")
    default = styles.find("w:docDefaults/w:rPrDefault/w:rPr/w:rFonts", NS)
    assert default.get(f"{W}eastAsia") == "仿宋_GB2312"
    expected = {
        "Normal": ("仿宋_GB2312", 32),
        "heading 1": ("黑体", 32),
        "heading 2": ("楷体_GB2312", 32),
        "公文标题": ("方正小标宋简体", 44),
    }
    for name, (font, half_points) in expected.items():
        style = _style(styles, name)
        fonts = style.find("w:rPr/w:rFonts", NS)
        assert fonts.get(f"{W}eastAsia") == font, name
        assert fonts.get(f"{W}eastAsiaTheme") is None, name
        assert style.find("w:rPr/w:sz", NS).get(f"{W}val") == str(half_points), name
    spacing = _style(styles, "Normal").find("w:pPr/w:spacing", NS)
    assert spacing.get(f"{W}lineRule") == "exact" and spacing.get(f"{W}line") == "560"  # 28 pt
    ind = _style(styles, "Normal").find("w:pPr/w:ind", NS)
    assert ind.get(f"{W}firstLineChars") == "200"


def test_font_table_carries_the_fallbacks(sample: Sample) -> None:
    table = _xml(sample.docx, "word/fontTable.xml")
    alt = {
        f.get(f"{W}name"): f.find("w:altName", NS).get(f"{W}val")
        for f in table.findall("w:font", NS)
        if f.find("w:altName", NS) is not None
    }
    assert alt == {"方正小标宋简体": "黑体", "仿宋_GB2312": "仿宋", "楷体_GB2312": "楷体"}


def test_every_run_with_cjk_text_has_an_east_asian_font(sample: Sample) -> None:
    """A run naming fonts names the East Asian one too (else CJK falls back to a Latin font)."""
    parts = _parts(sample.docx, "word/")
    shown = ("word/document.xml", "word/styles.xml", "word/header", "word/footer")
    assert len([n for n in parts if n.startswith(shown)]) >= 6
    for name, root in parts.items():
        if not name.startswith(shown):
            continue  # numbering bullets (Symbol), Word 2010's stylesWithEffects copy
        for fonts in root.iter(f"{W}rFonts"):
            if fonts.get(f"{W}ascii") is not None:
                assert fonts.get(f"{W}eastAsia"), name


def test_footers_number_odd_pages_right_and_even_pages_left(sample: Sample) -> None:
    settings = _xml(sample.docx, "word/settings.xml")
    assert settings.find("w:evenAndOddHeaders", NS) is not None
    document = _xml(sample.docx, "word/document.xml")
    refs = {
        r.get(f"{W}type"): r.get(
            "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
        )
        for r in document.findall(".//w:sectPr/w:footerReference", NS)
    }
    assert set(refs) >= {"default", "even"}
    rels = _xml(sample.docx, "word/_rels/document.xml.rels")
    target = {r.get("Id"): r.get("Target") for r in rels}
    for kind, align in (("default", "right"), ("even", "left")):
        footer = _xml(sample.docx, f"word/{target[refs[kind]]}")
        assert "PAGE" in "".join(t.text for t in footer.iter(f"{W}instrText"))
        assert _text(footer).startswith("\u2014 ") and _text(footer).endswith(" \u2014")
        assert footer.find(".//w:jc", NS).get(f"{W}val") == align
        fonts = footer.find(".//w:r/w:rPr/w:rFonts", NS)
        assert fonts.get(f"{W}eastAsia") == "宋体" and fonts.get(f"{W}ascii") == "宋体"
        assert footer.find(".//w:r/w:rPr/w:sz", NS).get(f"{W}val") == "28"  # 四号


def _number(cell: str) -> float:
    """``2,000家次`` → 2000, ``92.9%`` → 0.929."""
    value = re.match(r"-?[\d,]+(\.\d+)?%?", cell)
    assert value, cell
    text = value[0].replace(",", "")
    return float(text[:-1]) / 100 if text.endswith("%") else float(text)


def test_kpi_table_agrees_with_qyzj_kpi_json(sample: Sample) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["kpi", "--raw", str(sample.raw), "--as-of", AS_OF, "--json"]) == 0
    kpis = json.loads(out.getvalue())["kpis"]
    table = docx.Document(str(sample.docx)).tables[0]
    rows = [[c.text for c in row.cells] for row in table.rows]
    assert rows[0] == ["指标", "年度目标", "完成", "完成率", "进度"]
    by_name = {r[0]: r for r in rows[1:]}
    assert len(rows) - 1 == len(kpis) == len(load_contract().kpis)
    for kpi in kpis.values():
        row = by_name[kpi["name"]]
        share = kpi["target"] <= 1 and "%" in row[1]
        tolerance = 0.0005 if share else 0.05
        assert _number(row[1]) == pytest.approx(kpi["target"], abs=tolerance), row
        assert _number(row[2]) == pytest.approx(kpi["actual"], abs=tolerance), row
    header = table.rows[0]._tr.find("w:trPr/w:tblHeader", NS)
    assert header is not None  # repeated on every page
    widths = [int(g.get(f"{W}w")) for g in table._tbl.findall("w:tblGrid/w:gridCol", NS)]
    assert sum(widths) <= round(156 / 25.4 * 1440) + 1  # fits the text width (twips)


def test_grade_and_truncated_score_are_stated(sample: Sample) -> None:
    text = _all_text(sample.docx)
    score = sample.metrics.score
    assert f"当前考核档次为{score['grade_name']}" in text
    assert f"基础分{format_score(score['base'])}分" in text
    assert "乐清市企业之家2025年第三季度运营情况报告" in text
    assert "乐清市经济和信息化局：" in text  # from the contract's buyer


def test_scores_are_truncated_not_rounded(sample: Sample, tmp_path: Path) -> None:
    m = dataclasses.replace(sample.metrics, score={**sample.metrics.score, "base": 89.999})
    path = write_word_report(tmp_path / "a.docx", m, plan_steps=[])
    text = _all_text(path)
    assert "基础分89.99分" in text and "90.00" not in text
    assert format_score(89.999) == "89.99" and format_score(0.1 + 0.2) == "0.30"


def test_sample_mark_in_every_header_and_under_the_title(sample: Sample, tmp_path: Path) -> None:
    headers = _parts(sample.docx, "word/header")
    assert len(headers) >= 2 and all("示例数据" in _text(h) for h in headers.values())
    body = [p.text for p in docx.Document(str(sample.docx)).paragraphs]
    assert body[2].startswith("【示例数据】")
    real = dataclasses.replace(sample.metrics, is_sample=False)
    path = write_word_report(tmp_path / "real.docx", real, plan_steps=[])
    assert "示例数据" not in _all_text(path)


def test_charts_are_inserted_at_text_width_with_chinese_alt_text(sample: Sample) -> None:
    document = docx.Document(str(sample.docx))
    shapes = document.inline_shapes
    assert len(shapes) == 1  # only the chart the run produced
    assert abs(shapes[0].width - (Mm(210) - Mm(28) - Mm(26))) <= Mm(0.1)
    descr = _xml(sample.docx, "word/document.xml").xpath("//@descr")
    assert set(descr) == {"各项指标完成率"}


def test_nothing_internal_or_personal(sample: Sample) -> None:
    text = _all_text(sample.docx)
    contract = load_contract()
    for kpi in contract.kpis:
        assert kpi.id not in text
    for forbidden in ("['", "']", ".qyzj-sample", ".DS_Store", "概率", "付款", "补助", "P50"):
        assert forbidden not in text, forbidden
    for name in sample.metrics.files["文件"]:
        assert str(name) not in text, name
    assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", text)  # a mobile number
    assert not re.search(r"(?<!\d)\d{17}[\dXx](?!\d)", text)  # an ID number
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", text)  # a snake_case identifier
    personal = [v for v in sample.personal if len(v) >= 2]
    assert len(personal) > 100
    found = [v for v in personal if v in text]
    assert found == []


def test_plan_steps_go_into_section_five(sample: Sample, tmp_path: Path) -> None:
    steps = plan_steps_of(sample.metrics)
    assert steps and all(s.endswith("。") and "%" not in s for s in steps)
    path = write_word_report(
        tmp_path / "p.docx", sample.metrics, plan_steps=["每月增开线下活动两场。"]
    )
    body = [p.text for p in docx.Document(str(path)).paragraphs]
    five = body.index("五、下一季度工作安排")
    assert "1．每月增开线下活动两场。" in body[five:]
    assert body[-1] == "特此报告。"
