"""The feature scorer: baseline-seed reproduces the seed exactly; pool scoring; diversity."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from underfoot_lab.errors import ConfigError
from underfoot_lab.harness import build_harness
from underfoot_lab.pipeline.run import Pipeline
from underfoot_lab.pipeline.score import load_scorer
from underfoot_lab.pipeline.score.diversity import category_of, mmr_rerank, similarity_matrix
from underfoot_lab.pipeline.score.engine import (
    FeatureScorer,
    primary_mask,
    rank_pool,
    score_pool,
    score_rows,
    stack_weights,
    tie_codes,
)
from underfoot_lab.pipeline.score.features import SCORED_FEATURES, build_features
from underfoot_lab.pipeline.score.merge import merge_candidates
from underfoot_lab.pipeline.score.seed import (
    UNDERGROUND_KEYWORDS,
    SeedScorer,
    rank_order,
)
from underfoot_lab.pipeline.score.weights import ScoringWeights
from underfoot_lab.records import Candidate, ParsedQuery, Place, RankedResult
from underfoot_lab.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
BASELINE = ROOT / "experiments" / "weights" / "baseline-seed.yaml"
DEFAULT = ROOT / "experiments" / "weights" / "tuned-default-world.yaml"
PLACE = Place("Pikeville", "Kentucky", "KY", "Pike County", "US", 37.479, -82.519, 7012, 0.9, "t")
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
SOURCES = {
    "local": "serpapi_local",
    "reddit": "reddit",
    "web": "serpapi_web",
    "events": "serpapi_events",
}


def cand(title: str, desc: str = "", source_type: str = "local", n: int = 1) -> Candidate:
    return Candidate(
        source=SOURCES[source_type],
        source_type=source_type,  # type: ignore[arg-type]
        native_id=f"{title}-{n}",
        title=title,
        name=title,
        description=desc,
        url=f"https://x.example/{n}",
        rank=n,
    )


def pq(intent: str) -> ParsedQuery:
    return ParsedQuery("q", "Pikeville, KY", intent, 0.9, "t")


def baseline() -> FeatureScorer:
    scorer = load_scorer(BASELINE, clock=lambda: NOW)
    assert isinstance(scorer, FeatureScorer)
    return scorer


def triples(results: list[RankedResult]) -> list[tuple[str, float, str]]:
    return [(r.id, r.score, r.category) for r in results]


# The seed's own test table (tests/pipeline/score/test_seed.py), scored both ways.
CASES = [
    ("Coal Run Falls", "a hidden gems spot", "local", "hidden gems"),
    ("Ice cream stand", "nice", "reddit", "hidden gems"),
    ("Odd Museum", "hidden secret local quirky weird unique", "events", "diners"),
    ("dive bars galore", "dive underground secret hidden indie", "reddit", "dive bars"),
    ("Trail", "locals only", "web", "x"),
    ("SECRET SWIMMING HOLES", "", "web", "secret swimming holes"),
    ("hidden secret local", "", "reddit", "zzz"),  # 0.1 * 3 + 0.2: "0.5" up to rounding
    ("Half", "hidden gems secret local", "events", "hidden gems"),
]


@pytest.mark.parametrize(("title", "desc", "stype", "intent"), CASES)
def test_baseline_equals_seed_on_the_seed_table(
    title: str, desc: str, stype: str, intent: str
) -> None:
    ents = merge_candidates([cand(title, desc, stype)], PLACE)
    assert triples(baseline().rank(pq(intent), PLACE, ents)) == triples(
        SeedScorer().rank(pq(intent), PLACE, ents)
    )


def test_baseline_equals_seed_bit_for_bit_on_every_combination() -> None:
    """Every intent x keyword-count x source-kind combination, all in one query.

    Mathematically equal sums that round differently (0.45 vs 0.44999999999999996) are
    common here, so this pins the summation order as well as the values, the split at 0.5 and
    the tie order.
    """
    items: list[Candidate] = []
    n = 0
    kinds = ("local", "web", "reddit", "events")
    for hit, k in itertools.product((False, True), range(8)):
        for subset in itertools.chain.from_iterable(
            itertools.combinations(kinds, r) for r in range(1, 5)
        ):
            name = f"place {n:03d}"
            desc = " ".join(UNDERGROUND_KEYWORDS[:k]) + (" zzz tour" if hit else "")
            for i, st in enumerate(subset):
                n += 1
                items.append(cand(name, desc if i == 0 else "", st, n=n))
    ents = merge_candidates(items, PLACE)
    assert len(ents) == 2 * 8 * 15
    seed = SeedScorer().rank(pq("zzz tour"), PLACE, ents)
    ours = baseline().rank(pq("zzz tour"), PLACE, ents)
    assert triples(ours) == triples(seed)
    assert {r.category for r in seed} == {"primary", "nearby"}
    # and the batch paths agree: exact bit for bit, the matmul to ~1 ulp
    w = ScoringWeights.from_yaml(BASELINE)
    fm = build_features(pq("zzz tour"), PLACE, ents, now=NOW)
    exact = score_pool(fm.scored, w.vector()[None], cap=w.cap, keyword_cap=w.keyword_cap,
                       exact=True)[0]  # fmt: skip
    by_id = {r.id: r.score for r in seed}
    assert exact.tolist() == [by_id[e.id] for e in ents]
    fast = score_pool(fm.scored, w.vector()[None], cap=w.cap, keyword_cap=w.keyword_cap)[0]
    assert np.abs(fast - exact).max() <= 1e-12


def test_baseline_keeps_the_seed_tie_break() -> None:
    ents = merge_candidates(
        [
            cand("Alpha", "", "events", 1),
            cand("Zulu", "", "events", 2),
            cand("Mike", "", "events", 3),
        ],
        PLACE,
    )
    assert [r.id for r in baseline().rank(pq("zzz"), PLACE, ents)] == ["zulu", "mike", "alpha"]


@pytest.fixture(scope="module")
def pipe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    home = tmp_path_factory.mktemp("home")
    with build_harness(Settings(_env_file=None, home=home), use_cache=False) as harness:
        p = harness.pipeline
        yield p


@pytest.mark.parametrize(
    "query",
    [
        "hidden gems in Pikeville KY",
        "dive bars in Marfa TX",
        "secret swimming holes around Ely, MN",
        "weird stuff to do in Bisbee AZ",
        "what's happening in Hazard KY this weekend",
    ],
)
def test_baseline_equals_seed_on_real_pipeline_output(pipe: Pipeline, query: str) -> None:
    fetched = pipe.run_sync(pipe.fetch(query))
    seed = pipe.run_sync(pipe.finish(fetched, [], scorer=SeedScorer()))
    ours = pipe.run_sync(pipe.finish(fetched, [], scorer=baseline()))
    assert len(seed.results) >= 10
    assert triples(list(ours.results)) == triples(list(seed.results))
    assert ours.scorer.startswith("weights:baseline-seed:")


def test_pipeline_with_a_weights_file_uses_the_feature_scorer(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, home=tmp_path, weights=DEFAULT)
    with build_harness(settings, use_cache=False) as harness:
        p = harness.pipeline
        assert isinstance(p.scorer, FeatureScorer)
        r = p.search("hidden gems in Pikeville KY")
    assert r.scorer == ScoringWeights.from_yaml(DEFAULT).version
    scores = [x.score for x in r.results]
    assert scores == sorted(scores, reverse=True)
    feats = dict(r.results[0].features)
    assert set(SCORED_FEATURES) <= set(feats)
    # primary needs the threshold and the radius
    w = ScoringWeights.from_yaml(DEFAULT)
    for x in r.results:
        inside = x.distance_km is None or x.distance_km <= (w.primary_radius_km or np.inf)
        assert (x.category == "primary") == (x.score >= w.primary_threshold and inside)


def test_load_scorer() -> None:
    assert isinstance(load_scorer(None), SeedScorer)
    s = load_scorer(str(BASELINE))
    assert isinstance(s, FeatureScorer) and s.name == "features"
    assert s.version == ScoringWeights.from_yaml(BASELINE).version
    with pytest.raises(ConfigError):
        load_scorer(Path("/nonexistent/weights.yaml"))


def test_score_rows_caps_and_groups() -> None:
    w = ScoringWeights(
        name="t",
        weights={"keyword_count": 0.5, "src_web": 1.0, "rating_quality": 2.0},
        keyword_cap=0.6,
        cap=2.5,
    )
    x = np.zeros((3, len(SCORED_FEATURES)))
    k, web, rq = (SCORED_FEATURES.index(n) for n in ("keyword_count", "src_web", "rating_quality"))
    x[0, [k, web, rq]] = [1.0, 0.0, 0.0]  # 0.5
    x[1, [k, web, rq]] = [4.0, 1.0, 0.0]  # min(2.0, 0.6) + 1.0
    x[2, [k, web, rq]] = [4.0, 1.0, 1.0]  # 0.6 + 1 + 2 = 3.6 -> 2.5
    assert score_rows(x, w).tolist() == [0.5, 1.6, 2.5]
    with pytest.raises(ValueError):
        score_rows(np.zeros((2, 3)), w)


def test_score_pool_many_vectors_and_per_vector_caps() -> None:
    rng = np.random.default_rng(3)
    x = rng.random((50, len(SCORED_FEATURES)))
    x[:, SCORED_FEATURES.index("keyword_count")] = rng.integers(0, 8, 50)
    ws = [
        ScoringWeights(name=f"w{i}", weights=dict(zip(SCORED_FEATURES, rng.normal(size=17),
                                                      strict=False)),
                       keyword_cap=[None, 0.4, 1.0][i % 3], cap=[None, 1.0][i % 2])
        for i in range(6)
    ]  # fmt: skip
    batch = stack_weights(ws)
    exact = score_pool(x, batch.matrix, cap=batch.cap, keyword_cap=batch.keyword_cap, exact=True)
    fast = score_pool(x, batch.matrix, cap=batch.cap, keyword_cap=batch.keyword_cap)
    assert exact.shape == (6, 50)
    for i, w in enumerate(ws):
        assert exact[i].tobytes() == score_rows(x, w).tobytes()
    np.testing.assert_allclose(fast, exact, rtol=0, atol=1e-12)
    # a plain matrix without the keyword column: just a product, then the cap
    y = rng.random((4, 3))
    v = rng.random((2, 3))
    np.testing.assert_allclose(score_pool(y, v, cap=None), v @ y.T)
    with pytest.raises(ValueError, match="align"):
        score_pool(y, rng.random((2, 4)))


def test_rank_pool_matches_rank_order_per_query() -> None:
    ids = ["b", "a", "c", "x", "y", "z", "w"]
    offsets = np.array([0, 3, 3, 7])  # an empty middle query
    scores = np.array([[0.5, 0.5, 0.1, 0.2, 0.9, 0.2, 0.2], [1.0, 0.0, 0.5, 0.0, 0.0, 0.0, 0.0]])
    order = rank_pool(scores, offsets, tie_codes(ids))
    assert [ids[i] for i in order[0]] == ["b", "a", "c", "y", "z", "x", "w"]
    assert [ids[i] for i in order[1]] == ["b", "c", "a", "z", "y", "x", "w"]
    one = rank_pool(scores[0], offsets, tie_codes(ids))
    assert one.tolist() == order[0].tolist()
    # the same as the seed's rank_order on RankedResults
    rs = [
        RankedResult(i, i, "", (), s, "nearby", None, None, None, "", (), False)
        for i, s in zip("bac", [0.5, 0.5, 0.1], strict=True)
    ]
    assert [r.id for r in rank_order(rs)] == ["b", "a", "c"]


def test_primary_mask_radius() -> None:
    scores = np.array([0.6, 0.6, 0.6, 0.4])
    dist = np.array([5.0, 40.0, np.nan, 1.0])
    assert primary_mask(scores, dist, 0.5, None).tolist() == [True, True, True, False]
    assert primary_mask(scores, dist, 0.5, 25.0).tolist() == [True, False, True, False]


def test_feature_scorer_rejects_mismatched_rows() -> None:
    ents = merge_candidates([cand("Alpha"), cand("Bravo", n=2)], PLACE)
    assert len(ents) == 2
    fm = build_features(pq("x"), PLACE, ents, now=NOW)
    with pytest.raises(ValueError, match="match"):
        baseline().rank_matrix(ents[::-1], fm)


# ------------------------------------------------------------------------------ diversity
def _results() -> list[RankedResult]:
    items = [
        Candidate("serpapi_local", "local", "1", "Bar A", "Bar A", "", "u1", 1, place_type="Bar"),
        Candidate("serpapi_local", "local", "2", "Bar B", "Bar B", "", "u2", 2, place_type="Bar"),
        Candidate("serpapi_local", "local", "3", "Bar C", "Bar C", "", "u3", 3, place_type="Bar"),
        Candidate("reddit", "reddit", "4", "Falls D", "Falls D", "", "u4", 4),
        Candidate("serpapi_events", "events", "5", "Fest E", "Fest E", "", "u5", 5),
    ]
    ents = merge_candidates(items, PLACE)
    w = ScoringWeights(name="d", weights={"source_rank": 1.0}, cap=None)
    return FeatureScorer(w, clock=lambda: NOW).rank(pq("x"), PLACE, ents)


def test_mmr_lambda_one_keeps_the_order_and_lower_lambda_diversifies() -> None:
    rel = _results()
    assert [r.title for r in rel] == ["Bar A", "Bar B", "Bar C", "Falls D", "Fest E"]
    same = mmr_rerank(rel, 1.0)
    assert [r.id for r in same] == [r.id for r in rel]
    div = mmr_rerank(rel, 0.5)
    assert [r.title for r in div][:3] == ["Bar A", "Falls D", "Fest E"]
    scores = [r.score for r in div]
    assert all(a > b for a, b in itertools.pairwise(scores))  # sorting by score keeps it
    assert [r.id for r in rank_order(div)] == [r.id for r in div]
    assert dict(div[0].features)["relevance"] == rel[0].score
    assert [r.category for r in sorted(div, key=lambda r: r.id)] == [
        r.category for r in sorted(rel, key=lambda r: r.id)
    ]
    assert mmr_rerank([], 0.5) == []
    with pytest.raises(ValueError):
        mmr_rerank(rel, 1.5)


def test_similarity_and_categories() -> None:
    rel = _results()
    assert [category_of(r) for r in rel] == ["bar", "bar", "bar", None, "event"]
    sim = similarity_matrix(rel)
    assert sim[0, 1] == 1.0  # same source type, same category
    assert sim[0, 3] == 0.0  # reddit post, unknown category
    assert sim[3, 3] == 1.0


def test_diversity_lambda_in_weights_reranks() -> None:
    items = [
        Candidate("serpapi_local", "local", str(i), f"Bar {i}", f"Bar {i}", "", f"u{i}", i,
                  place_type="Bar")
        for i in range(1, 4)
    ] + [Candidate("reddit", "reddit", "9", "Falls", "Falls", "", "u9", 4)]  # fmt: skip
    ents = merge_candidates(items, PLACE)
    w = ScoringWeights(name="d", weights={"source_rank": 1.0}, cap=None, diversity_lambda=0.5)
    titles = [r.title for r in FeatureScorer(w, clock=lambda: NOW).rank(pq("x"), PLACE, ents)]
    assert titles[:2] == ["Bar 1", "Falls"]


# ------------------------------------------------------------------------------ the CLI
@pytest.mark.slow
def test_cli_search_with_baseline_weights_equals_the_seed(tmp_path: Path) -> None:
    env = {**os.environ, "UNDERFOOT_HOME": str(tmp_path)}

    def search(*extra: str) -> dict[str, object]:
        out = subprocess.run(
            [sys.executable, "-m", "underfoot_lab.cli", "search", "--json", "--no-cache",
             *extra, "hidden gems in Pikeville KY"],
            capture_output=True, text=True, env=env, cwd=ROOT, check=True, timeout=120,
        )  # fmt: skip
        data: dict[str, object] = json.loads(out.stdout)
        return data

    plain = search()
    weighted = search("--weights", str(BASELINE))
    assert plain["scorer"] == "seed-v1"
    assert str(weighted["scorer"]).startswith("weights:baseline-seed:")

    def key(d: dict[str, object]) -> list[tuple[object, ...]]:
        rows = d["results"]
        assert isinstance(rows, list) and rows
        return [(r["id"], r["score"], r["category"]) for r in rows]

    assert key(weighted) == key(plain)


def test_rank_pool_equals_a_reference_sort_on_random_pools() -> None:
    rng = np.random.default_rng(11)
    counts = rng.integers(0, 12, size=30)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    n = int(offsets[-1])
    ids = [f"e{rng.integers(0, 10**6):06d}-{i}" for i in range(n)]
    scores = np.round(rng.random((5, n)), 1)  # many ties
    order = rank_pool(scores, offsets, tie_codes(ids))
    for v in range(5):
        for q in range(len(counts)):
            rows = range(offsets[q], offsets[q + 1])
            ref = sorted(rows, key=lambda r: ids[r], reverse=True)
            ref = sorted(ref, key=lambda r: -scores[v, r])
            assert order[v, offsets[q] : offsets[q + 1]].tolist() == ref
    with pytest.raises(ValueError, match="cover"):
        rank_pool(scores[:, :-1], offsets, tie_codes(ids))
