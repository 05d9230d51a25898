"""Transcriber checkpoints: one safetensors file, never pickled classes.

Layout of ``model.safetensors``:

* header metadata (strings): ``format_version`` ("1"), ``avsvt_version``, ``kind``
  ("avsvt-transcriber"), ``model_config`` (JSON of ``dataclasses.asdict(config)``) and ``extra``
  (JSON skeleton of the extra training state, see below);
* tensors: ``model.<parameter name>`` for the state dict, ``extra.<n>`` for tensors of the extra
  state.

The extra state (optimizer state dicts, counters, RNG states...) may nest dicts (any str/int keys),
lists, tuples, tensors, numbers, strings, bools and None. It is stored as JSON with each tensor
replaced by a reference, so reading executes nothing.

Files are written atomically (:func:`avsvt.data.atomic.atomic_path`). Problems raise
:class:`~avsvt.errors.CheckpointError` naming the file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from avsvt.data.atomic import atomic_path
from avsvt.errors import AvsvtError, CheckpointError
from avsvt.models.config import ModelConfig
from avsvt.models.transcriber import Transcriber

FORMAT_VERSION = 1
KIND = "avsvt-transcriber"


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("avsvt")
    except Exception:  # noqa: BLE001 - not installed as a distribution
        return "unknown"


def _encode_extra(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """JSON skeleton of ``obj`` with tensors moved into ``tensors``."""
    if isinstance(obj, torch.Tensor):
        key = f"extra.{len(tensors)}"
        tensors[key] = obj.detach().cpu().contiguous().clone()
        return {"__tensor__": key}
    if isinstance(obj, Mapping):
        items = []
        for k, v in obj.items():
            if not isinstance(k, str | int) or isinstance(k, bool):
                raise TypeError(f"extra state keys must be str or int, not {type(k).__name__}")
            items.append([k, _encode_extra(v, tensors)])
        return {"__dict__": items}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode_extra(v, tensors) for v in obj]}
    if isinstance(obj, list):
        return [_encode_extra(v, tensors) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return {"__float__": repr(obj)}
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    raise TypeError(f"cannot store {type(obj).__name__} in a checkpoint's extra state")


def _decode_extra(obj: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    if isinstance(obj, list):
        return [_decode_extra(v, tensors) for v in obj]
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__dict__" in obj:
            return {k: _decode_extra(v, tensors) for k, v in obj["__dict__"]}
        if "__tuple__" in obj:
            return tuple(_decode_extra(v, tensors) for v in obj["__tuple__"])
        if "__float__" in obj:
            return float(obj["__float__"])
        raise ValueError(f"unknown extra-state node {sorted(obj)}")
    return obj


def save_checkpoint(
    path: str | Path, model: Transcriber, extra: Mapping[str, Any] | None = None
) -> None:
    """Write ``model`` (config + weights) and optional extra training state atomically.

    Args:
        path: Target file (conventionally ``*.safetensors``).
        model: The transcriber; its resolved config is stored (an hf_ssl encoder loaded from a
            directory is stored with its transformers config, so loading needs no directory).
        extra: Training state to keep with it (see the module docstring for allowed types).

    Raises:
        TypeError: ``extra`` holds an object that cannot be stored.
    """
    from safetensors.torch import save as save_bytes

    tensors = {
        f"model.{k}": v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()
    }
    skeleton = _encode_extra(dict(extra or {}), tensors)
    metadata = {
        "format_version": str(FORMAT_VERSION),
        "avsvt_version": _version(),
        "kind": KIND,
        "model_config": json.dumps(model.config.to_dict()),
        "extra": json.dumps(skeleton),
    }
    data = save_bytes(tensors, metadata=metadata)
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)


def save_model(model: Transcriber, path: str | Path) -> None:
    """Write ``model`` alone (no training state); see :func:`save_checkpoint`."""
    save_checkpoint(path, model)


@dataclass(frozen=True)
class CheckpointInfo:
    """What a checkpoint file says about itself (read without building the model).

    Attributes:
        format_version: Layout version.
        avsvt_version: Version of avsvt that wrote it.
        config: The model's configuration.
        n_parameters: Values in the stored model state dict.
    """

    format_version: int
    avsvt_version: str
    config: ModelConfig
    n_parameters: int


def _read(path: Path) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    from safetensors import safe_open

    if not path.is_file():
        raise CheckpointError("checkpoint file not found", path=path)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            metadata = dict(handle.metadata() or {})
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types
        raise CheckpointError(
            f"not a readable safetensors checkpoint (truncated or damaged?): {exc}", path=path
        ) from None
    return metadata, tensors


def _info(path: Path, metadata: Mapping[str, str], n_parameters: int) -> CheckpointInfo:
    if metadata.get("kind") != KIND:
        raise CheckpointError(
            f"wrong checkpoint kind {metadata.get('kind')!r} (expected {KIND!r})", path=path
        )
    try:
        version = int(metadata["format_version"])
        config_dict = json.loads(metadata["model_config"])
    except (KeyError, ValueError) as exc:
        raise CheckpointError(f"damaged checkpoint header ({exc})", path=path) from None
    if version != FORMAT_VERSION:
        raise CheckpointError(f"unsupported format_version {version}", path=path)
    try:
        config = ModelConfig.from_dict(config_dict)
    except AvsvtError as exc:
        raise CheckpointError(f"stored model_config is invalid: {exc.message}", path=path) from None
    return CheckpointInfo(version, metadata.get("avsvt_version", "unknown"), config, n_parameters)


def read_checkpoint_info(path: str | Path) -> CheckpointInfo:
    """Header facts of a checkpoint (reads the tensors to count them; builds no model).

    Raises:
        CheckpointError: Missing, damaged or foreign file.
    """
    path = Path(path)
    metadata, tensors = _read(path)
    n = sum(t.numel() for k, t in tensors.items() if k.startswith("model."))
    return _info(path, metadata, n)


def load_checkpoint(path: str | Path) -> tuple[Transcriber, dict[str, Any]]:
    """Rebuild the model from the stored config, load its weights, and return the extra state.

    Returns:
        The model (in eval mode) and the extra state (an empty dict if none was stored).

    Raises:
        CheckpointError: Missing, truncated or foreign file, or weights not matching the config.
    """
    path = Path(path)
    metadata, tensors = _read(path)
    model_state = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    info = _info(path, metadata, sum(t.numel() for t in model_state.values()))
    model = Transcriber(info.config, load_pretrained=False)
    try:
        result = model.load_state_dict(model_state, strict=False)
    except RuntimeError as exc:  # shape mismatches
        first = str(exc).strip().splitlines()[-1].strip()
        raise CheckpointError(
            f"weights do not match the stored config: {first}", path=path
        ) from None
    if result.missing_keys or result.unexpected_keys:
        raise CheckpointError(
            "weights do not match the stored config: "
            f"missing {result.missing_keys[:3]}, unexpected {result.unexpected_keys[:3]}",
            path=path,
        )
    try:
        extra = _decode_extra(json.loads(metadata.get("extra", '{"__dict__": []}')), tensors)
    except (KeyError, ValueError) as exc:
        raise CheckpointError(f"damaged extra state ({exc})", path=path) from None
    return model.eval(), extra


def load_model(path: str | Path) -> Transcriber:
    """Load a :class:`Transcriber` (eval mode) written by :func:`save_model` or a checkpoint."""
    return load_checkpoint(path)[0]
