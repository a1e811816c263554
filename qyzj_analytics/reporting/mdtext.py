"""Markdown text helpers shared by the narrative and the 摘要: escaping and the score rule."""

from __future__ import annotations

import html
import re
from typing import Any

try:  # the shared score rule (truncated to two decimals) of formats.py
    from qyzj_analytics.formats import format_score
except ImportError:  # pragma: no cover - until formats.py carries it

    def format_score(value: float | None) -> str:
        """A score with two decimals (stand-in for ``formats.format_score``)."""
        return "" if value is None else f"{float(value):.2f}"


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~#])")


def escape_markdown(text: Any) -> str:
    r"""Text safe to put in Markdown: HTML escaped, Markdown punctuation backslash-escaped.

    >>> escape_markdown("<script>alert(1)</script> *x*")
    '&lt;script&gt;alert(1)&lt;/script&gt; \\*x\\*'
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(str(text), quote=False))
