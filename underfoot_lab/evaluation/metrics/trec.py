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
the reference for the semantics and produces the error messages. Files are read whole, not
memory-mapped: a mapped file truncated by another process while it is read ends the process
with SIGBUS, and mapping measured no faster on the 10k x 100 benchmark. Ids never
become Python strings on the way: docids are packed into big-endian integers (:class:`DocIds`),
whose order is the byte order trec_eval breaks ties by, and qids are dictionary-encoded by the
CSV reader and numbered by sorting the packed dictionaries (only the distinct qids become
strings). One sort of hashed (qid, docid) keys checks every file for duplicates and, for a
qrels and a run read together (:func:`read_trec_pair`), finds which judgment each result has
(:class:`PairMatches`, every match confirmed on the docid bytes).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from ...errors import UnderfootError
from .packing import _BLOCK, _arrow_parts, _decode, _pack, _pair_keys_into, _Parts, _string_parts

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import numpy.typing as npt

Qrels: TypeAlias = Mapping[str, Mapping[str, int]]
"""Relevance judgments: ``qid -> docid -> grade`` (integer; > 0 is a positive judgment)."""

Run: TypeAlias = Mapping[str, Mapping[str, float]]
"""A ranked run: ``qid -> docid -> score`` (higher is better; the order is derived from scores)."""


class TrecFormatError(UnderfootError, ValueError):
    """A malformed qrels/run line or container; the message names the file and line."""


Source: TypeAlias = str | os.PathLike[str] | Iterable[str]
"""A path, or the lines themselves (any iterable of strings that is not a ``str``)."""

_BOM = b"\xef\xbb\xbf"
# "#" opens a comment only at the start of a line; other control bytes are whitespace to
# Python's str.split (tabs, \r, \x0b, \x0c, \x1c-\x1f), which the fast path does not model.


@dataclass(frozen=True, slots=True, eq=False)
class DocIds:
    """Docids as rows of big-endian 64-bit words (the UTF-8 bytes, zero padded).

    Comparing two rows word by word compares the docids' bytes as ``strcmp`` does (no docid
    holds a NUL byte), so ties break without building a single Python string, and equal
    docids have equal rows, so joins hash integers instead of strings. A docid may appear
    under several codes (one per line read); codes index ``words``.
    """

    words: npt.NDArray[np.uint64]
    """Shape ``(n, width)``: docid ``i`` is ``words[i]``."""

    def __len__(self) -> int:
        return int(self.words.shape[0])

    @property
    def width(self) -> int:
        """Words per docid (8 bytes each)."""
        return int(self.words.shape[1])

    def take(self, codes: npt.NDArray[np.int64]) -> list[str]:
        """The docid strings of ``codes``."""
        return _decode(self.words[codes])

    def rows(self, codes: npt.NDArray[np.int64], width: int) -> npt.NDArray[np.uint64]:
        """``words[codes]`` widened with zero words to ``width`` (for comparing two sets)."""
        import numpy as np

        picked = self.words[codes]
        if picked.shape[1] == width:
            return picked
        out = np.zeros((picked.shape[0], width), dtype=np.uint64)
        out[:, : picked.shape[1]] = picked
        return out


