"""Relevance judgments: who graded which document for which query, stored in SQLite.

A :class:`Judgment` is one grade (0 = not relevant ... 3 = a real hidden gem) that one judge gave
one document for one query. Judges are named by kind: ``"world"`` (the offline world's ground
truth), ``"human:alice"``, ``"llm:gpt-4o-mini"``. The :class:`JudgmentStore` keeps the latest
judgment per (query, document, judge), imports and exports TREC qrels and JSONL, merges several
judges into one qrels mapping (:func:`merge`) and measures how much two judges agree.

Merge rules (:func:`merge`), per (query, document), over the judges that graded it:

* ``majority``: the most frequent grade; a tie goes to the **lower** grade (conservative: a
  document is only as relevant as its doubters allow).
* ``mean``: the arithmetic mean rounded **half up** (2.5 -> 3, 1.5 -> 2, -0.5 -> 0), computed
  exactly with fractions so no float rounding sneaks in.
* ``max`` / ``min``: the most / least generous judge.

``prefer`` narrows the pool first: a judge name, or a prefix ending in ``:`` (``"human:"``), or
a sequence of them in priority order; the first entry that matches any judge of a pair restricts
that pair to the matching judges, and pairs no entry matches use every judge.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ...errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ...settings import Settings

__all__ = [
    "MAX_GRADE",
    "MERGE_RULES",
    "Judgment",
    "JudgmentStore",
    "MergeHow",
    "ResolvedDoc",
    "merge",
    "read_jsonl",
    "write_jsonl",
]

MAX_GRADE = 3
"""Grades run 0..3; negative grades (TREC's "judged but unusable") are kept as given."""

MergeHow = Literal["majority", "mean", "max", "min"]
MERGE_RULES: tuple[MergeHow, ...] = ("majority", "mean", "max", "min")

_JSON_FIELDS = ("query_id", "doc_id", "grade", "judge", "created_at", "note")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _to_utc(value: datetime) -> datetime:
    # A naive datetime is taken to be UTC already (what datetime.utcnow() used to return).
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _check_token(kind: str, value: object) -> None:
    # qrels files are whitespace separated, so ids and judges cannot contain whitespace.
    # ``split()`` splits on exactly the characters ``str.isspace`` accepts, in C: a value is
    # one non-empty token iff it comes back whole (a per-character loop cost ~1 s per run).
    if not isinstance(value, str) or value.split() != [value]:
        raise ValueError(f"{kind} must be a non-empty string without whitespace, got {value!r}")


@dataclass(frozen=True, slots=True)
class Judgment:
    """One judge's grade for one document of one query."""

    query_id: str
    doc_id: str
    grade: int
    """0..3 (:data:`MAX_GRADE`); negative grades from imported qrels are stored as given."""
    judge: str
    """``"world"``, ``"human:<name>"``, ``"llm:<model>"``, ..."""
    created_at: datetime = field(default_factory=_utc_now)
    """When it was made, in UTC (a naive datetime is taken as UTC)."""
    note: str | None = None
    """Why (a rationale, an import's source file)."""

    def __post_init__(self) -> None:
        _check_token("query_id", self.query_id)
        _check_token("doc_id", self.doc_id)
        _check_token("judge", self.judge)
        if isinstance(self.grade, bool) or not isinstance(self.grade, int):
            raise ValueError(f"grade must be an int, got {self.grade!r}")
        if self.grade > MAX_GRADE:
            raise ValueError(f"grade {self.grade} is above the maximum {MAX_GRADE}")
        if not isinstance(self.created_at, datetime):
            raise ValueError(f"created_at must be a datetime, got {self.created_at!r}")
        if self.note is not None and not isinstance(self.note, str):
            raise ValueError(f"note must be a string or None, got {self.note!r}")
        object.__setattr__(self, "created_at", _to_utc(self.created_at))

    @property
    def key(self) -> tuple[str, str, str]:
        """(query_id, doc_id, judge): the store keeps one judgment per key."""
        return (self.query_id, self.doc_id, self.judge)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape (``created_at`` as ISO 8601 with ``+00:00``)."""
        return {
            "query_id": self.query_id,
            "doc_id": self.doc_id,
            "grade": self.grade,
            "judge": self.judge,
            "created_at": _iso(self.created_at),
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Judgment:
        """Inverse of :meth:`to_dict`; ``created_at`` may be missing (now) and ``note`` too.

        Raises ValueError for unknown or missing keys and invalid values.
        """
        unknown = sorted(set(data) - set(_JSON_FIELDS))
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(unknown)}")
        missing = [k for k in ("query_id", "doc_id", "grade", "judge") if k not in data]
        if missing:
            raise ValueError(f"missing field(s) {', '.join(missing)}")
        created = data.get("created_at")
        if created is None:
            created_at = _utc_now()
        elif isinstance(created, str):
            try:
                created_at = datetime.fromisoformat(created)
            except ValueError:
                raise ValueError(f"created_at is not an ISO 8601 time: {created!r}") from None
        elif isinstance(created, datetime):
            created_at = created
        else:
            raise ValueError(f"created_at must be an ISO 8601 string, got {created!r}")
        return cls(
            query_id=data["query_id"],
            doc_id=data["doc_id"],
            grade=data["grade"],
            judge=data["judge"],
            created_at=created_at,
            note=data.get("note"),
        )


@dataclass(frozen=True, slots=True)
class ResolvedDoc:
    """Which offline-world entity a world-judged result resolves to (kept next to the world's
    judgments so pooled qrels judge each place once; see :mod:`.world_judge`)."""

    query_id: str
    doc_id: str
    entity_id: str
    note: str
    """The world's note (seed and clock), as on its judgments."""


def _iso(dt: datetime) -> str:
    # Fixed width (always microseconds, always +00:00) so stored strings sort chronologically.
    return _to_utc(dt).isoformat(timespec="microseconds")


# ------------------------------------------------------------------------------------ merging
def _latest(judgments: Iterable[Judgment]) -> dict[tuple[str, str, str], Judgment]:
    """One judgment per (query, doc, judge): the latest (a later one wins a tie)."""
    out: dict[tuple[str, str, str], Judgment] = {}
    for j in judgments:
        prev = out.get(j.key)
        if prev is None or j.created_at >= prev.created_at:
            out[j.key] = j
    return out


def _matches(entry: str, judge: str) -> bool:
    return judge.startswith(entry) if entry.endswith(":") else judge == entry


def _combine(grades: Sequence[int], how: MergeHow) -> int:
    if how == "majority":
        counts = Counter(grades)
        top = max(counts.values())
        return min(g for g, c in counts.items() if c == top)
    if how == "mean":
        mean = Fraction(sum(grades), len(grades))
        return math.floor(mean + Fraction(1, 2))
    if how == "max":
        return max(grades)
    if how == "min":
        return min(grades)
    raise ConfigError(f"unknown merge rule {how!r} (use one of {', '.join(MERGE_RULES)})")


def merge(
    judgments: Iterable[Judgment],
    how: MergeHow = "majority",
    prefer: str | Sequence[str] | None = None,
) -> dict[str, dict[str, int]]:
    """Merge several judges' judgments into one qrels mapping ``qid -> doc_id -> grade``.

    See the module docstring for the rules (majority ties go to the lower grade; the mean is
    rounded half up) and for ``prefer``. If one judge graded a pair twice, the later judgment
    counts. Queries and documents come out sorted, so the result is deterministic.
    """
    if how not in MERGE_RULES:
        raise ConfigError(f"unknown merge rule {how!r} (use one of {', '.join(MERGE_RULES)})")
    order: tuple[str, ...] = (prefer,) if isinstance(prefer, str) else tuple(prefer or ())
    pairs: dict[tuple[str, str], list[Judgment]] = {}
    for j in _latest(judgments).values():
        pairs.setdefault((j.query_id, j.doc_id), []).append(j)
    out: dict[str, dict[str, int]] = {}
    for (qid, doc), pool in sorted(pairs.items()):
        for entry in order:
            preferred = [j for j in pool if _matches(entry, j.judge)]
            if preferred:
                pool = preferred
                break
        out.setdefault(qid, {})[doc] = _combine([j.grade for j in pool], how)
    return out


# ------------------------------------------------------------------------------------ JSONL
def write_jsonl(judgments: Iterable[Judgment], path: str | Path) -> int:
    """Write judgments as JSON Lines (one :meth:`Judgment.to_dict` per line); returns the count."""
    n = 0
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8") as handle:
        for j in judgments:
            handle.write(json.dumps(j.to_dict(), ensure_ascii=False) + "\n")
            n += 1
    return n


def read_jsonl(path: str | Path) -> list[Judgment]:
    """Read judgments from JSON Lines; blank lines are skipped.

    Raises ConfigError naming the file and line for invalid JSON or an invalid judgment.
    """
    source = Path(path)
    out: list[Judgment] = []
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read judgments: {exc.strerror or exc}") from exc
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{source}:{lineno}: invalid JSON: {exc.msg}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"{source}:{lineno}: expected a JSON object per line")
        try:
            out.append(Judgment.from_dict(data))
        except ValueError as exc:
            raise ConfigError(f"{source}:{lineno}: invalid judgment: {exc}") from exc
    return out


