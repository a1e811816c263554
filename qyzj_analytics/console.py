"""Plain-text tables for the terminal, aligned for Chinese (full-width characters count as two)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence


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
