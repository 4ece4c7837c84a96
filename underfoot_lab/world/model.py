"""The latent universe of one town: entities, Reddit posts and web pages, generated from a seed.

:func:`generate_universe` is a pure function of ``(seed, town, gazetteer, clock)``: it draws from
``random.Random(f"underfoot-world|{seed}|{town.key}")`` only, so a town's universe is the same in
every process and independent of which towns were built before it. Everything the renderers show
is a noisy view of these records; the records themselves are the ground truth.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from ..geo.gazetteer import Gazetteer, Town, haversine_km, normalize_name
from .catalog import (
    CLICKBAIT,
    DECOYS,
    EVENT_CATEGORIES,
    PLACE_CATEGORIES,
    CategorySpec,
    DecoySpec,
)
from .ids import IdCodec, slugify
from .names import (
    ANTIQUES,
    BEERS,
    DISHES,
    GENRES,
    HISTORIC_DETAILS,
    MUSEUM_THEMES,
    ODD_DETAILS,
    NameMaker,
    county_root,
    place_root,
)
from .truth import HIDDEN_MAX_REVIEWS
from .tz import timezone_name

Kind = Literal["place", "event"]
PageKind = Literal[
    "blog", "review", "clickbait", "official", "event", "listicle", "generic", "reddit"
]

# ----------------------------------------------------------------------------- sites
BLOGS: tuple[tuple[str, str], ...] = (
    ("Backroads Wanderer", "backroads-wanderer.example"),
    ("Small Town Scout", "small-town-scout.example"),
    ("The Detour Diaries", "detour-diaries.example"),
    ("Hollow & Ridge", "hollow-and-ridge.example"),
    ("Weekend Rambler", "weekend-rambler.example"),
    ("County Road Chronicles", "county-road-chronicles.example"),
    ("Off the Interstate", "off-the-interstate.example"),
    ("Two Lane Travels", "two-lane-travels.example"),
)
REVIEW_SITES: dict[str, tuple[str, str]] = {
    "outdoors": ("TrailLog", "traillog.example"),
    "swimming": ("TrailLog", "traillog.example"),
    "food": ("LocalEats Guide", "local-eats.example"),
    "bars": ("LocalEats Guide", "local-eats.example"),
    "oddities": ("Atlas of Oddities", "oddities-atlas.example"),
    "history": ("Marker Hunt", "marker-hunt.example"),
    "art": ("Marker Hunt", "marker-hunt.example"),
    "shopping": ("TripReviews", "trip-reviews.example"),
}
TRAVEL_SITE = ("TripReviews", "trip-reviews.example")
CLICKBAIT_SITES = (
    ("MustSee Daily", "mustsee-daily.example"),
    ("Viral Trips", "viral-trips.example"),
)
LISTICLE_SITES = (
    ("TripReviews", "trip-reviews.example"),
    ("Wanderly Lists", "wanderly-lists.example"),
    ("The Road Guide", "the-road-guide.example"),
)
EVENT_SITES = (
    ("Local Calendar", "local-calendar.example"),
    ("TicketHollow", "tickethollow.example"),
)
MAPS_HOST = "maps.example"
IMAGES_HOST = "img.example"

CATEGORY_PHRASE: dict[str, str] = {
    "trail": "hike",
    "waterfall": "waterfall",
    "cave": "cave",
    "swimming_hole": "swimming hole",
    "overlook": "overlook",
    "diner": "diner",
    "dive_bar": "dive bar",
    "cafe": "coffee shop",
    "museum": "museum",
    "record_store": "record store",
    "mural": "mural",
    "brewery": "brewery",
    "antique_shop": "antique shop",
    "oddity": "roadside oddity",
    "historic_site": "historic site",
    "concert": "concert",
    "festival": "festival",
    "market": "market",
    "trivia_night": "trivia night",
}


@dataclass(frozen=True, slots=True)
class Entity:
    """One latent place or event of a town universe (the ground truth the renderers blur)."""

    id: str
    """Globally unique and stable for a seed: ``"<town-slug>/<entity-slug>"``."""
    index: int
    town_key: str
    name: str
    slug: str
    category: str
    kind: Kind
    groups: tuple[str, ...]
    weak_groups: tuple[str, ...]
    tags: tuple[str, ...]
    quality: float
    """Latent quality, 0..1 (never shown directly; ratings are a noisy function of it)."""
    reviews: int
    """Popularity: review count (events: people interested). Heavy-tailed."""
    rating: float
    hidden: bool
    """Fewer than ``truth.HIDDEN_MAX_REVIEWS`` reviews."""
    decoy: bool
    """A tourist trap sold as a "hidden gem" (popular, mediocre)."""
    lat: float
    lon: float
    distance_km: float
    """From the town's centre."""
    locality: str
    """The town the address is in (may be a neighbouring town, or in another state)."""
    locality_state: str
    address: str
    description: str
    google_type: str
    google_types: tuple[str, ...]
    cid: int
    """The numeric id every SerpAPI id of this entity is derived from."""
    web_presence: float
    website: str | None
    price: str | None = None
    phone: str | None = None
    hours: tuple[int, int] | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    venue: str | None = None
    venue_index: int | None = None
    link: str | None = None
    """Events: the ticket/calendar page (what ``google_events`` links to)."""
    thumbnail: str | None = None

    def expired(self, clock: datetime) -> bool:
        """An event that has ended by ``clock`` (places never expire)."""
        return self.ends_at is not None and self.ends_at <= clock

    def event_status(self, clock: datetime) -> str | None:
        """ "expired", "upcoming" (within 60 days), "far_future", or None for places."""
        if self.kind != "event" or self.starts_at is None:
            return None
        if self.expired(clock):
            return "expired"
        return "upcoming" if self.starts_at - clock <= timedelta(days=60) else "far_future"


