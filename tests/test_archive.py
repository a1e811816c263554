"""The report archive: summary.json, the change since last quarter, the run log and the index."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from reporting import QUARTER, copy_notebooks, report_main, write_tiny_raw

from qyzj_analytics.contract.model import load_contract
from qyzj_analytics.errors import DataError, Location, UsageError
from qyzj_analytics.reporting.archive import index, runs, summary
from qyzj_analytics.reporting.report.lock import lock_quarter
from qyzj_analytics.reporting.report.options import ReportOptions

INJECTED = "<script>alert(1)</script>"


def _table(actual: float, attainment: float) -> pd.DataFrame:
    return pd.DataFrame(
        {"指标": ["服务企业家次"], "单位": ["家次"], "实际": [actual], "完成率": [attainment]},
        index=pd.Index(["enterprises_served"], name="id"),
    )


def _summary(quarter: str, base: float, **extra: object) -> dict:
    data = {
        "version": summary.SUMMARY_VERSION,
        "quarter": quarter,
        "as_of": "2025-06-30",
        "contract_name": "合同",
        "grade_name": "合格",
        "base": base,
        "behind": 2,
        "is_sample": False,
        "kpis": {"enterprises_served": {"name": "服务企业家次", "actual": 900, "attainment": 0.45}},
    }
    return {**data, **extra}


def _publish(out: Path, quarter: str, data: dict | None) -> Path:
    folder = out / quarter
    folder.mkdir(parents=True)
    (folder / "report.html").write_text("<html></html>", encoding="utf-8")
    if data is not None:
        (folder / summary.SUMMARY_NAME).write_text(json.dumps(data), encoding="utf-8")
    return folder


# ------------------------------------------------------------------------------------------------
# quarter-over-quarter


def test_change_column_states_actual_and_attainment() -> None:
    previous = _summary("2025Q2", 70.0)
    texts = summary.change_column(_table(1400.0, 0.7), previous, "2025Q2 报告")
    assert texts == ["实际 +500，完成率 +25.0 个百分点"]
    texts = summary.change_column(_table(800.0, 0.4), previous, summary.RECOMPUTED)
    assert texts == ["实际 -100，完成率 -5.0 个百分点（按当前数据重算）"]
    assert summary.change_column(_table(900.0, 0.4499), previous, "") == [
        "实际 +0，完成率 +0.0 个百分点"  # never "-0.0"
    ]
    assert summary.change_column(_table(1.0, 0.1), None, summary.FIRST_QUARTER) == [
        "首个季度，无上季度报告"
    ]


def _options(raw: Path, out: Path, quarter: str, as_of: dt.date) -> ReportOptions:
    return ReportOptions(quarter=quarter, as_of=as_of, raw_dir=raw, out_dir=out)


def test_previous_summary_reads_the_saved_one_else_recomputes(tmp_path: Path) -> None:
    contract = load_contract()
    raw = write_tiny_raw(tmp_path / "raw")
    out = tmp_path / "reports"
    first = _options(raw, out, "2025Q1", dt.date(2025, 3, 31))
    assert summary.previous_summary(first, contract) == (None, summary.FIRST_QUARTER)
    second = _options(raw, out, "2025Q2", dt.date(2025, 6, 30))
    recomputed, basis = summary.previous_summary(second, contract)
    assert basis == summary.RECOMPUTED and recomputed is not None
    assert recomputed["quarter"] == "2025Q1" and recomputed["as_of"] == "2025-03-31"
    from qyzj_analytics.reporting.bundle import build_metrics

    whole = build_metrics(raw, dt.date(2025, 3, 31), contract, quarter="2025Q1", forecast=False)
    assert recomputed == summary.build_summary(whole, contract)  # the score and KPI table only
    saved = _summary("2025Q1", 10.0, contract_id=summary.contract_id(contract))
    _publish(out, "2025Q1", saved)
    assert summary.previous_summary(second, contract) == (saved, "2025Q1 报告")
    _publish(out, "2025Q2", _summary("2025Q2", 10.0, contract_id="另一份合同"))
    third = _options(raw, out, "2025Q3", dt.date(2025, 9, 30))
    assert summary.previous_summary(third, contract)[1] == summary.RECOMPUTED  # not this contract


# ------------------------------------------------------------------------------------------------
# index and run log


def test_index_lists_quarters_escaped_with_a_trend_chart(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    _publish(out, "2025Q1", _summary("2025Q1", 29.987, grade_name=INJECTED))
    _publish(out, "2025Q2", _summary("2025Q2", 77.263, is_sample=True))
    _publish(out, "2025Q3", None)  # a report from before the archive: listed without a grade
    (out / "2025Q4.failed").mkdir()
    (out / runs.RUNS_NAME).write_text(
        json.dumps({"quarter": "2025Q3", "exit_code": 3, "status": "失败", "failure": INJECTED})
        + "\nnot json\n",
        encoding="utf-8",
    )
    page = index.write_index(out).read_text(encoding="utf-8")
    assert "<script" not in page and "&lt;script&gt;" in page
    assert 'href="2025Q1/report.html"' in page
    assert (
        'href="2025Q2/2025Q2_%E8%BF%90%E8%90%A5%E6%83%85%E5%86%B5%E6%8A%A5%E5%91%8A.docx"' in page
    )
    assert "2025Q4" not in page.split("<h2>趋势</h2>")[0]
    assert "29.98" in page and "77.26" in page  # scores cut, never rounded up
    assert "<svg" in page and "<polyline" in page and "基础分" in page
    assert "示例数据" in page
    assert "失败" in page and 'class="fail"' in page
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def _args(out: Path, quarter: str = QUARTER) -> argparse.Namespace:
    return argparse.Namespace(quarter=quarter, out=out, notify=None)


def test_record_run_logs_failures_and_the_lock(tmp_path: Path) -> None:
    out = tmp_path / "reports"

    def bad_data(args: argparse.Namespace, run: runs.RunRecord) -> int:
        run.known(QUARTER, dt.date(2025, 9, 30), out)
        raise DataError("缺少必需的列", Location(file="活动.xlsx", sheet="1月", row=3))

    with pytest.raises(DataError):
        runs.record_run(_args(out), bad_data)
    with lock_quarter(tmp_path, QUARTER):

        def locked(args: argparse.Namespace, run: runs.RunRecord) -> int:
            run.known(QUARTER, dt.date(2025, 9, 30), tmp_path)
            with lock_quarter(tmp_path, QUARTER):
                return 0

        with pytest.raises(Exception) as exc:
            runs.record_run(_args(tmp_path), locked)
    assert getattr(exc.value, "exit_code", None) == 5
    entries = [json.loads(line) for line in (out / runs.RUNS_NAME).read_text().splitlines()]
    assert len(entries) == 1
    assert entries[0]["exit_code"] == 3 and entries[0]["quarter"] == QUARTER
    assert "活动.xlsx" in entries[0]["failure"] and "1月" in entries[0]["failure"]
    assert {"start", "end", "grade"} <= set(entries[0])
    assert "活动.xlsx" in (out / "index.html").read_text(encoding="utf-8")
    locked_entry = json.loads((tmp_path / runs.RUNS_NAME).read_text().splitlines()[-1])
    assert locked_entry["exit_code"] == 5 and "另一次运行" in locked_entry["status"]


def test_bad_arguments_before_the_out_folder_are_not_logged(tmp_path: Path) -> None:
    def bad(args: argparse.Namespace, run: runs.RunRecord) -> int:
        raise UsageError("季度不对")

    with pytest.raises(UsageError):
        runs.record_run(_args(tmp_path / "reports"), bad)
    assert not (tmp_path / "reports").exists()


def test_a_crash_is_logged_and_raised(tmp_path: Path) -> None:
    def crash(args: argparse.Namespace, run: runs.RunRecord) -> int:
        run.known(QUARTER, dt.date(2025, 9, 30), tmp_path)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        runs.record_run(_args(tmp_path), crash)
    entry = runs.read_runs(tmp_path)[0]
    assert entry["exit_code"] == 1 and "RuntimeError: boom" in entry["failure"]


def test_reports_lock_is_separate_from_the_quarter_lock(tmp_path: Path) -> None:
    with lock_quarter(tmp_path, QUARTER), runs.lock_reports(tmp_path, timeout=1):
        assert (tmp_path / runs.REPORTS_LOCK).exists()


# ------------------------------------------------------------------------------------------------
# Whole runs


@pytest.mark.slow
def test_three_quarters_give_an_index_and_the_change(tmp_path: Path) -> None:
    raw = write_tiny_raw(tmp_path / "raw")
    out = tmp_path / "reports"
    ok = copy_notebooks(tmp_path / "nb", ["10_ok"])
    kpi = tmp_path / "kpi"
    kpi.mkdir()
    project = Path(__file__).resolve().parents[1] / "notebooks" / "02_kpi_attainment.ipynb"
    (kpi / project.name).write_bytes(project.read_bytes())
    base = ["--raw", str(raw), "--out", str(out), "--draws", "300"]
    for quarter, notebooks in (("2025Q1", ok), ("2025Q2", ok), ("2025Q3", kpi)):
        code, err = report_main(["--quarter", quarter, *base, "--notebooks", str(notebooks)])
        assert code == 0, err
    for quarter in ("2025Q1", "2025Q2", "2025Q3"):
        saved = json.loads((out / quarter / "summary.json").read_text(encoding="utf-8"))
        assert saved["quarter"] == quarter and saved["grade_name"]
        assert set(saved["kpis"]["enterprises_served"]) >= {"actual", "attainment", "status"}
    page = (out / "index.html").read_text(encoding="utf-8")
    for quarter in ("2025Q1", "2025Q2", "2025Q3"):
        assert f'href="{quarter}/report.html"' in page
    assert page.count("<polyline") >= 2
    assert page.count("<td>成功</td>") == 3
    report = (out / "2025Q3" / "report.html").read_text(encoding="utf-8")
    assert "较上季度" in report and "完成率 +" in report and summary.RECOMPUTED not in report


def test_concurrent_runs_each_leave_one_whole_line(tmp_path: Path) -> None:
    import threading

    def log(n: int) -> None:
        runs.log_run(tmp_path, {"quarter": f"2025Q{n % 4 + 1}", "exit_code": 0, "n": n})

    threads = [threading.Thread(target=log, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = (tmp_path / runs.RUNS_NAME).read_text(encoding="utf-8").splitlines()
    assert sorted(json.loads(line)["n"] for line in lines) == list(range(8))
    assert (tmp_path / "index.html").read_text(encoding="utf-8").endswith("</html>\n")
    assert not list(tmp_path.glob(".index.html.*"))  # no temporary file left
