"""Settings read the environment and a ``.env`` file with pydantic-settings' precedence, without
importing pydantic-settings (issue 15: it was most of ``import underfoot_lab``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from underfoot_lab.errors import ConfigError
from underfoot_lab.settings import DEFAULT_SOURCES, Settings, SettingsError


def test_defaults_without_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UNDERFOOT_MODE", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    s = Settings(_env_file=None)
    assert s.mode == "offline"
    assert s.sources == DEFAULT_SOURCES
    assert s.openai_api_key is None


def test_environment_names_aliases_and_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNDERFOOT_MODE", "live")
    monkeypatch.setenv("underfoot_world_seed", "7")  # names are case-insensitive
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-123")
    monkeypatch.setenv("UNDERFOOT_SOURCES", "reddit, serpapi_web,")
    monkeypatch.setenv("UNDERFOOT_CACHE_ENABLED", "false")
    s = Settings(_env_file=None)
    assert (s.mode, s.world_seed, s.cache_enabled) == ("live", 7, False)
    assert s.sources == ("reddit", "serpapi_web")
    assert s.openai_api_key is not None and s.openai_api_key.get_secret_value() == "sk-test-123"
    assert "sk-test-123" not in repr(s) and "sk-test-123" not in str(s.model_dump())
    assert s.secret_values() == ("sk-test-123",)


def test_keywords_beat_environment_beats_env_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        '# comment\nUNDERFOOT_WORLD_SEED=5\nexport SERPAPI_API_KEY="from-file"\n'
        "UNDERFOOT_WORLD=null\nUNRELATED=1\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("UNDERFOOT_WORLD_SEED", "6")
    monkeypatch.delenv("SERPAPI_API_KEY", raising=False)
    monkeypatch.delenv("UNDERFOOT_WORLD", raising=False)
    s = Settings(_env_file=env_file)
    assert s.world_seed == 6  # the environment beats the file
    assert s.world == "null"
    assert s.serpapi_api_key is not None and s.serpapi_api_key.get_secret_value() == "from-file"
    assert Settings(_env_file=env_file, world_seed=9).world_seed == 9  # keywords beat both
    assert Settings(_env_file=env_file, SERPAPI_API_KEY=None).serpapi_api_key is None
    assert Settings(_env_file=None).world == "default"


def test_default_env_file_is_read_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("UNDERFOOT_OPENAI_MODEL=gpt-test\n", encoding="utf-8")
    monkeypatch.delenv("UNDERFOOT_OPENAI_MODEL", raising=False)
    monkeypatch.chdir(tmp_path)
    assert Settings().openai_model == "gpt-test"


def test_bad_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNDERFOOT_SOURCE_DEADLINE_S", "soon")
    with pytest.raises(SettingsError) as info:
        Settings(_env_file=None)
    message = str(info.value)
    assert message.startswith("environment variable UNDERFOOT_SOURCE_DEADLINE_S:")
    assert "'soon'" in message and "\n" not in message
    assert isinstance(info.value, ConfigError) and info.value.exit_code == 2
    # A keyword overriding the bad variable wins, so nothing is wrong.
    assert Settings(_env_file=None, source_deadline_s=1.0).source_deadline_s == 1.0


def test_bad_keyword_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="mode"):
        Settings(_env_file=None, mode="sometimes")
    with pytest.raises(ValidationError, match="service_rate_limit_burst"):
        Settings(_env_file=None, service_rate_limit_burst=0)


def test_cli_exits_2_naming_a_bad_variable(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "underfoot_lab.cli", "search", "hidden gems in Pikeville KY"],
        capture_output=True,
        text=True,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(Path(__file__).parents[1]),
            "UNDERFOOT_HOME": str(tmp_path),
            "UNDERFOOT_MODE": "bogus",
        },
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: environment variable UNDERFOOT_MODE: Input should be 'offline', 'live' or "
        "'auto' (got 'bogus')"
    ]


def test_import_does_not_load_pydantic_settings() -> None:
    code = "import sys, underfoot_lab; print('pydantic_settings' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"
