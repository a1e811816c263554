"""Readable file names: names whose bytes are not UTF-8 (a Windows zip unpacked on Linux).

Python hands such names over with surrogate escapes (``'\\udcbb'``), which cannot be printed,
stored in parquet or JSON, or written to a note. :func:`readable_name` decodes each such part of
a path as GBK (GB18030) where that works, else shows the bytes escaped (``\\xbb``). The real
path is kept for opening the file; only what people read and the lineage use this form.
"""

from __future__ import annotations

import os


def _readable_part(part: str) -> str:
    """One path component made printable (see :func:`readable_name`)."""
    raw = os.fsencode(part)
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace")


def readable_name(name: str) -> str:
    """``name`` with every undecodable path component decoded as GBK, else escaped.

    >>> readable_name("2025/活动.csv")
    '2025/活动.csv'
    >>> readable_name(os.fsdecode("活动台账.csv".encode("gbk")))
    '活动台账.csv'
    >>> readable_name(os.fsdecode(b"a\\xff.csv"))
    'a\\\\xff.csv'
    """
    if not _has_surrogate(name):
        return name
    return "/".join(_readable_part(p) if _has_surrogate(p) else p for p in name.split("/"))


def _has_surrogate(text: str) -> bool:
    """True when ``text`` holds a surrogate escape (an undecodable byte of a file name)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
