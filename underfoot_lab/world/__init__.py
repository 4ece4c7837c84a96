"""The offline world: a deterministic, seeded SIMULATION of the upstreams for any US town.

Around every gazetteer town it invents a latent universe of places, events, Reddit posts and
web pages (:mod:`.model`), serves them in SerpAPI's, Reddit's and Geoapify's real formats through
an httpx transport (:class:`WorldTransport`), and knows the ground truth: which entity every
emitted URL or id is about and how relevant it is to a query (:meth:`World.grade`). See
``docs/offline-world.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .core import World, WorldResponse, build_world
    from .model import Entity, RedditPost, TownUniverse, WebPage
    from .transport import WorldTransport
    from .truth import Intent, match_strength, parse_intent

# Exported lazily: `world.scenario` (a scenario's name and hash, which every cached search
# needs for its key) must not pay for importing the simulator itself (issue 15).
_LAZY = {
    "World": "core",
    "WorldResponse": "core",
    "build_world": "core",
    "Entity": "model",
    "RedditPost": "model",
    "TownUniverse": "model",
    "WebPage": "model",
    "WorldTransport": "transport",
    "Intent": "truth",
    "match_strength": "truth",
    "parse_intent": "truth",
}

__all__ = [
    "Entity",
    "Intent",
    "RedditPost",
    "TownUniverse",
    "WebPage",
    "World",
    "WorldResponse",
    "WorldTransport",
    "build_world",
    "match_strength",
    "parse_intent",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
