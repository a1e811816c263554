"""One self-contained HTML page from the executed notebooks: merge, render, check it is safe.

The page has no code, no parameter cells, every image embedded, no script and no external
resource; a Content-Security-Policy forbids them too. Its CSS (``templates/report.css``) and the
nbconvert template (``templates/report.html.j2``) are files of this package, read when a report
is rendered.
"""

from __future__ import annotations

import functools
import html
import importlib.resources
import re
import tempfile
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbformat import NotebookNode

REMOVED_TAGS = ("parameters", "injected-parameters", "remove-cell")
CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
    "script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'"
)
TEMPLATES_PACKAGE = "qyzj_analytics.reporting.report"
CSS_FILE = "report.css"
TEMPLATE_FILE = "report.html.j2"
LONG_CELL = 8  # a table cell with more characters than this may wrap when the table is too wide
_PLAIN_TD_RE = re.compile(r"<td([^>]*)>([^<]*)</td>")
IMAGE_TYPES = ("image/png", "image/svg+xml", "image/jpeg", "image/gif")
NBCONVERT_DEFAULT_ALT = "No description has been provided for this image"


def read_template(name: str) -> str:
    """The text of ``templates/<name>`` of this package, read when called (package data)."""
    folder = importlib.resources.files(TEMPLATES_PACKAGE) / "templates"
    return (folder / name).read_text(encoding="utf-8")


def heading_of(source: str) -> str | None:
    r"""The text of the last Markdown heading in ``source`` (None without one).

    >>> heading_of("# KPI 达成情况\n\n正文\n## 红绿灯图")
    '红绿灯图'
    """
    found = [line.lstrip("#").strip() for line in source.splitlines() if line.startswith("#")]
    return found[-1] if found else None


def add_alt_texts(nb: NotebookNode) -> None:
    """Give every image output without one a Chinese alt text: 图表：<the heading above it>."""
    heading = None
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            heading = heading_of(cell.source) or heading
            continue
        for output in cell.get("outputs", []):
            images = [m for m in IMAGE_TYPES if m in output.get("data", {})]
            if not images:
                continue
            meta = output.setdefault("metadata", {})
            for mime in images:
                entry = meta.setdefault(mime, {})
                if not isinstance(entry, dict):
                    continue
                if not entry.get("alt"):
                    entry["alt"] = meta.get("alt") or (f"图表：{heading}" if heading else "图表")


def merge_notebooks(
    cover: NotebookNode | Sequence[NotebookNode], executed: Sequence[Path]
) -> NotebookNode:
    """One notebook: the cover (one cell, or the front cells: cover, 摘要), then every executed
    notebook's cells in order.

    Parameter cells are dropped, and so are stderr stream outputs (warnings belong in the
    executed notebooks, not in the bureau's report). Every image gets a Chinese alt text
    (:func:`add_alt_texts`). Cell ids are made unique.
    """
    import nbformat

    merged = nbformat.v4.new_notebook()
    merged.cells.extend([cover] if isinstance(cover, dict) else list(cover))
    for path in executed:
        nb = nbformat.read(path, as_version=4)
        if "kernelspec" not in merged.metadata and "kernelspec" in nb.metadata:
            merged.metadata["kernelspec"] = nb.metadata["kernelspec"]
            if "language_info" in nb.metadata:
                merged.metadata["language_info"] = nb.metadata["language_info"]
        for cell in nb.cells:
            tags = set(cell.get("metadata", {}).get("tags", []))
            if tags & set(REMOVED_TAGS):
                continue
            if cell.cell_type == "code":
                cell.outputs = [
                    o
                    for o in cell.outputs
                    if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
                ]
            merged.cells.append(cell)
    for i, cell in enumerate(merged.cells):
        cell["id"] = f"c{i:04d}"
    add_alt_texts(merged)
    return merged


def render_html(nb: NotebookNode, folder: Path, sample: bool) -> str:
    """The report as one self-contained HTML page (no code, no parameter cells, ``zh-CN``).

    Args:
        nb: the merged notebook.
        folder: where relative image links in markdown are resolved (they are embedded).
        sample: add the "示例数据" banner and diagonal watermark.
    """
    exporter = html_exporter()
    resources = {
        "metadata": {"name": nb.metadata.get("title", "季度报告"), "path": str(folder)},
        "qyzj": {"sample": sample, "css": read_template(CSS_FILE), "csp": CSP},
    }
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    body = body.replace(f'alt="{NBCONVERT_DEFAULT_ALT}"', 'alt="图表"')  # an image of markdown
    body = mark_long_cells(body)
    return body.replace('<html lang="zh">', '<html lang="zh-CN">', 1)


