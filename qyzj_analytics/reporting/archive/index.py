"""``reports/index.html``: every quarter's report with its grade, a trend chart and the latest runs.

Self-contained (inline CSS and SVG, no script, no external resource), every text HTML-escaped,
aggregates only. Rewritten after every run under the reports folder's lock (:mod:`.runs`),
atomically (temporary file + ``os.replace``).
"""

from __future__ import annotations

import contextlib
import json
import re
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

from qyzj_analytics.formats import format_score
from qyzj_analytics.reporting.archive.summary import read_summary, write_text_atomically

INDEX_NAME = "index.html"
RUNS_NAME = "runs.jsonl"  # the run log, one JSON line per run (written by :mod:`.runs`)
QUARTER_FOLDER = re.compile(r"^\d{4}Q[1-4]$")
TREND_KPIS = ("enterprises_served", "offline_events", "alliance_events", "park_events")
COLOURS = ("#1f4e79", "#c55a11", "#548235", "#7030a0", "#bf9000")
CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em auto;max-width:1000px;
color:#222;padding:0 1em}
table{border-collapse:collapse;margin:1em 0;width:100%}th,td{border:1px solid #ccc;padding:4px 8px;
text-align:left}th{background:#f2f2f2}.fail{color:#c62828;font-weight:bold}
.sample{background:#fff3cd;border:1px solid #f2a900;padding:6px 10px;margin:1em 0}
"""


def read_runs(out_dir: Path, last: int = 10) -> list[dict[str, Any]]:
    """The latest ``last`` entries of the run log, newest first (bad lines skipped)."""
    try:
        lines = (out_dir / RUNS_NAME).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    entries = []
    for line in reversed(lines):
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if isinstance(entry, dict):
                entries.append(entry)
        if len(entries) >= last:
            break
    return entries


def list_quarters(out_dir: Path) -> list[tuple[str, dict[str, Any] | None]]:
    """The published quarter folders (with a report.html) and their summaries, oldest first."""
    found = []
    for folder in sorted(out_dir.iterdir()):
        if QUARTER_FOLDER.match(folder.name) and (folder / "report.html").is_file():
            found.append((folder.name, read_summary(folder)))
    return found


def _link(quarter: str, name: str, text: str) -> str:
    href = quote(f"{quarter}/{name}")
    return f'<a href="{escape(href)}">{escape(text)}</a>'


def quarter_rows(quarters: list[tuple[str, dict[str, Any] | None]]) -> str:
    """The table rows: quarter, as-of, grade, base score, KPIs behind pace, links."""
    rows = []
    for quarter, s in reversed(quarters):
        s = s or {}
        base = s.get("base")
        cells = [
            escape(quarter),
            escape(str(s.get("as_of") or "—")),
            escape(str(s.get("grade_name") or "—")),
            escape(format_score(base) if isinstance(base, (int, float)) else "—"),
            escape(str(s.get("behind", "—"))),
            _link(quarter, "report.html", "HTML 报告")
            + "　"
            + _link(quarter, f"{quarter}_运营情况报告.docx", "Word 报告"),
        ]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return "\n".join(rows)


def _polyline(points: list[tuple[float, float]], colour: str) -> str:
    coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in points)
    line = f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"/>'
    return line + dots


def trend_svg(quarters: list[tuple[str, dict[str, Any] | None]]) -> str:
    """An inline SVG: the base score (top) and the attainment of the main count KPIs (bottom)."""
    known = [(q, s) for q, s in quarters if s]
    if not known:
        return "<p>尚无带摘要（summary.json）的报告，暂无趋势图。</p>"
    width, left, panel = 760, 60, 170
    step = (width - left - 40) / max(len(known) - 1, 1)
    xs = [left + 20 + i * step for i in range(len(known))]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{2 * panel + 90}" '
        f'role="img" aria-label="各季度基础分与主要指标完成率趋势" font-size="12">'
    ]
    labels = "".join(
        f'<text x="{x:.1f}" y="{2 * panel + 60}" text-anchor="middle">{escape(q)}</text>'
        for x, (q, _) in zip(xs, known, strict=True)
    )
    series: list[tuple[str, list[float | None], float]] = [
        ("基础分", [s.get("base") for _, s in known], 100.0)
    ]
    kpi_series = []
    for kpi_id in TREND_KPIS:
        values = [(s.get("kpis", {}).get(kpi_id) or {}).get("attainment") for _, s in known]
        names = [(s.get("kpis", {}).get(kpi_id) or {}).get("name") for _, s in known]
        name = next((n for n in names if n), None)
        if name and any(isinstance(v, (int, float)) for v in values):
            kpi_series.append((f"{name} 完成率", values))
    top = max([1.0] + [v for _, vs in kpi_series for v in vs if isinstance(v, (int, float))])
    for i, (title, scale) in enumerate(
        (("基础分（分）", 100.0), ("主要计数指标完成率（占全年目标）", top))
    ):
        y0 = 30 + i * (panel + 20)
        parts.append(f'<text x="{left}" y="{y0 - 8}" font-weight="bold">{escape(title)}</text>')
        parts.append(
            f'<rect x="{left}" y="{y0}" width="{width - left - 20}" height="{panel - 20}" '
            'fill="none" stroke="#bbb"/>'
        )
        if i == 1:  # the annual target (100 %)
            y = y0 + (panel - 20) * (1 - 1 / scale)
            parts.append(
                f'<line x1="{left}" x2="{width - 20}" y1="{y:.1f}" y2="{y:.1f}" stroke="#888" '
                'stroke-dasharray="4 3"/>'
                f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">100%</text>'
            )
        top_label = "100" if i == 0 else f"{scale:.0%}"
        if i == 0 or scale >= 1.15:  # else it would sit on the 100% line's label
            parts.append(f'<text x="{left - 6}" y="{y0 + 10}" text-anchor="end">{top_label}</text>')
        parts.append(f'<text x="{left - 6}" y="{y0 + panel - 20}" text-anchor="end">0</text>')
    plotted = [(name, values, 0, 100.0) for name, values, _ in series]
    plotted += [(name, values, 1, top) for name, values in kpi_series]
    legend = []
    for n, (name, values, panel_no, scale) in enumerate(plotted):
        colour = COLOURS[n % len(COLOURS)]
        y0 = 30 + panel_no * (panel + 20)
        points = [
            (x, y0 + (panel - 20) * (1 - min(float(v), scale) / scale))
            for x, v in zip(xs, values, strict=True)
            if isinstance(v, (int, float))
        ]
        parts.append(_polyline(points, colour))
        legend.append(f'<span style="color:{colour}">■</span> {escape(name)}')
    parts.append(labels + "</svg>")
    return "".join(parts) + '<p style="font-size:90%">' + "　".join(legend) + "</p>"


def _time(stamp: Any) -> str:
    """``2025-10-08T06:00:03+08:00`` → ``2025-10-08 06:00:03``."""
    return str(stamp or "")[:19].replace("T", " ")


def run_rows(runs: list[dict[str, Any]]) -> str:
    """The latest runs, newest first: start, end, quarter, result, exit code, grade, why."""
    rows = []
    for r in runs:
        failed = r.get("exit_code") not in (0, None)
        result = escape(str(r.get("status") or ("失败" if failed else "成功")))
        result = f'<span class="fail">{result}</span>' if failed else result
        cells = [
            escape(_time(r.get("start"))),
            escape(_time(r.get("end"))),
            escape(str(r.get("quarter") or "")),
            result,
            escape(str(r.get("exit_code"))),
            escape(str(r.get("grade") or "")),
            escape(str(r.get("failure") or "")),
        ]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return "\n".join(rows)


def render_index(out_dir: Path, last_runs: int = 10) -> str:
    """The index page of ``out_dir`` as HTML text."""
    quarters = list_quarters(out_dir)
    names = sorted({s["contract_name"] for _, s in quarters if s and s.get("contract_name")})
    title = (" / ".join(names) + " " if names else "") + "季度运营报告一览"
    sample = any(s and s.get("is_sample") for _, s in quarters)
    mark = '<p class="sample">示例数据（虚构），仅用于演示</p>' if sample else ""
    head = "".join(
        f"<th>{h}</th>" for h in ("季度", "数据截至", "考核档次", "基础分", "落后指标数", "报告")
    )
    run_head = "".join(
        f"<th>{h}</th>" for h in ("开始", "结束", "季度", "结果", "退出码", "档次", "原因")
    )
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1>{mark}"
        f"<h2>各季度报告</h2><table><tr>{head}</tr>\n{quarter_rows(quarters)}</table>"
        f"<h2>趋势</h2>{trend_svg(quarters)}"
        f"<h2>最近 {last_runs} 次运行</h2><table><tr>{run_head}</tr>\n"
        f"{run_rows(read_runs(out_dir, last_runs))}</table>"
        "<p>每次运行 qyzj report 后自动更新（成功或失败）。</p></body></html>\n"
    )


def write_index(out_dir: Path) -> Path:
    """Rewrite ``out_dir/index.html`` atomically (the caller holds the reports folder's lock)."""
    path = out_dir / INDEX_NAME
    write_text_atomically(path, render_index(out_dir))
    return path
