"""Shared helpers for the benchmarks: time whole processes, interleaved, in one run."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def time_process(cmd: Sequence[str], env: dict[str, str] | None = None) -> float:
    """Wall-clock seconds of one whole process; raises if it fails."""
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env={**os.environ, **(env or {})})
    return time.perf_counter() - start


def compare(
    name: str, candidate: Sequence[str], baseline: Sequence[str], repeats: int = 3
) -> tuple[float, float, float]:
    """Median seconds of candidate and baseline (runs interleaved) and their ratio."""
    time_process(baseline)  # warm the page cache
    cand, base = [], []
    for _ in range(repeats):
        base.append(time_process(baseline))
        cand.append(time_process(candidate))
    c, b = statistics.median(cand), statistics.median(base)
    print(f"{name}: candidate {c:.2f}s, baseline {b:.2f}s, ratio {c / b:.2f}")
    return c, b, c / b


def verdict(ratio: float, target: float) -> int:
    """Print whether ``ratio`` meets ``target``; the exit code for the benchmark script."""
    print(f"target ≤ {target}: {'OK' if ratio <= target else 'MISSED'}")
    return 0 if ratio <= target else 1
