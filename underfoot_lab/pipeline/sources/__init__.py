"""The sources stage: (ParsedQuery, Place) -> candidates, one upstream per module.

Providers are registered by name with lazy ``"module:Class"`` targets, so importing this package
imports no connector.
"""

from __future__ import annotations

from .base import SOURCES, Source
from .gather import gather_sources

__all__ = ["SOURCES", "Source", "gather_sources"]

SOURCES.register("serpapi_web", "underfoot_lab.pipeline.sources.serpapi:SerpApiWebSource")
SOURCES.register("serpapi_local", "underfoot_lab.pipeline.sources.serpapi:SerpApiLocalSource")
SOURCES.register("serpapi_events", "underfoot_lab.pipeline.sources.serpapi:SerpApiEventsSource")
SOURCES.register("serpapi_organic", "underfoot_lab.pipeline.sources.serpapi:SerpApiOrganicSource")
SOURCES.register("reddit", "underfoot_lab.pipeline.sources.reddit:RedditSource")
SOURCES.register("reddit_json", "underfoot_lab.pipeline.sources.reddit_json:RedditJsonSource")
SOURCES.register("eventbrite", "underfoot_lab.pipeline.sources.eventbrite:EventbriteSource")
