"""Ranking metrics with trec_eval semantics, computed with numpy.

What a measure *is* (a parsed, canonical name) lives in
:mod:`~underfoot_lab.evaluation.metrics.measure_names`; this module computes measures for
qrels + a run (:func:`evaluate`); :mod:`~underfoot_lab.evaluation.metrics.dense` reuses the
same kernel for sweeps where only the scores change.

Semantics follow trec_eval 9.0.8 (``form_res_rels.c``, ``m_*.c``) exactly:

* **Ordering.** A query's documents are ranked by score descending, ties broken by docid
  *descending* in byte (``strcmp``) order -- trec_eval's ``qsort`` comparator. The rank column of a
  run file is ignored.
* **Relevance.** A document is relevant when it is judged with a grade >= ``rel_threshold``
  (trec_eval ``-l``, default 1). Documents missing from the qrels and documents with a negative
  grade are never relevant and have gain 0.
* **nDCG@k** (``ndcg_cut``): gain = the grade itself, DCG = sum of gain / log2(rank + 1) over the
  top k; the ideal DCG sorts *all* positively judged documents of the query (retrieved or not) by
  grade and cuts at k. The relevance threshold does not apply to nDCG (any grade > 0 has gain).
  ``nDCG@k(gain=exp)`` uses 2^grade - 1 instead (not a trec_eval measure). ``nDCG`` without a
  cutoff is trec_eval's ``ndcg`` (the whole ranking).
* **P@k** = relevant in top k / k (k even when fewer documents were retrieved); **R@k** =
  relevant in top k / relevant in qrels; **RR** = 1 / rank of the first relevant document
  (``RR@k``: 0 when that rank is beyond k); **AP** = sum of precision at each relevant retrieved
  document / relevant in qrels (``AP@k`` is trec_eval's ``map_cut``).
* **Queries.** Only queries in the qrels are evaluated; run-only queries are ignored. A query
  with no relevant documents scores 0 on every measure and still counts. A qrels query the run
  does not mention scores 0 and counts in the mean with ``on_missing="zero"`` (the default;
  trec_eval ``-c``, which evaluates it against a one-document bogus ranking); with
  ``on_missing="skip"`` it is left out, as trec_eval without ``-c`` and pytrec_eval do. Every
  result reports how many queries the means are over.

Sums are accumulated left to right in rank order (``cumsum``) and discounts use the C library's
``log2``, as trec_eval's loops do, so values agree with pytrec_eval to the last bit or two, and
the dense path and :func:`evaluate` agree bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt

from .measure_names import EvaluationError, Measure, MeasureError, parse_measures
from .packing import pair_keys
from .ties import _break_ties, _names
from .trec import Qrels, Run, TrecTable

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

IntArray: TypeAlias = npt.NDArray[np.int64]
FloatArray: TypeAlias = npt.NDArray[np.float64]
OnMissing: TypeAlias = Literal["zero", "skip"]


# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True, slots=True)
class EvalResult:
    """Per-query and mean values of some measures over some queries."""

    queries: int
    """How many queries the means are over (missing queries included with ``on_missing='zero'``)."""
    measures: tuple[str, ...]
    """Canonical measure names, in the order asked for."""
    per_query: dict[str, dict[str, float]]
    """``qid -> measure -> value``, qids in byte order (empty when :func:`evaluate` was asked
    for the means only)."""
    mean: dict[str, float]
    """``measure -> mean over the queries``."""
    on_missing: OnMissing = "zero"
    rel_threshold: int = 1

    def to_frame(self) -> pd.DataFrame:
        """Per-query values as a DataFrame (index ``qid``, one column per measure)."""
        import pandas as pd

        frame = pd.DataFrame.from_dict(self.per_query, orient="index", columns=list(self.measures))
        frame.index.name = "qid"
        return frame


# --------------------------------------------------------------------------------------------
# The kernel: measures from ranked grade matrices (shared by evaluate and the dense path)

_NOT_RELEVANT = -1  # grade used for unjudged, negatively judged and padding slots
_LOG2_CACHE: list[float] = []


def _discounts(width: int) -> FloatArray:
    """log2(rank + 1) for ranks 1..width from the C library, as trec_eval computes them.

    One cached table, so every caller divides by bit-identical discounts whatever the width.
    """
    if len(_LOG2_CACHE) < width:
        _LOG2_CACHE.extend(math.log2(i + 2) for i in range(len(_LOG2_CACHE), max(width, 128)))
    return np.asarray(_LOG2_CACHE[:width], dtype=np.float64)


def _gains(grades: IntArray, kind: str) -> FloatArray:
    positive = grades > 0
    if kind == "exp":
        return np.where(positive, np.exp2(grades.astype(np.float64)) - 1.0, 0.0)
    return np.where(positive, grades, 0).astype(np.float64)


def _column(cumulative: npt.NDArray[Any], cutoff: int | None) -> npt.NDArray[Any]:
    """The cumulative value at rank min(cutoff, width) (the whole row when cutoff is None)."""
    width = cumulative.shape[1]
    k = width if cutoff is None else min(cutoff, width)
    return cumulative[:, k - 1]


def _depth(measures: Sequence[Measure], name: str, gain: str, width: int) -> int:
    """Columns needed for the measures of one family and gain: the deepest cutoff, capped."""
    cutoffs = [m.cutoff for m in measures if m.name == name and m.option("gain") == gain]
    if any(c is None for c in cutoffs):
        return width
    return min(width, max(c for c in cutoffs if c is not None))


def _kernel(
    grades: IntArray,
    num_rel: IntArray,
    idcg: Mapping[Measure, FloatArray],
    measures: Sequence[Measure],
    rel_threshold: int,
) -> FloatArray:
    """Measure values for rows of grades already in rank order (padding = ``_NOT_RELEVANT``).

    Every quantity is a left-to-right cumulative sum read at the cutoff, so the result does
    not depend on how much padding a row has.
    """
    n, width = grades.shape
    out = np.zeros((n, len(measures)), dtype=np.float64)
    if width == 0 or n == 0:
        return out
    relevant = grades >= max(rel_threshold, 0)
    cum_rel = np.cumsum(relevant, axis=1, dtype=np.int64)
    ranks = np.arange(1, width + 1, dtype=np.float64)
    has_rel = num_rel > 0
    safe_num_rel = np.where(has_rel, num_rel, 1)
    cum_precision: FloatArray | None = None
    cum_dcg: dict[str, FloatArray] = {}
    for j, measure in enumerate(measures):
        if measure.name == "P":
            assert measure.cutoff is not None
            out[:, j] = _column(cum_rel, measure.cutoff) / float(measure.cutoff)
        elif measure.name == "R":
            out[:, j] = np.where(has_rel, _column(cum_rel, measure.cutoff) / safe_num_rel, 0.0)
        elif measure.name == "RR":
            k = width if measure.cutoff is None else min(measure.cutoff, width)
            first = np.argmax(relevant[:, :k], axis=1)
            hit = cum_rel[:, k - 1] > 0
            out[:, j] = np.where(hit, 1.0 / (first + 1.0), 0.0)
        elif measure.name == "AP":
            if cum_precision is None:
                cum_precision = np.cumsum(np.where(relevant, cum_rel / ranks, 0.0), axis=1)
            out[:, j] = np.where(
                has_rel, _column(cum_precision, measure.cutoff) / safe_num_rel, 0.0
            )
        elif measure.name == "nDCG":
            kind = measure.option("gain")
            if kind not in cum_dcg:
                # only as many columns as the deepest nDCG cutoff of this gain needs
                depth = _depth(measures, "nDCG", kind, width)
                head = grades[:, :depth]
                cum_dcg[kind] = np.cumsum(_gains(head, kind) / _discounts(depth), axis=1)
            dcg = _column(cum_dcg[kind], measure.cutoff)
            ideal = idcg[measure]
            positive = ideal > 0.0
            out[:, j] = np.where(positive, dcg / np.where(positive, ideal, 1.0), dcg)
        else:  # pragma: no cover - the registry and this dispatch are kept in step
            raise MeasureError(f"no implementation for {measure}")
    return out


def _segments(rows: IntArray, n_rows: int) -> tuple[IntArray, IntArray]:
    """Per-row lengths and each entry's position within its row (``rows`` must be sorted)."""
    lengths = np.bincount(rows, minlength=n_rows).astype(np.int64)
    starts = np.cumsum(lengths) - lengths
    positions = np.arange(rows.size, dtype=np.int64) - starts[rows]
    return lengths, positions


