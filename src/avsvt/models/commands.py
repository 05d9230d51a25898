"""``avsvt model ...`` subcommands."""

from __future__ import annotations

import argparse
from pathlib import Path


def describe_checkpoint(path: Path) -> list[str]:
    """Lines describing any supported checkpoint: ours, a transformers directory, AV-HuBERT .pt.

    Ours are model files (``best.safetensors``) and training checkpoints (``last.pt``, which is a
    torch zip file like AV-HuBERT's: read with ``weights_only=True`` first, it is told apart by
    its layout).

    Raises:
        CheckpointError: Not a supported, readable checkpoint.
    """
    import zipfile

    from avsvt.errors import CheckpointError

    if not path.exists():
        raise CheckpointError("no such file or directory", path=path)
    if path.is_dir():
        from avsvt.models.audio import build_hf_model
        from avsvt.models.config import AudioEncoderConfig

        model = build_hf_model(AudioEncoderConfig(kind="hf_ssl", hf_path=str(path)))
        cfg = model.config
        n = sum(p.numel() for p in model.parameters())
        return [
            f"kind: transformers {cfg.model_type} ({type(model).__name__})",
            f"hidden size {cfg.hidden_size}, {cfg.num_hidden_layers} layers, "
            f"{cfg.num_attention_heads} heads, FFN {cfg.intermediate_size}",
            f"parameters: {n:,}",
        ]
    from avsvt.models.checkpoint import is_training_checkpoint, read_checkpoint_info

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
    info = read_checkpoint_info(path)
    config = info.config
    lines = [
        f"kind: {info.kind} (format {info.format_version}, avsvt {info.avsvt_version})",
        f"modality {config.modality}, d_model {config.d_model}, {config.frame_rate} fps",
    ]
    if config.audio_encoder is not None and config.modality != "video":
        a = config.audio_encoder
        if a.kind == "hf_ssl":
            hf = a.hf_config or {}
            lines.append(
                f"audio encoder: {hf.get('model_type', '?')} hidden {hf.get('hidden_size', '?')}, "
                f"{hf.get('num_hidden_layers', '?')} layers, norm {a.norm}"
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
        help="print kind, sizes and parameter count of a checkpoint (offline)",
        formatter_class=fmt,
    )
    inspect.add_argument(
        "path",
        help="avsvt checkpoint (best.safetensors or last.pt), transformers model directory or "
        "AV-HuBERT .pt",
    )
    inspect.set_defaults(handler=_cmd_inspect)
