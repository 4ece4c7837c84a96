"""SearchExplorer, headless: search, instant re-rank without refetch, escaping, region sets."""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from widget_support import SCRIPT_TITLE, CountingTransport, inject_script, make_settings

from underfoot_lab.evaluation.regions import load_region_set
from underfoot_lab.geo.gazetteer import get_gazetteer
from underfoot_lab.pipeline.run import Pipeline
from underfoot_lab.widgets import SearchExplorer
from underfoot_lab.widgets.explorer import append_to_region_set, guess_intent_tag
from underfoot_lab.world import WorldTransport, build_world

QUERY = "hidden gems in Pikeville KY"


@pytest.fixture
def ex(pipe: Pipeline) -> Iterator[SearchExplorer]:
    """The explorer as a user opens it: the default weights (``baseline-seed``)."""
    explorer = SearchExplorer(pipe)
    yield explorer
    explorer.close()


@pytest.fixture
def tuned_ex(pipe: Pipeline) -> Iterator[SearchExplorer]:
    """An explorer over the tuned weights, for tests that move features the default scorer
    does not use (popularity, hiddenness)."""
    explorer = SearchExplorer(pipe, weights="tuned-default-world")
    yield explorer
    explorer.close()


def test_search_fills_every_view(ex: SearchExplorer, counting: CountingTransport) -> None:
    assert ex.results.empty
    ex.query.value = QUERY
    ex.search_button.click()
    assert ex.result is not None and ex.result.place.name == "Pikeville"
    assert len(counting.requests) >= 4
    frame = ex.results
    assert len(frame) == 10 and list(frame["rank"]) == list(range(1, 11))
    assert frame["score"].is_monotonic_decreasing
    assert all(frame["sources"].str.len() > 0)
    o = ex.outputs
    assert o["table"].value.count('class="uf-row"') == 10
    for title in frame["title"]:
        assert html.escape(title) in o["table"].value
    assert "OFFLINE WORLD" in o["banner"].value and "simulated" in o["banner"].value
    assert "offline world (simulated)" in o["map"].value
    assert o["map"].value.count('class="uf-point"') >= 1 and "Pikeville" in o["map"].value
    assert "25 km" in o["map"].value
    assert 'class="uf-stage"' in o["waterfall"].value and "sources.reddit" in o["waterfall"].value
    assert "memory" in o["cache"].value and "miss" in o["cache"].value
    assert "offline world" in o["answer"].value
    assert all(name in o["sources"].value for name in ex.source_toggles)
    assert ex.result.scorer == ex.weights.version  # table and pipeline agree before any slider
    assert [r.id for r in ex.shown] == [r.id for r in ex.result.results[:10]]


def test_slider_reranks_instantly_without_refetch(
    tuned_ex: SearchExplorer, counting: CountingTransport
) -> None:
    ex = tuned_ex
    ex.search(QUERY)
    before = len(counting.requests)
    first = list(ex.results["id"])
    runs = ex.rerank_count
    ex.weight_sliders["popularity"].value = ex.weight_sliders["popularity"].max
    ex.weight_sliders["hiddenness"].value = ex.weight_sliders["hiddenness"].min
    assert ex.rerank_count == runs + 2
    assert list(ex.results["id"]) != first
    assert len(counting.requests) == before  # no upstream touched
    assert "popularity" in ex.weights.weights and ex.weights.version != ex.base_weights.version
    assert ex.weights.version in ex.outputs["table"].value
    assert "no refetch" in ex.outputs["weights"].value
    ex.reset_weights()
    assert list(ex.results["id"]) == first
    assert ex.rerank_count == runs + 3  # reset re-ranks once, not once per slider
    assert len(counting.requests) == before


def test_source_toggle_and_k_rerank_locally(
    ex: SearchExplorer, counting: CountingTransport
) -> None:
    ex.search(QUERY)
    before = len(counting.requests)
    assert any("reddit" in s for s in ex.results["sources"])
    ex.source_toggles["reddit"].value = False
    assert not any("reddit" in s for s in ex.results["sources"])
    assert "hidden sources: reddit" in ex.outputs["table"].value
    assert "hidden by toggle" in ex.outputs["sources"].value
    ex.k_slider.value = 3
    assert len(ex.results) == 3
    assert ex.outputs["table"].value.count('class="uf-row"') == 3
    ex.source_toggles["reddit"].value = True
    assert any("reddit" in s for s in ex.results["sources"])
    assert len(counting.requests) == before


