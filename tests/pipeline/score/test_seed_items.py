"""Production's per-item seed scorer, tested from its rules (``seed-system.md``), not our code.

Every expected score below was worked out by hand from the rules; the comment beside each case
shows the sum. Rule numbers are the ones of "The scorer, rule by rule".
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from underfoot_lab.pipeline.score.seed import rank_seed_items


def item(
    name: str,
    description: str = "",
    source: str = "serp",
    metadata: Mapping[str, Any] | None = None,
    url: str = "https://example.org/x",
) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "source": source,
        "url": url,
        "metadata": metadata,
    }


# (id, intent, item, expected score, expected category)
CASES: list[tuple[str, str, dict[str, Any], float, str]] = [
    # ---- rules 1-2: intent substring, lowercased, not stripped
    # "joe's dive bars " holds "dive bars": 0.3 intent + 0.1 ("dive") + 0 eventbrite = 0.4
    ("intent-hit", "dive bars", item("Joe's Dive Bars", source="eventbrite"), 0.4, "nearby"),
    # the intent is lowercased too: 0.3 intent + 0.1 ("dive") + 0 = 0.4
    ("intent-upper", "DIVE Bars", item("joe's dive bars", source="eventbrite"), 0.4, "nearby"),
    # "taco stand" does not hold "tacos": 0 intent + 0 keywords + 0.15 serp = 0.15
    ("intent-miss", "tacos", item("Taco stand"), 0.15, "nearby"),
    # intent in the description only: 0.3 intent + 0.15 serp = 0.45
    ("intent-in-description", "pie", item("Mae's", "the best pie in town"), 0.45, "nearby"),
    # an empty intent is a substring of everything: 0.3 + 0 keywords + 0 eventbrite = 0.3
    ("empty-intent", "", item("Plain cafe", "coffee", source="eventbrite"), 0.3, "nearby"),
    # "bars " (trailing space) vs "best bars, downtown": no "bars " in it: 0 + 0.15 serp = 0.15
    ("unstripped-miss", "bars ", item("Best bars,", "downtown"), 0.15, "nearby"),
    # same intent, empty description: text "best bars " ends in the joining space:
    # 0.3 intent + 0.15 serp = 0.45
    ("unstripped-joining-space", "bars ", item("Best bars", ""), 0.45, "nearby"),
    # " bars" (leading space) is in "best bars ": 0.3 + 0.15 serp = 0.45
    ("unstripped-leading", " bars", item("Best bars"), 0.45, "nearby"),
    # a lone space is always in the text (the joining space): 0.3 + 0 + 0 eventbrite = 0.3
    ("space-intent", " ", item("Cafe", "coffee", source="eventbrite"), 0.3, "nearby"),
    # a double space is not in "cafe coffee": 0 + 0 + 0 eventbrite = 0.0
    ("double-space-intent", "  ", item("Cafe", "coffee", source="eventbrite"), 0.0, "nearby"),
    # ---- rule 3: keywords, +0.1 each (substrings, each counted once), at most +0.4
    # hidden, underground, secret, local: 0 intent + 0.4 + 0.15 serp = 0.55
    (
        "four-keywords",
        "museum",
        item("Hidden underground secret local spot"),
        0.55,
        "primary",
    ),
    # hidden, underground, secret, quirky, weird, unique = 6 -> capped 0.4; + 0.15 serp = 0.55
    (
        "keyword-cap",
        "museum",
        item("Hidden underground secret", "quirky weird unique"),
        0.55,
        "primary",
    ),
    # "locals only" holds "local" and "locals only": 0.1 * 2 + 0.2 reddit = 0.4
    ("locals-only", "museum", item("Locals only", source="reddit"), 0.4, "nearby"),
    # a keyword repeated counts once: 0.1 + 0.15 serp = 0.25
    ("repeat-once", "museum", item("hidden hidden", "hidden"), 0.25, "nearby"),
    # substrings count: "diver's" holds "dive": 0.1 + 0 eventbrite = 0.1
    ("substring", "museum", item("Diver's cove", source="eventbrite"), 0.1, "nearby"),
    # a keyword in the description: 0.1 ("quirky") + 0.15 serp = 0.25
    ("keyword-in-description", "museum", item("Cafe", "a quirky place"), 0.25, "nearby"),
    # the intent word is a keyword too: 0.3 intent + 0.1 ("hidden") + 0.15 serp = 0.55
    ("intent-is-keyword", "hidden", item("Hidden falls"), 0.55, "primary"),
    # ---- rule 4: source bonus, exclusive
    ("reddit-bonus", "museum", item("Cafe", source="reddit"), 0.2, "nearby"),  # 0.2
    ("serp-bonus", "museum", item("Cafe", source="serp"), 0.15, "nearby"),  # 0.15
    ("eventbrite-none", "museum", item("Cafe", source="eventbrite"), 0.0, "nearby"),  # 0
    ("other-source", "museum", item("Cafe", source="yelp"), 0.0, "nearby"),  # 0
    ("source-case", "museum", item("Cafe", source="Reddit"), 0.0, "nearby"),  # exact compare: 0
    # ---- rule 5: metadata bonus, only with a non-empty mapping
    # 0.2 reddit + 0.1 (score 101 > 100) = 0.3
    (
        "reddit-popular",
        "museum",
        item("Cafe", source="reddit", metadata={"subreddit": "x", "score": 101}),
        0.3,
        "nearby",
    ),
    # score 100 is not > 100: 0.2 reddit = 0.2
    (
        "reddit-100",
        "museum",
        item("Cafe", source="reddit", metadata={"subreddit": "x", "score": 100}),
        0.2,
        "nearby",
    ),
    # no score: get("score", 0) = 0: 0.2 reddit = 0.2
    (
        "reddit-no-score",
        "museum",
        item("Cafe", source="reddit", metadata={"subreddit": "x"}),
        0.2,
        "nearby",
    ),
    # present but empty metadata: no metadata bonus: 0.2 reddit = 0.2
    ("reddit-empty-metadata", "museum", item("Cafe", source="reddit", metadata={}), 0.2, "nearby"),
    # eventbrite with any non-empty metadata: 0 + 0.1 = 0.1
    (
        "eventbrite-metadata",
        "museum",
        item("Cafe", source="eventbrite", metadata={"start": "2026-06-20T19:00:00", "venue": "V"}),
        0.1,
        "nearby",
    ),
    # eventbrite with a metadata whose only value is falsy still gets it: 0 + 0.1 = 0.1
    (
        "eventbrite-falsy-value",
        "museum",
        item("Cafe", source="eventbrite", metadata={"venue": None}),
        0.1,
        "nearby",
    ),
    # eventbrite with empty metadata: 0
    ("eventbrite-empty", "museum", item("Cafe", source="eventbrite", metadata={}), 0.0, "nearby"),
    # a vote score on a web item earns nothing: 0.15 serp = 0.15
    (
        "serp-score-ignored",
        "museum",
        item("Cafe", metadata={"position": 1, "score": 500}),
        0.15,
        "nearby",
    ),
    # ---- rule 6: cap. The largest sum is 0.3 + 0.4 + 0.2 + 0.1 = 1.0, so min(., 1.0) holds it
    (
        "everything",
        "hidden",
        item(
            "Hidden underground secret local",
            "quirky weird",
            source="reddit",
            metadata={"subreddit": "x", "score": 999},
        ),
        1.0,
        "primary",
    ),
    # ---- rule 8: split at 0.5 (inclusive)
    # 0.3 intent + 0.2 reddit = 0.5 -> primary
    ("split-at-half", "museum", item("Museum", source="reddit"), 0.5, "primary"),
    # 0.1 * 2 (hidden, dive) + 0.2 reddit + 0.1 (score 150) = 0.5 -> primary
    (
        "split-metadata-half",
        "museum",
        item("hidden dive", source="reddit", metadata={"subreddit": "x", "score": 150}),
        0.5,
        "primary",
    ),
    # 0.1 * 3 (hidden, dive, indie) + 0.15 serp = 0.45 -> nearby
    ("below-half", "museum", item("hidden dive", "indie"), 0.45, "nearby"),
    # 0.3 intent + 0.1 * 2 (hidden, dive) + 0.15 serp = 0.65 -> primary
    ("serp-primary", "bar", item("Hidden bar", "a dive"), 0.65, "primary"),
]


@pytest.mark.parametrize(
    ("intent", "raw", "expected", "category"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_rule_table(intent: str, raw: dict[str, Any], expected: float, category: str) -> None:
    [out] = rank_seed_items([raw], intent)
    assert math.isclose(out["score"], expected, abs_tol=1e-9)
    assert out["category"] == category


def test_order_is_stable_by_score_with_input_order_on_ties() -> None:
    intent = "tacos"
    items = [
        item("Taco stand", url="w1"),  # 0.15 serp
        item("Best tacos, hidden", url="w2"),  # 0.3 + 0.1 + 0.15 = 0.55
        item("nothing here", url="w3"),  # 0.15 serp (ties w1, comes after it)
        item("tacos?", source="reddit", url="r1"),  # 0.3 + 0.2 = 0.5
        item("where to eat", source="reddit", metadata={"score": 50}, url="r2"),  # 0.2
        item("Taco night", source="eventbrite", metadata={"start": "s"}, url="e1"),  # 0.1
        item("tacos fest", source="eventbrite", url="e2"),  # 0.3
        item("hidden", source="eventbrite", metadata={"v": 1}, url="e3"),  # 0.1 + 0.1 = 0.2
    ]
    ranked = rank_seed_items(items, intent)
    # 0.55, 0.5, 0.3, 0.2 (r2 before e3: input order), 0.15 (w1 before w3), 0.1
    assert [r["url"] for r in ranked] == ["w2", "r1", "e2", "r2", "e3", "w1", "w3", "e1"]
    assert [r["category"] for r in ranked] == ["primary", "primary"] + ["nearby"] * 6


def test_returns_new_mappings_and_leaves_inputs_alone() -> None:
    meta = {"subreddit": "x", "score": 500}
    raw = {**item("Hidden", source="reddit", metadata=meta, url="u"), "extra": [1]}
    before = copy.deepcopy(raw)
    [out] = rank_seed_items([raw], "hidden")
    assert raw == before  # nothing added or changed
    assert out is not raw and out["metadata"] is not meta and out["metadata"] == meta
    assert set(out) == {*raw, "score", "category"}
    assert out["extra"] == [1] and out["url"] == "u"
    # 0.3 intent + 0.1 ("hidden") + 0.2 reddit + 0.1 (score 500) = 0.7
    assert math.isclose(out["score"], 0.7, abs_tol=1e-9)


def test_none_metadata_is_kept_as_none() -> None:
    [out] = rank_seed_items([item("Cafe", metadata=None)], "x")
    assert out["metadata"] is None


def test_empty_input() -> None:
    assert rank_seed_items([], "anything") == []


# ------------------------------------------------------------------------------ properties

_WORDS = ["hidden", "local", "locals only", "dive", "cafe", "bar", "park", "tacos", "", " "]
_texts = st.lists(st.sampled_from(_WORDS), max_size=6).map(" ".join) | st.text(max_size=30)
_metadata = st.none() | st.dictionaries(
    st.sampled_from(["score", "subreddit", "position", "start"]),
    st.integers(min_value=-5, max_value=500) | st.text(max_size=5),
    max_size=3,
)
_items = st.lists(
    st.fixed_dictionaries(
        {
            "name": _texts,
            "description": _texts,
            "source": st.sampled_from(["serp", "reddit", "eventbrite", "other"]),
            "metadata": _metadata,
        }
    ),
    max_size=12,
).map(lambda rows: [{**r, "url": f"u{i}"} for i, r in enumerate(rows)])
_intents = st.sampled_from(["", " ", "hidden", "Dive Bars", "tacos ", "park"]) | st.text(
    max_size=10
)


@settings(max_examples=200, deadline=None, database=None)
@given(items=_items, intent=_intents)
def test_properties(items: list[dict[str, Any]], intent: str) -> None:
    before = copy.deepcopy(items)
    ranked = rank_seed_items(items, intent)
    assert items == before
    # a permutation of the input
    assert sorted(r["url"] for r in ranked) == sorted(i["url"] for i in items)
    for r in ranked:
        assert 0.0 <= r["score"] <= 1.0
        assert r["category"] == ("primary" if r["score"] >= 0.5 else "nearby")
    position = {i["url"]: n for n, i in enumerate(items)}
    for a, b in itertools.pairwise(ranked):
        assert a["score"] >= b["score"]
        if a["score"] == b["score"]:
            assert position[a["url"]] < position[b["url"]]  # ties keep input order
    # ranking the ranked output changes nothing
    assert rank_seed_items(ranked, intent) == ranked


@settings(max_examples=100, deadline=None, database=None)
@given(
    name=_texts,
    source=st.sampled_from(["serp", "reddit", "eventbrite"]),
    n=st.integers(min_value=2, max_value=8),
)
def test_equal_items_keep_input_order(name: str, source: str, n: int) -> None:
    items = [item(name, source=source, url=f"u{k}") for k in range(n)]
    ranked = rank_seed_items(items, "hidden")
    assert [r["url"] for r in ranked] == [f"u{k}" for k in range(n)]
    assert len({r["score"] for r in ranked}) == 1