def _padded_groups(
    rows: IntArray,
    n_rows: int,
    *columns: tuple[npt.NDArray[Any], Any],
    lengths: IntArray | None = None,
) -> Iterator[tuple[IntArray, list[npt.NDArray[Any]]]]:
    """Scatter row-sorted entries into padded matrices, grouping rows by length.

    ``columns`` are ``(values, fill)`` pairs, one value per entry; each row's entries fill its
    first slots in entry order. Rows in one group differ in length by at most a factor of two,
    so padding stays bounded even when one query has far more entries than the rest. Empty
    rows are not yielded.
    """
    if lengths is None:  # the caller's, when it has them: one pass over the entries less
        lengths = np.bincount(rows, minlength=n_rows).astype(np.int64)
    nonempty_rows = np.flatnonzero(lengths)
    if nonempty_rows.size and (lengths[nonempty_rows] == lengths[nonempty_rows[0]]).all():
        # every row equally long (a run cut at a fixed depth): the matrices are reshapes
        shape = (nonempty_rows.size, int(lengths[nonempty_rows[0]]))
        yield nonempty_rows, [np.asarray(values).reshape(shape) for values, _fill in columns]
        return
    lengths, positions = _segments(rows, n_rows)
    size_class = np.full(n_rows, -1, dtype=np.int64)
    nonempty = lengths > 0
    size_class[nonempty] = np.floor(np.log2(lengths[nonempty])).astype(np.int64)
    entry_class = size_class[rows]
    class_counts = np.bincount(entry_class, minlength=1) if rows.size else np.zeros(0, np.int64)
    classes = np.flatnonzero(class_counts)
    # one size class (e.g. every query has 100 candidates): no need to sort the entries
    entry_order = (
        np.arange(rows.size) if classes.size == 1 else np.argsort(entry_class, kind="stable")
    )
    local = np.empty(n_rows, dtype=np.int64)
    start = 0
    for cls, count in zip(classes.tolist(), class_counts[classes].tolist(), strict=True):
        picked = entry_order[start : start + count]
        start += count
        group = np.flatnonzero(size_class == cls)
        local[group] = np.arange(group.size)
        shape = (group.size, int(lengths[group].max()))
        at = (local[rows[picked]], positions[picked])
        matrices = []
        for values, fill in columns:
            matrix = np.full(shape, fill, dtype=values.dtype)
            matrix[at] = values[picked]
            matrices.append(matrix)
        yield group, matrices