@dataclass(frozen=True, slots=True)
class RedditPost:
    """A self post in one of the town's subreddits."""

    index: int
    id36: str
    subreddit: str
    title: str
    paragraphs: tuple[str, ...]
    author: str
    published: datetime
    updated: datetime
    mentions: tuple[int, ...]
    """Entity indices the post talks about; the first is the post's subject."""
    kind: str
    permalink: str

    @property
    def subject(self) -> int | None:
        return self.mentions[0] if self.mentions else None

    @property
    def text(self) -> str:
        return " ".join(self.paragraphs)


@dataclass(frozen=True, slots=True)
class WebPage:
    """One page of the town's simulated web (what ``engine=google`` ranks)."""

    kind: PageKind
    title: str
    link: str
    displayed_link: str
    source: str
    snippet: str
    date: str | None
    entity: int | None
    """The entity the page is about (None: listicles, generic pages)."""
    mentions: tuple[int, ...]
    theme: str | None
    """Listicles: the intent group they round up ("broad" for hidden-gem lists)."""
    authority: float


@dataclass(frozen=True)
class TownUniverse:
    """Everything the world knows about one town, for one seed."""

    town: Town
    town_index: int
    town_slug: str
    timezone: str
    entities: tuple[Entity, ...]
    posts: tuple[RedditPost, ...]
    pages: tuple[WebPage, ...]
    subreddits: tuple[str, ...]
    """Subreddits with posts: the state's, the town's (when a valid name), and generic ones."""
    by_slug: dict[str, Entity] = field(default_factory=dict, compare=False, repr=False)

    def entity(self, index: int) -> Entity | None:
        return self.entities[index] if 0 <= index < len(self.entities) else None

    def post(self, index: int) -> RedditPost | None:
        return self.posts[index] if 0 <= index < len(self.posts) else None

    @property
    def places(self) -> tuple[Entity, ...]:
        return tuple(e for e in self.entities if e.kind == "place")

    @property
    def events(self) -> tuple[Entity, ...]:
        return tuple(e for e in self.entities if e.kind == "event")


# ----------------------------------------------------------------------------- helpers
def destination(lat: float, lon: float, km: float, bearing_deg: float) -> tuple[float, float]:
    """The point ``km`` away from (lat, lon) along ``bearing_deg`` (great circle)."""
    r = 6371.0088
    d = km / r
    b = math.radians(bearing_deg)
    p1, l1 = math.radians(lat), math.radians(lon)
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(b))
    l2 = l1 + math.atan2(
        math.sin(b) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2)
    )
    return math.degrees(p2), (math.degrees(l2) + 540.0) % 360.0 - 180.0


def state_subreddit(state: str, state_code: str) -> str:
    """The state's subreddit by convention ("North Carolina" -> "NorthCarolina")."""
    if state_code == "DC":
        return "washingtondc"
    return "".join(ch for ch in state if ch.isalnum())


def town_subreddit(name: str) -> str | None:
    """The town's subreddit by convention ("Eureka Springs" -> "eurekasprings")."""
    sub = normalize_name(name).replace(" ", "")
    return sub if 3 <= len(sub) <= 21 else None


def reddit_slug(title: str) -> str:
    words = "".join(ch if ch.isalnum() else " " for ch in title.lower()).split()
    out: list[str] = []
    for w in words:
        if len("_".join([*out, w])) > 50:
            break
        out.append(w)
    return "_".join(out) or "post"


def fmt_date(dt: datetime) -> str:
    """ "Mar 3, 2024" (Google's snippet date)."""
    return f"{dt:%b} {dt.day}, {dt.year}"


