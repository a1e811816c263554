"""The one pool of background threads shared by reading and cleaning, started on first use.

Nothing is started at import: :func:`worker_pool` creates the pool the first time work is
handed to it (dictionary-encoding CSV columns, hashing raw files, writing parquet: all release
the GIL).
"""

from __future__ import annotations

import hashlib
from concurrent.futures import Future, ThreadPoolExecutor

from qyzj_analytics.ingest.raw import Data

_WORKERS: ThreadPoolExecutor | None = None


def worker_pool() -> ThreadPoolExecutor:
    """Two threads for work that releases the GIL (dictionary-encoding CSV columns, hashing raw
    files, writing parquet); shared by reading and cleaning, created on first use."""
    global _WORKERS
    if _WORKERS is None:
        _WORKERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="qyzj-worker")
    return _WORKERS


def hash_later(data: Data) -> Future[str]:
    """SHA-256 (hex) of ``data`` computed on the worker pool (hashlib releases the GIL).

    Parsing and cleaning go on meanwhile; :attr:`RawFile.sha256` waits for the result.
    """
    return worker_pool().submit(lambda: hashlib.sha256(data).hexdigest())
