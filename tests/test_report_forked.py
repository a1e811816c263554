"""Notebooks run in processes forked from a warm worker (reporting/report/forked.py), the page
rendered by a process forked at start-up (pageproc.py), and the metrics built in two stages
(precompute.py): the report they make is the one the kernel path makes."""

from __future__ import annotations

import contextlib
import json
import re
import time
import zipfile
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from qyzj_analytics.contract.model import load_contract
from qyzj_analytics.ingest.discover import SAMPLE_MARKER
from qyzj_analytics.reporting import bundle
from qyzj_analytics.reporting.report import build
from qyzj_analytics.reporting.report.forked import ForkedRunner, fork_available
from qyzj_analytics.reporting.report.inprocess import register_engine
from qyzj_analytics.reporting.report.kernels import NotebookRunner, execute_notebook
from qyzj_analytics.reporting.report.precompute import needs_forecast
from tests.reporting import PROJECT_NOTEBOOKS, QUARTER, report_main, write_notebook

pytestmark = pytest.mark.skipif(not fork_available(), reason="forked notebooks: Linux only")
v4 = nbformat.v4


def _outputs(path: Path) -> list[list[dict]]:
    return [[dict(o) for o in c.get("outputs", [])] for c in nbformat.read(path, 4).cells]


def test_forked_notebooks_give_what_in_process_gives(tmp_path: Path) -> None:
    folder = tmp_path / "nbs"
    folder.mkdir()
    ok = write_notebook(
        folder, "1_ok.ipynb", ["print('x =', x)", "import os\nos.getpid() > 0", "x * 2"]
    )
    bad = write_notebook(folder, "2_bad.ipynb", ["y = x + 1", "1 / 0", "print('never')"])
    crash = write_notebook(folder, "3_crash.ipynb", ["import os\nos._exit(3)"])
    with ForkedRunner([ok, bad, crash]) as runner:
        runner.submit([ok], {"x": 5}, {}, tmp_path / "out")  # a first stage
        runner.submit([bad, crash], {"x": 7}, {}, tmp_path / "out")  # its own parameters
        runs = runner.finish([(lambda: True, lambda: None)])
    assert [r.name for r in runs] == ["1_ok.ipynb", "2_bad.ipynb", "3_crash.ipynb"]
    assert runs[0].error is None
    assert _outputs(tmp_path / "out" / "1_ok.ipynb")[2][0]["text"] == "x = 5\n"
    assert _outputs(tmp_path / "out" / "1_ok.ipynb")[4][0]["data"]["text/plain"] == "10"
    engine = register_engine()
    here = execute_notebook(bad, tmp_path / "here.ipynb", {"x": 7}, engine=engine)
    assert runs[1].error == here.error and "ZeroDivisionError" in (here.error or "")
    a, b = _outputs(tmp_path / "out" / "2_bad.ipynb"), _outputs(tmp_path / "here.ipynb")
    for out in [o for cell in a + b for o in cell]:
        out.pop("traceback", None)
    assert a == b
    assert runs[2].error is not None and "退出码 3" in runs[2].error  # the process died


def test_a_failing_task_stops_every_notebook_process(tmp_path: Path) -> None:
    slow = write_notebook(tmp_path, "1_slow.ipynb", ["import time\ntime.sleep(60)"])
    runner = ForkedRunner([slow])

    def fail() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"), runner:
        runner.submit([slow], {}, {}, tmp_path / "out")
        runner.finish([(lambda: True, fail)])
    group = runner._pid
    assert group is not None

    def members() -> list[str]:  # live processes of the worker's group (zombies aside)
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if fields[0] != "Z" and int(fields[2]) == group:
                    found.append(stat.parent.name)
        return found

    for _ in range(100):  # the notebook process gets SIGTERM with the worker
        if not members():
            break
        time.sleep(0.05)
    assert not members()
    assert not (tmp_path / "out" / "1_slow.ipynb").exists()


