"""Reddit search feeds (Atom 1.0, despite the ``.rss`` name) from a town universe.

Matches what ``https://www.reddit.com/search.rss`` and ``/r/<sub>/search.rss?restrict_sr=1``
serve: entries with ``/u/NAME`` authors, a ``r/Sub`` category, entity-escaped HTML content whose
self-post text sits between ``<!-- SC_OFF -->`` and ``<!-- SC_ON -->``, ``t3_`` ids and
permalinks. No vote scores or comment counts (the feed has none).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from html import escape as html_escape
from urllib.parse import quote_plus
from xml.sax.saxutils import escape as _xml_escape

from .model import RedditPost, TownUniverse
from .truth import Intent, match_strength

CONTENT_TYPE = "application/atom+xml; charset=UTF-8"
REDDIT = "https://www.reddit.com"
_WINDOWS = {
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(days=7),
    "month": timedelta(days=31),
    "year": timedelta(days=366),
}
_STOP = {"in", "near", "the", "a", "an", "and", "of", "to", "around", "for", "best", "things"}


def xml_escape(text: str) -> str:
    return _xml_escape(text, {'"': "&quot;"})


def _iso(dt: datetime) -> str:
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
) -> list[RedditPost]:
    """The posts a Reddit search would return, in the requested order."""
    restrict = subreddit is not None and params.get("restrict_sr", "") in {"1", "on", "true"}
    window = _WINDOWS.get(params.get("t", "all"))
    words = [
        w for w in intent.text.lower().replace(",", " ").split() if w not in _STOP and len(w) > 2
    ]
    scored: list[tuple[float, int, RedditPost]] = []
    for post in u.posts:
        if restrict and subreddit is not None and post.subreddit.lower() != subreddit.lower():
            continue
        if window is not None and clock - post.published > window:
            continue
        text = f"{post.title} {post.text}".lower()
        lexical = sum(1 for p in intent.phrases if p in text) + sum(0.5 for w in words if w in text)
        sem = max((match_strength(intent, u.entities[i]) for i in post.mentions), default=0)
        if sem == 0 and lexical == 0 and rng.random() > 0.15:
            continue
        score = 1.0 * sem + 0.6 * lexical + rng.gauss(0.0, 0.6)
        scored.append((score, post.index, post))
    sort = params.get("sort", "relevance")
    if sort == "new":
        scored.sort(key=lambda t: (-t[2].published.timestamp(), t[1]))
    else:
        scored.sort(key=lambda t: (-t[0], t[1]))
    try:
        limit = max(1, min(100, int(params.get("limit", "25"))))
    except ValueError:
        limit = 25
    return [p for _, _, p in scored[:limit]]


def render_feed(
    u: TownUniverse | None,
    intent: Intent,
    params: Mapping[str, str],
    subreddit: str | None,
    clock: datetime,
    rng: random.Random,
) -> str:
    """The Atom document for a search (zero entries when the town is unknown)."""
    q = params.get("q", "")
    posts = search_posts(u, intent, params, subreddit, clock, rng) if u is not None else []
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
