"""Terminal output: plain-text tables aligned for Chinese (full-width characters count as two),
and streams and JSON that survive any code page (a Windows scheduled task writes GBK/cp936)."""

from __future__ import annotations

import codecs
import json
import sys
import unicodedata
from collections.abc import Sequence
from typing import Any, TextIO

# outside the BMP and outside GBK: only a Unicode encoding holds both
_PROBE = chr(0x1F600) + chr(0x20000)
# error handlers that never raise on a character the encoding lacks
_SAFE_ERRORS = {"replace", "backslashreplace", "xmlcharrefreplace", "namereplace", "ignore"}


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal.

    >>> display_width("目标ab")
    6
    """
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad_cell(text: str, width: int, right: bool = False) -> str:
    """``text`` padded with spaces to ``width`` display columns (right-aligned if asked)."""
    gap = " " * max(0, width - display_width(text))
    return gap + text if right else text + gap


def render_table(
    head: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool] | None = None
) -> list[str]:
    """Header, rule and rows as aligned lines; ``right[i]`` right-aligns column ``i``
    (default: every column but the first)."""
    flags = list(right) if right is not None else [i > 0 for i in range(len(head))]
    widths = [max(display_width(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(pad_cell(c, w, f) for c, w, f in zip(cells, widths, flags, strict=True))

    header = line(head)
    return [header, "-" * display_width(header), *(line(r) for r in rows)]


def can_encode(text: str, encoding: str | None) -> bool:
    """True when ``text`` can be written in ``encoding`` (``None``: the stream has none, assume yes)."""
    if not encoding:
        return True
    try:
        codecs.encode(text, encoding)
    except UnicodeEncodeError:
        return False
    except LookupError:  # an encoding Python does not know: let the stream decide
        return True
    return True


def protect_streams(*streams: TextIO | None) -> None:
    """Let each stream (default ``sys.stdout`` and ``sys.stderr``) print any text.

    A stream whose encoding cannot hold every character (GBK/cp936 on a Chinese Windows console
    or a scheduled task's redirected log) replaces what it lacks with ``?`` instead of raising
    UnicodeEncodeError; the encoding itself is not changed. UTF-8 streams, streams that already
    replace (stderr's ``backslashreplace``), and objects that are not text streams are left alone.
    """
    for stream in streams or (sys.stdout, sys.stderr):
        if stream is None or getattr(stream, "errors", None) in _SAFE_ERRORS:
            continue
        if can_encode(_PROBE, getattr(stream, "encoding", None)):
            continue
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")


def json_text(data: Any, stream: TextIO | None = None) -> str:
    """``data`` as indented JSON, readable Chinese (``ensure_ascii=False``), writable to ``stream``.

    Characters the stream's encoding (default ``sys.stdout``'s) lacks, e.g. an emoji in a title on
    a GBK console, become JSON ``\\u`` escapes, so the JSON stays exact instead of getting ``?``.
    """
    text = json.dumps(data, ensure_ascii=False, indent=2)
    encoding = getattr(stream if stream is not None else sys.stdout, "encoding", None)
    if can_encode(text, encoding):
        return text
    return "".join(ch if can_encode(ch, encoding) else json.dumps(ch)[1:-1] for ch in text)
