"""The background threads of reading and cleaning, each started on first use (never at import).

:func:`worker_pool` runs arrow work that releases the GIL (dictionary-encoding CSV columns,
writing parquet); :func:`hash_later` hashes a raw file's bytes on a thread of its own, so a
hash never waits behind (or holds up) arrow work.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import Future, ThreadPoolExecutor

from qyzj_analytics.ingest.raw import Data

_WORKERS: ThreadPoolExecutor | None = None
_HASHER: ThreadPoolExecutor | None = None


def worker_pool() -> ThreadPoolExecutor:
    """Two threads for arrow work that releases the GIL (dictionary-encoding CSV columns,
    writing parquet); shared by reading and cleaning."""
    global _WORKERS
    if _WORKERS is None:
        _WORKERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="qyzj-arrow")
    return _WORKERS


def hash_later(data: Data) -> Future[str]:
    """SHA-256 of ``data`` computed on a background thread (hashlib releases the GIL).

    Parsing and cleaning go on meanwhile; :attr:`RawFile.sha256` waits for the result.
    """
    global _HASHER
    if _HASHER is None:
        _HASHER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qyzj-sha256")
    return _HASHER.submit(lambda: hashlib.sha256(data).hexdigest())
