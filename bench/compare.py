"""Compare the benchmark ratios of two checkouts (e.g. before and after a refactor), interleaved.

Each round runs every chosen ``bench_*.py`` of the *before* checkout, then the same benchmark of
this checkout, each with the project venv's interpreter and its own checkout first on
``PYTHONPATH`` (so its own package, notebooks and benchmark code are used). The ratio each script
prints (candidate / its baseline, both whole processes) is collected; the summary gives the
median ratio per side and the relative change.

    git worktree add /tmp/qyzj-before <commit>
    .venv/bin/python bench/compare.py --before /tmp/qyzj-before [--rounds 3] [--only clean,forecast]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RATIO = re.compile(r"ratio (\d+(?:\.\d+)?)")


def run_bench(checkout: Path, name: str, extra: list[str]) -> float:
    """The ratio printed by ``bench/bench_<name>.py`` of ``checkout``."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    script = checkout / "bench" / f"bench_{name}.py"
    out = subprocess.run(
        [sys.executable, str(script), *extra],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
    )
    found = RATIO.findall(out.stdout)
    if not found:
        raise SystemExit(f"{script}: no ratio in its output\n{out.stdout}\n{out.stderr}")
    return float(found[-1])


def main() -> int:
    """Run the rounds and print the summary table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", type=Path, required=True, help="the other checkout")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="clean,forecast,report")
    parser.add_argument("--repeats", type=int, default=3, help="passed to each bench script")
    args = parser.parse_args()
    after = HERE.parent
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    ratios: dict[tuple[str, str], list[float]] = {}
    for r in range(args.rounds):
        for name in names:
            for side, checkout in (("before", args.before.resolve()), ("after", after)):
                ratio = run_bench(checkout, name, ["--repeats", str(args.repeats)])
                ratios.setdefault((name, side), []).append(ratio)
                print(f"round {r + 1} {name:<9} {side:<6} ratio {ratio:.2f}", flush=True)
    print(f"\n{'benchmark':<10} {'before':>8} {'after':>8} {'change':>8}   (median ratio)")
    worst = 0.0
    for name in names:
        b = statistics.median(ratios[(name, "before")])
        a = statistics.median(ratios[(name, "after")])
        worst = max(worst, a / b - 1)
        print(f"{name:<10} {b:8.2f} {a:8.2f} {a / b - 1:+8.1%}")
    return 0 if worst <= 0.05 else 1


if __name__ == "__main__":
    sys.exit(main())
