"""Text cells normalised for matching, without pandas: the string half of
:func:`~qyzj_analytics.ingest.parse.normalize_text` and :func:`~qyzj_analytics.ingest.parse.normalize_header`.

:mod:`~qyzj_analytics.ingest.parse` builds both on these (so they cannot drift apart), and
:mod:`~qyzj_analytics.ingest.early` matches a CSV header with them before pandas is imported.
"""

from __future__ import annotations

import re
import unicodedata

_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
_QUOTES = "“”\"'「」‘’『』"
DROP_RE = re.compile(f"[{re.escape(_ZERO_WIDTH + _QUOTES)}]+")  # removed after NFKC
SPACES_RE = re.compile(r"\s+")
_UNIT_SUFFIX = re.compile(r"[(\[【][^()\[\]【】]*[)\]】]$")


def clean_text(text: str) -> str | None:
    """NFKC, zero-width characters and quotes dropped, stripped; ``None`` when nothing is left.

    >>> clean_text(" “小微你好”\\u200b专项 ")
    '小微你好专项'
    """
    return DROP_RE.sub("", unicodedata.normalize("NFKC", text)).strip() or None


def header_key(text: str | None) -> str:
    """A cleaned header cell (:func:`clean_text`) for matching: no whitespace, no trailing unit in
    brackets, no ``*`` marks.

    >>> header_key(clean_text("参与企业数（家）"))
    '参与企业数'
    """
    text = SPACES_RE.sub("", text or "").strip("*＊")
    while True:
        stripped = _UNIT_SUFFIX.sub("", text)
        if stripped == text or not stripped:
            return text
        text = stripped
