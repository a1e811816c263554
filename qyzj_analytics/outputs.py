"""Where a command may write: checks that keep ``sample``, ``clean`` and ``report`` off a user's files.

Every command that writes calls these before writing anything: an output folder that is a file,
one inside the raw exports (the next run would read what this one wrote), or a folder of a user's
own files given to ``qyzj sample`` is refused (:class:`UsageError`, exit 2); a folder that cannot
be written is said so plainly (:class:`OutputError`, exit 3), never with a traceback.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

from qyzj_analytics.errors import QyzjError, UsageError

# Files an OS, a file manager or git puts into any folder: they do not make it "in use".
SYSTEM_FILES = frozenset({".ds_store", "thumbs.db", "desktop.ini", ".gitkeep"})


class OutputError(QyzjError):
    """The output folder cannot be created or written (exit code 3)."""

    exit_code = 3


def _key(path: Path) -> str:
    """``path`` made absolute, symlinks resolved and case folded where the OS ignores case."""
    return os.path.normcase(str(Path(path).resolve()))


def is_within(path: Path, folder: Path) -> bool:
    """True when ``path`` is ``folder`` or somewhere below it (after resolving both).

    >>> is_within(Path("data/raw/out"), Path("data/raw"))
    True
    >>> is_within(Path("data/raw"), Path("data/raw"))
    True
    >>> is_within(Path("data/processed"), Path("data/raw"))
    False
    """
    inner, outer = _key(path), _key(folder)
    return inner == outer or inner.startswith(outer.rstrip(os.sep) + os.sep)


def check_out_dir(out: Path, raw: Path | None = None, option: str = "--out") -> None:
    """Refuse an output folder that is a file, or that is (or lies inside) the raw folder.

    Args:
        out: the output folder (it need not exist yet).
        raw: the raw-exports folder the command reads, if any.
        option: the command-line option that named ``out``, for the message.

    Raises:
        UsageError: ``out`` is a file, or inside ``raw`` (exit 2).
    """
    if out.exists() and not out.is_dir():
        raise UsageError(f"{option} 应为文件夹，但 {out} 是一个文件；请指定一个文件夹")
    if raw is not None and is_within(out, raw):
        raise UsageError(
            f"输出文件夹 {out} 位于原始数据文件夹 {raw} 之内（或就是它）：写出的文件会被下一次"
            f"运行当作导出读取，原始数据也只应读取、不应改动。请用 {option} 指定原始数据文件夹"
            "之外的文件夹（如 data/processed 或 reports）"
        )


def is_in_use(folder: Path) -> bool:
    """True when ``folder`` exists and holds anything besides the files an OS leaves everywhere."""
    if not folder.is_dir():
        return False
    return any(p.name.lower() not in SYSTEM_FILES for p in folder.iterdir())


def check_sample_dir(out: Path, marker: str) -> None:
    """Refuse to write the sample into a file or into a folder of the user's own files.

    A missing or empty folder is fine, and so is a folder an earlier ``qyzj sample`` wrote (it
    holds ``marker``): the sample is written again over its own files.

    Raises:
        UsageError: ``out`` is a file, or a non-empty folder without ``marker`` (exit 2).
    """
    check_out_dir(out)
    if is_in_use(out) and not (out / marker).exists():
        raise UsageError(
            f"文件夹 {out} 不是空的，也不是 qyzj sample 生成的示例文件夹（没有 {marker} 标记）："
            "为了不覆盖其中的文件，示例数据不会写到这里。请指定一个新的或空的文件夹，"
            "如 --out data/sample"
        )


def ensure_writable(folder: Path) -> None:
    """Create ``folder`` if needed and check a file can be written in it (the probe is removed).

    Raises:
        OutputError: the folder cannot be created or written (exit 3).
    """
    with writing_to(folder, every_error=True):
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".qyzj-write-test-{uuid.uuid4().hex}"
        probe.write_bytes(b"")
        probe.unlink()


@contextlib.contextmanager
def writing_to(folder: Path, *, every_error: bool = False) -> Iterator[None]:
    """Turn an OS error while writing into ``folder`` into a plain :class:`OutputError`.

    Args:
        folder: the output folder.
        every_error: translate every OS error of the block (it only writes); by default only
            errors naming ``folder``, a path inside it or one of its parents are, and any other
            (reading the raw exports, say) passes through unchanged.
    """
    try:
        yield
    except OSError as exc:
        names = [
            Path(os.fsdecode(n))
            for n in (exc.filename, exc.filename2)
            if isinstance(n, str | bytes | os.PathLike)
        ]
        ours = any(is_within(n, folder) or is_within(folder, n) for n in names)
        if not (ours or every_error):
            raise
        raise OutputError(describe_write_error(folder, exc)) from None


def describe_write_error(folder: Path, exc: OSError) -> str:
    """The message for ``exc`` raised while writing into ``folder``: what, where, what to do."""
    named = isinstance(exc.filename, str | bytes | os.PathLike)
    where = os.fsdecode(exc.filename) if named else str(folder)
    if isinstance(exc, PermissionError):
        reason = "没有写入权限，或其中的文件正被其他程序（如 Excel、Word）打开"
    elif isinstance(exc, FileExistsError | NotADirectoryError):
        reason = "路径中有同名文件挡住了文件夹"
    else:
        reason = exc.strerror or type(exc).__name__
    return (
        f"无法写入输出文件夹 {folder}（{where}）：{reason}。"
        "请检查该文件夹的权限并关闭占用其中文件的程序，或用 --out 指定其他文件夹"
    )
