"""Word pools and name templates for the offline world's invented places, people and posts.

Names mix real nearby GeoNames place names (passed in as roots) with invented natural-feature
words, so "Shelbiana Overlook" and "Laurel Branch Falls" sit side by side. Everything here is
plain data plus :class:`NameMaker`, which fills templates from a seeded RNG and keeps names
unique within one town universe.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from .ids import slugify

NATURE_ROOTS: tuple[str, ...] = (
    "Laurel", "Hemlock", "Cedar", "Sycamore", "Bear", "Panther", "Turkey", "Beaver", "Otter",
    "Fox", "Elk", "Eagle", "Hawk", "Raven", "Bluebird", "Rattlesnake", "Copperhead", "Sugar",
    "Honey", "Maple", "Willow", "Poplar", "Chestnut", "Hickory", "Walnut", "Pine", "Spruce",
    "Birch", "Flint", "Granite", "Iron", "Copper", "Coal", "Salt", "Sulphur", "Clear", "Crooked",
    "Rocky", "Stony", "Sandy", "Muddy", "Cold", "Mill", "Spring", "Blue", "Black", "Red",
    "White", "Lost", "Lonesome", "Painted", "Shady", "Wolf", "Buck", "Possum", "Owl", "Heron",
    "Crane", "Trout", "Catfish", "Mossy", "Fern", "Pawpaw", "Persimmon", "Dogwood", "Redbud",
    "Buckeye", "Cottonwood", "Juniper", "Bee", "Deer", "Quail", "Huckleberry", "Ginseng",
)  # fmt: skip
WATER_WORDS = ("Creek", "Run", "Branch", "Fork")
PEOPLE = (
    "Dot", "Earl", "Mabel", "June", "Hank", "Lou", "Ruby", "Pearl", "Otis", "Opal", "Floyd",
    "Hazel", "Vern", "Dolly", "Bea", "Gus", "Ada", "Ray", "Nell", "Sonny", "Wanda", "Buddy",
    "Ida", "Carl", "Edna", "Mae", "Roy", "Walt", "Birdie", "Clem",
)  # fmt: skip
BAR_ADJ = (
    "Rusty", "Broken", "Lucky", "Crooked", "Thirsty", "Dusty", "Tipsy", "Salty", "Rowdy",
    "Sleepy", "Wobbly", "Lonesome", "Velvet", "Golden", "Neon", "Midnight", "Copper", "Muddy",
)  # fmt: skip
BAR_NOUN = (
    "Spur", "Spoke", "Horseshoe", "Anchor", "Lantern", "Mule", "Possum", "Bucket", "Barrel",
    "Jukebox", "Fiddle", "Rooster", "Hound", "Moose", "Owl", "Pickle", "Goat", "Buffalo",
)  # fmt: skip
ODD_OBJECTS = (
    "Coffee Pot", "Teapot", "Rocking Chair", "Catfish", "Peanut", "Boot", "Egg", "Frog",
    "Shoe", "Fiddle", "Milk Bottle", "Chicken", "Lawn Gnome", "Banjo", "Mushroom",
)  # fmt: skip
TOWN_STREETS = (
    "Main St", "Second St", "Court St", "Mill St", "Church St", "Depot St", "Water St", "Elm St",
    "Oak St", "Railroad Ave", "College St", "Division St", "Broadway", "Market St", "High St",
    "Bridge St", "Front St", "Walnut St", "Center St", "Pine St",
)  # fmt: skip
ROAD_KINDS = ("Rd", "Hollow Rd", "Ridge Rd", "Creek Rd", "Branch Rd", "Pike", "Loop")
DISHES = (
    "biscuits and gravy", "soup beans and cornbread", "fried bologna sandwiches", "country ham",
    "chili buns", "hot browns", "plate-sized pancakes", "fried catfish", "pulled pork",
    "slugburgers", "fried green tomatoes", "meatloaf", "chicken and dumplings", "pie",
)  # fmt: skip
GENRES = ("bluegrass", "old-time", "punk", "soul", "country", "jazz", "metal", "folk", "blues")
BEERS = ("sours", "hazy IPAs", "stouts", "lagers", "farmhouse ales", "fruited wheat beers")
MUSEUM_THEMES = (
    "coal mining", "railroad history", "river life", "the county's pioneer families",
    "quilts and crafts", "local music", "the 1937 flood", "one-room schools",
)  # fmt: skip
ANTIQUES = ("cast-iron skillets", "old signs", "quilts", "depression glass", "vinyl", "tools")
ODD_DETAILS = (
    "a two-story {obj} built from scrap metal",
    "a yard full of concrete dinosaurs and a {obj} the size of a car",
    "a shed of taxidermy oddities and a two-headed calf",
    "a house built entirely out of glass bottles",
    "a 'UFO landing pad' with a guest book going back to 1974",
    "a hand-carved {obj} forest in someone's front yard",
)
HISTORIC_DETAILS = (
    "A covered bridge from the 1880s",
    "The old county jail, now open for tours",
    "A Civil War skirmish site",
    "A restored water-powered grist mill",
    "A pioneer cemetery on a wooded hill",
    "A one-room schoolhouse",
    "An abandoned railroad tunnel",
    "The old courthouse square",
)
BAND_NOUNS = ("Ramblers", "Drifters", "Hollers", "Moonshiners", "Pickers", "Strays", "Sparrows")
USER_ADJ = (
    "lonesome", "hollow", "ridge", "muddy", "creek", "holler", "mountain", "river", "dusty",
    "rusty", "quiet", "lucky", "sleepy", "backroad", "porch", "late", "wild",
)  # fmt: skip
USER_NOUN = (
    "hiker", "rambler", "possum", "hound", "fiddler", "biscuit", "trout", "owl", "miner",
    "wanderer", "picker", "kayaker", "gravy", "banjo", "dad", "mom", "local",
)  # fmt: skip

_WORD_SUFFIXES = re.compile(
    r"\s+(?:city|village|town|township|heights|junction|station|center|springs|borough)$", re.I
)


def place_root(town_name: str) -> str:
    """A town name usable as a feature name's root ("Coal Run Village" -> "Coal Run")."""
    root = _WORD_SUFFIXES.sub("", town_name.strip())
    root = re.sub(r"^(?:st\.?|saint|mount|mt\.?|fort|ft\.?)\s+", "", root, flags=re.I)
    return root or town_name


