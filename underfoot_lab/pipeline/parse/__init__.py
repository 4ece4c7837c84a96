"""The parse stage: query text -> :class:`~underfoot_lab.records.ParsedQuery`.

Parsers are registered by name with ``"module:attr"`` targets, so importing this package
imports no parser module (and loads no gazetteer or SDK).
"""

from __future__ import annotations

from .base import PARSERS, Parser

PARSERS.register("heuristic", "underfoot_lab.pipeline.parse.heuristic:HeuristicParser")
PARSERS.register("openai", "underfoot_lab.pipeline.parse.openai_parser:OpenAIParser")

__all__ = ["PARSERS", "Parser"]
