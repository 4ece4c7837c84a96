"""``SearchExplorer``: run a search in a notebook, see every stage, re-rank with sliders.

One search goes through the real pipeline (:meth:`Pipeline.search`, cache on), and the
explorer keeps what the sources returned (a :class:`~underfoot_lab.pipeline.run.Fetched`).
Everything after that is local and instant:

* the **weight sliders** (one per weight of the loaded weights file) re-rank the kept
  candidates with the scoring engine (:meth:`FeatureScorer.rank_matrix` over a feature matrix
  computed once per search), so a slider never causes an upstream request. By default the
  weights are **the one default scorer**, ``experiments/weights/baseline-seed.yaml`` (seed
  rules on merged places: what ``search``, ``evaluate`` and ``report`` run without
  ``--weights``), whose five sliders are the intent match, the keyword count and the source
  priors; ``SearchExplorer(weights="tuned-default-world")`` (or any file) starts elsewhere.
  A label above the sliders says which weights are loaded and whether they are the default;
* the **source toggles** hide a source's candidates and re-merge and re-rank the rest (also
  local), to see what each source contributes;
* ``k`` sets how many results are shown;
* each slider's tooltip is the feature's documentation (:data:`FEATURES`); **Save weights**
  writes the sliders as a validated weights YAML (``<home>/weights/<name>.yaml`` by default);
* an **ambiguous town** (the parser's ``ambiguous: ...`` note) is shown with a chooser of the
  other towns of that name: picking one searches again for it;
* a cache hit shows the **stage timings of the original search** (kept with the cached
  result), marked as such, next to the hit's own lookup time;
* while an MLflow run is active (``mlflow.start_run()`` in the notebook), each search is
  also logged to it as an MLflow trace (:mod:`underfoot_lab.tracking.traces`).

It shows the ranked table (every upstream field HTML-escaped), an offline SVG map with the town
and the primary radius, the stage latency waterfall, the cache status per layer, each source's
outcome, the written answer and which sources backed each result, and it labels the offline
world as simulated. "Add to region set" appends the query, with its geocoded town as the
expected place, to a user region set (``<UNDERFOOT_HOME>/regions/user.yaml`` by default),
validated by :mod:`underfoot_lab.evaluation.regions` before it is written.

Drive it from code::

    ex = SearchExplorer()
    ex.query.value = "hidden gems in Pikeville KY"
    ex.search_button.click()
    ex.weight_sliders["popularity"].value = -0.5   # re-ranks at once, no refetch
    ex.results                                     # pandas DataFrame of the shown ranking
"""

from __future__ import annotations

import os
import re
import tempfile
import time
import traceback
import warnings
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import yaml

from ..config import read_yaml
from ..errors import ConfigError, UnderfootError
from . import html as h
from .explorer_tools import (
    DEFAULT_WEIGHTS_NAME,
    ambiguity_notes,
    choice_query,
    merge_visible,
    save_weights,
    slider_help,
    weights_note,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..evaluation.regions import RegionQuery
    from ..pipeline.run import Fetched, Pipeline
    from ..pipeline.score.features import FeatureMatrix
    from ..pipeline.score.merge import Entity
    from ..pipeline.score.weights import ScoringWeights
    from ..records import Place, RankedResult, SearchResult
    from ..settings import Settings

__all__ = ["SearchExplorer", "append_to_region_set", "guess_intent_tag", "user_region_set_path"]

DEFAULT_WEIGHTS = DEFAULT_WEIGHTS_NAME
"""The weights the explorer starts from: ``baseline-seed``, the one default scorer."""
USER_SET_NAME = "user"
_INTENT_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("events", ("event", "concert", "festival", "market", "trivia", "happening", "live music")),
    ("nightlife", ("bar", "pub", "beer", "brewer", "nightlife", "tavern", "drinks")),
    ("food", ("food", "eat", "diner", "restaurant", "breakfast", "coffee", "cafe", "bbq", "lunch")),
    ("weird", ("weird", "odd", "quirky", "strange", "unusual", "roadside", "oddit")),
    ("history", ("histor", "museum", "heritage")),
    ("outdoors", ("swim", "hike", "trail", "waterfall", "cave", "outdoor", "overlook", "view",
                  "creek", "river", "lake", "park")),
)  # fmt: skip


