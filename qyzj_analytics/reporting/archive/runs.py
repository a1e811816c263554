"""The run log (``reports/runs.jsonl``) and the wrapper that records every ``qyzj report`` run.

:func:`record_run` wraps the run: afterwards (success or failure) it sends the notifications of
``--notify`` (:mod:`.notify`), appends one JSON line to the run log and rewrites
``reports/index.html`` (:mod:`.index`), both under a lock on the whole reports folder
(``reports/.reports.lock``, held for a moment, never while notebooks render). Nothing here
changes the run's exit code or its report: a problem is a warning on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qyzj_analytics.errors import DataError, QyzjError
from qyzj_analytics.reporting.archive.index import RUNS_NAME, read_runs, write_index
from qyzj_analytics.reporting.archive.summary import read_summary

__all__ = ["RUNS_NAME", "RunRecord", "read_runs", "record_run"]

REPORTS_LOCK = ".reports.lock"
LOCK_TIMEOUT = 120.0  # seconds: another run only holds it while it writes the log and the index
EXIT_BAD_ARGUMENTS = 2
EXIT_CRASH = 1
NOT_NOTIFIED = (EXIT_BAD_ARGUMENTS, 5)  # bad arguments; another run holds the quarter's lock
MAX_TEXT = 400


@dataclass
class RunRecord:
    """What is known of one run so far: filled in by the run as it learns it."""

    started: dt.datetime = field(default_factory=lambda: dt.datetime.now().astimezone())
    quarter: str = ""
    as_of: dt.date | None = None
    out_dir: Path | None = None  # None until the output folder is checked

    def known(self, quarter: str, as_of: dt.date, out_dir: Path) -> None:
        """Record the run's quarter and its checked output folder."""
        self.quarter, self.as_of, self.out_dir = quarter, as_of, out_dir


@contextlib.contextmanager
def lock_reports(out_dir: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold ``out_dir/.reports.lock`` (waiting up to ``timeout`` s) for the block."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import filelock
    lock = filelock.FileLock(out_dir / REPORTS_LOCK, timeout=timeout, thread_local=False)
    with lock:
        yield


def describe_failure(exc: BaseException | None) -> str:
    """Why a run failed, in one short text (the bad file, or the notebook and cell)."""
    if exc is None:
        return ""
    if isinstance(exc, DataError) and exc.location.describe():
        text = f"{exc.location.describe()}: {exc.message}"
    elif isinstance(exc, QyzjError):
        text = str(exc)
    else:
        text = f"程序异常 {type(exc).__name__}: {exc}"
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first[:MAX_TEXT]


def run_entry(run: RunRecord, code: int, exc: BaseException | None) -> dict[str, Any]:
    """The run log's line for a finished run."""
    summary = read_summary(run.out_dir / run.quarter) if code == 0 and run.out_dir else None
    entry: dict[str, Any] = {
        "start": run.started.isoformat(timespec="seconds"),
        "end": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "quarter": run.quarter,
        "as_of": run.as_of.isoformat() if run.as_of else None,
        "exit_code": code,
        "grade": summary.get("grade_name") if summary else None,
    }
    if code == 5:
        entry["status"] = "另一次运行正在生成同一季度的报告，本次未运行"
    elif code:
        entry["status"] = "失败"
        entry["failure"] = describe_failure(exc)
    else:
        entry["status"] = "成功"
    return entry


def log_run(out_dir: Path, entry: dict[str, Any]) -> None:
    """Append ``entry`` to the run log and rewrite the index, under the reports folder's lock."""
    out_dir.mkdir(parents=True, exist_ok=True)  # a run that failed early may not have made it
    with lock_reports(out_dir):
        with open(out_dir / RUNS_NAME, "a", encoding="utf-8", newline="\n") as f:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")
        write_index(out_dir)


def warn(message: str) -> None:
    """A warning of the archive or the notifications on stderr."""
    print(f"警告: {message}", file=sys.stderr, flush=True)


def finish_run(run: RunRecord, code: int, exc: BaseException | None, notify: Any) -> None:
    """Notify, log and index a finished run; problems are warnings, never a changed exit code."""
    entry = run_entry(run, code, exc)
    if notify is not None and code not in NOT_NOTIFIED:
        from qyzj_analytics.reporting.archive.deliver import send_notifications

        problems = send_notifications(notify, entry, run.out_dir)
        for problem in problems:
            warn(problem)
        if problems:
            entry["notify_failures"] = problems
    if run.out_dir is None:
        return  # failed before the output folder was checked: nothing to log into
    try:
        log_run(run.out_dir, entry)
    except Exception as err:  # the log must never change the run's result
        warn(f"无法写入运行记录或报告索引 {run.out_dir}: {type(err).__name__}: {err}")


def record_run(
    args: argparse.Namespace, body: Callable[[argparse.Namespace, RunRecord], int]
) -> int:
    """Run ``body`` (one ``qyzj report`` run) and record it: notifications, run log, index.

    ``--notify`` is read and checked first (a bad file is exit 2 before any work).

    Raises:
        Whatever ``body`` raises, after recording it.
    """
    notify = None
    if getattr(args, "notify", None):
        from qyzj_analytics.reporting.archive.notify import load_notify

        notify = load_notify(args.notify)
    run = RunRecord(quarter=str(getattr(args, "quarter", "")))
    try:
        code = body(args, run)
    except QyzjError as exc:
        finish_run(run, exc.exit_code, exc, notify)
        raise
    except Exception as exc:
        finish_run(run, EXIT_CRASH, exc, notify)
        raise
    finish_run(run, code, None, notify)
    return code