def test_which_notebooks_need_the_forecast(tmp_path: Path) -> None:
    found = {p.name: needs_forecast(p) for p in sorted(PROJECT_NOTEBOOKS.glob("[0-9]*.ipynb"))}
    assert found == {
        "02_kpi_attainment.ipynb": True,
        "03_forecast.ipynb": True,
        "04_event_mix.ipynb": False,
        "05_data_quality.ipynb": False,
    }
    call = "m = bundle.load_or_build_metrics(cache_dir, raw_dir, quarter, forecast=False)"
    assert not needs_forecast(write_notebook(tmp_path, "a.ipynb", [call, "m.parks"]))
    assert needs_forecast(write_notebook(tmp_path, "b.ipynb", [call, "m.kpi_table"]))  # 较上季度
    assert needs_forecast(write_notebook(tmp_path, "c.ipynb", [call, "m.payment_schedule"]))
    assert needs_forecast(write_notebook(tmp_path, "d.ipynb", ["print(1)"]))  # no cache call
    plain = call.replace(", forecast=False", "")
    assert needs_forecast(write_notebook(tmp_path, "e.ipynb", [plain, "m.parks"]))
    (tmp_path / "f.ipynb").write_text("not json", encoding="utf-8")
    assert needs_forecast(tmp_path / "f.ipynb")


@pytest.fixture(scope="module")
def sample_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from qyzj_analytics.sample.generate import write_sample

    raw = tmp_path_factory.mktemp("forked") / "raw"
    write_sample(raw, seed=2025)
    (raw / SAMPLE_MARKER).touch()
    return raw


def test_two_stage_metrics_equal_one_build(sample_raw: Path) -> None:
    contract = load_contract()
    as_of = bundle.resolve_as_of(QUARTER)
    whole = bundle.build_metrics(sample_raw, as_of, contract, quarter=QUARTER, draws=2000)
    base, assessed = bundle.build_base_metrics(sample_raw, as_of, contract, quarter=QUARTER)
    staged = bundle.add_forecast(base, assessed, draws=2000)
    assert base.forecast is None and staged.forecast is not None
    for name in bundle._SCALARS:
        assert getattr(staged, name) == getattr(whole, name), name
        assert getattr(base, name) == getattr(whole, name), name
    for name in bundle._frame_fields(bundle.Metrics):
        frame = getattr(whole, name)
        pd.testing.assert_frame_equal(getattr(staged, name), frame, obj=name)
        if name != "payment_schedule":  # what the early notebooks read is already final
            pd.testing.assert_frame_equal(getattr(base, name), frame, obj=name)
    for name in bundle._frame_fields(bundle.ForecastMetrics):
        pd.testing.assert_frame_equal(
            getattr(staged.forecast, name), getattr(whole.forecast, name), obj=name
        )
    assert staged.forecast.info == whole.forecast.info


def _page(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"生成时间.*?</td>", "", text)
    return re.sub(r"T_[0-9a-f]{5}", "T_", text)  # pandas' random Styler ids


def _zip_parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if not n.startswith("docProps/")}


