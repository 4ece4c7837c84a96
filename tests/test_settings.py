"""Settings read the environment and a ``.env`` file with pydantic-settings' precedence, without
importing pydantic-settings (issue 15: it was most of ``import underfoot_lab``)."""

from __future__ import annotations

import pickle
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from underfoot_lab.errors import ConfigError
from underfoot_lab.settings import DEFAULT_SOURCES, SecretStr, Settings, SettingsError, _model


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


SAMPLES: dict[str, list[object]] = {
    "mode": ["offline", "live", "auto", "OFFLINE", "live ", 3],
    "home": ["x/y", "", " x", Path("z"), 5],
    "openai_api_key": ["sk-1", "", None, 7],
    "openai_base_url": ["http://127.0.0.1:9", "", 3],
    "eventbrite_map": ["m.yaml", "", None, Path("m.yaml")],
    "sources": ["reddit, serpapi_web,", "", ("reddit",), ["a", "b"], ("a", 1), 5],
    "source_deadline_s": [
        "8",
        " 8",
        "1e3",
        "inf",
        "nan",
        "1_0",
        ".5",
        "5.",
        "-1",
        "0",
        2,
        2.5,
        True,
        float("inf"),
        "x",
    ],
    "max_response_bytes": ["10", "007", " 7", "1_000", "+5", "-3", "7.0", "0", 3, 3.0, False],
    "cache_enabled": ["true", "TRUE", "Yes", "on", "0", "1", "false", "2", " true", True, 1, 0],
    "cache_memory_ttl_s": ["inf", "-5", "1.5", float("nan")],
    "cache_degraded_ttl_s": ["0", "-0.5", "-1", 0],
    "service_rate_limit_burst": ["1", "0", 0, 1],
    "world_seed": ["-7", "12345678901234567890", 7, 7.0],
    "world_clock": ["2026-01-01T00:00:00Z", datetime(2026, 1, 2, tzinfo=UTC), "yesterday", 0],
}


def _outcome(make: Callable[[], object]) -> object:
    try:
        made = make()
    except ValidationError as exc:
        return ("error", [(e["loc"], e["msg"]) for e in exc.errors()])
    out = {}
    for name in Settings.model_fields:
        value = getattr(made, name)
        out[name] = value.get_secret_value() if hasattr(value, "get_secret_value") else value
    return out


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_plain_values_become_what_the_pydantic_model_makes_of_them(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in [f.variable for f in Settings.model_fields.values()]:
        monkeypatch.delenv(var, raising=False)
    model = _model()
    for value in SAMPLES[name]:
        ours = _outcome(lambda: Settings(_env_file=None, **{name: value}))  # noqa: B023
        theirs = _outcome(lambda: model(**{name: value}))  # noqa: B023
        assert ours == theirs, (name, value)
        if ours != theirs or isinstance(ours, tuple):
            continue
        made = Settings(_env_file=None, **{name: value})
        assert made.model_fields_set == {name}
        for field_name, field_value in vars(made).items():
            if field_name in Settings.model_fields:
                assert type(field_value) is type(getattr(model(**{name: value}), field_name)) or (
                    field_value is None or field_name.endswith(("_key", "_token"))
                ), field_name


def test_copies_dumps_and_pickles_keep_secrets_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in [f.variable for f in Settings.model_fields.values()]:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SERPAPI_API_KEY", "serp-secret")
    s = Settings(_env_file=None)
    assert isinstance(s.serpapi_api_key, SecretStr)
    assert "serp-secret" not in repr(s) and "serp-secret" not in str(s.model_dump())
    copy = s.model_copy(update={"mode": "live"})
    assert (copy.mode, s.mode) == ("live", "offline")
    assert copy.model_fields_set == {"serpapi_api_key", "mode"}
    assert s.model_fields_set == {"serpapi_api_key"}
    again = pickle.loads(pickle.dumps(copy))
    assert again == copy and again.secret_values() == ("serp-secret",)
    assert copy != s and Settings.model_fields["serpapi_api_key"].variable == "SERPAPI_API_KEY"
    assert Settings.model_fields["world_seed"].variable == "UNDERFOOT_WORLD_SEED"


def test_import_does_not_load_pydantic() -> None:
    code = (
        "import sys\nfrom underfoot_lab.settings import Settings\nSettings()\n"
        "print('pydantic' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


GENERIC = ["", " ", "0", "1", "-1", "2.5", "1e3", "inf", "nan", "true", "False", "no", "abc",
           "a, b", "/tmp/x", "2026-01-01T00:00:00Z"]  # fmt: skip


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_field_converts_strings_as_the_pydantic_model_does(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The plain converters and the pydantic model declare each field twice: every field, not
    # only the sampled ones above, must agree on what a string becomes (or that it is invalid).
    for var in [f.variable for f in Settings.model_fields.values()]:
        monkeypatch.delenv(var, raising=False)
    model = _model()
    for value in GENERIC:
        ours = _outcome(lambda: Settings(_env_file=None, **{name: value}))  # noqa: B023
        theirs = _outcome(lambda: model(**{name: value}))  # noqa: B023
        assert repr(ours) == repr(theirs), (name, value)  # repr: NaN equals itself there
