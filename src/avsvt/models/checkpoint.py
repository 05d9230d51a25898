"""Transcriber checkpoints: weights plus the model config, in one of two files; never pickled code.

Every checkpoint avsvt writes carries the model's config (``ModelConfig.to_dict()``), so
:func:`load_checkpoint`, :func:`load_model` and :func:`read_checkpoint_info` rebuild the model from
either file alone:

* a model file, ``best.safetensors`` (:func:`save_checkpoint`): a safetensors file whose header
  metadata (strings) holds ``format_version`` ("1"), ``avsvt_version``, ``kind``
  ("avsvt-transcriber"), ``model_config`` (JSON) and ``metadata`` (JSON of plain values the
  writer keeps beside the model, e.g. the epoch and validation scores); tensors are
  ``model.<parameter name>``. Only these five header entries are read; any other (files of
  earlier versions hold an ``extra`` entry and ``extra.<n>`` tensors instead of ``metadata``) is
  ignored, never decoded. The JSON entries may nest at most :data:`MAX_JSON_DEPTH` levels.
* a training checkpoint, ``last.pt`` (:func:`save_training_state`, written by the training
  loop): a ``torch.save`` dict of tensors and plain values, read with ``weights_only=True`` (no
  code runs on load): the trained module's state dict (``model``), optimiser and scheduler
  states, RNG state, position and history, and, when the module is or wraps a transcriber,
  ``model_config`` and ``model_prefix``: the prefix of the transcriber's keys in ``model``
  (``"transcriber."`` for stage 2's feature model, ``""`` for stage 1), stripped on load, so the
  weights are stored once.

Loading checks the stored config first: it is built on PyTorch's ``meta`` device (no memory) and
the stored weights must fit it, key for key and shape for shape, before the model is built for
real; a config claiming more layers than the file has tensors is refused before that.

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
MAX_JSON_DEPTH = 32
"""Deepest nesting of a stored model config or metadata (avsvt writes at most 4 levels)."""


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


def _nesting_depth(value: Any, limit: int) -> int:
    """How deep ``value`` nests (dicts, lists, tuples), counted up to ``limit + 1``, iteratively."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            break
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _check_depth(path: Path, what: str, value: Any) -> None:
    if _nesting_depth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise CheckpointError(
            f"damaged checkpoint: {what} nests more than {MAX_JSON_DEPTH} levels deep", path=path
        )


def _json_entry(path: Path, what: str, text: str) -> Any:
    """A JSON header entry, parsed with its nesting bounded."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise CheckpointError(
            f"damaged checkpoint: {what} is JSON nested too deeply to read", path=path
        ) from None
    except ValueError as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CheckpointError(
            f"damaged checkpoint: {what} is not JSON ({first})", path=path
        ) from None
    _check_depth(path, what, value)
    return value


def _config(path: Path, config_dict: Any) -> ModelConfig:
    if not isinstance(config_dict, Mapping):
        raise CheckpointError("stored model_config is not a mapping", path=path)
    _check_depth(path, "model_config", config_dict)
    try:
        config = ModelConfig.from_dict(config_dict, source=str(path), prefix="")
    except AvsvtError as exc:
        raise CheckpointError(f"stored model_config is invalid: {exc.message}", path=path) from None
    audio = config.audio_encoder
    if audio is not None and audio.kind == "hf_ssl" and audio.hf_config is not None:
        from avsvt.models.audio import SUPPORTED_MODEL_TYPES

        model_type = audio.hf_config.get("model_type")
        if model_type not in SUPPORTED_MODEL_TYPES:
            shown = repr(model_type) if isinstance(model_type, str) else "missing"
            raise CheckpointError(
                f"stored model_config is invalid: audio_encoder.hf_config: transformers model "
                f"type {shown[:60]} is not supported (supported: "
                f"{', '.join(SUPPORTED_MODEL_TYPES)})",
                path=path,
            )
    return config


def _info(path: Path, metadata: Mapping[str, str], n_parameters: int) -> CheckpointInfo:
    if metadata.get("kind") != KIND:
        kind = metadata.get("kind")
        shown = repr(kind if kind is None or len(kind) <= 60 else kind[:57] + "...")
        raise CheckpointError(f"wrong checkpoint kind {shown} (expected {KIND!r})", path=path)
    if "format_version" not in metadata or "model_config" not in metadata:
        missing = "format_version" if "format_version" not in metadata else "model_config"
        raise CheckpointError(f"damaged checkpoint header (no {missing})", path=path)
    raw_version = metadata["format_version"]
    if raw_version != str(FORMAT_VERSION):
        shown = raw_version if len(raw_version) <= 20 else raw_version[:17] + "..."
        raise CheckpointError(
            f"unsupported format_version {shown!r} (this avsvt reads {FORMAT_VERSION})", path=path
        )
    config = _config(path, _json_entry(path, "model_config", metadata["model_config"]))
    return CheckpointInfo(
        FORMAT_VERSION, metadata.get("avsvt_version", "unknown"), config, n_parameters
    )


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
    prefix = state.get("model_prefix", "")
    model = state["model"]
    if not isinstance(prefix, str):
        raise CheckpointError("training checkpoint's 'model_prefix' is not a string", path=path)
    if not isinstance(model, Mapping) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in model.items()
    ):
        raise CheckpointError(
            "training checkpoint's 'model' is not a state dict (names to tensors)", path=path
        )
    weights = {k[len(prefix) :]: v for k, v in model.items() if k.startswith(prefix)}
    n = sum(t.numel() for t in weights.values())
    version = str(state.get("avsvt_version", "unknown"))
    return CheckpointInfo(FORMAT_VERSION, version, config, n, TRAINING_KIND), weights


def _read_any(path: Path) -> tuple[CheckpointInfo, dict[str, torch.Tensor], dict[str, Any]]:
    """Info, the transcriber's weights and the metadata of a checkpoint of either kind."""
    from avsvt.data.files import not_a_file

    problem = not_a_file(path, missing="checkpoint file not found")
    if problem:
        raise CheckpointError(problem, path=path)
    if _is_zip(path):
        state = load_training_state(path)
        info, weights = _training_model(path, state)
        metadata = {k: state[k] for k in _TRAINING_METADATA if k in state}
        history = state.get("history", [])
        metadata["history"] = list(history) if isinstance(history, list | tuple) else []
        return info, weights, metadata
    header, tensors = _read(path)
    weights = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    info = _info(path, header, sum(t.numel() for t in weights.values()))
    metadata = _json_entry(path, "metadata", header.get("metadata", "{}"))
    if not isinstance(metadata, dict):
        raise CheckpointError("damaged checkpoint: metadata is not a mapping", path=path)
    return info, weights, metadata