@dataclass(frozen=True, slots=True, eq=False)
class _Ideal:
    """Positive grades of each row, sorted descending (flat, row-major)."""

    rows: IntArray
    grades: IntArray
    n_rows: int
    _cache: dict[Measure, FloatArray] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, rows: IntArray, grades: IntArray, n_rows: int) -> _Ideal:
        positive = grades > 0
        rows, grades = rows[positive], grades[positive]
        if rows.size == 0:
            return cls(rows, grades, n_rows)
        low, high = int(grades.min()), int(grades.max())
        span = high - low + 1
        if n_rows * span < 2**62:
            # one integer sort of row * span + (high - grade): rows ascending, grades
            # descending; equal keys are equal (row, grade) pairs, so their order is moot
            keys = np.sort(rows * span + (high - grades))
            return cls(keys // span, high - keys % span, n_rows)
        order = np.lexsort((-grades, rows))
        return cls(rows[order], grades[order], n_rows)

    def idcg(self, measure: Measure) -> FloatArray:
        """Ideal DCG at the measure's cutoff for every row (0 for rows with nothing relevant)."""
        if measure not in self._cache:
            values = np.zeros(self.n_rows, dtype=np.float64)
            kind = measure.option("gain")
            for group, (matrix,) in _padded_groups(
                self.rows, self.n_rows, (self.grades, _NOT_RELEVANT)
            ):
                cumulative = np.cumsum(_gains(matrix, kind) / _discounts(matrix.shape[1]), axis=1)
                values[group] = _column(cumulative, measure.cutoff)
            self._cache[measure] = values
        return self._cache[measure]

    def table(self, measures: Sequence[Measure]) -> dict[Measure, FloatArray]:
        return {m: self.idcg(m) for m in measures if m.name == "nDCG"}


# --------------------------------------------------------------------------------------------
# From mappings or DataFrames to integer arrays (ids converted once, a vocabulary per field)


@dataclass(frozen=True, slots=True, eq=False)
class _Columns:
    """One table as arrays: query index per entry, docid strings per entry, values."""

    qids: list[str]
    """The table's distinct qids; ``q`` indexes into it."""
    q: IntArray
    docids: Any
    """Array-like of docid strings, one per entry (object ndarray or pandas Series)."""
    values: npt.NDArray[Any]
    unique_pairs: bool
    """True when (qid, docid) pairs are known to be distinct (nested mappings)."""


def _from_mapping(table: Mapping[str, Mapping[str, Any]], dtype: type) -> _Columns:
    qids = list(table)
    counts = np.fromiter((len(docs) for docs in table.values()), dtype=np.int64, count=len(qids))
    docids: list[str] = []
    values: list[Any] = []
    for docs in table.values():
        docids.extend(docs.keys())
        values.extend(docs.values())
    q = np.repeat(np.arange(len(qids), dtype=np.int64), counts)
    array = np.asarray(values) if values else np.zeros(0, dtype=dtype)
    return _Columns(qids, q, np.asarray(docids, dtype=object), array, unique_pairs=True)


def _from_frame(frame: Any, value_column: str) -> _Columns:
    import pandas as pd

    missing = {"qid", "docid", value_column} - set(frame.columns)
    if missing:
        raise EvaluationError(
            f"table needs columns qid, docid, {value_column}; missing {', '.join(sorted(missing))}"
        )
    codes, uniques = pd.factorize(frame["qid"])
    qids = [str(q) for q in uniques]
    values = frame[value_column].to_numpy()
    return _Columns(qids, codes.astype(np.int64), frame["docid"], values, unique_pairs=False)


def _columns(table: Any, value_column: str, dtype: type) -> _Columns:
    if isinstance(table, TrecTable):
        docids = np.asarray(table.vocabulary.take(table.docs), dtype=object)
        qids, q = table.own_qids()
        return _Columns(qids, q, docids, table.values, unique_pairs=True)
    if isinstance(table, Mapping):
        return _from_mapping(table, dtype)
    if hasattr(table, "columns"):
        return _from_frame(table, value_column)
    raise TypeError(f"expected a nested mapping or a DataFrame, got {type(table).__name__}")


def _grades(values: npt.NDArray[Any]) -> IntArray:
    if values.dtype.kind in "iu":
        return values.astype(np.int64)
    if values.dtype.kind == "b":
        return values.astype(np.int64)
    as_float = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(as_float)) or not np.all(as_float == np.round(as_float)):
        raise EvaluationError("qrels grades must be integers")
    return as_float.astype(np.int64)


