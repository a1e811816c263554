"""Publishing a report where folders cannot be renamed over each other, and the portable lock.

Windows behaviour is injected: no ``renameat2`` exchange, and the PermissionError Windows raises
when a file of the old report is open in Word or Excel.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from reporting import QUARTER, copy_notebooks, report_main, write_tiny_raw

from qyzj_analytics.reporting.report import publish as publishing
from qyzj_analytics.reporting.report.lock import lock_quarter
from qyzj_analytics.reporting.report.options import ReportLocked
from qyzj_analytics.reporting.report.publish import PublishBlocked, publish

ROOT = Path(__file__).resolve().parents[1]


def _report(folder: Path, text: str) -> Path:
    (folder / "charts").mkdir(parents=True)
    (folder / "report.html").write_text(text)
    (folder / f"kpi_{QUARTER}.xlsx").write_text(text)
    return folder


@pytest.fixture
def no_exchange(monkeypatch: pytest.MonkeyPatch) -> None:
    """Publish as on Windows: no atomic exchange of two folders."""
    monkeypatch.setattr(publishing, "_exchange", lambda a, b: False)


def _block_renaming(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Renaming ``folder`` fails as on Windows when a file in it is open."""
    real = os.replace

    def replace(src: object, dst: object) -> None:
        if Path(str(src)) == folder:
            raise PermissionError(13, "另一个程序正在使用此文件，进程无法访问。", str(src))
        real(src, dst)

    monkeypatch.setattr(publishing.os, "replace", replace)


def test_publish_without_exchange_replaces_the_old_report(tmp_path: Path, no_exchange) -> None:
    target = _report(tmp_path / QUARTER, "old")
    (target / "stale.txt").write_text("x")
    staging = _report(tmp_path / ".staging", "new")
    publish(staging, target)
    assert (target / "report.html").read_text() == "new" and not (target / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [QUARTER]


def test_publish_on_linux_uses_the_exchange(tmp_path: Path, monkeypatch) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("renameat2 is Linux only")
    calls: list[tuple[Path, Path]] = []
    real = publishing._exchange

    def spy(a: Path, b: Path) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(publishing, "_exchange", spy)
    target = _report(tmp_path / QUARTER, "old")
    publish(_report(tmp_path / ".staging", "new"), target)
    assert calls and (target / "report.html").read_text() == "new"


def test_an_open_file_keeps_the_old_report_and_names_the_file(
    tmp_path: Path, no_exchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = _report(tmp_path / QUARTER, "old")
    staging = _report(tmp_path / ".staging", "new")
    _block_renaming(monkeypatch, target)
    held = target / f"kpi_{QUARTER}.xlsx"
    monkeypatch.setattr(publishing, "_is_held_open", lambda path: path == held)
    with pytest.raises(PublishBlocked) as caught:
        publish(staging, target)
    assert caught.value.exit_code == 4
    message = str(caught.value)
    assert str(held) in message and "旧报告保持不变" in message
    assert str(tmp_path / f"{QUARTER}.failed") in message
    assert (target / "report.html").read_text() == "old"
    assert (tmp_path / f"{QUARTER}.failed" / "report.html").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == [QUARTER, f"{QUARTER}.failed"]


def test_an_open_file_it_cannot_find_names_the_folder(
    tmp_path: Path, no_exchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = _report(tmp_path / QUARTER, "old")
    _block_renaming(monkeypatch, target)
    with pytest.raises(PublishBlocked, match=f"旧报告 {target} 中有文件正被其他程序打开"):
        publish(_report(tmp_path / ".staging", "new"), target)
    assert (target / "report.html").read_text() == "old"


def test_a_failed_move_in_puts_the_old_report_back(
    tmp_path: Path, no_exchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = _report(tmp_path / QUARTER, "old")
    staging = _report(tmp_path / ".staging", "new")
    _block_renaming(monkeypatch, staging)
    with pytest.raises(PublishBlocked):
        publish(staging, target)
    assert (target / "report.html").read_text() == "old"
    assert not any(p.name.startswith(f".{QUARTER}.old-") for p in tmp_path.iterdir())


@pytest.mark.slow
def test_report_with_an_open_old_report_exits_4(
    tmp_path: Path, no_exchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = write_tiny_raw(tmp_path / "raw")
    out = tmp_path / "reports"
    notebooks = copy_notebooks(tmp_path / "nb", ["10_ok"])
    argv = ["--quarter", QUARTER, "--raw", str(raw), "--out", str(out), "--draws", "500"]
    argv += ["--notebooks", str(notebooks)]
    code, err = report_main(argv)
    assert code == 0, err
    before = (out / QUARTER / "report.html").read_bytes()
    held = out / QUARTER / "report.html"
    _block_renaming(monkeypatch, out / QUARTER)
    monkeypatch.setattr(publishing, "_is_held_open", lambda path: path == held)
    code, err = report_main(argv)
    assert code == 4, err
    assert str(held) in err and "Traceback" not in err
    assert (out / QUARTER / "report.html").read_bytes() == before
    assert (out / f"{QUARTER}.failed" / "report.html").is_file()
    leftovers = [p.name for p in out.iterdir() if ".tmp-" in p.name or ".old-" in p.name]
    assert leftovers == []


# ------------------------------------------------------------------------------------------------
# The lock


def test_lock_held_by_another_process_names_it(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, time
                from pathlib import Path
                from qyzj_analytics.reporting.report.lock import lock_quarter
                with lock_quarter(Path({str(tmp_path)!r}), {QUARTER!r}):
                    print("held", flush=True)
                    sys.stdin.readline()
                """
            ),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with (
            pytest.raises(ReportLocked, match=f"进程 {holder.pid}"),
            lock_quarter(tmp_path, QUARTER),
        ):
            pass
    finally:
        holder.communicate("\n", timeout=30)
    with lock_quarter(tmp_path, QUARTER) as path:  # released when the holder ended
        assert path.read_text().strip() == str(os.getpid())
    assert path.exists()  # the lock file stays: unlinking it would race


def test_lock_is_not_reentrant_across_runs_in_one_process(tmp_path: Path) -> None:
    with (
        lock_quarter(tmp_path, QUARTER),
        pytest.raises(ReportLocked),
        lock_quarter(tmp_path, QUARTER),
    ):
        pass
    with lock_quarter(tmp_path, "2025Q4"), lock_quarter(tmp_path, QUARTER):
        pass  # quarters lock separately
