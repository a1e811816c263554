"""The per-quarter lock: one ``qyzj report`` run at a time writes a quarter's report."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from qyzj_analytics.reporting.report.options import ReportLocked


@contextlib.contextmanager
def lock_quarter(out_dir: Path, quarter: str) -> Iterator[Path]:
    """Hold ``out_dir/.<quarter>.lock`` exclusively for the block (non-blocking).

    Raises:
        ReportLocked: another process holds it.
    """
    import fcntl  # POSIX only: imported here so that importing this module works everywhere

    path = out_dir / f".{quarter}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = path.read_text(encoding="utf-8", errors="replace").strip()
            by = f"，进程 {holder}" if holder.isdigit() else ""
            raise ReportLocked(
                f"{quarter} 的报告正在由另一次运行生成（锁文件 {path} 被占用{by}），本次不运行；"
                "等那次运行结束后再试"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield path
    finally:
        os.close(fd)  # closing releases the lock; the file stays (unlinking would race)