def _factorize_docids(*columns: Any) -> tuple[list[IntArray], Any]:
    """Integer codes for docids across several columns, and the vocabulary (code -> docid)."""
    import pandas as pd

    parts = [c if isinstance(c, pd.Series) else pd.Series(c, dtype=object) for c in columns]
    combined = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    codes, vocabulary = pd.factorize(combined)
    codes = codes.astype(np.int64)
    out: list[IntArray] = []
    start = 0
    for part in parts:
        out.append(codes[start : start + len(part)])
        start += len(part)
    return out, vocabulary


def _sorted_keys(
    rows: IntArray,
    docs: IntArray,
    n_docs: int,
    check: tuple[Sequence[str], Any, str] | None = None,
) -> tuple[IntArray, IntArray]:
    """``row * n_docs + doc`` keys and the order sorting them.

    With ``check = (qids, vocabulary, what)`` a repeated (row, doc) pair raises ValueError
    naming its qid and docid.
    """
    keys = rows * n_docs + docs
    order = np.argsort(keys, kind="stable")
    if check is not None:
        sorted_keys = keys[order]
        dup = np.flatnonzero(sorted_keys[1:] == sorted_keys[:-1])
        if dup.size:
            i = order[dup[0]]
            qids, vocabulary, what = check
            docid = str(_names(vocabulary, docs[i : i + 1])[0])
            raise EvaluationError(f"duplicate {what}: qid {qids[rows[i]]!r} docid {docid!r}")
    return keys, order


@dataclass(frozen=True, slots=True, eq=False)
class _Judged:
    """Qrels restricted to the evaluated rows, with the per-row facts measures need."""

    keys: IntArray  # sorted row * n_docs + doc
    grades: IntArray  # grade per sorted key
    n_docs: int
    num_rel: IntArray
    ideal: _Ideal

    def lookup(self, rows: IntArray, docs: IntArray) -> IntArray:
        """Grades for (row, doc) pairs; unjudged and negatively judged -> ``_NOT_RELEVANT``."""
        if self.keys.size == 0:
            return np.full(rows.size, _NOT_RELEVANT, dtype=np.int64)
        keys = rows * self.n_docs + docs
        at = np.minimum(np.searchsorted(self.keys, keys), self.keys.size - 1)
        found = self.keys[at] == keys
        grades = np.where(found, self.grades[at], _NOT_RELEVANT)
        return np.where(grades < 0, _NOT_RELEVANT, grades).astype(np.int64)


