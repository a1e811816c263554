"""``qyzj forecast`` sets glibc's allocator to reuse freed memory before drawing (issue 16 item 1):
the draws' arrays land on pages already faulted in; the numbers do not change."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest
from test_forecast import ACTIVITIES_CSV

from qyzj_analytics.cli import main
from qyzj_analytics.forecast import allocator


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt only")
def test_glibc_takes_every_setting() -> None:
    code = "from qyzj_analytics.forecast.allocator import keep_freed_memory as k; print(k())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"  # (its own process: the tests' allocator stays as is)


def test_elsewhere_nothing_is_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_library(*args: object) -> None:
        raise AssertionError("no C library call off Linux")

    monkeypatch.setattr(allocator.sys, "platform", "win32")
    monkeypatch.setattr(allocator.ctypes, "CDLL", no_library)
    assert allocator.keep_freed_memory() is False


def test_forecast_sets_it_after_cleaning_and_prints_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "活动.csv").write_text(ACTIVITIES_CSV, encoding="utf-8-sig")
    argv = ["forecast", "--raw", str(raw), "--as-of", "2025-06-30", "--json", "--draws", "500"]
    calls: list[str] = []
    monkeypatch.setattr(allocator, "keep_freed_memory", lambda: calls.append("set") or False)
    assert main(argv) == 0
    untuned = capsys.readouterr().out
    assert calls == ["set"]
    monkeypatch.undo()
    code = f"import sys; from qyzj_analytics.cli import main; sys.exit(main({argv!r}))"
    tuned = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert tuned.stdout == untuned
