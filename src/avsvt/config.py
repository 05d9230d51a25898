"""Typed configs: small YAML files over frozen-dataclass defaults.

``load_config(RunConfig, "configs/demo.yaml", ["train.lr=0.1"])`` reads the YAML, applies
``--set key=value`` overrides (dotted keys, values parsed as YAML scalars), and builds the dataclass
tree, checking every key and type. Unknown keys, wrong types and bad values raise
:class:`~avsvt.errors.ConfigError` naming the file and the key, so a misspelt option never passes
silently. No objects are built from YAML: configs hold plain values only.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin

import yaml

from avsvt.errors import ConfigError

T = TypeVar("T")


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any, key: str, source: str) -> Any:
    """Check/convert one value against a type annotation."""
    origin, args = get_origin(tp), get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        candidates = [a for a in args if a is not type(None)]
        if len(candidates) == 1:  # Optional[X]: X's own message says what is wrong
            return _coerce(value, candidates[0], key, source)
        for arg in candidates:
            try:
                return _coerce(value, arg, key, source)
            except ConfigError:
                continue
        raise ConfigError(f"{key}: {value!r} is not a valid {_type_name(tp)}", path=source)
    if origin is typing.Literal:
        if value not in args:
            choices = ", ".join(repr(a) for a in args)
            raise ConfigError(f"{key}: {value!r} is not one of {choices}", path=source)
        return value
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}", path=source)
        return from_dict(tp, value, source=source, prefix=f"{key}.")
    if origin in (tuple, list, Sequence):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{key}: expected a list, got {value!r}", path=source)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ConfigError(
                    f"{key}: expected {len(args)} items, got {len(value)}", path=source
                )
            return tuple(
                _coerce(v, a, f"{key}[{i}]", source)
                for i, (v, a) in enumerate(zip(value, args, strict=True))
            )
        item_type = args[0] if args else Any
        items = [_coerce(v, item_type, f"{key}[{i}]", source) for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}", path=source)
        return dict(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {value!r}", path=source)
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {value!r}", path=source)
        return value
    if tp is float:
        if isinstance(value, str):  # YAML 1.1 reads "3e-3" (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{key}: expected a number, got {value!r}", path=source)
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}", path=source)
        return value
    if tp is Path:
        if not isinstance(value, str | Path):
            raise ConfigError(f"{key}: expected a path, got {value!r}", path=source)
        return Path(value)
    raise ConfigError(f"{key}: unsupported config type {_type_name(tp)}", path=source)


def from_dict(
    cls: type[T], data: Mapping[str, Any], *, source: str = "<config>", prefix: str = ""
) -> T:
    """Build dataclass ``cls`` from a mapping, rejecting unknown keys and wrong types.

    Args:
        cls: A (frozen) dataclass type whose fields have defaults or are given in ``data``.
        data: Plain values (from YAML or ``asdict``).
        source: Name used in error messages (the file).
        prefix: Dotted prefix of nested keys, for error messages.

    Raises:
        ConfigError: Unknown key, missing required key, or a value of the wrong type.
    """
    assert dataclasses.is_dataclass(cls)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = [k for k in data if k not in fields]
    if unknown:
        close = ", ".join(sorted(fields))
        raise ConfigError(f"unknown key '{prefix}{unknown[0]}' (known: {close})", path=source)
    values = {}
    for name, value in data.items():
        values[name] = _coerce(value, hints[name], f"{prefix}{name}", source)
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f"{prefix.rstrip('.') or cls.__name__}: {exc}", path=source) from None
    except ValueError as exc:
        raise ConfigError(f"{prefix.rstrip('.') or cls.__name__}: {exc}", path=source) from None


def to_dict(config: Any) -> dict[str, Any]:
    """Plain-value dict of a config (paths as strings, tuples as lists): YAML/JSON safe."""

    def plain(value: Any) -> Any:
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    result: dict[str, Any] = plain(dataclasses.asdict(config))
    return result


def merge(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` applied: nested mappings merge key by key, other values replace."""
    merged = dict(base)
    for key, value in changes.items():
        old = merged.get(key)
        if isinstance(value, Mapping) and isinstance(old, Mapping):
            merged[key] = merge(old, value)
        else:
            merged[key] = value
    return merged


def apply_overrides(
    data: dict[str, Any], overrides: Sequence[str], *, source: str
) -> dict[str, Any]:
    """Apply ``key.sub=value`` overrides (values parsed as YAML) to a copy of a nested dict."""
    result = yaml.safe_load(yaml.safe_dump(data)) or {}
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {item!r} is not key=value", path=source)
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            value = raw
        node = result
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {key!r}: {part!r} is not a section", path=source)
            node = child
        node[parts[-1]] = value
    return result


def load_config(cls: type[T], path: str | Path | None, overrides: Sequence[str] = ()) -> T:
    """Read a YAML config file (or only defaults when ``path`` is None) into dataclass ``cls``.

    Every error names the file (``<defaults>`` without one), those of a dataclass's own checks
    (``__post_init__``) included.

    Raises:
        ConfigError: Missing or invalid YAML, unknown keys, wrong types, bad overrides.
    """
    source = str(path) if path is not None else "<defaults>"
    data: Any = {}
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise ConfigError("config file not found", path=file)
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ConfigError(f"invalid YAML ({first_line})", path=file) from None
        if not isinstance(data, dict):
            raise ConfigError("a config file must be a mapping of keys to values", path=file)
    data = apply_overrides(data, overrides, source=source)
    try:
        return from_dict(cls, data, source=source)
    except ConfigError as exc:
        if exc.path is None:  # a check across keys (a dataclass's __post_init__): add the file
            raise ConfigError(exc.message, path=source) from None
        raise
