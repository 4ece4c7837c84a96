"""TREC qrels and run files: reading, writing and the containers they load into.

Formats (whitespace separated, one judgment or result per line, ``#`` lines and blank lines
skipped, as trec_eval does):

* qrels: ``qid iter docid grade`` -- exactly four fields; ``iter`` is ignored and ``grade`` is an
  integer (negative grades mean "in the pool but not judged" to trec_eval: never relevant).
* run: ``qid Q0 docid rank score tag`` -- exactly six fields; ``rank`` is ignored because
  trec_eval re-ranks by score, breaking ties by docid in descending byte order. Scores are
  parsed as float64.

Files must be UTF-8 text (a leading byte-order mark is skipped); a binary or undecodable file
is an error naming the file.

Two shapes: :func:`read_qrels_table` / :func:`read_run_table` give a columnar
:class:`TrecTable` (what :func:`~underfoot_lab.evaluation.metrics.kernel.evaluate` reads
fastest), :func:`read_qrels` / :func:`read_run` plain nested dicts, the shape pytrec_eval uses
too: :data:`Qrels` maps ``qid -> docid -> grade`` and :data:`Run` maps ``qid -> docid -> score``.
Errors are :class:`TrecFormatError` (a ValueError) naming the file, the line number and, for
duplicates, the qid and docid.

Reading is vectorised: a file of single-space separated ASCII lines (what every tool writes)
goes through pyarrow's CSV reader; anything else (tabs, repeated spaces, comments, blank
lines, non-ASCII text) and every malformed file goes through a line-by-line reader, which is
the reference for the semantics and produces the error messages.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from ...errors import UnderfootError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import numpy.typing as npt
    import pyarrow as pa

Qrels: TypeAlias = Mapping[str, Mapping[str, int]]
"""Relevance judgments: ``qid -> docid -> grade`` (integer; > 0 is a positive judgment)."""

Run: TypeAlias = Mapping[str, Mapping[str, float]]
"""A ranked run: ``qid -> docid -> score`` (higher is better; the order is derived from scores)."""


class TrecFormatError(UnderfootError, ValueError):
    """A malformed qrels/run line or container; the message names the file and line."""


Source: TypeAlias = str | os.PathLike[str] | Iterable[str]
"""A path, or the lines themselves (any iterable of strings that is not a ``str``)."""

_BOM = b"\xef\xbb\xbf"
# Bytes that make the single-space CSV fast path unsafe: other whitespace Python's str.split
# honours, comments, and layouts (blank lines, leading/trailing/repeated spaces) it skips.
_IRREGULAR = (b"\t", b"\r", b"\x0b", b"\x0c", b"\x1c", b"\x1d", b"\x1e", b"\x1f", b"#")
_IRREGULAR_PAIRS = (b"  ", b" \n", b"\n ", b"\n\n")


@dataclass(frozen=True, slots=True, eq=False)
class TrecTable:
    """One qrels or run file as columns, validated (no duplicate (qid, docid) pair).

    ``docs[i]`` indexes ``vocabulary`` (the file's distinct docids, a pyarrow string array),
    ``qids`` are the distinct qids in first-seen order and ``q[i]`` indexes them; ``values``
    are grades (int64) or scores (float64).
    """

    name: str
    qids: list[str]
    q: npt.NDArray[np.int64]
    docs: npt.NDArray[np.int64]
    vocabulary: pa.Array
    values: npt.NDArray[Any]

    def __len__(self) -> int:
        return int(self.q.size)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The nested-dict form (``qid -> docid -> value``), queries in first-seen order."""
        out: dict[str, dict[str, Any]] = {qid: {} for qid in self.qids}
        docids = self.vocabulary.take(self.docs).to_pylist()
        qids = self.qids
        for qi, docid, value in zip(self.q.tolist(), docids, self.values.tolist(), strict=True):
            out[qids[qi]][docid] = value
        return out


def _load(source: Source) -> tuple[str, bytes]:
    """A name for error messages and the source's bytes (BOM stripped, UTF-8 checked)."""
    if isinstance(source, str | os.PathLike):
        name = str(source)
        data = Path(source).read_bytes()
    else:
        name = "<lines>"
        data = "".join(line if line.endswith("\n") else f"{line}\n" for line in source).encode(
            "utf-8"
        )
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    if b"\x00" in data:
        raise TrecFormatError(f"{name}: not a text file (contains NUL bytes)")
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise TrecFormatError(
                f"{name}: not UTF-8 text (undecodable byte at offset {exc.start})"
            ) from None
    return name, data


def _regular(data: bytes) -> bool:
    """True when the fast path reads ``data`` exactly as the line-by-line reader would."""
    if not data or not data.isascii() or data[:1] in (b" ", b"\n") or data.endswith(b" "):
        return False
    return not any(b in data for b in _IRREGULAR) and not any(p in data for p in _IRREGULAR_PAIRS)


def _fast_columns(data: bytes, kind: str) -> tuple[pa.Array, pa.Array, Any] | None:
    """(qid, docid, value) columns via pyarrow's CSV reader, or None if anything is off."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    if kind == "qrels":
        names, value, value_type = ["qid", "iter", "docid", "grade"], "grade", pa.int64()
    else:
        names = ["qid", "q0", "docid", "rank", "score", "tag"]
        value, value_type = "score", pa.float64()
    try:
        table = pcsv.read_csv(
            pa.py_buffer(data),
            read_options=pcsv.ReadOptions(column_names=names, use_threads=False),
            parse_options=pcsv.ParseOptions(
                delimiter=" ", quote_char=False, escape_char=False, ignore_empty_lines=False
            ),
            convert_options=pcsv.ConvertOptions(
                column_types={"qid": pa.string(), "docid": pa.string(), value: value_type},
                include_columns=["qid", "docid", value],
                null_values=[],
                strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        return None  # wrong field count or an unparsable value: the slow path names the line
    columns = [table.column(c) for c in ("qid", "docid", value)]
    if any(c.null_count for c in columns):
        return None
    return columns[0], columns[1], columns[2].to_numpy(zero_copy_only=False)


def _text_lines(data: bytes) -> list[str]:
    """Lines as a text-mode file yields them (universal newlines: \\n, \\r\\n and \\r)."""
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _slow_columns(name: str, data: bytes, kind: str) -> tuple[list[str], list[str], list[Any]]:
    """The reference line-by-line reader: trec_eval's layout rules and every error message."""
    qids: list[str] = []
    docids: list[str] = []
    values: list[Any] = []
    for lineno, line in enumerate(_text_lines(data), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        fields = stripped.split()
        if kind == "qrels":
            if len(fields) != 4:
                raise TrecFormatError(
                    f"{name}:{lineno}: qrels line needs 4 fields 'qid iter docid grade', "
                    f"got {len(fields)}: {stripped!r}"
                )
            qid, _iter, docid, grade_text = fields
            try:
                values.append(int(grade_text))
            except ValueError:
                raise TrecFormatError(
                    f"{name}:{lineno}: grade must be an integer, got {grade_text!r}"
                ) from None
        else:
            if len(fields) != 6:
                raise TrecFormatError(
                    f"{name}:{lineno}: run line needs 6 fields 'qid Q0 docid rank score tag', "
                    f"got {len(fields)}: {stripped!r}"
                )
            qid, _q0, docid, _rank, score_text, _tag = fields
            try:
                score = float(score_text)
            except ValueError:
                raise TrecFormatError(
                    f"{name}:{lineno}: score must be a number, got {score_text!r}"
                ) from None
            if math.isnan(score):
                raise TrecFormatError(
                    f"{name}:{lineno}: score is NaN for qid {qid!r} docid {docid!r}"
                )
            values.append(score)
        qids.append(qid)
        docids.append(docid)
    return qids, docids, values


def _line_numbers(data: bytes) -> npt.NDArray[np.int64]:
    """1-based line number of each content line (for duplicate messages; rarely needed)."""
    import numpy as np

    numbers = [
        i
        for i, line in enumerate(_text_lines(data), start=1)
        if line.strip() and not line.strip().startswith("#")
    ]
    return np.asarray(numbers, dtype=np.int64)


@dataclass(frozen=True, slots=True, eq=False)
class _Parsed:
    name: str
    kind: str
    data: bytes
    fast: bool
    qids: Any  # pyarrow (chunked) string array
    docids: Any
    values: npt.NDArray[Any]


def _parse(source: Source, kind: str) -> _Parsed:
    import numpy as np
    import pyarrow as pa

    name, data = _load(source)
    fast = _fast_columns(data, kind) if _regular(data) else None
    if fast is not None:
        qid_col, doc_col, values = fast
    else:
        qid_list, doc_list, value_list = _slow_columns(name, data, kind)
        qid_col, doc_col = pa.array(qid_list, pa.string()), pa.array(doc_list, pa.string())
        values = np.asarray(value_list, dtype=np.int64 if kind == "qrels" else np.float64)
    if kind == "run" and values.size and np.isnan(values).any():
        _slow_columns(name, data, kind)  # only the fast path gets here; this names the line
    values = values.astype(np.int64 if kind == "qrels" else np.float64, copy=False)
    return _Parsed(name, kind, data, fast is not None, qid_col, doc_col, values)


def _codes(encoded: Any) -> npt.NDArray[np.int64]:
    import numpy as np

    chunks = getattr(encoded, "chunks", [encoded])
    parts = [c.indices.to_numpy(zero_copy_only=False) for c in chunks]
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)


def _tables(*parsed: _Parsed) -> list[TrecTable]:
    """Code ids (docids in one vocabulary shared by all ``parsed``) and refuse duplicates."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    chunks = [c for p in parsed for c in getattr(p.docids, "chunks", [p.docids])]
    encoded = pc.dictionary_encode(pa.chunked_array(chunks, pa.string()))
    all_docs = _codes(encoded)
    vocabulary = encoded.chunks[-1].dictionary if encoded.num_chunks else pa.array([], pa.string())
    out: list[TrecTable] = []
    start = 0
    for p in parsed:
        docs = all_docs[start : start + len(p.values)]
        start += len(p.values)
        q_enc = pc.dictionary_encode(p.qids)
        q = _codes(q_enc)
        keys = q * max(len(vocabulary), 1) + docs
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        repeated = np.flatnonzero(sorted_keys[1:] == sorted_keys[:-1])
        if repeated.size:
            i = int(order[repeated + 1].min())  # the earliest line repeating an earlier pair
            lineno = i + 1 if p.fast else int(_line_numbers(p.data)[i])
            qid, docid = str(p.qids[i]), str(p.docids[i])
            what = "judgment for" if p.kind == "qrels" else "document in run:"
            raise TrecFormatError(
                f"{p.name}:{lineno}: duplicate {what} qid {qid!r} docid {docid!r}"
            )
        q_dict = getattr(q_enc, "chunks", [q_enc])
        qids = q_dict[-1].dictionary.to_pylist() if q_dict else []
        out.append(TrecTable(p.name, qids, q, docs, vocabulary, p.values))
    return out


def read_trec_pair(qrels: Source, run: Source) -> tuple[TrecTable, TrecTable]:
    """Read a qrels and a run file into tables sharing one docid vocabulary (the fastest
    input to :func:`~underfoot_lab.evaluation.metrics.kernel.evaluate`); errors as
    :func:`read_qrels_table` and :func:`read_run_table`."""
    qrels_table, run_table = _tables(_parse(qrels, "qrels"), _parse(run, "run"))
    return qrels_table, run_table


def read_qrels_table(source: Source) -> TrecTable:
    """Read a qrels file (or its lines) into a :class:`TrecTable` of int64 grades.

    Raises :class:`TrecFormatError` for a line without exactly four fields, a grade that is not
    an integer, the same (qid, docid) judged twice (trec_eval refuses duplicates too), or a
    file that is not UTF-8 text.
    """
    return _tables(_parse(source, "qrels"))[0]


def read_run_table(source: Source) -> TrecTable:
    """Read a run file (or its lines) into a :class:`TrecTable` of float64 scores.

    Raises :class:`TrecFormatError` for a line without exactly six fields, a score that is not
    a number (NaN included: it has no place in a ranking), a document listed twice for one
    query, or a file that is not UTF-8 text.
    """
    return _tables(_parse(source, "run"))[0]


def read_qrels(source: Source) -> dict[str, dict[str, int]]:
    """Read a qrels file (or its lines) into ``qid -> docid -> grade`` (see
    :func:`read_qrels_table` for the errors)."""
    return read_qrels_table(source).to_dict()


def read_run(source: Source) -> dict[str, dict[str, float]]:
    """Read a run file (or its lines) into ``qid -> docid -> score`` (see
    :func:`read_run_table` for the errors)."""
    return read_run_table(source).to_dict()


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
