"""A town's Reddit posts, written from the apparent views of its entities (never the truth).

Locals recommend places (picked by the scenario's ``language.recommend`` logit over what they
can see: apparent esteem, exposure, quality), ask whether a place is worth the drive, complain
about places that look like tourist traps, announce events, ask general questions and post
off-topic. Titles and opinions come from the scenario's vocabulary.
"""

from __future__ import annotations

from datetime import timedelta

from .latent import logit_p
from .model import CATEGORY_PHRASE, Entity, RedditPost, reddit_slug
from .places import PlaceBuilder

_KINDS = ("rec", "ask", "question", "complaint", "event", "offtopic")
_KIND_WEIGHTS = (0.38, 0.10, 0.14, 0.10, 0.14, 0.14)


def say(b: PlaceBuilder, key: str, e: Entity | None = None) -> str:
    """One phrase of the scenario's vocabulary list ``key``, filled for ``e``."""
    if e is None:
        return b.say(key)
    return b.say(key, e.name, CATEGORY_PHRASE.get(e.category, "place"))


def opinion(b: PlaceBuilder, e: Entity) -> str:
    """Praise, a shrug or a letdown, from the place's apparent quality."""
    q = b.views[e.index].quality
    return say(b, "praise" if q >= 0.4 else "meh" if q >= -0.5 else "letdown", e)