def guess_intent_tag(intent: str) -> str:
    """The region-set intent class (:data:`regions.INTENTS`) a parsed intent most likely is."""
    text = intent.lower()
    for tag, words in _INTENT_WORDS:
        if any(w in text for w in words):
            return tag
    return "general"


def user_region_set_path(settings: Settings) -> Path:
    """Where the explorer appends queries: ``<home>/regions/user.yaml``."""
    return Path(settings.home) / "regions" / f"{USER_SET_NAME}.yaml"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "place"


def append_to_region_set(
    path: str | Path,
    text: str,
    place: Place,
    intent_tag: str,
    *,
    region: str | None = None,
    extra_tags: Sequence[str] = (),
) -> RegionQuery:
    """Append one query to a user region-set YAML, validated before the file is replaced.

    The expected place is the geocoded town (``place.name``, ``place.admin1_code``; its county
    when the state has two towns of that name). The id is ``user-<town>-<st>-NN``. Tags: the
    intent class, ``zip`` when the text has a ZIP code, ``lowercase`` when it is all lower
    case, and ``extra_tags``. The new file must load with
    :func:`~underfoot_lab.evaluation.regions.load_region_set` (places checked against the
    gazetteer); otherwise the file is left as it was and :class:`ConfigError` says why. The
    same text (ignoring case and spaces) is not added twice.
    """
    from ..evaluation.regions import INTENTS, load_region_set
    from ..geo.gazetteer import get_gazetteer

    target = Path(path)
    if target.suffix not in (".yaml", ".yml"):
        raise ConfigError(f"{target}: a region set is a .yaml file")
    if intent_tag not in INTENTS:
        raise ConfigError(f"intent {intent_tag!r} is not one of {', '.join(INTENTS)}")
    if not place.admin1_code:
        raise ConfigError(f"{place.label} is not a US town; region sets hold US towns only")
    clean = " ".join(text.split())
    if target.is_file():
        data: Any = read_yaml(target, "region set") or {}
        if not isinstance(data, dict):
            raise ConfigError(f"{target}: expected a mapping at the top level")
    else:
        data = {
            "name": target.stem,
            "description": "Queries added from the notebook search explorer.",
            "queries": [],
        }
    queries = list(data.get("queries") or [])
    for q in queries:
        if (
            isinstance(q, dict)
            and " ".join(str(q.get("text", "")).split()).lower() == clean.lower()
        ):
            raise ConfigError(f"{target.name} already has this query (id {q.get('id')})")
    stem = f"user-{_slug(place.name)}-{place.admin1_code.lower()}"
    taken = {str(q.get("id")) for q in queries if isinstance(q, dict)}
    n = 1
    while f"{stem}-{n:02d}" in taken:
        n += 1
    expected: dict[str, Any] = {"place": place.name, "state": place.admin1_code}
    if place.county and len(get_gazetteer().lookup(place.name, place.admin1_code)) > 1:
        expected["county"] = place.county
    tags = [intent_tag]
    if re.search(r"(?<!\d)\d{5}(?!\d)", clean):
        tags.append("zip")
    if clean == clean.lower() and clean != clean.upper():
        tags.append("lowercase")
    tags.extend(t for t in extra_tags if t not in tags)
    entry: dict[str, Any] = {"id": f"{stem}-{n:02d}", "text": clean, "expected": expected}
    entry["tags"] = tags
    if region:
        entry["region"] = region
    queries.append(entry)
    data["queries"] = queries
    target.parent.mkdir(parents=True, exist_ok=True)
    # Validate a candidate file (same name, so the name check applies) before replacing.
    scratch = Path(tempfile.mkdtemp(prefix=".regions-", dir=target.parent))
    try:
        candidate = scratch / target.name
        candidate.write_text(
            yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100), encoding="utf-8"
        )
        loaded = load_region_set(candidate)
        os.replace(candidate, target)
    finally:
        for leftover in scratch.iterdir():
            leftover.unlink()
        scratch.rmdir()
    return loaded.get(entry["id"])


