"""Publishing a rendered report: swap the staging folder in atomically, clear what a killed run left.

Everything is rendered into a temporary folder inside the output folder and swapped in only when
every step succeeded (under the quarter's lock), so a failed or concurrent run never damages the
last good report.

The swap works where a folder cannot be renamed over another (Windows): the old report is renamed
aside, the new one moved in, the old one deleted. On Linux the two folders are exchanged in one
step (``renameat2``, looked up when called). When a file of the old report is open in another
program (Word or Excel on Windows refuse the rename), the old report stays as it is, the new one
is kept in ``<quarter>.failed/`` and :class:`PublishBlocked` names the open file (exit 4).
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import sys
from pathlib import Path

from qyzj_analytics.errors import QyzjError
from qyzj_analytics.reporting.report.options import EXIT_NOTEBOOK

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class PublishBlocked(QyzjError):
    """The new report could not replace the old one (a file of it is open): exit code 4."""

    exit_code = EXIT_NOTEBOOK


def remove_stale(out_dir: Path, quarter: str) -> None:
    """Remove temporary folders a killed run of ``quarter`` left (we hold its lock)."""
    for pattern in (f".{quarter}.tmp-*", f".{quarter}.cache-*", f".{quarter}.old-*"):
        for path in out_dir.glob(pattern):
            shutil.rmtree(path, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    if sys.platform.startswith("linux"):
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
    return False


def _is_held_open(path: Path) -> bool:
    """True when ``path`` cannot be opened for writing: another program holds it (Windows)."""
    try:
        with open(path, "r+b"):
            return False
    except PermissionError:
        return True
    except OSError:
        return False


def find_open_files(folder: Path) -> list[Path]:
    """The files of ``folder`` another program holds open, so that the folder cannot be renamed."""
    return [p for p in sorted(folder.rglob("*")) if p.is_file() and _is_held_open(p)]


def keep_failed(staging: Path, failed: Path) -> bool:
    """Move ``staging`` to ``failed`` (replacing an earlier failed run); False if that fails too."""
    shutil.rmtree(failed, ignore_errors=True)
    try:
        os.replace(staging, failed)
    except OSError:
        return False
    return True


def _blocked(staging: Path, target: Path, exc: OSError) -> PublishBlocked:
    """Keep the new report in ``<quarter>.failed/`` and say which file of the old one is open."""
    failed = target.with_name(f"{target.name}.failed")
    kept = keep_failed(staging, failed)
    held = find_open_files(target) if target.is_dir() else []
    if held:
        what = "、".join(str(p) for p in held[:5])
        cause = f"旧报告的文件 {what} 正被其他程序打开（如 Word、Excel 或文件预览）"
    else:
        name = os.fsdecode(exc.filename) if exc.filename is not None else str(target)
        cause = f"旧报告 {name} 中有文件正被其他程序打开或无权改动（{exc.strerror or exc}）"
    where = f"新报告保存在 {failed}" if kept else f"新报告也无法保存到 {failed}"
    return PublishBlocked(
        f"无法替换报告 {target}：{cause}。旧报告保持不变，{where}；关闭该文件后重新运行即可发布"
    )


def publish(staging: Path, target: Path) -> None:
    """Make ``staging`` the new ``target`` folder; the old one is removed afterwards.

    On Linux the two folders are exchanged in one atomic step, so ``target`` always exists and is
    always complete; elsewhere the old folder is renamed aside first (a moment without it).

    Raises:
        PublishBlocked: the old report cannot be moved (a file of it is open): it stays in place
            and the new report is moved to ``<target>.failed``.
    """
    if not target.exists():
        os.replace(staging, target)
        return
    if _exchange(staging, target):
        shutil.rmtree(staging)  # now holds the previous report
        return
    aside = target.with_name(f".{target.name}.old-{os.getpid()}")
    try:
        os.replace(target, aside)
    except PermissionError as exc:
        raise _blocked(staging, target, exc) from None
    try:
        os.replace(staging, target)
    except OSError as exc:
        os.replace(aside, target)  # the old report back where it was
        raise _blocked(staging, target, exc) from None
    shutil.rmtree(aside, ignore_errors=True)  # what cannot go now, remove_stale clears next run
