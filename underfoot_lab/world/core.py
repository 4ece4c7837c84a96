"""The offline world: seeded town universes behind the real upstreams' request contracts.

:class:`World` builds (and caches) a :class:`~underfoot_lab.world.model.TownUniverse` per town,
answers HTTP requests in SerpAPI's, Reddit's and Geoapify's formats (:meth:`World.respond`, used
by :class:`~underfoot_lab.world.transport.WorldTransport`), maps every id and URL it emits back
to its latent entity (:meth:`World.entity_for_url`), and grades entities against a query intent
(:meth:`World.grade`). Everything it says is SIMULATED.
"""

from __future__ import annotations

import json
import random
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..geo.gazetteer import Gazetteer, Town
from .ids import IdCodec, TownIndex
from .model import Entity, RedditPost, TownUniverse
from .places import PlaceBuilder
from .render_reddit import CONTENT_TYPE as ATOM_CONTENT_TYPE
from .render_reddit import posts_terms, render_feed, search_posts
from .render_serpapi import (
    SerpRequest,
    error,
    events_terms,
    pages_terms,
    parse_ll,
    places_terms,
    render_google,
    render_google_events,
    render_google_maps,
)
from .scenario import Scenario, load_scenario
from .store import UniverseStore
from .transport import WorldTransport
from .truth import Intent, grade_entity, parse_intent
from .universe import generate_universe

if TYPE_CHECKING:  # pragma: no cover
    from ..settings import Settings
    from .render_geoapify import GeoMatch

# The Eventbrite, Geoapify and Reddit-JSON renderers are imported where used: a search with
# the default sources asks none of those upstreams (start-up, issue 15).

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
SERPAPI_ENGINES = ("google", "google_maps", "google_events")
_SECRET_PARAMS = frozenset({"api_key", "apikey", "apiKey", "key", "token"})
_SUBREDDIT_PATH = re.compile(r"/r/([A-Za-z0-9_]{2,21})/search\.rss")
_EVENTBRITE_PATH = re.compile(r"/v3/(organizations|venues)/([^/]+)/events")
_COUNTRY_SUFFIX = re.compile(r",?\s*(?:united states(?: of america)?|usa|u\.s\.a\.|us)\s*$", re.I)
_CONNECTORS = ("in", "near", "around", "at", "by", "outside")
_RESOLVED_MAX = 200_000
_T3_ID = re.compile(r"t3_([0-9a-z]{7})")
_CID = re.compile(r"\d{1,20}")
_FTID = re.compile(r"0x[0-9a-f]{16}:0x([0-9a-f]{16})", re.I)
_COMMENTS = re.compile(r"/comments/([0-9a-z]{7})(?:/|$)")
_PLAIN_URL = re.compile(r"https?://([A-Za-z0-9._~%!$&'()*+,;=-]+)(/[^?#\s]*)?")
_FILE_SUFFIX = re.compile(r"\.(?:jpg|jpeg|png|html?)$")


def _host_and_path(url: str) -> tuple[str, str]:
    """``urlsplit(url)``'s lower-cased hostname ("" when none) and path. A plain
    ``http(s)://host/path`` URL (the world's own: no user, port, query, fragment or characters
    urlsplit would drop) is read by one regex, the rest by urlsplit (judging resolves ~12k
    mention URLs per ``all`` run)."""
    if m := _PLAIN_URL.fullmatch(url):
        return m.group(1).lower(), m.group(2) or ""
    parts = urlsplit(url)
    return (parts.hostname or "").lower(), parts.path


def _prime_terms(u: TownUniverse) -> None:
    """Fill ``u.memo`` with every term set the renderers read (what they would compute on
    their first request)."""
    pages_terms(u)
    places_terms(u)
    events_terms(u)
    posts_terms(u)


@dataclass(frozen=True, slots=True)
class WorldResponse:
    """One HTTP answer: status, content type, body bytes."""

    status: int
    content_type: str
    body: bytes


