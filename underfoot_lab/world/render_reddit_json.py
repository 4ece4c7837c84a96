"""Reddit's JSON search listing (``/search.json``) for the posts a Reddit search returns.

The same posts the Atom renderer renders (:func:`.render_reddit.search_posts` picks them), in the
format ``https://www.reddit.com/search.json?q=...&limit=10&sort=relevance`` serves::

    {"kind": "Listing", "data": {"after": "t3_..." | null, "before": null, "dist": N,
     "modhash": "", "geo_filter": "", "children": [{"kind": "t3", "data": {...}}]}}

Each post's ``data`` carries ``id``, ``name`` (``t3_<id>``), ``title``, ``selftext`` (markdown:
paragraphs joined by blank lines), ``permalink`` (relative, ``/r/<sub>/comments/<id>/<slug>/``),
``url`` (a self post links to itself), ``subreddit``, ``subreddit_name_prefixed``, ``author``,
``score``, ``ups``, ``upvote_ratio``, ``num_comments``, ``created_utc`` (float seconds),
``is_self``, ``over_18``, ``link_flair_text``, ``domain``.

Vote scores and comment counts are SIMULATED and a pure function of the post (seeded by its id):
heavy-tailed like real ones (median about 12 votes; about one post in fifteen above 100), so a
listing is the same bytes in every process. This module renders; it selects nothing.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any

from .model import RedditPost

CONTENT_TYPE = "application/json; charset=UTF-8"
REDDIT = "https://www.reddit.com"
_MEDIAN_VOTES = 12.0
_VOTE_SPREAD = 1.4  # sigma of log(votes)


def post_votes(post: RedditPost) -> tuple[int, int, float]:
    """(score, num_comments, upvote_ratio) of a post: simulated, a function of its id alone."""
    rng = random.Random(f"reddit-votes|{post.id36}")  # nosec B311 -- simulated, seeded
    score = max(0, round(_MEDIAN_VOTES * math.exp(_VOTE_SPREAD * rng.gauss(0.0, 1.0))))
    comments = round(score * rng.uniform(0.1, 0.8)) + rng.randint(0, 6)
    ratio = round(rng.uniform(0.82, 0.99), 2)
    return score, comments, ratio


def _relative(permalink: str) -> str:
    return permalink[len(REDDIT) :] if permalink.startswith(REDDIT) else permalink


def post_data(post: RedditPost) -> dict[str, Any]:
    """One child's ``data`` object, as Reddit's listing has it."""
    score, comments, ratio = post_votes(post)
    permalink = _relative(post.permalink)
    return {
        "id": post.id36,
        "name": f"t3_{post.id36}",
        "title": post.title,
        "selftext": "\n\n".join(post.paragraphs),
        "permalink": permalink,
        "url": f"{REDDIT}{permalink}",
        "subreddit": post.subreddit,
        "subreddit_name_prefixed": f"r/{post.subreddit}",
        "author": post.author,
        "score": score,
        "ups": score,
        "upvote_ratio": ratio,
        "num_comments": comments,
        "created_utc": float(post.published.timestamp()),
        "is_self": True,
        "over_18": False,
        "link_flair_text": None,
        "domain": f"self.{post.subreddit}",
    }


def render_listing(posts: Sequence[RedditPost], params: Mapping[str, str]) -> dict[str, Any]:
    """The ``Listing`` for these posts, in this order (``params``: the request's query).

    ``after`` names the last post when the page is full (``limit`` reached), as Reddit does
    when more results may follow; otherwise null.
    """
    try:
        limit = max(1, min(100, int(params.get("limit", "25"))))
    except ValueError:
        limit = 25
    children = [{"kind": "t3", "data": post_data(p)} for p in posts]
    after = f"t3_{posts[-1].id36}" if posts and len(posts) >= limit else None
    return {
        "kind": "Listing",
        "data": {
            "after": after,
            "dist": len(children),
            "modhash": "",
            "geo_filter": "",
            "children": children,
            "before": None,
        },
    }
