"""One self-contained HTML page from the executed notebooks: merge, render, check it is safe.

The page has no code, no parameter cells, every image embedded, no script and no external
resource; a Content-Security-Policy forbids them too. Its CSS (``templates/report.css``) and the
nbconvert template (``templates/report.html.j2``) are files of this package, read when a report
is rendered.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING

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


def read_template(name: str) -> str:
    """The text of ``templates/<name>`` of this package, read when called (package data)."""
    folder = importlib.resources.files(TEMPLATES_PACKAGE) / "templates"
    return (folder / name).read_text(encoding="utf-8")


def merge_notebooks(cover: NotebookNode, executed: Sequence[Path]) -> NotebookNode:
    """One notebook: the cover, then every executed notebook's cells in order.

    Parameter cells are dropped, and so are stderr stream outputs (warnings belong in the
    executed notebooks, not in the bureau's report). Cell ids are made unique.
    """
    import nbformat

    merged = nbformat.v4.new_notebook()
    merged.cells.append(cover)
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
    return merged


def render_html(nb: NotebookNode, folder: Path, sample: bool) -> str:
    """The report as one self-contained HTML page (no code, no parameter cells, ``zh-CN``).

    Args:
        nb: the merged notebook.
        folder: where relative image links in markdown are resolved (they are embedded).
        sample: add the "示例数据" banner and diagonal watermark.
    """
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
    resources = {
        "metadata": {"name": nb.metadata.get("title", "季度报告"), "path": str(folder)},
        "qyzj": {"sample": sample, "css": read_template(CSS_FILE), "csp": CSP},
    }
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return body.replace('<html lang="zh">', '<html lang="zh-CN">', 1)


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
