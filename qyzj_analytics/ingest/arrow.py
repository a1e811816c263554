"""Conversions between arrow string columns and pandas ``Categorical`` columns.

Text stays dictionary-encoded from reading to writing: CSV columns arrive as ``Categorical``
(:func:`encode_categorical`), cleaning moves their codes, and the processed tables become
``str`` or parquet dictionaries only at the end.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa


def encode_categorical(
    column: pa.ChunkedArray, encoded: pa.ChunkedArray | None = None
) -> pd.Categorical:
    """A string column as a ``Categorical``: parsing then visits each distinct value once.

    Reading strings and encoding them afterwards is several times faster than letting the CSV
    reader build dictionaries. The encoded chunks share one dictionary, so their indices are
    the codes as they are.

    A column of bytes (``binary``, as the CSV reader may give it) becomes text here: only its
    distinct values are checked to be UTF-8. ``encoded`` is ``column.dictionary_encode()`` when
    it was already made (:mod:`~qyzj_analytics.ingest.early`).

    Raises:
        pyarrow.ArrowInvalid: a value of a ``binary`` column is not UTF-8.
    """
    if encoded is None:
        encoded = column.dictionary_encode()
    chunks = encoded.chunks
    dictionary = chunks[0].dictionary if chunks else None
    if dictionary is None or not all(_same_array(c.dictionary, dictionary) for c in chunks):
        if pa.types.is_binary(encoded.type.value_type):
            encoded = encoded.cast(pa.dictionary(encoded.type.index_type, pa.string()))
        return encoded.to_pandas().array  # (unifies the dictionaries)
    if pa.types.is_binary(dictionary.type):
        dictionary = dictionary.cast(pa.string())
    codes = pa.chunked_array([c.indices for c in chunks]).to_numpy()
    return pd.Categorical.from_codes(codes, categories=pd.Index(dictionary.to_pandas()))


def _same_array(a: pa.Array, b: pa.Array) -> bool:
    """``a.equals(b)``, at once when both use the same memory (as the chunks of one encoding
    share their dictionary: comparing every chunk's copy byte by byte cost ≈ 5 ms a column)."""
    if a.type == b.type and len(a) == len(b) and a.offset == b.offset:
        mine, theirs = a.buffers(), b.buffers()
        if all(
            (x is None and y is None)
            or (x is not None and y is not None and x.address == y.address)
            for x, y in zip(mine, theirs, strict=True)
        ):
            return True
    return a.equals(b)


def decode_categorical(column: pd.Series) -> pa.Array:
    """A ``Categorical`` column as an arrow string array (missing values are nulls).

    Built as a dictionary array and cast to strings: arrow copies each row's string in C++,
    about three times faster than a ``take`` on the labels.
    """
    if not (column.array.codes >= 0).any():  # e.g. the sheet of a CSV
        return pa.nulls(len(column), pa.large_string())
    return encode_dictionary(column).cast(pa.large_string())


def encode_dictionary(column: pd.Series) -> pa.DictionaryArray:
    """A ``Categorical`` column as an arrow dictionary array (missing values are nulls)."""
    codes = column.array.codes
    missing = codes < 0
    indices = pa.array(codes, mask=missing if missing.any() else None)
    labels = pa.array(column.cat.categories.to_numpy(dtype=object), pa.large_string())
    return pa.DictionaryArray.from_arrays(indices, labels)


def materialize_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every ``Categorical`` column of ``frame`` as a ``str`` column."""
    data = {
        n: pd.Series(decode_categorical(c).to_pandas(), dtype="str", index=frame.index)
        if isinstance(c.dtype, pd.CategoricalDtype)
        else c
        for n, c in frame.items()
    }
    return pd.DataFrame(data, index=frame.index)