@dataclass(frozen=True, slots=True, eq=False)
class TrecTable:
    """One qrels or run file as columns, validated (no duplicate (qid, docid) pair).

    ``docs[i]`` indexes ``vocabulary`` (the docids packed as integers, see :class:`DocIds`);
    ``q[i]`` indexes ``qids``, distinct qids in byte order
    (tables read together share one list, so it may hold qids only the other table has:
    :meth:`own_qids` are this table's); ``values`` are grades (int64) or scores (float64).
    """

    name: str
    qids: list[str]
    q: npt.NDArray[np.int64]
    docs: npt.NDArray[np.int64]
    vocabulary: DocIds
    values: npt.NDArray[Any]
    matches: PairMatches | None = None
    """For a qrels and a run table read together (:func:`read_trec_pair`), the join of
    their (qid, docid) pairs, found while checking for duplicates; both tables hold the same
    object."""

    def __len__(self) -> int:
        return int(self.q.size)

    def own_qids(self) -> tuple[list[str], npt.NDArray[np.int64]]:
        """This table's distinct qids in first-seen order and each entry's index among them."""
        import numpy as np

        present, first, inverse = np.unique(self.q, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")
        position = np.empty(order.size, dtype=np.int64)
        position[order] = np.arange(order.size)
        qids = [self.qids[i] for i in present[order].tolist()]
        return qids, position[inverse.reshape(-1)]

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The nested-dict form (``qid -> docid -> value``), queries in first-seen order."""
        qids, q = self.own_qids()
        out: dict[str, dict[str, Any]] = {qid: {} for qid in qids}
        docids = self.vocabulary.take(self.docs)
        for qi, docid, value in zip(q.tolist(), docids, self.values.tolist(), strict=True):
            out[qids[qi]][docid] = value
        return out


def _dictionary_strings(names: list[str]) -> tuple[_Parts, npt.NDArray[np.int64]]:
    """Distinct ids in first-seen order (as string parts) and each entry's index among them."""
    import numpy as np

    index: dict[str, int] = {}
    codes = [index.setdefault(name, len(index)) for name in names]
    return _string_parts(list(index)), np.asarray(codes, dtype=np.int64)


def _dictionary_arrow(column: Any) -> tuple[_Parts, npt.NDArray[np.int64]]:
    """The same for a dictionary-encoded pyarrow column, without a Python string: each chunk's
    dictionary (the qids of a few thousand lines) becomes a part, and each line's index is
    its chunk's offset among the parts plus its index in the chunk's dictionary."""
    import numpy as np

    parts: _Parts = []
    codes = np.empty(len(column), dtype=np.int64)
    offset = 0
    row = 0
    for chunk in column.chunks:
        dictionary, indices = chunk.dictionary, chunk.indices
        parts.extend(_arrow_parts(dictionary))
        local = np.frombuffer(indices.buffers()[1], dtype=np.int32)
        local = local[indices.offset : indices.offset + len(indices)]
        np.add(local, np.int64(offset), out=codes[row : row + local.size])
        offset += len(dictionary)
        row += local.size
    return parts, codes


@dataclass(frozen=True, slots=True, eq=False)
class _Text:
    """A file's bytes from ``start`` on (past a byte-order mark), viewed without copies."""

    buffer: bytes
    start: int = 0

    def view(self) -> memoryview:
        return memoryview(self.buffer)[self.start :]

    def array(self) -> npt.NDArray[np.uint8]:
        import numpy as np

        return np.frombuffer(self.buffer, dtype=np.uint8, offset=self.start)

    def find(self, sub: bytes) -> int:
        at = self.buffer.find(sub, self.start)
        return at if at < 0 else at - self.start

    def tobytes(self) -> bytes:
        return self.buffer[self.start :]  # a whole bytes object is returned as is, not copied


def _read(path: Path) -> _Text:
    return _Text(path.read_bytes())


def _load(source: Source) -> tuple[str, _Text, bool]:
    """A name for error messages, the source's bytes (BOM skipped, UTF-8 checked) and
    whether they are ASCII."""
    if isinstance(source, str | os.PathLike):
        name = str(source)
        text = _read(Path(source))
    else:
        name = "<lines>"
        data = "".join(line if line.endswith("\n") else f"{line}\n" for line in source)
        text = _Text(data.encode("utf-8"))
    if text.buffer[: len(_BOM)] == _BOM:
        text = _Text(text.buffer, len(_BOM))
    if text.find(b"\x00") >= 0:
        raise TrecFormatError(f"{name}: not a text file (contains NUL bytes)")
    ascii_only = text.buffer.isascii()  # a BOM is not ASCII, so this counts it
    ascii_only = ascii_only or (text.start > 0 and text.buffer[text.start :].isascii())
    if not ascii_only:
        try:
            text.tobytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise TrecFormatError(
                f"{name}: not UTF-8 text (undecodable byte at offset {exc.start})"
            ) from None
    return name, text, ascii_only


def _regular(text: _Text) -> int | None:
    """How many bytes below 32 ``text`` holds when its layout is one the fast path may read,
    else None.

    Checked here: ASCII (the caller's), every line ended by ``\\n``, no comment line. Leading,
    trailing or repeated spaces and blank lines change a line's field count, so the CSV
    reader refuses them (and the line-by-line reader takes over). The count must then equal
    the number of lines the CSV reader found: any other control byte (a tab, ``\\r``, ...)
    is a separator to ``str.split`` the fast path does not model.
    """
    import numpy as np

    raw = text.array()
    if raw.size == 0 or raw[-1] != ord("\n") or raw[0] == ord("#"):
        return None
    if text.find(b"#") >= 0 and text.find(b"\n#") >= 0:  # one byte: memchr; two: far slower
        return None
    controls = 0
    # in blocks small enough for the allocator to reuse (and the cache to hold): whole-file
    # temporaries would cost more in fresh pages than the comparisons themselves
    for start in range(0, raw.size, _BLOCK):
        controls += int(np.count_nonzero(raw[start : start + _BLOCK] < 32))
    return controls


def _fast_columns(text: _Text, kind: str) -> tuple[Any, Any, Any] | None:
    """(qid, docid, value) columns via pyarrow's CSV reader, or None if anything is off."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pcsv

    if kind == "qrels":
        names, value, value_type = ["qid", "iter", "docid", "grade"], "grade", pa.int64()
    else:
        names = ["qid", "q0", "docid", "rank", "score", "tag"]
        value, value_type = "score", pa.float64()
    try:
        table = pcsv.read_csv(
            pa.py_buffer(text.view()),
            read_options=pcsv.ReadOptions(column_names=names, use_threads=False),
            parse_options=pcsv.ParseOptions(
                delimiter=" ", quote_char=False, escape_char=False, ignore_empty_lines=False
            ),
            convert_options=pcsv.ConvertOptions(
                column_types={
                    # qids repeat for a whole block of lines: the reader encodes them
                    "qid": pa.dictionary(pa.int32(), pa.string()),
                    "docid": pa.string(),
                    value: value_type,
                },
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
    dtype = np.int64 if kind == "qrels" else np.float64
    values = [
        np.frombuffer(c.buffers()[1], dtype=dtype)[c.offset : c.offset + len(c)]
        for c in columns[2].chunks
    ]
    return columns[0], columns[1], np.concatenate(values) if values else np.zeros(0, dtype)


def _text_lines(text: _Text) -> list[str]:
    """Lines as a text-mode file yields them (universal newlines: \\n, \\r\\n and \\r)."""
    return text.tobytes().decode("utf-8").replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _slow_columns(name: str, text: _Text, kind: str) -> tuple[list[str], list[str], list[Any]]:
    """The reference line-by-line reader: trec_eval's layout rules and every error message."""
    qids: list[str] = []
    docids: list[str] = []
    values: list[Any] = []
    for lineno, line in enumerate(_text_lines(text), start=1):
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


def _line_numbers(text: _Text) -> npt.NDArray[np.int64]:
    """1-based line number of each content line (for duplicate messages; rarely needed)."""
    import numpy as np

    numbers = [
        i
        for i, line in enumerate(_text_lines(text), start=1)
        if line.strip() and not line.strip().startswith("#")
    ]
    return np.asarray(numbers, dtype=np.int64)


@dataclass(frozen=True, slots=True, eq=False)
class _Parsed:
    name: str
    kind: str
    text: _Text
    fast: bool
    qids: tuple[_Parts, npt.NDArray[np.int64]]
    """Qid strings (each distinct qid at least once, possibly more) and each line's index
    among them."""
    docids: _Parts
    values: npt.NDArray[Any]


def _parse(source: Source, kind: str) -> _Parsed:
    import numpy as np

    name, text, ascii_only = _load(source)
    lines = _regular(text) if ascii_only else None
    fast = _fast_columns(text, kind) if lines is not None else None
    if fast is not None and len(fast[2]) != lines:
        fast = None  # a control byte besides the newlines: read line by line
    if fast is not None:
        qid_col, doc_col, values = fast
        if kind == "run" and values.size and np.isnan(values).any():
            _slow_columns(name, text, kind)  # names the line of the NaN
        qids, docids = _dictionary_arrow(qid_col), _arrow_parts(doc_col)
    else:
        qid_list, doc_list, value_list = _slow_columns(name, text, kind)
        qids, docids = _dictionary_strings(qid_list), _string_parts(doc_list)
        values = np.asarray(value_list, dtype=np.int64 if kind == "qrels" else np.float64)
    values = values.astype(np.int64 if kind == "qrels" else np.float64, copy=False)
    return _Parsed(name, kind, text, fast is not None, qids, docids, values)


@dataclass(frozen=True, slots=True, eq=False)
class PairMatches:
    """Which qrels entry judges which run entry: run entry ``run[i]`` has the (qid, docid) of
    qrels entry ``qrels[i]``; run entries not listed are unjudged."""

    qrels: npt.NDArray[np.int64]
    run: npt.NDArray[np.int64]


def _first_repeat(q: npt.NDArray[np.int64], words: npt.NDArray[np.uint64]) -> int | None:
    """The index of the first entry repeating an earlier (q, docid) pair, in file order (None
    when all are distinct). Exact and slow: only run when two pair keys are equal."""
    seen: set[tuple[int, bytes]] = set()
    for i, (qi, row) in enumerate(zip(q.tolist(), words, strict=True)):
        pair = (qi, row.tobytes())
        if pair in seen:
            return i
        seen.add(pair)
    return None


def _check_and_match(
    tables: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64]]], n_qids: int
) -> tuple[int | None, int | None, PairMatches | None]:
    """One sort of every table's :func:`pair_keys` finds repeats and, for two tables (qrels,
    run), the join: (table with a repeat, its first repeating entry, the matches).

    The lowest key bit is replaced by the table's number, so within the sorted keys a
    repeat is two equal keys and a (qrels, run) match two keys differing in that bit only.
    Equal keys (a repeat, or rarely a hash collision) are settled exactly; a match whose
    docid words differ (a collision) leaves the matches to the evaluator (None).
    """
    import numpy as np

    sizes = [int(q.size) for q, _words in tables]
    every = np.empty(sum(sizes), dtype=np.uint64)
    start = 0
    for number, ((q, words), size) in enumerate(zip(tables, sizes, strict=True)):
        _pair_keys_into(every[start : start + size], q, words, n_qids, low_bit=number)
        start += size
    order = np.argsort(every)
    # the sorted keys block by block (no whole sorted copy): a step of 0 is a repeat, a step
    # of 1 from an even key a qrels key followed by the same run key
    repeat = False
    hits = []
    ordered = np.empty(min(order.size, _BLOCK) + 1, dtype=np.uint64)
    for start in range(0, max(order.size - 1, 0), _BLOCK):
        stop = min(order.size, start + _BLOCK + 1)  # one key of overlap for the steps
        block = np.take(every, order[start:stop], out=ordered[: stop - start])
        steps = block[1:] - block[:-1]
        if not steps.all():
            repeat = True
            break
        hit = np.flatnonzero(steps == 1)
        hits.append(hit[(block[hit] & np.uint64(1)) == 0] + start)
    if repeat:  # equal keys
        for number, (q, words) in enumerate(tables):
            i = _first_repeat(q, words)
            if i is not None:
                return number, i, None
        return None, None, None  # a collision, not a repeat
    if len(tables) != 2:
        return None, None, None
    hit = np.concatenate(hits) if hits else np.zeros(0, np.int64)
    q_entry = order[hit]
    r_entry = order[hit + 1] - sizes[0]
    if not _same_words(tables[0][1], q_entry, tables[1][1], r_entry):
        return None, None, None  # the keys' docid part is a hash: a collision
    return None, None, PairMatches(q_entry, r_entry)


