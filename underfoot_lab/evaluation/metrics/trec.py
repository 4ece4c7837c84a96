"""TREC qrels and run files: reading, writing and the containers they load into.

Formats (whitespace separated, one judgment or result per line, ``#`` lines and blank lines
skipped, as trec_eval does):

* qrels: ``qid iter docid grade`` -- exactly four fields; ``iter`` is ignored and ``grade`` is an
  integer (negative grades mean "in the pool but not judged" to trec_eval: never relevant).
* run: ``qid Q0 docid rank score tag`` -- at least six fields (later ones ignored, like
  trec_eval); ``rank`` is ignored because trec_eval re-ranks by score, breaking ties by docid
  in descending byte order. Scores are parsed as float64.

Containers are plain nested dicts, the shape pytrec_eval uses too: :data:`Qrels` maps
``qid -> docid -> grade`` and :data:`Run` maps ``qid -> docid -> score``. Errors are
:class:`TrecFormatError` (a ValueError) naming the file, the line number and, for duplicates,
the qid and docid.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TypeAlias

from ...errors import UnderfootError

Qrels: TypeAlias = Mapping[str, Mapping[str, int]]
"""Relevance judgments: ``qid -> docid -> grade`` (integer; > 0 is a positive judgment)."""

Run: TypeAlias = Mapping[str, Mapping[str, float]]
"""A ranked run: ``qid -> docid -> score`` (higher is better; the order is derived from scores)."""


class TrecFormatError(UnderfootError, ValueError):
    """A malformed qrels/run line or container; the message names the file and line."""


Source: TypeAlias = str | os.PathLike[str] | Iterable[str]
"""A path, or the lines themselves (any iterable of strings that is not a ``str``)."""


def _lines(source: Source) -> tuple[str, Iterator[str]]:
    """Return a name for error messages and an iterator over the source's lines."""
    if isinstance(source, str | os.PathLike):
        path = Path(source)

        def gen() -> Iterator[str]:
            with path.open(encoding="utf-8") as handle:
                yield from handle

        return str(path), gen()
    return "<lines>", iter(source)


def _content(line: str) -> list[str] | None:
    """The whitespace-separated fields of a line, or None for blank and ``#`` comment lines."""
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return None
    return stripped.split()


def read_qrels(source: Source) -> dict[str, dict[str, int]]:
    """Read a qrels file (or its lines) into ``qid -> docid -> grade``.

    Raises ValueError for a line without exactly four fields, a grade that is not an integer,
    or the same (qid, docid) judged twice (trec_eval refuses duplicates too).
    """
    name, lines = _lines(source)
    qrels: dict[str, dict[str, int]] = {}
    for lineno, line in enumerate(lines, start=1):
        fields = _content(line)
        if fields is None:
            continue
        if len(fields) != 4:
            raise TrecFormatError(
                f"{name}:{lineno}: qrels line needs 4 fields 'qid iter docid grade', "
                f"got {len(fields)}: {line.strip()!r}"
            )
        qid, _iter, docid, grade_text = fields
        try:
            grade = int(grade_text)
        except ValueError:
            raise TrecFormatError(
                f"{name}:{lineno}: grade must be an integer, got {grade_text!r}"
            ) from None
        docs = qrels.setdefault(qid, {})
        if docid in docs:
            raise TrecFormatError(
                f"{name}:{lineno}: duplicate judgment for qid {qid!r} docid {docid!r}"
            )
        docs[docid] = grade
    return qrels


def read_run(source: Source) -> dict[str, dict[str, float]]:
    """Read a run file (or its lines) into ``qid -> docid -> score``.

    Raises ValueError for a line with fewer than six fields, a score that is not a number (NaN
    included: it has no place in a ranking), or a document listed twice for one query.
    """
    name, lines = _lines(source)
    run: dict[str, dict[str, float]] = {}
    for lineno, line in enumerate(lines, start=1):
        fields = _content(line)
        if fields is None:
            continue
        if len(fields) < 6:
            raise TrecFormatError(
                f"{name}:{lineno}: run line needs 6 fields 'qid Q0 docid rank score tag', "
                f"got {len(fields)}: {line.strip()!r}"
            )
        qid, _q0, docid, _rank, score_text = fields[:5]
        try:
            score = float(score_text)
        except ValueError:
            raise TrecFormatError(
                f"{name}:{lineno}: score must be a number, got {score_text!r}"
            ) from None
        if math.isnan(score):
            raise TrecFormatError(f"{name}:{lineno}: score is NaN for qid {qid!r} docid {docid!r}")
        docs = run.setdefault(qid, {})
        if docid in docs:
            raise TrecFormatError(
                f"{name}:{lineno}: duplicate document in run: qid {qid!r} docid {docid!r}"
            )
        docs[docid] = score
    return run


def _check_token(kind: str, value: str) -> None:
    if not value or any(ch.isspace() for ch in value):
        raise TrecFormatError(f"{kind} must be non-empty without whitespace, got {value!r}")


def ranked(docs: Mapping[str, float]) -> list[tuple[str, float]]:
    """A query's documents in trec_eval order: score descending, ties by docid descending.

    (Python compares ``str`` by code point, which is the UTF-8 byte order ``strcmp`` uses.)
    """
    return sorted(docs.items(), key=lambda item: (item[1], item[0]), reverse=True)


def write_qrels(qrels: Qrels, path: str | os.PathLike[str]) -> None:
    """Write ``qrels`` as ``qid 0 docid grade`` lines (queries and docs in the mapping's order)."""
    with Path(path).open("w", encoding="utf-8") as handle:
        for qid, docs in qrels.items():
            _check_token("qid", qid)
            for docid, grade in docs.items():
                _check_token("docid", docid)
                if int(grade) != grade:
                    raise TrecFormatError(
                        f"grade must be an integer, got {grade!r} for {qid}/{docid}"
                    )
                handle.write(f"{qid} 0 {docid} {int(grade)}\n")


def write_run(run: Run, path: str | os.PathLike[str], tag: str) -> None:
    """Write ``run`` as ``qid Q0 docid rank score tag`` lines in trec_eval's ranking order.

    Ranks start at 1 and follow :func:`ranked`, so the rank column agrees with what trec_eval
    derives from the scores; scores are written with ``repr`` so they round-trip exactly.
    """
    _check_token("run tag", tag)
    with Path(path).open("w", encoding="utf-8") as handle:
        for qid, docs in run.items():
            _check_token("qid", qid)
            for rank, (docid, score) in enumerate(ranked(docs), start=1):
                _check_token("docid", docid)
                value = float(score)
                if math.isnan(value):
                    raise TrecFormatError(f"score is NaN for qid {qid!r} docid {docid!r}")
                handle.write(f"{qid} Q0 {docid} {rank} {value!r} {tag}\n")
