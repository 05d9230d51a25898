"""Typed configs: small YAML files over frozen-dataclass defaults.

``load_config(RunConfig, "configs/demo.yaml", ["train.lr=0.1"])`` reads the YAML, applies
``--set key=value`` overrides (dotted keys, values parsed as YAML scalars), and builds the dataclass
tree, checking every key and type. Unknown keys, wrong types and bad values raise
:class:`~avsvt.errors.ConfigError` naming the file and the key, so a misspelt option never passes
silently. No objects are built from YAML: configs hold plain values only.

YAML is read by a guarded safe loader (:func:`yaml_load`): a key given twice in one mapping is
refused (YAML would keep the last one silently), and so is a document nested deeper than
:data:`MAX_DEPTH` levels or expanding to more than :data:`MAX_VALUES` values once its aliases are
followed (an "alias bomb" of a few lines would otherwise fill the memory).
"""

from __future__ import annotations

import dataclasses
import math
import os
import stat
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from avsvt.errors import ConfigError

T = TypeVar("T")

MAX_VALUES = 20_000
"""The most values (mapping keys and values, list items, scalars) a config may expand to, every
alias counted at each use: the shipped configs hold a few hundred."""
MAX_DEPTH = 32
"""The deepest nesting of mappings and lists a config may have."""
MAX_FILE_BYTES = 1 << 20
"""The largest config file read (1 MiB): a config is a small YAML file."""
_MERGE_TAG = "tag:yaml.org,2002:merge"


class FieldError(ConfigError):
    """A config dataclass's own check of one of its fields failed (raised in ``__post_init__``).

    :func:`from_dict` turns it into an error about the full key (``stage2.train.batch_size: ...``)
    naming the file; raised outside it, the message names the field.
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class ZeroSizeError(ConfigError):
    """A dataclass's check divided by a size or count given as 0 (raised by :func:`from_dict`)."""


def check_count(field: str, value: int, *, minimum: int) -> None:
    """Raise :class:`FieldError` unless ``value`` is at least ``minimum``."""
    if value < minimum:
        raise FieldError(field, f"must be at least {minimum}, not {value}")


def check_seed(field: str, value: int) -> None:
    """Raise :class:`FieldError` unless ``value`` is a seed numpy and torch both take."""
    if not 0 <= value < 2**32:
        raise FieldError(field, f"must be in 0..{2**32 - 1}, not {value}")


def check_number(
    field: str,
    value: float,
    *,
    above: float | None = None,
    at_least: float | None = None,
    at_most: float | None = None,
    finite: bool = True,
) -> None:
    """Raise :class:`FieldError` for NaN (infinities too when ``finite``) or a value off range."""
    if math.isnan(value) or (finite and math.isinf(value)):
        raise FieldError(field, f"must be a finite number, not {value}")
    if above is not None and not value > above:
        raise FieldError(field, f"must be above {above:g}, not {value:g}")
    if at_least is not None and value < at_least:
        raise FieldError(field, f"must be at least {at_least:g}, not {value:g}")
    if at_most is not None and value > at_most:
        raise FieldError(field, f"must be at most {at_most:g}, not {value:g}")


def check_path_text(field: str, value: str | None) -> None:
    """Raise :class:`FieldError` for a path that is empty, blank or holds a NUL character."""
    if value is None:
        return
    if not value.strip():
        raise FieldError(field, "is empty; give a path (or leave the key out)")
    if "\0" in value:
        raise FieldError(field, "holds a NUL character")


def check_unique(field: str, values: Sequence[Any]) -> None:
    """Raise :class:`FieldError` when a value is listed twice."""
    seen: list[Any] = []
    for value in values:
        if value in seen:
            raise FieldError(field, f"{value!r} is listed twice")
        seen.append(value)


# --- reading YAML ----------------------------------------------------------------------------


class _GuardedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing documents nested deeper than :data:`MAX_DEPTH`."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                line = self.peek_event().start_mark.line + 1  # type: ignore[no-untyped-call]
                raise ConfigError(f"nested deeper than {MAX_DEPTH} levels (line {line})")
            node: Node | None = super().compose_node(parent, index)
            return node
        finally:
            self._depth -= 1


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _key_text(node: Node) -> str:
    return str(node.value) if isinstance(node, ScalarNode) else f"<{node.tag}>"


def _children(node: Node, path: str) -> list[tuple[Node, str]]:
    if isinstance(node, SequenceNode):
        return [(child, f"{path}[{i}]") for i, child in enumerate(node.value)]
    if isinstance(node, MappingNode):
        children = []
        for key, value in node.value:
            child_path = f"{path}.{_key_text(key)}" if path else _key_text(key)
            children += [(key, child_path), (value, child_path)]
        return children
    return []


def _check_duplicates(node: MappingNode, path: str) -> None:
    counts: dict[tuple[str, str], list[int]] = {}
    for key, _ in node.value:
        if key.tag == _MERGE_TAG or not isinstance(key, ScalarNode):
            continue  # the keys of `<<: *base` are overridden by design
        counts.setdefault((key.tag, key.value), []).append(_line(key))
    for (_, name), lines in counts.items():
        if len(lines) > 1:
            full = f"{path}.{name}" if path else name
            raise ConfigError(
                f"duplicate key '{full}' at line {lines[1]} (first at line {lines[0]}): "
                "YAML would keep only the last one; give it once"
            )


