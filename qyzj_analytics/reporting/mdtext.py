"""Markdown text helpers shared by the narrative and the 摘要: escaping."""

from __future__ import annotations

import html
import re
from typing import Any

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~#])")


def escape_markdown(text: Any) -> str:
    r"""Text safe to put in Markdown: HTML escaped, Markdown punctuation backslash-escaped.

    >>> escape_markdown("<script>alert(1)</script> *x*")
    '&lt;script&gt;alert(1)&lt;/script&gt; \\*x\\*'
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(str(text), quote=False))
