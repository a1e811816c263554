"""Setting up where the analysts work (issue 11 items 4 and 5): ``make lab`` as root, and the
README's Windows / Anaconda section (commands without make, the Task Scheduler task)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _lab_command(tmp_path: Path, uid: int) -> str:
    """The ``jupyter lab`` line ``make -n lab`` would run for a user whose ``id -u`` is ``uid``."""
    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    (fake / "id").write_text(f"#!/bin/sh\necho {uid}\n", encoding="utf-8")
    (fake / "id").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}"}
    env.pop("LAB_FLAGS", None)
    dry = subprocess.run(
        ["make", "-n", "lab", "UV=/bin/true", f"VENV={tmp_path / 'venv'}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    (line,) = [x for x in dry.stdout.splitlines() if " -m jupyter lab" in x]
    return line


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_lab_allows_root_and_opens_the_notebooks(tmp_path: Path) -> None:
    as_root = _lab_command(tmp_path, 0).split()
    assert "--allow-root" in as_root and as_root[-1] == "notebooks/"
    as_user = _lab_command(tmp_path, 1000).split()
    assert "--allow-root" not in as_user and as_user[-1] == "notebooks/"


def _windows_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^### Windows / Anaconda\n(.*?)^## ", readme, re.M | re.S)
    assert match, "README has no '### Windows / Anaconda' section"
    return match.group(1)


def test_readme_windows_section_needs_no_make() -> None:
    section = _windows_section()
    for command in (
        "conda env create -f environment.yml",
        "conda activate qyzj-analytics",
        r"qyzj sample --out data\sample\raw",
        r"qyzj kpi --raw data\raw --as-of 2025-09-30",
        r"qyzj report --quarter auto --raw data\raw",
        "jupyter lab notebooks",
    ):
        assert command in section, command
    assert "make " not in section.replace("不需要 `make`", "")


def test_readme_schedules_the_cron_line_with_task_scheduler() -> None:
    section = _windows_section()
    (line,) = [x for x in section.splitlines() if x.startswith("schtasks /create")]
    # the cron line: 0 7 5 1,4,7,10 *  cd <project> && qyzj report --quarter auto >> log 2>&1
    for part in ("/sc monthly", "/m JAN,APR,JUL,OCT", "/d 5", "/st 07:00", '/tr "cmd /c cd /d '):
        assert part in line, part
    assert r"report --quarter auto >> reports\report.log 2>&1" in line
    assert "GBK" in section
    env = (ROOT / "environment.yml").read_text(encoding="utf-8")
    assert "-r requirements.lock.txt" in env and "name: qyzj-analytics" in env