class World:
    """A deterministic simulation of the upstreams for any gazetteer town.

    ``World(seed, gazetteer, clock, scenario=...)``: the same seed and scenario give the same
    universes, ids and bytes in every process; ``clock`` is the world's fixed "now" (event dates
    and post ages are relative to it); ``scenario`` (a :class:`Scenario`, a name such as
    ``"null"`` or a YAML path; default ``"default"``) states every modelling assumption.
    ``store_dir`` (optional): a folder where built universes are kept for later processes
    (:class:`~.store.UniverseStore`; :func:`build_world` uses ``UNDERFOOT_HOME/derived/world``).
    Thread-safe.
    """

    def __init__(
        self,
        seed: int,
        gazetteer: Gazetteer,
        clock: datetime,
        *,
        scenario: Scenario | str | Path = "default",
        payload_cache_size: int = 256,
        store_dir: Path | None = None,
    ) -> None:
        self.scenario = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        self.seed = int(seed)
        self.gazetteer = gazetteer
        self.clock = clock if clock.tzinfo is not None else clock.replace(tzinfo=UTC)
        self.codec = IdCodec(self.seed)
        self._universes: dict[str, TownUniverse] = {}
        self._lock = threading.Lock()
        self._building: dict[str, threading.Lock] = {}
        self._payloads: OrderedDict[tuple[Any, ...], WorldResponse] = OrderedDict()
        self._payload_cache_size = payload_cache_size
        self._resolved: dict[str, Entity | None] = {}
        self._store: UniverseStore | None = None
        if store_dir is not None:
            self._store = UniverseStore(
                store_dir,
                seed=self.seed,
                clock=self.clock,
                scenario_hash=self.scenario.hash,
                gazetteer=gazetteer,
            )
        self.towns = TownIndex(gazetteer)

    def __repr__(self) -> str:
        return (
            f"World(seed={self.seed}, clock={self.clock.isoformat()}, "
            f"scenario={self.scenario_name!r}, simulated=True)"
        )

    @property
    def scenario_name(self) -> str:
        """The scenario's ``name`` (``default``, ``null``, ...)."""
        return self.scenario.name

    @property
    def scenario_hash(self) -> str:
        """16 hex digits over the scenario's content and the world's code."""
        return self.scenario.hash

    # ------------------------------------------------------------------ universes
    def universe(self, town: Town) -> TownUniverse:
        """The town's latent universe (built on first use, then cached)."""
        u = self._universes.get(town.key)
        if u is not None:
            return u
        with self._lock:
            building = self._building.setdefault(town.key, threading.Lock())
        # One builder per town: sources asking concurrently (from worker threads) wait for it
        # rather than each building the same universe.
        with building:
            u = self._universes.get(town.key)
            if u is not None:
                return u
            return self._build_universe(town)

    def _build_universe(self, town: Town) -> TownUniverse:
        built = self._store.load(town) if self._store is not None else None
        if built is None:
            built = self._generate(town)
            if self._store is not None:
                # The renderers' term sets go into the store with the universe: reading
                # them back costs a tenth of computing them (~0.4 s on an ``all`` run).
                _prime_terms(built)
                self._store.save(built)
        with self._lock:
            return self._universes.setdefault(town.key, built)

    def _generate(self, town: Town) -> TownUniverse:
        return generate_universe(
            PlaceBuilder(
                seed=self.seed,
                town=town,
                town_index=self.towns.index(town),
                town_slug=self.towns.slug(town),
                gazetteer=self.gazetteer,
                clock=self.clock,
                codec=self.codec,
                scenario=self.scenario,
            )
        )

    def resolve_town(self, name: str, state_code: str | None = None) -> Town | None:
        """The biggest gazetteer town of that name (in that state, when given)."""
        if state_code:
            code = self.gazetteer.state_code(state_code)
            if code is None:
                return None
            found = self.gazetteer.lookup(name, code)
        else:
            found = self.gazetteer.lookup(name)
        return found[0] if found else None

    def split_query(self, text: str) -> tuple[Town | None, str]:
        """ "hidden gems in Pikeville, KY" -> (Pikeville town, "hidden gems").

        The location is "<Town>, <ST>" (or a spelled-out state) at the end of the text; the
        longest run of trailing words that names a town in that state wins. Without a
        resolvable location the whole text is the intent and the town is None.
        """
        text = " ".join(text.split())
        body = _COUNTRY_SUFFIX.sub("", text).strip().rstrip(",")
        state: str | None = None
        head = body
        if "," in body:
            left, right = body.rsplit(",", 1)
            state = self.gazetteer.state_code(right.strip())
            if state is not None:
                head = left
        if state is None:
            words = body.split()
            for k in (2, 1):  # "... Pikeville KY", "... Charleston West Virginia"
                if len(words) > k and (code := self.gazetteer.state_code(" ".join(words[-k:]))):
                    state, head = code, " ".join(words[:-k]).rstrip(",")
                    break
        if state is None:
            return None, text
        words = head.split()
        for k in range(min(6, len(words)), 0, -1):
            if words[-k].lower() in _CONNECTORS:
                continue
            found = self.gazetteer.lookup(" ".join(words[-k:]), state)
            if found:
                rest = words[:-k]
                while rest and rest[-1].lower() in _CONNECTORS:
                    rest = rest[:-1]
                return found[0], " ".join(rest)
        return None, text

    # ------------------------------------------------------------------ truth
    def entity_for_url(self, url: str) -> Entity | None:
        """The latent entity behind any URL or id the world emits (None: not about one entity).

        Works in a fresh process: ids and URLs encode the town and the entity (see
        :mod:`underfoot_lab.world.ids`). Reddit permalinks and ``t3_`` ids resolve to the
        post's subject; listicles, generic pages and off-topic posts resolve to None.
        """
        # Memoised: universes never change, and judging, pools and the domain metrics resolve
        # the same mention URLs several times per run. Bounded by clearing (a long-lived
        # service would otherwise grow it forever); a dict lookup is safe across threads.
        try:
            return self._resolved[url]
        except KeyError:
            pass
        found = self._entity_for_url(url)
        if len(self._resolved) >= _RESOLVED_MAX:
            self._resolved.clear()
        self._resolved[url] = found
        return found

    def _entity_for_url(self, url: str) -> Entity | None:
        s = url.strip()
        if not s:
            return None
        if m := _T3_ID.fullmatch(s):
            return self._post_subject(m.group(1))
        if _CID.fullmatch(s):
            return self._entity_by_cid(int(s))
        if m := _FTID.fullmatch(s):
            return self._entity_by_cid(int(m.group(1), 16))
        if s.startswith("ChIJ"):
            cid = self.codec.decode_maps_place_id(s)
            return self._entity_by_cid(cid) if cid is not None else None
        host, path = _host_and_path(s if "://" in s else f"https://{s}")
        segs = [p for p in path.split("/") if p]
        if host == "reddit.com" or host.endswith(".reddit.com"):
            m = _COMMENTS.search(path)
            return self._post_subject(m.group(1)) if m else None
        if not host.endswith(".example"):
            return None
        labels = host[: -len(".example")].split(".")
        if (
            len(labels) == 2
            and (town := self.towns.by_slug(labels[1])) is not None
            and (e := self.universe(town).by_slug.get(labels[0])) is not None
        ):
            return e
        for i in range(len(segs) - 1):
            town = self.towns.by_slug(segs[i])
            if town is None:
                continue
            slug = _FILE_SUFFIX.sub("", segs[i + 1])
            if (e := self.universe(town).by_slug.get(slug)) is not None:
                return e
        return None

    def post_for_url(self, url: str) -> RedditPost | None:
        """The Reddit post behind a permalink or ``t3_`` id."""
        m = re.search(r"(?:^t3_|/comments/)([0-9a-z]{7})(?:/|$)", url.strip())
        return self._post(m.group(1)) if m else None

    def _post_in(self, id36: str) -> tuple[TownUniverse, RedditPost] | None:
        decoded = self.codec.decode_reddit_id(id36)
        if decoded is None:
            return None
        town = self.towns.town_at(decoded[0])
        if town is None:
            return None
        u = self.universe(town)
        post = u.post(decoded[1])
        return (u, post) if post is not None and post.id36 == id36 else None

    def _post(self, id36: str) -> RedditPost | None:
        found = self._post_in(id36)
        return found[1] if found is not None else None

    def _post_subject(self, id36: str) -> Entity | None:
        found = self._post_in(id36)
        if found is None or found[1].subject is None:
            return None
        return found[0].entity(found[1].subject)

    def _entity_by_cid(self, cid: int) -> Entity | None:
        decoded = self.codec.decode_cid(cid)
        if decoded is None:
            return None
        town = self.towns.town_at(decoded[0])
        if town is None:
            return None
        e = self.universe(town).entity(decoded[1])
        return e if e is not None and e.cid == cid else None

    def grade(self, town: Town, intent: str | Intent, entity: Entity) -> int:
        """Graded relevance 0-3 (definition in ``docs/offline-world.md``)."""
        if entity.town_key != town.key:
            return 0
        it = intent if isinstance(intent, Intent) else parse_intent(intent)
        return grade_entity(it, entity, self.clock, self.scenario.grade)

    def grade_urls(self, town: Town, intent: str | Intent, urls: Sequence[str]) -> int:
        """Grade of a merged result from its mention URLs/ids: the majority entity's grade.

        Ties go to the entity resolved first; 0 when no URL resolves (a generic listicle).
        """
        resolved = [e for e in (self.entity_for_url(u) for u in urls) if e is not None]
        if not resolved:
            return 0
        counts = Counter(e.id for e in resolved)
        best = max(counts.values())
        winner = next(e for e in resolved if counts[e.id] == best)
        return self.grade(town, intent, winner)

    def judgments(self, town: Town, intent: str | Intent) -> dict[str, int]:
        """Entity id -> grade for every entity of the town (the full pool, for ideal rankings)."""
        it = intent if isinstance(intent, Intent) else parse_intent(intent)
        spec = self.scenario.grade
        return {e.id: grade_entity(it, e, self.clock, spec) for e in self.universe(town).entities}

    # ------------------------------------------------------------------ HTTP
    def respond(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | Iterable[tuple[str, str]],
    ) -> WorldResponse:
        """Answer one request as the real upstream would (the host is ignored)."""
        items = list(params.items()) if isinstance(params, Mapping) else list(params)
        query: dict[str, str] = {}
        for k, v in items:
            query[k] = v  # the last value wins, as most servers do
        path = "/" + path.strip("/")
        key = (
            method.upper(),
            path,
            tuple(sorted((k, v) for k, v in query.items() if k not in _SECRET_PARAMS)),
        )
        with self._lock:
            hit = self._payloads.get(key)
            if hit is not None:
                self._payloads.move_to_end(key)
                return hit
        res = self._route(method.upper(), path, query, key)
        with self._lock:
            self._payloads[key] = res
            while len(self._payloads) > self._payload_cache_size:
                self._payloads.popitem(last=False)
        return res

    def _rng(self, key: tuple[Any, ...]) -> random.Random:
        # The scenario is part of the key: two worlds never share a response's noise by accident.
        seed = f"underfoot-world|{self.seed}|{self.scenario.content_hash}|{key!r}"
        return random.Random(seed)  # nosec B311 -- a simulated world, seeded on purpose

    def _route(
        self, method: str, path: str, query: dict[str, str], key: tuple[Any, ...]
    ) -> WorldResponse:
        if method not in {"GET", "HEAD"}:
            return _json(405, {"error": f"Method {method} not allowed."})
        if path == "/search.json" and "engine" not in query and not _SECRET_PARAMS & set(query):
            # SerpAPI and Reddit share this path; SerpAPI refuses keyless calls, so a call
            # with neither an engine nor a key is Reddit's JSON listing.
            return self._reddit_json(query)
        if path == "/search.json":
            return self._serpapi(query, self._rng(key))
        if path == "/search.rss":
            return self._reddit(query, None, self._rng(key))
        if m := _SUBREDDIT_PATH.fullmatch(path):
            return self._reddit(query, m.group(1), self._rng(key))
        if path == "/v1/geocode/search":
            return self._geoapify(query)
        if m := _EVENTBRITE_PATH.fullmatch(path):
            return self._eventbrite(m.group(1), m.group(2), path, query, self._rng(key))
        return _json(404, {"error": "Not Found", "message": f"No route for {path}"})

    def _town_for(self, query: Mapping[str, str]) -> tuple[Town | None, str]:
        town, intent = self.split_query(query.get("q", ""))
        if town is None and (loc := query.get("location")):
            town, _ = self.split_query(loc)
        if town is None and (ll := parse_ll(query.get("ll", ""))):
            near, d = self.gazetteer.nearest(ll[0], ll[1])
            if d <= 30.0:
                town = near
        return town, intent

    def _serpapi(self, query: dict[str, str], rng: random.Random) -> WorldResponse:
        engine = query.get("engine", "google")
        engines = self.scenario.engines
        if engine not in SERPAPI_ENGINES:
            return _json(*error(f"Unsupported `{engine}` search engine."))
        if not query.get("q", "").strip():
            return _json(*error("Missing query `q` parameter."))
        town, intent_text = self._town_for(query)
        u = self.universe(town) if town is not None else None
        intent = parse_intent(intent_text)
        if engine == "google_events" and "events" not in intent.groups:
            intent = parse_intent(f"{intent_text} events")
        request = SerpRequest(u, intent, query, self.clock, rng, self.codec, engines)
        if engine == "google":
            body = render_google(request)
        elif engine == "google_maps":
            body = render_google_maps(request)
        else:
            body = render_google_events(request)
        return _json(200, body)

    def _reddit(self, query: dict[str, str], sub: str | None, rng: random.Random) -> WorldResponse:
        town, intent_text = self._town_for(query)
        u = self.universe(town) if town is not None else None
        if sub is not None and u is not None:
            # Subreddit names are case-insensitive; feeds spell them the subreddit's way.
            sub = next((s for s in u.subreddits if s.lower() == sub.lower()), sub)
        feed = render_feed(self._posts(u, intent_text, query, sub, rng), query, sub, self.clock)
        return WorldResponse(200, ATOM_CONTENT_TYPE, feed.encode("utf-8"))

    def _reddit_json(self, query: dict[str, str]) -> WorldResponse:
        town, intent_text = self._town_for(query)
        u = self.universe(town) if town is not None else None
        # The Atom feed's key, so a listing holds the very posts the feed holds for the same
        # q/sort/t/limit (the two formats of one search).
        rng = self._rng(("GET", "/search.rss", tuple(sorted(query.items()))))
        posts = self._posts(u, intent_text, query, None, rng)
        from .render_reddit_json import CONTENT_TYPE, render_listing

        body = json.dumps(render_listing(posts, query), ensure_ascii=False).encode("utf-8")
        return WorldResponse(200, CONTENT_TYPE, body)

    def _posts(
        self,
        u: TownUniverse | None,
        intent_text: str,
        query: Mapping[str, str],
        sub: str | None,
        rng: random.Random,
    ) -> list[RedditPost]:
        """The posts a Reddit search finds (the Atom feed and the JSON listing are two formats
        of one search); none when the town is unknown."""
        if u is None:
            return []
        intent = parse_intent(intent_text)
        return search_posts(u, intent, query, sub, self.clock, rng, self.scenario.engines.reddit)

    def eventbrite_ids(self, town: Town) -> dict[str, list[str]]:
        """The world's Eventbrite ids of a town: its events calendar (one organization) and
        every place hosting its events (venues), for a mapping file."""
        from .render_eventbrite import organization_id, venue_id

        u = self.universe(town)
        venues = sorted({e.venue_index for e in u.entities if e.venue_index is not None})
        return {
            "organizations": [organization_id(u.town_index)],
            "venues": [venue_id(u.town_index, v) for v in venues],
        }

    def _eventbrite(
        self, kind: str, ident: str, path: str, query: dict[str, str], rng: random.Random
    ) -> WorldResponse:
        from .render_eventbrite import decode_id, not_found
        from .render_eventbrite import render_listing as render_eventbrite_listing

        decoded = decode_id(kind, ident)
        town = self.towns.town_at(decoded[0]) if decoded is not None else None
        if decoded is None or town is None:
            return _json(404, not_found(path + "/"))
        u = self.universe(town)
        body = render_eventbrite_listing(
            u, decoded[1], query, self.clock, rng, self.scenario.engines
        )
        return _json(200, body)

    def geocode_matches(self, text: str) -> tuple[list[GeoMatch], dict[str, str]]:
        """What Geoapify would match for ``text``, and its ``query.parsed`` block."""
        from .render_geoapify import GeoMatch

        clean = _COUNTRY_SUFFIX.sub("", " ".join(text.split())).strip().rstrip(",")
        if re.fullmatch(r"\d{5}", clean):
            z = self.gazetteer.zip_code(clean)
            if z is None:
                return [], {"postcode": clean, "expected_type": "postcode"}
            towns = self.gazetteer.lookup(z.city, z.state_code)
            return (
                [GeoMatch(towns[0] if towns else None, z, 1.0, "full_match")],
                {"postcode": clean, "expected_type": "postcode"},
            )
        name, state_text, code = clean, "", None
        if "," in clean:
            left, right = clean.rsplit(",", 1)
            if (c := self.gazetteer.state_code(right.strip())) is not None:
                name, state_text, code = left.strip(), right.strip(), c
        else:
            words = clean.split()
            for k in (2, 1):
                if len(words) > k and (c := self.gazetteer.state_code(" ".join(words[-k:]))):
                    name, state_text, code = " ".join(words[:-k]), " ".join(words[-k:]), c
                    break
        parsed = {"city": name.lower()}
        if state_text:
            parsed["state"] = state_text.lower()
        parsed["expected_type"] = "city"
        towns = self.gazetteer.lookup(name, code) if name else []
        if not towns:
            return [], parsed
        if len(towns) == 1:
            conf = [1.0 if code else 0.9]
        else:
            top = 0.7 if code else 0.6
            conf = [top] + [round(top - 0.2, 2)] * (len(towns) - 1)
        return [
            GeoMatch(t, None, c, "full_match") for t, c in zip(towns, conf, strict=True)
        ], parsed

    def _geoapify(self, query: dict[str, str]) -> WorldResponse:
        text = query.get("text", "")
        if not text.strip():
            return _json(
                400,
                {"statusCode": 400, "error": "Bad Request", "message": '"text" is required'},
            )
        from .render_geoapify import render_geocode

        matches, parsed = self.geocode_matches(text)
        try:
            limit = max(1, min(20, int(query.get("limit", "5"))))
        except ValueError:
            limit = 5
        body = render_geocode(
            matches[:limit],
            text,
            parsed,
            state_names=self.gazetteer.states,
            year=self.clock.year,
            fmt=query.get("format", "geojson"),
        )
        return _json(200, body)

    def transport(self) -> WorldTransport:
        """A :class:`~underfoot_lab.world.transport.WorldTransport` over this world."""
        return WorldTransport(self)


def _json(status: int, body: dict[str, Any]) -> WorldResponse:
    return WorldResponse(
        status, JSON_CONTENT_TYPE, json.dumps(body, ensure_ascii=False).encode("utf-8")
    )


def build_world(settings: Settings, gazetteer: Gazetteer | None = None) -> World:
    """The world for ``settings.world_seed``, ``settings.world_clock`` and ``settings.world``
    (a scenario name or YAML path; gazetteer: shared), keeping built universes under
    ``settings.home / "derived" / "world"`` for later processes."""
    if gazetteer is None:
        from ..geo.gazetteer import get_gazetteer

        gazetteer = get_gazetteer()
    return World(
        settings.world_seed,
        gazetteer,
        settings.world_clock,
        scenario=settings.world,
        store_dir=Path(settings.home) / "derived" / "world",
    )
