"""Writing the processed layer: parquet and CSV files and the manifest, all or nothing.

Every file is staged beside its destination and renamed into place only when all are written,
the manifest last. Big tables are written on the shared worker threads.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, wait
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from qyzj_analytics.ingest.arrow import encode_dictionary
from qyzj_analytics.ingest.issuegroups import group_duplicates, group_issues, label_csv
from qyzj_analytics.ingest.processed import CleanResult, ProcessedTables
from qyzj_analytics.ingest.quality import summarize_quality
from qyzj_analytics.ingest.workers import worker_pool


def _stage(path: Path, write: Callable[[str], Any]) -> tuple[Path, Path]:
    """Write what belongs at ``path`` to a temp file beside it; (temp file, ``path``).

    A failed write leaves no temp file behind.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp), path


def _parquet_stats(frame: pd.DataFrame, text: Iterable[str] = ()) -> list[str]:
    """The columns whose min/max statistics are written: all but text (``str`` and ``text``).

    (Statistics of long text columns cost time and serve no reader of ours.)
    """
    skip = set(text)
    return [
        c for c, t in frame.dtypes.items() if c not in skip and not pd.api.types.is_string_dtype(t)
    ]


_ROW_NUMBERS = ("source_row", "kept_row")


def _dictionary_columns(frame: pd.DataFrame) -> list[str]:
    """The columns the parquet writer dictionary-encodes: all but row numbers.

    (A row number is distinct in every row of a file: the writer would build a dictionary as
    large as the column only to drop it, the costliest part of writing a big table.)
    """
    return [c for c in frame.columns if c not in _ROW_NUMBERS]


def _compact(tables: Mapping[str, pd.DataFrame], name: str) -> pd.DataFrame:
    """Table ``name``, with its text still ``Categorical`` if ``tables`` keeps it so."""
    return tables.compact(name) if isinstance(tables, ProcessedTables) else tables[name]


def _table_writer(tables: Mapping[str, pd.DataFrame], name: str) -> Callable[[str], None]:
    """What writes ``tables[name]`` as parquet to a path, with the Python part already done.

    A :class:`ProcessedTables` table is written straight from its codes.
    """
    frame = _compact(tables, name)
    text = [c for c, t in frame.dtypes.items() if isinstance(t, pd.CategoricalDtype)]
    if not text or not isinstance(tables, ProcessedTables):
        stats, dictionary = _parquet_stats(frame), _dictionary_columns(frame)
        return lambda path: frame.to_parquet(
            path, index=False, write_statistics=stats, use_dictionary=dictionary
        )
    # The file DataFrame.to_parquet writes for the materialised table: the same schema and
    # metadata (so it reads back with str text), but the text columns reach the parquet writer
    # as dictionaries, which it writes as they are instead of hashing every row's string.
    template = pd.DataFrame(
        {c: pd.Series([], dtype="str") if c in text else frame[c].iloc[:0] for c in frame}
    )
    schema = pa.Schema.from_pandas(template, preserve_index=False)
    rest = pa.Table.from_pandas(frame.drop(columns=text), preserve_index=False)
    arrays = [encode_dictionary(frame[c]) if c in text else rest.column(c) for c in frame]
    table = pa.Table.from_arrays(arrays, names=list(frame.columns))
    for got, expected in zip(table.schema, schema, strict=True):
        stored = got.type.value_type if pa.types.is_dictionary(got.type) else got.type
        if stored != expected.type:  # a bug, never bad input
            raise AssertionError(f"{name}.{got.name}: {got.type} is not {expected.type}")
    metadata = {
        b"pandas": schema.metadata[b"pandas"],
        b"ARROW:schema": base64.b64encode(schema.serialize().to_pybytes()),
    }
    stats, dictionary = _parquet_stats(frame, text), _dictionary_columns(frame)
    import pyarrow.parquet as pq  # (only commands that write parquet need it)

    def write(path: str) -> None:
        with pq.ParquetWriter(
            path,
            table.schema,
            store_schema=False,
            write_statistics=stats,
            use_dictionary=dictionary,
        ) as writer:
            writer.write_table(table)
            writer.add_key_value_metadata(metadata)

    return write


