"""AV-HuBERT: forward, padding, and the fairseq checkpoint loader on synthetic files."""

from __future__ import annotations

import dataclasses
import os
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from avsvt.errors import CheckpointError
from avsvt.models.avhubert import (
    AVHubertVideoEncoder,
    avhubert_from_fairseq,
    read_fairseq_avhubert,
)
from avsvt.models.config import preset

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


def test_synthetic_checkpoint_loads_without_fairseq(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_checkpoint(tmp_path / "large_vox_iter5.pt", monkeypatch)
    checkpoint = read_fairseq_avhubert(path)
    c = checkpoint.config
    assert (c.dim, c.n_layers, c.ffn_dim, c.n_heads) == (D, LAYERS, FFN, HEADS)
    assert (c.conv_pos, c.conv_pos_groups, c.stem_channels, c.widths) == (
        CONV_POS,
        GROUPS,
        STEM,
        WIDTHS,
    )
    assert c.blocks == (2, 2, 2, 2) and c.feature_grad_mult == 0.1
    keys = fairseq_keys()
    dropped = [
        k
        for k in keys
        if k.startswith(("mask_emb", "label_embs", "final_proj", "feature_extractor_audio"))
    ]
    assert sorted(checkpoint.ignored_keys) == sorted(dropped)
    assert len(checkpoint.state_dict) == len(keys) - len(dropped)
    encoder = avhubert_from_fairseq(path).eval()  # strict load inside
    video = torch.randint(0, 256, (2, 7, 96, 96), dtype=torch.uint8)
    for n_frames in (1, 7):
        out, _ = encoder(video[:, :n_frames], torch.tensor([n_frames, n_frames]))
        assert out.shape == (2, n_frames, D) and torch.isfinite(out).all()


def test_loaded_weights_equal_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = synthetic_state(seed=3, dtype=torch.float16)  # the loader must cast to float32
    encoder = avhubert_from_fairseq(
        write_checkpoint(tmp_path / "ck.pt", monkeypatch, state=state, with_optimizer=False)
    )
    own = encoder.state_dict()
    assert own["video_proj.weight"].dtype == torch.float32
    assert torch.equal(
        own["video_proj.weight"], state["feature_extractor_video.proj.weight"].float()
    )
    assert torch.equal(
        own["resnet.trunk.layer3.0.downsample.1.running_var"],
        state["feature_extractor_video.resnet.trunk.layer3.0.downsample.1.running_var"].float(),
    )
    # weight norm: w[:, :, k] = g_k * v[:, :, k] / ||v[:, :, k]|| (norm over the first two axes)
    g = state["encoder.pos_conv.0.weight_g"].float()
    v = state["encoder.pos_conv.0.weight_v"].float()
    expected = g * v / v.norm(dim=(0, 1), keepdim=True)
    torch.testing.assert_close(encoder.encoder.pos_conv[0].weight, expected)


def test_malicious_pickle_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pt"
    torch.save({"cfg": {}, "model": {"x": torch.zeros(1)}, "payload": Evil()}, path)
    with pytest.raises(CheckpointError, match="refusing unexpected global") as info:
        read_fairseq_avhubert(path)
    assert str(path) in str(info.value)
    assert not marker.exists()


@pytest.mark.parametrize("problem", ["not_zip", "no_model", "seq2seq", "bad_group_width"])
def test_bad_checkpoints_give_one_line_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, problem: str
) -> None:
    path = tmp_path / "ck.pt"
    if problem == "not_zip":
        path.write_bytes(b"\x80\x02}q\x00.")
    elif problem == "no_model":
        torch.save({"cfg": synthetic_cfg()}, path)
    elif problem == "seq2seq":
        write_checkpoint(path, monkeypatch, cfg=synthetic_cfg("av_hubert_seq2seq"))
    else:
        state = synthetic_state()
        state["encoder.pos_conv.0.weight_v"] = torch.randn(D, 5, CONV_POS)
        write_checkpoint(path, monkeypatch, state=state)
    with pytest.raises(CheckpointError) as info:
        avhubert_from_fairseq(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_shape_mismatch_names_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = synthetic_state()
    state["encoder.layers.1.fc1.weight"] = torch.randn(FFN + 1, D)
    path = write_checkpoint(tmp_path / "ck.pt", monkeypatch, state=state)
    with pytest.raises(CheckpointError, match="encoder.layers.1.fc1.weight"):
        avhubert_from_fairseq(path)


def test_official_trunk_layout_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The full ResNet-18 widths (64..512) with the tiny transformer map one to one."""
    full = fairseq_keys(stem=64, widths=(64, 128, 256, 512))
    g = torch.Generator().manual_seed(1)
    state = {
        k: torch.tensor(1) if k.endswith("tracked") else torch.rand(s, generator=g) + 0.5
        for k, s in full.items()
    }
    encoder = avhubert_from_fairseq(write_checkpoint(tmp_path / "ck.pt", monkeypatch, state=state))
    assert encoder.config.widths == (64, 128, 256, 512) and encoder.config.stem_channels == 64


def tiny_encoder(**changes: object) -> AVHubertVideoEncoder:
    torch.manual_seed(0)
    config = dataclasses.replace(preset("tiny").video_encoder, **changes)  # type: ignore[arg-type]
    return AVHubertVideoEncoder(config).eval()


@pytest.mark.parametrize("mode", ["as_is", "resample_25"])
def test_padding_never_changes_valid_frames(mode: str) -> None:
    encoder = tiny_encoder(frame_rate_mode=mode)
    video = torch.randint(0, 256, (2, 24, 96, 96), dtype=torch.uint8)
    batch, _ = encoder(video, torch.tensor([24, 13]))
    alone, _ = encoder(video[1:, :13], torch.tensor([13]))
    torch.testing.assert_close(batch[1, :13], alone[0], atol=1e-4, rtol=0)
    assert batch[1, 13:].abs().max() == 0  # padded frames are zero


def test_resample_25_repeats_frames_in_pairs() -> None:
    out, _ = tiny_encoder(frame_rate_mode="resample_25")(
        torch.randint(0, 256, (1, 9, 88, 88), dtype=torch.uint8), torch.tensor([9])
    )
    assert out.shape == (1, 9, 32)
    torch.testing.assert_close(out[0, 0::2][:4], out[0, 1::2])


def test_zero_audio_stream_takes_part_in_the_layer_norm() -> None:
    """LayerNorm(2D) over [zeros, video] differs from normalising the video half alone."""
    encoder = tiny_encoder()
    feats = torch.randn(1, 3, 32) + 2.0
    fused = torch.cat([torch.zeros_like(feats), feats], -1)
    normed = encoder.layer_norm(fused)
    assert not torch.allclose(
        normed[..., 32:], torch.nn.functional.layer_norm(feats, (32,)), atol=1e-3
    )


def test_centre_crop_and_normalisation() -> None:
    encoder = tiny_encoder(downsample=1)
    video = torch.zeros(1, 2, 96, 96, dtype=torch.uint8)
    video[:, :, 4:92, 4:92] = 255  # the centre 88x88 crop starts at offset 4
    x = encoder.preprocess(video, torch.tensor([2]))
    assert x.shape == (1, 1, 2, 88, 88)
    torch.testing.assert_close(x, torch.full_like(x, (1.0 - 0.421) / 0.165))


def test_frames_smaller_than_the_crop_raise() -> None:
    with pytest.raises(ValueError, match="smaller than the 88 crop"):
        tiny_encoder()(torch.zeros(1, 2, 64, 64, dtype=torch.uint8), torch.tensor([2]))


def test_get_unsafe_globals_lists_the_stub_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_checkpoint(tmp_path / "ck.pt", monkeypatch)
    names = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    assert "fairseq.data.dictionary.Dictionary" in names
    with zipfile.ZipFile(path) as archive:
        assert any(n.endswith("data.pkl") for n in archive.namelist())
