"""underfoot_lab.config: YAML files into models with one-line errors naming file and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from underfoot_lab.config import content_hash, load_model, read_yaml
from underfoot_lab.errors import ConfigError


class _Thing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    size: int = 1


def test_load_model_fills_defaults_and_reads_a_bom(tmp_path: Path) -> None:
    p = tmp_path / "thing.yaml"
    p.write_bytes("\ufeffsize: 3\n".encode())  # what some Windows editors write
    thing = load_model(p, _Thing, "thing file", prepare=lambda d: d.setdefault("name", "t"))
    assert thing == _Thing(name="t", size=3)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name: x\nsize: [\n", ":3: YAML syntax error"),
        (b"- 1\n", "expected a mapping at the top level"),
        (b"name: x\nsize: big\n", "size: Input should be a valid integer"),
        (b"name: x\ncolour: red\n", "colour: Extra inputs are not permitted"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not UTF-8 text (binary file?)"),
        (b"name: caf\xe9\n", "not UTF-8 text"),
    ],
)
def test_problems_are_one_line_config_errors_naming_the_file(
    tmp_path: Path, content: bytes, message: str
) -> None:
    p = tmp_path / "bad.yaml"
    p.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        load_model(p, _Thing, "thing file")
    text = str(info.value)
    assert text.startswith(f"thing file {p}")
    assert message in text
    assert "\n" not in text
    assert info.value.exit_code == 2


def test_missing_file_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yaml: cannot read"):
        read_yaml(tmp_path / "nope.yaml")
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert read_yaml(empty) is None


def test_content_hash_is_stable_across_key_order_and_models() -> None:
    a = content_hash({"b": 1, "a": [1, 2]})
    assert a == content_hash({"a": [1, 2], "b": 1})
    assert a != content_hash({"a": [2, 1], "b": 1})
    assert content_hash(_Thing(name="x")) == content_hash({"size": 1, "name": "x"})
    assert len(a) == 64
