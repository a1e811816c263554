"""Benchmark: the workbook pre-scans (ingest/xlsxscan.py, ingest/biff.py) plus python-calamine's
read, against calamine's read alone, on a normal large xlsx and .xls.

- xlsx: 50,000 rows × 10 columns (openpyxl write_only: text, integers, decimals).
- xls: 60,000 rows × 5 columns (BIFF8: shared strings and numbers, tests/xlsbuilder.py).

Each side is one whole function call in this process (the reader's own calls: the pre-scan, then
``CalamineWorkbook.from_filelike`` and ``to_python`` of every sheet); one warm-up, then the two
alternate round by round and the median of the per-round ratios is reported.
Targets (issue 10 item 1): xlsx ≤ 1.3, xls ≤ 1.5.

    .venv/bin/python bench/bench_prescan.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the tests' .xls writer
from xlsbuilder import Sheet
from xlsbuilder import write_xls as write_sheets_xls

from qyzj_analytics.ingest.biff import prepare_xls
from qyzj_analytics.ingest.sheetcells import PreparedWorkbook
from qyzj_analytics.ingest.xlsxscan import prepare_xlsx

TARGETS = {"xlsx": 1.3, "xls": 1.5}


def write_xlsx(path: Path, n_rows: int, n_cols: int = 10) -> Path:
    """A plain export-like sheet: a header, then text, integer and decimal columns."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("服务记录")
    sheet.append([f"字段{c}" for c in range(n_cols)])
    for r in range(n_rows):
        sheet.append(
            [
                f"企业{r % 997}" if c % 3 == 0 else (r * 7 + c if c % 3 == 1 else r / 8)
                for c in range(n_cols)
            ]
        )
    book.save(path)
    return path


def write_xls(path: Path, n_rows: int, n_cols: int = 5) -> Path:
    """The same kind of sheet as BIFF8."""
    rows: list[list[object]] = [[f"字段{c}" for c in range(n_cols)]]
    rows += [
        [f"企业{r % 997}" if c % 2 == 0 else r * 7 + c for c in range(n_cols)]
        for r in range(n_rows)
    ]
    return write_sheets_xls(path, [Sheet("Sheet1", rows=rows)])


def read_calamine(data: Path | bytes) -> int:
    """Every sheet as python-calamine builds it for the reader; the cells read."""
    from python_calamine import CalamineWorkbook

    fh = io.BytesIO(data) if isinstance(data, bytes) else data.open("rb")
    with fh:
        book = CalamineWorkbook.from_filelike(fh)
        grids = [
            book.get_sheet_by_name(s).to_python(skip_empty_area=False) for s in book.sheet_names
        ]
    return sum(len(g) for g in grids)


def time_call(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(
    label: str, path: Path, prepare: Callable[[Path], PreparedWorkbook], rounds: int
) -> float:
    """Median ratio (pre-scan + read) / read over ``rounds`` alternating rounds."""
    candidate = lambda: read_calamine(prepare(path).data)  # noqa: E731
    baseline = lambda: read_calamine(path)  # noqa: E731
    candidate()
    baseline()  # warm-up
    ratios, scans, bases = [], [], []
    for _ in range(rounds):
        b = time_call(baseline)
        s = time_call(lambda: prepare(path))
        c = time_call(candidate)
        ratios.append(c / b)
        scans.append(s)
        bases.append(b)
    ratio = statistics.median(ratios)
    print(
        f"{label}: calamine read {statistics.median(bases):.3f}s, pre-scan alone "
        f"{statistics.median(scans):.3f}s, (pre-scan + read) / read = {ratio:.2f} "
        f"(target ≤ {TARGETS[label]})"
    )
    return ratio


def main() -> int:
    """Run both; exit 1 when either ratio misses its target."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--xlsx-rows", type=int, default=50_000)
    parser.add_argument("--xls-rows", type=int, default=60_000)
    parser.add_argument("--only", choices=sorted(TARGETS))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="qyzj-bench-prescan-"))
    missed = []
    try:
        if args.only in (None, "xlsx"):
            path = write_xlsx(work / "big.xlsx", args.xlsx_rows)
            if measure("xlsx", path, prepare_xlsx, args.rounds) > TARGETS["xlsx"]:
                missed.append("xlsx")
        if args.only in (None, "xls"):
            path = write_xls(work / "big.xls", args.xls_rows)
            if measure("xls", path, prepare_xls, args.rounds) > TARGETS["xls"]:
                missed.append("xls")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("missed: " + ", ".join(missed) if missed else "targets met")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
