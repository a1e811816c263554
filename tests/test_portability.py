"""Runs on the analysts' Windows PCs: no POSIX-only import or call outside a guarded branch, and
``qyzj kpi`` / ``qyzj report`` work end to end with the POSIX-only modules hidden.

Windows itself is not available here; what can be simulated is: an import hook (a
``sitecustomize`` on ``PYTHONPATH``, so the notebook kernels the report starts load it too) makes
``fcntl``, ``termios``, ``pwd``, ``grp`` and ``resource`` unimportable, and an ``ast`` check of
the package source flags the POSIX-only calls that Windows lacks.
"""

from __future__ import annotations

import ast
import itertools
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "qyzj_analytics"

POSIX_MODULES = frozenset({"fcntl", "termios", "pwd", "grp", "resource", "pty", "tty"})
POSIX_ATTRIBUTES = {
    "os": frozenset(
        {"fork", "forkpty", "geteuid", "getuid", "getegid", "getgid", "setsid", "killpg"}
    ),
    "signal": frozenset({"SIGALRM", "alarm", "setitimer", "SIGHUP", "SIGUSR1", "SIGUSR2"}),
}
POSIX_NAMES = frozenset({"renameat2"})  # Linux only, whatever object it is looked up on
GUARD_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "AttributeError", "OSError"})


# ------------------------------------------------------------------------------------------------
# The lint step


def _is_platform_test(test: ast.expr) -> bool:
    """True when an ``if`` test asks which platform this is (or whether a POSIX name exists)."""
    for node in ast.walk(test):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if (node.value.id, node.attr) in {("sys", "platform"), ("os", "name")}:
                return True
            if node.value.id == "platform" and node.attr == "system":
                return True
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "hasattr"
            and node.args
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id in POSIX_ATTRIBUTES
        ):
            return True
    return False


def _catches_missing(handlers: list[ast.ExceptHandler]) -> bool:
    """True when one of ``handlers`` catches a missing module or name."""
    for handler in handlers:
        kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        if any(isinstance(k, ast.Name) and k.id in GUARD_ERRORS for k in kinds):
            return True
    return False


def _is_guarded(chain: list[ast.AST]) -> bool:
    """True when the innermost node of ``chain`` (root first) sits in a guarded branch."""
    for parent, child in itertools.pairwise(chain):
        if (
            isinstance(parent, ast.If | ast.IfExp)
            and child is not parent.test
            and _is_platform_test(parent.test)
        ):
            return True
        if isinstance(parent, ast.BoolOp) and isinstance(parent.op, ast.And):
            before = parent.values[: parent.values.index(child)]
            if any(_is_platform_test(v) for v in before):  # `posix and os.geteuid()`
                return True
        if (
            isinstance(parent, ast.Try)
            and child in parent.body
            and _catches_missing(parent.handlers)
        ):
            return True
    return False


def _posix_use(node: ast.AST) -> str | None:
    """What POSIX-only thing ``node`` uses, or None."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names if a.name.partition(".")[0] in POSIX_MODULES]
        return f"import {names[0]}" if names else None
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        top = node.module.partition(".")[0]
        if top in POSIX_MODULES:
            return f"from {node.module} import …"
        risky = POSIX_ATTRIBUTES.get(top, frozenset()) | POSIX_NAMES
        names = [a.name for a in node.names if a.name in risky]
        return f"from {node.module} import {names[0]}" if names else None
    if isinstance(node, ast.Attribute):
        if node.attr in POSIX_NAMES:
            return f"….{node.attr}"
        if isinstance(node.value, ast.Name) and node.attr in POSIX_ATTRIBUTES.get(
            node.value.id, ()
        ):
            return f"{node.value.id}.{node.attr}"
    if isinstance(node, ast.Name) and node.id in POSIX_NAMES and isinstance(node.ctx, ast.Load):
        return node.id
    return None


def find_posix_only(source: str, filename: str = "<source>") -> list[str]:
    """``file:line: what`` for each POSIX-only import or call of ``source`` outside a guard.

    A guard is a branch of an ``if`` that tests ``sys.platform``, ``os.name``,
    ``platform.system()`` or ``hasattr(os|signal, …)``, or the body of a ``try`` that catches
    ImportError, ModuleNotFoundError, AttributeError or OSError. (An early ``return`` is not
    recognised: write the POSIX-only code inside the ``if``.)
    """
    found: list[str] = []

    def visit(node: ast.AST, chain: list[ast.AST]) -> None:
        chain = [*chain, node]
        what = _posix_use(node)
        if what is not None and not _is_guarded(chain):
            found.append(f"{filename}:{getattr(node, 'lineno', '?')}: {what}")
        for child in ast.iter_child_nodes(node):
            visit(child, chain)

    visit(ast.parse(source, filename), [])
    return found


BAD = """
import fcntl
import resource, os
from pwd import getpwuid
from os import fork
import signal

