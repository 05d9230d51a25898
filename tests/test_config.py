import os
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


@dataclass(frozen=True)
class Free:
    epochs: int = 2
    inner: Inner = field(default_factory=Inner)
    extra: dict[str, object] = field(default_factory=dict)


def bomb(levels: int, width: int = 9) -> str:
    """A YAML "billion laughs": a few hundred bytes that expand to width**levels values."""
    lines = ["extra:", "  l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "epochs: 3\ninner:\n  lr: 0.1\nepochs: 5\n",
            r"duplicate key 'epochs' at line 4 \(first at line 1\)",
        ),
        ("inner:\n  lr: 0.1\n  kind: a\n  lr: 0.2\n", "duplicate key 'inner.lr' at line 4"),
        ("extra: {a: 1, 'a': 2}\n", "duplicate key 'extra.a'"),
        (bomb(9), r"extra.l\d: expands to more than 20,000 values"),
        ("extra: &s {a: *s}\n", "extra.a: a YAML alias refers to itself"),
        ("extra: {a: " + "[" * 100_000 + "]" * 100_000 + "}\n", "nested deeper than 32 levels"),
        ("extra: {when: 2024-01-01}\n", "extra.when: date datetime.date"),
        ("extra: {1: x}\n", "extra: key 1 is not a string"),
    ],
    ids=["top", "nested", "flow", "alias-bomb", "self-alias", "deep", "date", "int-key"],
)
def test_yaml_that_hides_values_or_expands_without_bound_is_refused_in_one_line(
    tmp_path, text, message
):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(Free, path)
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)


def test_an_alias_bomb_is_refused_at_once_however_large(tmp_path):
    import time

    path = tmp_path / "bomb.yaml"
    path.write_text(bomb(30))  # 9**30 values once expanded
    start = time.perf_counter()
    with pytest.raises(ConfigError, match="expands to more than"):
        load_config(Free, path)
    assert time.perf_counter() - start < 2


def test_a_duplicate_key_in_an_override_is_refused_too(tmp_path):
    with pytest.raises(ConfigError, match="--set extra: duplicate key 'extra.a' at line 1"):
        load_config(Free, None, ["extra={a: 1, a: 2}"])


def test_merge_keys_and_aliases_still_work_and_an_override_changes_one_use_only(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "extra:\n  base: &b {x: 1, y: 2}\n  one: {<<: *b, y: 3}\n  two: *b\n  three: *b\n"
    )
    config = load_config(Free, path, ["extra.two.x=9"])
    assert config.extra == {
        "base": {"x": 1, "y": 2},
        "one": {"x": 1, "y": 3},
        "two": {"x": 9, "y": 2},
        "three": {"x": 1, "y": 2},
    }


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.mkdir(), "is a directory, not a config file"),
        (lambda p: os.mkfifo(p), "is not a regular file"),
        (lambda p: p.write_text("# " + "x" * (1 << 20) + "\n"), "a config is a small YAML file"),
        (lambda p: p.write_bytes(b"epochs: \xff\n"), "not UTF-8"),
    ],
    ids=["directory", "fifo", "huge", "binary"],
)
def test_a_config_path_that_is_no_config_file_says_what_it_is(tmp_path, make, message):
    path = tmp_path / "c.yaml"
    make(path)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(Free, path)
    assert str(info.value).startswith(f"{path}: ")