def _judge(
    qc: _Columns,
    docs: IntArray,
    eval_qids: Sequence[str],
    vocabulary: Any,
    n_docs: int,
    rel_threshold: int,
) -> _Judged:
    """The qrels ``qc`` on the evaluated queries (``docs``: its docids coded in ``vocabulary``)."""
    n_rows = len(eval_qids)
    rows = _row_index(eval_qids, qc.qids, qc.q)
    grades = _grades(qc.values)
    keep = rows >= 0
    rows, docs, grades = rows[keep], docs[keep], grades[keep]
    what = None if qc.unique_pairs else (eval_qids, vocabulary, "judgment in qrels")
    keys, order = _sorted_keys(rows, docs, n_docs, what)
    # trec_eval: num_rel counts judged docs (grade >= 0) at or above the relevance level.
    relevant = (grades >= 0) & (grades >= rel_threshold)
    num_rel = np.bincount(rows[relevant], minlength=n_rows).astype(np.int64)
    return _Judged(keys[order], grades[order], n_docs, num_rel, _Ideal.build(rows, grades, n_rows))


def _validate(rel_threshold: int, on_missing: str) -> None:
    if on_missing not in ("zero", "skip"):
        raise EvaluationError(f"on_missing must be 'zero' or 'skip', got {on_missing!r}")
    if isinstance(rel_threshold, bool) or not isinstance(rel_threshold, int | np.integer):
        raise EvaluationError(f"rel_threshold must be an integer, got {rel_threshold!r}")
    if rel_threshold < 0:
        raise EvaluationError(f"rel_threshold must be >= 0, got {rel_threshold}")


def _eval_qids(qrels_qids: Sequence[str], run_qids: Sequence[str], on_missing: str) -> list[str]:
    chosen = set(qrels_qids) if on_missing == "zero" else set(qrels_qids) & set(run_qids)
    if not chosen:
        raise EvaluationError(
            "no queries to evaluate: the qrels are empty"
            if on_missing == "zero" or not qrels_qids
            else "no queries to evaluate: no qrels query appears in the run"
        )
    return sorted(chosen)


def _row_index(eval_qids: Sequence[str], table_qids: Sequence[str], q: IntArray) -> IntArray:
    where = {qid: i for i, qid in enumerate(eval_qids)}
    mapping = np.fromiter((where.get(qid, -1) for qid in table_qids), np.int64, len(table_qids))
    return mapping[q] if q.size else q


def _check_row_duplicates(
    group: IntArray, docs: IntArray, qids: Sequence[str], vocabulary: Any
) -> None:
    """Raise EvaluationError naming the first docid that appears twice in one row (-1 = pad)."""
    codes = np.sort(docs, axis=1)
    repeated = (codes[:, 1:] == codes[:, :-1]) & (codes[:, 1:] >= 0)
    if repeated.any():
        i, j = np.argwhere(repeated)[0]
        docid = str(_names(vocabulary, codes[i, j : j + 1])[0])
        raise EvaluationError(f"duplicate document in run: qid {qids[group[i]]!r} docid {docid!r}")


@dataclass(frozen=True, slots=True, eq=False)
class _Joined:
    """A run joined with its qrels: one entry per retrieved document of an evaluated query."""

    eval_qids: list[str]
    rows: IntArray  # evaluated row of each entry
    docs: IntArray  # code of each entry's docid in ``vocabulary`` (for names and duplicates)
    vocabulary: Any  # ``vocabulary.take(codes)`` gives docid strings
    scores: FloatArray
    grades: IntArray  # judged grade, or _NOT_RELEVANT for unjudged and negative grades
    num_rel: IntArray  # per row
    ideal: _Ideal
    unique_pairs: bool  # (row, docid) pairs known distinct, so no duplicate check is needed


