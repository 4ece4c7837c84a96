"""Ranking metrics with trec_eval semantics, computed with numpy.

What a measure *is* (a parsed, canonical name: :class:`Measure`, :func:`parse_measure`, the
:data:`REGISTRY`) is kept apart from who computes it (:func:`evaluate` for qrels + run,
:func:`prepare` + :func:`dense_scores` for sweeps where only the scores change).

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
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt

from ..errors import UnderfootError
from .trec import Qrels, Run, read_qrels, read_run

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

IntArray: TypeAlias = npt.NDArray[np.int64]
FloatArray: TypeAlias = npt.NDArray[np.float64]
OnMissing: TypeAlias = Literal["zero", "skip"]


class EvaluationError(UnderfootError, ValueError):
    """Inputs that cannot be evaluated: duplicates, NaN scores, bad grades, no queries."""


class MeasureError(EvaluationError):
    """A measure name that does not parse, or a measure used with options it does not take."""


# --------------------------------------------------------------------------------------------
# Measures: names and parsing (no computation here)


@dataclass(frozen=True, slots=True)
class MeasureSpec:
    """One family of measures in the registry."""

    name: str
    """Canonical family name, e.g. ``nDCG``."""
    aliases: tuple[str, ...]
    """Lower-case names that parse to this family (trec_eval and ir_measures spellings)."""
    cutoff: Literal["required", "optional"]
    options: tuple[tuple[str, tuple[str, ...]], ...]
    """Allowed options and their values; the first value is the default."""
    trec_eval: str | None
    """trec_eval/pytrec_eval measure name (``P`` -> ``P_5`` for a cutoff), when there is one."""
    description: str


REGISTRY: dict[str, MeasureSpec] = {
    spec.name: spec
    for spec in (
        MeasureSpec(
            "nDCG",
            ("ndcg", "ndcg_cut"),
            "optional",
            (("gain", ("linear", "exp")),),
            "ndcg_cut",
            "normalised discounted cumulative gain at k (trec_eval ndcg_cut)",
        ),
        MeasureSpec("P", ("p", "precision"), "required", (), "P", "precision at k"),
        MeasureSpec("R", ("r", "recall"), "required", (), "recall", "recall at k"),
        MeasureSpec(
            "RR",
            ("rr", "mrr", "recip_rank"),
            "optional",
            (),
            "recip_rank",
            "reciprocal rank of the first relevant document",
        ),
        MeasureSpec(
            "AP",
            ("ap", "map", "map_cut"),
            "optional",
            (),
            "map",
            "average precision (trec_eval map; AP@k is map_cut)",
        ),
    )
}

_ALIASES: dict[str, str] = {
    alias: spec.name for spec in REGISTRY.values() for alias in (spec.name.lower(), *spec.aliases)
}
_CUT_ALIASES = frozenset({"ndcg_cut", "map_cut"})
_BODY = re.compile(r"(?P<name>[A-Za-z][A-Za-z_]*?)(?:[@._](?P<cutoff>\d+))?")
_WHOLE = re.compile(r"(?P<body>[^()\s]+)\s*(?:\((?P<options>[^()]*)\))?")


@dataclass(frozen=True, slots=True, order=True)
class Measure:
    """A parsed measure: family ``name``, optional ``cutoff`` and non-default ``options``.

    ``str(measure)`` is the canonical spelling (``nDCG@10``, ``nDCG@10(gain=exp)``, ``P@5``,
    ``R@100``, ``RR``, ``AP``); results are keyed by it.
    """

    name: str
    cutoff: int | None = None
    options: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        spec = REGISTRY.get(self.name)
        if spec is None:
            raise MeasureError(f"unknown measure family {self.name!r}; known: {_known()}")
        if self.cutoff is None and spec.cutoff == "required":
            raise MeasureError(f"{self.name} needs a cutoff, e.g. {self.name}@10")
        if self.cutoff is not None and (
            isinstance(self.cutoff, bool) or not isinstance(self.cutoff, int) or self.cutoff < 1
        ):
            raise MeasureError(f"cutoff must be a positive integer, got {self.cutoff!r}")
        allowed = dict(spec.options)
        normalised: list[tuple[str, str]] = []
        for key, value in self.options:
            if key not in allowed:
                raise MeasureError(
                    f"{self.name} takes no option {key!r}"
                    + (f"; options: {', '.join(allowed)}" if allowed else "")
                )
            if value not in allowed[key]:
                raise MeasureError(
                    f"{self.name} option {key}={value!r} not one of {', '.join(allowed[key])}"
                )
            if value != allowed[key][0]:  # defaults are dropped so equal measures compare equal
                normalised.append((key, value))
        object.__setattr__(self, "options", tuple(sorted(normalised)))

    def option(self, key: str) -> str:
        """The value of option ``key`` (its default when not given)."""
        given = dict(self.options)
        if key in given:
            return given[key]
        return dict(REGISTRY[self.name].options)[key][0]

    @property
    def trec_eval_name(self) -> str | None:
        """The pytrec_eval result key for this measure, or None if trec_eval has no equivalent.

        ``nDCG@10`` -> ``ndcg_cut_10``, ``nDCG`` -> ``ndcg``, ``P@5`` -> ``P_5``,
        ``R@100`` -> ``recall_100``, ``RR`` -> ``recip_rank``, ``AP`` -> ``map``,
        ``AP@10`` -> ``map_cut_10``; exponential gain and ``RR@k`` have none.
        """
        if self.options or (self.name == "RR" and self.cutoff is not None):
            return None
        if self.name == "nDCG":
            return "ndcg" if self.cutoff is None else f"ndcg_cut_{self.cutoff}"
        if self.name == "AP":
            return "map" if self.cutoff is None else f"map_cut_{self.cutoff}"
        base = REGISTRY[self.name].trec_eval
        return base if self.cutoff is None else f"{base}_{self.cutoff}"

    def __str__(self) -> str:
        text = self.name if self.cutoff is None else f"{self.name}@{self.cutoff}"
        if self.options:
            text += "(" + ",".join(f"{k}={v}" for k, v in self.options) + ")"
        return text


def _known() -> str:
    return "nDCG@k, P@k, R@k, RR, AP (also nDCG, RR@k, AP@k, nDCG@k(gain=exp))"


def parse_measure(text: str | Measure) -> Measure:
    """Parse a measure name, case-insensitively.

    Accepts canonical names (``nDCG@10``, ``P@5``, ``R@100``, ``RR``, ``AP``), trec_eval names
    (``ndcg_cut_10``, ``ndcg_cut.10``, ``P_5``, ``recall_100``, ``recip_rank``, ``map``,
    ``map_cut_10``) and aliases (``MRR`` -> RR, ``MAP`` -> AP, ``precision@5``, ``recall@10``),
    plus options in parentheses: ``nDCG@10(gain=exp)``. Raises :class:`MeasureError`.
    """
    if isinstance(text, Measure):
        return text
    whole = _WHOLE.fullmatch(text.strip())
    body = _BODY.fullmatch(whole.group("body")) if whole else None
    if whole is None or body is None:
        raise MeasureError(f"cannot parse measure {text!r}; known: {_known()}")
    alias = body.group("name").lower()
    family = _ALIASES.get(alias)
    if family is None:
        raise MeasureError(f"unknown measure {text!r}; known: {_known()}")
    cutoff = int(body.group("cutoff")) if body.group("cutoff") is not None else None
    if cutoff is None and alias in _CUT_ALIASES:
        raise MeasureError(f"{alias} needs a cutoff, e.g. {alias}_10")
    options: list[tuple[str, str]] = []
    if whole.group("options") is not None:
        for item in whole.group("options").split(","):
            key, sep, value = item.partition("=")
            if not sep or not key.strip() or not value.strip():
                raise MeasureError(f"measure options must be key=value, got {item!r} in {text!r}")
            options.append((key.strip().lower(), value.strip().lower()))
    return Measure(family, cutoff, tuple(options))


def parse_measures(measures: Sequence[str | Measure] | str | Measure) -> tuple[Measure, ...]:
    """Parse several measures, dropping repeats (``map`` and ``AP`` are the same measure)."""
    if isinstance(measures, str | Measure):
        measures = [measures]
    parsed: dict[Measure, None] = {}
    for item in measures:
        parsed[parse_measure(item)] = None
    if not parsed:
        raise MeasureError("no measures given")
    return tuple(parsed)


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
    """``qid -> measure -> value``, qids in byte order."""
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
    rows: IntArray, n_rows: int, *columns: tuple[npt.NDArray[Any], Any]
) -> Iterator[tuple[IntArray, list[npt.NDArray[Any]]]]:
    """Scatter row-sorted entries into padded matrices, grouping rows by length.

    ``columns`` are ``(values, fill)`` pairs, one value per entry; each row's entries fill its
    first slots in entry order. Rows in one group differ in length by at most a factor of two,
    so padding stays bounded even when one query has far more entries than the rest. Empty
    rows are not yielded.
    """
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


def _names(vocabulary: Any, codes: IntArray) -> npt.NDArray[np.str_]:
    """Docid strings for codes as a fixed-width unicode array (compares in code-point order,
    which is the UTF-8 byte order strcmp uses)."""
    return np.asarray(vocabulary.take(codes), dtype=str)


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
    Only tied entries have their docid strings compared, so continuous scores cost no string
    work at all.
    """
    ordered = np.take_along_axis(keys, ranking, axis=1)
    n, width = ordered.shape
    with_prev = np.zeros((n, width), dtype=bool)
    with_prev[:, 1:] = ordered[:, 1:] == ordered[:, :-1]
    with_prev &= np.arange(width) < lengths[:, None]
    if not with_prev.any():
        return
    tied = with_prev.copy()
    tied[:, :-1] |= with_prev[:, 1:]
    at = np.flatnonzero(tied)
    starts = ~with_prev.reshape(-1)[at]
    group = np.cumsum(starts) - 1
    names = _names(vocabulary, np.take_along_axis(docs, ranking, axis=1).reshape(-1)[at])
    # lexsort by (group descending, name ascending), reversed: group ascending, name descending
    within = np.lexsort((names, -group))[::-1]
    flat = ranking.reshape(-1)
    flat[at] = flat[at][within]


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


