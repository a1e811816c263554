"""Publishing a rendered report: swap the staging folder in atomically, clear what a killed run left.

Everything is rendered into a temporary folder inside the output folder and swapped in only when
every step succeeded (under the quarter's lock), so a failed or concurrent run never damages the
last good report.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import sys
from pathlib import Path


def remove_stale(out_dir: Path, quarter: str) -> None:
    """Remove temporary folders a killed run of ``quarter`` left (we hold its lock)."""
    for pattern in (f".{quarter}.tmp-*", f".{quarter}.cache-*", f".{quarter}.old-*"):
        for path in out_dir.glob(pattern):
            shutil.rmtree(path, ignore_errors=True)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EXDEV):
        return False
    raise OSError(code, os.strerror(code), str(b))


def publish(staging: Path, target: Path) -> None:
    """Make ``staging`` the new ``target`` folder; the old one is removed afterwards.

    On Linux the two folders are exchanged in one atomic step, so ``target`` always exists and is
    always complete; elsewhere the old folder is renamed aside first (a moment without it).
    """
    if not target.exists():
        os.replace(staging, target)
        return
    if _exchange(staging, target):
        shutil.rmtree(staging)  # now holds the previous report
        return
    aside = target.with_name(f".{target.name}.old-{os.getpid()}")
    os.replace(target, aside)
    os.replace(staging, target)
    shutil.rmtree(aside, ignore_errors=True)