@functools.cache
def html_exporter() -> Any:
    """The report's nbconvert ``HTMLExporter`` (no input, no prompts, images embedded, ``zh``),
    made once per process: its Jinja templates are compiled on the first page it renders."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config()
    config.HTMLExporter.preprocessors = ["nbconvert.preprocessors.TagRemovePreprocessor"]
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = set(REMOVED_TAGS)
    config.TagRemovePreprocessor.remove_all_outputs_tags = {"remove-output"}
    exporter = HTMLExporter(
        config=config,
        template_name="lab",
        extra_loaders=[DictLoader({"qyzj_report.html.j2": read_template(TEMPLATE_FILE)})],
        template_file="qyzj_report.html.j2",
    )
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    exporter.embed_images = True
    exporter.language_code = "zh"
    return exporter


def write_page(
    front: Sequence[NotebookNode], executed: Sequence[Path], title: str, folder: Path, sample: bool
) -> list[str]:
    """Merge ``front`` (cover, 摘要) and the ``executed`` notebooks, render the page and write
    ``folder/report.html`` if it is safe; returns what makes it unsafe (empty when written).

    Args:
        front: the cells before the notebooks (:func:`merge_notebooks`).
        executed: the executed notebooks, in report order.
        title: the page title.
        folder: the report's staging folder (relative images are resolved there).
        sample: add the "示例数据" banner and watermark.
    """
    merged = merge_notebooks(list(front), executed)
    merged.metadata["title"] = title
    page = render_html(merged, folder, sample=sample)
    problems = find_unsafe_content(page)
    if not problems:
        (folder / "report.html").write_text(page, encoding="utf-8")
    return problems


def warm_renderer() -> None:
    """Import nbconvert and compile the report's templates now (on a one-cell page), so the
    report's own render later costs only its cells; for a moment when a core would be idle."""
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("预热")])
    render_html(nb, Path(tempfile.gettempdir()), sample=True)


def mark_long_cells(page: str) -> str:
    """Add ``class="qyzj-long"`` to plain table cells longer than :data:`LONG_CELL` characters:
    the CSS lets only those wrap, so 单位 or 已达标 never breaks inside a word.

    >>> mark_long_cells('<td class="data">已达标</td><td>' + "说明" * 5 + "</td>")
    '<td class="data">已达标</td><td class="qyzj-long">说明说明说明说明说明</td>'
    """

    def mark(m: re.Match[str]) -> str:
        attrs, text = m.group(1), m.group(2)
        if len(html.unescape(text).strip()) <= LONG_CELL:
            return m.group(0)
        if 'class="' in attrs:
            attrs = attrs.replace('class="', 'class="qyzj-long ', 1)
        else:
            attrs = f'{attrs} class="qyzj-long"'
        return f"<td{attrs}>{text}</td>"

    return _PLAIN_TD_RE.sub(mark, page)


class _ResourceScanner(HTMLParser):
    """Collects scripts, event handlers and non-embedded resources of an HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "iframe", "object", "embed", "applet", "base", "frame"}:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            value = (value or "").strip()
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…>")
            elif (
                name in {"src", "srcset", "data", "poster"} or (name == "href" and tag == "link")
            ) and (value and not value.startswith(("data:", "#"))):
                self.problems.append(f"<{tag} {name}={value[:80]!r}>")
        if tag == "meta" and dict(attrs).get("http-equiv", "").lower() == "refresh":
            self.problems.append("<meta refresh>")

    def handle_data(self, data: str) -> None:
        if self.lasttag == "style" and ("@import" in data or "url(http" in data.replace(" ", "")):
            self.problems.append("<style> 引用外部资源")


def find_unsafe_content(page: str) -> list[str]:
    """Scripts, event handlers and resources not embedded in ``page`` (empty when safe)."""
    scanner = _ResourceScanner()
    scanner.feed(page)
    scanner.close()
    return list(dict.fromkeys(scanner.problems))