def run():
    import termios
    os.fork()
    signal.signal(signal.SIGALRM, print)
    if os.geteuid() == 0:
        pass
    libc.renameat2(1, 2)

def early():
    if sys.platform != "linux":
        return
    import grp
"""

GOOD = """
import os
import sys
try:
    import fcntl
except ImportError:
    fcntl = None

if sys.platform == "win32":
    import msvcrt
else:
    import termios

def run():
    if sys.platform.startswith("linux"):
        renameat2 = libc.renameat2
        renameat2(1, 2)
    if os.name == "posix" and os.geteuid() == 0:
        pass
    if hasattr(os, "fork"):
        os.fork()
    pid = os.getpid()
"""


def test_checker_flags_every_posix_only_use() -> None:
    found = find_posix_only(BAD, "bad.py")
    lines = sorted(int(f.split(":")[1]) for f in found)
    assert lines == [2, 3, 4, 5, 9, 10, 11, 12, 14, 19], found


def test_checker_accepts_guarded_code() -> None:
    assert find_posix_only(GOOD, "good.py") == []


def test_package_has_no_unguarded_posix_only_code() -> None:
    found = [
        hit
        for path in sorted(PACKAGE.rglob("*.py"))
        for hit in find_posix_only(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    ]
    assert found == [], "POSIX-only code outside a platform guard:\n" + "\n".join(found)


# ------------------------------------------------------------------------------------------------
# Windows, simulated: the CLI and its notebook kernels without the POSIX-only modules

HIDDEN = ("fcntl", "termios", "pwd", "grp", "resource")
SITECUSTOMIZE = textwrap.dedent(
    f'''\
    """Simulated Windows (tests/test_portability.py): POSIX-only modules cannot be imported."""
    import os
    import sys

    HIDDEN = frozenset({HIDDEN!r})


    class HidePosixModules:
        """A meta-path finder that refuses the hidden modules, as Windows Python has none."""

        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in HIDDEN:
                raise ModuleNotFoundError(f"No module named {{name!r}} (Windows simulated)", name=name)
            return None


    for _name in [m for m in sys.modules if m.partition(".")[0] in HIDDEN]:
        del sys.modules[_name]
    sys.meta_path.insert(0, HidePosixModules())
    if os.environ.get("QYZJ_SIMULATION_LOG"):
        with open(os.environ["QYZJ_SIMULATION_LOG"], "a", encoding="utf-8") as _log:
            _log.write(" ".join(sys.argv) + "\\n")
    '''
)


@pytest.fixture(scope="module")
def windows_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a process (and its kernels) that cannot import POSIX-only modules."""
    hook = tmp_path_factory.mktemp("windows-sim")
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(hook), str(ROOT)])
    env["QYZJ_SIMULATION_LOG"] = str(hook / "processes.log")
    env.pop("MPLBACKEND", None)
    return env


def _qyzj(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qyzj_analytics.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=900,
    )


def test_the_hook_hides_the_posix_modules(windows_env: dict[str, str]) -> None:
    code = (
        "import importlib\n"
        f"for name in {HIDDEN!r}:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ModuleNotFoundError:\n"
        "        continue\n"
        "    raise SystemExit(f'{name} importable')\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], env=windows_env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.fixture(scope="module")
def sample_raw(windows_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = tmp_path_factory.mktemp("windows-sample") / "raw"
    run = _qyzj(windows_env, "sample", "--out", str(raw))
    assert run.returncode == 0, run.stderr
    return raw


def test_kpi_runs_without_posix_modules(windows_env: dict[str, str], sample_raw: Path) -> None:
    run = _qyzj(windows_env, "kpi", "--raw", str(sample_raw), "--as-of", "2025-09-30", "--json")
    assert run.returncode == 0, run.stderr
    assert '"grade"' in run.stdout


@pytest.mark.slow
def test_report_runs_without_posix_modules(
    windows_env: dict[str, str], sample_raw: Path, tmp_path: Path
) -> None:
    out = tmp_path / "reports"
    argv = ["--quarter", "2025Q3", "--raw", str(sample_raw), "--out", str(out), "--draws", "500"]
    run = _qyzj(windows_env, "report", *argv)
    assert run.returncode == 0, run.stderr
    assert (out / "2025Q3" / "report.html").is_file()
    assert not (out / "2025Q3.failed").exists()
    started = Path(windows_env["QYZJ_SIMULATION_LOG"]).read_text(encoding="utf-8").splitlines()
    assert any("--IPKernelApp" in line for line in started), started  # kernels hid them too
