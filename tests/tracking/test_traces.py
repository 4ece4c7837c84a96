"""The spans a search becomes in MLflow (pure: built from a real offline search's trace)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from underfoot_lab.harness import build_harness
from underfoot_lab.records import SearchResult, StageTrace
from underfoot_lab.settings import Settings
from underfoot_lab.tracking.traces import search_spans, traces_enabled


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory) -> tuple[SearchResult, SearchResult]:
    home = tmp_path_factory.mktemp("home")
    s = Settings(home=home, mode="offline")
    with build_harness(s) as harness:
        first = harness.pipeline.search("hidden gems in Marfa TX")
        hit = harness.pipeline.search("hidden gems in Marfa TX")
    return first, hit


def test_one_span_per_stage_and_source(searched: tuple[SearchResult, SearchResult]) -> None:
    first, _ = searched
    spans = search_spans(first)
    root = spans[0]
    assert root.parent is None and root.attributes["count"] == len(first.results)
    stages = [s.name for s in spans if s.parent == "search"]
    assert stages == [t.stage for t in first.trace if "." not in t.stage and t.stage != "total"]
    sources = [s for s in spans if s.name.startswith("sources.")]
    assert len(sources) == len(first.sources) and all(s.parent == "sources" for s in sources)
    # Stages follow each other; sources run side by side from the start of ``sources``.
    by = {s.name: s for s in spans}
    assert by["geocode"].start_ms == pytest.approx(by["parse"].start_ms + by["parse"].elapsed_ms)
    assert {s.start_ms for s in sources} == {by["sources"].start_ms}


def test_cache_hit_shows_the_original_timings(
    searched: tuple[SearchResult, SearchResult],
) -> None:
    _, hit = searched
    assert hit.cache.status == "hit-memory"
    spans = search_spans(hit)
    names = [s.name for s in spans]
    assert "cache (original run)" in names and "original.score" in names
    cache = next(s for s in spans if s.name == "cache")
    assert cache.attributes["cache_layer"] == "memory"
    original = next(s for s in spans if s.name == "original.score")
    assert "when first run" in str(original.attributes["detail"])


def test_failed_stage_is_an_error_span_and_secrets_are_redacted(
    searched: tuple[SearchResult, SearchResult],
) -> None:
    first, _ = searched
    secret = "sk-live-SECRET-123456789"
    broken = replace(
        first,
        trace=(
            *first.trace,
            StageTrace("sources.web", 3.0, "error", provider="serpapi", detail=f"key {secret}"),
        ),
    )
    spans = search_spans(broken, secrets=[secret])
    bad = [s for s in spans if s.error]
    assert bad and all(secret not in str(s.attributes) for s in spans)
    assert "***" in str(bad[-1].attributes["detail"])


def test_traces_enabled_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UNDERFOOT_MLFLOW_TRACES", raising=False)
    assert traces_enabled() is True
    monkeypatch.setenv("UNDERFOOT_MLFLOW_TRACES", "false")
    assert traces_enabled() is False
    assert traces_enabled(True) is True
