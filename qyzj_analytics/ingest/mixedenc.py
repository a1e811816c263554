"""Mixed-encoding CSV files: a UTF-8 export with rows pasted in GBK, or a GBK one with UTF-8 rows.

Entered only when a file does not decode in the encoding its head shows (a clean file never comes
here). The bytes are checked in chunks of whole lines; a chunk that decodes is taken whole. In a
chunk that does not, each line is decoded on its own: in the file's encoding if it can be, else in
the other one (UTF-8 ↔ GB18030) if it can be, else with replacement characters (its row is then
rejected). The result is the whole file as UTF-8 with the same lines and line endings, so row
numbers stay those of the file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qyzj_analytics.ingest.raw import Data

ENCODING_NAMES = {"utf-8": "UTF-8", "gb18030": "GB18030（GBK）"}
_OTHER = {"utf-8": "gb18030", "gb18030": "utf-8"}
_CHUNK = 1 << 16  # bytes checked at a time (a failing chunk is decoded line by line)


@dataclass
class MixedText:
    """A mixed-encoding file decoded line by line, as UTF-8."""

    data: bytes  # the whole file (after any byte-order mark) as UTF-8, line for line
    encoding: str  # the file's own encoding: utf-8 or gb18030
    odd_lines: np.ndarray  # 0-based physical lines read in the other encoding
    bad_lines: np.ndarray  # lines in neither encoding (read with replacement characters)

    @property
    def other(self) -> str:
        """The encoding the odd lines were read in."""
        return _OTHER[self.encoding]


def is_mostly_utf8(head: bytes) -> bool:
    """More of the lines with non-ASCII bytes in ``head`` are valid UTF-8 than not.

    Asked only of a head that is not valid UTF-8 as a whole: a UTF-8 file with a few GBK rows
    (which may even decode as GB18030 by chance, giving mojibake) versus a GBK file.
    """
    good = bad = 0
    for line in head.splitlines():  # (bytes split on \n, \r\n and \r only)
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            good += 1
        except UnicodeDecodeError:
            bad += 1
    return good > bad


def decode_mixed(data: Data, skip: int, encoding: str) -> MixedText:
    """``data[skip:]`` as UTF-8, each line in ``encoding`` or else in the other encoding."""
    other = _OTHER[encoding]
    pieces: list[bytes] = []
    odd: list[int] = []
    bad: list[int] = []
    line, pos, n = 0, skip, len(data)
    while pos < n:
        cut = data.find(b"\n", min(pos + _CHUNK, n) - 1)  # chunks end with a line
        end = n if cut < 0 else cut + 1
        chunk = bytes(data[pos:end])
        try:
            text = chunk.decode(encoding)
        except UnicodeDecodeError:
            line = _decode_lines(chunk, line, encoding, other, pieces, odd, bad)
        else:
            pieces.append(chunk if encoding == "utf-8" else text.encode("utf-8"))
            line += chunk.count(b"\n") + chunk.count(b"\r") - chunk.count(b"\r\n")
        pos = end
    return MixedText(
        b"".join(pieces), encoding, np.array(odd, dtype=np.int64), np.array(bad, dtype=np.int64)
    )


def _decode_lines(
    chunk: bytes,
    line: int,
    encoding: str,
    other: str,
    pieces: list[bytes],
    odd: list[int],
    bad: list[int],
) -> int:
    """Decode ``chunk`` line by line into ``pieces`` (``line``: its first line's number); the
    number of the line after it."""
    raw = np.frombuffer(chunk, np.uint8)
    lone_cr = raw == 13
    lone_cr[:-1] &= raw[1:] != 10
    ends = np.flatnonzero((raw == 10) | lone_cr) + 1
    if not len(ends) or ends[-1] < len(chunk):  # a last line without a line ending
        ends = np.append(ends, len(chunk))
    start = 0
    for k, stop in enumerate(ends.tolist()):
        whole = chunk[start:stop]
        start = stop
        try:
            text = whole.decode(encoding)
            pieces.append(whole if encoding == "utf-8" else text.encode("utf-8"))
            continue
        except UnicodeDecodeError:
            pass
        content = whole.rstrip(b"\r\n")
        ending = whole[len(content) :]
        try:
            text = content.decode(other)
            odd.append(line + k)
        except UnicodeDecodeError:
            text = content.decode(encoding, "replace")
            bad.append(line + k)
        pieces.append(text.encode("utf-8") + ending)
    return line + len(ends)
