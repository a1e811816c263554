"""What a raw file is, decided by its first bytes, not its name.

A web system's "Excel export" is often an HTML table or SpreadsheetML 2003 XML saved as .xls;
a download may be an xlsx named .csv. :func:`sniff_format` names the reader to use.
"""

from __future__ import annotations

import codecs
import re

from qyzj_analytics.ingest.raw import Data

ZIP_MAGIC = b"PK\x03\x04"  # xlsx/xlsm (an Office Open XML package is a zip)
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # xls (BIFF inside a compound document)
SPREADSHEETML_NS = "urn:schemas-microsoft-com:office:spreadsheet"
_HEAD = 4096
_HTML_START = re.compile(r"<(?:!doctype\s+html|html|table|head|body|meta|title|style|!--)", re.I)


def decode_head(data: Data) -> str:
    """The first few KiB of ``data`` as text, for sniffing (BOM honoured, else UTF-8/GB18030)."""
    head = bytes(data[:_HEAD])
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if head.startswith(bom):
            return head[len(bom) :].decode(encoding, "ignore")
    return head.decode("utf-8", "ignore")


def sniff_format(data: Data) -> str:
    """``xlsx``, ``xls``, ``html``, ``spreadsheetml`` or ``text`` (CSV), from the content.

    >>> sniff_format(b"PK\\x03\\x04...")
    'xlsx'
    >>> sniff_format(b"\\xef\\xbb\\xbf<table><tr><td>1</td></tr></table>")
    'html'
    >>> sniff_format("序号,活动名称".encode())
    'text'
    """
    start = bytes(data[:8])
    if start.startswith(ZIP_MAGIC):
        return "xlsx"
    if start == OLE2_MAGIC:
        return "xls"
    head = decode_head(data).lstrip()
    if head.startswith("<?xml"):
        if SPREADSHEETML_NS in head:
            return "spreadsheetml"
        return "html" if re.search(r"<html", head, re.I) else "text"
    if _HTML_START.match(head):
        return "html"
    return "text"
