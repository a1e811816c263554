"""Benchmark: `qyzj clean` of 1,000,000-row services CSVs vs a bare pandas.read_csv(pyarrow).

Three exports, each with its own target (issue 16 item 1) and verdict line:

- ``plain``: a plain export like the platform's own (``write_plain_services_csv``: six columns,
  5,000 firms, dates 90 % ``2025/01/20`` and 10 % ``2025年1月20日``, 1 % of firms with a bad
  check digit, 6.5 % duplicate rows) — clean ≤ 1.5×;
- ``masked``: the plain export with every credit code failing its check digit (a platform that
  masks codes: a warning on every row) — clean ≤ 2.5×;
- ``sample``: the sample's services export (``write_services_csv``: title and 合计 rows, ten
  columns with personal data, five date formats, 1 % duplicates) — clean ≤ 1.5×.

For every export over 1 MB no output CSV may be larger than the export (issue 16: the CSVs are
grouped; the per-row detail is in parquet). The candidate runs ``python -m qyzj_analytics.cli``
with this checkout first on ``PYTHONPATH`` (and ``-P``: not the current folder), so it times this
checkout's package; the package's
byte code is compiled first, as ``make install`` does (with ``PYTHONDONTWRITEBYTECODE`` set,
every run would otherwise compile it again, which an installed package never does).

    .venv/bin/python bench/bench_clean.py [--rows 1000000] [--repeats 5] [--only plain]
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BIN, PAIRS, ROOT, compare

sys.path.insert(0, str(ROOT))
from qyzj_analytics.sample.bulk import write_plain_services_csv, write_services_csv

MIB = 2**20


def _plain(path: Path, rows: int) -> None:
    write_plain_services_csv(path, rows, seed=1)


def _masked(path: Path, rows: int) -> None:
    write_plain_services_csv(path, rows, seed=1, bad_code_share=1.0)


def _sample(path: Path, rows: int) -> None:
    write_services_csv(path, rows, seed=1)


# name -> (file name, generator, target ratio); the sample last: compare.py reads the last ratio
# printed, and older checkouts printed only the sample's
EXPORTS: dict[str, tuple[str, Callable[[Path, int], None], float]] = {
    "plain": ("企业服务记录.csv", _plain, 1.5),
    "masked": ("企业服务记录_编码脱敏.csv", _masked, 2.5),
    "sample": ("企业服务记录_全量.csv", _sample, 1.5),
}


def run_one(name: str, rows: int, repeats: int, work: Path) -> bool:
    """Time one export; print its figures and verdict line; True when both targets are met."""
    file_name, generate, target = EXPORTS[name]
    raw = work / name / "raw"
    raw.mkdir(parents=True)
    path = raw / file_name
    generate(path, rows)
    size = path.stat().st_size
    print(f"{name}: {rows:,} rows, {size / MIB:.0f} MiB")
    python = str(BIN / "python")
    baseline = [
        python,
        "-c",
        "import sys, pandas as pd; pd.read_csv(sys.argv[1], engine='pyarrow')",
        str(path),
    ]
    out = work / name / "out"
    candidate = [
        python,
        "-P",
        "-m",
        "qyzj_analytics.cli",
        "clean",
        "--raw",
        str(raw),
        "--out",
        str(out),
    ]
    _, _, ratio = compare(
        f"qyzj clean ({name}) vs pandas.read_csv(pyarrow)", candidate, baseline, repeats
    )
    ok = ratio <= target
    print(f"target ≤ {target} ({name}): {'OK' if ok else 'MISSED'}")
    if size > MIB:
        sizes = {p.name: p.stat().st_size for p in sorted(out.glob("*.csv"))}
        largest = max(sizes, key=sizes.__getitem__)
        bounded = sizes[largest] <= size
        print(
            f"target CSV ≤ export ({name}): {'OK' if bounded else 'MISSED'} "
            f"(largest {largest} {sizes[largest]:,} bytes, export {size:,} bytes)"
        )
        ok = ok and bounded
    return ok


def main() -> int:
    """Run the benchmark; exit 1 when any export misses a target."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=PAIRS)
    parser.add_argument("--only", choices=sorted(EXPORTS), action="append")
    args = parser.parse_args()
    compileall.compile_dir(ROOT / "qyzj_analytics", quiet=1)  # as `make install` does
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    work = Path(tempfile.mkdtemp(prefix="qyzj-bench-clean-"))
    try:
        results = [run_one(name, args.rows, args.repeats, work) for name in args.only or EXPORTS]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