def _join_columns(qrels: Any, run: Any, on_missing: str, rel_threshold: int) -> _Joined:
    """Join tables (or a table and a mapping) through one docid vocabulary for both."""
    qc = _columns(qrels, "grade", np.int64)
    rc = _columns(run, "score", np.float64)
    (q_docs, r_docs), vocabulary = _factorize_docids(qc.docids, rc.docids)
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
    qrels: Qrels | pd.DataFrame,
    run: Run | pd.DataFrame,
    measures: Sequence[str | Measure] | str | Measure,
    *,
    rel_threshold: int = 1,
    on_missing: OnMissing = "zero",
) -> EvalResult:
    """Evaluate ``run`` against ``qrels`` with trec_eval semantics (see the module docstring).

    ``qrels`` and ``run`` are nested mappings (``qid -> docid -> grade/score``) or DataFrames
    with columns ``qid, docid, grade`` / ``qid, docid, score``. Ids are converted to integers
    once; everything after that is numpy. Raises :class:`EvaluationError` (a ValueError) for
    duplicate (qid, docid) pairs, NaN scores, non-integer grades, or no query to evaluate.
    """
    _validate(rel_threshold, on_missing)
    wanted = parse_measures(measures)
    if isinstance(qrels, Mapping) and isinstance(run, Mapping):
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
    grouped = np.argsort(joined.rows, kind="stable")  # cheap: runs usually come grouped
    rows = joined.rows[grouped]
    lengths = np.bincount(rows, minlength=n_rows)

    values = np.zeros((n_rows, len(wanted)), dtype=np.float64)
    idcg = joined.ideal.table(wanted)
    columns = (
        (-joined.scores[grouped], np.inf),
        (joined.grades[grouped], _NOT_RELEVANT),
        (joined.docs[grouped], -1),
    )
    for group, (keys, grade_matrix, doc_matrix) in _padded_groups(rows, n_rows, *columns):
        if not joined.unique_pairs:
            _check_row_duplicates(group, doc_matrix, eval_qids, vocabulary)
        # Padding (key +inf) sorts after every real entry, -inf scores included.
        ranking = np.argsort(keys, axis=1, kind="stable")
        _break_ties(ranking, keys, lengths[group], doc_matrix, vocabulary)
        values[group] = _kernel(
            np.take_along_axis(grade_matrix, ranking, axis=1),
            joined.num_rel[group],
            {m: v[group] for m, v in idcg.items()},
            wanted,
            rel_threshold,
        )
    return _result(eval_qids, wanted, values, on_missing, rel_threshold)