def _join_mappings(
    qrels: Mapping[str, Mapping[str, int]],
    run: Mapping[str, Mapping[str, float]],
    on_missing: str,
    rel_threshold: int,
) -> _Joined:
    """Join nested mappings query by query with dict lookups: no docid vocabulary needed."""
    eval_qids = _eval_qids(list(qrels), list(run), on_missing)
    n_rows = len(eval_qids)
    row_of = {qid: i for i, qid in enumerate(eval_qids)}
    judged_counts = np.zeros(n_rows, dtype=np.int64)
    judged_grades: list[Any] = []
    for i, qid in enumerate(eval_qids):
        judgments = qrels[qid]
        judged_counts[i] = len(judgments)
        judged_grades.extend(judgments.values())
    qrels_rows = np.repeat(np.arange(n_rows, dtype=np.int64), judged_counts)
    qrels_grades = _grades(np.asarray(judged_grades) if judged_grades else np.zeros(0, np.int64))
    relevant = (qrels_grades >= 0) & (qrels_grades >= rel_threshold)

    rows: list[int] = []
    counts: list[int] = []
    docids: list[str] = []
    scores: list[Any] = []
    grades: list[Any] = []
    for qid, docs in run.items():
        row = row_of.get(qid)
        if row is None:
            continue
        judgments = qrels[qid]
        rows.append(row)
        counts.append(len(docs))
        docids.extend(docs.keys())
        scores.extend(docs.values())
        grades.extend([judgments.get(d, _NOT_RELEVANT) for d in docs])
    run_grades = _grades(np.asarray(grades) if grades else np.zeros(0, np.int64))
    return _Joined(
        eval_qids=eval_qids,
        rows=np.repeat(np.asarray(rows, dtype=np.int64), counts),
        docs=np.arange(len(docids), dtype=np.int64),
        vocabulary=np.asarray(docids, dtype=object),
        scores=np.asarray(scores, dtype=np.float64),
        grades=np.where(run_grades < 0, _NOT_RELEVANT, run_grades),
        num_rel=np.bincount(qrels_rows[relevant], minlength=n_rows).astype(np.int64),
        ideal=_Ideal.build(qrels_rows, qrels_grades, n_rows),
        unique_pairs=True,
    )


def _join_trec_tables(
    qrels: TrecTable, run: TrecTable, on_missing: str, rel_threshold: int
) -> _Joined:
    """Join two :class:`TrecTable` by hashing (row, packed docid) pairs to integers.

    Tables read together reuse the matches their reader found (:func:`_indexed_grades`);
    others are keyed here. Every key match is confirmed on the docid words themselves; a hash
    collision (two qrels pairs with one key, or a key matching a different pair) falls back to
    the string join, so the result is exact either way.
    """
    eval_qids, q_rows, r_rows = _trec_rows(qrels, run, on_missing)
    n_rows = len(eval_qids)
    width = max(qrels.vocabulary.width, run.vocabulary.width)
    q_keep = _kept(q_rows)
    q_rows, q_grades = q_rows[q_keep], _grades(qrels.values)[q_keep]
    r_keep = _kept(r_rows)
    r_rows, r_docs = r_rows[r_keep], run.docs[r_keep]
    indexed = _indexed_grades(qrels, run)
    if indexed is not None:
        grades = indexed[r_keep]
    elif q_rows.size:
        grades = np.full(r_rows.size, _NOT_RELEVANT, dtype=np.int64)
        q_words = qrels.vocabulary.rows(qrels.docs[q_keep], width)
        q_keys = pair_keys(q_rows, q_words, n_rows)
        order = np.argsort(q_keys)
        sorted_keys = q_keys[order]
        if (sorted_keys[1:] == sorted_keys[:-1]).any():
            return _join_columns(qrels, run, on_missing, rel_threshold)
        r_words = run.vocabulary.rows(r_docs, width)
        r_keys = pair_keys(r_rows, r_words, n_rows)
        at = np.minimum(np.searchsorted(sorted_keys, r_keys), sorted_keys.size - 1)
        match = np.flatnonzero(sorted_keys[at] == r_keys)
        judged = order[at[match]]
        same = (q_rows[judged] == r_rows[match]) & (q_words[judged] == r_words[match]).all(axis=1)
        if not same.all():
            return _join_columns(qrels, run, on_missing, rel_threshold)
        grades[match] = np.where(q_grades[judged] < 0, _NOT_RELEVANT, q_grades[judged])
    else:
        grades = np.full(r_rows.size, _NOT_RELEVANT, dtype=np.int64)
    relevant = (q_grades >= 0) & (q_grades >= rel_threshold)
    return _Joined(
        eval_qids=eval_qids,
        rows=r_rows,
        docs=r_docs,
        vocabulary=run.vocabulary,
        scores=np.asarray(run.values, dtype=np.float64)[r_keep],
        grades=grades,
        num_rel=np.bincount(q_rows[relevant], minlength=n_rows).astype(np.int64),
        ideal=_Ideal.build(q_rows, q_grades, n_rows),
        unique_pairs=True,
    )


