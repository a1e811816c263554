"""Benchmark: `qyzj forecast --draws 100000` (planner included) vs `qyzj kpi` on the same
sample exports.

Target (issue 16 item 1): ratio ≤ 1.2, both timed as whole processes in one run (one warm-up
run of each side, then alternating pairs, the median of the pair ratios; ``common.compare``),
at as-of 2025-09-30 (end of Q3) unless told otherwise. Both sides run
``python -m qyzj_analytics.cli`` with this checkout first on ``PYTHONPATH``, so the package
timed is the one next to this script (not whatever the venv's ``qyzj`` was installed from).
``PYTHONDONTWRITEBYTECODE`` is lifted for the timed processes, so the warm-up run caches the
byte code as an installed ``qyzj`` has it; with it set, every run compiles the modules it
imports and the forecast, which imports ~20 more, pays ≈ 0.015–0.02 s more than ``qyzj kpi``
(``--compile-each-run`` measures that way). ``--cpu`` adds, for the record, the user + system CPU
seconds of each side (the least of the pairs, from ``getrusage``): less sensitive to other
sessions' load than wall time, though blind to the forecast's second thread (it adds CPU).

    .venv/bin/python bench/bench_forecast.py [--repeats 5] [--as-of 2025-09-30] [--draws 100000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PAIRS, ROOT, compare, time_process, verdict

from qyzj_analytics.sample.generate import write_sample

TARGET = 1.2


def cpu_seconds(cmd: list[str]) -> float:
    """User + system CPU seconds of one whole process (its threads included; POSIX only)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    time_process(cmd)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def compare_cpu(candidate: list[str], baseline: list[str], repeats: int) -> None:
    """Print the least CPU seconds of each side over ``repeats`` alternating pairs."""
    base, cand = [], []
    for _ in range(repeats):
        base.append(cpu_seconds(baseline))
        cand.append(cpu_seconds(candidate))
    print(
        f"CPU (user + system, least of {repeats}): candidate {min(cand):.2f}s, "
        f"baseline {min(base):.2f}s, ratio {min(cand) / min(base):.2f} (not the verdict)"
    )


def main() -> int:
    """Run the benchmark; exit 1 when the ratio misses the target."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=PAIRS)
    parser.add_argument("--as-of", default="2025-09-30")
    parser.add_argument("--draws", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2025, help="seed of the sample exports")
    parser.add_argument(
        "--compile-each-run",
        action="store_true",
        help="set PYTHONDONTWRITEBYTECODE: every run compiles the package",
    )
    parser.add_argument("--cpu", action="store_true", help="also print CPU seconds per side")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="qyzj-bench-forecast-"))
    try:
        raw = work / "raw"
        write_sample(raw, seed=args.seed)
        # this checkout's package, whatever the venv's editable install points at; and run from
        # it: ``python -m`` puts the working directory first on sys.path, so from another
        # checkout's folder both sides would time that checkout's package
        os.environ["PYTHONPATH"] = os.pathsep.join(
            [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
        os.chdir(ROOT)
        if args.compile_each_run:
            os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
        else:  # the warm-up run writes byte code (git-ignored __pycache__), as installed
            os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        qyzj = [sys.executable, "-m", "qyzj_analytics.cli"]
        common = ["--raw", str(raw), "--as-of", args.as_of, "--json"]
        baseline = [*qyzj, "kpi", *common]
        candidate = [*qyzj, "forecast", *common, "--draws", str(args.draws)]
        _, _, ratio = compare(
            f"qyzj forecast --draws {args.draws} vs qyzj kpi (as of {args.as_of})",
            candidate,
            baseline,
            args.repeats,
        )
        if args.cpu:
            compare_cpu(candidate, baseline, args.repeats)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return verdict(ratio, TARGET)


if __name__ == "__main__":
    sys.exit(main())
