"""Names: place names out of page titles, HTML to text, and where Reddit talks about a place.

* :func:`place_name_from_title` turns a web result's title into the name of the place it is
  about ("Dils Cemetery - Pikeville, Kentucky - Atlas Obscura" -> "Dils Cemetery"); entity
  resolution merges mentions on that name.
* :func:`html_to_text` flattens an HTML fragment (Reddit's self-post text) to one line.
* :data:`STATE_SUBREDDITS` and :func:`subreddits_for` map a place to the subreddits worth
  searching (the state's and the town's).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from html.parser import HTMLParser

from ...geo.gazetteer import normalize_name

__all__ = [
    "KNOWN_SITES",
    "STATE_SUBREDDITS",
    "city_subreddit",
    "html_to_text",
    "is_listicle",
    "place_name_from_title",
    "reddit_selftext",
    "short_label",
    "subreddits_for",
]

# ------------------------------------------------------------------------------ titles

# Separators sites put between a page's subject and their own name, longest first so " - " does
# not split an em-dash variant.
_SEPARATORS = re.compile(r"\s+[-|–—•·»]\s+|\s*:\s+|\s+::\s+")

KNOWN_SITES = frozenset(
    normalize_name(s)
    for s in (
        "Tripadvisor",
        "TripAdvisor.com",
        "Yelp",
        "Facebook",
        "Instagram",
        "TikTok",
        "YouTube",
        "Pinterest",
        "X",
        "Twitter",
        "Wikipedia",
        "Google",
        "Google Maps",
        "Reddit",
        "Atlas Obscura",
        "Only In Your State",
        "OnlyInYourState",
        "Roadtrippers",
        "Foursquare",
        "Eventbrite",
        "Allevents",
        "AllEvents.in",
        "Travel + Leisure",
        "Thrillist",
        "Lonely Planet",
        "Expedia",
        "Booking.com",
        "Hotels.com",
        "Airbnb",
        "Wanderlog",
        "Mapquest",
        "Yellow Pages",
        "YP.com",
        "Nextdoor",
        "Patch",
        "Medium",
        "Substack",
        "AllTrails",
        "Visit the USA",
        "Roadside America",
        "RoadsideAmerica.com",
        "Uncover Kentucky",
        "Restaurant Guru",
        "OpenTable",
        "Untappd",
        "Zomato",
        "Groupon",
    )
)

# Page-ish words that are never the name of a place ("Home | The Blue Raven").
_GENERIC_PARTS = frozenset(
    {
        "home",
        "homepage",
        "home page",
        "welcome",
        "official site",
        "official website",
        "the official website",
        "menu",
        "menus",
        "about",
        "about us",
        "contact",
        "contact us",
        "hours",
        "hours and location",
        "location",
        "locations",
        "reviews",
        "photos",
        "updated",
        "blog",
    }
)

# "15 Hidden Gems in X", "THE 10 BEST Things to Do in X", "Top 7 ...", "Best ... in X".
_LISTICLE = re.compile(
    r"""(?ix)
    ^\s*(?:the\s+)?(?:
        \d+\s+\S+ |                                   # "15 Hidden ...", "10 best ..."
        top\s+\d+ |                                   # "Top 7 ..."
        (?:best|top)\s+(?:things|places|spots|hidden|restaurants|bars|attractions|day\s+trips)\b |
        (?:things|places|stuff)\s+to\s+(?:do|see|eat|visit)\b |
        (?:hidden\s+gems|underrated|off\s+the\s+beaten\s+path)\b
    )
    """
)


_KNOWN_COMPACT = frozenset(s.replace(" ", "") for s in KNOWN_SITES)
_SITE_LIKE = re.compile(r"\S+\.\w{2,4}")


def is_listicle(title: str) -> bool:
    """A round-up page ("15 Hidden Gems in Pikeville") rather than a page about one place."""
    return bool(_LISTICLE.match(title))


def _domain_core(displayed_link: str | None) -> str | None:
    """ "https://www.atlasobscura.com › places" -> "atlasobscura"."""
    if not displayed_link:
        return None
    host = re.sub(r"^[a-z]+://", "", displayed_link.strip().lower()).split("/")[0].split(" ")[0]
    parts = [p for p in host.split(".") if p and p not in {"www", "m", "en", "com", "org"}]
    if not parts:
        return None
    return re.sub(r"[^a-z0-9]", "", parts[0]) or None


def _compact(text: str) -> str:
    return normalize_name(text).replace(" ", "")


def place_name_from_title(
    title: str,
    *,
    site: str | None = None,
    displayed_link: str | None = None,
    locality: Iterable[str] = (),
) -> str:
    """The best guess at the name of the place a page title is about.

    The title is split on the usual separators (" - ", " | ", " — ", ": "); parts that are the
    site's name (``site``, the domain of ``displayed_link``, or a well-known site), page-ish words
    ("Home", "Menu") or only the locality ("Pikeville, KY") are dropped, and the first part left
    wins. A listicle ("15 Hidden Gems in Pikeville") is kept whole, minus a trailing site name:
    it is a page about many places, and splitting it would invent a place.
    """
    # Memoised: an evaluation sees the same result titles in many searches of a town.
    return _place_name(title, site, displayed_link, tuple(locality))


@lru_cache(maxsize=8192)
def _place_name(
    title: str, site: str | None, displayed_link: str | None, locality: tuple[str, ...]
) -> str:
    title = " ".join(title.split())
    if not title:
        return ""
    parts = [p.strip() for p in _SEPARATORS.split(title) if p and p.strip()]
    sites: frozenset[str] | set[str] = KNOWN_SITES
    compact_sites: frozenset[str] | set[str] = _KNOWN_COMPACT
    if site:
        norm_site = normalize_name(site)
        sites = {*KNOWN_SITES, norm_site}
        compact_sites = {*_KNOWN_COMPACT, norm_site.replace(" ", "")}
    if core := _domain_core(displayed_link):
        compact_sites = {*compact_sites, core}
    places = {_compact(x) for x in locality if x}

    def is_site(part: str) -> bool:
        norm = normalize_name(part)
        compact = norm.replace(" ", "")
        return norm in sites or compact in compact_sites or bool(_SITE_LIKE.fullmatch(part))

    def is_locality(part: str) -> bool:
        pieces = [_compact(p) for p in part.split(",")]
        return bool(places) and all(p in places for p in pieces if p)

    if is_listicle(title):
        while (matches := list(_SEPARATORS.finditer(title))) and is_site(
            title[matches[-1].end() :]
        ):
            title = title[: matches[-1].start()].rstrip()
        return title

    def is_filler(part: str) -> bool:
        return normalize_name(part) in _GENERIC_PARTS or is_locality(part)

    for part in parts:
        if not is_site(part) and not is_filler(part):
            return part
    # Only site names left: on a business's own site ("Home | The Blue Raven") the site's name
    # is the place's name.
    for part in parts:
        if not is_filler(part):
            return part
    return parts[0]


# ------------------------------------------------------------------------------ HTML


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"p", "br", "li", "div", "tr", "h1", "h2", "h3", "h4", "blockquote"}:
            self.parts.append(" ")


def html_to_text(fragment: str) -> str:
    """Visible text of an HTML fragment, entities decoded, whitespace collapsed to one line."""
    parser = _TextExtractor()
    parser.feed(fragment)
    parser.close()
    return " ".join("".join(parser.parts).split())


_SELFTEXT = re.compile(r"<!--\s*SC_OFF\s*-->(.*?)<!--\s*SC_ON\s*-->", re.S)


@lru_cache(maxsize=8192)
def reddit_selftext(content_html: str) -> str:
    """The self-post text of a Reddit feed entry ("" for link posts).

    Reddit wraps the post body in ``<!-- SC_OFF -->...<!-- SC_ON -->``; what follows ("submitted
    by /u/x [link] [comments]") is boilerplate. Memoised: the same posts come back in many
    searches of a town, and parsing their HTML was a tenth of the Reddit source's work.
    """
    match = _SELFTEXT.search(content_html)
    return html_to_text(match.group(1)) if match else ""


# ------------------------------------------------------------------------------ subreddits

STATE_SUBREDDITS: dict[str, str] = {
    # Best effort: the biggest general-purpose subreddit for each state (names are
    # case-insensitive in URLs; the spelling here is the subreddit's own).
    "AL": "Alabama",
    "AK": "alaska",
    "AZ": "arizona",
    "AR": "Arkansas",
    "CA": "California",
    "CO": "Colorado",
    "CT": "Connecticut",
    "DE": "Delaware",
    "DC": "washingtondc",
    "FL": "florida",
    "GA": "Georgia",
    "HI": "Hawaii",
    "ID": "Idaho",
    "IL": "illinois",
    "IN": "Indiana",
    "IA": "Iowa",
    "KS": "kansas",
    "KY": "Kentucky",
    "LA": "Louisiana",
    "ME": "Maine",
    "MD": "maryland",
    "MA": "massachusetts",
    "MI": "Michigan",
    "MN": "minnesota",
    "MS": "mississippi",
    "MO": "missouri",
    "MT": "Montana",
    "NE": "Nebraska",
    "NV": "Nevada",
    "NH": "newhampshire",
    "NJ": "newjersey",
    "NM": "NewMexico",
    "NY": "newyork",
    "NC": "NorthCarolina",
    "ND": "northdakota",
    "OH": "Ohio",
    "OK": "oklahoma",
    "OR": "oregon",
    "PA": "Pennsylvania",
    "RI": "RhodeIsland",
    "SC": "southcarolina",
    "SD": "southdakota",
    "TN": "Tennessee",
    "TX": "texas",
    "UT": "Utah",
    "VT": "vermont",
    "VA": "Virginia",
    "WA": "Washington",
    "WV": "WestVirginia",
    "WI": "wisconsin",
    "WY": "wyoming",
}

_SUBREDDIT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]{2,20}")


def city_subreddit(town: str) -> str | None:
    """The town's subreddit by convention: its name, ASCII, no spaces or punctuation.

    "Pikeville" -> "pikeville", "Eureka Springs" -> "eurekasprings", "St. Louis" -> "stlouis";
    None when that is not a valid subreddit name (3-21 characters).
    """
    name = normalize_name(town).replace(" ", "")
    return name if _SUBREDDIT_NAME.fullmatch(name) else None


def subreddits_for(town: str, state_code: str) -> list[str]:
    """Subreddits worth searching for a place: the state's, then the town's (deduplicated)."""
    out: list[str] = []
    for sub in (STATE_SUBREDDITS.get(state_code.upper()), city_subreddit(town)):
        if sub and sub.lower() not in {s.lower() for s in out}:
            out.append(sub)
    return out


def short_label(name: str, admin1_code: str, admin1: str) -> str:
    """ "Pikeville, KY" (the state spelled out when there is no postal code)."""
    return f"{name}, {admin1_code or admin1}"
