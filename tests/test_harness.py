"""The composition root: which transport each selection gets, the lazy world, and the pipeline
refusing to answer offline sources from the network."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from underfoot_lab.errors import ConfigError
from underfoot_lab.harness import MountedTransport, build_harness
from underfoot_lab.pipeline.run import Pipeline
from underfoot_lab.settings import Settings
from underfoot_lab.world import World


def settings(home: Path, **kw: object) -> Settings:
    return Settings(_env_file=None, home=home, **kw)  # type: ignore[arg-type]


def test_offline_harness_answers_from_its_world(tmp_path: Path) -> None:
    with build_harness(settings(tmp_path), use_cache=False) as harness:
        assert harness.simulated and not harness.world_built
        result = harness.pipeline.search("hidden gems in Pikeville KY")
        assert harness.world_built
        world = harness.world
        assert isinstance(world, World) and world is harness.world  # built once
        assert world.seed == harness.settings.world_seed
    assert result.simulated and result.results
    # the results come from this world: it knows the entity behind the top results' URLs
    known = [world.entity_for_url(r.url) for r in result.results[:10]]
    assert sum(e is not None for e in known) >= 5


def test_world_is_not_built_when_nothing_needs_it(tmp_path: Path) -> None:
    with build_harness(settings(tmp_path)) as harness:
        harness.pipeline.cache_context()  # what a run config reads
        assert harness.pipeline.cache.sqlite.count() == 0
        assert not harness.world_built


def test_all_live_selection_gets_the_network_and_no_world(tmp_path: Path) -> None:
    s = settings(
        tmp_path,
        mode="live",
        openai_api_key="sk-test",
        serpapi_api_key="serp-test",
        geoapify_api_key="geo-test",
    )
    with build_harness(s) as harness:
        assert all(c.live for c in harness.pipeline.selection.all())
        assert not harness.simulated
        assert harness.world is None and not harness.world_built


def test_bare_pipeline_refuses_offline_sources_without_a_transport(tmp_path: Path) -> None:
    # Without the world's transport the offline sources would ask the real upstreams.
    with (
        Pipeline(settings(tmp_path), use_cache=False) as pipe,
        pytest.raises(ConfigError, match="build_harness"),
    ):
        pipe.search("hidden gems in Pikeville KY")


def test_mounted_transport_matches_scheme_host_and_port() -> None:
    def answer(name: str) -> httpx.MockTransport:
        return httpx.MockTransport(lambda request: httpx.Response(200, text=name))

    transport = MountedTransport(
        {"http://127.0.0.1:8001/v1": answer("live"), "https://reddit.example": answer("reddit")},
        answer("world"),
    )

    async def ask(url: str) -> str:
        async with httpx.AsyncClient(transport=transport) as client:
            return (await client.get(url)).text

    async def main() -> list[str]:
        return [
            await ask("http://127.0.0.1:8001/v1/chat/completions"),
            await ask("http://127.0.0.1:8001/other/path"),  # the origin decides, as in httpx
            await ask("http://127.0.0.1:8002/v1/chat/completions"),  # another port
            await ask("https://reddit.example:443/r/x.rss"),  # the default port
            await ask("http://reddit.example/r/x.rss"),  # another scheme
        ]

    assert asyncio.run(main()) == ["live", "live", "world", "reddit", "world"]


def test_world_identity_is_remembered_per_scenario_file_and_revalidated_when_it_changes(
    tmp_path: Path,
) -> None:
    from underfoot_lab.harness import world_identity

    scenario = tmp_path / "mine.yaml"
    default = Path(__file__).resolve().parents[1] / "experiments" / "worlds" / "default.yaml"
    scenario.write_text(default.read_text().replace("name: default", "name: mine", 1))
    first = world_identity(settings(tmp_path, world=str(scenario)))
    assert first.name == "mine" and first.path == str(scenario.resolve())
    assert (tmp_path / "derived" / "world-identities.json").is_file()
    assert world_identity(settings(tmp_path, world=str(scenario))) == first  # from the cache
    scenario.write_text("name: [not, a, name]\n")  # a changed file is validated again
    with pytest.raises(ConfigError, match=r"mine\.yaml"):
        world_identity(settings(tmp_path, world=str(scenario)))
