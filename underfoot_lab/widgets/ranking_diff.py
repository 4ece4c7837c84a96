"""``RankingDiff``: two rankings of the same query side by side (Quepid's core view).

One search per query goes through the real pipeline (cache on); both rankings are computed
locally from the same merged candidates with the two weight sets, so what differs is only the
scoring. For each query it shows

* the baseline's and the candidate's top ``k`` side by side, each result with its world grade
  (0-3, offline) and, on the candidate side, its **movement** (``▲3`` up three places, ``▼2``,
  ``=`` unchanged, ``new`` when it was outside the baseline's top ``k``);
* the query's **metric delta** (nDCG@k of candidate minus baseline, linear gain and an ideal
  over every relevant place the world knows, as ``trec_eval``'s ``ndcg_cut``);
* the **per-feature contributions** (weight x feature value, for both weight sets) of the
  result picked in ``result_picker``.

With a ``region_set`` instead of a ``query`` it searches every query of the set once and steps
through them worst delta first (``prev_button`` / ``next_button`` / ``query_picker``).

``baseline`` and ``candidate`` are each a :class:`ScoringWeights`, a weights YAML path, a name
in ``experiments/weights`` or an evaluation run id (the run store's; its weights file, or the
seed's constants for a seed run). ``baseline`` defaults to ``baseline-seed``, the one default
scorer (seed rules on merged places, what the CLI runs without ``--weights``); the header line
says which side is the default. Everything an upstream sent is HTML-escaped.

    diff = RankingDiff(query="hidden gems in Marfa TX", candidate="tuned-default-world")
    diff.frame      # title, rank_baseline, rank_candidate, movement, grade (+ id, scores)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ..errors import ConfigError
from . import html as h
from .explorer_tools import DEFAULT_WEIGHTS_NAME, is_default_scorer

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..evaluation.regions import RegionQuery
    from ..pipeline.run import Pipeline
    from ..pipeline.score.weights import ScoringWeights
    from ..records import RankedResult, SearchResult
    from ..settings import Settings
    from ..world import World

__all__ = ["QueryDiff", "RankingDiff", "diff_query", "movement_text", "ndcg_at", "resolve_weights"]


def resolve_weights(spec: Any, settings: Settings | None = None) -> ScoringWeights:
    """Weights from a :class:`ScoringWeights`, a YAML path, a name in ``experiments/weights``
    or an evaluation run id in the run store (its weights file; ``baseline-seed`` for a
    seed-scorer run)."""
    from ..evaluation.judging.pooling import load_weights
    from ..pipeline.score.weights import ScoringWeights

    if isinstance(spec, ScoringWeights | Path):
        return load_weights(spec)
    text = str(spec)
    try:
        return load_weights(text)
    except ConfigError:
        pass
    from ..evaluation.runner import RunStore

    store = RunStore(settings=settings)
    if store.path.is_file() and store.exists(text):
        cfg = store.config(text)
        if cfg.weights_hash == "seed":
            return load_weights("baseline-seed")
        if cfg.weights_path and Path(cfg.weights_path).is_file():
            return load_weights(Path(cfg.weights_path))
        raise ConfigError(f"run {text}: its weights file {cfg.weights_path} is gone")
    raise ConfigError(f"{text!r} is neither a weights file/name nor an evaluation run id")


def ndcg_at(ranking: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    """nDCG@k with linear gain, ideal over every judged document (``trec_eval``'s
    ``ndcg_cut.k``); NaN when nothing is relevant."""
    ideal_grades = sorted((g for g in qrels.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal_grades))
    if idcg == 0:
        return math.nan
    dcg = sum(max(qrels.get(d, 0), 0) / math.log2(i + 2) for i, d in enumerate(ranking[:k]))
    return dcg / idcg


def movement_text(rank_baseline: int | None, rank_candidate: int | None, k: int) -> str:
    """``▲n`` (moved up n places), ``▼n``, ``=``, ``new`` (outside the baseline's top k) or
    ``out`` (dropped out of the candidate's top k)."""
    if rank_candidate is None or rank_candidate > k:
        return "out"
    if rank_baseline is None or rank_baseline > k:
        return "new"
    delta = rank_baseline - rank_candidate
    return "=" if delta == 0 else (f"▲{delta}" if delta > 0 else f"▼{-delta}")


@dataclass(frozen=True)
class QueryDiff:
    """Both rankings of one query, their grades and nDCG@k."""

    query: str
    query_id: str | None
    result: SearchResult
    baseline: list[RankedResult]
    candidate: list[RankedResult]
    grades: dict[str, int]
    qrels: dict[str, int]
    k: int

    @property
    def ndcg_baseline(self) -> float:
        return ndcg_at([r.id for r in self.baseline], self.qrels, self.k)

    @property
    def ndcg_candidate(self) -> float:
        return ndcg_at([r.id for r in self.candidate], self.qrels, self.k)

    @property
    def delta(self) -> float:
        """nDCG@k candidate minus baseline (NaN when undefined)."""
        return self.ndcg_candidate - self.ndcg_baseline

    def frame(self) -> pd.DataFrame:
        """One row per result in either top k, candidate order then baseline's leftovers:
        ``title, rank_baseline, rank_candidate, movement, grade, id, score_baseline,
        score_candidate`` (raw text; the widget escapes what it renders)."""
        import pandas as pd

        base_rank = {r.id: i for i, r in enumerate(self.baseline, start=1)}
        cand_rank = {r.id: i for i, r in enumerate(self.candidate, start=1)}
        base_score = {r.id: r.score for r in self.baseline}
        shown = [r for r in self.candidate[: self.k]]
        seen = {r.id for r in shown}
        shown += [r for r in self.baseline[: self.k] if r.id not in seen]
        rows = []
        for r in shown:
            rb, rc = base_rank.get(r.id), cand_rank.get(r.id)
            rows.append(
                {
                    "title": r.title,
                    "rank_baseline": rb,
                    "rank_candidate": rc,
                    "movement": movement_text(rb, rc, self.k),
                    "grade": self.grades.get(r.id),
                    "id": r.id,
                    "score_baseline": base_score.get(r.id),
                    "score_candidate": next(
                        (x.score for x in self.candidate if x.id == r.id), None
                    ),
                }
            )
        cols = [
            "title", "rank_baseline", "rank_candidate", "movement", "grade", "id",
            "score_baseline", "score_candidate",
        ]  # fmt: skip
        out = pd.DataFrame(rows, columns=cols)
        for c in ("rank_baseline", "rank_candidate", "grade"):
            out[c] = out[c].astype("Int64")
        return out


def diff_query(
    pipeline: Pipeline,
    text: str,
    baseline: ScoringWeights,
    candidate: ScoringWeights,
    *,
    world: World | None,
    query: RegionQuery | None = None,
    k: int = 10,
) -> QueryDiff:
    """Search ``text`` once and rank its merged candidates with both weight sets."""
    from dataclasses import replace

    from ..pipeline.score.engine import FeatureScorer
    from ..pipeline.score.merge import merge_candidates

    result = pipeline.search(text)
    entities = merge_candidates(result.candidates, result.place)
    now = pipeline.now
    base_scorer = FeatureScorer(baseline, clock=now)
    matrix = base_scorer.features(result.parsed, result.place, entities)
    ranked_b = base_scorer.rank_matrix(entities, matrix) if entities else []
    ranked_c = FeatureScorer(candidate, clock=now).rank_matrix(entities, matrix) if entities else []
    grades: dict[str, int] = {}
    qrels: dict[str, int] = {}
    if world is not None:
        from ..evaluation.judging.world_judge import judge_query

        judged = judge_query(world, replace(result, results=tuple(ranked_b)), query)
        grades = dict(judged.retrieved)
        qrels = judged.qrels
    return QueryDiff(
        text, query.id if query else None, result, ranked_b, ranked_c, grades, qrels, k
    )


def _fmt(value: float) -> str:
    return "n/a" if value != value else f"{value:.3f}"


def _grade_cell(grade: int | None) -> str:
    if grade is None:
        return '<td class="uf-grade" style="padding: 2px 6px; color: #90a4ae;">?</td>'
    colour = ("#b0bec5", "#90caf9", "#42a5f5", "#1b7f5f")[max(0, min(3, grade))]
    return (
        f'<td class="uf-grade" style="padding: 2px 6px;"><span style="background: {colour}; '
        f'color: #fff; border-radius: 3px; padding: 0 5px;">{grade}</span></td>'
    )


def _movement_cell(text: str) -> str:
    colour = "#2e7d32" if text.startswith("▲") or text == "new" else "#c62828"
    if text == "=":
        colour = "#78909c"
    return (
        f'<td class="uf-move" style="padding: 2px 6px; white-space: nowrap; color: {colour};">'
        f"{h.esc(text)}</td>"
    )


def side_by_side_html(diff: QueryDiff) -> str:
    """The two top-k lists as one HTML table, baseline left, candidate right (escaped)."""
    base_rank = {r.id: i for i, r in enumerate(diff.baseline, start=1)}
    head = "".join(
        f'<th style="text-align: left; padding: 2px 6px; border-bottom: 1px solid #b0bec5;">'
        f"{x}</th>"
        for x in ("#", "baseline", "grade", "", "move", "candidate", "grade")
    )
    rows = []
    for i in range(diff.k):
        b = diff.baseline[i] if i < len(diff.baseline) else None
        c = diff.candidate[i] if i < len(diff.candidate) else None
        if b is None and c is None:
            break
        cells = [f'<td style="padding: 2px 6px;">{i + 1}</td>']
        cells.append(
            f'<td class="uf-base" style="padding: 2px 6px; max-width: 280px;">'
            f"{h.esc(h.truncate(b.title, 70)) if b else ''}</td>"
        )
        cells.append(_grade_cell(diff.grades.get(b.id)) if b else "<td></td>")
        cells.append('<td style="border-left: 1px solid #cfd8dc;"></td>')
        if c is not None:
            cells.append(_movement_cell(movement_text(base_rank.get(c.id), i + 1, diff.k)))
            cells.append(
                f'<td class="uf-cand" style="padding: 2px 6px; max-width: 280px;">'
                f"{h.esc(h.truncate(c.title, 70))}</td>"
            )
            cells.append(_grade_cell(diff.grades.get(c.id)))
        else:
            cells.append("<td></td><td></td><td></td>")
        rows.append(f'<tr class="uf-diff-row" data-rank="{i + 1}">{"".join(cells)}</tr>')
    return (
        f'<table class="uf-diff" style="{h._FONT} border-collapse: collapse;">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def delta_html(diff: QueryDiff) -> str:
    """The query's nDCG@k for both rankings and the delta (coloured by sign)."""
    d = diff.delta
    colour = "#78909c" if d != d or abs(d) < 1e-12 else ("#2e7d32" if d > 0 else "#c62828")
    sign = "" if d != d or d <= 0 else "+"
    return (
        f'<div class="uf-delta" style="{h._FONT}">“{h.esc(diff.query)}” · '
        f"nDCG@{diff.k} baseline {_fmt(diff.ndcg_baseline)} → candidate "
        f"{_fmt(diff.ndcg_candidate)} · <b style='color: {colour};'>Δ {sign}{_fmt(d)}</b>"
        f" · {h.esc(diff.result.place.label)}</div>"
    )


def contributions_frame(
    result_id: str, diff: QueryDiff, baseline: ScoringWeights, candidate: ScoringWeights
) -> pd.DataFrame:
    """``feature, value, weight_baseline, contribution_baseline, weight_candidate,
    contribution_candidate`` for one result (features with a weight on either side)."""
    import pandas as pd

    r = next((x for x in diff.candidate if x.id == result_id), None)
    b = next((x for x in diff.baseline if x.id == result_id), None)
    # Feature values can differ between the sides when the weight files set different
    # feature parameters (half distance, freshness window): each side uses its own.
    base_values = dict(b.features) if b is not None else {}
    rows = []
    if r is not None:
        for name, value in r.features:
            if name == "distance_km":
                continue
            wb, wc = baseline.weight(name), candidate.weight(name)
            if wb == 0 and wc == 0:
                continue
            vb = base_values.get(name, value)
            rows.append(
                {
                    "feature": name,
                    "value": value,
                    "weight_baseline": wb,
                    "contribution_baseline": wb * vb,
                    "weight_candidate": wc,
                    "contribution_candidate": wc * value,
                }
            )
    return pd.DataFrame(rows)


def contributions_html(frame: pd.DataFrame, title: str) -> str:
    """The contribution table of one result (feature names and numbers only, plus its
    escaped title)."""
    if frame.empty:
        return h.message_html("pick a result to see its per-feature contributions")
    head = "".join(
        f'<th style="text-align: right; padding: 1px 6px;">{x}</th>'
        for x in ("value", "w base", "contrib base", "w cand", "contrib cand")
    )
    rows = []
    for row in frame.to_dict("records"):
        nums = "".join(
            f'<td style="text-align: right; padding: 1px 6px;">{row[c]:.3f}</td>'
            for c in (
                "value", "weight_baseline", "contribution_baseline", "weight_candidate",
                "contribution_candidate",
            )
        )  # fmt: skip
        rows.append(f'<tr><td style="padding: 1px 6px;">{h.esc(row["feature"])}</td>{nums}</tr>')
    return (
        f'<div class="uf-contrib" style="{h._FONT}"><b>{h.esc(title)}</b>'
        f'<table style="border-collapse: collapse;"><thead><tr><th></th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


class RankingDiff:
    """Two rankings side by side (see the module docstring).

    ``baseline`` (default ``"baseline-seed"``, the default scorer) and ``candidate`` (required):
    see the module docstring.

    Public widgets: ``query_picker``, ``prev_button``, ``next_button``, ``result_picker`` and
    the views ``delta``, ``table``, ``contributions``; ``widget`` is the whole layout.
    ``diffs`` holds every computed :class:`QueryDiff` (worst delta first for a region set).
    """

    def __init__(
        self,
        query: str | None = None,
        *,
        baseline: Any = DEFAULT_WEIGHTS_NAME,
        candidate: Any,
        region_set: str | Path | None = None,
        k: int = 10,
        settings: Settings | None = None,
        pipeline: Pipeline | None = None,
        world: World | None = None,
    ) -> None:
        from ..settings import Settings

        if (query is None) == (region_set is None):
            raise ConfigError("RankingDiff needs a query or a region_set (one of them)")
        self._own = None
        if pipeline is None:
            from ..harness import build_harness

            harness = build_harness(settings or Settings())
            self._own = harness
            pipeline, world = harness.pipeline, harness.world
        self.pipeline = pipeline
        self.world = world
        self.k = k
        self.baseline = resolve_weights(baseline, pipeline.settings)
        self.candidate = resolve_weights(candidate, pipeline.settings)
        self.diffs: list[QueryDiff] = []
        if query is not None:
            self.diffs.append(self._diff(query, None))
        else:
            from ..evaluation.regions import load_region_set

            rs = load_region_set(region_set)  # type: ignore[arg-type]
            found = [self._diff(q.text, q) for q in rs.queries]
            # Worst first; undefined deltas (nothing relevant) last.
            self.diffs = sorted(
                found, key=lambda d: (d.delta != d.delta, d.delta if d.delta == d.delta else 0)
            )
        self.index = 0

        labels = [
            (f"{d.query_id or d.query} (Δ {_fmt(d.delta)})", i) for i, d in enumerate(self.diffs)
        ]
        self.query_picker = widgets.Dropdown(
            options=labels, value=0, description="query", layout=widgets.Layout(width="520px")
        )
        self.query_picker.observe(lambda c: self.show(int(c["new"])), names="value")
        self.prev_button = widgets.Button(description="◀ previous", tooltip="previous query")
        self.next_button = widgets.Button(description="next ▶", tooltip="next query")
        self.prev_button.on_click(lambda _b: self.step(-1))
        self.next_button.on_click(lambda _b: self.step(1))
        self.result_picker = widgets.Dropdown(
            options=[], description="result", layout=widgets.Layout(width="520px")
        )
        self.result_picker.observe(lambda _c: self._render_contributions(), names="value")
        self.delta = widgets.HTML()
        self.delta.add_class("uf-delta-view")
        self.table = widgets.HTML()
        self.table.add_class("uf-diff-view")
        self.contributions = widgets.HTML()
        self.contributions.add_class("uf-contrib-view")
        names = widgets.HTML(h.message_html(self.sides_note()))
        names.add_class("uf-diff-sides")
        nav = [self.prev_button, self.query_picker, self.next_button]
        self.widget = widgets.VBox(
            [
                names,
                widgets.HBox(nav if len(self.diffs) > 1 else [self.query_picker]),
                self.delta,
                self.table,
                self.result_picker,
                self.contributions,
            ]
        )
        self.widget.add_class("uf-ranking-diff")
        self.show(0)

    def _diff(self, text: str, query: RegionQuery | None) -> QueryDiff:
        return diff_query(
            self.pipeline,
            text,
            self.baseline,
            self.candidate,
            world=self.world,
            query=query,
            k=self.k,
        )

    # ------------------------------------------------------------------------------ state
    @property
    def current(self) -> QueryDiff:
        return self.diffs[self.index]

    @property
    def frame(self) -> pd.DataFrame:
        """The current query's rows (see :meth:`QueryDiff.frame`)."""
        return self.current.frame()

    def sides_note(self) -> str:
        """Which weights each side is, and which (if any) is the default scorer."""

        def side(w: ScoringWeights) -> str:
            return f"{w.version} (the default scorer)" if is_default_scorer(w) else w.version

        return f"baseline {side(self.baseline)} · candidate {side(self.candidate)}"

    def contributions_frame(self, result_id: str | None = None) -> pd.DataFrame:
        """Per-feature contributions of ``result_id`` (default: the picked result)."""
        rid = result_id if result_id is not None else self.result_picker.value
        return contributions_frame(str(rid or ""), self.current, self.baseline, self.candidate)

    # ------------------------------------------------------------------------------ actions
    def show(self, index: int) -> None:
        """Show query ``index`` of :attr:`diffs`."""
        self.index = max(0, min(index, len(self.diffs) - 1))
        if self.query_picker.value != self.index:
            self.query_picker.value = self.index
            return  # the observer calls back into show
        d = self.current
        self.delta.value = delta_html(d)
        self.table.value = side_by_side_html(d)
        frame = d.frame()
        # Dropdown labels are plain text (never HTML), so titles need no escaping here.
        options = [(f"{t[:70]}", rid) for t, rid in zip(frame["title"], frame["id"], strict=True)]
        self.result_picker.options = options
        self.result_picker.value = options[0][1] if options else None
        self._render_contributions()

    def step(self, by: int) -> None:
        """Next (``by=1``) or previous (``-1``) query."""
        self.show(self.index + by)

    def close(self) -> None:
        """Close the widgets and the harness this diff built (not a pipeline passed in)."""
        from .explorer import _close_tree

        _close_tree(self.widget)
        if self._own is not None:
            self._own.close()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def _render_contributions(self) -> None:
        rid = self.result_picker.value
        title = next((r.title for r in self.current.candidate if r.id == rid), "")
        self.contributions.value = contributions_html(
            self.contributions_frame(), f"per-feature contributions: {title}"
        )
