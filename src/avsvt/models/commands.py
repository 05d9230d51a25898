"""``avsvt model ...`` subcommands."""

from __future__ import annotations

import argparse
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any


def describe_checkpoint(path: Path) -> list[str]:
    """Lines describing a model: ours, an f0-notes model, a transformers directory, AV-HuBERT.

    Ours are model files (``best.safetensors``) and training checkpoints (``last.pt``, which is a
    torch zip file like AV-HuBERT's: read with ``weights_only=True`` first, it is told apart by
    its layout); their weights are checked against their config as loading would, without
    building the model. An f0-notes model is a ``.json`` file (as ``avsvt transcribe --model``
    tells them apart).

    Raises:
        CheckpointError: Not a supported, readable model.
    """
    import zipfile

    from avsvt.errors import CheckpointError

    if not path.exists() and not path.is_symlink():
        raise CheckpointError("no such file or directory", path=path)
    if path.is_dir():
        return _describe_hf_directory(path)
    if path.suffix.lower() == ".json":
        return _describe_f0_model(path)
    from avsvt.data.files import not_a_file

    problem = not_a_file(path)
    if problem:
        raise CheckpointError(problem, path=path)
    from avsvt.models.checkpoint import is_training_checkpoint, verify_checkpoint

    if zipfile.is_zipfile(path) and not is_training_checkpoint(path):
        from avsvt.models.avhubert import read_fairseq_avhubert

        ck = read_fairseq_avhubert(path)
        c = ck.config
        n_used = sum(t.numel() for t in ck.state_dict.values())
        return [
            "kind: AV-HuBERT fairseq pretraining checkpoint (video encoder)",
            f"D {c.dim}, {c.n_layers} layers, {c.n_heads} heads, FFN {c.ffn_dim}, "
            f"conv_pos {c.conv_pos}/{c.conv_pos_groups} groups",
            f"ResNet stem {c.stem_channels}, widths {list(c.widths)}, blocks {list(c.blocks)}",
            f"parameters: {ck.n_values:,} in file, {n_used:,} used by the video encoder "
            f"({len(ck.ignored_keys)} keys ignored)",
        ]
    info = verify_checkpoint(path)
    config = info.config
    lines = [
        f"kind: {info.kind} (format {info.format_version}, avsvt {_shown(info.avsvt_version)})",
        f"modality {config.modality}, d_model {config.d_model}, {config.frame_rate} fps",
    ]
    if config.audio_encoder is not None and config.modality != "video":
        a = config.audio_encoder
        if a.kind == "hf_ssl":
            hf = a.hf_config or {}
            lines.append(
                f"audio encoder: {_shown(hf.get('model_type', '?'))} hidden "
                f"{_shown(hf.get('hidden_size', '?'))}, "
                f"{_shown(hf.get('num_hidden_layers', '?'))} layers, norm {a.norm}"
            )
        else:
            lines.append(
                f"audio encoder: log-mel conformer, {a.n_mels} mels, dim {a.dim}, "
                f"{a.n_layers} layers, norm {a.norm}"
            )
    if config.video_encoder is not None and config.modality != "audio":
        v = config.video_encoder
        lines.append(
            f"video encoder: AV-HuBERT D {v.dim}, {v.n_layers} layers, widths {list(v.widths)}"
        )
    if config.fusion is not None and config.modality == "audio_visual":
        lines.append(f"fusion: {config.fusion.kind}")
    lines.append(f"parameters: {info.n_parameters:,}")
    return lines


