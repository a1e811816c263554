"""Independent random streams by name, all derived from one seed."""

from __future__ import annotations

import zlib

import numpy as np


class Streams:
    """Independent random generators by name, all derived from one seed.

    Every random ingredient (a stream's rate, its month shocks, its counts, the tag split…) draws
    from its own generator, so a change in one part of the data never shifts the random numbers
    another part sees: what-if runs with the same seed share their randomness where they can.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed % 2**64  # any integer seed, negative ones included

    def __call__(self, name: str) -> np.random.Generator:
        """A fresh generator for ``name`` (the same name always gives the same numbers)."""
        key = zlib.crc32(name.encode("utf-8"))
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(key,)))
