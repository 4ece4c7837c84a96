"""What kinds of places and events the offline world invents, and how each is named and described.

A :class:`CategorySpec` says which intent groups a category matches strongly (a swimming hole is
"swimming" and "outdoors") or weakly (a brewery is a weak "food" match), its tags, how Google
would type it, its name and description templates, and its share of a town's places.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["place", "event"]

GROUPS = (
    "outdoors",
    "swimming",
    "food",
    "bars",
    "oddities",
    "history",
    "shopping",
    "art",
    "events",
)
"""Intent groups; queries map onto them (see :mod:`underfoot_lab.world.truth`)."""


@dataclass(frozen=True, slots=True)
class CategorySpec:
    name: str
    kind: Kind
    groups: tuple[str, ...]
    weak_groups: tuple[str, ...]
    tags: tuple[str, ...]
    google_type: str
    google_types: tuple[str, ...]
    urban: bool
    """In a town (host town + a street address) rather than out in the country."""
    weight: float
    minimum: int
    names: tuple[str, ...]
    blurbs: tuple[str, ...]
    prices: tuple[str, ...] = ()
    hours: tuple[int, int] | None = None
    """Opening hours (local, 24 h clock); None means open 24 hours (outdoors)."""


def _c(
    name: str, kind: Kind, groups: tuple[str, ...], weak: tuple[str, ...], **kw: object
) -> CategorySpec:
    return CategorySpec(name=name, kind=kind, groups=groups, weak_groups=weak, **kw)  # type: ignore[arg-type]


PLACE_CATEGORIES: dict[str, CategorySpec] = {
    c.name: c
    for c in (
        _c(
            "trail", "place", ("outdoors",), (),
            tags=("hike", "hiking", "trail", "outdoors", "nature", "walk"),
            google_type="Hiking area", google_types=("Hiking area", "Park"),
            urban=False, weight=5, minimum=2,
            names=("{root} Trail", "{root} Ridge Trail", "{nature} Hollow Loop",
                   "Old {root} Railbed Trail", "{water} Trail", "{nature} Knob Trail"),
            blurbs=("A {miles} mile loop through rhododendron tunnels to a quiet ridge-top view.",
                    "An old logging road turned footpath along {water}; muddy after rain.",
                    "A steep {miles} mile climb with a rock arch halfway up; few people ever."),
        ),
        _c(
            "waterfall", "place", ("outdoors",), ("swimming",),
            tags=("waterfall", "falls", "hike", "outdoors", "nature", "creek"),
            google_type="Waterfall", google_types=("Waterfall", "Tourist attraction"),
            urban=False, weight=4, minimum=1,
            names=("{root} Falls", "{water} Falls", "Upper {nature} Falls",
                   "{nature} Branch Cascades"),
            blurbs=("A {height}-foot waterfall at the head of {water}; best after a good rain.",
                    "A wide curtain of water over a sandstone ledge, a short scramble from the "
                    "pull-off."),
        ),
        _c(
            "cave", "place", ("outdoors",), ("oddities",),
            tags=("cave", "caving", "outdoors", "nature", "rock shelter"),
            google_type="Cave", google_types=("Cave", "Tourist attraction"),
            urban=False, weight=2, minimum=1,
            names=("{root} Cave", "{nature} Cavern", "{root} Rock Shelter"),
            blurbs=("A wild cave off a gravel road; bring a headlamp, the first room stays cool "
                    "even in August.",
                    "A huge rock shelter with old saltpeter diggings under the overhang."),
        ),
        _c(
            "swimming_hole", "place", ("swimming", "outdoors"), (),
            tags=("swimming", "swim", "swimming hole", "creek", "river", "outdoors", "summer"),
            google_type="Swimming hole", google_types=("Swimming hole", "Park"),
            urban=False, weight=3, minimum=2,
            names=("{water} Swimming Hole", "{root} Blue Hole", "The {nature} Swimming Rock",
                   "{root} Mill Pond", "{nature} Creek Swimming Hole"),
            blurbs=("A deep, cold pool on {water} with a rope swing and flat rocks for sunning; "
                    "locals swim here all summer.",
                    "A clear green swimming hole below a low dam; shallow edges for kids, deep "
                    "in the middle."),
        ),
        _c(
            "overlook", "place", ("outdoors",), (),
            tags=("overlook", "view", "scenic", "sunset", "outdoors"),
            google_type="Scenic spot", google_types=("Scenic spot", "Tourist attraction"),
            urban=False, weight=3, minimum=1,
            names=("{root} Overlook", "{nature} Knob Overlook", "{root} Fire Tower"),
            blurbs=("A pull-off high above the valley with a long view toward {near}; great at "
                    "sunset.",
                    "An old fire tower you can still climb; on a clear day you see three "
                    "counties."),
        ),
        _c(
            "diner", "place", ("food",), (),
            tags=("food", "diner", "breakfast", "eat", "comfort food", "cheap eats"),
            google_type="Diner", google_types=("Diner", "Restaurant", "Breakfast restaurant"),
            urban=True, weight=5, minimum=2, prices=("$", "$", "$$"), hours=(6, 15),
            names=("{person}'s Diner", "The {adj} Skillet", "{person}'s Kitchen", "{town} Grill",
                   "{root} Family Restaurant", "The {street} Street Diner"),
            blurbs=("Counter-service diner known for {dish}; breakfast all day and pie that "
                    "sells out by noon.",
                    "A tiny cinder-block lunch counter; {dish} and sweet tea, cash only."),
        ),
        _c(
            "dive_bar", "place", ("bars",), (),
            tags=("bar", "dive bar", "beer", "nightlife", "drinks", "pool table", "jukebox"),
            google_type="Bar", google_types=("Bar", "Dive bar"),
            urban=True, weight=4, minimum=2, prices=("$",), hours=(15, 26),
            names=("The {adj} {noun}", "{person}'s Tavern", "{root} Lounge", "The {noun} Tap",
                   "{person}'s Place"),
            blurbs=("Cheap beer, a pool table, a jukebox full of {genre} and a regulars' crowd.",
                    "A wood-paneled dive with dollar-off nights and karaoke on Thursdays."),
        ),
        _c(
            "cafe", "place", ("food",), (),
            tags=("coffee", "cafe", "food", "breakfast", "pastries"),
            google_type="Coffee shop", google_types=("Coffee shop", "Cafe"),
            urban=True, weight=4, minimum=1, prices=("$", "$$"), hours=(7, 17),
            names=("{root} Coffee Co.", "The {adj} Bean", "Common Grounds {town}",
                   "{person}'s Bakery & Cafe"),
            blurbs=("A small coffee shop roasting its own beans, with biscuits and local art on "
                    "the walls.",
                    "Pour-overs and fried pies in an old bank building; the vault is a reading "
                    "nook."),
        ),
        _c(
            "museum", "place", ("history",), ("art", "oddities"),
            tags=("museum", "history", "heritage", "local history"),
            google_type="Museum", google_types=("Museum", "History museum"),
            urban=True, weight=3, minimum=1, hours=(10, 16),
            names=("{county} Historical Museum", "{town} Heritage Center",
                   "{root} Railroad Museum", "{county} Coal & Rail Museum"),
            blurbs=("A small museum of {theme} run by volunteers; free admission, donations "
                    "welcome.",
                    "Three rooms of {theme} artifacts and a docent who knows every story."),
        ),
        _c(
            "record_store", "place", ("shopping",), ("art",),
            tags=("records", "vinyl", "music", "shopping"),
            google_type="Record store", google_types=("Record store", "Music store"),
            urban=True, weight=2, minimum=1, prices=("$$",), hours=(11, 19),
            names=("{adj} Groove Records", "{root} Vinyl", "Spin Cycle Records",
                   "{person}'s Record Shack"),
            blurbs=("Crates of used vinyl, {genre} rarities and a listening station in the back.",),
        ),
        _c(
            "mural", "place", ("art",), ("history",),
            tags=("art", "mural", "street art", "photo spot"),
            google_type="Public art", google_types=("Public art", "Tourist attraction"),
            urban=True, weight=2, minimum=1,
            names=("{town} Heritage Mural", "The {street} Street Mural", "{root} Floodwall Murals"),
            blurbs=("A block-long mural of {theme} painted by local artists on an old warehouse.",),
        ),
        _c(
            "brewery", "place", ("bars",), ("food",),
            tags=("beer", "brewery", "craft beer", "drinks", "nightlife"),
            google_type="Brewery", google_types=("Brewery", "Bar"),
            urban=True, weight=3, minimum=1, prices=("$$",), hours=(14, 23),
            names=("{root} Brewing Co.", "{root} Ale Works", "{nature} Hollow Brewery"),
            blurbs=("Small-batch brewery pouring {beer} in a converted garage; food trucks on "
                    "weekends.",),
        ),
        _c(
            "antique_shop", "place", ("shopping",), ("history",),
            tags=("antiques", "vintage", "shopping", "collectibles"),
            google_type="Antique store", google_types=("Antique store", "Store"),
            urban=True, weight=3, minimum=1, prices=("$$",), hours=(10, 17),
            names=("{root} Antique Mall", "{town} Trading Post", "The {adj} Attic Antiques"),
            blurbs=("Two floors of {antique} and old signs; worth an hour of digging.",),
        ),
        _c(
            "oddity", "place", ("oddities",), ("art",),
            tags=("weird", "quirky", "roadside attraction", "odd", "strange", "oddities"),
            google_type="Tourist attraction", google_types=("Tourist attraction", "Museum"),
            urban=False, weight=3, minimum=2,
            names=("{county} Oddities Museum", "The Giant {obj} of {root}", "{root} Mystery Spot",
                   "{root} Bottle House", "{person}'s Museum of Curiosities",
                   "{root} Hollow Bigfoot Museum", "{person}'s Concrete Zoo"),
            blurbs=("A hand-built roadside curiosity: {odd}; free to look, donations welcome.",),
        ),
        _c(
            "historic_site", "place", ("history",), ("outdoors",),
            tags=("history", "historic", "historic site", "heritage"),
            google_type="Historical landmark", google_types=("Historical landmark",),
            urban=False, weight=4, minimum=1,
            names=("{root} Covered Bridge", "Old {county} Jail", "{root} Battlefield",
                   "{root} Mill", "{root} Pioneer Cemetery", "{root} Schoolhouse",
                   "{nature} Railroad Tunnel"),
            blurbs=("{historic}, with interpretive signs and a short walking path.",),
        ),
    )
}  # fmt: skip

EVENT_CATEGORIES: dict[str, CategorySpec] = {
    c.name: c
    for c in (
        _c(
            "concert", "event", ("events",), ("bars",),
            tags=("concert", "live music", "music", "event", "nightlife", "show"),
            google_type="Concert", google_types=("Concert",), urban=True, weight=4, minimum=2,
            names=("The {nature} {band} Live", "{root} Creek String Band", "{person} & the {band}",
                   "The {adj} {band} in Concert"),
            blurbs=("Live {genre} from a local band; no cover before 9.",),
        ),
        _c(
            "festival", "event", ("events",), ("food",),
            tags=("festival", "event", "music", "food", "family"),
            google_type="Festival", google_types=("Festival",), urban=True, weight=3, minimum=2,
            names=("{town} Ramp Festival", "{county} Apple Festival", "{root} Bluegrass Festival",
                   "{town} Heritage Days", "{county} Fiddlers' Convention"),
            blurbs=("Crafts, food stands and music on two stages; free admission.",),
        ),
        _c(
            "market", "event", ("events",), ("food", "shopping"),
            tags=("market", "farmers market", "food", "shopping", "event", "local"),
            google_type="Market", google_types=("Market",), urban=True, weight=2, minimum=2,
            names=("{town} Farmers Market", "{root} Night Market", "{town} First Saturday Flea"),
            blurbs=("Local growers, honey, baked goods and crafts.",),
        ),
        _c(
            "trivia_night", "event", ("events",), ("bars",),
            tags=("trivia", "bar", "nightlife", "event", "quiz"),
            google_type="Trivia night", google_types=("Trivia night",), urban=True, weight=2,
            minimum=2,
            names=("Trivia Night at {venue}", "Pub Quiz at {venue}", "Music Bingo at {venue}"),
            blurbs=("Teams of up to six, prizes for the top three; starts at 7.",),
        ),
    )
}  # fmt: skip

ALL_CATEGORIES: dict[str, CategorySpec] = {**PLACE_CATEGORIES, **EVENT_CATEGORIES}


@dataclass(frozen=True, slots=True)
class DecoySpec:
    """A well-known tourist trap: very popular, mediocre, sold in "hidden gem" clickbait."""

    category: str
    names: tuple[str, ...]
    blurb: str


DECOYS: tuple[DecoySpec, ...] = (
    DecoySpec("swimming_hole", ("{town} Splash Water Park", "{county} Falls Water Park"),
              "Crowded water park with a lazy river, $30 parking and long lines."),
    DecoySpec("waterfall", ("{root} Falls Adventure Park", "{town} Falls Zipline & Gift Shop"),
              "A pumped-water 'waterfall' behind a gift shop, arcade and zipline."),
    DecoySpec("diner", ("Famous {town} Family Buffet", "The Original {state} Kitchen"),
              "Bus-tour buffet with billboards for 50 miles; everything is microwaved."),
    DecoySpec("dive_bar", ("{town} Sports Bar & Grill", "The Famous {noun} Saloon"),
              "Chain-style sports bar with souvenir cups and a cover charge."),
    DecoySpec("oddity", ("World's Largest {obj} Gift Barn", "{state} Wonderland Mystery House"),
              "A giant roadside statue in front of a huge souvenir store."),
    DecoySpec("historic_site", ("Old West Ghost Town at {root}", "{county} Frontier Village"),
              "A staged frontier town with gunfight shows and fudge shops."),
    DecoySpec("antique_shop", ("{town} Mega Antique Outlet",),
              "A highway antique mall of reproduction signs and fudge."),
)  # fmt: skip

CLICKBAIT = (
    "Top 10 must-see hidden gem!",
    "The most popular secret spot in {state}!",
    "This famous hidden gem is a must-see.",
    "Everyone's favorite best-kept secret.",
)
