"""``--world NAME|FILE``: the offline world a command runs in (shared by several commands).

A name resolves to ``experiments/worlds/NAME.yaml``; anything ending in ``.yaml``/``.yml`` or
containing ``/`` is a scenario file of the user's own. Without the flag the ``world`` setting
decides (``UNDERFOOT_WORLD``, default ``default``). The scenario is loaded and validated up front,
so a bad file exits 2 naming the file and the field before any work starts.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ..harness import WorldIdentity
    from ..settings import Settings

WORLD_HELP = (
    "offline world: a scenario name (experiments/worlds/NAME.yaml: default, null, adversarial, "
    "popularity-biased) or a scenario YAML file (default: $UNDERFOOT_WORLD, else 'default')"
)


def add_world_argument(p: argparse.ArgumentParser) -> None:
    """Add ``--world NAME|FILE`` to a command's parser."""
    p.add_argument("--world", metavar="NAME|FILE", default=None, help=WORLD_HELP)


def world_settings(args: argparse.Namespace, **overrides: Any) -> Settings:
    """``Settings(**overrides)`` in the world of ``--world`` (when given; validated here)."""
    from ..settings import Settings

    settings = Settings(**overrides)
    world = getattr(args, "world", None)
    if world:
        settings = settings.model_copy(update={"world": str(world)})
        check_world(settings)
    return settings


def check_world(settings: Settings) -> WorldIdentity:
    """The settings' world identity; ConfigError (exit 2) naming the file and field if the
    scenario is missing or invalid."""
    from ..harness import world_identity

    return world_identity(settings)


def world_header(settings: Settings) -> str:
    """``offline world 'null' (a1b2c3d4), simulated`` when the settings' sources answer from
    the offline world, else ``live (<mode>)``."""
    from ..pipeline.providers import select_providers

    if not select_providers(settings).simulated:
        return f"live ({settings.mode})"
    return check_world(settings).label