_BIG_TABLE = 50_000  # rows: such a table's parquet is written on a worker thread
_ISSUES = ("rejected", "duplicates", "warnings")


def _issue_writer(issues: Mapping[str, pd.DataFrame], name: str) -> Callable[[str], None]:
    """What writes the issue rows ``issues[name]`` as parquet, their sheet as text.

    Compact frames (``Categorical`` text, as cleaning leaves them) are written straight from
    their codes, as :func:`_table_writer` does; the file reads back as the ``str`` frame.
    """
    frame = _compact(issues, name)
    if name != "duplicates" and any(isinstance(t, pd.CategoricalDtype) for t in frame.dtypes):
        return _table_writer(issues, name)
    frame = issues[name]  # (duplicates: the kept sheet stays objects, as it always was)
    if len(frame):
        frame = frame.astype({"source_sheet": "str"})
    stats, dictionary = _parquet_stats(frame), _dictionary_columns(frame)
    return lambda path: frame.to_parquet(
        path, index=False, write_statistics=stats, use_dictionary=dictionary
    )


def write_processed(result: CleanResult, out_dir: Path) -> list[Path]:
    """Write the processed layer to ``out_dir``, every file atomically.

    Writes ``<table>.parquet`` for every table, ``rejected``/``duplicates``/``warnings`` as
    parquet (one row each) and as CSV grouped by file, sheet, column and reason (one line per
    group with a count and the first row numbers, :mod:`~qyzj_analytics.ingest.issuegroups`;
    UTF-8 with BOM, so Excel opens it), ``quality.csv`` and ``manifest.json``
    (with the SHA-256 of every raw file, and ``missing_tables``: the tables no export was found
    for, whose parquet is written empty). Each file is written to a temp file first; only when
    all are written are they renamed into place, the manifest last. A failed write replaces
    nothing and leaves no temp file.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []  # (temp file, destination)

    def csv(frame: pd.DataFrame, name: str) -> None:
        staged.append(
            _stage(
                out_dir / f"{name}.csv",
                lambda tmp: label_csv(frame).to_csv(tmp, index=False, encoding="utf-8-sig"),
            )
        )

    # big tables are written on two worker threads (parquet encoding releases the GIL), the
    # rest here meanwhile ...
    writers = {t: (result.tables, t) for t in result.tables}
    writers |= {f"{name}": (result.issues, name) for name in _ISSUES}
    sizes = {name: len(_compact(tables, key)) for name, (tables, key) in writers.items()}
    futures: dict[str, Future[tuple[Path, Path]]] = {}
    written: dict[str, tuple[Path, Path]] = {}  # file name -> (temp file, destination)
    try:
        try:
            for name in sorted(writers, key=lambda t: -sizes[t]):  # biggest first
                write = (
                    _issue_writer(*writers[name])
                    if name in _ISSUES
                    else _table_writer(*writers[name])
                )
                if sizes[name] >= _BIG_TABLE:
                    futures[name] = worker_pool().submit(_stage, out_dir / f"{name}.parquet", write)
                else:
                    written[name] = _stage(out_dir / f"{name}.parquet", write)
            for name in _ISSUES:
                frame = _compact(result.issues, name)
                grouped = group_duplicates(frame) if name == "duplicates" else group_issues(frame)
                csv(grouped, name)
            csv(result.files, "quality")
        finally:
            wait(futures.values())  # ... and all are done (or failed) before the manifest
        written.update((t, f.result()) for t, f in futures.items())
        staged[:0] = [written[t] for t in [*result.tables, *_ISSUES]]
        manifest = {
            "generated_at": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "files": [f.as_dict() for f in result.raw_files],
            "quality": summarize_quality(result),
            "missing_tables": list(result.missing_tables),
            "notes": result.notes,
            "errors": [str(e) for e in result.errors],
        }
        text = json.dumps(manifest, ensure_ascii=False, indent=2)
        staged.append(
            _stage(out_dir / "manifest.json", lambda tmp: Path(tmp).write_text(text, "utf-8"))
        )
    except BaseException:
        done = [f.result() for f in futures.values() if f.done() and f.exception() is None]
        for tmp, _ in [*staged, *written.values(), *done]:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, path in staged:
        os.replace(tmp, path)
    return [path for _, path in staged]