def _check_nodes(root: Node, prefix: str = "") -> None:
    """Refuse duplicate keys, self-referring aliases and more than :data:`MAX_VALUES` values.

    Sizes are counted on the node graph (an alias's target is sized once and counted at every
    use), so an alias bomb is measured without ever being expanded.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Node, str, bool]] = [(root, prefix, False)]
    while stack:
        node, path, closing = stack.pop()
        ident = id(node)
        if closing:
            open_nodes.discard(ident)
            size = 1 + sum(sizes[id(child)] for child, _ in _children(node, path))
            if size > MAX_VALUES:
                where = f"{path}: " if path else ""
                raise ConfigError(
                    f"{where}expands to more than {MAX_VALUES:,} values (line {_line(node)}; "
                    "a YAML alias repeats what it points to at each use); a config holds a few "
                    "plain values"
                )
            sizes[ident] = size
            continue
        if ident in sizes:
            continue
        if ident in open_nodes:
            raise ConfigError(f"{path or 'the document'}: a YAML alias refers to itself")
        if isinstance(node, MappingNode):
            _check_duplicates(node, path)
        open_nodes.add(ident)
        stack.append((node, path, True))
        for child, child_path in reversed(_children(node, path)):
            if id(child) not in sizes:
                stack.append((child, child_path, False))


def yaml_load(text: str, *, key: str = "") -> Any:
    """Parse one YAML document as plain values (safe tags only), with the guards of this module.

    ``key`` is the dotted key the document is the value of (an override's), for messages.

    Raises:
        ConfigError: A duplicate key, too deep, too large once aliases are followed (no file
            named: the caller adds it).
        yaml.YAMLError: Not valid YAML.
    """
    loader = _GuardedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_nodes(node, key)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _plain_copy(value: Any) -> Any:
    """A deep copy that shares nothing (two aliases of one mapping become two mappings)."""
    if isinstance(value, Mapping):
        return {k: _plain_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_copy(v) for v in value]
    return value


def _check_plain(value: Any, key: str, source: str | None) -> None:
    """Refuse what JSON cannot hold (dates, bytes, sets, non-string keys) in a free-form mapping."""
    stack = [(value, key)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, Mapping):
            for k, v in item.items():
                if not isinstance(k, str):
                    raise ConfigError(f"{where}: key {k!r} is not a string", path=source)
                stack.append((v, f"{where}.{k}"))
        elif isinstance(item, list | tuple):
            stack += [(v, f"{where}[{i}]") for i, v in enumerate(item)]
        elif item is not None and not isinstance(item, str | int | float | bool):
            raise ConfigError(
                f"{where}: {type(item).__name__} {item!r} is not a plain value "
                "(text, number, true/false, null, list or mapping)",
                path=source,
            )


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any, key: str, source: str | None) -> Any:
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
        _check_plain(value, key, source)
        return _plain_copy(value)
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
    cls: type[T], data: Mapping[str, Any], *, source: str | None = None, prefix: str = ""
) -> T:
    """Build dataclass ``cls`` from a mapping, rejecting unknown keys and wrong types.

    Args:
        cls: A (frozen) dataclass type whose fields have defaults or are given in ``data``.
        data: Plain values (from YAML or ``asdict``).
        source: The file errors name (None: none; :func:`load_config` adds it).
        prefix: Dotted prefix of nested keys, for error messages.

    Raises:
        ConfigError: Unknown key, missing required key, a value of the wrong type, or a bad value
            (a :class:`FieldError` of the dataclass's own checks, named by its full key).
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
    section = prefix.rstrip(".") or cls.__name__
    try:
        return cls(**values)
    except FieldError as exc:
        raise ConfigError(f"{prefix}{exc.field}: {exc.problem}", path=source) from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{section}: {exc}", path=source) from None
    except ArithmeticError as exc:  # a check dividing by a size given as 0
        zeros = [f"{prefix}{k}" for k, v in values.items() if v == 0 and type(v) is int]
        where = f"{' or '.join(zeros)}: is 0" if len(zeros) == 1 else f"{section}: a size is 0"
        raise ZeroSizeError(f"{where} ({exc})", path=source) from None


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
    result: dict[str, Any] = _plain_copy(data) or {}
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {item!r} is not key=value", path=source)
        try:
            value = yaml_load(raw, key=key)
        except ConfigError as exc:
            raise ConfigError(f"--set {key}: {exc.message}", path=source) from None
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


def _read_config_text(file: Path) -> str:
    """The text of a config file, or a one-line error saying what the path is instead."""
    try:
        info = os.stat(file)
    except FileNotFoundError:
        raise ConfigError("config file not found", path=file) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the config ({exc.strerror or exc})", path=file) from None
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError("is a directory, not a config file", path=file)
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError("is not a regular file (a FIFO or device?), not a config", path=file)
    if info.st_size > MAX_FILE_BYTES:
        raise ConfigError(
            f"is {info.st_size:,} bytes; a config is a small YAML file "
            f"(at most {MAX_FILE_BYTES:,} bytes)",
            path=file,
        )
    try:
        with open(file, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read the config ({exc.strerror or exc})", path=file) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"invalid YAML (not UTF-8 text: {exc.reason})", path=file) from None


def config_recipe(path: str | Path) -> str | None:
    """The top-level ``recipe`` of a config file, or None (absent or unreadable).

    An unreadable file gives None: :func:`load_config` then reports what is wrong with it.
    """
    try:
        data = yaml_load(_read_config_text(Path(path)))
    except Exception:  # noqa: BLE001 - load_config reports the problem with its file
        return None
    recipe = data.get("recipe") if isinstance(data, dict) else None
    return recipe if isinstance(recipe, str) else None


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
        text = _read_config_text(file)
        try:
            data = yaml_load(text) or {}
        except ConfigError as exc:
            raise ConfigError(exc.message, path=file) from None
        except (yaml.YAMLError, RecursionError) as exc:
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