# ------------------------------------------------------------------------------------ store
_SCHEMA = """
CREATE TABLE IF NOT EXISTS judgments (
    query_id   TEXT    NOT NULL,
    doc_id     TEXT    NOT NULL,
    judge      TEXT    NOT NULL,
    grade      INTEGER NOT NULL,
    created_at TEXT    NOT NULL,
    note       TEXT,
    PRIMARY KEY (query_id, doc_id, judge)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS judgments_by_judge ON judgments (judge);
CREATE TABLE IF NOT EXISTS world_resolved (
    query_id  TEXT NOT NULL,
    doc_id    TEXT NOT NULL,
    note      TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    PRIMARY KEY (query_id, doc_id, note)
) WITHOUT ROWID;
"""

# Upsert keeping the latest: an older judgment (by created_at) never replaces a newer one, so
# re-importing an old export is harmless; on equal times the later write wins.
_UPSERT = """
INSERT INTO judgments (query_id, doc_id, judge, grade, created_at, note)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (query_id, doc_id, judge) DO UPDATE SET
    grade = excluded.grade, created_at = excluded.created_at, note = excluded.note
WHERE excluded.created_at >= judgments.created_at
"""

_COLUMNS = "query_id, doc_id, grade, judge, created_at, note"
_CHUNK = 500  # bound on "?" placeholders per IN (...) clause


