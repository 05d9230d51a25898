from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from avsvt.config import from_dict, load_config, to_dict
from avsvt.errors import ConfigError


@dataclass(frozen=True)
class Inner:
    lr: float = 0.1
    kind: Literal["a", "b"] = "a"
    snrs_db: tuple[int, ...] = (-10, 0)


@dataclass(frozen=True)
class Outer:
    name: str = "x"
    epochs: int = 2
    shuffle: bool = True
    root: Path | None = None
    inner: Inner = field(default_factory=Inner)


def test_yaml_with_overrides_round_trips(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("epochs: 5\ninner:\n  kind: b\n  snrs_db: [5, 10]\n")
    config = load_config(Outer, path, ["inner.lr=3e-3", "root=/data", "shuffle=false"])
    assert config == Outer(
        epochs=5,
        shuffle=False,
        root=Path("/data"),
        inner=Inner(lr=0.003, kind="b", snrs_db=(5, 10)),
    )
    assert from_dict(Outer, to_dict(config)) == config
    assert load_config(Outer, None) == Outer()


@pytest.mark.parametrize(
    ("text", "overrides", "message"),
    [
        ("epoch: 5\n", [], "unknown key 'epoch'"),
        ("inner:\n  lrr: 1\n", [], "unknown key 'inner.lrr'"),
        ("epochs: five\n", [], "epochs: expected an integer"),
        ("shuffle: 1\n", [], "shuffle: expected true or false"),
        ("inner:\n  kind: c\n", [], "inner.kind: 'c' is not one of"),
        ("inner: 3\n", [], "inner: expected a mapping"),
        ("- a\n- b\n", [], "must be a mapping"),
        ("epochs: [\n", [], "invalid YAML"),
        ("", ["epochs"], "is not key=value"),
        ("", ["inner.snrs_db=[1, x]"], r"inner.snrs_db\[1\]: expected an integer"),
    ],
)
def test_bad_configs_name_the_key(tmp_path, text, overrides, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(Outer, path, overrides)
    assert "bad.yaml" in str(info.value)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(Outer, tmp_path / "nope.yaml")
