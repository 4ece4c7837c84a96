"""``evaluate --target URL``: our own service, started on a loopback port, evaluated over HTTP,
gives exactly the relevance metrics of evaluating the pipeline in process (same weights, same
world); the run lands in the run store and in MLflow tagged with the target; a service that
only speaks production's bare contract (no ``mentions``, no ids) is judged by URL, then by
place name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from service_support import running_service, service_settings

from underfoot_lab import tracking
from underfoot_lab.cli import main
from underfoot_lab.errors import ConfigError
from underfoot_lab.evaluation.metrics.catalog import ir_measures, metric_names
from underfoot_lab.evaluation.regions import load_region_set
from underfoot_lab.evaluation.runner import RunStore, evaluate_region_set, load_report
from underfoot_lab.evaluation.targets import match_entity, result_from_body
from underfoot_lab.service.target import public_url
from underfoot_lab.settings import Settings
from underfoot_lab.world import build_world

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "regions" / "mini.yaml"
# Weights that differ from the seed scorer (so "the same weights" means something).
WEIGHTS = """\
name: target-test
weights:
  text_bm25: 0.2
  src_web: 0.3
  src_reddit: 0.1
  hiddenness: 0.3
  popularity: -0.2
  event_expired: -0.9
  rating_quality: 0.8
primary_threshold: 1.0
"""


def relevance(metrics: dict[str, Any]) -> dict[str, Any]:
    names = set(ir_measures())
    return {k: v for k, v in metrics.items() if k in names}


def domain(metrics: dict[str, Any]) -> dict[str, Any]:
    """Every other metric but latency and the cache (the service has a cache of its own)."""
    names = set(metric_names()) - set(ir_measures()) - {"cache_hit_rate"}
    return {k: v for k, v in metrics.items() if k in names and not k.startswith("latency")}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("target-home")


def test_public_url_drops_credentials() -> None:
    assert public_url("http://user:pw@127.0.0.1:8000/?key=s#x") == "http://127.0.0.1:8000"
    assert public_url("https://svc.example/api/") == "https://svc.example/api"
    assert public_url("http://[::1]:9/") == "http://[::1]:9"
    with pytest.raises(ConfigError, match="not an http"):
        public_url("ftp://127.0.0.1")


def test_target_equals_in_process(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    weights = home / "weights.yaml"
    weights.write_text(WEIGHTS, encoding="utf-8")
    monkeypatch.setenv("UNDERFOOT_HOME", str(home))
    monkeypatch.setenv("UNDERFOOT_MODE", "offline")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    settings = Settings(mode="offline", home=home)
    local = evaluate_region_set(MINI, settings=settings, weights=weights, progress=False)
    assert local.n_errors == 0 and local.n_judged > 0

    # The service gets a home of its own: its answers are computed afresh, not read from the
    # in-process run's cache.
    served = service_settings(home / "service", weights=weights)
    with running_service(served) as base:
        code = main(
            ["evaluate", "--target", base, "--region-set", str(MINI), "--weights", str(weights),
             "--json", "--no-progress", "--concurrency", "3"]
        )  # fmt: skip
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["queries"] == 3 and out["errors"] == 0

    remote = load_report(out["eval_run_id"], settings=settings)
    assert remote.config.mode == f"target {base}" and remote.config.simulated
    assert remote.config.weights == "target-test" and remote.config.scorer == local.config.scorer
    # The same ranked ids and the same judgments, so exactly the same relevance metrics.
    assert relevance(remote.means) == relevance(local.means)
    assert relevance(remote.means)["ndcg_at_10"] > 0
    # The answers carry every mention, so the domain metrics agree too.
    assert domain(remote.means) == domain(local.means) and domain(local.means)
    assert remote.qrels() == local.qrels() and remote.judgments_hash == local.judgments_hash
    # A target run never passes for an in-process one.
    assert RunStore(settings=settings).find(local.config) == local.run_id

    client = tracking.get_client(tracking.tracking_uri(None, settings))
    run = client.get_run(out["run_id"])
    assert run.data.tags["target"] == base
    assert run.data.tags["simulated"] == "true"
    assert run.data.params["mode"] == f"target {base}"


def test_bare_contract_is_judged_by_url_then_name(home: Path) -> None:
    settings = Settings(mode="offline", home=home / "bare")
    world = build_world(settings)
    rs = load_region_set(MINI, validate_places=False)
    query = rs.queries[0]
    town = world.gazetteer.lookup(query.expected.place, query.expected.state)[0]
    entities = [e for e in world.universe(town).entities if e.kind != "event"][:2]
    by_url, by_name = entities
    assert match_entity(world, town, by_name.name.upper(), by_name.distance_km) == by_name
    url_of_entity = f"https://{by_url.slug}.{world.towns.slug(town)}.example/"
    assert world.entity_for_url(url_of_entity) == by_url
    body = {
        "user_intent": "hidden gems",
        "user_location": "Pikeville, Kentucky",
        "response": "Two places.",
        "places": [
            {"name": "Somewhere", "description": "", "source": "serp", "url": url_of_entity,
             "score": 0.9, "category": "primary"},
            {"name": by_name.name, "description": "", "source": "reddit",
             "url": "https://unknown.invalid/x", "score": 0.6, "category": "primary"},
            {"name": "No Such Place At All", "description": "", "source": "serp",
             "url": "https://unknown.invalid/y", "score": 0.2, "category": "nearby"},
        ],
        "debug": {"request_id": "r1", "execution_time_ms": 12, "cache": None},
    }  # fmt: skip
    result = result_from_body(body, query.text, world=world, query=query)
    assert [r.id for r in result.results] == [
        "somewhere",
        _slug(by_name.name),
        "no-such-place-at-all",
    ]
    assert result.place.name == "Pikeville" and result.parsed.intent == "hidden gems"
    assert [r.category for r in result.results] == ["primary", "primary", "nearby"]
    from underfoot_lab.evaluation.judging.world_judge import resolve_entity

    resolved = [resolve_entity(world, r) for r in result.results]
    assert resolved == [by_url, by_name, None]
    assert result.cache.status == "bypass" and not result.simulated


def _slug(name: str) -> str:
    import re

    from underfoot_lab.geo.gazetteer import normalize_name

    return re.sub(r"[^a-z0-9]+", "-", normalize_name(name)).strip("-")
