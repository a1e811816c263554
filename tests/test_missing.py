"""Missing exports (DESIGN "Missing tables"): a table without an export is missing, not empty.

A raw folder without the appeals export scores 企业诉求办结率 as missing (no actual, 0 points)
in every output; a folder without any recognised export is bad input (exit 3) and nothing is
written; without facts.yaml the award bonus is 0 and a note says so.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import shutil
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from builders import CONTRACT, activity, context
from reporting import QUARTER, copy_notebooks, report_main, write_tiny_raw

from qyzj_analytics.cli import main
from qyzj_analytics.forecast.horizon import build_horizon
from qyzj_analytics.forecast.outlook import forecast_outlook, outlook_to_dict
from qyzj_analytics.forecast.plan import plan_actions
from qyzj_analytics.forecast.simulate import simulate_year_end
from qyzj_analytics.ingest.pipeline import prepare
from qyzj_analytics.ingest.read import read_raw_dir
from qyzj_analytics.sample.generate import write_sample
from qyzj_analytics.scoring.assessment import assess
from qyzj_analytics.scoring.kpi import KpiContext

AS_OF = dt.date(2025, 9, 30)
RATE = "appeal_resolution_rate"


@pytest.fixture(scope="module")
def sample_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = tmp_path_factory.mktemp("sample") / "raw"
    write_sample(raw, seed=2025)
    return raw


def without_table(raw: Path, table: str, dest: Path) -> Path:
    """A copy of ``raw`` without the files whose recognised table is ``table``."""
    shutil.copytree(raw, dest)
    found = [f.path for f in read_raw_dir(raw).files if table in f.tables]
    assert found, f"no {table} export in {raw}"
    for name in found:
        (dest / name).unlink()
    return dest


@pytest.fixture(scope="module")
def no_appeals(sample_raw: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return without_table(sample_raw, "appeals", tmp_path_factory.mktemp("na") / "raw")


def kpi_json(raw: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    assert main(["kpi", "--raw", str(raw), "--as-of", AS_OF.isoformat(), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


# ------------------------------------------------------------------------------------------------
# ingest


def test_ingest_tells_present_from_missing(no_appeals: Path, tmp_path: Path) -> None:
    prepared = prepare(no_appeals, CONTRACT)
    assert prepared.missing_tables == ("appeals",)
    assert "appeals" not in prepared.clean.present
    header_only = write_tiny_raw(tmp_path / "raw")
    (header_only / "诉求.csv").write_text("诉求编号,提交时间,办理状态\n", encoding="utf-8")
    prepared = prepare(header_only, CONTRACT)
    assert "appeals" in prepared.clean.present  # recognised, zero rows: present, not missing
    assert len(prepared.clean.tables["appeals"]) == 0


def test_present_appeals_without_accepted_rows_rate_one_missing_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = write_tiny_raw(tmp_path / "raw")
    assert kpi_json(raw, capsys)["kpis"][RATE]["status"] == "missing"
    (raw / "诉求.csv").write_text("诉求编号,提交时间,办理状态\nA1,2025-03-01,已退回\n", "utf-8")
    rate = kpi_json(raw, capsys)["kpis"][RATE]
    assert rate["actual"] == 1 and rate["points"] == 10 and rate["status"] != "missing"


# ------------------------------------------------------------------------------------------------
# scoring


def test_missing_appeals_scores_zero_and_is_named(
    sample_raw: Path, no_appeals: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    full = kpi_json(sample_raw, capsys)
    data = kpi_json(no_appeals, capsys)
    rate = data["kpis"][RATE]
    assert rate["actual"] is None and rate["attainment"] is None
    assert rate["expected_to_date"] is None
    assert rate["status"] == "missing" and rate["points"] == 0
    assert data["missing_tables"] == ["appeals"] and full["missing_tables"] == []
    points = sum(k["points"] for k in data["kpis"].values())
    assert data["score"]["base"] == pytest.approx(points, abs=1e-3)
    assert data["score"]["base"] == pytest.approx(
        full["score"]["base"] - full["kpis"][RATE]["points"], abs=1e-3
    )
    assert any("缺少导出：企业诉求" in n and "下限" in n for n in data["notes"])

    assert main(["kpi", "--raw", str(no_appeals), "--as-of", AS_OF.isoformat()]) == 0
    text = capsys.readouterr().out
    row = next(line for line in text.splitlines() if line.startswith("企业诉求办结率"))
    assert "缺少导出" in row and "0.00" in row
    assert "缺少导出：企业诉求" in text

    argv = ["kpi", "--raw", str(no_appeals), "--as-of", "2025-09-30", "--explain", RATE]
    assert main(argv) == 0
    assert "缺少导出" in capsys.readouterr().out


def test_no_facts_gives_no_award_bonus_and_says_so(
    sample_raw: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = shutil.copytree(sample_raw, tmp_path / "raw")
    (raw / "facts.yaml").unlink()
    argv = ["kpi", "--raw", str(raw), "--as-of", "2025-12-31", "--json"]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    with_facts = kpi_json(sample_raw, capsys)
    assert not any("facts.yaml" in n for n in with_facts["notes"])
    assert any("没有 facts.yaml" in n for n in data["notes"])
    courses = data["kpis"]["mingshi_courses"]
    assert data["score"]["bonus"] == max(0, courses["actual"] - courses["target"])
    assert data["score"]["bonus"] == 0  # the sample accepts no course beyond the target


def test_missing_courses_give_no_course_bonus() -> None:
    ctx = dataclasses.replace(context(), missing=frozenset({"courses"}))
    result = assess(ctx)
    assert result.bonus == 0 and not math.isnan(result.base)
    assert next(k for k in result.kpis if k.id == "mingshi_courses").status == "missing"


# ------------------------------------------------------------------------------------------------
# no export at all


def test_empty_raw_folder_exits_3_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "说明.txt").write_text("x", encoding="utf-8")
    (raw / "facts.yaml").write_text("office_area_m2: 120\n", encoding="utf-8")
    assert main(["kpi", "--raw", str(raw), "--as-of", "2025-09-30", "--json"]) == 3
    err = capsys.readouterr().err
    assert "没有任何可识别的导出" in err and "Traceback" not in err
    assert f"文件夹 {raw}" in err and f"文件 {raw}" not in err  # a folder is not called a file
    out = tmp_path / "processed"
    assert main(["clean", "--raw", str(raw), "--out", str(out)]) == 3
    assert not out.exists()
    assert main(["forecast", "--raw", str(raw), "--as-of", "2025-09-30"]) == 3


@pytest.mark.slow
def test_empty_raw_folder_keeps_the_last_good_report(tmp_path: Path) -> None:
    raw = write_tiny_raw(tmp_path / "raw")
    out = tmp_path / "reports"
    notebooks = copy_notebooks(tmp_path / "nb", ["10_ok"])
    argv = [
        "--quarter",
        QUARTER,
        "--out",
        str(out),
        "--draws",
        "300",
        "--notebooks",
        str(notebooks),
    ]
    code, err = report_main(["--raw", str(raw), *argv])
    assert code == 0, err
    archive = ("index.html", "runs.jsonl")  # the run log and its index record the failure too
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name not in archive}

    empty = tmp_path / "empty"
    empty.mkdir()
    code, err = report_main(["--raw", str(empty), *argv])
    assert code == 3, err
    assert "没有任何可识别的导出" in err
    assert {
        p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name not in archive
    } == before


# ------------------------------------------------------------------------------------------------
# forecast and plan


def test_forecast_keeps_a_missing_kpi_missing(
    no_appeals: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["forecast", "--raw", str(no_appeals), "--as-of", "2025-09-30", "--draws", "400"]
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    rate = data["kpis"][RATE]
    assert rate["status"] == "missing" and rate["method"] == "missing"
    assert rate["actual"] is None and rate["p50"] is None and rate["p_target"] is None
    assert data["plan"]["missing"] == ["企业诉求办结率"]
    assert "缺少导出，无法规划：企业诉求办结率" in data["plan"]["statement"]
    assert "企业诉求办结率" not in data["plan"]["limiting"]
    assert any("缺少导出：企业诉求" in n for n in data["notes"])
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "缺少导出，无法规划：企业诉求办结率" in text
    assert "缺少导出" in next(x for x in text.splitlines() if x.startswith("企业诉求办结率"))

    prepared = prepare(no_appeals, CONTRACT)
    ctx = KpiContext.of(prepared, CONTRACT, AS_OF)
    sim = simulate_year_end(ctx, 300, 5)
    assert np.isnan(sim.values[RATE]).all() and sim.missing == (RATE,)


def test_planner_drops_the_levers_of_missing_kpis(sample_raw: Path) -> None:
    prepared = prepare(sample_raw, CONTRACT)
    full = KpiContext.of(prepared, CONTRACT, AS_OF)
    horizon = build_horizon(CONTRACT, AS_OF)
    plan = plan_actions(simulate_year_end(full, 500, 3), full, horizon)
    assert plan.missing == [] and "缺少导出" not in plan.statement
    no_acts = dataclasses.replace(full, missing=frozenset({"activities"}))
    partial = plan_actions(simulate_year_end(no_acts, 500, 3), no_acts, horizon)
    ids = [lv.id for lv in partial.levers]
    activity_levers = {"alliance_events", "park_events", "xiaowei_nihao_events", "policy_sessions"}
    assert "enterprises_served" in ids and not activity_levers & set(ids)
    assert not any("livestream" in i for i in ids)  # the activity export feeds livestreams too
    assert {lv.id for lv in plan.levers} >= activity_levers  # present when the export is
    assert "线下公益活动" in partial.missing and "直播达标月份" in partial.missing
    assert "缺少导出，无法规划：" in partial.statement
    # nothing missing: the same draws give the same plan as before the change of contexts
    again = plan_actions(simulate_year_end(full, 500, 3), full, horizon)
    assert (again.extra, again.statement) == (plan.extra, plan.statement)


def test_activities_missing_forecast_runs_without_activity_draws(sample_raw: Path) -> None:
    prepared = prepare(sample_raw, CONTRACT)
    ctx = dataclasses.replace(
        KpiContext.of(prepared, CONTRACT, AS_OF), missing=frozenset({"activities"})
    )
    outlook = forecast_outlook(ctx, draws=300, seed=2)
    data = outlook_to_dict(outlook)
    assert data["kpis"]["offline_events"]["status"] == "missing"
    assert data["kpis"]["enterprises_served"]["status"] == "forecast"
    assert json.dumps(data)  # valid JSON: no NaN anywhere
    assert "NaN" not in json.dumps(data)


# ------------------------------------------------------------------------------------------------
# reporting


@pytest.fixture(scope="module")
def metrics(no_appeals: Path):
    from qyzj_analytics.reporting.bundle import build_metrics

    return build_metrics(no_appeals, AS_OF, CONTRACT, quarter=QUARTER, draws=300)


def test_report_parts_name_the_missing_export(metrics, tmp_path: Path) -> None:
    from qyzj_analytics.reporting import narrative, styles
    from qyzj_analytics.reporting.bundle import load_metrics, save_metrics
    from qyzj_analytics.reporting.report.cover import cover_cell
    from qyzj_analytics.reporting.report.options import ReportOptions
    from qyzj_analytics.reporting.report.workbook import write_kpi_xlsx

    assert metrics.kpi_table.loc[RATE, "状态"] == "缺少导出"
    assert metrics.kpi_table.loc[RATE, "得分"] == 0 and np.isnan(
        metrics.kpi_table.loc[RATE, "实际"]
    )
    assert RATE not in set(metrics.burnups["kpi_id"])
    assert "缺少导出" in narrative.describe_attainment(metrics)
    assert "企业诉求办结率" in narrative.describe_attainment(metrics)
    assert "缺少导出，无法规划" in narrative.describe_plan(metrics)
    html = styles.style_kpi_table(metrics.kpi_table).to_html()
    assert "#9e9e9e" in html and "缺少导出" in html
    assert "缺少导出" in styles.style_forecast_table(metrics.forecast.kpis).to_html()
    assert load_metrics(save_metrics(metrics, tmp_path / "cache")).score["missing_exports"] == [
        "企业诉求"
    ]

    options = ReportOptions(QUARTER, AS_OF, Path("raw"), tmp_path / "out")
    cover = cover_cell(options, CONTRACT, metrics).source
    assert "缺少导出：企业诉求" in cover
    path = write_kpi_xlsx(tmp_path / "kpi.xlsx", options, CONTRACT, metrics)
    ws = openpyxl.load_workbook(path)["KPI达成"]
    row = next(r for r in ws.iter_rows(min_row=5) if r[1].value == "企业诉求办结率")
    assert row[8].value == "缺少导出" and row[8].fill.fgColor.rgb.endswith("D9D9D9")
    assert row[4].value is None and row[10].value == 0
    texts = [c.value for r in ws.iter_rows() for c in r if isinstance(c.value, str)]
    assert any(t.startswith("缺少导出：企业诉求") for t in texts)


def test_charts_grey_or_skip_missing_kpis(metrics) -> None:
    from qyzj_analytics.reporting import charts

    fig = charts.plot_kpi_attainment(metrics.kpi_table, AS_OF)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "缺少导出" in texts and not any("nan" in t for t in texts)
    empty = metrics.burnups.iloc[:0]
    fig = charts.plot_burnup_grid(empty, metrics.kpi_table, AS_OF)
    assert fig is not None
    fig = charts.plot_burnup_grid(metrics.burnups, metrics.kpi_table, AS_OF, metrics.forecast.bands)
    assert fig.axes


def test_event_mix_says_activities_are_missing(metrics) -> None:
    from qyzj_analytics.reporting import narrative

    assert "缺少导出" not in narrative.describe_event_mix(metrics)
    score = {**metrics.score, "missing_exports": ["活动台账"]}
    text = narrative.describe_event_mix(dataclasses.replace(metrics, score=score))
    assert "缺少导出" in text and "活动台账" in text


def test_clean_names_missing_exports(
    no_appeals: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "processed"
    assert main(["clean", "--raw", str(no_appeals), "--out", str(out)]) == 0
    assert "缺少导出：企业诉求" in capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["missing_tables"] == ["appeals"]


def test_builders_context_has_nothing_missing() -> None:
    ctx = context(activities=[activity("走进小微园", "2025-03-01")])
    assert ctx.missing_kpis() == () and all(not a.missing for a in assess(ctx).actuals.values())


def test_raw_path_that_is_a_file_is_called_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    afile = tmp_path / "导出.csv"
    afile.write_text("x", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_:
        main(["clean", "--raw", str(afile), "--out", str(tmp_path / "out")])
    assert exit_.value.code == 2
    assert "不是文件夹" in capsys.readouterr().err