def _trec_rows(
    qrels: TrecTable, run: TrecTable, on_missing: str
) -> tuple[list[str], IntArray, IntArray]:
    """The evaluated qids (sorted, as :func:`_eval_qids` picks them) and every qrels and run
    entry's row among them (-1: not evaluated).

    Tables read together share their sorted qid list, so this is array work; tables read
    apart are first mapped onto the sorted union of their qids.
    """
    if qrels.qids is run.qids:
        qids, q_codes, r_codes = qrels.qids, qrels.q, run.q
    else:
        qids = sorted(set(qrels.qids) | set(run.qids))
        q_codes = _row_index(qids, qrels.qids, qrels.q)
        r_codes = _row_index(qids, run.qids, run.q)
    chosen = np.bincount(q_codes, minlength=len(qids)) > 0
    if on_missing == "skip":
        chosen &= np.bincount(r_codes, minlength=len(qids)) > 0
    positions = np.flatnonzero(chosen)
    if positions.size == 0:
        raise EvaluationError(
            "no queries to evaluate: the qrels are empty"
            if on_missing == "zero" or q_codes.size == 0
            else "no queries to evaluate: no qrels query appears in the run"
        )
    eval_qids = [qids[i] for i in positions.tolist()]
    if positions.size == len(qids):  # every qid evaluated: the codes are the rows
        return eval_qids, q_codes, r_codes
    row_of = np.full(len(qids), -1, dtype=np.int64)
    row_of[positions] = np.arange(positions.size, dtype=np.int64)
    return eval_qids, row_of[q_codes], row_of[r_codes]


def _kept(rows: IntArray) -> slice | npt.NDArray[np.bool_]:
    """Entries of evaluated rows: a mask, or ``slice(None)`` when that is all of them (a view
    instead of copies of every column)."""
    if rows.size == 0 or rows.min() >= 0:
        return slice(None)
    return rows >= 0


def _indexed_grades(qrels: TrecTable, run: TrecTable) -> IntArray | None:
    """The grade of every run entry from the matches found when the two tables were read
    together (:class:`~.trec.PairMatches`), or None when they were not."""
    matches = qrels.matches
    if matches is None or matches is not run.matches:
        return None
    grades = np.full(len(run), _NOT_RELEVANT, dtype=np.int64)
    found = _grades(qrels.values)[matches.qrels]
    grades[matches.run] = np.where(found < 0, _NOT_RELEVANT, found)
    return grades


def _join_columns(qrels: Any, run: Any, on_missing: str, rel_threshold: int) -> _Joined:
    """Join tables (or a table and a mapping) through one docid vocabulary for both."""
    qc = _columns(qrels, "grade", np.int64)
    rc = _columns(run, "score", np.float64)
    (q_docs, r_docs), vocabulary = _factorize_docids(qc.docids, rc.docids)
    return _join_coded(qc, rc, q_docs, r_docs, vocabulary, on_missing, rel_threshold)


def _join_coded(
    qc: _Columns,
    rc: _Columns,
    q_docs: IntArray,
    r_docs: IntArray,
    vocabulary: Any,
    on_missing: str,
    rel_threshold: int,
) -> _Joined:
    """The join once both tables' docids are codes in one ``vocabulary``."""
    n_docs = int(max(q_docs.max(initial=-1), r_docs.max(initial=-1))) + 1
    eval_qids = _eval_qids(qc.qids, rc.qids, on_missing)
    judged = _judge(qc, q_docs, eval_qids, vocabulary, n_docs, rel_threshold)
    rows = _row_index(eval_qids, rc.qids, rc.q)
    keep = rows >= 0
    rows, docs = rows[keep], r_docs[keep]
    return _Joined(
        eval_qids=eval_qids,
        rows=rows,
        docs=docs,
        vocabulary=vocabulary,
        scores=np.asarray(rc.values, dtype=np.float64)[keep],
        grades=judged.lookup(rows, docs),
        num_rel=judged.num_rel,
        ideal=judged.ideal,
        unique_pairs=rc.unique_pairs,
    )