def _shown(value: Any, limit: int = 80) -> str:
    """A value read from a file, as one short line (control characters and length cut)."""
    text = value if isinstance(value, str) else repr(value)
    text = "".join(c if c.isprintable() else " " for c in text)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def _describe_f0_model(path: Path) -> list[str]:
    """An f0-notes model file: its kind, settings and what the recipe recorded of its fit."""
    from avsvt.f0notes import F0_MODEL_KIND, F0_MODEL_VERSION, read_f0_model

    settings, body = read_f0_model(path)
    values = ", ".join(f"{k} {v}" for k, v in asdict(settings).items())
    lines = [
        f"kind: {F0_MODEL_KIND} (version {F0_MODEL_VERSION}): f0 note tracker (YIN f0 -> notes), "
        "audio only, no weights",
        f"settings: {values}",
    ]
    fitted_on = body.get("fitted_on")
    candidates = body.get("candidates")
    fit = _shown(fitted_on, 200) if isinstance(fitted_on, str) else "not recorded"
    if isinstance(candidates, int) and not isinstance(candidates, bool):
        fit += f" (best of {candidates:,} candidate settings)"
    lines.append(f"fitted on: {fit}")
    for key, label in (("valid_f1", "validation F1"), ("test_f1", "test F1")):
        scores = body.get(key)
        if isinstance(scores, dict):
            shown = [
                f"{_shown(name, 20)} {value:.3f}"
                for name, value in list(scores.items())[:10]
                if isinstance(value, float) and math.isfinite(value)
            ]
            if shown:
                lines.append(f"{label}: {', '.join(shown)}")
    return lines


def _describe_hf_directory(path: Path) -> list[str]:
    """A transformers directory: its architecture, the values on disk and what avsvt uses."""
    from avsvt.models.audio import hf_directory_weights, load_hf_directory

    loaded = load_hf_directory(path)
    model, cfg = loaded.model, loaded.model.config
    on_disk = hf_directory_weights(path)
    total = sum(on_disk.values())
    used = sum(t.numel() for t in model.state_dict().values())
    missing = set(loaded.missing)
    from_disk = used - sum(t.numel() for k, t in model.state_dict().items() if k in missing)
    lines = [
        f"kind: transformers {cfg.model_type} ({type(model).__name__})",
        f"hidden size {cfg.hidden_size}, {cfg.num_hidden_layers} layers, "
        f"{cfg.num_attention_heads} heads, FFN {cfg.intermediate_size}",
        f"parameters: {total:,} in the directory, {from_disk:,} used by avsvt's audio encoder",
    ]
    if loaded.unused:
        prefix = f"{model.base_model_prefix}."

        def size(key: str) -> str:
            n = on_disk.get(key, on_disk.get(prefix + key))
            return f"{key} ({n:,})" if n is not None else key

        names = ", ".join(size(k) for k in loaded.unused[:5])
        more = f" and {len(loaded.unused) - 5} more" if len(loaded.unused) > 5 else ""
        note = (
            "; masked_spec_embed is SpecAugment's mask embedding, and avsvt runs the model "
            "without SpecAugment"
            if "masked_spec_embed" in loaded.unused
            else ""
        )
        lines.append(
            f"not used: {total - from_disk:,} values in {len(loaded.unused)} tensor(s): "
            f"{names}{more}{note}"
        )
    if loaded.missing:
        names = ", ".join(loaded.missing[:5])
        more = f" and {len(loaded.missing) - 5} more" if len(loaded.missing) > 5 else ""
        lines.append(
            f"not in the directory (random when loaded): {used - from_disk:,} values in "
            f"{len(loaded.missing)} tensor(s): {names}{more}"
        )
    return lines


def _cmd_inspect(args: argparse.Namespace) -> int:
    lines = describe_checkpoint(Path(args.path))
    print(f"{args.path}:")
    for line in lines:
        print(f"  {line}")
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``avsvt model inspect``."""
    fmt = argparse.ArgumentDefaultsHelpFormatter
    model = sub.add_parser("model", help="inspect model checkpoints", formatter_class=fmt)
    model_sub = model.add_subparsers(dest="model_command", required=True, metavar="ACTION")
    inspect = model_sub.add_parser(
        "inspect",
        help="print kind, sizes and parameter count of a model (offline)",
        formatter_class=fmt,
    )
    inspect.add_argument(
        "path",
        help="avsvt checkpoint (best.safetensors or last.pt), f0-notes model (.json), "
        "transformers model directory or AV-HuBERT .pt",
    )
    inspect.set_defaults(handler=_cmd_inspect)