def _same_words(
    a: npt.NDArray[np.uint64],
    a_rows: npt.NDArray[np.int64],
    b: npt.NDArray[np.uint64],
    b_rows: npt.NDArray[np.int64],
) -> bool:
    """Whether rows ``a[a_rows]`` and ``b[b_rows]`` hold the same strings (the words of the
    narrower are zero padded)."""
    import numpy as np

    if a.shape[1] < b.shape[1]:
        a, a_rows, b, b_rows = b, b_rows, a, a_rows
    width = b.shape[1]
    for start in range(0, a_rows.size, _BLOCK):  # whole rows gathered, a block at a time
        left = a[a_rows[start : start + _BLOCK]]
        if left[:, width:].any() or not np.array_equal(
            left[:, :width], b[b_rows[start : start + _BLOCK]]
        ):
            return False
    return True


def _unique_rows(words: npt.NDArray[np.uint64]) -> tuple[list[str], npt.NDArray[np.int64]]:
    """The distinct packed strings of ``words`` in byte order (Python's ``str`` order) and
    each row's index among them."""
    import numpy as np

    n = int(words.shape[0])
    order = np.lexsort(words.T[::-1]) if n else np.zeros(0, np.int64)
    ordered = words[order]
    new = np.ones(n, dtype=bool)
    new[1:] = (ordered[1:] != ordered[:-1]).any(axis=1)
    codes = np.empty(n, dtype=np.int64)
    codes[order] = np.cumsum(new) - 1
    return _decode(ordered[new]), codes


