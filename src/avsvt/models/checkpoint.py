"""Transcriber checkpoints: weights plus the model config, in one of two files; never pickled code.

Every checkpoint avsvt writes carries the model's config (``ModelConfig.to_dict()``), so
:func:`load_checkpoint`, :func:`load_model` and :func:`read_checkpoint_info` rebuild the model from
either file alone:

* a model file, ``best.safetensors`` (:func:`save_checkpoint`): a safetensors file whose header
  metadata (strings) holds ``format_version`` ("1"), ``avsvt_version``, ``kind``
  ("avsvt-transcriber"), ``model_config`` (JSON) and ``metadata`` (JSON of plain values the
  writer keeps beside the model, e.g. the epoch and validation scores); tensors are
  ``model.<parameter name>``. Files of earlier versions may hold an ``extra`` entry (and
  ``extra.<n>`` tensors) instead of ``metadata``: it is ignored.
* a training checkpoint, ``last.pt`` (:func:`save_training_state`, written by the training
  loop): a ``torch.save`` dict of tensors and plain values, read with ``weights_only=True`` (no
  code runs on load): the trained module's state dict (``model``), optimiser and scheduler
  states, RNG state, position and history, and, when the module is or wraps a transcriber,
  ``model_config`` and ``model_prefix``: the prefix of the transcriber's keys in ``model``
  (``"transcriber."`` for stage 2's feature model, ``""`` for stage 1), stripped on load, so the
  weights are stored once.

Files are written atomically (:func:`avsvt.data.atomic.atomic_path`). Problems raise
:class:`~avsvt.errors.CheckpointError` naming the file.
"""

from __future__ import annotations

import io
import json
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


def save_checkpoint(
    path: str | Path, model: Transcriber, metadata: Mapping[str, Any] | None = None
) -> None:
    """Write ``model`` (config + weights) and optional plain metadata atomically.

    Args:
        path: Target file (conventionally ``*.safetensors``).
        model: The transcriber; its resolved config is stored (an hf_ssl encoder loaded from a
            directory is stored with its transformers config, so loading needs no directory).
        metadata: Plain JSON values to keep with it (e.g. ``{"epoch": 3, "valid": scores}``);
            :func:`load_checkpoint` returns them.

    Raises:
        TypeError: ``metadata`` is not plain JSON (objects, tensors, NaN or infinity).
    """
    from safetensors.torch import save as save_bytes

    try:
        metadata_json = json.dumps(dict(metadata or {}), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"checkpoint metadata must be plain JSON values ({exc})") from None
    tensors = {
        f"model.{k}": v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()
    }
    header = {
        "format_version": str(FORMAT_VERSION),
        "avsvt_version": _version(),
        "kind": KIND,
        "model_config": json.dumps(model.config.to_dict()),
        "metadata": metadata_json,
    }
    data = save_bytes(tensors, metadata=header)
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)


def save_model(model: Transcriber, path: str | Path) -> None:
    """Write ``model`` alone (no metadata); see :func:`save_checkpoint`."""
    save_checkpoint(path, model)


# --- training checkpoints (last.pt) -------------------------------------------------------------

TRAINING_KIND = "avsvt-training"
"""The ``kind`` :func:`read_checkpoint_info` reports for a training checkpoint."""
_ZIP_MAGIC = b"PK\x03\x04"  # torch.save's zip container
_TRAINING_METADATA = ("epoch", "batch_in_epoch", "global_step", "best_metric", "best_epoch")


def save_training_state(path: str | Path, state: Mapping[str, Any]) -> None:
    """Write a training checkpoint atomically (tensors and plain values only).

    The loop's state dict (see the module docstring) gets ``avsvt_version`` added.
    """
    buffer = io.BytesIO()
    torch.save({**state, "avsvt_version": _version()}, buffer)
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(buffer.getvalue())


def load_training_state(path: str | Path, *, mmap: bool = False) -> dict[str, Any]:
    """Read a training checkpoint with ``weights_only=True`` (no code runs on load).

    Args:
        path: The ``last.pt`` file.
        mmap: Map the tensors from the file instead of reading them (for inspection).

    Raises:
        CheckpointError: Unreadable, unsafe (it would run code) or not a training checkpoint.
    """
    path = Path(path)
    try:
        state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for damaged files
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CheckpointError(
            f"cannot read training checkpoint ({first_line})", path=path
        ) from None
    if not isinstance(state, dict) or "model" not in state or "epoch" not in state:
        raise CheckpointError("not an avsvt training checkpoint", path=path)
    return state


def is_training_checkpoint(path: str | Path) -> bool:
    """True when ``path`` reads as a training checkpoint (``last.pt``) of avsvt."""
    try:
        load_training_state(path, mmap=True)
    except CheckpointError:
        return False
    return True