@pytest.mark.slow
def test_forked_report_equals_the_kernel_report(
    sample_raw: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = ["--quarter", QUARTER, "--raw", str(sample_raw), "--draws", "2000"]
    code, err = report_main([*argv, "--out", str(tmp_path / "forked")])
    assert code == 0, err
    monkeypatch.setattr(build, "FORKED", False)
    code, err = report_main([*argv, "--out", str(tmp_path / "kernel")])
    assert code == 0, err
    forked, kernel = tmp_path / "forked" / QUARTER, tmp_path / "kernel" / QUARTER
    names = sorted(p.relative_to(forked) for p in forked.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(kernel) for p in kernel.rglob("*") if p.is_file())
    assert _page(forked / "report.html") == _page(kernel / "report.html")
    for chart in (forked / "charts").glob("*.png"):
        assert chart.read_bytes() == (kernel / "charts" / chart.name).read_bytes(), chart.name
    assert json.loads((forked / "summary.json").read_text(encoding="utf-8")) == json.loads(
        (kernel / "summary.json").read_text(encoding="utf-8")
    )
    for name in (f"kpi_{QUARTER}.xlsx", f"{QUARTER}_运营情况报告.docx"):
        assert _zip_parts(forked / name) == _zip_parts(kernel / name), name


def test_the_package_notebooks_run_forked_on_linux(tmp_path: Path) -> None:
    notebooks = sorted(PROJECT_NOTEBOOKS.glob("[0-9]*.ipynb"))
    assert isinstance(build.notebook_runner(notebooks, None), ForkedRunner)
    runner = build.notebook_runner(notebooks, PROJECT_NOTEBOOKS)  # --notebooks: kernels only
    assert isinstance(runner, NotebookRunner) and not runner.in_process


def test_stage_two_cache_links_the_unchanged_tables(sample_raw: Path, tmp_path: Path) -> None:
    contract = load_contract()
    as_of = bundle.resolve_as_of(QUARTER)
    base, assessed = bundle.build_base_metrics(sample_raw, as_of, contract, quarter=QUARTER)
    full = bundle.add_forecast(base, assessed, draws=2000)
    bundle.save_metrics(base, tmp_path / "base")
    bundle.save_metrics(full, tmp_path / "full", like=(base, tmp_path / "base"))
    same = (tmp_path / "full" / "parks.parquet").stat().st_ino
    assert same == (tmp_path / "base" / "parks.parquet").stat().st_ino  # linked, not rewritten
    changed = (tmp_path / "full" / "payment_schedule.parquet").stat().st_ino
    assert changed != (tmp_path / "base" / "payment_schedule.parquet").stat().st_ino
    loaded = bundle.load_metrics(tmp_path / "full")
    for name in bundle._frame_fields(bundle.Metrics):
        pd.testing.assert_frame_equal(getattr(loaded, name), getattr(full, name), obj=name)
    assert loaded.forecast is not None


def test_page_worker_writes_the_page_write_page_writes(tmp_path: Path) -> None:
    from qyzj_analytics.reporting.report.pageproc import PageFailed, PageWorker
    from qyzj_analytics.reporting.report.render import write_page

    folder = tmp_path / "nbs"
    folder.mkdir()
    source = write_notebook(
        folder, "1_ok.ipynb", ["from IPython.display import Markdown\nMarkdown('**粗体**')"]
    )
    executed = tmp_path / "1_ok.ipynb"
    assert execute_notebook(source, executed, {"x": 2}, engine=register_engine()).error is None
    front = [v4.new_markdown_cell("# 封面")]
    (tmp_path / "here").mkdir()
    (tmp_path / "there").mkdir()
    assert write_page(front, [executed], "标题", tmp_path / "here", sample=True) == []
    with PageWorker() as pages:
        pages.start()
        pages.submit(front, [executed], "标题", tmp_path / "there", sample=True)
        assert pages.result() == []
    here = (tmp_path / "here" / "report.html").read_text(encoding="utf-8")
    assert (tmp_path / "there" / "report.html").read_text(encoding="utf-8") == here
    with PageWorker() as pages, pytest.raises(PageFailed, match="FileNotFoundError"):
        pages.start()
        pages.submit(front, [tmp_path / "missing.ipynb"], "标题", tmp_path, sample=False)
        pages.result()
    with PageWorker() as pages:  # never asked for a page: ends with the report
        pages.start()
    assert pages._pid is None


def test_a_lost_page_worker_does_not_lose_the_page(tmp_path: Path) -> None:
    import os
    import signal

    from qyzj_analytics.reporting.report.build import page_result
    from qyzj_analytics.reporting.report.pageproc import PageWorker
    from qyzj_analytics.reporting.report.render import write_page

    folder = tmp_path / "nbs"
    folder.mkdir()
    source = write_notebook(folder, "1_ok.ipynb", ["print('页面')"])
    executed = tmp_path / "1_ok.ipynb"
    assert execute_notebook(source, executed, {}, engine=register_engine()).error is None
    front = [v4.new_markdown_cell("# 封面")]
    (tmp_path / "here").mkdir()
    (tmp_path / "there").mkdir()
    assert write_page(front, [executed], "标题", tmp_path / "here", sample=False) == []
    with PageWorker() as pages:
        pages.start()
        assert pages._pid is not None
        os.kill(pages._pid, signal.SIGKILL)  # the worker dies before it is asked for the page
        pages.submit(front, [executed], "标题", tmp_path / "there", sample=False)
        assert page_result(pages, front, [executed], "标题", tmp_path / "there", False) == []
    here = (tmp_path / "here" / "report.html").read_text(encoding="utf-8")
    assert (tmp_path / "there" / "report.html").read_text(encoding="utf-8") == here


def test_a_lost_notebook_worker_fails_its_notebooks_with_a_message(tmp_path: Path) -> None:
    import os
    import signal

    ok = write_notebook(tmp_path, "1_ok.ipynb", ["x + 1"])
    with ForkedRunner([ok]) as runner:
        runner.start()
        assert runner._pid is not None
        os.kill(runner._pid, signal.SIGKILL)  # gone before any notebook is handed to it
        os.waitpid(runner._pid, 0)
        runner.submit([ok], {"x": 1}, {}, tmp_path / "out")  # no BrokenPipeError
        runs = runner.finish()
    assert [r.name for r in runs] == ["1_ok.ipynb"]
    assert runs[0].error is not None and "意外退出" in runs[0].error
