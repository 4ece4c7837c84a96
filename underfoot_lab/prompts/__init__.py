"""Versioned prompts for the live (OpenAI) providers.

Each prompt is a Markdown file ``<name>-v<N>.md`` in this package; the whole file is the system
message. A prompt is never edited once a run has used it: a change is a new file with the next
version, so traces, answers and recordings say exactly which wording produced them
(``ParsedQuery.notes`` and ``Answer.prompt_version`` carry the id, e.g. ``"parse-v1"``).

>>> load_prompt("parse").id            # the latest version
'parse-v1'
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

__all__ = ["Prompt", "load_prompt", "prompt_versions"]

_FILE = re.compile(r"^(?P<name>[a-z][a-z0-9_]*)-v(?P<version>\d+)\.md$")


@dataclass(frozen=True, slots=True)
class Prompt:
    """One versioned prompt: ``id`` is ``"<name>-v<version>"``."""

    name: str
    version: int
    text: str

    @property
    def id(self) -> str:
        return f"{self.name}-v{self.version}"

    @property
    def sha256(self) -> str:
        """Digest of the text, for checking a stored run against the prompt file."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def prompt_versions(name: str) -> list[int]:
    """The versions of prompt ``name`` shipped in this package, ascending."""
    found = []
    for entry in resources.files(__name__).iterdir():
        m = _FILE.match(entry.name)
        if m and m.group("name") == name:
            found.append(int(m.group("version")))
    return sorted(found)


@lru_cache(maxsize=32)
def load_prompt(name: str, version: int | None = None) -> Prompt:
    """Prompt ``name`` at ``version`` (default: the latest). ``KeyError`` when there is none."""
    versions = prompt_versions(name)
    if not versions:
        raise KeyError(f"no prompt named {name!r}")
    chosen = versions[-1] if version is None else version
    if chosen not in versions:
        raise KeyError(f"prompt {name!r} has no version {chosen}; have {versions}")
    text = resources.files(__name__).joinpath(f"{name}-v{chosen}.md").read_text("utf-8")
    return Prompt(name=name, version=chosen, text=text.strip() + "\n")