def build_posts(b: PlaceBuilder, state_sub: str, town_sub: str | None) -> list[RedditPost]:
    """The town's posts (their ids are minted from the town and post index)."""
    rng, town, clock = b.rng, b.town, b.clock
    ents = b.entities
    places = [e for e in ents if e.kind == "place" and not e.looks_trap and e.distance_km <= 90]
    traps = [e for e in ents if e.looks_trap]
    events = [e for e in ents if e.kind == "event"]
    n = 16 + len(ents) // 3
    rec = b.scenario.language.recommend
    rec_w = [logit_p(rec, b.views[e.index]) * (1.0 if e.distance_km <= 80 else 0.3) for e in places]
    gem_spec = b.scenario.language.gem
    posts: list[RedditPost] = []
    kind_w = [
        0.0 if (k in {"question", "offtopic"} and not b.scenario.corpus.subjectless_posts) else w
        for k, w in zip(_KINDS, _KIND_WEIGHTS, strict=True)
    ]

    def pick_places(k: int) -> list[Entity]:
        out: list[Entity] = []
        for _ in range(k * 3):
            e = rng.choices(places, rec_w)[0]
            if e not in out:
                out.append(e)
            if len(out) == k:
                break
        return out

    for i in range(n):
        kind = rng.choices(_KINDS, kind_w)[0]
        mentions: list[Entity] = []
        place_word = rng.choice((town.name, town.name, f"{b.county} County"))
        if kind == "rec" and places:
            mentions = pick_places(rng.choice((1, 1, 1, 2, 3)))
            first = mentions[0]
            gem_talk = rng.random() < logit_p(gem_spec, b.views[first.index])
            if len(mentions) > 1:
                title = (
                    say(b, "gem", first)
                    if gem_talk
                    else rng.choice(
                        (f"Locals' list: things to do around {place_word}",
                         f"Some favorites around {town.name}")
                    )
                )  # fmt: skip
                paras = [
                    f"A few of my favorites around {town.name}: "
                    + ", ".join(e.name for e in mentions[:-1])
                    + f" and {mentions[-1].name}.",
                    f"{first.name}: {first.description}",
                    opinion(b, first),
                ]
            else:
                title = say(b, "gem" if gem_talk else "local_talk", first)
                paras = [
                    f"Went to {first.name} last weekend.",
                    first.description,
                    opinion(b, first),
                ]
                if traps and rng.random() < 0.3:
                    trap = rng.choice(traps)
                    mentions.append(trap)
                    paras.append(f"Way better than {trap.name}, which is a tourist trap.")
        elif kind == "ask" and places:
            target = rng.choice(places + traps)
            mentions = [target]
            what = CATEGORY_PHRASE[target.category]
            title = f"Is {target.name} worth the drive from {town.name}?"
            paras = [
                f"Saw {target.name} on a list of {what}s near {place_word}. Anyone been?",
                "Is it worth it or should we skip it?",
            ]
        elif kind == "complaint" and traps:
            trap = rng.choice(traps)
            mentions = [trap]
            title = say(b, "trap_talk", trap)
            paras = [
                f"Every 'hidden gem in {town.name}' article puts {trap.name} at number one.",
                f"{trap.description} Save your money.",
            ]
        elif kind == "event" and events:
            ev = rng.choice(events)
            assert ev.starts_at is not None
            mentions = [ev]
            local = ev.starts_at.astimezone(b.tz)
            title = f"{ev.name} in {town.name} on {local:%A}, {local:%b} {local.day}!"
            paras = [ev.description, f"Anyone else going? It's at {ev.venue}."]
        elif kind == "question":
            wants = rng.sample(
                ["swimming holes", "good diners", "weird roadside stuff", "dive bars",
                 "hikes and waterfalls", "local history", "antique shops", "live music"],
                2,
            )  # fmt: skip
            title = rng.choice(
                (f"Visiting {town.name} next month, what should we do?",
                 f"Things to do around {place_word} this summer?",
                 f"Cool stuff near {town.name}?")
            )  # fmt: skip
            paras = [f"Looking for {wants[0]}. We also like {wants[1]}.", "Any hidden gems?"]
        else:
            kind = "offtopic"
            title = rng.choice(
                (f"Road work on {rng.choice(('Main St', 'US-23', 'the bypass'))} in "
                 f"{town.name} again",
                 f"Anyone know a good mechanic in {town.name}?",
                 f"Power outage in {b.county} County?",
                 f"Moving to {town.name} this fall, what's rent like?",
                 f"Lost dog near {place_word}, brown hound, answers to Biscuit")
            )  # fmt: skip
            paras = ["Title says it all. Thanks in advance."]
        if not mentions and not b.scenario.corpus.subjectless_posts:
            # A world without subjectless posts: the fallback is a question about a place.
            target = rng.choice(ents)
            kind, mentions = "ask", [target]
            title = f"Is {target.name} worth the drive from {town.name}?"
            paras = [f"Anyone been to {target.name}?", "Is it worth it or should we skip it?"]
        # Where it was posted.
        r = rng.random()
        if r < 0.55 or (r < 0.8 and town_sub is None):
            sub = state_sub
        elif r < 0.8 and town_sub is not None:
            sub = town_sub
        else:
            # Which subreddit follows what the place LOOKS like (its apparent category).
            outdoorsy = bool(mentions) and mentions[0].google_type in _OUTDOOR_TYPES
            sub = "hiking" if outdoorsy else "roadtrip"
        # When.
        age = timedelta(days=1 + 1000 * rng.random() ** 1.7, seconds=rng.randint(0, 86399))
        published = clock - age
        if kind == "event" and mentions and mentions[0].starts_at is not None:
            published = mentions[0].starts_at - timedelta(days=rng.uniform(2, 20))
            published = min(published, clock - timedelta(hours=rng.uniform(1, 48)))
        published = published.replace(microsecond=0)
        updated = published
        if rng.random() < 0.15:
            updated = min(published + timedelta(hours=rng.uniform(1, 30)), clock)
            updated = updated.replace(microsecond=0)
        id36 = b.codec.reddit_id(b.town_index, i)
        permalink = f"https://www.reddit.com/r/{sub}/comments/{id36}/{reddit_slug(title)}/"
        posts.append(
            RedditPost(
                index=i,
                id36=id36,
                subreddit=sub,
                title=title,
                paragraphs=tuple(paras),
                author=b.names.username(),
                published=published,
                updated=updated,
                mentions=tuple(e.index for e in mentions),
                kind=kind,
                permalink=permalink,
            )
        )
    return posts


_OUTDOOR_TYPES = frozenset(
    {"Hiking area", "Waterfall", "Cave", "Swimming hole", "Scenic spot", "Historical landmark"}
)
