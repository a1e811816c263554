"""The per-quarter lock: one ``qyzj report`` run at a time writes a quarter's report.

Portable through :mod:`filelock`: ``flock`` on Linux and macOS, ``msvcrt`` locking on Windows,
and a marker file (``SoftFileLock``, whose holder is recognised as gone when its process has
died) where the file system offers no lock, as on some network shares.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from qyzj_analytics.reporting.report.options import ReportLocked


def _filelock() -> Any:
    """The :mod:`filelock` module (without fcntl it warns on import that it uses marker files)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import filelock
    return filelock


def _write_pid(fd: int) -> None:
    """Write this process's id into the lock file just acquired (best effort: it is a hint).

    A marker lock's file (filelock's fallback where the file system cannot lock) holds the
    holder's own record: anything but an id or nothing is left as it is.
    """
    with contextlib.suppress(OSError):
        os.lseek(fd, 0, os.SEEK_SET)
        if os.read(fd, 64).strip(b"\r\n").isdigit() or os.fstat(fd).st_size == 0:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"{os.getpid()}\n".encode())


def _new_lock(path: Path) -> Any:
    """A non-blocking lock on ``path``; it writes the holder's id where the lock file allows."""
    filelock = _filelock()
    try:
        return filelock.FileLock(path, timeout=0, thread_local=False, on_acquired=_write_pid)
    except ValueError:  # a marker lock (no native locking here) keeps its own record of the holder
        return filelock.FileLock(path, timeout=0, thread_local=False)


def _holder(lock: Any, path: Path) -> str:
    """The holding process's id as text, or "" when it cannot be read."""
    with contextlib.suppress(Exception):
        pid = lock.pid  # a marker lock records its holder
        if pid:
            return str(pid)
    with contextlib.suppress(OSError):
        text = path.read_text(encoding="utf-8", errors="replace").strip()
        if text.isdigit():
            return text
    return ""


@contextlib.contextmanager
def lock_quarter(out_dir: Path, quarter: str) -> Iterator[Path]:
    """Hold ``out_dir/.<quarter>.lock`` exclusively for the block (non-blocking).

    Raises:
        ReportLocked: another process holds it.
    """
    filelock = _filelock()
    path = out_dir / f".{quarter}.lock"
    lock = _new_lock(path)
    try:
        lock.acquire()
    except filelock.Timeout:
        holder = _holder(lock, path)
        by = f"，进程 {holder}" if holder else ""
        raise ReportLocked(
            f"{quarter} 的报告正在由另一次运行生成（锁文件 {path} 被占用{by}），本次不运行；"
            "等那次运行结束后再试（若确认没有其他运行，可删除该锁文件）"
        ) from None
    try:
        yield path
    finally:
        lock.release()  # the native lock file stays in place (unlinking it would race)
