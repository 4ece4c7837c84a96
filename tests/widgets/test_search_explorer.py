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
    explorer = SearchExplorer(pipe)
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
    ex: SearchExplorer, counting: CountingTransport
) -> None:
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
    assert "not kept" in ex.outputs["waterfall"].value
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
