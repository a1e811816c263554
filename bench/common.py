"""Shared helpers for the benchmarks: time whole processes, interleaved, in one run.

The method (issue 16): one warm-up run of each side, then ``pairs`` alternating pairs
(baseline, candidate); the ratio is the median of the pair ratios, so a slow minute on this
shared machine moves one pair rather than the whole figure.
"""

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
PAIRS = 5  # alternating pairs after the warm-up (issue 16)


def time_process(cmd: Sequence[str], env: dict[str, str] | None = None) -> float:
    """Wall-clock seconds of one whole process; raises if it fails."""
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env={**os.environ, **(env or {})})
    return time.perf_counter() - start


def compare(
    name: str, candidate: Sequence[str], baseline: Sequence[str], repeats: int = PAIRS
) -> tuple[float, float, float]:
    """Median seconds of candidate and baseline and the median of the pair ratios.

    One warm-up run of each side (page cache, byte code), then ``repeats`` alternating pairs.
    """
    time_process(baseline)
    time_process(candidate)
    cand, base, ratios = [], [], []
    for _ in range(repeats):
        b = time_process(baseline)
        c = time_process(candidate)
        base.append(b)
        cand.append(c)
        ratios.append(c / b)
    c, b, r = statistics.median(cand), statistics.median(base), statistics.median(ratios)
    spread = f"pair ratios {min(ratios):.2f}–{max(ratios):.2f}"
    print(f"{name}: candidate {c:.2f}s, baseline {b:.2f}s, ratio {r:.2f} ({spread})")
    return c, b, r


def verdict(ratio: float, target: float) -> int:
    """Print whether ``ratio`` meets ``target``; the exit code for the benchmark script."""
    print(f"target ≤ {target}: {'OK' if ratio <= target else 'MISSED'}")
    return 0 if ratio <= target else 1
