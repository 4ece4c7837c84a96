"""A town's simulated web (what ``engine=google`` ranks), written from apparent views only.

Blog posts (more likely for well-reviewed places), review-site pages, official websites, event
pages, clickbait for every place that LOOKS like a tourist trap, listicles, generic pages and
Reddit threads. Whether a page speaks the scenario's ``gem`` or ``clickbait`` language is drawn
from the scenario's ``language`` logits over the place's apparent view.
"""

from __future__ import annotations

import math
from datetime import timedelta

from .ids import slugify
from .latent import logit_p
from .model import (
    BLOGS,
    CLICKBAIT_SITES,
    EVENT_SITES,
    LISTICLE_SITES,
    REVIEW_SITES,
    TRAVEL_SITE,
    Entity,
    RedditPost,
    WebPage,
    fmt_date,
)
from .places import PlaceBuilder
from .posts import say

_GROUP_OF_TYPE = {
    "Hiking area": "outdoors", "Waterfall": "outdoors", "Cave": "outdoors",
    "Swimming hole": "swimming", "Scenic spot": "outdoors", "Diner": "food", "Bar": "bars",
    "Coffee shop": "food", "Museum": "history", "Record store": "shopping", "Public art": "art",
    "Brewery": "bars", "Antique store": "shopping", "Tourist attraction": "oddities",
    "Historical landmark": "history",
}  # fmt: skip


def _disp(host: str, *parts: str) -> str:
    return " › ".join([f"https://{host}", *parts])


def _page(kind: str, title: str, link: str, disp: str, source: str, snippet: str,
          date: str | None, e: Entity | None, authority: float) -> WebPage:  # fmt: skip
    return WebPage(
        kind=kind,  # type: ignore[arg-type]
        title=title,
        link=link,
        displayed_link=disp,
        source=source,
        snippet=snippet,
        date=date,
        entity=None if e is None else e.index,
        mentions=() if e is None else (e.index,),
        theme=None,
        authority=authority,
    )


def build_pages(b: PlaceBuilder, posts: list[RedditPost]) -> list[WebPage]:
    """Every page of the town's web."""
    rng, town, clock = b.rng, b.town, b.clock
    ts, st = b.town_slug, town.state_code
    lang = b.scenario.language
    pages: list[WebPage] = []

    def page_date() -> str:
        return fmt_date(clock - timedelta(days=rng.uniform(20, 1500)))

    for e in b.entities:
        view = b.views[e.index]
        if e.looks_trap:
            site, host = rng.choice(CLICKBAIT_SITES)
            bait = say(b, "clickbait", e)
            pages.append(
                _page("clickbait", f"{e.name}: {say(b, 'clickbait', e)} - {site}",
                      f"https://{host}/{ts}/{e.slug}", _disp(host, ts, e.slug), site,
                      f"{bait} {e.name} near {town.name}, {st}. {say(b, 'clickbait', e)}",
                      page_date(), e, 0.7)
            )  # fmt: skip
        if e.kind == "event":
            if rng.random() < 0.35 + 0.5 * e.web_presence:
                assert e.starts_at is not None and e.link is not None
                local = e.starts_at.astimezone(b.tz)
                host = e.link.split("/")[2]
                site = next(s for s, h in EVENT_SITES if h == host)
                pages.append(
                    _page("event", f"{e.name} - {local:%b} {local.day}, {local.year} - "
                          f"{e.locality}, {e.locality_state}", e.link, _disp(host, ts, e.slug),
                          site, f"{local:%a}, {local:%b} {local.day}. {e.description}", None, e,
                          0.5)
                )  # fmt: skip
            continue
        if e.looks_trap or rng.random() < 0.25 + 0.6 * e.web_presence:
            site, host = rng.choice(BLOGS)
            if rng.random() < logit_p(lang.gem, view):
                voice = say(b, "gem", e)
            elif rng.random() < logit_p(lang.clickbait, view):
                voice = say(b, "clickbait", e)
            else:
                voice = say(b, "plain", e)
            pages.append(
                _page("blog", f"{e.name}: {voice} - {site}", f"https://{host}/{ts}/{e.slug}",
                      _disp(host, ts, e.slug), site, f"{voice} {e.description}", page_date(), e,
                      0.35)
            )  # fmt: skip
        if e.looks_trap or e.reviews >= 300 or rng.random() < 0.2 * e.web_presence:
            group = _GROUP_OF_TYPE.get(e.google_type, "")
            site, host = REVIEW_SITES.get(group, TRAVEL_SITE)
            if e.reviews >= 300 or e.looks_trap:
                site, host = TRAVEL_SITE
            pages.append(
                _page("review",
                      f"{e.name} ({e.locality}) - All You Need to Know BEFORE You Go - {site}",
                      f"https://{host}/{ts}/{e.slug}", _disp(host, ts, e.slug), site,
                      f"{e.name}, {e.locality}: {e.reviews:,} reviews. {e.description}", None, e,
                      0.85)
            )  # fmt: skip
        if e.website is not None and rng.random() < 0.7:
            host = e.website.split("/")[2]
            pages.append(
                _page("official", f"{e.name} | {e.locality}, {e.locality_state}", e.website,
                      f"https://{host}", host, e.description, None, e, 0.5)
            )  # fmt: skip
    if b.scenario.corpus.listicles:
        pages.extend(_listicles(b))
    if b.scenario.corpus.generic_pages:
        pages.extend(_generic_pages(b))
    for p in posts:
        if p.subject is None or rng.random() < 0.5:
            continue
        pages.append(
            WebPage(
                kind="reddit",
                title=f"{p.title} : r/{p.subreddit}",
                link=p.permalink,
                displayed_link=f"https://www.reddit.com › r › {p.subreddit} › comments",
                source=f"Reddit · r/{p.subreddit}",
                snippet=p.text[:180],
                date=fmt_date(p.published),
                entity=p.subject,
                mentions=p.mentions,
                theme=None,
                authority=0.6,
            )
        )
    return pages