def _row(row: tuple[Any, ...]) -> Judgment:
    qid, doc, grade, judge, created, note = row
    return Judgment(qid, doc, int(grade), judge, datetime.fromisoformat(created), note)


@dataclass(frozen=True, slots=True)
class Agreement:
    """How much two judges agree on the (query, document) pairs both of them graded."""

    judge_a: str
    judge_b: str
    n: int
    """Pairs both judged."""
    exact: float
    """Share of pairs with the same grade (NaN when ``n`` is 0)."""
    kappa: float
    """Weighted Cohen's kappa (see ``weights``); NaN when ``n`` is 0 or it is undefined."""
    alpha: float
    """Krippendorff's alpha, ordinal metric, over the same pairs (NaN when undefined)."""
    weights: str | None
    """The kappa weighting: ``"linear"``, ``"quadratic"`` or None (unweighted)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "judge_a": self.judge_a,
            "judge_b": self.judge_b,
            "n": self.n,
            "exact": self.exact,
            "kappa": self.kappa,
            "alpha": self.alpha,
            "weights": self.weights,
        }


class JudgmentStore:
    """Judgments in one SQLite file (default ``settings.home / "judgments.sqlite3"``).

    Every method opens its own short connection (one transaction per call), so a store object
    holds no open handle: it is cheap to create and safe to keep around in a notebook.
    """

    def __init__(self, path: str | Path | None = None, *, settings: Settings | None = None) -> None:
        if path is None:
            if settings is None:
                from ...settings import Settings

                settings = Settings()
            path = settings.home / "judgments.sqlite3"
        self.path = Path(path)
        self._ready = False

    def __repr__(self) -> str:
        return f"JudgmentStore({str(self.path)!r})"

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # storage.connect: WAL, busy timeout, a damaged file named with its remedy (exit 2).
        from ...storage import connect, corruption_guard

        what = "the judgment store"
        with corruption_guard(self.path, what=what):
            conn = connect(self.path, what=what, check_dir=not self._ready)
            with closing(conn):
                if not self._ready:
                    conn.executescript(_SCHEMA)
                    self._ready = True
                with conn:  # one transaction per call
                    yield conn

    # -------------------------------------------------------------------------- writing
    def add(self, judgments: Iterable[Judgment]) -> int:
        """Store judgments, keeping the latest per (query, doc, judge); returns rows written.

        A judgment older than the stored one for its key is skipped (not counted).
        """
        rows = [
            (j.query_id, j.doc_id, j.judge, j.grade, _iso(j.created_at), j.note)
            for j in _latest(judgments).values()
        ]
        if not rows:
            return 0
        with self._connect() as conn:
            before = conn.total_changes
            conn.executemany(_UPSERT, rows)
            return conn.total_changes - before

    def add_grades(
        self,
        judge: str,
        created_at: datetime,
        note: str | None,
        grades: Iterable[tuple[str, str, int]],
    ) -> int:
        """:meth:`add` of ``Judgment(query_id, doc_id, grade, judge, created_at, note)`` for
        every ``(query_id, doc_id, grade)``, with the same checks, without building the
        objects (one judge, time and note for all: the world's judgments of a run)."""
        when = Judgment("q", "d", 0, judge, created_at, note).created_at  # checks judge etc.
        stamp = _iso(when)
        latest: dict[tuple[str, str], tuple[str, str, str, int, str, str | None]] = {}
        for qid, doc, grade in grades:
            _check_token("query_id", qid)
            _check_token("doc_id", doc)
            if isinstance(grade, bool) or not isinstance(grade, int):
                raise ValueError(f"grade must be an int, got {grade!r}")
            if grade > MAX_GRADE:
                raise ValueError(f"grade {grade} is above the maximum {MAX_GRADE}")
            latest[(qid, doc)] = (qid, doc, judge, grade, stamp, note)  # equal times: later wins
        if not latest:
            return 0
        with self._connect() as conn:
            before = conn.total_changes
            conn.executemany(_UPSERT, list(latest.values()))
            return conn.total_changes - before

    def delete_judge(self, judge: str) -> int:
        """Remove every judgment by ``judge``; returns how many were removed.

        Removing ``"world"`` also forgets which world entity each result resolves to.
        """
        with self._connect() as conn:
            if judge == "world":
                conn.execute("DELETE FROM world_resolved")
            return conn.execute("DELETE FROM judgments WHERE judge = ?", (judge,)).rowcount

    def delete(self, query_id: str, doc_id: str, judge: str) -> int:
        """Remove one judgment (the judge panel's undo); returns how many were removed."""
        with self._connect() as conn:
            return conn.execute(
                "DELETE FROM judgments WHERE query_id = ? AND doc_id = ? AND judge = ?",
                (query_id, doc_id, judge),
            ).rowcount

    def add_resolved(self, rows: Iterable[ResolvedDoc]) -> int:
        """Record which world entity world-judged results resolve to (replacing earlier
        rows of the same query, doc and world); returns rows written."""
        data = [(r.query_id, r.doc_id, r.note, r.entity_id) for r in rows]
        if not data:
            return 0
        with self._connect() as conn:
            before = conn.total_changes
            conn.executemany(
                "INSERT OR REPLACE INTO world_resolved (query_id, doc_id, note, entity_id) "
                "VALUES (?, ?, ?, ?)",
                data,
            )
            return conn.total_changes - before

    def resolved(self, qids: Iterable[str], note: str) -> list[ResolvedDoc]:
        """The recorded resolutions of these queries' results in the world ``note`` names."""
        wanted = sorted({qids} if isinstance(qids, str) else set(qids))
        out: list[ResolvedDoc] = []
        with self._connect() as conn:
            for i in range(0, len(wanted), _CHUNK):
                chunk = wanted[i : i + _CHUNK]
                marks = ", ".join("?" * len(chunk))
                head = "SELECT query_id, doc_id, entity_id, note FROM world_resolved"
                sql = f"{head} WHERE note = ? AND query_id IN ({marks})"  # nosec B608 -- "?" only
                sql += " ORDER BY query_id, doc_id"
                out.extend(ResolvedDoc(*r) for r in conn.execute(sql, [note, *chunk]))
        out.sort(key=lambda r: (r.query_id, r.doc_id))
        return out

    # -------------------------------------------------------------------------- reading
    def __len__(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM judgments").fetchone()[0])

    def judges(self) -> list[str]:
        """Every judge with at least one judgment, sorted."""
        with self._connect() as conn:
            return [r[0] for r in conn.execute("SELECT DISTINCT judge FROM judgments ORDER BY 1")]

    def all(self, judges: Iterable[str] | None = None) -> list[Judgment]:
        """Every judgment (optionally only these judges), sorted by query, doc, judge."""
        where, params = self._judge_filter(judges)
        # Constant columns and a WHERE of "?" placeholders: no value reaches the SQL text.
        order = "ORDER BY query_id, doc_id, judge"
        sql = f"SELECT {_COLUMNS} FROM judgments{where} {order}"  # nosec B608 -- "?" only
        with self._connect() as conn:
            return [_row(r) for r in conn.execute(sql, params)]

    def for_queries(
        self, qids: Iterable[str], judges: Iterable[str] | None = None
    ) -> list[Judgment]:
        """Judgments for these query ids (optionally only these judges), sorted."""
        out = [_row(r) for r in self._select(_COLUMNS, qids, judges)]
        out.sort(key=lambda j: j.key)
        return out

    def grades(
        self, qids: Iterable[str], judges: Iterable[str] | None = None
    ) -> list[tuple[str, str, str, int, str | None]]:
        """``(query_id, doc_id, judge, grade, note)`` of the judgments :meth:`for_queries`
        returns, as plain tuples in the same order (building qrels needs no
        :class:`Judgment` objects: ~15k of them per ``all`` evaluation)."""
        rows = self._select("query_id, doc_id, judge, grade, note", qids, judges)
        out = [(q, d, j, int(g), n) for q, d, j, g, n in rows]
        out.sort(key=lambda r: (r[0], r[1], r[2]))
        return out

    def _select(
        self, columns: str, qids: Iterable[str], judges: Iterable[str] | None
    ) -> list[tuple[Any, ...]]:
        """``columns`` of the judgments of these query ids (and judges), in chunks of ids."""
        wanted = sorted({qids} if isinstance(qids, str) else set(qids))
        judge_where, judge_params = self._judge_filter(judges)
        rows: list[tuple[Any, ...]] = []
        with self._connect() as conn:
            for i in range(0, len(wanted), _CHUNK):
                chunk = wanted[i : i + _CHUNK]
                where = f" WHERE query_id IN ({', '.join('?' * len(chunk))})"
                if judge_where:
                    where += " AND " + judge_where.removeprefix(" WHERE ")
                sql = f"SELECT {columns} FROM judgments{where}"  # nosec B608 -- "?" only
                rows.extend(conn.execute(sql, [*chunk, *judge_params]))
        return rows

    @staticmethod
    def _judge_filter(judges: Iterable[str] | None) -> tuple[str, list[str]]:
        if judges is None:
            return "", []
        names = sorted(set(judges))
        if not names:
            return " WHERE 0", []
        return f" WHERE judge IN ({', '.join('?' * len(names))})", names

    def qrels(self, judge: str, qids: Iterable[str] | None = None) -> dict[str, dict[str, int]]:
        """One judge's judgments as ``qid -> doc_id -> grade`` (sorted)."""
        rows = self.all([judge]) if qids is None else self.for_queries(qids, [judge])
        out: dict[str, dict[str, int]] = {}
        for j in rows:
            out.setdefault(j.query_id, {})[j.doc_id] = j.grade
        return out

    def merged(
        self,
        how: MergeHow = "majority",
        *,
        judges: Iterable[str] | None = None,
        prefer: str | Sequence[str] | None = None,
        qids: Iterable[str] | None = None,
    ) -> dict[str, dict[str, int]]:
        """:func:`merge` over the stored judgments (optionally some judges / queries)."""
        rows = self.all(judges) if qids is None else self.for_queries(qids, judges)
        return merge(rows, how=how, prefer=prefer)

    def to_frame(self, judges: Iterable[str] | None = None) -> pd.DataFrame:
        """Every judgment as a pandas DataFrame (``created_at`` as UTC timestamps)."""
        import pandas as pd

        rows = [j.to_dict() for j in self.all(judges)]
        frame = pd.DataFrame(rows, columns=list(_JSON_FIELDS))
        frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
        frame["grade"] = frame["grade"].astype("int64")
        return frame

    # -------------------------------------------------------------------------- qrels
    def import_qrels(
        self,
        path: str | Path,
        judge: str,
        *,
        created_at: datetime | None = None,
        note: str | None = None,
    ) -> int:
        """Import a TREC qrels file as ``judge``'s judgments; returns rows written.

        Every line gets ``created_at`` (default: now) and ``note`` (default: ``"qrels import:
        <file name>"``, the provenance). Grades are stored as given, negative ones included.
        """
        from ..metrics.trec import read_qrels

        source = Path(path)
        try:
            qrels = read_qrels(source)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        except OSError as exc:
            raise ConfigError(f"{source}: cannot read qrels: {exc.strerror or exc}") from exc
        when = created_at or _utc_now()
        why = note if note is not None else f"qrels import: {source.name}"
        judgments = []
        for qid, docs in qrels.items():
            for doc, grade in docs.items():
                try:
                    judgments.append(Judgment(qid, doc, grade, judge, when, why))
                except ValueError as exc:
                    raise ConfigError(f"{source}: qid {qid!r} doc {doc!r}: {exc}") from exc
        return self.add(judgments)

    def export_qrels(
        self,
        path: str | Path,
        judge_or_merged: str | Mapping[str, Mapping[str, int]],
        *,
        qids: Iterable[str] | None = None,
    ) -> int:
        """Write a TREC qrels file; returns the number of lines.

        ``judge_or_merged`` is a judge name (that judge's judgments), ``"merged"`` or
        ``"merged:<rule>"`` (every judge merged by majority / the rule), or a qrels mapping
        (e.g. from :meth:`merged`) to write as is.
        """
        from ..metrics.trec import write_qrels

        if isinstance(judge_or_merged, str):
            spec = judge_or_merged
            if spec == "merged" or spec.startswith("merged:"):
                how = spec.partition(":")[2] or "majority"
                if how not in MERGE_RULES:
                    raise ConfigError(
                        f"unknown merge rule {how!r} in {spec!r} "
                        f"(use merged:{'|merged:'.join(MERGE_RULES)})"
                    )
                qrels: Mapping[str, Mapping[str, int]] = self.merged(how, qids=qids)
            else:
                known = self.judges()
                if spec not in known:
                    raise ConfigError(
                        f"no judgments by {spec!r} in {self.path} "
                        f"(judges: {', '.join(known) or 'none'}; or 'merged[:rule]')"
                    )
                qrels = self.qrels(spec, qids)
        else:
            qrels = judge_or_merged
        ordered = {q: dict(sorted(docs.items())) for q, docs in sorted(qrels.items())}
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_qrels(ordered, target)
        return sum(len(d) for d in ordered.values())

    # -------------------------------------------------------------------------- JSONL
    def import_jsonl(self, path: str | Path) -> int:
        """Import judgments from JSON Lines (provenance kept: judge, time, note)."""
        return self.add(read_jsonl(path))

    def export_jsonl(self, path: str | Path, judges: Iterable[str] | None = None) -> int:
        """Export judgments (optionally some judges) as JSON Lines; returns the count."""
        return write_jsonl(self.all(judges), path)

    # -------------------------------------------------------------------------- agreement
    def pairs(self, judge_a: str, judge_b: str) -> list[tuple[str, str, int, int]]:
        """(query_id, doc_id, grade by a, grade by b) for every pair both judges graded."""
        sql = """
            SELECT a.query_id, a.doc_id, a.grade, b.grade
            FROM judgments AS a JOIN judgments AS b
              ON a.query_id = b.query_id AND a.doc_id = b.doc_id
            WHERE a.judge = ? AND b.judge = ?
            ORDER BY a.query_id, a.doc_id
        """
        with self._connect() as conn:
            return [
                (q, d, int(ga), int(gb)) for q, d, ga, gb in conn.execute(sql, (judge_a, judge_b))
            ]

    def agreement(
        self,
        judge_a: str,
        judge_b: str,
        *,
        weights: Literal["linear", "quadratic"] | None = "linear",
    ) -> Agreement:
        """Agreement between two judges over the pairs both graded.

        Weighted Cohen's kappa and ordinal Krippendorff's alpha from
        :mod:`underfoot_lab.evaluation.judging.agreement`, on the grade scale 0..3 (extended by any
        negative grades that occur). NaN when no pair was judged by both, or when the statistic
        is undefined (both judges gave one and the same grade throughout).
        """
        from .agreement import GRADES, krippendorff_alpha, weighted_kappa

        known = set(self.judges())
        for judge in (judge_a, judge_b):
            if judge not in known:
                raise ConfigError(
                    f"no judgments by {judge!r} in {self.path} "
                    f"(judges: {', '.join(sorted(known)) or 'none'})"
                )
        rows = self.pairs(judge_a, judge_b)
        n = len(rows)
        if n == 0:
            return Agreement(judge_a, judge_b, 0, math.nan, math.nan, math.nan, weights)
        a = [r[2] for r in rows]
        b = [r[3] for r in rows]
        exact = sum(x == y for x, y in zip(a, b, strict=True)) / n
        categories = sorted({*GRADES, *a, *b})
        kappa = weighted_kappa(a, b, weights=weights, categories=categories)
        alpha = krippendorff_alpha([a, b], level="ordinal", categories=categories)
        return Agreement(judge_a, judge_b, n, exact, kappa, alpha, weights)
