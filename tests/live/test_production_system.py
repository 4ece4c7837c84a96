"""Production's per-item system end to end over real loopback upstreams: production's source
calls (SerpAPI organic with production's query, Reddit's JSON listing), no merging, and the
ranking equal to production's rules applied by hand to what the servers sent."""

from __future__ import annotations

from pathlib import Path

from live_servers import UpstreamServer

from underfoot_lab.pipeline.run import Pipeline
from underfoot_lab.pipeline.score.seed import rank_seed_items

PRODUCTION = Path(__file__).resolve().parents[2] / "experiments/weights/production-seed.yaml"


def test_production_system_over_loopback(server: UpstreamServer, tmp_path: Path) -> None:
    settings = server.settings(tmp_path, weights=PRODUCTION)
    with Pipeline(settings, use_cache=False) as pipe:
        result = pipe.search("hidden gems in Pikeville KY")
    assert result.scorer == "seed-production-v1"
    assert {s.source for s in result.sources} == {"serpapi_organic", "reddit_json"}
    assert all(s.status == "ok" for s in result.sources), result.sources
    [serp] = server.requests_for("serpapi")
    assert serp.query["q"].endswith("underground local hidden")
    assert serp.query["num"] == "10"
    [reddit] = server.requests_for("reddit_json")
    assert reddit.query["sort"] == "relevance" and reddit.query["limit"] == "10"
    assert [s.stage for s in result.trace if s.stage == "merge"] == []  # nothing merged
    # One result per raw item, in the order production's rules give (computed independently).
    assert len(result.results) == len(result.candidates)
    items = [
        {
            "name": c.title,
            "description": c.description if c.source_type == "web" else c.description[:200],
            "source": "serp" if c.source_type == "web" else "reddit",
            "url": c.url,
            "metadata": {"score": c.votes, "subreddit": c.community}
            if c.source_type == "reddit"
            else {"position": c.rank},
        }
        for c in sorted(result.candidates, key=lambda c: c.source_type != "web")
    ]
    expected = rank_seed_items(items, result.parsed.intent)
    assert [r.url for r in result.results] == [e["url"] for e in expected]
    assert [r.score for r in result.results] == [e["score"] for e in expected]
    assert [r.category for r in result.results] == [e["category"] for e in expected]