def test_second_search_is_a_cache_hit(ex: SearchExplorer, counting: CountingTransport) -> None:
    ex.search(QUERY)
    n = len(counting.requests)
    ex.search_button.click()
    assert ex.result is not None and ex.result.cache.status == "hit-memory"
    assert len(counting.requests) == n
    assert "hit" in ex.outputs["cache"].value
    # The original search's stage timings are kept with the cached result and shown, marked.
    waterfall = ex.outputs["waterfall"].value
    assert "CACHE HIT (hit-memory)" in waterfall and "uf-waterfall-original" in waterfall
    assert waterfall.count('class="uf-stage"') >= 6
    assert ex.result.original_trace and "geocode" in waterfall
    assert len(ex.results) == 10


def test_bad_queries_show_a_message(ex: SearchExplorer) -> None:
    assert ex.search("") is None
    assert "empty" in ex.outputs["status"].value
    assert ex.search("hidden gems in Zzyzxqvillebergh QQ") is None
    assert "c62828" in ex.outputs["status"].value  # the error colour
    assert ex.results.empty


def test_untrusted_text_is_escaped(home: Path) -> None:
    world = build_world(make_settings(home), get_gazetteer())
    hostile = CountingTransport(WorldTransport(world), rewrite=inject_script)
    with Pipeline(make_settings(home), transport=hostile, use_cache=False) as pipe:
        ex = SearchExplorer(pipe)
        ex.query.value = QUERY
        ex.search_button.click()
        ex.k_slider.value = 40
        assert SCRIPT_TITLE in set(ex.results["title"])  # the data keeps the raw text
        shown = "".join(v.value for v in ex.outputs.values())
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in ex.outputs["table"].value
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in ex.outputs["map"].value
        assert "<script" not in shown
        assert "<img" not in shown and "&lt;img src=x onerror=&quot;alert(3)&quot;&gt;" in shown
        assert 'href="javascript' not in shown
        ex.close()


def test_add_to_region_set_writes_a_valid_user_set(ex: SearchExplorer, home: Path) -> None:
    assert ex.add_to_region_set() is None  # nothing searched yet
    assert "search first" in ex.outputs["region"].value
    ex.search("secret swimming holes near Ely MN")
    assert ex.intent_tag.value == "outdoors"
    ex.region_label.value = "upper-midwest"
    added = ex.add_to_region_set()
    assert added is not None and added.id == "user-ely-mn-01"
    assert ex.region_set_path == home / "regions" / "user.yaml"
    loaded = load_region_set(ex.region_set_path)
    assert loaded.ids == ("user-ely-mn-01",)
    q = loaded.get("user-ely-mn-01")
    assert q.expected.label == "Ely, MN" and q.region == "upper-midwest"
    assert q.intent == "outdoors"
    assert ex.add_to_region_set() is None
    assert "already has this query" in ex.outputs["region"].value
    ex.search("hidden gems in Ely MN")
    second = ex.add_to_region_set()
    assert second is not None and second.id == "user-ely-mn-02"
    assert [p.name for p in ex.region_set_path.parent.iterdir()] == ["user.yaml"]


def test_append_refuses_an_invalid_entry_and_keeps_the_file(
    ex: SearchExplorer, tmp_path: Path
) -> None:
    from dataclasses import replace

    result = ex.search(QUERY)
    assert result is not None
    path = tmp_path / "regions" / "user.yaml"
    append_to_region_set(path, QUERY, result.place, "general")
    before = path.read_text()
    fake = replace(result.place, name="Notatownatall")
    from underfoot_lab.errors import ConfigError

    with pytest.raises(ConfigError, match="Notatownatall"):
        append_to_region_set(path, "gems in Notatownatall KY", fake, "general")
    assert path.read_text() == before
    with pytest.raises(ConfigError, match="intent"):
        append_to_region_set(path, "x", result.place, "shopping")
    assert yaml.safe_load(before)["name"] == "user"


def test_intent_tag_guess() -> None:
    assert guess_intent_tag("dive bars") == "nightlife"
    assert guess_intent_tag("weird roadside stuff") == "weird"
    assert guess_intent_tag("live music events") == "events"
    assert guess_intent_tag("hidden gems") == "general"


# ------------------------------------------------------------------------------ issue 18
def test_sliders_have_the_feature_docs_as_tooltips(ex: SearchExplorer) -> None:
    from underfoot_lab.pipeline.score.features import FEATURES

    docs = {f.name: f.meaning for f in FEATURES}
    assert ex.weight_sliders
    for name, slider in ex.weight_sliders.items():
        assert slider.tooltip is not None and docs[name] in slider.tooltip


