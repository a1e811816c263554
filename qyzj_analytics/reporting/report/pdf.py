"""``qyzj report --pdf``: print the rendered HTML to an A4 ``report.pdf`` with a headless browser.

A Chromium-family browser (Debian ``chromium``, Google Chrome, Microsoft Edge) is looked up before
anything is rendered (:func:`find_browser`): ``--browser``, then the environment variable
:data:`~.options.BROWSER_ENV`, then the usual install paths. The page's own CSS (``@page``) sets
the paper size, the margins and the page numbers; the browser's own header and footer are off.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from qyzj_analytics.errors import UsageError
from qyzj_analytics.reporting.report.options import BROWSER_ENV, NotebookFailed

PRINT_TIMEOUT = 180  # seconds for one print; a hung browser must not hang a scheduled run
_POSIX_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "msedge")
_WINDOWS_PATHS = (
    r"Google\Chrome\Application\chrome.exe",
    r"Microsoft\Edge\Application\msedge.exe",
    r"Chromium\Application\chrome.exe",
)


def _candidates() -> list[Path]:
    """Where a Chromium-family browser usually is on this system, most likely first."""
    if sys.platform == "win32":
        roots = [os.environ.get(v) for v in ("PROGRAMFILES", "PROGRAMFILES(X86)", "LOCALAPPDATA")]
        return [Path(r) / rel for rel in _WINDOWS_PATHS for r in roots if r]
    if sys.platform == "darwin":
        apps = ("Google Chrome", "Chromium", "Microsoft Edge")
        return [Path(f"/Applications/{a}.app/Contents/MacOS/{a}") for a in apps]
    return [Path(found) for name in _POSIX_NAMES if (found := shutil.which(name))]


def find_browser(explicit: Path | None = None) -> Path:
    """The browser ``--pdf`` prints with: ``explicit``, else ``$QYZJ_BROWSER``, else the first
    Chromium, Chrome or Edge found where they are usually installed.

    Raises:
        UsageError: the named browser does not exist, or none was found (exit 2).
    """
    named = explicit or (Path(os.environ[BROWSER_ENV]) if os.environ.get(BROWSER_ENV) else None)
    if named is not None:
        if named.is_file():
            return named
        raise UsageError(
            f"找不到用于生成 PDF 的浏览器 {named}（来自 --browser 或环境变量 {BROWSER_ENV}）；"
            "未生成任何报告"
        )
    for path in _candidates():
        if path.is_file():
            return path
    raise UsageError(
        "--pdf 需要 Chromium、Google Chrome 或 Microsoft Edge，但在常见安装位置没有找到；"
        f"请安装其中之一，或用 --browser 或环境变量 {BROWSER_ENV} 指定浏览器程序。未生成任何报告"
    )


def print_pdf(browser: Path, page: Path, pdf: Path, timeout: float = PRINT_TIMEOUT) -> Path:
    """Print the HTML file ``page`` to ``pdf`` with ``browser`` (headless, own profile); returns it.

    Raises:
        NotebookFailed: the browser failed, timed out or wrote no PDF (exit 4).
    """
    with tempfile.TemporaryDirectory(prefix="qyzj-pdf-") as profile:
        command = [
            str(browser),
            "--headless",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            "--generate-pdf-document-outline",
            f"--print-to-pdf={pdf}",
            page.resolve().as_uri(),
        ]
        if sys.platform != "win32":
            command.insert(2, "--no-sandbox")  # root or a container has no usable sandbox
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise NotebookFailed(f"浏览器 {browser} 打印 PDF 超过 {timeout:g} 秒未完成") from None
        except OSError as exc:
            raise NotebookFailed(f"无法启动浏览器 {browser}: {exc}") from None
    if done.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise NotebookFailed(
            f"浏览器 {browser} 未能把报告打印为 PDF（退出码 {done.returncode}）: "
            + " / ".join(tail)
        )
    return pdf
