"""The offline heuristic parser: location span, intent, confidence, failures."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime

import httpx
import pytest

from underfoot_lab.errors import BadQuery, LocationNotFound
from underfoot_lab.geo.gazetteer import Gazetteer
from underfoot_lab.pipeline.parse import PARSERS
from underfoot_lab.pipeline.parse.heuristic import DEFAULT_INTENT, HeuristicParser
from underfoot_lab.registry import ProviderContext
from underfoot_lab.settings import Settings


@pytest.fixture(scope="module")
def parser(gazetteer: Gazetteer) -> HeuristicParser:
    return HeuristicParser(lambda: gazetteer)


# query, location, admin1_hint, intent, zip_code, text of the location span
CASES = [
    ("hidden gems in Pikeville KY", "Pikeville, KY", "KY", "hidden gems", None, "Pikeville KY"),
    ("cool underground spots near Atlanta", "Atlanta", None, "cool underground spots", None,
     "Atlanta"),
    ("weird stuff to do in Portland Oregon", "Portland, OR", "OR", "weird stuff to do", None,
     "Portland Oregon"),
    ("dive bars in Eureka Springs, Arkansas", "Eureka Springs, AR", "AR", "dive bars", None,
     "Eureka Springs, Arkansas"),
    ("hidden gems near 41501", "Pikeville, KY", None, "hidden gems", "41501", "41501"),
    ("Marfa TX", "Marfa, TX", "TX", DEFAULT_INTENT, None, "Marfa TX"),
    ("secret swimming holes around Ely, MN", "Ely, MN", "MN", "secret swimming holes", None,
     "Ely, MN"),
    ("Pikeville", "Pikeville", None, DEFAULT_INTENT, None, "Pikeville"),
    ("hidden gems in pikeville ky", "Pikeville, KY", "KY", "hidden gems", None, "pikeville ky"),
    ("things to do in portland or", "Portland, OR", "OR", "things to do", None, "portland or"),
    ("Bisbee AZ antique shops", "Bisbee, AZ", "AZ", "antique shops", None, "Bisbee AZ"),
    ("live music in Astoria, Oregon", "Astoria, OR", "OR", "live music", None, "Astoria, Oregon"),
    ("what are some hidden gems near Asheville?", "Asheville, NC", None, "hidden gems", None,
     "Asheville"),
    ("Washington, D.C. speakeasies", "Washington, DC", "DC", "speakeasies", None,
     "Washington, D.C"),
    ("bars in New York", "New York City, NY", None, "bars", None, "New York"),
    ("day trip to Coeur d'Alene", "Coeur d'Alene, ID", None, "day trip", None, "Coeur d'Alene"),
    ("hidden gems in the Pikeville area", "Pikeville", None, "hidden gems", None, "Pikeville"),
]  # fmt: skip


@pytest.mark.parametrize(("query", "location", "hint", "intent", "zip_code", "span"), CASES)
def test_cases(
    parser: HeuristicParser,
    query: str,
    location: str,
    hint: str | None,
    intent: str,
    zip_code: str | None,
    span: str,
) -> None:
    parsed = parser.parse_sync(query)
    assert parsed.location == location
    assert parsed.admin1_hint == hint
    assert parsed.intent == intent
    assert parsed.zip_code == zip_code
    assert parsed.location_span is not None
    assert query[parsed.location_span[0] : parsed.location_span[1]] == span
    assert parsed.parser == "heuristic"
    assert parsed.text == query
    assert parsed.notes, "every parse explains itself"


def test_confidence_bands(parser: HeuristicParser) -> None:
    with_state = parser.parse_sync("hidden gems in Pikeville KY").confidence
    bare = parser.parse_sync("Pikeville").confidence
    unique = parser.parse_sync("hidden gems in Bisbee").confidence
    zip_code = parser.parse_sync("hidden gems near 41501").confidence
    assert 0.9 <= with_state <= 0.96
    assert 0.7 <= unique <= 0.8
    assert bare <= 0.6
    assert zip_code == pytest.approx(0.95)
    assert with_state > unique > bare


def test_ambiguous_name_notes_alternatives(parser: HeuristicParser) -> None:
    parsed = parser.parse_sync("Pikeville")
    note = next(n for n in parsed.notes if n.startswith("ambiguous"))
    assert "2 towns named Pikeville" in note
    assert "most populous" in note
    assert "Pikeville, KY" in note and "Pikeville, TN" in note


@pytest.mark.parametrize(
    ("query", "location"),
    [
        ("HIDDEN GEMS IN PIKEVILLE KY", "Pikeville, KY"),
        ("Hidden Gems In Pikeville Ky", "Pikeville, KY"),
        ("dive bars in eureka springs, arkansas", "Eureka Springs, AR"),
        ("secret swimming holes around ely mn", "Ely, MN"),
        ("marfa tx", "Marfa, TX"),
    ],
)
def test_case_insensitive(parser: HeuristicParser, query: str, location: str) -> None:
    assert parser.parse_sync(query).location == location


@pytest.mark.parametrize(
    "query",
    [
        "best tacos",
        "hidden gems",
        "weird stuff",
        "cool stuff to do",
        "secret spots",
        "fun things to do this weekend",
        "cafes with a mountain view",
        "christmas lights",
    ],
)
def test_no_location_raises(parser: HeuristicParser, query: str) -> None:
    with pytest.raises(LocationNotFound):
        parser.parse_sync(query)


def test_near_me_raises_with_a_reason(parser: HeuristicParser) -> None:
    with pytest.raises(LocationNotFound, match="near me"):
        parser.parse_sync("hidden gems near me")


def test_a_town_missing_from_the_gazetteer_is_named_in_the_error(
    parser: HeuristicParser,
) -> None:
    # Lubec, ME (about 1,300 people) is not in the GeoNames extract: the error must name Lubec,
    # not claim that only a state was given.
    with pytest.raises(LocationNotFound, match="Unknown place 'Lubec' in Maine"):
        parser.parse_sync("weird stuff in Lubec, Maine")
    with pytest.raises(LocationNotFound, match="Maine is a state"):
        parser.parse_sync("hidden gems in Maine")


def test_misspelling_suggests(parser: HeuristicParser) -> None:
    with pytest.raises(LocationNotFound) as err:
        parser.parse_sync("hidden gems in Springfeld, IL")
    assert "Springfield, IL" in err.value.suggestions
    assert "Springfield, IL" in str(err.value)


def test_misspelling_lowercase_multiword(parser: HeuristicParser) -> None:
    with pytest.raises(LocationNotFound) as err:
        parser.parse_sync("hidden gems in eurika springs ar")
    assert err.value.suggestions[0] == "Eureka Springs, AR"


def test_town_not_in_named_state(parser: HeuristicParser) -> None:
    with pytest.raises(LocationNotFound, match="No town named Pikeville in Ohio") as err:
        parser.parse_sync("hidden gems in Pikeville, OH")
    assert "Pikeville, KY" in err.value.suggestions


def test_state_alone_suggests_towns(parser: HeuristicParser) -> None:
    with pytest.raises(LocationNotFound, match="Vermont is a state") as err:
        parser.parse_sync("hidden gems in Vermont")
    assert "Burlington, VT" in err.value.suggestions


def test_unknown_zip_raises(parser: HeuristicParser) -> None:
    with pytest.raises(LocationNotFound, match="00000"):
        parser.parse_sync("hidden gems near 00000")


def test_common_words_that_are_towns_do_not_win(
    parser: HeuristicParser, gazetteer: Gazetteer
) -> None:
    # The words really are towns, so these checks mean something.
    for word in ("Cool", "Parks", "Beach", "Spring", "Surprise", "Bend"):
        assert gazetteer.lookup(word), word
    assert parser.parse_sync("Cool underground spots near Atlanta").location == "Atlanta"
    assert parser.parse_sync("best parks in Ely, MN").location == "Ely, MN"
    assert parser.parse_sync("beach bars near Bisbee").location == "Bisbee, AZ"
    assert parser.parse_sync("spring hikes around Marfa TX").location == "Marfa, TX"
    parsed = parser.parse_sync("cool underground spots near Atlanta")
    assert any("'cool'" in n and "common word" in n for n in parsed.notes)


def test_common_word_town_with_state_is_taken(parser: HeuristicParser) -> None:
    parsed = parser.parse_sync("hidden gems in Surprise AZ")
    assert parsed.location == "Surprise, AZ"
    assert parsed.admin1_hint == "AZ"
    # Backed by a state, but still a common word: a bit less sure than a proper name.
    assert parsed.confidence < parser.parse_sync("hidden gems in Bisbee AZ").confidence


def test_lowercase_state_word_mid_query_is_not_a_state(parser: HeuristicParser) -> None:
    # "in" is Indiana's code; Portland, IN exists, but here it is a preposition.
    parsed = parser.parse_sync("Portland in winter")
    assert parsed.location == "Portland"
    assert parsed.admin1_hint is None


def test_zip_with_town_keeps_intent_clean(parser: HeuristicParser) -> None:
    parsed = parser.parse_sync("Pikeville KY 41501 coffee")
    assert parsed.zip_code == "41501"
    assert parsed.intent == "coffee"
    assert parsed.admin1_hint == "KY"


def test_empty_query_is_bad(parser: HeuristicParser) -> None:
    with pytest.raises(BadQuery):
        parser.parse_sync("   ")


async def test_async_parse_matches_sync(parser: HeuristicParser) -> None:
    parsed = await parser.parse("dive bars in Eureka Springs, Arkansas")
    assert parsed == parser.parse_sync("dive bars in Eureka Springs, Arkansas")


async def test_registered_and_created_from_context(gazetteer: Gazetteer) -> None:
    assert "heuristic" in PARSERS and "openai" in PARSERS
    cls = PARSERS.get("heuristic")
    assert cls is HeuristicParser
    settings = Settings()
    availability = cls.availability(settings)
    assert availability.ok
    assert availability.reason == "offline heuristic parser; always available"
    calls: list[int] = []

    def loader() -> Gazetteer:
        calls.append(1)
        return gazetteer

    async with httpx.AsyncClient() as http:
        ctx = ProviderContext(
            settings=settings,
            http=http,
            clock=lambda: datetime.now(UTC),
            gazetteer_loader=loader,
            simulated=True,
        )
        created = cls.create(ctx)
        assert calls == [], "creating the parser must not load the gazetteer"
        parsed = await created.parse("Marfa TX")
    assert parsed.location == "Marfa, TX"
    assert calls


def test_parse_package_import_is_lazy() -> None:
    code = (
        "import sys, underfoot_lab.pipeline.parse, underfoot_lab.pipeline.geocode;"
        "print(any(m.endswith(('.heuristic', '.offline', '.gazetteer')) for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_parse_is_fast(parser: HeuristicParser) -> None:
    queries = [q for q, *_ in CASES if "41501" not in q]
    parser.parse_sync(queries[0])  # warm
    start = time.perf_counter()
    for _ in range(20):
        for q in queries:
            parser.parse_sync(q)
    per_query_ms = (time.perf_counter() - start) * 1000 / (20 * len(queries))
    assert per_query_ms < 2.0


@pytest.mark.parametrize(
    ("query", "location", "other", "intent"),
    [
        ("hidden gems between Austin TX and Marfa TX", "Marfa, TX", "Austin, TX", "hidden gems"),
        ("dive bars in Austin TX or Marfa TX", "Austin, TX", "Marfa, TX", "dive bars"),
    ],
)
def test_two_places_in_one_query_are_noted_and_kept_out_of_the_intent(
    query: str, location: str, other: str, intent: str
) -> None:
    parsed = HeuristicParser().parse_sync(query)
    assert parsed.location == location
    assert parsed.intent == intent
    note = next(n for n in parsed.notes if n.startswith("several places:"))
    assert other in note and f"searched {location}" in note
    # Deterministic: the same query always picks the same place.
    assert HeuristicParser().parse_sync(query) == parsed


def test_one_place_has_no_several_places_note() -> None:
    parsed = HeuristicParser().parse_sync("hidden gems in Pikeville KY")
    assert not any(n.startswith("several places") for n in parsed.notes)
