"""Free text for the demo's documents: phrases of one to four words, each word drawn with Zipf
frequencies (the r-th most common word has a share near 1/r, as in real text), the phrases
themselves drawn with Zipf frequencies too (real text repeats its common phrases: "thank you
for", "the order was"), sentences of about a dozen phrases.

Fast enough for gigabytes (NumPy turns random bytes into phrase numbers a million at a time;
`bytes.join` assembles them) and a pure function of the bytes drawn from the caller's
`random.Random`: the tables are built with integer arithmetic and Python's seeded generator, so
no floating-point rounding or library version can change a byte.
"""

from __future__ import annotations

import random
from functools import lru_cache
from typing import TYPE_CHECKING

from aeroops.demo.words import COMMON_WORDS, tail_words

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

TAIL_WORDS = 4000  # made-up rare words after the common ones
PHRASES = 1 << 14  # distinct phrases
_TABLE_BITS = 20  # a word or phrase is picked by 20 random bits through a table of 2**20 entries
# What follows a phrase, by 4 more random bits: a full stop 1 time in 16, a comma 1 in 16, else a space.
_SEPARATORS = (b". ", b", ", b" ")


def _zipf_table(count: int, shift_millis: int) -> list[int]:
    """2**20 entries; entry i is a rank in ``range(count)``, rank r filling a share of the entries
    near 1 / (r + 1 + shift) (Zipf-Mandelbrot). Integer arithmetic only."""
    weights = [10**12 // (1000 * rank + shift_millis) for rank in range(1, count + 1)]
    total = sum(weights)
    table: list[int] = []
    cumulative = 0
    for rank, weight in enumerate(weights):
        cumulative += weight
        table.extend([rank] * (cumulative * (1 << _TABLE_BITS) // total - len(table)))
    return table


@lru_cache(maxsize=1)
def _tables() -> tuple[list[bytes], npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
    """The phrases, each with each separator after it; the table from 20 random bits to a
    phrase; the lengths of the phrases with their separators."""
    import numpy as np

    words = [w.encode() for w in COMMON_WORDS + tail_words(TAIL_WORDS)]
    word_table = _zipf_table(len(words), 2700)
    draw = random.Random("aeroops.demo phrases").getrandbits  # a constant of the demo, not of a seed
    phrases = []
    for _ in range(PHRASES):
        size = (1, 1, 1, 1, 2, 2, 2, 3, 3, 4)[draw(4) % 10]
        phrases.append(b" ".join(words[word_table[draw(_TABLE_BITS)]] for _ in range(size)))
    tokens = [p + s for p in phrases for s in _SEPARATORS]
    table = np.array(_zipf_table(PHRASES, 2700), dtype=np.uint32) * len(_SEPARATORS)
    lengths = np.array([len(t) for t in tokens], dtype=np.int64)
    return tokens, table, lengths


def phrase_stream(rng: random.Random, phrases: int) -> tuple[bytes, npt.NDArray[np.int64]]:
    """``phrases`` phrases of text and the offset where each begins."""
    import numpy as np

    tokens, table, lengths = _tables()
    draws = np.frombuffer(rng.randbytes(4 * phrases), dtype="<u4")
    separator = (draws & 0xF).astype(np.uint32)
    separator = np.minimum(separator, 2)  # 0: ". ", 1: ", ", 2..15: " "
    picked = table[draws >> (32 - _TABLE_BITS)] + separator
    starts = np.zeros(phrases, dtype=np.int64)
    np.cumsum(lengths[picked[:-1]], out=starts[1:])
    return b"".join(map(tokens.__getitem__, picked.tolist())), starts


_CHUNK = 1 << 16  # phrases drawn at a time: fixed, so the text never depends on how it is asked for


class TextSource:
    """One endless stream of text, handed out in pieces of exact lengths, each beginning at a
    phrase. The pieces depend only on the seed and the lengths asked for, in order: never on
    how they are grouped into calls (the demo's two writer processes batch differently)."""

    def __init__(self, rng: random.Random) -> None:
        import numpy as np

        self._rng = rng
        self._stream = b""
        self._starts: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._position = 0  # the next piece begins at the first phrase start at or after it

    def _extend(self) -> None:
        import numpy as np

        more, more_starts = phrase_stream(self._rng, _CHUNK)
        keep = int(np.searchsorted(self._starts, self._position))  # drop what no piece can use
        base = int(self._starts[keep]) if keep < len(self._starts) else len(self._stream)
        self._starts = np.concatenate((self._starts[keep:] - base, more_starts + (len(self._stream) - base)))
        self._stream = self._stream[base:] + more
        self._position = 0

    def take(self, lengths: list[int]) -> list[bytes]:
        """A piece of exactly each length."""
        import numpy as np

        out = []
        for length in lengths:
            if length <= 0:
                out.append(b"")
                continue
            while True:
                index = int(np.searchsorted(self._starts, self._position))
                if index < len(self._starts) and int(self._starts[index]) + length <= len(self._stream):
                    break
                self._extend()
            begin = int(self._starts[index])
            out.append(self._stream[begin : begin + length])
            self._position = begin + length
        return out
