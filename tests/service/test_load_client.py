"""The load test and the contract client, against the running service."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from service_support import Service, running_service, service_settings

from underfoot_lab.cli import main
from underfoot_lab.errors import BadQuery, ConfigError, LocationNotFound, UpstreamError
from underfoot_lab.service.client import ServiceClient
from underfoot_lab.service.load import check_target, percentile, plan_queries, run_load

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "regions" / "mini.yaml"
POOL = [
    "hidden gems in Pikeville KY",
    "weird stuff to do near Hazard, KY",
    "secret swimming holes around Ely, MN",
]


def test_plan_queries_repeats_as_asked() -> None:
    none = plan_queries(POOL, 3, 0.0, seed=1)
    assert sorted(none) == sorted(POOL), "no repeats while unseen queries are left"
    every = plan_queries(POOL, 10, 1.0, seed=1)
    assert len(set(every)) == 1, "ratio 1 repeats the first query forever"
    assert plan_queries(POOL, 10, 0.5, seed=3) == plan_queries(POOL, 10, 0.5, seed=3)
    with pytest.raises(ConfigError):
        plan_queries(POOL, 3, 1.5)


def test_percentile_matches_linear_interpolation() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([10.0], 99) == 10.0
    assert percentile([], 50) is None
    assert percentile(list(map(float, range(101))), 95) == 95.0


def test_only_loopback_targets_without_allow_remote() -> None:
    assert check_target("http://127.0.0.1:8000/") == "http://127.0.0.1:8000"
    assert check_target("http://localhost:1") == "http://localhost:1"
    assert check_target("http://[::1]:8000") == "http://[::1]:8000"
    for remote in ("http://example.com", "http://10.0.0.1:80", "https://127.0.0.1.nip.io"):
        with pytest.raises(ConfigError, match="--allow-remote"):
            check_target(remote)
    assert check_target("https://example.com", allow_remote=True) == "https://example.com"
    with pytest.raises(ConfigError, match="not an http"):
        check_target("ftp://127.0.0.1")


def test_load_run_reports_latency_errors_and_cache(service: Service) -> None:
    queries = plan_queries([*POOL, "a"], 16, 0.6, seed=7)
    import asyncio

    report = asyncio.run(
        run_load(service.base, queries, concurrency=4, repeat_ratio=0.6, region_set="mini")
    )
    assert len(report.outcomes) == 16
    bad = queries.count("a")
    assert report.errors == ({"VALIDATION_ERROR": bad} if bad else {})
    assert report.ok == 16 - bad
    lat = report.latency_ms()
    assert lat["p50"] is not None and lat["p50"] <= lat["p90"] <= lat["p95"] <= lat["p99"]
    assert report.cache_hit_rate is not None and report.cache_hit_rate > 0
    assert report.throughput_rps > 0
    assert set(report.metrics()) >= {"throughput_rps", "latency_p99_ms", "cache_hit_rate"}


def test_load_command_prints_json(
    service: Service,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("UNDERFOOT_HOME", str(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    code = main(
        [
            "load",
            "--target",
            service.base,
            "--requests",
            "6",
            "--concurrency",
            "2",
            "--region-set",
            str(MINI),
            "--repeat-ratio",
            "0.5",
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["requests"] == 6 and out["ok"] == 6 and out["region_set"] == "mini"
    assert set(out["latency_ms"]) >= {"p50", "p90", "p95", "p99"}
    assert out["cache_hit_rate"] is not None

    # Logged to MLflow: params, metrics, the report as an artifact, tagged with the target.
    from underfoot_lab import tracking
    from underfoot_lab.settings import Settings

    client = tracking.get_client(tracking.tracking_uri(None, Settings()))
    run = client.get_run(out["mlflow"]["run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.tags["target"] == service.base and run.data.tags["kind"] == "load"
    assert run.data.params["requests"] == "6" and run.data.params["concurrency"] == "2"
    assert run.data.metrics["throughput_rps"] > 0 and "latency_p99_ms" in run.data.metrics
    assert run.data.metrics["cache_hit_rate"] == out["cache_hit_rate"]
    local = client.download_artifacts(run.info.run_id, "load/report.json", str(tmp_path))
    assert json.loads(Path(local).read_text(encoding="utf-8"))["ok"] == 6

    # --no-mlflow: nothing logged
    assert main(["load", "--target", service.base, "--requests", "1", "--region-set",
                 str(MINI), "--json", "--no-mlflow"]) == 0  # fmt: skip
    assert "mlflow" not in json.loads(capsys.readouterr().out)


def test_load_command_refuses_a_remote_target(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["load", "--target", "http://example.com", "--requests", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "--allow-remote" in err and "\n" not in err


def test_a_rate_limited_load_run_says_so(tmp_path: Path) -> None:
    """A real service with a tiny bucket: the refused requests are counted as such and the
    summary says how to measure the search instead of the limiter."""
    import asyncio

    settings = service_settings(
        tmp_path, service_rate_limit_per_s=0.01, service_rate_limit_burst=2, cache_enabled=False
    )
    with running_service(settings) as base:
        report = asyncio.run(run_load(base, [POOL[0]] * 5, concurrency=1))
    assert report.ok == 2 and report.rate_limited == 3
    assert report.errors == {"RATE_LIMITED": 3}
    text = report.format()
    assert "rate limit refused 3 of 5 requests" in text
    assert "UNDERFOOT_SERVICE_RATE_LIMIT_PER_S=0" in text


def test_client_returns_a_typed_answer(service: Service) -> None:
    client = ServiceClient(service.base)
    first = client.search("hidden gems in Pikeville KY", request_id="client-1")
    assert first.request_id == "client-1"
    assert first.response.places and first.response.user_location == "Pikeville, Kentucky"
    assert first.cache in ("hit", "miss")
    forced = client.search("hidden gems in Pikeville KY", force=True)
    assert forced.cache == "miss"


def test_client_maps_errors_to_workbench_classes(service: Service) -> None:
    import asyncio

    async def go() -> None:
        async with ServiceClient(service.base) as client:
            answer = await client.asearch("secret swimming holes around Ely, MN")
            assert answer.response.user_location.startswith("Ely")
            with pytest.raises(BadQuery, match="dangerous"):
                await client.asearch("<script>x</script> Ely MN")
            with pytest.raises(LocationNotFound, match="Xyzzyville"):
                await client.asearch("hidden gems in Xyzzyville QQ")

    asyncio.run(go())


def test_client_rate_limited_and_unreachable(tmp_path: Path) -> None:
    settings = service_settings(
        tmp_path, service_rate_limit_per_s=0.01, service_rate_limit_burst=1, cache_enabled=False
    )
    with running_service(settings) as base:
        client = ServiceClient(base)
        with pytest.raises(BadQuery):
            client.search("a")  # takes the only token
        with pytest.raises(UpstreamError) as limited:
            client.search("hidden gems in Pikeville KY")
        assert limited.value.error_class == "rate_limited"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(UpstreamError) as down:
        ServiceClient(f"http://127.0.0.1:{port}", timeout_s=5).search("hidden gems in Ely MN")
    assert down.value.error_class == "error"
