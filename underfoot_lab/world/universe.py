"""One town's universe, generated from a seed and a scenario.

:func:`generate_universe` is a pure function of its :class:`~.places.PlaceBuilder`'s
``(seed, town, gazetteer, clock, scenario)``: it draws from
``random.Random(f"underfoot-world|{seed}|{town.key}")`` only, so a town's universe is the same
in every process and independent of which towns were built before it. Places and events come
from :mod:`.places`, Reddit posts from :mod:`.posts`, web pages from :mod:`.pages`.
"""

from __future__ import annotations

from .model import TownUniverse, state_subreddit, town_subreddit
from .pages import build_pages
from .places import PlaceBuilder
from .posts import build_posts


def generate_universe(b: PlaceBuilder) -> TownUniverse:
    """Build the latent universe of ``b``'s town (deterministic in its seed, ``town.key`` and
    the scenario); ``b`` is fresh, its random stream not yet drawn from."""
    town = b.town
    entities = b.build_entities()
    state_sub = state_subreddit(town.state, town.state_code)
    town_sub = town_subreddit(town.name)
    if town_sub is not None and town_sub.lower() == state_sub.lower():
        town_sub = None
    subs = [state_sub, *([town_sub] if town_sub else []), "roadtrip", "hiking"]
    posts = build_posts(b, state_sub, town_sub)
    pages = build_pages(b, posts)
    return TownUniverse(
        town=town,
        town_index=b.town_index,
        town_slug=b.town_slug,
        timezone=b.tzname,
        entities=tuple(entities),
        posts=tuple(posts),
        pages=tuple(pages),
        subreddits=tuple(subs),
        by_slug={e.slug: e for e in entities},
    )
