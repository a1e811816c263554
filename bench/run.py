"""Run every benchmark under bench/ (make bench) and keep each one's verdict.

Each bench prints its figures and ends with a ``target ≤ …: OK|MISSED`` line; this runner runs
them all (a missed target does not stop the others), then prints one summary line per bench and
exits non-zero if any missed or failed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run_bench(script: Path) -> tuple[int, list[str]]:
    """Run one bench, echoing its output; its exit code and its verdict lines."""
    print(f"== {script.name}", flush=True)
    proc = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, encoding="utf-8"
    )
    verdicts = []
    assert proc.stdout is not None
    for line in proc.stdout:
        print(line, end="", flush=True)
        if "target" in line or " ratio " in line or line.startswith("missed"):
            verdicts.append(line.strip())
    return proc.wait(), verdicts


def main() -> int:
    """Run bench_*.py in turn; print every verdict; exit 1 if any missed its target."""
    summary: list[tuple[str, int, list[str]]] = []
    for script in sorted(HERE.glob("bench_*.py")):
        code, verdicts = run_bench(script)
        summary.append((script.name, code, verdicts))
    print("\n== summary (every benchmark's verdict)")
    for name, code, verdicts in summary:
        status = "OK" if code == 0 else "MISSED" if verdicts else f"FAILED (exit {code})"
        print(f"{name}: {status}")
        for line in verdicts:
            print(f"    {line}")
    return 1 if any(code for _, code, _ in summary) else 0


if __name__ == "__main__":
    sys.exit(main())
