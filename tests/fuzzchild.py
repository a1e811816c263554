"""The child side of tests/test_fuzz.py: run ``qyzj`` under a memory cap (kept free of pytest and
hypothesis, so a forked child imports nothing heavy)."""

from __future__ import annotations

import os
import sys

MEMORY_CAP = 3 * 1024**3  # bytes of address space for one run (Linux: RLIMIT_AS)
PRELOAD = [  # imported once by the fork server; none starts a thread at import (test_architecture)
    "qyzj_analytics.cli",
    "qyzj_analytics.ingest.pipeline",
    "qyzj_analytics.ingest.store",
    "qyzj_analytics.scoring.kpi",
    "python_calamine",
]


def run_capped(argv: list[str], out: str, err: str) -> None:  # pragma: no cover - in the child
    """Run ``qyzj argv`` with stdout/stderr to files, under the memory cap; exit with its code."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    except (ImportError, ValueError, OSError):
        pass
    for path, fd in ((out, 1), (err, 2)):
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(handle, fd)
        os.close(handle)
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    from qyzj_analytics.cli import main

    try:
        code = main(argv)
    except SystemExit as exc:  # argparse: exit 2 for bad arguments
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
