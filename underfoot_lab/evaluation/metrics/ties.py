"""Ties in a ranking: trec_eval orders equal scores by docid, descending in byte order.

:func:`_break_ties` reorders the tied entries of a ranking that was sorted by score only;
docids are compared as packed words (:class:`~.trec.DocIds`, from TREC files) or, for ids
held as strings, through their byte-order ranks computed by pyarrow.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from .trec import DocIds

IntArray: TypeAlias = npt.NDArray[np.int64]
FloatArray: TypeAlias = npt.NDArray[np.float64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]


def _names(vocabulary: Any, codes: IntArray) -> npt.NDArray[np.str_]:
    """Docid strings for codes as a fixed-width unicode array (compares in code-point order,
    which is the UTF-8 byte order strcmp uses)."""
    return np.asarray(vocabulary.take(codes), dtype=str)


def _byte_ranks(vocabulary: Any, codes: IntArray) -> IntArray:
    """For each docid code, the rank of its docid among ``codes``' docids in byte order."""
    import pyarrow as pa
    import pyarrow.compute as pc

    unique, inverse = np.unique(codes, return_inverse=True)
    if isinstance(vocabulary, pa.Array):
        names = vocabulary.take(pa.array(unique))
    else:
        names = pa.array(_names(vocabulary, unique))
    # pyarrow compares UTF-8 bytes: strcmp's order (and Python's code-point order)
    order = pc.sort_indices(names).to_numpy()
    rank = np.empty(unique.size, dtype=np.int64)
    rank[order] = np.arange(unique.size, dtype=np.int64)
    return rank[inverse.reshape(-1)]


def _break_ties(
    ranking: IntArray,
    keys: FloatArray,
    lengths: IntArray,
    docs: IntArray,
    vocabulary: Any,
) -> None:
    """Reorder equal-score runs of ``ranking`` (in place) by docid descending in byte order.

    ``keys`` are negated scores padded with +inf past each row's ``lengths`` and ``docs`` the
    matching docid codes. After the stable sort a row's real entries occupy its first
    ``length`` slots, so padding never takes part in a tie (not even with a real -inf score).
    Only tied entries have their docids looked at: a tie of two (most ties of rounded scores)
    is one vectorised comparison and swap; longer ties are ordered by one integer lexsort
    (group ascending, docid descending) over their entries only.
    """
    ordered = np.take_along_axis(keys, ranking, axis=1)
    n, width = ordered.shape
    with_prev = np.zeros((n, width), dtype=bool)
    np.equal(ordered[:, 1:], ordered[:, :-1], out=with_prev[:, 1:])
    with_prev &= np.arange(width) < lengths[:, None]
    flat_with_prev = with_prev.reshape(-1)
    follows = np.flatnonzero(flat_with_prev)  # entries equal to the one before them
    if follows.size == 0:
        return
    flat = ranking.reshape(-1)
    # ties are runs of consecutive positions in ``follows`` (never across rows: a row's first
    # slot follows nothing), each headed by the entry just before the run
    run_starts = np.flatnonzero(np.diff(follows, prepend=-2) != 1)
    heads = follows[run_starts] - 1
    sizes = np.diff(run_starts, append=follows.size) + 1
    row_base = (heads // width) * width  # flat offset of each tie's row in ``docs``
    flat_docs = docs.reshape(-1)

    def codes_at(positions: IntArray, bases: IntArray) -> IntArray:
        codes: IntArray = flat_docs[bases + flat[positions]]
        return codes

    pairs = sizes == 2
    if pairs.any():
        first = heads[pairs]
        second = first + 1
        base = row_base[pairs]
        swap = _descending_out_of_order(vocabulary, codes_at(first, base), codes_at(second, base))
        a, b = first[swap], second[swap]
        moved = flat[a]
        flat[a] = flat[b]
        flat[b] = moved
    longer = ~pairs
    if longer.any():
        counts = sizes[longer]
        group = np.repeat(np.arange(counts.size), counts)
        offsets = np.arange(group.size) - np.repeat(np.cumsum(counts) - counts, counts)
        at = heads[longer][group] + offsets
        codes = codes_at(at, row_base[longer][group])
        within = np.lexsort((*_descending_keys(vocabulary, codes), group))
        flat[at] = flat[at][within]


def _descending_keys(vocabulary: Any, codes: IntArray) -> tuple[npt.NDArray[Any], ...]:
    """Sort keys (least significant first) putting ``codes``' docids in descending byte order."""
    if isinstance(vocabulary, DocIds):
        # the packed words compare as the bytes do: ~word reverses the order
        words = vocabulary.words[codes]
        return tuple(~words[:, j] for j in range(words.shape[1] - 1, -1, -1))
    return (-_byte_ranks(vocabulary, codes),)


def _descending_out_of_order(vocabulary: Any, first: IntArray, second: IntArray) -> BoolArray:
    """For each pair, whether ``first``'s docid sorts below ``second``'s in byte order (so
    the two must swap to put docids in descending order)."""
    if isinstance(vocabulary, DocIds):
        a, b = vocabulary.words[first], vocabulary.words[second]
        below = np.zeros(first.size, dtype=bool)
        for j in range(a.shape[1] - 1, -1, -1):  # last word first, the first word decides
            below = (a[:, j] < b[:, j]) | ((a[:, j] == b[:, j]) & below)
        return below
    ranks = _byte_ranks(vocabulary, np.concatenate([first, second]))
    return ranks[: first.size] < ranks[first.size :]