def _check_buildable(path: Path, info: CheckpointInfo, weights: Mapping[str, torch.Tensor]) -> None:
    """Build the stored config on the meta device (nothing allocated); the weights must fit it.

    Raises:
        CheckpointError: The config cannot be built (an invalid transformers config, more layers
            than the file has tensors) or the weights do not fit it (names or shapes).
    """
    config = info.config
    n_tensors = len(weights)
    n_values = sum(t.numel() for t in weights.values())
    sizes: list[tuple[str, Any, int]] = []  # (key, declared, most a file of these weights holds)
    audio, video = config.audio_encoder, config.video_encoder
    if audio is not None and config.modality != "video":
        sizes += [
            ("audio_encoder.n_layers", audio.n_layers, n_tensors),
            ("audio_encoder.n_mels", audio.n_mels, n_values),
            ("audio_encoder.periodicity_bins", audio.periodicity_bins, n_values),
        ]
        if audio.kind == "hf_ssl" and audio.hf_config is not None:
            layers = audio.hf_config.get("num_hidden_layers")
            sizes.append(("audio_encoder.hf_config.num_hidden_layers", layers, n_tensors))
    if video is not None and config.modality != "audio":
        sizes += [("video_encoder.n_layers", video.n_layers, n_tensors)]
        sizes += [("video_encoder.blocks", sum(video.blocks), n_tensors)]
    for key, declared, most in sizes:
        if isinstance(declared, int) and declared > most:
            raise CheckpointError(
                f"weights do not match the stored config: {key} is {declared:,}, more than the "
                f"file's {most:,} {'tensors' if most == n_tensors else 'values'} could hold",
                path=path,
            )
    try:
        with torch.device("meta"):
            skeleton = Transcriber(config, load_pretrained=False)
    except AvsvtError as exc:
        raise CheckpointError(f"stored model_config is invalid: {exc.message}", path=path) from None
    except Exception as exc:  # noqa: BLE001 - transformers rejects its config in many ways
        text = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise CheckpointError(f"stored model_config cannot be built ({text})", path=path) from None
    expected = {k: tuple(v.shape) for k, v in skeleton.state_dict().items()}
    missing = [k for k in expected if k not in weights]
    unexpected = [k for k in weights if k not in expected]
    if missing or unexpected:
        raise CheckpointError(
            f"weights do not match the stored config: missing {missing[:3]}, "
            f"unexpected {unexpected[:3]}",
            path=path,
        )
    for key, shape in expected.items():
        if tuple(weights[key].shape) != shape:
            raise CheckpointError(
                f"weights do not match the stored config: {key} is "
                f"{tuple(weights[key].shape)} in the file, {shape} in the config",
                path=path,
            )


def verify_checkpoint(path: str | Path) -> CheckpointInfo:
    """:func:`read_checkpoint_info`, and the stored weights fit the stored config (nothing built).

    Raises:
        CheckpointError: As :func:`load_checkpoint`, without allocating the model.
    """
    path = Path(path)
    info, weights, _ = _read_any(path)
    _check_buildable(path, info, weights)
    return info


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
    _check_buildable(path, info, weights)
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