def _is_zip(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == _ZIP_MAGIC


# --- reading either kind -----------------------------------------------------------------------


@dataclass(frozen=True)
class CheckpointInfo:
    """What a checkpoint file says about itself (read without building the model).

    Attributes:
        format_version: Layout version.
        avsvt_version: Version of avsvt that wrote it.
        config: The model's configuration.
        n_parameters: Values in the stored model state dict.
        kind: ``avsvt-transcriber`` (a model file) or ``avsvt-training`` (``last.pt``).
    """

    format_version: int
    avsvt_version: str
    config: ModelConfig
    n_parameters: int
    kind: str = KIND


def _read(path: Path) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            metadata = dict(handle.metadata() or {})
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types
        raise CheckpointError(
            f"not a readable safetensors checkpoint (truncated or damaged?): {exc}", path=path
        ) from None
    return metadata, tensors


def _config(path: Path, config_dict: Any) -> ModelConfig:
    if not isinstance(config_dict, Mapping):
        raise CheckpointError("stored model_config is not a mapping", path=path)
    try:
        return ModelConfig.from_dict(config_dict)
    except AvsvtError as exc:
        raise CheckpointError(f"stored model_config is invalid: {exc.message}", path=path) from None


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
    config = _config(path, config_dict)
    return CheckpointInfo(version, metadata.get("avsvt_version", "unknown"), config, n_parameters)


def _training_model(
    path: Path, state: Mapping[str, Any]
) -> tuple[CheckpointInfo, dict[str, torch.Tensor]]:
    """The transcriber's config and weights inside a training checkpoint's state."""
    if state.get("model_config") is None:
        raise CheckpointError(
            "training checkpoint without a model config (it can only resume training; "
            "written by an older avsvt, or its module is not a transcriber)",
            path=path,
        )
    config = _config(path, state["model_config"])
    prefix = str(state.get("model_prefix", ""))
    model = state["model"]
    if not isinstance(model, Mapping):
        raise CheckpointError("training checkpoint's 'model' is not a state dict", path=path)
    weights = {k[len(prefix) :]: v for k, v in model.items() if k.startswith(prefix)}
    n = sum(t.numel() for t in weights.values())
    version = str(state.get("avsvt_version", "unknown"))
    return CheckpointInfo(FORMAT_VERSION, version, config, n, TRAINING_KIND), weights


def _read_any(path: Path) -> tuple[CheckpointInfo, dict[str, torch.Tensor], dict[str, Any]]:
    """Info, the transcriber's weights and the metadata of a checkpoint of either kind."""
    if not path.is_file():
        raise CheckpointError("checkpoint file not found", path=path)
    if _is_zip(path):
        state = load_training_state(path)
        info, weights = _training_model(path, state)
        metadata = {k: state[k] for k in _TRAINING_METADATA if k in state}
        metadata["history"] = list(state.get("history", []))
        return info, weights, metadata
    header, tensors = _read(path)
    weights = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    info = _info(path, header, sum(t.numel() for t in weights.values()))
    try:
        metadata = json.loads(header.get("metadata", "{}"))
    except ValueError as exc:
        raise CheckpointError(f"damaged checkpoint metadata ({exc})", path=path) from None
    if not isinstance(metadata, dict):
        raise CheckpointError("damaged checkpoint metadata (not a mapping)", path=path)
    return info, weights, metadata


def read_checkpoint_info(path: str | Path) -> CheckpointInfo:
    """Header facts of a model file or a training checkpoint (builds no model).

    Raises:
        CheckpointError: Missing, damaged or foreign file, or a training checkpoint without a
            model config.
    """
    return _read_any(Path(path))[0]


def load_checkpoint(path: str | Path) -> tuple[Transcriber, dict[str, Any]]:
    """Rebuild the model from a model file or a training checkpoint, with its metadata.

    Returns:
        The model (in eval mode) and the metadata: what :func:`save_checkpoint` was given (an
        empty dict if nothing), or for a training checkpoint its epoch, step, best metric and
        epoch, and history.

    Raises:
        CheckpointError: Missing, truncated or foreign file, a training checkpoint without a
            model config, or weights not matching the config.
    """
    path = Path(path)
    info, weights, metadata = _read_any(path)
    model = Transcriber(info.config, load_pretrained=False)
    try:
        result = model.load_state_dict(weights, strict=False)
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
    return model.eval(), metadata


def load_model(path: str | Path) -> Transcriber:
    """Load a :class:`Transcriber` (eval mode) from a model file or a training checkpoint."""
    return load_checkpoint(path)[0]