class SearchExplorer:
    """An ipywidgets search explorer (see the module docstring).

    ``pipeline``: reuse one (it is left open); by default one is built from ``settings`` with a
    :class:`FeatureScorer` over ``weights`` and closed by :meth:`close`. ``weights``: a
    :class:`ScoringWeights`, a YAML path or a name in ``experiments/weights`` (default
    ``"baseline-seed"``, the one default scorer, as the CLI without ``--weights``; a pipeline
    passed in keeps its own scorer for the search and its answer, the table is ranked by
    ``weights``). ``sliders``: which features get a slider (default: every feature the
    weights file names; five for the default scorer). ``region_set_path``: the user region
    set (default :func:`user_region_set_path`).

    Public widgets: ``weights_label`` (which weights, default or not), ``query``,
    ``search_button``, ``source_toggles``, ``weight_sliders``, ``k_slider``, ``reset_button``,
    ``add_button``, ``intent_tag``, ``region_label`` and the output views in ``outputs``
    (``banner``, ``status``, ``table``, ``map``, ``waterfall``, ``cache``, ``sources``,
    ``answer``, ``weights``, ``log``); ``widget`` is the whole layout.
    """

    def __init__(
        self,
        pipeline: Pipeline | None = None,
        *,
        settings: Settings | None = None,
        weights: ScoringWeights | str | Path | None = None,
        k: int = 10,
        sliders: Sequence[str] | None = None,
        region_set_path: str | Path | None = None,
    ) -> None:
        from ..evaluation.judging.pooling import load_weights
        from ..evaluation.regions import INTENTS
        from ..harness import build_harness
        from ..pipeline.score.engine import FeatureScorer
        from ..pipeline.score.features import SCORED_FEATURES
        from ..settings import Settings

        self.base_weights = load_weights(weights if weights is not None else DEFAULT_WEIGHTS)
        self._own_pipeline = pipeline is None
        if pipeline is None:
            settings = settings or Settings()
            scorer = FeatureScorer(self.base_weights, clock=self._now)
            # Closing the harness's pipeline closes all the harness holds.
            pipeline = build_harness(settings, scorer=scorer).pipeline
        self.pipeline = pipeline
        self.settings = pipeline.settings
        self.region_set_path = (
            Path(region_set_path) if region_set_path else user_region_set_path(self.settings)
        )
        self.result: SearchResult | None = None
        self.fetched: Fetched | None = None
        self.ranked: list[RankedResult] = []
        self.rerank_count = 0
        self.last_rerank_ms = 0.0
        self._features: dict[frozenset[str], tuple[list[Entity], FeatureMatrix]] = {}

        names = list(sliders) if sliders is not None else list(self.base_weights.weights)
        unknown = [n for n in names if n not in SCORED_FEATURES]
        if unknown:
            raise ConfigError(f"no such scored feature(s): {', '.join(unknown)}")

        # ---- controls
        self.query = widgets.Text(
            placeholder="e.g. hidden gems in Pikeville KY",
            description="Query",
            layout=widgets.Layout(width="460px"),
        )
        self.query.add_class("uf-query")
        with warnings.catch_warnings():
            # Enter in the box searches. ipywidgets 8 marks on_submit deprecated in favour of
            # observing a non-continuous value, which would also search on every blur.
            warnings.simplefilter("ignore", DeprecationWarning)
            self.query.on_submit(lambda _w: self.search())
        self.search_button = widgets.Button(
            description="Search", button_style="primary", tooltip="run the search (Enter)"
        )
        self.search_button.add_class("uf-search-button")
        self.search_button.on_click(lambda _b: self.search())
        self.source_toggles: dict[str, widgets.ToggleButton] = {}
        for choice in pipeline.selection.sources:
            toggle = widgets.ToggleButton(
                value=True,
                description=choice.provider,
                tooltip=f"{'live' if choice.live else 'offline world'}: {choice.reason}",
                layout=widgets.Layout(width="auto"),
            )
            toggle.observe(self._on_toggle, names="value")
            self.source_toggles[choice.provider] = toggle
        self.k_slider = widgets.IntSlider(value=k, min=1, max=40, description="k")
        self.k_slider.observe(lambda _c: self._render_ranking(), names="value")
        self.weight_sliders: dict[str, widgets.FloatSlider] = {}
        for name in names:
            w = self.base_weights.weight(name)
            bound = max(1.0, round(abs(w) * 2, 1))
            slider = widgets.FloatSlider(
                value=w,
                min=-bound,
                max=bound,
                step=0.05,
                description=name,
                tooltip=slider_help(name),
                readout_format=".2f",
                style={"description_width": "130px"},
                layout=widgets.Layout(width="380px"),
            )
            slider.observe(self._on_weight, names="value")
            self.weight_sliders[name] = slider
        self.reset_button = widgets.Button(description="Reset weights", tooltip="back to the file")
        self.reset_button.on_click(lambda _b: self.reset_weights())
        self.save_name = widgets.Text(
            value="explorer",
            description="save as",
            tooltip="weights name: the file is <home>/weights/<name>.yaml",
            layout=widgets.Layout(width="260px"),
        )
        self.save_button = widgets.Button(
            description="Save weights", tooltip="write the sliders as a weights YAML (validated)"
        )
        self.save_button.add_class("uf-save-weights")
        self.save_button.on_click(lambda _b: self.save_weights())
        self.place_chooser = widgets.Dropdown(
            options=[],
            description="town",
            tooltip="the query's town name is ambiguous: pick the one you meant",
            layout=widgets.Layout(width="420px", display="none"),
        )
        self.place_chooser.add_class("uf-place-chooser")
        self.place_chooser.observe(self._on_place_choice, names="value")
        self.intent_tag = widgets.Dropdown(
            options=list(INTENTS), value="general", description="intent"
        )
        self.region_label = widgets.Text(
            placeholder="region label (optional)", description="region"
        )
        self.add_button = widgets.Button(
            description="Add to region set", tooltip=f"append to {self.region_set_path}"
        )
        self.add_button.on_click(lambda _b: self.add_to_region_set())

        # ---- views
        def view(cls: str) -> widgets.HTML:
            v = widgets.HTML()
            v.add_class(cls)
            return v

        self.outputs: dict[str, widgets.HTML] = {
            "banner": view("uf-banner-view"),
            "status": view("uf-status"),
            "table": view("uf-table"),
            "map": view("uf-map-view"),
            "waterfall": view("uf-waterfall-view"),
            "cache": view("uf-cache-view"),
            "sources": view("uf-sources-view"),
            "answer": view("uf-answer-view"),
            "weights": view("uf-weights-view"),
            "region": view("uf-region-view"),
            "ambiguity": view("uf-ambiguity-view"),
            "saved": view("uf-saved-view"),
        }
        self.weights_label = view("uf-weights-label")
        self.weights_label.value = h.message_html(weights_note(self.base_weights))
        self.log = widgets.Output()
        o = self.outputs
        o["banner"].value = h.banner_html(pipeline.simulated, self._mode_detail())
        o["status"].value = h.message_html("type a query and press Search")
        self._render_weights()
        box = widgets.Layout
        self.widget = widgets.VBox(
            [
                o["banner"],
                widgets.HBox([self.query, self.search_button, o["status"]]),
                widgets.HBox([o["ambiguity"], self.place_chooser]),
                widgets.HBox(
                    [widgets.Label("sources:"), *self.source_toggles.values(), self.k_slider]
                ),
                widgets.HBox(
                    [
                        widgets.VBox(
                            [
                                self.weights_label,
                                *self.weight_sliders.values(),
                                widgets.HBox([self.reset_button, self.save_name, self.save_button]),
                                o["saved"],
                                o["weights"],
                            ],
                            layout=box(min_width="400px"),
                        ),
                        widgets.VBox([o["answer"], o["cache"], o["sources"]]),
                    ]
                ),
                o["table"],
                widgets.HBox([o["map"], o["waterfall"]]),
                widgets.HBox([self.intent_tag, self.region_label, self.add_button]),
                o["region"],
                self.log,
            ]
        )
        self.widget.add_class("uf-explorer")

    # ------------------------------------------------------------------------------ display
    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def close(self) -> None:
        """Close the explorer's widgets and the pipeline it built (not one passed in)."""
        _close_tree(self.widget)
        if self._own_pipeline:
            self.pipeline.close()

    def _mode_detail(self) -> str:
        s = self.settings
        seed = f", world seed {s.world_seed}" if self.pipeline.simulated else ""
        return f"mode {s.mode}{seed}"

    def _now(self) -> datetime:
        # The pipeline's clock (offline the world's fixed "now"): freshness features use it.
        # Only called once a scorer ranks, i.e. after ``self.pipeline`` is set.
        from ..evaluation.judging.pooling import pipeline_now

        return pipeline_now(self.pipeline)

    # ------------------------------------------------------------------------------ state
    @property
    def weights(self) -> ScoringWeights:
        """The weights the sliders describe (the file's, with the slider values)."""
        # Round: a browser snaps slider values to the step grid (0.15 -> 0.15000000000000002),
        # which must not count as a change (the version hash would differ).
        changes = {n: round(float(s.value), 6) for n, s in self.weight_sliders.items()}
        if all(round(self.base_weights.weight(n), 6) == v for n, v in changes.items()):
            return self.base_weights
        return self.base_weights.with_weights(**changes)

    @property
    def enabled_sources(self) -> tuple[str, ...]:
        return tuple(n for n, t in self.source_toggles.items() if t.value)

    @property
    def shown(self) -> list[RankedResult]:
        """The top ``k`` of the current ranking (what the table shows)."""
        return self.ranked[: self.k_slider.value]

    @property
    def results(self) -> pd.DataFrame:
        """The shown ranking as a DataFrame (raw values; the widget escapes what it renders)."""
        import pandas as pd

        cols = [
            "rank", "id", "title", "score", "category", "distance_km", "sources", "mentions",
            "url", "description",
        ]  # fmt: skip
        rows = [
            {
                "rank": i,
                "id": r.id,
                "title": r.title,
                "score": r.score,
                "category": r.category,
                "distance_km": r.distance_km,
                "sources": ", ".join(r.sources),
                "mentions": len(r.mentions),
                "url": r.url,
                "description": r.description,
            }
            for i, r in enumerate(self.shown, start=1)
        ]
        return pd.DataFrame(rows, columns=cols)

    # ------------------------------------------------------------------------------ actions
    def search(self, text: str | None = None) -> SearchResult | None:
        """Run the query in the box (or ``text``) through the pipeline and show everything.

        Returns the :class:`SearchResult`, or None when the query was rejected (the reason is
        shown in the status line).
        """
        from ..pipeline.run import Fetched

        if text is not None:
            self.query.value = text
        query = self.query.value
        self.outputs["status"].value = h.message_html("searching…")
        started = time.perf_counter()
        try:
            result = self.pipeline.search(query)
        except UnderfootError as exc:
            self.outputs["status"].value = h.message_html(str(exc), "error")
            return None
        except Exception as exc:  # show it in the widget instead of losing it in a callback
            self.outputs["status"].value = h.message_html(
                f"search failed: {type(exc).__name__}: {exc}", "error"
            )
            self.log.append_stderr(traceback.format_exc())
            return None
        self.result = result
        self._log_trace(result)
        self.fetched = Fetched(
            result.parsed, result.place, result.candidates, result.sources, result.trace
        )
        self._features.clear()
        self.intent_tag.value = guess_intent_tag(result.parsed.intent)
        elapsed = (time.perf_counter() - started) * 1000
        self.outputs["status"].value = h.message_html(
            f"{result.place.label}: {len(result.candidates)} candidates from "
            f"{len(result.sources)} sources in {elapsed:.0f} ms (cache {result.cache.status})",
            "ok",
        )
        self._render_search()
        self.rerank()
        return result

    def rerank(self) -> list[RankedResult]:
        """Re-rank the kept candidates with the current sliders and toggles (no upstream call)."""
        from ..pipeline.score.engine import FeatureScorer

        if self.fetched is None:
            return []
        started = time.perf_counter()
        weights = self.weights
        scorer = FeatureScorer(weights, clock=self._now)
        key = frozenset(self.enabled_sources)
        cached = self._features.get(key)
        if cached is None:
            f = self.fetched
            entities = merge_visible(f.candidates, f.place, key)
            cached = (entities, scorer.features(f.parsed, f.place, entities))
            self._features[key] = cached
        entities, matrix = cached
        self.ranked = scorer.rank_matrix(entities, matrix) if entities else []
        self.rerank_count += 1
        self.last_rerank_ms = (time.perf_counter() - started) * 1000
        self._render_weights()
        self._render_ranking()
        return self.ranked

    def reset_weights(self) -> None:
        """Sliders back to the weights file (re-ranks once)."""
        self._bulk = True
        try:
            for name, slider in self.weight_sliders.items():
                slider.value = self.base_weights.weight(name)
        finally:
            self._bulk = False
        self.rerank()

    def add_to_region_set(self) -> RegionQuery | None:
        """Append the last search's query to the user region set (see
        :func:`append_to_region_set`); the outcome is shown under the button."""
        view = self.outputs["region"]
        if self.result is None:
            view.value = h.message_html(
                "search first: the query's town becomes its expected place", "warn"
            )
            return None
        label = self.region_label.value.strip() or None
        try:
            added = append_to_region_set(
                self.region_set_path,
                self.result.query,
                self.result.place,
                str(self.intent_tag.value),
                region=label,
            )
        except ConfigError as exc:
            view.value = h.message_html(str(exc), "error")
            return None
        view.value = h.message_html(
            f"added {added.id} ({added.expected.label}, {', '.join(added.tags)}) to "
            f"{self.region_set_path}",
            "ok",
        )
        return added

    def save_weights(self, path: str | Path | None = None) -> Path | None:
        """Write the sliders' weights as a validated YAML (default
        ``<home>/weights/<save_name>.yaml``); the outcome is shown under the sliders."""
        view = self.outputs["saved"]
        name = self.save_name.value.strip()
        target = Path(path) if path else Path(self.settings.home) / "weights" / f"{name}.yaml"
        try:
            written = save_weights(self.weights, target, name=None if path else name)
        except (ConfigError, ValueError) as exc:
            view.value = h.message_html(str(exc).splitlines()[0], "error")
            return None
        view.value = h.message_html(f"saved {written}", "ok")
        return written

    def choose_place(self, label: str) -> SearchResult | None:
        """Search again for the town ``label`` (one of :attr:`place_chooser`'s options)."""
        r = self.result
        if r is None:
            return None
        refs = {a.label: a for a in r.place.alternatives}
        ref = refs.get(label)
        if ref is None:
            return None
        return self.search(choice_query(r.query, r.parsed, ref))

    def _log_trace(self, result: SearchResult) -> None:
        """Log the search as an MLflow trace when the notebook has an MLflow run active
        (MLflow already imported means the user uses it; never imported here otherwise)."""
        import sys

        if "mlflow" not in sys.modules:
            return
        import mlflow

        run = mlflow.active_run()
        if run is None:
            return
        from ..tracking.traces import TracedSearch, log_search_traces, traces_enabled

        if not traces_enabled():
            return
        try:
            log_search_traces(
                run.info.run_id,
                [TracedSearch("explorer", result.query, result)],
                experiment_id=run.info.experiment_id,
                tracking_uri=mlflow.get_tracking_uri(),
                settings=self.settings,
                tags={"source": "SearchExplorer"},
            )
        except Exception as exc:  # tracing must never break the explorer
            self.log.append_stderr(f"MLflow trace not logged: {type(exc).__name__}: {exc}\n")

    # ------------------------------------------------------------------------------ events
    _bulk = False

    def _on_place_choice(self, change: Any) -> None:
        if self._bulk or not change["new"]:
            return
        if self.result is not None and change["new"] != self.result.place.label:
            self.choose_place(str(change["new"]))

    def _on_weight(self, _change: Any) -> None:
        if not self._bulk:
            self.rerank()

    def _on_toggle(self, _change: Any) -> None:
        if self.result is not None:
            self.outputs["sources"].value = h.sources_html(
                self.result.sources, self.enabled_sources
            )
        self.rerank()

    # ------------------------------------------------------------------------------ rendering
    def _render_weights(self) -> None:
        w = self.weights
        timing = (
            f" · last re-rank {self.last_rerank_ms:.1f} ms, no refetch" if self.rerank_count else ""
        )
        self.outputs["weights"].value = h.message_html(f"ranking with {w.version}{timing}")

    def _render_search(self) -> None:
        r = self.result
        if r is None:
            return
        o = self.outputs
        if r.cache.status.startswith("hit") and r.original_trace:
            lookup = next((t for t in r.trace if t.stage == "cache"), None)
            took = f" in {lookup.elapsed_ms:.1f} ms" if lookup else ""
            o["waterfall"].value = h.message_html(
                f"CACHE HIT ({r.cache.status}){took}: the stage timings below are the "
                "original search's",
                "ok",
            ) + h.waterfall_html(r.original_trace, original=True)
        else:
            o["waterfall"].value = h.waterfall_html(r.trace)
        self._render_ambiguity()
        o["cache"].value = h.cache_html(r.cache)
        o["sources"].value = h.sources_html(r.sources, self.enabled_sources)
        o["answer"].value = h.answer_html(
            r.answer,
            note=f"written at search time for the {r.scorer} ranking; the table below is "
            "re-ranked by the sliders",
        )
        o["banner"].value = h.banner_html(r.simulated, self._mode_detail())

    def _render_ambiguity(self) -> None:
        r = self.result
        if r is None:
            return
        notes = ambiguity_notes(r)
        self._bulk = True
        try:
            if notes and r.place.alternatives:
                self.place_chooser.options = [
                    r.place.label,
                    *(a.label for a in r.place.alternatives),
                ]
                self.place_chooser.value = r.place.label
                self.place_chooser.layout.display = ""
                self.outputs["ambiguity"].value = h.message_html(
                    f"{notes[0]} · not the one you meant? pick another:", "warn"
                )
            else:
                self.place_chooser.options = []
                self.place_chooser.layout.display = "none"
                self.outputs["ambiguity"].value = ""
        finally:
            self._bulk = False

    def _render_ranking(self) -> None:
        r = self.result
        if r is None:
            return
        shown = self.shown
        hidden = [s for s in self.source_toggles if s not in self.enabled_sources]
        caption = (
            f"{r.place.label} · intent “{r.parsed.intent}” · top {len(shown)} of "
            f"{len(self.ranked)} by {self.weights.version}"
            + (f" · hidden sources: {', '.join(hidden)}" if hidden else "")
            + (" · offline world (simulated)" if r.simulated else "")
        )
        self.outputs["table"].value = h.results_table(shown, caption=caption)
        self.outputs["map"].value = h.map_svg(
            r.place,
            shown,
            radius_km=self.settings.primary_radius_km,
            outer_radius_km=self.settings.search_radius_km,
            simulated=r.simulated,
        )


def _close_tree(widget: widgets.Widget) -> None:
    """Close a widget and every widget below it (``Widget.close_all`` would close every
    widget in the kernel)."""
    for child in getattr(widget, "children", ()):
        _close_tree(child)
    widget.close()