def county_root(county: str | None, fallback: str) -> str:
    """ "Pike County" -> "Pike" (falls back to the town's root)."""
    if not county:
        return place_root(fallback)
    return re.sub(r"\s+(?:county|parish|borough|census area|municipality)$", "", county, flags=re.I)


class NameMaker:
    """Fills templates from a seeded RNG and never returns the same slug twice."""

    def __init__(
        self,
        rng: random.Random,
        *,
        town: str,
        county: str,
        state: str,
        local_roots: Sequence[str],
    ) -> None:
        self.rng = rng
        self.town = town
        self.county = county
        self.state = state
        self.local_roots = tuple(dict.fromkeys(r for r in local_roots if 2 < len(r) <= 18))
        self.used: set[str] = set()

    def root(self) -> str:
        """A feature-name root: half the time a real nearby place name, else a nature word."""
        if self.local_roots and self.rng.random() < 0.45:
            return self.rng.choice(self.local_roots)
        return self.rng.choice(NATURE_ROOTS)

    def water(self) -> str:
        """A stream name ("Elkhorn Creek", "Laurel Fork")."""
        return f"{self.root()} {self.rng.choice(WATER_WORDS)}"

    def fill(self, template: str, **extra: str) -> str:
        rng = self.rng
        values = {
            "town": self.town,
            "county": self.county,
            "state": self.state,
            "root": self.root(),
            "nature": rng.choice(NATURE_ROOTS),
            "water": self.water(),
            "person": rng.choice(PEOPLE),
            "adj": rng.choice(BAR_ADJ),
            "noun": rng.choice(BAR_NOUN),
            "obj": rng.choice(ODD_OBJECTS),
            "band": rng.choice(BAND_NOUNS),
            "street": rng.choice(TOWN_STREETS).rsplit(" ", 1)[0],
        }
        values.update(extra)
        return " ".join(template.format(**values).split())

    def unique(self, templates: Sequence[str], **extra: str) -> str:
        """A name from one of ``templates`` whose slug is new in this universe."""
        for _ in range(24):
            name = self.fill(self.rng.choice(templates), **extra)
            slug = slugify(name)
            if slug and slug not in self.used and len(slug) <= 48:
                self.used.add(slug)
                return name
        # Rare: every attempt collided; number the last one.
        base = self.fill(templates[0], **extra)
        n = 2
        while slugify(f"{base} {n}") in self.used:
            n += 1
        name = f"{base} {n}"
        self.used.add(slugify(name))
        return name

    def street_address(self, locality: str, state_code: str, *, rural: bool) -> str:
        rng = self.rng
        if rural:
            if rng.random() < 0.3:
                road = f"State Hwy {rng.randint(7, 899)}"
            else:
                road = f"{rng.choice(NATURE_ROOTS)} {rng.choice(ROAD_KINDS)}"
            if rng.random() < 0.5:
                return f"{road}, {locality}, {state_code}"
            return f"{rng.randint(100, 9899)} {road}, {locality}, {state_code}"
        return f"{rng.randint(1, 2400)} {rng.choice(TOWN_STREETS)}, {locality}, {state_code}"

    def username(self) -> str:
        rng = self.rng
        style = rng.random()
        adj, noun = rng.choice(USER_ADJ), rng.choice(USER_NOUN)
        if style < 0.4:
            return f"{adj}_{noun}_{rng.randint(1, 99)}"
        if style < 0.75:
            return f"{adj.capitalize()}{noun.capitalize()}{rng.randint(10, 9999)}"
        if style < 0.9:
            return f"{noun}{adj}"
        return f"throwaway_{rng.randint(10000, 99999)}"