def _listicles(b: PlaceBuilder) -> list[WebPage]:
    rng, town = b.rng, b.town
    st, ts = town.state_code, b.town_slug
    themes: list[tuple[str, str]] = [
        ("broad", f"{{n}} Hidden Gems in {town.name}, {st} You Have to See"),
        ("broad", f"The {{n}} Best Things to Do in {town.name}, {st}"),
        ("broad", f"Top 10 Must-See Hidden Gems in {town.name} (#1 Will Surprise You!)"),
        ("swimming", f"{{n}} Swimming Holes Near {town.name} to Cool Off This Summer"),
        ("oddities", f"{{n}} Weird Roadside Oddities Near {town.name}, {st}"),
        ("food", f"{{n}} Best Restaurants in {town.name}, {st}"),
        ("bars", f"{{n}} Best Dive Bars in {b.county} County"),
        ("history", f"{{n}} Historic Sites Around {town.name}"),
        ("outdoors", f"{{n}} Best Hikes and Waterfalls Near {town.name}"),
        ("events", f"{{n}} Things to Do in {town.name} This Summer"),
    ]
    chosen = [themes[0], *rng.sample(themes[1:], rng.randint(4, 6))]
    out: list[WebPage] = []
    for theme, template in chosen:
        # Listicle writers pick by what they see: the place's apparent type and its reviews.
        if theme == "broad":
            pool = [e for e in b.entities if e.kind == "place"]
        elif theme == "events":
            pool = [e for e in b.entities if e.kind == "event"]
        else:
            pool = [e for e in b.entities if _GROUP_OF_TYPE.get(e.google_type) == theme]
        if not pool:
            continue
        w = [math.log10(e.reviews + 10) ** 2 * (3.0 if e.looks_trap else 1.0) for e in pool]
        picks: list[Entity] = []
        for _ in range(12):
            e = rng.choices(pool, w)[0]
            if e not in picks:
                picks.append(e)
            if len(picks) == 3:
                break
        n = rng.choice((7, 9, 10, 12, 15, 21))
        title = template.format(n=n)
        site, host = rng.choice(LISTICLE_SITES)
        tail = slugify(title)[:60].strip("-")
        names = [e.name for e in picks]
        listed = ", ".join(names[:-1]) + (f" and {names[-1]}" if len(names) > 1 else names[0])
        out.append(
            WebPage(
                kind="listicle",
                title=f"{title} - {site}",
                link=f"https://{host}/{ts}/list/{tail}",
                displayed_link=f"https://{host} › {ts} › list",
                source=site,
                snippet=f"From {listed}, these are the spots in and around {town.name} "
                "you can't miss...",
                date=fmt_date(b.clock - timedelta(days=rng.uniform(30, 900))),
                entity=None,
                mentions=tuple(e.index for e in picks),
                theme=theme,
                authority=0.9,
            )
        )
    return out


def _generic_pages(b: PlaceBuilder) -> list[WebPage]:
    town, ts = b.town, b.town_slug
    label = f"{town.name}, {town.state}"
    county_slug = slugify(b.county)
    return [
        WebPage("generic", f"{label} - Encyclopedia", f"https://encyclopedia.example/wiki/{ts}",
                f"https://encyclopedia.example › wiki › {ts}", "Encyclopedia",
                f"{town.name} is a city in {town.county or town.state}, {town.state}, "
                f"United States. The population was {town.population:,}.",
                None, None, (), None, 1.0),
        WebPage("generic", f"City of {town.name} - Official Website",
                f"https://city-of-{ts}.example/", f"https://city-of-{ts}.example",
                f"City of {town.name}", f"Official website of the City of {town.name}, "
                f"{town.state_code}: services, news, parks and visitor information.",
                None, None, (), None, 0.95),
        WebPage("generic", f"Visit {b.county} County - Tourism",
                f"https://visit-{county_slug}-{town.state_code.lower()}.example/",
                f"https://visit-{county_slug}-{town.state_code.lower()}.example",
                f"Visit {b.county} County",
                f"Plan your trip to {b.county} County: lodging, dining, outdoor "
                "adventures and events.",
                None, None, (), None, 0.9),
        WebPage("generic", f"{town.name}, {town.state_code} 10-Day Weather Forecast",
                f"https://weather.example/forecast/{ts}",
                f"https://weather.example › forecast › {ts}", "Weather Example",
                f"Today's and tonight's {town.name}, {town.state_code} weather forecast.",
                None, None, (), None, 0.8),
    ]  # fmt: skip
