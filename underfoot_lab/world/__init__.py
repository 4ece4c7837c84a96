"""The offline world: a deterministic, seeded SIMULATION of the upstreams for any US town.

Around every gazetteer town it invents a latent universe of places, events, Reddit posts and
web pages (:mod:`.model`), serves them in SerpAPI's, Reddit's and Geoapify's real formats through
an httpx transport (:class:`WorldTransport`), and knows the ground truth: which entity every
emitted URL or id is about and how relevant it is to a query (:meth:`World.grade`). See
``docs/offline-world.md``.
"""

from __future__ import annotations

from .core import World, WorldResponse, build_world
from .model import Entity, RedditPost, TownUniverse, WebPage
from .transport import WorldTransport
from .truth import Intent, match_strength, parse_intent

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
