"""``pip install .`` (not editable), then ``qyzj report`` from another folder renders a report.

The package is installed with ``--no-deps --target DIR`` (its dependencies come from the running
interpreter's environment, to stay fast) from a copy of the checkout, so no ``build/`` folder is
left in the checkout and nothing stale from an earlier build gets into the wheel.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "qyzj_analytics", "notebooks")
QUARTER = "2025Q3"


def _run(args: list[str], cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    env.pop("PYTHONSAFEPATH", None)
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def _copy_checkout(dest: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.egg-info")
    dest.mkdir()
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=ignore)
        else:
            shutil.copy2(source, dest / name)
    return dest


def _packages(folder: Path) -> set[str]:
    """Dotted names of the regular packages under ``folder`` (``qyzj_analytics…``)."""
    return {
        ".".join(init.parent.relative_to(folder).parts)
        for init in (folder / "qyzj_analytics").rglob("__init__.py")
    }


@pytest.mark.slow
def test_installed_package_renders_the_report_from_anywhere(tmp_path: Path) -> None:
    checkout = _copy_checkout(tmp_path / "checkout")
    target = tmp_path / "site"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    pip = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    install = subprocess.run(
        [*pip, "--no-deps", "--target", str(target), str(checkout)],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr

    # every package of the checkout is in the wheel, with the notebooks, templates and YAML
    assert _packages(ROOT) <= _packages(target)
    package = target / "qyzj_analytics"
    shipped = sorted(p.name for p in (package / "reporting/report/notebooks").glob("*.ipynb"))
    assert shipped == sorted(p.name for p in (ROOT / "notebooks").glob("[0-9]*.ipynb"))
    assert shipped
    assert (package / "reporting/report/templates/report.css").is_file()
    assert (package / "reporting/report/templates/report.html.j2").is_file()
    assert list((package / "contract").glob("*.yaml"))
    assert (package / "forecast/planning.yaml").is_file()

    where = _run(
        [
            sys.executable,
            "-c",
            "import qyzj_analytics; from qyzj_analytics.reporting.report.build import "
            "default_notebooks; print(qyzj_analytics.__file__); print(default_notebooks())",
        ],
        elsewhere,
        target,
    )
    assert where.returncode == 0, where.stderr
    module, notebooks = (Path(line) for line in where.stdout.splitlines())
    assert module.is_relative_to(target) and notebooks.is_relative_to(target), where.stdout

    cli = [sys.executable, "-m", "qyzj_analytics.cli"]
    sample = _run([*cli, "sample", "--out", str(tmp_path / "raw")], elsewhere, target)
    assert sample.returncode == 0, sample.stderr
    options = ["--quarter", QUARTER, "--raw", str(tmp_path / "raw"), "--out", "reports"]
    report = _run(
        [*cli, "report", *options, "--draws", "200"],
        elsewhere,
        target,
    )
    assert report.returncode == 0, report.stderr
    published = elsewhere / "reports" / QUARTER
    assert (published / "report.html").is_file()
    assert (published / f"kpi_{QUARTER}.xlsx").is_file()
    executed = sorted((published / "notebooks").glob("*.ipynb"))
    assert [p.name for p in executed] == shipped
    for path in executed:  # papermill records the notebook it ran: the packaged copy
        source = Path(
            json.loads(path.read_text(encoding="utf-8"))["metadata"]["papermill"]["input_path"]
        )
        assert source.is_relative_to(package / "reporting/report/notebooks"), source
