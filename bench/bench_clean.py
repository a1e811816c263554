"""Benchmark: `qyzj clean` of a 1,000,000-row services CSV vs a bare pandas.read_csv(pyarrow).

Target (issue 2): ratio ≤ 2.0, both timed as whole processes in one run.

    .venv/bin/python bench/bench_clean.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BIN, PAIRS, compare, verdict

from qyzj_analytics.sample.bulk import write_services_csv

TARGET = 2.0


def main() -> int:
    """Run the benchmark; exit 1 when the ratio misses the target."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=PAIRS)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="qyzj-bench-clean-"))
    try:
        raw = work / "raw"
        raw.mkdir()
        path = raw / "企业服务记录_全量.csv"
        write_services_csv(path, args.rows, seed=1)
        size = path.stat().st_size / 2**20
        print(f"services CSV: {args.rows:,} rows, {size:.0f} MiB")
        python = str(BIN / "python")
        baseline = [
            python,
            "-c",
            "import sys, pandas as pd; pd.read_csv(sys.argv[1], engine='pyarrow')",
            str(path),
        ]
        candidate = [str(BIN / "qyzj"), "clean", "--raw", str(raw), "--out", str(work / "out")]
        _, _, ratio = compare(
            "qyzj clean vs pandas.read_csv(pyarrow)", candidate, baseline, args.repeats
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return verdict(ratio, TARGET)


if __name__ == "__main__":
    sys.exit(main())
