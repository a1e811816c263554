"""The analysis notebooks: one typed-literal ``parameters`` cell, stripped outputs, and a clean
papermill run on the sample year (no errors, no stderr noise, no missing glyphs, escaped text)."""

from __future__ import annotations

import ast
import datetime as dt
import json
from pathlib import Path

import nbformat
import pytest
from conftest import write_csv

from qyzj_analytics.contract.model import load_contract
from qyzj_analytics.forecast.plan import TARGET_PROBABILITY
from qyzj_analytics.formats import format_money, format_ratio
from qyzj_analytics.reporting import bundle
from qyzj_analytics.sample.generate import write_sample

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9]*.ipynb"))
PARAMETERS = {
    "quarter": str,
    "raw_dir": str,
    "as_of": str,
    "config": str,
    "seed": int,
    "draws": int,
    "cache_dir": str,
    "charts_dir": str,
}
XSS = "<script>alert(1)</script>"


def _tags(cell: nbformat.NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def test_the_four_notebooks_exist() -> None:
    assert [p.name for p in NOTEBOOKS] == [
        "02_kpi_attainment.ipynb",
        "03_forecast.ipynb",
        "04_event_mix.ipynb",
        "05_data_quality.ipynb",  # the appendix: the report reads summary-first
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_one_parameters_cell_of_typed_literals(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in _tags(c)]
    assert len(tagged) == 1
    cell = tagged[0]
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert cell.cell_type == "code" and cell is code_cells[0]
    found = {}
    for stmt in ast.parse(cell.source).body:
        assert isinstance(stmt, ast.AnnAssign), ast.dump(stmt)
        assert isinstance(stmt.target, ast.Name) and isinstance(stmt.annotation, ast.Name)
        value = ast.literal_eval(stmt.value)
        assert type(value).__name__ == stmt.annotation.id, stmt.target.id
        found[stmt.target.id] = type(value)
    assert found == PARAMETERS
    assert "=" not in "".join(
        line.split("#", 1)[1] for line in cell.source.splitlines() if "#" in line
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_outputs_are_stripped(path: Path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == []
            assert cell["execution_count"] is None
    assert nbformat.validate(nbformat.reads(path.read_text(encoding="utf-8"), 4)) is None


def contract_phrases() -> set[str]:
    """How the bundled contract's numbers would read in prose (whitespace removed)."""
    c = load_contract()
    phrases = {f"{g.min_score:g}分" for g in c.grades if g.min_score}
    phrases |= {f"不少于{c.livestream_min_per_month}场", format_ratio(c.at_risk_ratio)}
    phrases |= {format_ratio(float(c.unqualified_deduction))}
    phrases |= {format_ratio(float(1 - c.unqualified_deduction))}
    phrases |= {format_ratio(TARGET_PROBABILITY)}
    advances = sum(a.amount for a in c.advances)
    phrases |= {f"{advances / 10000:g}万元", format_money(advances, 0)}
    phrases |= {f"{a.amount / 10000:g}万元" for a in c.advances}
    return phrases


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_markdown_states_no_contract_number(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    phrases = contract_phrases()
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            text = "".join(cell.source.split())
            assert not [p for p in phrases if p in text], cell.source


# --------------------------------------------------------------------------------------------
# Execution on the sample year


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A sample raw folder (plus an activity titled like a script tag) and a metrics cache."""
    root = tmp_path_factory.mktemp("notebooks")
    raw = root / "raw"
    write_sample(raw, seed=2025)
    write_csv(
        raw / "活动_补充.csv",
        [["活动名称", "活动时间", "活动形式"], [XSS, "2025-08-08", None]],
    )
    cache = root / "cache"
    built = bundle.build_metrics(raw, dt.date(2025, 9, 30), quarter="2025Q3", draws=2000)
    bundle.save_metrics(built, cache)
    return {"root": root, "raw": raw, "cache": cache, "charts": root / "charts"}


def _execute(name: str, workspace: dict[str, Path], **parameters) -> nbformat.NotebookNode:
    import papermill

    out = workspace["root"] / "out" / name
    out.parent.mkdir(exist_ok=True)
    params = {"quarter": "2025Q3", "raw_dir": str(workspace["raw"]), "draws": 2000, **parameters}
    papermill.execute_notebook(
        str(NOTEBOOKS_DIR / name),
        str(out),
        parameters=params,
        cwd=str(NOTEBOOKS_DIR),
        kernel_name="python3",
        progress_bar=False,
        log_output=False,
    )
    return nbformat.read(out, as_version=4)


def _check_clean_run(nb: nbformat.NotebookNode) -> str:
    """Every code cell ran without an error or stderr output; returns all output text."""
    texts = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        assert cell.execution_count is not None
        for output in cell.outputs:
            assert output.output_type != "error", output
            if output.output_type == "stream":
                assert output.name != "stderr", output.text
                texts.append(output.text)
            for mime, data in output.get("data", {}).items():
                if not mime.startswith("image/"):
                    texts.append(data if isinstance(data, str) else "".join(data))
    text = "\n".join(texts)
    assert "Glyph" not in text and "missing from font" not in text
    return text


@pytest.mark.slow
def test_data_quality_from_raw(workspace: dict[str, Path]) -> None:
    text = _check_clean_run(_execute("05_data_quality.ipynb", workspace))
    assert "被拒绝" in text or "拒绝" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert XSS not in text


@pytest.mark.slow
def test_kpi_attainment_from_cache(workspace: dict[str, Path]) -> None:
    nb = _execute("02_kpi_attainment.ipynb", workspace, cache_dir=str(workspace["cache"]))
    text = _check_clean_run(nb)
    assert "基础分" in text
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) == 2


@pytest.mark.slow
def test_forecast_from_raw(workspace: dict[str, Path]) -> None:
    nb = _execute("03_forecast.ipynb", workspace)
    text = _check_clean_run(nb)
    assert "模拟" in text and "档次" in text
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) == 3


@pytest.mark.slow
def test_event_mix_from_cache_exports_charts(workspace: dict[str, Path]) -> None:
    charts = workspace["charts"]
    nb = _execute(
        "04_event_mix.ipynb",
        workspace,
        cache_dir=str(workspace["cache"]),
        charts_dir=str(charts),
    )
    _check_clean_run(nb)
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) == 6  # each chart shown once (no pyplot anywhere: no echo)
    names = {p.name for p in charts.iterdir()}
    for chart in (
        "activities_by_category",
        "online_offline",
        "tag_overlap",
        "tag_upset",
        "livestreams",
    ):
        assert {f"{chart}.png", f"{chart}.svg"} <= names
