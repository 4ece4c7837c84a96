"""Reddit search feeds (Atom 1.0, despite the ``.rss`` name) from a town universe.

Matches what ``https://www.reddit.com/search.rss`` and ``/r/<sub>/search.rss?restrict_sr=1``
serve: entries with ``/u/NAME`` authors, a ``r/Sub`` category, entity-escaped HTML content whose
self-post text sits between ``<!-- SC_OFF -->`` and ``<!-- SC_ON -->``, ``t3_`` ids and
permalinks. No vote scores or comment counts (the feed has none).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from html import escape as html_escape
from urllib.parse import quote_plus

from .engines import age_freshness, memo_terms, order, query_terms, score, terms_match
from .model import RedditPost, TownUniverse
from .scenario import EngineSpec
from .truth import Intent

CONTENT_TYPE = "application/atom+xml; charset=UTF-8"
REDDIT = "https://www.reddit.com"
_WINDOWS = {
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(days=7),
    "month": timedelta(days=31),
    "year": timedelta(days=366),
}


def posts_terms(u: TownUniverse) -> tuple[frozenset[str], ...]:
    """The :func:`~.engines.terms` of each post's title and text (memoised)."""
    return memo_terms(u.memo, "posts", lambda: (f"{p.title} {p.text}" for p in u.posts))


def xml_escape(text: str) -> str:
    # What xml.sax.saxutils.escape(text, {'"': "&quot;"}) does, without importing xml.sax
    # (a cold search's start-up, issue 15).
    return (
        text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;").replace('"', "&quot;")
    )


@lru_cache(maxsize=65536)
def _iso(dt: datetime) -> str:
    # Memoised: a town's posts come back in many feeds (equal instants print the same).
    return dt.astimezone(UTC).isoformat()


def _content_html(post: RedditPost) -> str:
    """The entry's HTML, as Reddit builds it (before XML escaping)."""
    paras = "".join(f"<p>{html_escape(p, quote=False)}</p>" for p in post.paragraphs)
    user = f"{REDDIT}/user/{post.author}"
    return (
        f'<!-- SC_OFF --><div class="md">{paras} </div><!-- SC_ON --> &#32; submitted by '
        f'&#32; <a href="{user}"> /u/{post.author} </a> <br/> <span><a href="{post.permalink}">'
        f'[link]</a></span> &#32; <span><a href="{post.permalink}">[comments]</a></span>'
    )


def _entry(post: RedditPost) -> str:
    return (
        "<entry>"
        f"<author><name>/u/{xml_escape(post.author)}</name>"
        f"<uri>{REDDIT}/user/{xml_escape(post.author)}</uri></author>"
        f'<category term="{xml_escape(post.subreddit)}" label="r/{xml_escape(post.subreddit)}"/>'
        f'<content type="html">{xml_escape(_content_html(post))}</content>'
        f"<id>t3_{post.id36}</id>"
        f'<link href="{xml_escape(post.permalink)}" />'
        f"<updated>{_iso(post.updated)}</updated>"
        f"<published>{_iso(post.published)}</published>"
        f"<title>{xml_escape(post.title)}</title>"
        "</entry>"
    )


def search_posts(
    u: TownUniverse,
    intent: Intent,
    params: Mapping[str, str],
    subreddit: str | None,
    clock: datetime,
    rng: random.Random,
    engine: EngineSpec,
) -> list[RedditPost]:
    """The posts a Reddit search would return, in the requested order.

    Relevance is Reddit's own: the query's words in the title and text, freshness, noise
    (the scenario's ``engines.reddit``); posts matching no word mostly drop out."""
    restrict = subreddit is not None and params.get("restrict_sr", "") in {"1", "on", "true"}
    window = _WINDOWS.get(params.get("t", "all"))
    q = query_terms(intent.text)
    scored: list[tuple[float, int, RedditPost]] = []
    post_terms = posts_terms(u)
    for post in u.posts:
        if restrict and subreddit is not None and post.subreddit.lower() != subreddit.lower():
            continue
        if window is not None and clock - post.published > window:
            continue
        m = terms_match(q, post_terms[post.index])
        if m == 0 and rng.random() > 0.15:
            continue
        s = score(engine, rng, match=m, pop=0.0, fresh=age_freshness(post.published, clock))
        scored.append((s, post.index, post))
    if params.get("sort", "relevance") == "new":
        ranked = [t[2] for t in sorted(scored, key=lambda t: (-t[2].published.timestamp(), t[1]))]
    else:
        ranked = order(scored, engine, rng)
    try:
        limit = max(1, min(100, int(params.get("limit", "25"))))
    except ValueError:
        limit = 25
    return ranked[:limit]


def render_feed(
    posts: Sequence[RedditPost], params: Mapping[str, str], subreddit: str | None, clock: datetime
) -> str:
    """The Atom document of a search that found ``posts`` (:func:`search_posts`; none when the
    town is unknown)."""
    q = params.get("q", "")
    prefix = f"/r/{subreddit}" if subreddit else ""
    query = f"q={quote_plus(q)}" + ("&restrict_sr=1" if params.get("restrict_sr") else "")
    self_href = f"{REDDIT}{prefix}/search.rss?{query}"
    alt_href = f"{REDDIT}{prefix}/search?{query}"
    where = f"r/{subreddit}" if subreddit else "reddit.com"
    head = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/">',
    ]
    if subreddit:
        head.append(f'<category term="{xml_escape(subreddit)}" label="r/{xml_escape(subreddit)}"/>')
    head += [
        f"<updated>{_iso(clock)}</updated>",
        "<icon>https://www.redditstatic.com/icon.png/</icon>",
        f"<id>{xml_escape(prefix)}/search.rss?{xml_escape(query)}</id>",
        f'<link rel="self" href="{xml_escape(self_href)}" type="application/atom+xml" />',
        f'<link rel="alternate" href="{xml_escape(alt_href)}" type="text/html" />',
        "<subtitle>offline world (simulated)</subtitle>",
        f"<title>{xml_escape(where)}: search results - {xml_escape(q)}</title>",
    ]
    return "".join(head) + "".join(_entry(p) for p in posts) + "</feed>"
