"""Strings as integers: ids packed into big-endian 64-bit words, and (row, id) pair keys.

Packing a string's UTF-8 bytes into zero-padded big-endian words makes comparing two rows of
words compare the strings as ``strcmp`` does (no id holds a NUL byte), so the TREC reader
(:mod:`.trec`) checks, joins and orders ids without building a Python string per line.
Strings come as :data:`_Parts`: pyarrow's (bytes, offsets) buffers, used as they are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import numpy.typing as npt

_BLOCK = 1 << 16  # entries (or bytes) per block of blockwise work: temporaries the cache holds
_HASH_SEED = 0x9E3779B97F4A7C15
_MIX = 0xBF58476D1CE4E5B9


def pair_keys(
    rows: npt.NDArray[np.int64], words: npt.NDArray[np.uint64], n_rows: int
) -> npt.NDArray[np.uint64]:
    """A 64-bit key of each (row, docid words) pair: the row in the high bits (so keys sort by
    row, keeping lookups of row-ordered entries cache friendly), a hash of the docid below.
    Equal pairs give equal keys, whatever the width of ``words`` (zero words add nothing);
    callers confirm a key match on the words themselves (or fall back to strings on a
    collision). ``rows`` are below ``n_rows``; keys compared with each other must be made with
    the same ``n_rows``."""
    import numpy as np

    out = np.empty(rows.size, dtype=np.uint64)
    _pair_keys_into(out, rows, words, n_rows)
    return out


def _pair_keys_into(
    out: npt.NDArray[np.uint64],
    rows: npt.NDArray[np.int64],
    words: npt.NDArray[np.uint64],
    n_rows: int,
    low_bit: int | None = None,
) -> None:
    """:func:`pair_keys` written into ``out``, block by block (one block-sized temporary
    instead of several of the whole size); ``low_bit`` replaces the key's lowest bit.

    The docid's hash is a sum of its words times a constant per position (different
    constants, so the order of the words matters), mixed at the end.
    """
    import numpy as np

    row_bits = max(1, (n_rows - 1).bit_length())
    if row_bits >= 63:  # pragma: no cover - 2**62 queries
        raise ValueError(f"too many queries ({n_rows})")
    n = int(rows.size)
    t = np.empty(min(n, _BLOCK), dtype=np.uint64)
    for start in range(0, n, _BLOCK):
        stop = min(n, start + _BLOCK)
        h, tmp = out[start:stop], t[: stop - start]
        for j in range(words.shape[1]):
            weight = np.uint64(((j + 1) * _HASH_SEED | 1) & (2**64 - 1))  # odd: a bijection
            if j == 0:
                np.multiply(words[start:stop, j], weight, out=h)
            else:
                np.multiply(words[start:stop, j], weight, out=tmp)
                np.add(h, tmp, out=h)  # a sum, so a zero word changes nothing
        # mix the sum so the kept high bits depend on every byte
        np.right_shift(h, np.uint64(29), out=tmp)
        np.bitwise_xor(h, tmp, out=h)
        np.multiply(h, np.uint64(_MIX), out=h)
        np.right_shift(h, np.uint64(32), out=tmp)
        np.bitwise_xor(h, tmp, out=h)
        if low_bit is None:
            np.right_shift(h, np.uint64(row_bits), out=h)
        else:  # the hash one bit shorter, the table's number below it
            np.right_shift(h, np.uint64(row_bits + 1), out=h)
            np.left_shift(h, np.uint64(1), out=h)
        np.copyto(tmp, rows[start:stop], casting="unsafe")
        np.left_shift(tmp, np.uint64(64 - row_bits), out=tmp)
        if low_bit:
            np.bitwise_or(tmp, np.uint64(low_bit), out=tmp)
        np.bitwise_or(h, tmp, out=h)


def _decode(words: npt.NDArray[np.uint64]) -> list[str]:
    import numpy as np

    if words.shape[0] == 0:
        return []
    raw = np.ascontiguousarray(words.astype(">u8")).view(f"S{8 * words.shape[1]}").reshape(-1)
    return [b.decode("utf-8") for b in raw.tolist()]


_Parts: TypeAlias = list[tuple["npt.NDArray[np.uint8]", "npt.NDArray[np.integer[Any]]"]]
"""Strings as (UTF-8 bytes, offsets) chunks: string ``i`` of a chunk is
``data[offsets[i]:offsets[i + 1]]`` (pyarrow's layout, so its buffers are used as they are)."""


def _pack(parts: _Parts) -> npt.NDArray[np.uint64]:
    """Strings as big-endian words, zero padded: ``(n, ceil(longest / 8))``.

    The words are assembled in the strings' byte layout and byte-swapped once at the end. A
    part whose strings all have one length (docids like ``doc-0001``, the common case) is a
    plain 2-D copy of its bytes; other parts read each word as an 8-byte window of their
    bytes and zero what lies past the string's end. Work and temporaries are per part.
    """
    import numpy as np

    lengths = [np.diff(offsets) for _data, offsets in parts]
    n_total = sum(int(x.size) for x in lengths)
    longest = max((int(x.max(initial=0)) for x in lengths), default=0)
    width = max(1, -(-longest // 8))
    out = np.empty((n_total, width), dtype=np.uint64)
    raw = out.view(np.uint8).reshape(n_total, 8 * width)
    # keep = masks[r]: the first r bytes of a word (in memory order) kept, the rest zeroed
    masks = np.tril(np.full((9, 8), 0xFF, dtype=np.uint8), -1).view(np.uint64).reshape(-1)
    row = 0
    for (data, offsets), part_lengths in zip(parts, lengths, strict=True):
        n = int(part_lengths.size)
        if n == 0:
            continue
        first = int(part_lengths[0])
        if first > 0 and bool((part_lengths == first).all()):
            _pack_equal(
                data[int(offsets[0]) : int(offsets[0]) + n * first], first, raw[row : row + n]
            )
        else:
            _pack_windows(data, offsets, part_lengths, out[row : row + n], masks)
        row += n
    if np.little_endian:
        out.byteswap(inplace=True)
    return out


def _pack_equal(data: npt.NDArray[np.uint8], length: int, raw: npt.NDArray[np.uint8]) -> None:
    """Fill ``raw`` (rows of words as bytes) from strings of one ``length``, back to back in
    ``data``: each word is a strided 8-byte read of the bytes (one copy per word, not per
    string), masked where the string ends inside it."""
    import numpy as np

    n = raw.shape[0]
    words = raw.view(np.uint64)
    for j in range(words.shape[1]):
        if 8 * j >= length:
            words[:, j] = 0
            continue
        # rows whose 8-byte read stays inside the data; the last one or two read bytewise
        fits = min(n, (data.size - 8 * j - 8) // length + 1) if data.size >= 8 * j + 8 else 0
        if fits:
            strided = np.ndarray((fits,), np.uint64, data, 8 * j, (length,))
            words[:fits, j] = strided
        for i in range(fits, n):
            chunk = data[i * length + 8 * j : min(i * length + 8 * j + 8, (i + 1) * length)]
            raw[i, 8 * j : 8 * j + 8] = 0
            raw[i, 8 * j : 8 * j + chunk.size] = chunk
        if length < 8 * (j + 1):  # the string ends inside this word: zero what follows
            keep = np.zeros(8, np.uint8)
            keep[: length - 8 * j] = 0xFF
            words[:fits, j] &= keep.view(np.uint64)[0]


def _pack_windows(
    data: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.integer[Any]],
    lengths: npt.NDArray[np.integer[Any]],
    out: npt.NDArray[np.uint64],
    masks: npt.NDArray[np.uint64],
) -> None:
    """Fill ``out`` (words in memory byte order) from strings of any lengths."""
    import numpy as np
    from numpy.lib.stride_tricks import as_strided

    width = out.shape[1]
    # padded so an 8-byte read past the last string stays inside
    buffer = np.zeros(data.size + 8 * width + 8, dtype=np.uint8)
    buffer[: data.size] = data
    # every 8-byte window of the buffer as an integer
    windows = as_strided(buffer, (buffer.size - 7, 8), (1, 1)).view(np.uint64).reshape(-1)
    shortest = int(lengths.min(initial=0))
    at = offsets[:-1].astype(np.int64)
    rest = lengths.astype(np.int64)
    left = np.empty_like(rest)
    for j in range(width):
        word = windows[at]
        if shortest < 8 * (j + 1):  # some strings end inside this word: zero what follows
            np.clip(rest, 0, 8, out=left)
            word &= masks[left]
        out[:, j] = word
        at += 8
        rest -= 8


def _arrow_parts(column: Any) -> _Parts:
    """A pyarrow string column's chunks as byte buffers and offsets (no copies of the text)."""
    import numpy as np

    parts: _Parts = []
    for chunk in getattr(column, "chunks", [column]):
        _validity, offsets_buffer, data_buffer = chunk.buffers()
        raw_offsets = np.frombuffer(offsets_buffer, dtype=np.int32)
        offsets = raw_offsets[chunk.offset : chunk.offset + len(chunk) + 1]
        data = (
            np.frombuffer(data_buffer, dtype=np.uint8)
            if data_buffer is not None
            else np.zeros(0, np.uint8)
        )
        parts.append((data, offsets))
    return parts


def _string_parts(strings: list[str]) -> _Parts:
    import numpy as np

    encoded = [s.encode("utf-8") for s in strings]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, encoded), np.int64, len(encoded)), out=offsets[1:])
    return [(np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets)]