def _tables(*parsed: _Parsed) -> list[TrecTable]:
    """Code ids (each file's docids packed into its own :class:`DocIds`, qids numbered once
    across the files, in byte order) and refuse duplicates."""
    import numpy as np

    # every file's qid dictionaries packed together: a few per chunk of lines, not per line
    qids, codes = _unique_rows(_pack([part for p in parsed for part in p.qids[0]]))
    columns = []
    dictionary_start = 0
    for p in parsed:
        q = codes[dictionary_start:][p.qids[1]] if p.qids[1].size else p.qids[1]
        dictionary_start += sum(int(part[1].size) - 1 for part in p.qids[0])
        columns.append((q, _pack(p.docids)))
    number, i, matches = _check_and_match(columns, len(qids))
    if number is not None and i is not None:
        p, (q, words) = parsed[number], columns[number]
        lineno = i + 1 if p.fast else int(_line_numbers(p.text)[i])
        qid, docid = qids[int(q[i])], _decode(words[i : i + 1])[0]
        what = "judgment for" if p.kind == "qrels" else "document in run:"
        raise TrecFormatError(f"{p.name}:{lineno}: duplicate {what} qid {qid!r} docid {docid!r}")
    return [
        TrecTable(p.name, qids, q, np.arange(q.size), DocIds(words), p.values, matches)
        for p, (q, words) in zip(parsed, columns, strict=True)
    ]


def read_trec_pair(qrels: Source, run: Source) -> tuple[TrecTable, TrecTable]:
    """Read a qrels and a run file into tables sharing one qid list and joined on (qid,
    docid) while they are checked for duplicates (the fastest input to
    :func:`~underfoot_lab.evaluation.metrics.kernel.evaluate`); errors as
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
