"""The sample report in headless Chromium: every image decodes, the console stays clean.

Uses Debian's ``/usr/bin/chromium`` (no browser download) driven by Playwright; skipped when either
is missing. Set ``QYZJ_SCREENSHOT_DIR`` to keep the screenshots for a look.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from reporting import sample_report

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian package chromium not installed"),
]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with (
        tempfile.TemporaryDirectory(prefix="qyzj-chromium-") as profile,
        sync_api.sync_playwright() as p,
    ):
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            args=ARGS,
            headless=True,
            viewport={"width": 1280, "height": 900},
            offline=True,  # the report must need nothing from the network
        )
        yield context
        context.close()


def test_sample_report_renders_in_chromium(browser, tmp_path: Path) -> None:
    run = sample_report()
    assert run.code == 0, run.stderr
    page = browser.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url[:100]}"))
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto((run.folder / "report.html").as_uri(), wait_until="load")

    images = page.evaluate(
        "() => Array.from(document.images).map(i => ({w: i.naturalWidth, ok: i.complete}))"
    )
    assert images, "the report shows no image"
    assert all(i["ok"] and i["w"] > 0 for i in images), images
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert "示例数据" in page.inner_text("body")
    assert problems == []
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []

    shots = Path(os.environ.get("QYZJ_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "report_top.png"))
    page.screenshot(path=str(shots / "report_full.png"), full_page=True)
    assert (shots / "report_top.png").stat().st_size > 10_000
    page.close()


def _first_media_box(pdf: bytes) -> tuple[float, float]:
    """Width and height (pt) of the first ``/MediaBox`` of a PDF."""
    import re

    found = re.search(rb"/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    assert found, "no MediaBox"
    x0, y0, x1, y1 = (float(v) for v in found.groups())
    return x1 - x0, y1 - y0


def test_report_pdf_prints_on_a4(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from reporting import QUARTER, copy_notebooks, report_main, write_tiny_raw

    monkeypatch.setenv("QYZJ_BROWSER", str(CHROMIUM))
    raw = write_tiny_raw(tmp_path / "raw")
    notebooks = copy_notebooks(tmp_path / "nb", ["10_ok"])
    out = tmp_path / "reports"
    argv = ["--quarter", QUARTER, "--raw", str(raw), "--out", str(out), "--draws", "200"]
    code, err = report_main([*argv, "--notebooks", str(notebooks), "--pdf"])
    assert code == 0, err
    pdf = (out / QUARTER / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    width, height = _first_media_box(pdf)
    assert abs(width - 595) < 1.5 and abs(height - 842) < 1.5, (width, height)
