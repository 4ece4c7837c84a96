"""The dense path: fixed candidates per query, only the scores change (sweeps).

:func:`prepare` lays the qrels out against each query's fixed candidate list once;
:func:`dense_scores` then evaluates any number of score vectors with the same kernel as
:func:`~underfoot_lab.evaluation.metrics.kernel.evaluate`, bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .kernel import (
    _NOT_RELEVANT,
    FloatArray,
    IntArray,
    OnMissing,
    _columns,
    _eval_qids,
    _factorize_docids,
    _Ideal,
    _judge,
    _kernel,
    _segments,
    _sorted_keys,
    _validate,
)
from .measure_names import EvaluationError, Measure, parse_measures
from .ties import _names
from .trec import Qrels, Run

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


# --------------------------------------------------------------------------------------------
# The dense path: fixed candidates per query, only the scores change


@dataclass(frozen=True, slots=True, eq=False)
class DenseQrels:
    """Qrels laid out against fixed candidate lists, ready for :func:`dense_scores`.

    Row ``i`` is query ``qids[i]``; its candidates are ``candidates[i]`` in the order given to
    :func:`prepare`, and that is the column order score arrays must use. Internally candidates
    are kept in docid-descending byte order (``order`` maps internal slots to columns), so a
    stable sort by score reproduces trec_eval's tie breaking without touching a string.
    """

    qids: tuple[str, ...]
    candidates: tuple[tuple[str, ...], ...]
    lengths: IntArray
    order: IntArray
    """[n_queries, width]: column index of the candidate in each internal slot (0 in padding)."""
    grades: IntArray
    """[n_queries, width]: grade per internal slot; unjudged, negative and padding are -1."""
    slot_of: IntArray
    """[n_queries, width]: the internal slot of each column (the inverse of ``order``; width
    in padding), so a top k can be found in column order and ties put in slot order."""
    num_rel: IntArray
    ideal: _Ideal
    rel_threshold: int
    on_missing: OnMissing

    @property
    def width(self) -> int:
        """Padded width: the largest number of candidates of any query."""
        return int(self.grades.shape[1])

    def score_matrix(self, run: Run, fill: float | None = None) -> FloatArray:
        """A [n_queries, width] score matrix in candidate order, taken from ``run``.

        A candidate missing from the run raises KeyError unless ``fill`` is given (note that a
        filled candidate still counts as retrieved, unlike in :func:`evaluate`).
        """
        matrix = np.full((len(self.qids), max(self.width, 1)), -np.inf, dtype=np.float64)
        for i, (qid, docids) in enumerate(zip(self.qids, self.candidates, strict=True)):
            scores = run.get(qid, {})
            for j, docid in enumerate(docids):
                if docid in scores:
                    matrix[i, j] = scores[docid]
                elif fill is None:
                    raise KeyError(f"run has no score for qid {qid!r} candidate {docid!r}")
                else:
                    matrix[i, j] = fill
        return matrix


def prepare(
    qrels: Qrels | pd.DataFrame,
    candidates: Mapping[str, Sequence[str]] | Mapping[str, Mapping[str, float]],
    *,
    rel_threshold: int = 1,
    on_missing: OnMissing = "zero",
) -> DenseQrels:
    """Lay ``qrels`` out against fixed ``candidates`` (``qid -> docids``; a run works too).

    Rows are the qrels queries in byte order (``on_missing="zero"``: all of them, those without
    candidates as empty rows that score 0; ``"skip"``: only those with candidates). Candidate
    queries absent from the qrels are dropped, as :func:`evaluate` ignores them. Raises
    ValueError for a candidate listed twice in one query.
    """
    _validate(rel_threshold, on_missing)
    qc = _columns(qrels, "grade", np.int64)
    cand_qids = list(candidates)
    eval_qids = _eval_qids(qc.qids, cand_qids, on_missing)
    n_rows = len(eval_qids)
    row_of = {qid: i for i, qid in enumerate(eval_qids)}
    lists: list[tuple[str, ...]] = [()] * n_rows
    for qid in cand_qids:
        if qid in row_of:
            lists[row_of[qid]] = tuple(candidates[qid])
    lengths = np.fromiter((len(c) for c in lists), dtype=np.int64, count=n_rows)
    flat_docids = np.asarray([d for c in lists for d in c], dtype=object)
    rows = np.repeat(np.arange(n_rows, dtype=np.int64), lengths)
    columns = np.arange(rows.size, dtype=np.int64) - np.repeat(
        np.cumsum(lengths) - lengths, lengths
    )

    (q_docs, c_docs), vocabulary = _factorize_docids(qc.docids, flat_docids)
    n_docs = int(max(q_docs.max(initial=-1), c_docs.max(initial=-1))) + 1
    judged = _judge(qc, q_docs, eval_qids, vocabulary, n_docs, rel_threshold)
    _sorted_keys(rows, c_docs, n_docs, (eval_qids, vocabulary, "candidate"))

    # Internal order: by row, docid descending (lexsort ascending on (-row, name), reversed).
    names = _names(vocabulary, c_docs) if c_docs.size else np.zeros(0, dtype=str)
    internal = np.lexsort((names, -rows))[::-1] if rows.size else rows
    width = int(lengths.max(initial=0))
    order = np.zeros((n_rows, width), dtype=np.int64)
    grades = np.full((n_rows, width), _NOT_RELEVANT, dtype=np.int64)
    sorted_rows = rows[internal]
    _, slots = _segments(sorted_rows, n_rows)
    order[sorted_rows, slots] = columns[internal]
    grades[sorted_rows, slots] = judged.lookup(sorted_rows, c_docs[internal])
    slot_of = np.full((n_rows, width), width, dtype=np.int64)
    slot_of[sorted_rows, columns[internal]] = slots
    return DenseQrels(
        qids=tuple(eval_qids),
        candidates=tuple(lists),
        lengths=lengths,
        order=order,
        grades=grades,
        slot_of=slot_of,
        num_rel=judged.num_rel,
        ideal=judged.ideal,
        rel_threshold=int(rel_threshold),
        on_missing=on_missing,
    )


def _score_matrix(prepared: DenseQrels, scores: Any) -> FloatArray:
    n, width = len(prepared.qids), prepared.width
    if isinstance(scores, np.ndarray) and scores.ndim == 2:
        matrix = np.asarray(scores, dtype=np.float64)
        if matrix.shape[0] != n or matrix.shape[1] < width:
            raise EvaluationError(
                f"score matrix has shape {matrix.shape}, need ({n}, >= {width}) "
                "(rows = prepared.qids, columns = candidates)"
            )
        return matrix
    rows = list(scores)
    if len(rows) != n:
        raise EvaluationError(f"got scores for {len(rows)} queries, prepared has {n}")
    matrix = np.full((n, max(width, 1)), -np.inf, dtype=np.float64)
    for i, row in enumerate(rows):
        values = np.asarray(row, dtype=np.float64)
        if values.shape != (int(prepared.lengths[i]),):
            raise EvaluationError(
                f"scores for qid {prepared.qids[i]!r} have shape {values.shape}, "
                f"expected ({int(prepared.lengths[i])},)"
            )
        matrix[i, : values.size] = values
    return matrix


def dense_scores(
    prepared: DenseQrels,
    scores: npt.ArrayLike | Sequence[npt.ArrayLike],
    measures: Sequence[str | Measure] | str | Measure,
) -> FloatArray:
    """Measure values [n_queries, n_measures] for one set of candidate scores, vectorised.

    ``scores`` is a 2-D array (rows = ``prepared.qids``, columns = candidates in the order
    given to :func:`prepare`; columns past a row's length are ignored) or one 1-D array per
    query. Values equal :func:`evaluate` on the same run exactly; the column means (over all
    rows) are the means :func:`evaluate` reports.
    """
    wanted = parse_measures(measures)
    matrix = _score_matrix(prepared, scores)
    width = prepared.width
    if width == 0:
        return np.zeros((len(prepared.qids), len(wanted)), dtype=np.float64)
    full = bool((prepared.lengths == width).all())  # no padding: no masks to build
    depth = _top_depth(wanted, width)
    if full and depth is not None:
        ranking = _top_k_columns(prepared, matrix, depth)
        return _kernel(
            _along(prepared.grades, ranking),
            prepared.num_rel,
            prepared.ideal.table(wanted),
            wanted,
            prepared.rel_threshold,
        )
    internal = _along(matrix, prepared.order)
    valid = None if full else np.arange(width) < prepared.lengths[:, None]
    if np.isnan(internal if valid is None else internal[valid]).any():
        masked = internal if valid is None else np.where(valid, internal, 0.0)
        row = int(np.flatnonzero(np.isnan(masked).any(axis=1))[0])
        raise EvaluationError(f"NaN score for qid {prepared.qids[row]!r}")
    # Padding sorts after every real candidate, -inf scores included (stable sort).
    if valid is None:
        key = np.negative(internal, out=internal)  # internal is a fresh copy: negate in place
    else:
        key = np.where(valid, -internal, np.inf)
    ranking = np.argsort(key, axis=1, kind="stable") if depth is None else _top_k(key, depth)
    grades = _along(prepared.grades, ranking)
    return _kernel(
        grades, prepared.num_rel, prepared.ideal.table(wanted), wanted, prepared.rel_threshold
    )


def _top_depth(measures: Sequence[Measure], width: int) -> int | None:
    """The deepest cutoff when every measure has one well inside ``width``, else None."""
    cutoffs = [m.cutoff for m in measures]
    if not cutoffs or any(c is None for c in cutoffs):
        return None
    deepest = max(c for c in cutoffs if c is not None)
    return deepest if deepest * 2 <= width else None


def _top_k(key: FloatArray, k: int) -> IntArray:
    """The first ``k`` columns of ``np.argsort(key, axis=1, kind="stable")``, exactly.

    A partition finds each row's k-th smallest key; entries below it are in, and entries equal
    to it fill the remaining places in slot order -- the order a stable sort keeps ties in
    (internal slots are in docid-descending order, so this is trec_eval's tie-break). Only
    the k chosen entries are then sorted.
    """
    n, width = key.shape
    kth = np.partition(key, k - 1, axis=1)[:, k - 1 : k]
    chosen = key <= kth
    # Rows with more than k entries at or below the k-th key have ties straddling it: only
    # there is the slot order of the tied entries needed (a cumulative count per row).
    over = np.flatnonzero(chosen.sum(axis=1) > k)
    if over.size:
        sub, sub_kth = key[over], kth[over]
        below = sub < sub_kth
        tied = sub == sub_kth
        room = k - below.sum(axis=1, keepdims=True)
        chosen[over] = below | (tied & (np.cumsum(tied, axis=1) <= room))
    at = np.flatnonzero(chosen.reshape(-1))  # positions in the flat key, row by row
    head = key.reshape(-1)[at].reshape(n, k)
    slots = (at % width).reshape(n, k)
    return _along(slots, np.argsort(head, axis=1, kind="stable"))


def _top_k_columns(prepared: DenseQrels, matrix: FloatArray, k: int) -> IntArray:
    """:func:`_top_k`'s result (the internal slots of each row's first ``k`` in rank order)
    found in column order, for rows without padding: the scores are never gathered into
    slot order, only the ``k`` chosen per row are. Ties straddling the k-th score are filled
    in slot order (docid descending), and ties among the chosen ranked by slot too.
    """
    n, width = len(prepared.qids), prepared.width
    values = matrix if matrix.shape[1] == width else np.ascontiguousarray(matrix[:, :width])
    if np.isnan(values).any():
        row = int(np.flatnonzero(np.isnan(values).any(axis=1))[0])
        raise EvaluationError(f"NaN score for qid {prepared.qids[row]!r}")
    kth = np.partition(values, width - k, axis=1)[:, width - k : width - k + 1]  # k-th largest
    chosen = values >= kth
    over = np.flatnonzero(chosen.sum(axis=1) > k)
    if over.size:  # ties straddle the k-th score: the tied entries of lowest slot fill up
        sub, sub_kth = values[over], kth[over]
        above = sub > sub_kth
        tied = sub == sub_kth
        room = k - above.sum(axis=1, keepdims=True)  # >= 1: the k-th itself is tied
        tied_slots = np.where(tied, prepared.slot_of[over], width)
        last = np.take_along_axis(np.sort(tied_slots, axis=1), room - 1, axis=1)
        chosen[over] = above | (tied & (tied_slots <= last))
    at = np.flatnonzero(chosen.reshape(-1))  # positions in the flat matrix, row by row
    slots = prepared.slot_of.reshape(-1)[at].reshape(n, k)
    head = np.negative(values.reshape(-1)[at]).reshape(n, k)
    # slot order first, then a stable sort by score: ties stay in slot order
    by_slot = np.argsort(slots, axis=1)
    return _along(_along(slots, by_slot), np.argsort(_along(head, by_slot), axis=1, kind="stable"))


def _along(values: npt.NDArray[Any], index: IntArray) -> npt.NDArray[Any]:
    """``np.take_along_axis(values, index, axis=1)`` as one flat ``take`` (one index array
    instead of two broadcast ones: less overhead on the small ``[n, k]`` gathers)."""
    n, width = values.shape
    flat = index + (np.arange(n, dtype=np.int64) * width)[:, None]
    taken: npt.NDArray[Any] = np.take(np.ascontiguousarray(values).reshape(-1), flat)
    return taken


def column_grades(prepared: DenseQrels) -> IntArray:
    """``[n_queries, width]``: the grade of every candidate in the column order given to
    :func:`prepare` (unjudged, negative and padding: -1), for callers that rank candidates
    themselves and hand the ranked grades to :func:`ranked_scores`."""
    out = np.full(prepared.grades.shape, _NOT_RELEVANT, dtype=np.int64)
    if out.size:
        valid = np.arange(prepared.width) < prepared.lengths[:, None]
        rows = np.broadcast_to(np.arange(len(prepared.qids))[:, None], out.shape)
        out[rows[valid], prepared.order[valid]] = prepared.grades[valid]
    return out


def ranked_depth(measures: Sequence[str | Measure] | str | Measure) -> int | None:
    """The deepest cutoff of ``measures`` when every one has a cutoff (None otherwise): the
    ranking depth :func:`ranked_scores` needs."""
    cutoffs = [m.cutoff for m in parse_measures(measures)]
    if not cutoffs or any(c is None for c in cutoffs):
        return None
    return max(c for c in cutoffs if c is not None)


def ranked_scores(
    prepared: DenseQrels,
    grades: IntArray,
    measures: Sequence[str | Measure] | str | Measure,
    rows: IntArray | None = None,
) -> FloatArray:
    """Measure values ``[len(grades), n_measures]`` from grades already in rank order.

    ``grades[i]`` holds the grades (:func:`column_grades`) of prepared row ``rows[i]``'s
    candidates (default: row ``i``) ranked as :func:`dense_scores` ranks them -- score
    descending, ties by docid descending -- at least :func:`ranked_depth` deep, padded with
    -1 past the row's length. The values then equal :func:`dense_scores`' bit for bit (the
    kernel reads every measure at its cutoff, so the depth beyond it does not matter); a
    caller that already ranks (a sweep's top k) skips the second ranking.
    """
    wanted = parse_measures(measures)
    if ranked_depth(wanted) is None:
        raise EvaluationError("ranked_scores needs a cutoff on every measure")
    index = np.arange(len(prepared.qids)) if rows is None else np.asarray(rows, dtype=np.int64)
    if grades.ndim != 2 or grades.shape[0] != index.shape[0]:
        raise EvaluationError(f"grades have shape {grades.shape}, need ({index.shape[0]}, k)")
    table = prepared.ideal.table(wanted)
    idcg = table if rows is None else {m: v[index] for m, v in table.items()}
    num_rel = prepared.num_rel if rows is None else prepared.num_rel[index]
    return _kernel(grades, num_rel, idcg, wanted, prepared.rel_threshold)