def test_save_weights_writes_a_valid_yaml(ex: SearchExplorer, home: Path) -> None:
    from underfoot_lab.pipeline.score.weights import ScoringWeights

    ex.search(QUERY)
    name = next(iter(ex.weight_sliders))
    ex.weight_sliders[name].value = 0.35
    ex.save_name.value = "my-try"
    ex.save_button.click()
    path = home / "weights" / "my-try.yaml"
    assert "saved" in ex.outputs["saved"].value and path.is_file()
    loaded = ScoringWeights.from_yaml(path)
    assert loaded.name == "my-try" and loaded.weight(name) == pytest.approx(0.35)
    assert loaded.weights_hash() == ex.weights.weights_hash()
    ex.save_name.value = "../bad name"
    assert ex.save_weights() is None
    assert "a weights name is" in ex.outputs["saved"].value
    assert not (home / "bad name.yaml").exists()


def test_ambiguous_town_offers_a_chooser(ex: SearchExplorer) -> None:
    ex.search("hidden gems in Springfield")
    assert ex.result is not None
    first = ex.result.place
    assert "ambiguous" in ex.outputs["ambiguity"].value
    assert ex.place_chooser.layout.display != "none"
    options = list(ex.place_chooser.options)
    assert options[0] == first.label and len(options) >= 3
    ex.place_chooser.value = options[1]
    assert ex.result.place.label == options[1] != first.label
    # A clear town hides the chooser again.
    ex.search(QUERY)
    assert ex.place_chooser.layout.display == "none" and ex.outputs["ambiguity"].value == ""


def test_hiding_a_source_re_merges_without_duplicates(ex: SearchExplorer) -> None:
    from underfoot_lab.pipeline.score.merge import merge_candidates

    ex.search("hidden gems in Marfa TX")
    assert ex.result is not None
    ex.k_slider.value = 40
    ex.source_toggles["serpapi_local"].value = False
    shown = ex.ranked
    full_ids = {e.id for e in merge_candidates(ex.result.candidates, ex.result.place)}
    assert {r.id for r in shown} <= full_ids
    assert all("serpapi_local" not in r.sources for r in shown)
    # Merging only what is visible splits places the hidden source had joined.
    kept = [c for c in ex.result.candidates if c.source != "serpapi_local"]
    naive = merge_candidates(kept, ex.result.place)
    assert len(shown) < len(naive)


def test_search_is_traced_while_an_mlflow_run_is_active(
    ex: SearchExplorer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    from underfoot_lab import tracking

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    client = tracking.get_client(uri)
    exp = tracking.ensure_experiment("explorer-test", tracking_uri=uri, client=client)
    mlflow.set_tracking_uri(uri)
    try:
        with mlflow.start_run(experiment_id=exp) as run:
            ex.search(QUERY)
        traces = client.search_traces(locations=[exp], run_id=run.info.run_id)
    finally:
        mlflow.set_tracking_uri(None)
    assert len(traces) == 1
    names = {s.name for s in traces[0].data.spans}
    assert {"parse", "geocode", "sources", "score"} <= names


# ------------------------------------------------------------------------------ one default scorer
SEED_FEATURES = {"intent_match", "keyword_count", "src_events", "src_reddit", "src_web"}


def test_default_weights_are_the_default_scorer_and_say_so(
    ex: SearchExplorer, home: Path, counting: CountingTransport
) -> None:
    from underfoot_lab.pipeline.score.weights import ScoringWeights

    seed_file = Path(__file__).resolve().parents[2] / "experiments/weights/baseline-seed.yaml"
    assert ex.base_weights.weights_hash() == ScoringWeights.from_yaml(seed_file).weights_hash()
    assert set(ex.weight_sliders) == SEED_FEATURES
    label = ex.weights_label.value
    assert "baseline-seed, the default scorer" in label and "--weights" in label
    assert ex.weights_label in ex.widget.children[4].children[0].children  # above the sliders
    # The same ranking as the pipeline without weights (the CLI's default, seed rules).
    ex.search(QUERY)
    with Pipeline(make_settings(home), transport=counting) as plain:
        seed = plain.search(QUERY)
    assert seed.scorer == "seed-v1"
    assert [r.id for r in ex.shown] == [r.id for r in seed.results[:10]]
    assert [r.score for r in ex.shown] == pytest.approx([r.score for r in seed.results[:10]])


def test_default_sliders_rerank_too(ex: SearchExplorer, counting: CountingTransport) -> None:
    ex.search(QUERY)
    before, first = len(counting.requests), list(ex.results["id"])
    ex.weight_sliders["src_web"].value = ex.weight_sliders["src_web"].min
    ex.weight_sliders["src_reddit"].value = ex.weight_sliders["src_reddit"].max
    assert list(ex.results["id"]) != first and len(counting.requests) == before
    assert ex.weights.version != ex.base_weights.version


def test_other_weights_are_labelled_not_default(tuned_ex: SearchExplorer) -> None:
    label = tuned_ex.weights_label.value
    assert "tuned-default-world (not the default scorer baseline-seed" in label
    assert {"popularity", "hiddenness"} <= set(tuned_ex.weight_sliders)
