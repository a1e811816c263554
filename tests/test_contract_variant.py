"""A renegotiated contract is a new YAML and nothing else: the report states its numbers only."""

from __future__ import annotations

import html
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

import pytest
from reporting import QUARTER, report_main

from qyzj_analytics.contract.model import load_contract
from qyzj_analytics.ingest.discover import SAMPLE_MARKER
from qyzj_analytics.sample.generate import write_sample

BUNDLED = Path(__file__).resolve().parents[1] / "qyzj_analytics" / "contract" / "2025.yaml"

# 2025 text → the renegotiated contract's: livestream minimum 8 a month, grades 85/75/55, two
# advances of 120,000 instead of three of 100,000, offline events target 40.
CHANGES = (
    ("min_online_per_month: 6", "min_online_per_month: 8"),
    ("name: 优秀, min_score: 90", "name: 优秀, min_score: 85"),
    ("name: 良好, min_score: 80", "name: 良好, min_score: 75"),
    ("name: 合格, min_score: 60", "name: 合格, min_score: 55"),
    (
        '    - {quarter: Q1, due: 2025-03-31, amount: "100000.00"}\n'
        '    - {quarter: Q2, due: 2025-06-30, amount: "100000.00"}\n'
        '    - {quarter: Q3, due: 2025-09-30, amount: "100000.00"}\n',
        '    - {quarter: Q2, due: 2025-06-30, amount: "120000.00"}\n'
        '    - {quarter: Q3, due: 2025-09-30, amount: "120000.00"}\n',
    ),
    ("name: 线下公益活动, unit: 场, target: 30,", "name: 线下公益活动, unit: 场, target: 40,"),
)
FORBIDDEN = ("不少于6场", "90分及以上", "30万元", "60分以下")
REQUIRED = ("8场", "85分")


def write_variant(path: Path) -> Path:
    """The bundled 2025 contract with :data:`CHANGES` applied."""
    text = BUNDLED.read_text(encoding="utf-8")
    for old, new in CHANGES:
        assert old in text, f"the bundled contract no longer has {old!r}"
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return path


def squeeze(text: str) -> str:
    """``text`` with every kind of whitespace removed (incl. non-breaking and ideographic)."""
    return re.sub(r"\s+", "", text.replace("\u00a0", " ").replace("\u3000", " "))


@pytest.fixture(scope="module")
def variant_report() -> Path:
    work = Path(tempfile.mkdtemp(prefix="qyzj-test-variant-"))
    try:
        raw = work / "raw"
        write_sample(raw, seed=2025)
        (raw / SAMPLE_MARKER).touch()
        config = write_variant(work / "contract_2026.yaml")
        out = work / "reports"
        argv = ["--quarter", QUARTER, "--raw", str(raw), "--out", str(out)]
        code, stderr = report_main([*argv, "--config", str(config), "--draws", "2000"])
        assert code == 0, stderr
        yield out / QUARTER
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_variant_contract_loads() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        contract = load_contract(write_variant(Path(tmp) / "c.yaml"))
    assert contract.livestream_min_per_month == 8
    assert [g.min_score for g in contract.grades][:3] == [85, 75, 55]
    assert len(contract.advances) == 2
    assert contract.kpi("offline_events").target == 40


@pytest.mark.slow
def test_report_states_the_variant_contract(variant_report: Path) -> None:
    page = squeeze(html.unescape((variant_report / "report.html").read_text(encoding="utf-8")))
    found = [s for s in FORBIDDEN if s in page]
    assert not found, f"2025 contract numbers in a report built on another contract: {found}"
    missing = [s for s in REQUIRED if s not in page]
    assert not missing, f"the variant contract's numbers are not stated: {missing}"
    rows = [r for r in re.findall(r"<tr.*?</tr>", page) if "线下公益活动" in r]
    assert rows, "no KPI table row for 线下公益活动"
    assert any(re.search(r">40(\.0+)?<", r) for r in rows), rows


@pytest.mark.slow
def test_workbook_and_charts_state_the_variant_contract(variant_report: Path) -> None:
    texts = []
    for book in variant_report.glob("*.xlsx"):
        with zipfile.ZipFile(book) as z:
            texts += [z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml")]
    texts += [p.read_text(encoding="utf-8") for p in (variant_report / "charts").glob("*.svg")]
    assert texts
    joined = squeeze(html.unescape("\n".join(texts)))
    found = [s for s in FORBIDDEN if s in joined]
    assert not found, found
