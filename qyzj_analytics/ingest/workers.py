"""Background threads for reading and cleaning, started on first use (nothing at import).

Two pools, both for work that releases the GIL: :func:`worker_pool` (two threads:
dictionary-encoding CSV columns, writing parquet) and one thread for the SHA-256 of raw files, so
hashing a large file never holds up the encoding the cleaner is waiting for.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import Future, ThreadPoolExecutor

from qyzj_analytics.ingest.raw import Data

_WORKERS: ThreadPoolExecutor | None = None
_HASHER: ThreadPoolExecutor | None = None


def worker_pool() -> ThreadPoolExecutor:
    """Two threads for arrow work that releases the GIL (dictionary-encoding CSV columns, writing
    parquet); shared by reading and cleaning, created on first use."""
    global _WORKERS
    if _WORKERS is None:
        _WORKERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="qyzj-worker")
    return _WORKERS


def hash_later(data: Data) -> Future[str]:
    """SHA-256 (hex) of ``data`` on its own background thread (hashlib releases the GIL).

    Parsing and cleaning go on meanwhile; :attr:`RawFile.sha256` waits for the result.
    """
    global _HASHER
    if _HASHER is None:
        _HASHER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qyzj-sha256")
    return _HASHER.submit(lambda: hashlib.sha256(data).hexdigest())
