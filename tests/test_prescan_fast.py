"""The fast (numpy) pre-scans find exactly what the record-by-record / regex scans find."""

from __future__ import annotations

import re
import struct
from collections import Counter

import numpy as np
from xlsbuilder import Err, Sheet, merge_cells, record, workbook_stream

from qyzj_analytics.errors import Location
from qyzj_analytics.ingest.biffcells import _scan_cells_in_order, far_cells, scan_cells
from qyzj_analytics.ingest.sheetcells import column_index
from qyzj_analytics.ingest.xlsxscan import _CELL_TAG_RE, scan_chunk

_OLD_REF = re.compile(rb"\sr=[\"']([A-Z]{1,3})(\d{1,7})[\"']")


def _mulrk(row: int, col: int, n: int) -> bytes:
    rks = b"".join(struct.pack("<HI", 15, (i + 1) << 2 | 2) for i in range(n))
    return record(0x00BD, struct.pack("<HH", row, col) + rks + struct.pack("<H", col + n - 1))


def _formula_with_text(row: int, col: int) -> list[bytes]:
    result = struct.pack("<BBBBHH", 0, 0, 0, 0, 0, 0xFFFF)  # a cached string follows
    body = struct.pack("<HHH", row, col, 15) + result + struct.pack("<HI", 0, 0) + b"\0\0"
    return [record(0x0006, body), record(0x0207, struct.pack("<HB", 2, 0) + b"ok")]


def test_xls_fast_scan_matches_the_record_by_record_scan() -> None:
    sheet = Sheet(
        "表",
        rows=[
            ["名称", "数量"],
            ["甲", 1],
            ["乙", Err("#N/A")],
            ["丙", Err("#DIV/0!", formula=True)],
        ],
        cells={(60_000, 200): "远", (5, 0): True},
        dimensions=(0, 4_000_000_000, 0, 300),
    )
    sheet.extra = [_mulrk(7, 1, 4), *_formula_with_text(8, 2), merge_cells([(0, 0, 0, 1)], 9)]
    stream = workbook_stream([sheet])
    offset = struct.unpack_from("<I", stream, stream.index(b"\x85\x00") + 4)[0]
    where = Location("x.xls", "表")
    fast, slow = scan_cells(stream, offset, where), _scan_cells_in_order(stream, offset, where)
    for name in ("rows", "cols", "at"):
        assert np.array_equal(getattr(fast, name), getattr(slow, name)), name
    assert fast.marks == slow.marks and len(fast.marks) == 2
    assert fast.dimensions == slow.dimensions and fast.bad_merges == slow.bad_merges != []
    assert fast.followers == slow.followers != {}
    assert fast.extent == slow.extent == (0, 60_000, 0, 200)
    assert sorted(fast.cols[fast.rows == 7].tolist()) == [1, 2, 3, 4]  # the MULRK spread out
    far = far_cells(fast, 1000)
    assert [(r, c) for r, c, _, _ in far] == [(60_000, 200)] and fast.block == (0, 8, 0, 4)


def test_xlsx_chunk_scan_matches_the_reference_regex() -> None:
    xml = (
        b'<x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c><x:c\tr=\'XFD1048576\'/>'
        b'<c r="AB12"/><c r="AAAA1"/><c r="A12345678"/><c r="B0"/><c>no ref</c>'
        b'<row r="7" spans="1:3"><c r="C7" t="n"><v>1</v></c></row>'
    )
    found = scan_chunk(xml)
    old = _OLD_REF.findall(xml)
    assert Counter(found.rows.tolist()) == Counter(int(d) - 1 for _, d in old)
    assert Counter(found.cols.tolist()) == Counter(column_index(c.decode()) for c, _ in old)
    assert found.tags == len(_CELL_TAG_RE.findall(xml)) == 8
    assert not found.hinted
    for hint in (b'<c r="A1" t="e"><v>#N/A</v></c>', b"<c r='A1'><f>1+1</f></c>", b"<x:f>"):
        assert scan_chunk(hint).hinted
    plain = b'<row r="2"><c r="A2" t="n"><v>3</v></c><c r="B2"/></row>'
    assert scan_chunk(plain).tags == 2 and not scan_chunk(plain).hinted


def test_data_validations_are_not_formula_hints(tmp_path) -> None:
    """A template's drop-downs (<formula1>) do not send the sheet through the slow marks scan;
    a real formula (<f>, <x:f …>) still does."""
    import zipfile

    import openpyxl
    from openpyxl.worksheet.datavalidation import DataValidation

    from qyzj_analytics.ingest.sheetcells import _mentions_marks, sheet_members

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["活动名称", "参与企业数"])
    sheet.append(["活动", 3])
    check = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0")
    check.add("B2:B1048576")
    sheet.add_data_validation(check)
    path = tmp_path / "t.xlsx"
    book.save(path)
    with zipfile.ZipFile(path) as zf:
        member = next(iter(sheet_members(zf).values()))
        xml = zf.read(member)
        assert b"<formula1>" in xml
        assert not scan_chunk(xml).hinted
        assert not _mentions_marks(zf, member)
    for formula in (b"<f>SUM(B2:B3)</f>", b'<x:f t="shared" ref="B2:B3" si="0"/>'):
        assert scan_chunk(xml.replace(b"<v>3</v>", formula + b"<v>3</v>")).hinted