def evaluate(
    qrels: Qrels | pd.DataFrame | TrecTable,
    run: Run | pd.DataFrame | TrecTable,
    measures: Sequence[str | Measure] | str | Measure,
    *,
    rel_threshold: int = 1,
    on_missing: OnMissing = "zero",
    per_query: bool = True,
) -> EvalResult:
    """Evaluate ``run`` against ``qrels`` with trec_eval semantics (see the module docstring).

    ``qrels`` and ``run`` are nested mappings (``qid -> docid -> grade/score``) or DataFrames
    with columns ``qid, docid, grade`` / ``qid, docid, score``, or :class:`TrecTable` as the
    TREC readers give them (the fastest: ids are already coded). Ids are converted to integers
    once; everything after that is numpy. Raises :class:`EvaluationError` (a ValueError) for
    duplicate (qid, docid) pairs, NaN scores, non-integer grades, or no query to evaluate.
    With ``per_query=False`` the result's ``per_query`` is left empty (for callers that only
    report the means: a dict per query is most of the cost of a small evaluation).
    """
    _validate(rel_threshold, on_missing)
    wanted = parse_measures(measures)
    if isinstance(qrels, TrecTable) and isinstance(run, TrecTable):
        joined = _join_trec_tables(qrels, run, on_missing, rel_threshold)
    elif isinstance(qrels, Mapping) and isinstance(run, Mapping):
        joined = _join_mappings(qrels, run, on_missing, rel_threshold)
    else:
        joined = _join_columns(qrels, run, on_missing, rel_threshold)
    eval_qids, vocabulary = joined.eval_qids, joined.vocabulary
    n_rows = len(eval_qids)
    if np.isnan(joined.scores).any():
        i = int(np.flatnonzero(np.isnan(joined.scores))[0])
        docid = str(_names(vocabulary, joined.docs[i : i + 1])[0])
        qid = eval_qids[joined.rows[i]]
        raise EvaluationError(f"NaN score in run: qid {qid!r} docid {docid!r}")
    rows, scores, grades, docs = joined.rows, joined.scores, joined.grades, joined.docs
    if rows.size and not (rows[1:] >= rows[:-1]).all():  # runs usually come sorted by qid
        grouped = np.argsort(rows, kind="stable")
        rows, scores, grades, docs = rows[grouped], scores[grouped], grades[grouped], docs[grouped]
    lengths = np.bincount(rows, minlength=n_rows)

    values = np.zeros((n_rows, len(wanted)), dtype=np.float64)
    idcg = joined.ideal.table(wanted)
    columns = (
        (-scores, np.inf),
        (grades, _NOT_RELEVANT),
        (docs, -1),
    )
    groups = _padded_groups(rows, n_rows, *columns, lengths=lengths)
    for group, (keys, grade_matrix, doc_matrix) in groups:
        if not joined.unique_pairs:
            _check_row_duplicates(group, doc_matrix, eval_qids, vocabulary)
        # Padding (key +inf) sorts after every real entry, -inf scores included, when the sort
        # is stable; without padding the (faster) unstable sort will do, as every tie is put
        # in docid order below whatever order the sort left it in.
        padded = bool((lengths[group] < keys.shape[1]).any())
        ranking = np.argsort(keys, axis=1, kind="stable" if padded else "quicksort")
        _break_ties(ranking, keys, lengths[group], doc_matrix, vocabulary)
        values[group] = _kernel(
            np.take_along_axis(grade_matrix, ranking, axis=1),
            joined.num_rel[group],
            {m: v[group] for m, v in idcg.items()},
            wanted,
            rel_threshold,
        )
    return _result(eval_qids, wanted, values, on_missing, rel_threshold, per_query)


def _result(
    qids: Sequence[str],
    measures: Sequence[Measure],
    values: FloatArray,
    on_missing: OnMissing,
    rel_threshold: int,
    per_query: bool = True,
) -> EvalResult:
    names = tuple(str(m) for m in measures)
    # every row holds one value per name (the matrix has a column per measure)
    rows = [dict(zip(names, row)) for row in values.tolist()] if per_query else []  # noqa: B905
    by_query = dict(zip(qids, rows, strict=True)) if per_query else {}
    means = values.sum(axis=0) / max(len(qids), 1)
    return EvalResult(
        queries=len(qids),
        measures=names,
        per_query=by_query,
        mean=dict(zip(names, means.tolist(), strict=True)),
        on_missing=on_missing,
        rel_threshold=int(rel_threshold),
    )