def _result(
    qids: Sequence[str],
    measures: Sequence[Measure],
    values: FloatArray,
    on_missing: OnMissing,
    rel_threshold: int,
) -> EvalResult:
    names = tuple(str(m) for m in measures)
    per_query = {
        qid: dict(zip(names, row, strict=True))
        for qid, row in zip(qids, values.tolist(), strict=True)
    }
    means = values.sum(axis=0) / max(len(qids), 1)
    return EvalResult(
        queries=len(qids),
        measures=names,
        per_query=per_query,
        mean=dict(zip(names, means.tolist(), strict=True)),
        on_missing=on_missing,
        rel_threshold=int(rel_threshold),
    )


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
    return DenseQrels(
        qids=tuple(eval_qids),
        candidates=tuple(lists),
        lengths=lengths,
        order=order,
        grades=grades,
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
    internal = np.take_along_axis(matrix, prepared.order, axis=1)
    valid = np.arange(width) < prepared.lengths[:, None]
    if np.isnan(internal[valid]).any():
        row = int(np.flatnonzero(np.isnan(np.where(valid, internal, 0.0)).any(axis=1))[0])
        raise EvaluationError(f"NaN score for qid {prepared.qids[row]!r}")
    # Padding sorts after every real candidate, -inf scores included (stable sort).
    key = np.where(valid, -internal, np.inf)
    ranking = np.argsort(key, axis=1, kind="stable")
    grades = np.take_along_axis(prepared.grades, ranking, axis=1)
    return _kernel(
        grades, prepared.num_rel, prepared.ideal.table(wanted), wanted, prepared.rel_threshold
    )


# --------------------------------------------------------------------------------------------
# For the CLI (wired by ``underfoot-lab metrics``)


def metrics_cli_payload(
    qrels_path: str | os.PathLike[str],
    run_path: str | os.PathLike[str],
    measures: list[str],
    per_query: bool,
    *,
    rel_threshold: int = 1,
    on_missing: OnMissing = "zero",
) -> dict[str, Any]:
    """Evaluate TREC files: ``{"queries": N, "mean": {...}, "per_query": {...}}``.

    Keys of ``mean`` are canonical measure names (``ndcg_cut_10`` is reported as ``nDCG@10``);
    ``per_query`` is empty unless asked for.
    """
    result = evaluate(
        read_qrels(qrels_path),
        read_run(run_path),
        measures,
        rel_threshold=rel_threshold,
        on_missing=on_missing,
    )
    return {
        "queries": result.queries,
        "mean": result.mean,
        "per_query": result.per_query if per_query else {},
    }


def format_metrics_table(payload: Mapping[str, Any], digits: int = 4) -> str:
    """A readable text table of a :func:`metrics_cli_payload` result."""
    mean: Mapping[str, float] = payload["mean"]
    names = list(mean)
    lines = [f"queries: {payload['queries']}"]
    width = max(len("measure"), *(len(n) for n in names))
    lines.append(f"{'measure':<{width}}  {'mean':>{digits + 2}}")
    lines.extend(f"{n:<{width}}  {mean[n]:>{digits + 2}.{digits}f}" for n in names)
    per_query: Mapping[str, Mapping[str, float]] = payload.get("per_query") or {}
    if per_query:
        qwidth = max(len("qid"), *(len(q) for q in per_query))
        cols = [max(len(n), digits + 2) for n in names]
        header = f"{'qid':<{qwidth}}  " + "  ".join(
            f"{n:>{w}}" for n, w in zip(names, cols, strict=True)
        )
        lines += ["", header]
        for qid, values in per_query.items():
            cells = "  ".join(
                f"{values[n]:>{w}.{digits}f}" for n, w in zip(names, cols, strict=True)
            )
            lines.append(f"{qid:<{qwidth}}  {cells}")
    return "\n".join(lines)
