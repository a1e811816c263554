"""Reproducible installs: the environment is the lock, and the exported pins are the lock's."""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "uv.lock"
EXPORT = ROOT / "requirements.lock.txt"
PROJECT = "qyzj-analytics"
PIN = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>[^\s;]+)\s*(?:;\s*(?P<marker>.+))?$")


def locked_versions() -> dict[str, set[str]]:
    """Every package of uv.lock (but the project) → its locked versions (one per fork)."""
    lock = tomllib.loads(LOCK.read_text(encoding="utf-8"))
    versions: dict[str, set[str]] = {}
    for package in lock["package"]:
        name = canonicalize_name(package["name"])
        if name != PROJECT:
            versions.setdefault(name, set()).add(package["version"])
    return versions


def exported_pins() -> list[tuple[str, str, Marker | None]]:
    """The pins of requirements.lock.txt: name, version and environment marker."""
    pins = []
    for line in EXPORT.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = PIN.match(line)
        assert match, f"requirements.lock.txt: not a pin: {line!r}"
        marker = Marker(match["marker"]) if match["marker"] else None
        pins.append((canonicalize_name(match["name"]), match["version"], marker))
    return pins


def uv_binary() -> str | None:
    """The uv of this environment (a locked dev dependency), else one on PATH."""
    here = Path(sys.executable).parent
    return shutil.which("uv", path=str(here)) or shutil.which("uv")


def test_export_pins_exactly_the_lock() -> None:
    locked = locked_versions()
    pins = exported_pins()
    wrong = [(n, v) for n, v, _ in pins if v not in locked.get(n, set())]
    assert not wrong, f"pins that are not the lock's versions: {wrong}"
    assert {n for n, _, _ in pins} == set(locked), "the export and the lock list other packages"


def test_installed_packages_are_the_locked_versions() -> None:
    """What `make install` (uv sync --frozen) put in this environment is exactly the lock."""
    pins: dict[str, list[tuple[str, Marker | None]]] = {}
    for name, version, marker in exported_pins():
        pins.setdefault(name, []).append((version, marker))
    problems = []
    for dist in importlib.metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"])
        if name == PROJECT:
            continue
        here = [v for v, m in pins.get(name, []) if m is None or m.evaluate()]
        if not here:
            problems.append(f"{name} {dist.version}: not in the lock")
        elif dist.version not in here:
            problems.append(f"{name} {dist.version}: the lock has {here}")
    assert not problems, "\n".join(problems)


def test_project_requirements_are_all_pinned() -> None:
    """Every dependency the package declares (all extras) has a pin on every supported platform."""
    pinned = {n for n, _, _ in exported_pins()}
    requires = importlib.metadata.requires(PROJECT) or []
    names = {canonicalize_name(re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0]) for r in requires}
    assert names and names <= pinned, sorted(names - pinned)


def test_environment_yml_installs_the_export() -> None:
    text = (ROOT / "environment.yml").read_text(encoding="utf-8")
    assert "-r requirements.lock.txt" in text
    assert re.search(r"^\s*- python=3\.11\s*$", text, flags=re.M)


@pytest.mark.skipif(uv_binary() is None, reason="uv is not installed")
def test_lock_and_export_are_up_to_date() -> None:
    """`make lock` has been run since pyproject.toml last changed (uv.lock and the export)."""
    uv = uv_binary()
    assert uv is not None
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    check = subprocess.run(
        [uv, "lock", "--check", "--offline", "--python", sys.executable],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    assert check.returncode == 0, check.stderr
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    flags = re.search(r"^EXPORT_FLAGS := (.+)$", makefile, flags=re.M)
    assert flags, "Makefile has no EXPORT_FLAGS"
    export = subprocess.run(
        [uv, "export", *flags[1].split()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    assert export.returncode == 0, export.stderr

    def body(text: str) -> list[str]:
        return [line for line in text.splitlines() if not line.startswith("#")]

    assert body(export.stdout) == body(EXPORT.read_text(encoding="utf-8")), (
        "requirements.lock.txt is stale: run `make lock`"
    )
