"""The project's own error types.

Every problem with input data surfaces as :class:`DataError` (exit code 3) with the file, sheet,
row and column it concerns; the CLI prints it without a traceback.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


class QyzjError(Exception):
    """Base class of every error the project raises on purpose."""

    exit_code: int = 1


class ParseError(QyzjError, ValueError):
    """A single cell value could not be parsed (the row is rejected, not the file)."""

    exit_code = 3


@dataclass
class Location:
    """Where in the raw exports something is: any part may be unknown."""

    file: str | None = None
    sheet: str | None = None
    row: int | None = None
    column: str | None = None

    def describe(self) -> str:
        """Human-readable location, e.g. ``文件 a.xlsx, 工作表 1月, 第 5 行, 列 活动时间``.

        The file is named with this system's separator (``2025\\活动.xlsx`` on Windows), though
        :attr:`file` keeps the raw folder's portable ``/`` form the processed data records.
        """
        parts = []
        if self.file:
            parts.append(f"文件 {self.file.replace('/', os.sep)}")
        if self.sheet:
            parts.append(f"工作表 {self.sheet}")
        if self.row is not None:
            parts.append(f"第 {self.row} 行")
        if self.column:
            parts.append(f"列 {self.column}")
        return ", ".join(parts)


class DataError(QyzjError):
    """Bad input data at the file level: exit code 3, message names where."""

    exit_code = 3

    def __init__(self, message: str, location: Location | None = None) -> None:
        self.message = message
        self.location = location or Location()
        where = self.location.describe()
        super().__init__(f"{where}: {message}" if where else message)


class ConfigError(QyzjError):
    """A contract config that cannot be used (exit code 3: it is input too)."""

    exit_code = 3


class UsageError(QyzjError):
    """Bad command-line arguments (exit code 2)."""

    exit_code = 2
