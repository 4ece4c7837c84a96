"""Respond stage: ranked results -> a short answer."""

from .base import RESPONDERS, Responder

RESPONDERS.register("template", "underfoot_lab.pipeline.respond.template:TemplateResponder")
RESPONDERS.register("openai", "underfoot_lab.pipeline.respond.openai_responder:OpenAIResponder")

__all__ = ["RESPONDERS", "Responder"]
