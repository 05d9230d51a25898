"""A synthetic AV-HuBERT checkpoint with the real file's structure and key names (tiny sizes).

Built from the documented layout (avhubert-checkpoint.md sections 1-5), independently of the
loader's own key mapping.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

# Sizes of the synthetic checkpoint (avhubert-checkpoint.md section 5)
D, FFN, LAYERS, HEADS, CONV_POS, GROUPS, AUDIO_DIM, FINAL_DIM, K = 32, 64, 2, 4, 4, 2, 8, 16, 10
STEM, WIDTHS = 8, (8, 8, 16, 16)


def fairseq_keys(stem: int = STEM, widths: tuple[int, ...] = WIDTHS) -> dict[str, tuple[int, ...]]:
    """The checkpoint's key -> shape table, written from the documented layout (not our code)."""
    keys: dict[str, tuple[int, ...]] = {
        "mask_emb": (AUDIO_DIM,),
        "label_embs_concat": (K, FINAL_DIM),
        "feature_extractor_audio.proj.weight": (D, AUDIO_DIM),
        "feature_extractor_audio.proj.bias": (D,),
        "feature_extractor_video.resnet.frontend3D.0.weight": (stem, 1, 5, 7, 7),
    }
    for suffix in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
        keys[f"feature_extractor_video.resnet.frontend3D.1.{suffix}"] = (
            () if suffix == "num_batches_tracked" else (stem,)
        )
    keys["feature_extractor_video.resnet.frontend3D.2.weight"] = (stem,)
    cin = stem
    for layer, c in enumerate(widths, start=1):
        for block in range(2):
            p = f"feature_extractor_video.resnet.trunk.layer{layer}.{block}."
            block_in = cin if block == 0 else c
            keys[p + "conv1.weight"] = (c, block_in, 3, 3)
            for bn in ("bn1", "bn2"):
                for s in ("weight", "bias", "running_mean", "running_var"):
                    keys[f"{p}{bn}.{s}"] = (c,)
                keys[f"{p}{bn}.num_batches_tracked"] = ()
            keys[p + "relu1.weight"] = (c,)
            keys[p + "relu2.weight"] = (c,)
            keys[p + "conv2.weight"] = (c, c, 3, 3)
            if block == 0 and layer > 1:
                keys[p + "downsample.0.weight"] = (c, block_in, 1, 1)
                for s in ("weight", "bias", "running_mean", "running_var"):
                    keys[f"{p}downsample.1.{s}"] = (c,)
                keys[p + "downsample.1.num_batches_tracked"] = ()
        cin = c
    keys["feature_extractor_video.proj.weight"] = (D, widths[-1])
    keys["feature_extractor_video.proj.bias"] = (D,)
    keys["post_extract_proj.weight"] = (D, 2 * D)
    keys["post_extract_proj.bias"] = (D,)
    keys["encoder.pos_conv.0.bias"] = (D,)
    keys["encoder.pos_conv.0.weight_g"] = (1, 1, CONV_POS)
    keys["encoder.pos_conv.0.weight_v"] = (D, D // GROUPS, CONV_POS)
    for i in range(LAYERS):
        p = f"encoder.layers.{i}."
        for proj in ("k_proj", "v_proj", "q_proj", "out_proj"):
            keys[f"{p}self_attn.{proj}.weight"] = (D, D)
            keys[f"{p}self_attn.{proj}.bias"] = (D,)
        keys[p + "self_attn_layer_norm.weight"] = (D,)
        keys[p + "self_attn_layer_norm.bias"] = (D,)
        keys[p + "fc1.weight"] = (FFN, D)
        keys[p + "fc1.bias"] = (FFN,)
        keys[p + "fc2.weight"] = (D, FFN)
        keys[p + "fc2.bias"] = (D,)
        keys[p + "final_layer_norm.weight"] = (D,)
        keys[p + "final_layer_norm.bias"] = (D,)
    keys["encoder.layer_norm.weight"] = (D,)
    keys["encoder.layer_norm.bias"] = (D,)
    keys["layer_norm.weight"] = (2 * D,)
    keys["layer_norm.bias"] = (2 * D,)
    keys["final_proj.weight"] = (FINAL_DIM, D)
    keys["final_proj.bias"] = (FINAL_DIM,)
    return keys


def synthetic_state(seed: int = 0, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    state: dict[str, torch.Tensor] = {}
    for key, shape in fairseq_keys().items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(7, dtype=torch.int64)
        elif key.endswith(("running_var", "weight_g")):
            state[key] = (torch.rand(shape, generator=g) + 0.5).to(dtype)
        else:
            state[key] = (0.2 * torch.randn(shape, generator=g)).to(dtype)
    return state


def synthetic_cfg(name: str = "av_hubert") -> dict[str, object]:
    return {
        "_name": None,
        "common": {"fp16": True},
        "optimizer": {"_name": "adam", "adam_betas": "(0.9,0.98)"},
        "model": {
            "_name": name,
            "encoder_layers": LAYERS,
            "encoder_embed_dim": D,
            "encoder_ffn_embed_dim": FFN,
            "encoder_attention_heads": HEADS,
            "layer_norm_first": True,
            "activation_fn": "gelu",
            "conv_pos": CONV_POS,
            "conv_pos_groups": GROUPS,
            "resnet_relu_type": "prelu",
            "resnet_weights": None,
            "audio_feat_dim": AUDIO_DIM,
            "modality_fuse": "concat",
            "sub_encoder_layers": 0,
            "final_dim": FINAL_DIM,
            "untie_final_proj": True,
            "masking_type": "input",
            "dropout": 0.1,
            "attention_dropout": 0.1,
            "activation_dropout": 0.0,
            "encoder_layerdrop": 0.05,
            "dropout_input": 0.1,
            "feature_grad_mult": 0.1,
            "wav_input": False,
        },
        "task": {
            "_name": "av_hubert_pretraining",
            "image_crop_size": 88,
            "image_mean": 0.421,
            "image_std": 0.165,
            "stack_order_audio": 4,
            "sample_rate": 25,
            "normalize": True,
            "labels": ["km"],
            "fine_tuning": False,
            "input_modality": "image",
        },
    }


def write_checkpoint(
    path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    state: dict[str, torch.Tensor] | None = None,
    cfg: dict[str, object] | None = None,
    with_optimizer: bool = True,
) -> Path:
    """torch.save a dict with the real file's top-level structure, incl. a fake fairseq class."""
    fake = {
        name: types.ModuleType(name)
        for name in ("fairseq", "fairseq.data", "fairseq.data.dictionary")
    }

    class Dictionary:
        pass

    Dictionary.__module__ = "fairseq.data.dictionary"
    Dictionary.__qualname__ = "Dictionary"
    fake["fairseq.data.dictionary"].Dictionary = Dictionary  # type: ignore[attr-defined]
    with monkeypatch.context() as patch:
        for name, module in fake.items():
            patch.setitem(sys.modules, name, module)
        dictionary = Dictionary()
        symbols = ["<s>", "<pad>", "</s>", "<unk>"] + [str(i) for i in range(6)]
        dictionary.__dict__.update(
            bos_word="<s>", unk_word="<unk>", pad_word="<pad>", eos_word="</s>", symbols=symbols,
            count=[1] * len(symbols), indices={s: i for i, s in enumerate(symbols)},
            bos_index=0, pad_index=1, eos_index=2, unk_index=3, nspecial=4,
        )  # fmt: skip
        checkpoint: dict[str, object] = {
            "args": None,
            "cfg": cfg if cfg is not None else synthetic_cfg(),
            "model": state if state is not None else synthetic_state(),
            "criterion": None,
            "optimizer_history": [
                {
                    "criterion_name": "AVHubertCriterion",
                    "optimizer_name": "FP16Optimizer",
                    "lr_scheduler_state": {"best": None},
                    "num_updates": 1,
                }
            ],  # fmt: skip
            "task_state": {"dictionaries": [dictionary]},
            "extra_state": {
                "metrics": {
                    "train": [
                        (
                            0,
                            "loss",
                            "AverageMeter",
                            {
                                "val": torch.tensor(1.5, dtype=torch.float64),
                                "sum": 1.5,
                                "count": 1,
                                "round": 3,
                            },
                        )
                    ]
                },
                "previous_training_time": 12.5,
                "train_iterator": {
                    "version": 2,
                    "epoch": 1,
                    "iterations_in_epoch": 0,
                    "shuffle": True,
                },
                "val_loss": np.float64(3.25),
            },  # fmt: skip
        }
        if with_optimizer:
            t = torch.zeros(3)
            checkpoint["last_optimizer_state"] = {
                "state": {0: {"step": 1, "exp_avg": t, "exp_avg_sq": t}},
                "param_groups": [{"lr": [0.002], "betas": (0.9, 0.98), "eps": 1e-6,
                                  "weight_decay": 0.01, "amsgrad": False, "params": [0]}],
                "loss_scale": 128.0,
            }  # fmt: skip
        torch.save(checkpoint, path)
    assert "fairseq" not in sys.modules  # the loader must not need it
    return path
