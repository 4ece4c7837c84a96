"""Name helpers: place names from titles, HTML to text, subreddits for a place."""

from __future__ import annotations

import pytest
import us

from underfoot_lab.pipeline.sources.names import (
    STATE_SUBREDDITS,
    city_subreddit,
    html_to_text,
    is_listicle,
    place_name_from_title,
    reddit_selftext,
    short_label,
    subreddits_for,
)

LOCALITY = ("Pikeville", "Kentucky", "KY", "Pikeville KY")


@pytest.mark.parametrize(
    ("title", "kwargs", "expected"),
    [
        ("Dils Cemetery - Pikeville, Kentucky - Atlas Obscura", {}, "Dils Cemetery"),
        ("The Blue Raven Restaurant — Pikeville, KY", {}, "The Blue Raven Restaurant"),
        ("Home | The Blue Raven Restaurant", {}, "The Blue Raven Restaurant"),
        (
            "Home | The Blue Raven Restaurant",
            {"site": "The Blue Raven Restaurant"},
            "The Blue Raven Restaurant",
        ),
        ("Pikeville Tourism: Best of Pikeville, KY - Tripadvisor", {}, "Pikeville Tourism"),
        (
            "Hatfield-McCoy Feud Sites | Visit Pikeville",
            {"displayed_link": "https://www.visitpikeville.com › feud"},
            "Hatfield-McCoy Feud Sites",
        ),
        ("Menu - Depot Street Pizza Co. - Yelp", {}, "Depot Street Pizza Co."),
        (
            "15 Hidden Gems in Pikeville, KY | Only In Your State",
            {},
            "15 Hidden Gems in Pikeville, KY",
        ),
        (
            "THE 10 BEST Things to Do in Pikeville (Updated 2026) - Tripadvisor",
            {},
            "THE 10 BEST Things to Do in Pikeville (Updated 2026)",
        ),
        (
            "Top 7 Day Trips: Eastern Kentucky Edition",
            {},
            "Top 7 Day Trips: Eastern Kentucky Edition",
        ),
        ("Pikeville, KY", {}, "Pikeville, KY"),
        ("  Blue   Raven  ", {}, "Blue Raven"),
        ("", {}, ""),
    ],
)
def test_place_name_from_title(title: str, kwargs: dict[str, str], expected: str) -> None:
    assert place_name_from_title(title, locality=LOCALITY, **kwargs) == expected


def test_is_listicle() -> None:
    assert is_listicle("15 Hidden Gems in Pikeville")
    assert is_listicle("Best things to do in Pikeville")
    assert is_listicle("Hidden gems of Eastern Kentucky")
    assert not is_listicle("Blue Raven Bakery")
    assert not is_listicle("1st Street Diner")  # a number-ish name, not a round-up


def test_html_to_text_and_selftext() -> None:
    assert html_to_text("<p>A &amp; B</p><p>C&#39;s</p>") == "A & B C's"
    html = (
        '<!-- SC_OFF --><div class="md"><p>Go to <strong>Dils</strong></p></div><!-- SC_ON -->'
        ' &#32; submitted by &#32; <a href="https://www.reddit.com/user/x"> /u/x </a>'
    )
    assert reddit_selftext(html) == "Go to Dils"
    assert reddit_selftext("<table><tr><td>submitted by /u/x</td></tr></table>") == ""


def test_state_subreddits_cover_every_state_and_dc() -> None:
    codes = {s.abbr for s in us.states.STATES} | {"DC"}
    assert codes <= set(STATE_SUBREDDITS)
    assert len(STATE_SUBREDDITS) == 51
    assert STATE_SUBREDDITS["KY"] == "Kentucky"
    assert STATE_SUBREDDITS["OR"] == "oregon"
    assert STATE_SUBREDDITS["NY"] == "newyork"


def test_subreddits_for() -> None:
    assert subreddits_for("Pikeville", "KY") == ["Kentucky", "pikeville"]
    assert subreddits_for("Eureka Springs", "ar") == ["Arkansas", "eurekasprings"]
    assert subreddits_for("New York", "NY") == ["newyork"]
    assert subreddits_for("Ur", "ZZ") == []
    assert city_subreddit("St. Louis") == "stlouis"
    assert city_subreddit("Coeur d'Alene") == "coeurdalene"
    assert city_subreddit("Llanfairpwllgwyngyllgogerychwyrndrobwll") is None


def test_short_label() -> None:
    assert short_label("Pikeville", "KY", "Kentucky") == "Pikeville, KY"
    assert short_label("Toronto", "", "Ontario") == "Toronto, Ontario"
