"""Conversions between arrow string columns and pandas ``Categorical`` columns.

Text stays dictionary-encoded from reading to writing: CSV columns arrive as ``Categorical``
(:func:`encode_categorical`), cleaning moves their codes, and the processed tables become
``str`` or parquet dictionaries only at the end.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa


def encode_categorical(column: pa.ChunkedArray) -> pd.Categorical:
    """A string column as a ``Categorical``: parsing then visits each distinct value once.

    Reading strings and encoding them afterwards is several times faster than letting the CSV
    reader build dictionaries. The encoded chunks share one dictionary, so their indices are
    the codes as they are.
    """
    encoded = column.dictionary_encode()
    chunks = encoded.chunks
    dictionary = chunks[0].dictionary if chunks else None
    if dictionary is None or not all(c.dictionary.equals(dictionary) for c in chunks):
        return encoded.to_pandas().array  # (unifies the dictionaries)
    codes = pa.chunked_array([c.indices for c in chunks]).to_numpy()
    return pd.Categorical.from_codes(codes, categories=pd.Index(dictionary.to_pandas()))