def _clip(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


@dataclass
class _Slot:
    """A place to be generated (category, and the roles it plays)."""

    category: str
    gem: bool = False
    tourist: bool = False
    decoy: DecoySpec | None = None


class _Builder:
    """Holds the RNG and the state of one universe while it is generated."""

    def __init__(
        self,
        *,
        seed: int,
        town: Town,
        town_index: int,
        town_slug: str,
        gazetteer: Gazetteer,
        clock: datetime,
        codec: IdCodec,
    ) -> None:
        self.seed = seed
        self.town = town
        self.town_index = town_index
        self.town_slug = town_slug
        self.clock = clock
        self.codec = codec
        self.rng = random.Random(f"underfoot-world|{seed}|{town.key}")
        self.tzname = timezone_name(town.state_code, town.lat, town.lon)
        self.tz = ZoneInfo(self.tzname)
        hood = gazetteer.nearby(town.lat, town.lon, 130.0)
        self.hood = hood
        self.near = [(t, d) for t, d in hood if d <= 22.0 and t.key != town.key]
        self.band = [(t, d) for t, d in hood if 27.0 <= d <= 78.0]
        self.far = [(t, d) for t, d in hood if 82.0 <= d <= 130.0]
        roots = [place_root(t.name) for t, d in hood if d <= 80.0][:40]
        self.county = county_root(town.county, town.name)
        self.names = NameMaker(
            self.rng,
            town=town.name,
            county=self.county,
            state=town.state,
            local_roots=[*roots, self.county],
        )
        self.area_code = self.rng.randint(201, 989)
        self.phone_seq = self.rng.randint(0, 99)
        pop = max(town.population, 100)
        self.review_mu = 3.3 + 0.15 * math.log10(pop / 1000.0)
        self.entities: list[Entity] = []

    # ------------------------------------------------------------------ location
    def _locality(self, lat: float, lon: float) -> Town:
        best, best_d = self.town, haversine_km(lat, lon, self.town.lat, self.town.lon)
        for t, _ in self.hood:
            d = haversine_km(lat, lon, t.lat, t.lon)
            if d < best_d:
                best, best_d = t, d
        return best

    def _zone(self, slot: _Slot) -> str:
        if slot.gem or slot.decoy is not None:
            return "near"
        r = self.rng.random()
        if r < 0.05:
            return "far"
        if r < 0.43:
            return "band"
        return "near"

    def _place_point(self, zone: str, urban: bool) -> tuple[float, float, Town]:
        rng, town = self.rng, self.town
        if urban:
            pool = {"near": self.near, "band": self.band, "far": self.far}[zone]
            if zone == "near":
                host = town if (not pool or rng.random() < 0.7) else rng.choice(pool)[0]
                jitter = rng.uniform(0.1, 1.8)
            elif pool:
                host = rng.choice(pool)[0]
                jitter = rng.uniform(0.1, 1.2)
            else:
                host = None
                jitter = 0.0
            if host is not None:
                lat, lon = destination(host.lat, host.lon, jitter, rng.uniform(0, 360))
                return lat, lon, host
        km = {
            "near": 0.8 + 23.0 * rng.random() ** 0.8,
            "band": rng.uniform(26.0, 79.0),
            "far": rng.uniform(82.0, 130.0),
        }[zone]
        lat, lon = destination(town.lat, town.lon, km, rng.uniform(0, 360))
        return lat, lon, self._locality(lat, lon)

    # ------------------------------------------------------------------ popularity
    def _reviews(self, quality: float, slot: _Slot) -> int:
        rng = self.rng
        if slot.decoy is not None:
            return int(min(9000, 700 + 1000 * rng.paretovariate(1.5)))
        if slot.tourist:
            return int(min(8000, 500 * rng.paretovariate(1.2)))
        n = rng.lognormvariate(self.review_mu + 0.6 * (quality - 0.5), 1.1)
        if slot.gem:
            n = min(n, 15 + 120 * rng.random())
        return max(1, round(n))

    def _rating(self, quality: float, reviews: int) -> float:
        sd = 0.25 + 0.9 / math.sqrt(reviews)
        r = 3.0 + 2.0 * quality + self.rng.gauss(0.0, sd)
        if reviews > 500:
            r = 0.5 * r + 0.5 * 4.4  # many reviews pull ratings to the mean
        return round(_clip(r, 1.0, 5.0), 1)

    def _phone(self) -> str:
        self.phone_seq = (self.phone_seq + self.rng.randint(1, 7)) % 100
        # 555-0100..0199 are reserved for fiction.
        return f"({self.area_code}) 555-01{self.phone_seq:02d}"

    def _blurb(self, spec: CategorySpec, near: str) -> str:
        rng, names = self.rng, self.names
        odd = rng.choice(ODD_DETAILS).format(obj=rng.choice(("teapot", "boot", "banjo", "frog")))
        return names.fill(
            rng.choice(spec.blurbs),
            miles=f"{rng.choice((1.5, 2, 2.5, 3, 4, 5.5))}",
            height=str(rng.randint(12, 90)),
            near=near,
            dish=rng.choice(DISHES),
            genre=rng.choice(GENRES),
            theme=rng.choice(MUSEUM_THEMES),
            beer=rng.choice(BEERS),
            antique=rng.choice(ANTIQUES),
            odd=odd,
            historic=rng.choice(HISTORIC_DETAILS),
        )

    # ------------------------------------------------------------------ places
    def _slots(self) -> list[_Slot]:
        rng, town = self.rng, self.town
        pop = max(town.population, 100)
        total = 40 + int(6 * math.log10(pop / 100.0)) + rng.randint(-3, 4)
        total = max(38, min(72, total))
        n_events = rng.randint(9, 13)
        decoys = rng.sample(DECOYS, rng.randint(3, 5))
        n_places = total - n_events - len(decoys)
        cats: list[str] = []
        for spec in PLACE_CATEGORIES.values():
            cats.extend([spec.name] * spec.minimum)
        specs = list(PLACE_CATEGORIES.values())
        weights = [s.weight for s in specs]
        while len(cats) < n_places:
            cats.append(rng.choices(specs, weights)[0].name)
        slots = [_Slot(c) for c in cats]
        # One genuine gem per intent family (there is always something worth finding).
        for cat in ("swimming_hole", "dive_bar", "diner", "oddity", "museum", "trail", "cafe"):
            next(s for s in slots if s.category == cat).gem = True
        ordinary = [s for s in slots if not s.gem]
        for s in rng.sample(ordinary, rng.randint(2, 4)):
            s.tourist = True
        rng.shuffle(slots)
        slots.extend(_Slot(d.category, decoy=d) for d in decoys)
        self.n_events = n_events
        return slots

    def _make_place(self, slot: _Slot) -> Entity:
        rng, names, town = self.rng, self.names, self.town
        spec = PLACE_CATEGORIES[slot.category]
        index = len(self.entities)
        zone = self._zone(slot)
        lat, lon, host = self._place_point(zone, spec.urban or slot.decoy is not None)
        if slot.decoy is not None:
            name = names.unique(slot.decoy.names)
            quality = rng.uniform(0.15, 0.45)
        else:
            # "{town}" in a name is the town the place is in, not the searched town.
            name = names.unique(spec.names, town=host.name)
            quality = rng.betavariate(2.2, 1.8)
            if slot.gem:
                quality = 0.72 + 0.25 * rng.random()
        reviews = self._reviews(quality, slot)
        if slot.decoy is not None:
            rating = round(rng.uniform(3.8, 4.3), 1)
        else:
            rating = self._rating(quality, reviews)
        slug = slugify(name)
        urban = spec.urban or slot.decoy is not None
        address = names.street_address(host.name, host.state_code, rural=not urban)
        near = rng.choice(self.near)[0].name if self.near else town.name
        description = slot.decoy.blurb if slot.decoy is not None else self._blurb(spec, near)
        presence = _clip(0.15 + 0.22 * math.log10(reviews + 1) + rng.gauss(0, 0.1), 0.0, 1.0)
        if slot.decoy is not None:
            has_site = True
        elif spec.urban:
            has_site = rng.random() < 0.45 + (0.4 if reviews > 300 else 0.0)
        else:
            has_site = rng.random() < 0.12
        website = f"https://{slug}.{self.town_slug}.example/" if has_site else None
        tags = spec.tags + (("famous", "tourist", "must-see") if slot.decoy is not None else ())
        hours = spec.hours
        if hours is not None:
            shift = rng.choice((-1, 0, 0, 1))
            hours = (hours[0] + shift, hours[1] + shift)
        return Entity(
            id=f"{self.town_slug}/{slug}",
            index=index,
            town_key=town.key,
            name=name,
            slug=slug,
            category=spec.name,
            kind="place",
            groups=spec.groups,
            weak_groups=spec.weak_groups,
            tags=tags,
            quality=round(quality, 4),
            reviews=reviews,
            rating=rating,
            hidden=reviews < HIDDEN_MAX_REVIEWS,
            decoy=slot.decoy is not None,
            lat=round(lat, 7),
            lon=round(lon, 7),
            distance_km=round(haversine_km(town.lat, town.lon, lat, lon), 3),
            locality=host.name,
            locality_state=host.state_code,
            address=address,
            description=description,
            google_type=spec.google_type,
            google_types=spec.google_types,
            cid=self.codec.cid(self.town_index, index),
            web_presence=round(presence, 4),
            website=website,
            price=rng.choice(spec.prices) if spec.prices else None,
            phone=self._phone() if urban else None,
            hours=hours,
            thumbnail=f"https://{IMAGES_HOST}/{self.town_slug}/{slug}.jpg",
        )

    # ------------------------------------------------------------------ events
    def _event_statuses(self, n: int) -> list[str]:
        n_up = max(3, round(0.5 * n))
        n_past = max(2, round(0.3 * n))
        n_far = max(1, n - n_up - n_past)
        statuses = ["upcoming"] * n_up + ["expired"] * n_past + ["far_future"] * n_far
        statuses = statuses[:n]
        self.rng.shuffle(statuses)
        return statuses

    def _event_times(self, category: str, status: str) -> tuple[datetime, datetime]:
        rng, clock = self.rng, self.clock
        if status == "upcoming":
            day = clock + timedelta(days=rng.uniform(0.6, 58.0))
        elif status == "expired":
            # Stale listings linger weeks to a few months (connectors read <=120 days back as past).
            day = clock - timedelta(days=rng.uniform(3.0, 100.0))
        else:
            day = clock + timedelta(days=rng.uniform(63.0, 300.0))
        local = day.astimezone(self.tz)
        if category == "concert":
            hour, minute, length = rng.choice((19, 20, 21)), rng.choice((0, 0, 30)), 3.0
        elif category == "trivia_night":
            hour, minute, length = 19, 0, 2.0
        elif category == "market":
            hour, minute, length = rng.choice((8, 9)), 0, 5.0
        else:
            hour, minute, length = 10, 0, 8.0 + 24.0 * rng.choice((0, 1, 2))
        start = datetime(local.year, local.month, local.day, hour, minute, tzinfo=self.tz)
        end = start + timedelta(hours=length)
        if status == "upcoming" and start <= clock:
            start, end = start + timedelta(days=1), end + timedelta(days=1)
        if status == "expired" and end >= clock:
            start, end = start - timedelta(days=3), end - timedelta(days=3)
        return start, end

    def _venue_for(self, category: str) -> tuple[str, Entity | None]:
        rng, names = self.rng, self.names
        if category in {"concert", "trivia_night"}:
            kinds = (
                ("dive_bar", "brewery")
                if category == "trivia_night"
                else ("dive_bar", "brewery", "cafe")
            )
            pool = [
                e for e in self.entities
                if e.category in kinds and e.distance_km <= 80.0 and not e.decoy
            ]  # fmt: skip
            if pool and rng.random() < 0.85:
                venue = rng.choice(pool)
                return venue.name, venue
            return names.fill(rng.choice(("{town} Opry House", "{root} Music Hall"))), None
        if category == "festival":
            return names.fill(
                rng.choice(("{town} City Park", "{county} County Fairgrounds", "Downtown {town}"))
            ), None
        return names.fill(
            rng.choice(
                ("{town} Farmers Market Pavilion", "Courthouse Square", "{root} Grange Hall")
            )
        ), None

    def _make_event(self, category: str, status: str, gem: bool) -> Entity:
        rng, names, town = self.rng, self.names, self.town
        spec = EVENT_CATEGORIES[category]
        index = len(self.entities)
        venue_name, venue = self._venue_for(category)
        name = names.unique(spec.names, venue=venue_name)
        start, end = self._event_times(category, status)
        if venue is not None and (not gem or venue.distance_km <= 22.0):
            lat, lon = venue.lat, venue.lon
            host_name, host_state = venue.locality, venue.locality_state
            address = venue.address
        else:
            zone = "near" if gem or rng.random() < 0.8 else "band"
            lat, lon, host = self._place_point(zone, True)
            host_name, host_state = host.name, host.state_code
            address = names.street_address(host_name, host_state, rural=False)
        quality = 0.72 + 0.25 * rng.random() if gem else rng.betavariate(2.5, 1.8)
        mu = 5.0 if category == "festival" else 3.2
        reviews = max(1, round(rng.lognormvariate(mu, 1.0)))
        if gem:
            reviews = min(reviews, 20 + rng.randint(0, 100))
        slug = slugify(name)
        _, site_host = EVENT_SITES[index % len(EVENT_SITES)]
        link = f"https://{site_host}/{self.town_slug}/{slug}"
        description = f"{self._blurb(spec, town.name)} At {venue_name}."
        presence = _clip(0.3 + 0.15 * math.log10(reviews + 1) + rng.gauss(0, 0.1), 0.0, 1.0)
        return Entity(
            id=f"{self.town_slug}/{slug}",
            index=index,
            town_key=town.key,
            name=name,
            slug=slug,
            category=category,
            kind="event",
            groups=spec.groups,
            weak_groups=spec.weak_groups,
            tags=spec.tags,
            quality=round(quality, 4),
            reviews=reviews,
            rating=venue.rating if venue is not None else round(rng.uniform(3.9, 4.8), 1),
            hidden=reviews < HIDDEN_MAX_REVIEWS,
            decoy=False,
            lat=round(lat, 7),
            lon=round(lon, 7),
            distance_km=round(haversine_km(town.lat, town.lon, lat, lon), 3),
            locality=host_name,
            locality_state=host_state,
            address=address,
            description=description,
            google_type=spec.google_type,
            google_types=spec.google_types,
            cid=self.codec.cid(self.town_index, index),
            web_presence=round(presence, 4),
            website=None,
            starts_at=start,
            ends_at=end,
            venue=venue_name,
            venue_index=venue.index if venue is not None else None,
            link=link,
            thumbnail=f"https://{IMAGES_HOST}/{self.town_slug}/{slug}.jpg",
        )

    def build_entities(self) -> list[Entity]:
        for slot in self._slots():
            self.entities.append(self._make_place(slot))
        cats: list[str] = []
        for spec in EVENT_CATEGORIES.values():
            cats.extend([spec.name] * spec.minimum)
        specs = list(EVENT_CATEGORIES.values())
        while len(cats) < self.n_events:
            cats.append(self.rng.choices(specs, [s.weight for s in specs])[0].name)
        self.rng.shuffle(cats)
        statuses = self._event_statuses(len(cats))
        gem_done = False
        for cat, status in zip(cats, statuses, strict=True):
            gem = not gem_done and status == "upcoming"
            gem_done = gem_done or gem
            self.entities.append(self._make_event(cat, status, gem))
        return self.entities

    # ------------------------------------------------------------------ reddit
    def build_posts(self, state_sub: str, town_sub: str | None) -> list[RedditPost]:
        rng, town, clock = self.rng, self.town, self.clock
        ents = self.entities
        places = [e for e in ents if e.kind == "place" and not e.decoy and e.distance_km <= 90]
        decoys = [e for e in ents if e.decoy]
        events = [e for e in ents if e.kind == "event"]
        n = 16 + len(ents) // 3
        kinds = ["rec", "ask", "question", "complaint", "event", "offtopic"]
        weights = [0.38, 0.10, 0.14, 0.10, 0.14, 0.14]
        posts: list[RedditPost] = []

        def pick_places(k: int) -> list[Entity]:
            w = [
                (0.3 + e.quality**2)
                * (2.0 if e.hidden else 0.5)
                * (1.0 if e.distance_km <= 80 else 0.3)
                for e in places
            ]
            out: list[Entity] = []
            for _ in range(k * 3):
                e = rng.choices(places, w)[0]
                if e not in out:
                    out.append(e)
                if len(out) == k:
                    break
            return out

        def opinion(e: Entity) -> str:
            what = CATEGORY_PHRASE[e.category]
            if e.quality >= 0.7:
                return rng.choice(
                    (f"Honestly one of the best {what}s I've been to.",
                     "Worth the drive, every time.",
                     "Go on a weekday and you'll have it to yourself.")
                )  # fmt: skip
            if e.quality >= 0.45:
                return rng.choice(("It was fine, nothing special.", "Decent, not life-changing."))
            return rng.choice(("Kind of a letdown, not gonna lie.", "Wouldn't go back."))

        for i in range(n):
            kind = rng.choices(kinds, weights)[0]
            mentions: list[Entity] = []
            place_word = rng.choice((town.name, town.name, f"{self.county} County"))
            if kind == "rec" and places:
                k = rng.choice((1, 1, 1, 2, 3))
                mentions = pick_places(k)
                first = mentions[0]
                what = CATEGORY_PHRASE[first.category]
                if len(mentions) > 1:
                    title = rng.choice(
                        (f"Underrated spots around {town.name}?",
                         f"My favorite hidden gems near {town.name}",
                         f"Locals' list: things to do around {place_word}")
                    )  # fmt: skip
                    paras = [
                        f"A few of my favorites around {town.name}: "
                        + ", ".join(e.name for e in mentions[:-1])
                        + f" and {mentions[-1].name}.",
                        f"{first.name}: {first.description}",
                        opinion(first),
                    ]
                else:
                    title = rng.choice(
                        (f"Best kept secret near {town.name}: {first.name}",
                         f"If you're ever in {town.name}, go to {first.name}",
                         f"{first.name} is the best {what} in {self.county} County and nobody "
                         "knows about it",
                         f"Hidden gem alert: {first.name} outside {town.name}")
                    )  # fmt: skip
                    paras = [
                        f"Went to {first.name} last weekend.",
                        first.description,
                        opinion(first),
                    ]
                    if decoys and rng.random() < 0.3:
                        trap = rng.choice(decoys)
                        mentions.append(trap)
                        paras.append(f"Way better than {trap.name}, which is a tourist trap.")
            elif kind == "ask" and places:
                target = rng.choice(places + decoys)
                mentions = [target]
                what = CATEGORY_PHRASE[target.category]
                title = f"Is {target.name} worth the drive from {town.name}?"
                paras = [
                    f"Saw {target.name} on a list of {what}s near {place_word}. Anyone been?",
                    "Is it worth it or should we skip it?",
                ]
            elif kind == "complaint" and decoys:
                trap = rng.choice(decoys)
                mentions = [trap]
                title = rng.choice(
                    (f"{trap.name} is a total tourist trap",
                     f"Don't fall for the '{trap.name} hidden gem' listicles")
                )  # fmt: skip
                paras = [
                    f"Every 'hidden gem in {town.name}' article puts {trap.name} at number one.",
                    f"{trap.description} Save your money.",
                ]
            elif kind == "event" and events:
                ev = rng.choice(events)
                assert ev.starts_at is not None
                mentions = [ev]
                local = ev.starts_at.astimezone(self.tz)
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
                     f"Power outage in {self.county} County?",
                     f"Moving to {town.name} this fall, what's rent like?",
                     f"Lost dog near {place_word}, brown hound, answers to Biscuit")
                )  # fmt: skip
                paras = ["Title says it all. Thanks in advance."]
            # Where it was posted.
            r = rng.random()
            if r < 0.55 or (r < 0.8 and town_sub is None):
                sub = state_sub
            elif r < 0.8 and town_sub is not None:
                sub = town_sub
            else:
                outdoorsy = bool(mentions) and "outdoors" in mentions[0].groups
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
            id36 = self.codec.reddit_id(self.town_index, i)
            permalink = f"https://www.reddit.com/r/{sub}/comments/{id36}/{reddit_slug(title)}/"
            posts.append(
                RedditPost(
                    index=i,
                    id36=id36,
                    subreddit=sub,
                    title=title,
                    paragraphs=tuple(paras),
                    author=self.names.username(),
                    published=published,
                    updated=updated,
                    mentions=tuple(e.index for e in mentions),
                    kind=kind,
                    permalink=permalink,
                )
            )
        return posts

    # ------------------------------------------------------------------ web corpus
    def build_pages(self, posts: list[RedditPost]) -> list[WebPage]:
        rng, town, clock = self.rng, self.town, self.clock
        ts = self.town_slug
        st = town.state_code
        pages: list[WebPage] = []

        def page_date() -> str:
            return fmt_date(clock - timedelta(days=rng.uniform(20, 1500)))

        def disp(host: str, *parts: str) -> str:
            return " › ".join([f"https://{host}", *parts])

        for e in self.entities:
            group = e.groups[0]
            if e.decoy:
                site, host = rng.choice(CLICKBAIT_SITES)
                bait = rng.choice(CLICKBAIT).format(state=town.state)
                pages.append(
                    WebPage(
                        kind="clickbait",
                        title=f"{e.name}: the famous hidden gem everyone is talking about - {site}",
                        link=f"https://{host}/{ts}/{e.slug}",
                        displayed_link=disp(host, ts, e.slug),
                        source=site,
                        snippet=f"{bait} {e.name} near {town.name}, {st} is famous for a reason. "
                        "Most popular secret spot around - you have to see it!",
                        date=page_date(),
                        entity=e.index,
                        mentions=(e.index,),
                        theme=None,
                        authority=0.7,
                    )
                )
            if e.kind == "event":
                if rng.random() < 0.35 + 0.5 * e.web_presence:
                    assert e.starts_at is not None and e.link is not None
                    local = e.starts_at.astimezone(self.tz)
                    host = e.link.split("/")[2]
                    site = next(s for s, h in EVENT_SITES if h == host)
                    pages.append(
                        WebPage(
                            kind="event",
                            title=f"{e.name} - {local:%b} {local.day}, {local.year} - "
                            f"{e.locality}, {e.locality_state}",
                            link=e.link,
                            displayed_link=disp(host, ts, e.slug),
                            source=site,
                            snippet=f"{local:%a}, {local:%b} {local.day}. {e.description}",
                            date=None,
                            entity=e.index,
                            mentions=(e.index,),
                            theme=None,
                            authority=0.5,
                        )
                    )
                continue
            if e.decoy or rng.random() < 0.25 + 0.6 * e.web_presence:
                site, host = rng.choice(BLOGS)
                what = CATEGORY_PHRASE[e.category]
                title = rng.choice(
                    (f"{e.name}: {self.county} County's best kept secret - {site}",
                     f"Why {e.name} is worth the drive from {town.name} - {site}",
                     f"{e.name} ({e.locality}, {e.locality_state}) - a local favorite - {site}",
                     f"{e.name}: the {what} locals love - {site}")
                )  # fmt: skip
                pages.append(
                    WebPage(
                        kind="blog",
                        title=title,
                        link=f"https://{host}/{ts}/{e.slug}",
                        displayed_link=disp(host, ts, e.slug),
                        source=site,
                        snippet=f"{e.name} near {town.name} is one of those places you only hear "
                        f"about from locals. {e.description}",
                        date=page_date(),
                        entity=e.index,
                        mentions=(e.index,),
                        theme=None,
                        authority=0.35,
                    )
                )
            if e.decoy or e.reviews >= 300 or rng.random() < 0.2 * e.web_presence:
                site, host = REVIEW_SITES.get(group, TRAVEL_SITE)
                if e.reviews >= 300 or e.decoy:
                    site, host = TRAVEL_SITE
                title = f"{e.name} ({e.locality}) - All You Need to Know BEFORE You Go - {site}"
                pages.append(
                    WebPage(
                        kind="review",
                        title=title,
                        link=f"https://{host}/{ts}/{e.slug}",
                        displayed_link=disp(host, ts, e.slug),
                        source=site,
                        snippet=f"{e.name}, {e.locality}: {e.reviews:,} reviews. {e.description}",
                        date=None,
                        entity=e.index,
                        mentions=(e.index,),
                        theme=None,
                        authority=0.85,
                    )
                )
            if e.website is not None and rng.random() < 0.7:
                host = e.website.split("/")[2]
                pages.append(
                    WebPage(
                        kind="official",
                        title=f"{e.name} | {e.locality}, {e.locality_state}",
                        link=e.website,
                        displayed_link=f"https://{host}",
                        source=host,
                        snippet=e.description,
                        date=None,
                        entity=e.index,
                        mentions=(e.index,),
                        theme=None,
                        authority=0.5,
                    )
                )
        pages.extend(self._listicles())
        pages.extend(self._generic_pages())
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

    def _listicles(self) -> list[WebPage]:
        rng, town = self.rng, self.town
        st, ts = town.state_code, self.town_slug
        themes: list[tuple[str, str]] = [
            ("broad", f"{{n}} Hidden Gems in {town.name}, {st} You Have to See"),
            ("broad", f"The {{n}} Best Things to Do in {town.name}, {st}"),
            ("broad", f"Top 10 Must-See Hidden Gems in {town.name} (#1 Will Surprise You!)"),
            ("swimming", f"{{n}} Swimming Holes Near {town.name} to Cool Off This Summer"),
            ("oddities", f"{{n}} Weird Roadside Oddities Near {town.name}, {st}"),
            ("food", f"{{n}} Best Restaurants in {town.name}, {st}"),
            ("bars", f"{{n}} Best Dive Bars in {self.county} County"),
            ("history", f"{{n}} Historic Sites Around {town.name}"),
            ("outdoors", f"{{n}} Best Hikes and Waterfalls Near {town.name}"),
            ("events", f"{{n}} Things to Do in {town.name} This Summer"),
        ]
        chosen = [themes[0], *rng.sample(themes[1:], rng.randint(4, 6))]
        out: list[WebPage] = []
        for theme, template in chosen:
            if theme == "broad":
                pool = [e for e in self.entities if e.kind == "place"]
            else:
                pool = [e for e in self.entities if theme in e.groups]
            if not pool:
                continue
            w = [math.log10(e.reviews + 10) ** 2 * (3.0 if e.decoy else 1.0) for e in pool]
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
                    date=fmt_date(self.clock - timedelta(days=rng.uniform(30, 900))),
                    entity=None,
                    mentions=tuple(e.index for e in picks),
                    theme=theme,
                    authority=0.9,
                )
            )
        return out

    def _generic_pages(self) -> list[WebPage]:
        town, ts = self.town, self.town_slug
        label = f"{town.name}, {town.state}"
        county_slug = slugify(self.county)
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
            WebPage("generic", f"Visit {self.county} County - Tourism",
                    f"https://visit-{county_slug}-{town.state_code.lower()}.example/",
                    f"https://visit-{county_slug}-{town.state_code.lower()}.example",
                    f"Visit {self.county} County",
                    f"Plan your trip to {self.county} County: lodging, dining, outdoor "
                    "adventures and events.",
                    None, None, (), None, 0.9),
            WebPage("generic", f"{town.name}, {town.state_code} 10-Day Weather Forecast",
                    f"https://weather.example/forecast/{ts}",
                    f"https://weather.example › forecast › {ts}", "Weather Example",
                    f"Today's and tonight's {town.name}, {town.state_code} weather forecast.",
                    None, None, (), None, 0.8),
        ]  # fmt: skip


def generate_universe(
    *,
    seed: int,
    town: Town,
    town_index: int,
    town_slug: str,
    gazetteer: Gazetteer,
    clock: datetime,
    codec: IdCodec,
) -> TownUniverse:
    """Build one town's latent universe (deterministic in ``seed`` and ``town.key``)."""
    b = _Builder(
        seed=seed,
        town=town,
        town_index=town_index,
        town_slug=town_slug,
        gazetteer=gazetteer,
        clock=clock,
        codec=codec,
    )
    entities = b.build_entities()
    state_sub = state_subreddit(town.state, town.state_code)
    town_sub = town_subreddit(town.name)
    if town_sub is not None and town_sub.lower() == state_sub.lower():
        town_sub = None
    subs = [state_sub, *([town_sub] if town_sub else []), "roadtrip", "hiking"]
    posts = b.build_posts(state_sub, town_sub)
    pages = b.build_pages(posts)
    return TownUniverse(
        town=town,
        town_index=town_index,
        town_slug=town_slug,
        timezone=b.tzname,
        entities=tuple(entities),
        posts=tuple(posts),
        pages=tuple(pages),
        subreddits=tuple(subs),
        by_slug={e.slug: e for e in entities},
    )
