"""A town's places and events: latent truth first, then everything sources can see of it.

:class:`PlaceBuilder` holds the town's RNG and drawing state. For every entity it decides the
latent truth (:class:`~underfoot_lab.world.latent.Latent`: role, quality, esteem, exposure,
zone, timing, decoy, topical fit) and an apparent view of it
(:class:`~underfoot_lab.world.latent.Apparent`), then renders the observable record (name,
category, text, reviews, rating, coordinates, dates) from the apparent view ONLY. The
:class:`~underfoot_lab.world.model.Entity` it returns carries both, labelled.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ..geo.gazetteer import EARTH_RADIUS_KM, Gazetteer, Town, haversine_km
from .catalog import (
    ALL_CATEGORIES,
    DECOYS,
    EVENT_CATEGORIES,
    PLACE_CATEGORIES,
    CategorySpec,
    DecoySpec,
)
from .ids import IdCodec, slugify
from .latent import Apparent, Latent, LatentDrawer, Timing, Zone, pick
from .model import CATEGORY_PHRASE, EVENT_SITES, IMAGES_HOST, Entity, destination
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
from .scenario import Scenario
from .tz import timezone_name

_KM_PER_DEGREE = EARTH_RADIUS_KM * math.pi / 180.0
"""Great-circle km per degree of latitude."""
GEM_FAMILIES = ("swimming_hole", "dive_bar", "diner", "oddity", "museum", "trail", "cafe")
"""One genuine gem per family and town (by latent fit), so every main intent has an answer."""
_TIMINGS: tuple[Timing, ...] = ("past", "current", "future")
_FIT_CHOICES = tuple(ALL_CATEGORIES)
_FIT_WEIGHTS = tuple(c.weight for c in ALL_CATEGORIES.values())


def _clip(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


@dataclass
class _Slot:
    """A place to be generated: what it appears to be and what it truly is."""

    category: str
    """Apparent category (name, tags, type, text)."""
    fit: str
    """Latent fit category (what it is really good for)."""
    role: str = "ordinary"
    trap: DecoySpec | None = None
    """Set when the place LOOKS like a tourist trap (independent of ``role`` when the decoy
    link is 0)."""


class PlaceBuilder:
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
        scenario: Scenario,
    ) -> None:
        self.seed = seed
        self.town = town
        self.town_index = town_index
        self.town_slug = town_slug
        self.clock = clock
        self.codec = codec
        self.scenario = scenario
        seed_text = f"underfoot-world|{seed}|{town.key}"
        self.rng = random.Random(seed_text)  # nosec B311 -- a simulated world, seeded on purpose
        self.drawer = LatentDrawer(self.rng, scenario)
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
        self.town_size = math.log10(max(town.population, 100) / 1000.0)
        self.entities: list[Entity] = []
        self.views: dict[int, Apparent] = {}
        """Entity index -> its apparent view (posts and pages are written from these)."""
        self.n_events = 0
        self.roles: list[str] = []

    # ------------------------------------------------------------------ location
    def _locality(self, lat: float, lon: float) -> Town:
        """The nearest town (the first of equals, the host town first) by haversine_km."""
        best, best_d = self.town, haversine_km(lat, lon, self.town.lat, self.town.lon)
        for t, _ in self.hood:
            # No great circle is shorter than its north-south part: a town whose latitude alone
            # puts it farther than the best so far cannot be nearer, so its (costly) distance
            # is not computed. The bound is shaved far below any rounding of haversine_km.
            if abs(lat - t.lat) * _KM_PER_DEGREE * (1.0 - 1e-6) - 1e-6 > best_d:
                continue
            d = haversine_km(lat, lon, t.lat, t.lon)
            if d < best_d:
                best, best_d = t, d
        return best

    def place_point(self, zone: Zone, urban: bool) -> tuple[float, float, Town]:
        """A point in an (apparent) zone: in or near a host town when urban."""
        rng, town = self.rng, self.town
        if urban:
            pool = {"core": self.near, "band": self.band, "far": self.far}[zone]
            if zone == "core":
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
            "core": 0.8 + 23.0 * rng.random() ** 0.8,
            "band": rng.uniform(26.0, 79.0),
            "far": rng.uniform(82.0, 130.0),
        }[zone]
        lat, lon = destination(town.lat, town.lon, km, rng.uniform(0, 360))
        return lat, lon, self._locality(lat, lon)

    # ------------------------------------------------------------------ observables
    def _reviews(self, view: Apparent, *, event_offset: float = 0.0) -> int:
        r = self.scenario.reviews
        log_n = (
            r.base
            + event_offset
            + r.town_size * self.town_size
            + r.exposure * view.exposure
            + r.esteem * view.esteem
            + r.trap_boost * (1.0 if view.looks_trap else 0.0)
            + self.rng.gauss(0.0, r.noise_sd)
        )
        return max(1, min(20_000, round(math.exp(log_n))))

    def _rating(self, view: Apparent, reviews: int) -> float:
        r = self.scenario.ratings
        x = r.mean + r.quality * view.quality + self.rng.gauss(0.0, r.noise_sd)
        x += r.trap_shift * (1.0 if view.looks_trap else 0.0)
        if reviews > 500:
            x = 0.5 * x + 0.5 * 4.4  # many reviews pull ratings to the mean
        return round(_clip(x, 1.0, 5.0), 1)

    def _phone(self) -> str:
        self.phone_seq = (self.phone_seq + self.rng.randint(1, 7)) % 100
        # 555-0100..0199 are reserved for fiction.
        return f"({self.area_code}) 555-01{self.phone_seq:02d}"

    def blurb(self, spec: CategorySpec, near: str) -> str:
        """A category description with its slots filled."""
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

    def say(self, key: str, name: str | None = None, what: str = "place") -> str:
        """One phrase of the scenario's vocabulary list ``key``, its placeholders filled."""
        phrase = self.rng.choice(self.scenario.phrases(key))
        return phrase.format(
            name=name or self.town.name,
            town=self.town.name,
            state=self.town.state,
            county=self.county,
            what=what,
        )

    def _fit(self, category: str) -> str:
        return pick(self.rng, category, self.scenario.links.topic, _FIT_CHOICES, _FIT_WEIGHTS)

    # ------------------------------------------------------------------ places
    def _slots(self) -> list[_Slot]:
        rng, town, lat = self.rng, self.town, self.scenario.latent
        pop = max(town.population, 100)
        total = 40 + int(6 * math.log10(pop / 100.0)) + rng.randint(-3, 4)
        total = max(38, min(72, total))
        self.n_events = rng.randint(9, 13)
        n_places = total - self.n_events
        cats: list[str] = []
        for spec in PLACE_CATEGORIES.values():
            cats.extend([spec.name] * spec.minimum)
        specs = list(PLACE_CATEGORIES.values())
        weights = [s.weight for s in specs]
        while len(cats) < n_places:
            cats.append(rng.choices(specs, weights)[0].name)
        slots = [_Slot(c, self._fit(c)) for c in cats]
        rng.shuffle(slots)
        # Roles are decided on the LATENT side: a gem per family by its true fit.
        for family in GEM_FAMILIES:
            free = [s for s in slots if s.role == "ordinary"]
            matching = [s for s in free if s.fit == family]
            chosen = rng.choice(matching or free)
            chosen.fit, chosen.role = family, "gem"
        ordinary = [s for s in slots if s.role == "ordinary"]
        n_decoys = rng.randint(lat.decoys_min, lat.decoys_max)
        for s in rng.sample(ordinary, min(n_decoys, len(ordinary))):
            s.role = "decoy"
        ordinary = [s for s in slots if s.role == "ordinary"]
        n_tourists = rng.randint(lat.tourist_spots_min, lat.tourist_spots_max)
        for s in rng.sample(ordinary, min(n_tourists, len(ordinary))):
            s.role = "tourist"
        # Which places LOOK like traps: each decoy with probability links.decoy, otherwise some
        # other place (of any role) takes the look, so the count of trap-looking places stays.
        link = self.scenario.links.decoy
        for d in [s for s in slots if s.role == "decoy"]:
            if rng.random() < link:
                target = d
            else:
                others = [s for s in slots if s.role != "decoy" and s.trap is None]
                if not others:
                    continue
                target = rng.choice(others)
            target.trap = rng.choice(DECOYS)
            target.category = target.trap.category
            if target.role != "gem":
                target.fit = self._fit(target.category)
        return slots

    def _make_place(self, slot: _Slot) -> Entity:
        rng, names, town = self.rng, self.names, self.town
        spec = PLACE_CATEGORIES[slot.category]
        fit_spec = ALL_CATEGORIES[slot.fit]
        index = len(self.entities)
        timing: Timing = (
            "current"
            if slot.role in {"gem", "decoy"}
            else rng.choices(_TIMINGS, self.scenario.latent.place_timing.weights())[0]
        )
        truth = self.drawer.latent(role=slot.role, fit_category=slot.fit, timing=timing)
        view = self.drawer.view(
            truth, slot.trap is not None, self.scenario.latent.place_timing.weights()
        )
        urban = spec.urban or slot.trap is not None
        lat, lon, host = self.place_point(view.zone, urban)
        if slot.trap is not None:
            name = names.unique(slot.trap.names)
            description = self.say("decoy_blurb", name, CATEGORY_PHRASE[spec.name])
        else:
            # "{town}" in a name is the town the place is in, not the searched town.
            name = names.unique(spec.names, town=host.name)
            near = rng.choice(self.near)[0].name if self.near else town.name
            description = self.blurb(spec, near)
        reviews = self._reviews(view)
        rating = self._rating(view, reviews)
        slug = slugify(name)
        address = names.street_address(host.name, host.state_code, rural=not urban)
        presence = _clip(0.15 + 0.22 * math.log10(reviews + 1) + rng.gauss(0, 0.1), 0.0, 1.0)
        if slot.trap is not None:
            has_site = True
        elif spec.urban:
            has_site = rng.random() < 0.45 + (0.4 if reviews > 300 else 0.0)
        else:
            has_site = rng.random() < 0.12
        website = f"https://{slug}.{self.town_slug}.example/" if has_site else None
        tags = spec.tags + (("famous", "tourist", "must-see") if slot.trap is not None else ())
        hours = spec.hours
        if hours is not None:
            shift = rng.choice((-1, 0, 0, 1))
            hours = (hours[0] + shift, hours[1] + shift)
        self.views[index] = view
        return self._entity(
            truth,
            view,
            index=index,
            name=name,
            slug=slug,
            spec=spec,
            fit_spec=fit_spec,
            tags=tags,
            reviews=reviews,
            rating=rating,
            lat=lat,
            lon=lon,
            host=host,
            address=address,
            description=description,
            presence=presence,
            website=website,
            price=rng.choice(spec.prices) if spec.prices else None,
            phone=self._phone() if urban else None,
            hours=hours,
        )

    def _entity(
        self,
        truth: Latent,
        view: Apparent,
        *,
        index: int,
        name: str,
        slug: str,
        spec: CategorySpec,
        fit_spec: CategorySpec,
        tags: tuple[str, ...],
        reviews: int,
        rating: float,
        lat: float,
        lon: float,
        host: Town,
        address: str,
        description: str,
        presence: float,
        website: str | None,
        **extra: object,
    ) -> Entity:
        town = self.town
        return Entity(
            id=f"{self.town_slug}/{slug}",
            index=index,
            town_key=town.key,
            name=name,
            slug=slug,
            category=spec.name,
            kind=spec.kind,
            groups=fit_spec.groups,
            weak_groups=fit_spec.weak_groups,
            tags=tags,
            quality=truth.quality,
            reviews=reviews,
            rating=rating,
            hidden=truth.hidden,
            decoy=truth.decoy,
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
            thumbnail=f"https://{IMAGES_HOST}/{self.town_slug}/{slug}.jpg",
            fit_category=truth.fit_category,
            esteem=truth.esteem,
            exposure=truth.exposure,
            zone=truth.zone,
            timing=truth.timing,
            looks_trap=view.looks_trap,
            **extra,  # type: ignore[arg-type]
        )

    # ------------------------------------------------------------------ events
    def _event_times(self, category: str, status: Timing) -> tuple[datetime, datetime]:
        """Dates for an (apparent) timing: past = over, current = within 58 days, future."""
        rng, clock = self.rng, self.clock
        if status == "current":
            day = clock + timedelta(days=rng.uniform(0.6, 58.0))
        elif status == "past":
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
        if status == "current" and start <= clock:
            start, end = start + timedelta(days=1), end + timedelta(days=1)
        if status == "past" and end >= clock:
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
                if e.category in kinds and e.distance_km <= 80.0 and not e.looks_trap
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

    def _make_event(self, category: str, fit: str, timing: Timing, role: str) -> Entity:
        rng, names, town = self.rng, self.names, self.town
        spec = EVENT_CATEGORIES[category]
        index = len(self.entities)
        weights = self.scenario.latent.event_timing.weights()
        truth = self.drawer.latent(role=role, fit_category=fit, timing=timing)
        view = self.drawer.view(truth, False, weights)
        venue_name, venue = self._venue_for(category)
        name = names.unique(spec.names, venue=venue_name)
        start, end = self._event_times(category, view.timing)
        venue_zone = None if venue is None else self.views[venue.index].zone
        if venue is not None and venue_zone == view.zone:
            lat, lon = venue.lat, venue.lon
            host_name, host_state = venue.locality, venue.locality_state
            address = venue.address
        else:
            lat, lon, host = self.place_point(view.zone, True)
            host_name, host_state = host.name, host.state_code
            address = names.street_address(host_name, host_state, rural=False)
        reviews = self._reviews(view, event_offset=1.7 if category == "festival" else -0.1)
        slug = slugify(name)
        _, site_host = EVENT_SITES[index % len(EVENT_SITES)]
        link = f"https://{site_host}/{self.town_slug}/{slug}"
        description = f"{self.blurb(spec, town.name)} At {venue_name}."
        presence = _clip(0.3 + 0.15 * math.log10(reviews + 1) + rng.gauss(0, 0.1), 0.0, 1.0)
        rating = venue.rating if venue is not None else self._rating(view, reviews)
        self.views[index] = view
        host_town = next(
            (t for t, _ in self.hood if t.name == host_name and t.state_code == host_state),
            town,
        )
        return self._entity(
            truth,
            view,
            index=index,
            name=name,
            slug=slug,
            spec=spec,
            fit_spec=ALL_CATEGORIES[fit],
            tags=spec.tags,
            reviews=reviews,
            rating=rating,
            lat=lat,
            lon=lon,
            host=host_town,
            address=address,
            description=description,
            presence=presence,
            website=None,
            starts_at=start,
            ends_at=end,
            venue=venue_name,
            venue_index=venue.index if venue is not None else None,
            link=link,
        )

    def build_entities(self) -> list[Entity]:
        """Every place, then every event, of the town."""
        for slot in self._slots():
            self.roles.append(slot.role)
            self.entities.append(self._make_place(slot))
        rng = self.rng
        cats: list[str] = []
        for spec in EVENT_CATEGORIES.values():
            cats.extend([spec.name] * spec.minimum)
        specs = list(EVENT_CATEGORIES.values())
        while len(cats) < self.n_events:
            cats.append(rng.choices(specs, [s.weight for s in specs])[0].name)
        rng.shuffle(cats)
        weights = self.scenario.latent.event_timing.weights()
        # Events take roles at the places' rates, so in a world whose links are all 0 the
        # truth does not depend on the kind of an entity either.
        places = [e for e in self.entities if e.kind == "place"]
        n = max(1, len(places))
        rates = {
            r: sum(1 for role in self.roles if role == r) / n for r in ("gem", "decoy", "tourist")
        }
        for cat in cats:
            x, role = rng.random(), "ordinary"
            for r, p in rates.items():
                if x < p:
                    role = r
                    break
                x -= p
            timing: Timing = (
                "current" if role in {"gem", "decoy"} else rng.choices(_TIMINGS, weights)[0]
            )
            self.entities.append(self._make_event(cat, self._fit(cat), timing, role))
        return self.entities
