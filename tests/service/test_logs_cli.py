"""Structured logs: redaction, silence until configured, the CLI's ``--log-json``, the serve
command's argument checks, and the core package without the service extra."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
import structlog

from underfoot_lab import logs
from underfoot_lab.cli import main


@pytest.fixture(autouse=True)
def _keep_log_config() -> Iterator[None]:
    # These tests reconfigure logging; give the package's running service its capture back.
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def test_every_event_is_redacted() -> None:
    buf = io.StringIO()
    logs.configure(json=True, stream=buf, secrets=("topsecret-value-1",))
    try:
        log = logs.get_logger("test")
        log.info(
            "thing.happened",
            nested={"url": "https://x/?key=topsecret-value-1", "list": ["topsecret-value-1"]},
            **{"topsecret-value-1": 1},
        )
        with logs.bound(request_id="rid-9"):
            log.info("thing.bound")
    finally:
        logs.configure(enabled=False)
    text = buf.getvalue()
    assert "topsecret-value-1" not in text
    first, second = (json.loads(line) for line in text.splitlines())
    assert first["nested"]["url"].endswith("key=***") and first["nested"]["list"] == ["***"]
    assert first["event"] == "thing.happened" and first["component"] == "test"
    assert second["request_id"] == "rid-9"


def test_events_are_dropped_until_configured(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure(enabled=False)
    logs.get_logger("quiet").info("nobody.hears", x=1)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_cli_log_json_emits_search_events(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(["--log-json", "search", "hidden gems in Pikeville KY", "--json"])
    finally:
        logs.configure(enabled=False)
    captured = capsys.readouterr()
    assert code == 0
    assert json.loads(captured.out)["query"] == "hidden gems in Pikeville KY"
    events = [json.loads(line) for line in captured.err.splitlines() if line.startswith("{")]
    complete = [e for e in events if e["event"] == "search.complete"]
    assert complete and complete[0]["result_count"] > 0 and "stages" in complete[0]


def test_serve_refuses_a_missing_weights_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--weights", "/nonexistent/w.yaml"]) == 2
    assert "/nonexistent/w.yaml" in capsys.readouterr().err


def test_core_imports_without_the_service_extra() -> None:
    # Block the extra's packages, then import what must not need them.
    code = """
import sys
for name in ("fastapi", "uvicorn", "structlog", "prometheus_client", "starlette"):
    sys.modules[name] = None
import underfoot_lab, underfoot_lab.cli, underfoot_lab.logs
import underfoot_lab.service.client, underfoot_lab.service.load, underfoot_lab.service.models
from underfoot_lab import logs
logs.get_logger("x").info("dropped")
try:
    logs.configure(json=True)
except underfoot_lab.ConfigError as exc:
    print("refused:", exc)
from underfoot_lab.cli import main
sys.exit(main(["serve"]))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "refused: structured logs need structlog" in proc.stdout
    assert "service extra" in proc.stderr and "Traceback" not in proc.stderr
