"""AV-HuBERT: forward, padding, and the fairseq checkpoint loader on synthetic files."""

from __future__ import annotations

import dataclasses
import os
import zipfile
from pathlib import Path

import pytest
import torch
from avhubert_synthetic import (
    CONV_POS,
    FFN,
    GROUPS,
    HEADS,
    LAYERS,
    STEM,
    WIDTHS,
    D,
    fairseq_keys,
    synthetic_cfg,
    synthetic_state,
    write_checkpoint,
)  # fmt: skip

from avsvt.errors import CheckpointError
from avsvt.models.avhubert import (
    AVHubertVideoEncoder,
    avhubert_from_fairseq,
    photometric_jitter,
    read_fairseq_avhubert,
    remove_appearance,
)
from avsvt.models.config import preset


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


def test_photometric_jitter_gives_each_item_its_own_light_and_ignores_padding() -> None:
    """Per item one monotone map of the pixels (up to the added noise), padding left out."""
    frames = torch.rand(3, 6, 22, 22) * 0.6 + 0.2
    lengths = torch.tensor([6, 3, 6])
    torch.manual_seed(5)
    out = photometric_jitter(frames, lengths)
    padded = frames.clone()
    padded[1, 3:] = 1.0  # what lies beyond an item's length cannot move its light
    torch.manual_seed(5)
    again = photometric_jitter(padded, lengths)
    torch.testing.assert_close(out[:, :3], again[:, :3])
    assert out.min() >= 0 and out.max() <= 1
    changes = [float((out[i] - frames[i]).abs().mean()) for i in range(3)]
    assert min(changes) > 1e-3 and len({round(c, 4) for c in changes}) == 3
    # brighter pixels stay brighter (contrast, brightness and gamma are monotone): rank
    # correlation of input and output is near 1 within each item
    for i in range(3):
        a, b = frames[i].flatten().argsort().argsort(), out[i].flatten().argsort().argsort()
        rank_corr = float(torch.corrcoef(torch.stack([a.float(), b.float()]))[0, 1])
        assert rank_corr > 0.8


def test_photometric_augment_is_training_only() -> None:
    encoder = tiny_encoder(photometric_augment=True, train_augment=False)
    video = torch.randint(0, 256, (2, 4, 88, 88), dtype=torch.uint8)
    lengths = torch.tensor([4, 4])
    torch.testing.assert_close(
        encoder.preprocess(video, lengths), tiny_encoder().preprocess(video, lengths)
    )
    encoder.train()
    assert not torch.allclose(
        encoder.preprocess(video, lengths), tiny_encoder().preprocess(video, lengths)
    )


def test_remove_appearance_keeps_the_motion_of_valid_frames_only() -> None:
    # the oracle, in numpy float64: one item's valid frames minus their mean frame, over the
    # root mean square of what is left
    import numpy as np

    generator = torch.Generator().manual_seed(0)
    frames = torch.rand(2, 6, 5, 5, generator=generator)
    lengths = torch.tensor([6, 4])
    out = remove_appearance(frames, lengths)
    for i, n in enumerate(lengths.tolist()):
        valid = frames[i, :n].double().numpy()
        moving = valid - valid.mean(axis=0)
        expected = moving / np.sqrt((moving**2).mean())
        np.testing.assert_allclose(out[i, :n].double().numpy(), expected, rtol=1e-5, atol=1e-6)
    # what lies past an item's length does not reach its valid frames
    padded = frames.clone()
    padded[1, 4:] = 7.0
    torch.testing.assert_close(remove_appearance(padded, lengths)[1, :4], out[1, :4])


def test_remove_appearance_forgets_still_face_and_lighting() -> None:
    # the same mouth movement on another still face, under another contrast and brightness,
    # gives the same input: by construction, since only the movement differs from the mean
    generator = torch.Generator().manual_seed(1)
    movement = torch.rand(1, 8, 6, 6, generator=generator)
    face = torch.rand(1, 1, 6, 6, generator=generator)
    lengths = torch.tensor([8])
    one = remove_appearance(0.3 * movement + face, lengths)
    other = remove_appearance(0.9 * (0.3 * movement + 0.5 * face) + 0.2, lengths)
    torch.testing.assert_close(one, other)
    # and a still video carries nothing
    still = remove_appearance(face.expand(1, 8, 6, 6), lengths)
    assert float(still.abs().max()) < 1e-3


def test_remove_appearance_leaves_frames_without_a_face_out() -> None:
    # the lip front end gives a uniform grey crop where it found no face: neutral (0), and not
    # part of the mean frame, so the frames with a face come out as if the others were not there
    generator = torch.Generator().manual_seed(2)
    frames = torch.rand(1, 9, 5, 5, generator=generator)
    with_gaps = frames.clone()
    gaps = [0, 4, 5]
    with_gaps[0, gaps] = 107 / 255
    out = remove_appearance(with_gaps, torch.tensor([9]))
    assert float(out[0, gaps].abs().max()) == 0.0
    kept = [t for t in range(9) if t not in gaps]
    alone = remove_appearance(frames[:, kept], torch.tensor([len(kept)]))
    torch.testing.assert_close(out[:, kept], alone)


def test_appearance_norm_is_applied_in_inference_too() -> None:
    encoder = tiny_encoder(appearance_norm=True)
    video = torch.randint(0, 256, (2, 4, 88, 88), dtype=torch.uint8)
    lengths = torch.tensor([4, 3])
    x = encoder.preprocess(video, lengths)[:, 0]
    for i, n in enumerate(lengths.tolist()):
        assert abs(float(x[i, :n].mean())) < 1e-5  # each item centred on its own mean frame
        assert float((x[i, :n] ** 2).mean()) == pytest.approx(1.0, rel=1e-4)
        assert float(x[i, n:].abs().sum()) == 0.0  # padding stays the stem's zeros


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


def reference_forward(state: dict[str, torch.Tensor], video: torch.Tensor) -> torch.Tensor:
    """avhubert-checkpoint.md section 4 written out with functional ops on the file's own keys.

    video: (B, T, 88, 88) uint8 -> (B, T, D), eval mode, video-only, no output normalisation.
    """
    f = torch.nn.functional
    s = {k: v.float() for k, v in state.items()}

    def bn(x: torch.Tensor, p: str) -> torch.Tensor:
        return f.batch_norm(
            x, s[p + ".running_mean"], s[p + ".running_var"], s[p + ".weight"], s[p + ".bias"]
        )

    r = "feature_extractor_video.resnet."
    x = ((video.float() / 255.0 - 0.421) / 0.165).unsqueeze(1)  # (B, 1, T, 88, 88)
    batch, n_frames = video.shape[:2]
    x = f.conv3d(x, s[r + "frontend3D.0.weight"], stride=(1, 2, 2), padding=(2, 3, 3))
    x = f.prelu(bn(x, r + "frontend3D.1"), s[r + "frontend3D.2.weight"])
    x = f.max_pool3d(x, (1, 3, 3), (1, 2, 2), (0, 1, 1))
    x = x.transpose(1, 2).reshape(batch * n_frames, x.shape[1], x.shape[3], x.shape[4])
    for layer in range(1, 5):
        for block in range(2):
            p = f"{r}trunk.layer{layer}.{block}."
            stride = 2 if layer > 1 and block == 0 else 1
            out = f.conv2d(x, s[p + "conv1.weight"], stride=stride, padding=1)
            out = f.prelu(bn(out, p + "bn1"), s[p + "relu1.weight"])
            out = bn(f.conv2d(out, s[p + "conv2.weight"], padding=1), p + "bn2")
            shortcut = x
            if p + "downsample.0.weight" in s:
                shortcut = bn(
                    f.conv2d(x, s[p + "downsample.0.weight"], stride=2), p + "downsample.1"
                )
            x = f.prelu(out + shortcut, s[p + "relu2.weight"])
    feats = x.mean(dim=(2, 3)).reshape(batch, n_frames, -1)
    feats = f.linear(
        feats, s["feature_extractor_video.proj.weight"], s["feature_extractor_video.proj.bias"]
    )
    fused = torch.cat([torch.zeros_like(feats), feats], dim=-1)  # audio stream first
    fused = f.layer_norm(fused, (2 * D,), s["layer_norm.weight"], s["layer_norm.bias"])
    h = f.linear(fused, s["post_extract_proj.weight"], s["post_extract_proj.bias"])
    g, v = s["encoder.pos_conv.0.weight_g"], s["encoder.pos_conv.0.weight_v"]
    weight = g * v / v.norm(dim=(0, 1), keepdim=True)
    pos = f.conv1d(
        h.transpose(1, 2),
        weight,
        s["encoder.pos_conv.0.bias"],
        padding=CONV_POS // 2,
        groups=GROUPS,
    )
    h = h + f.gelu(pos[:, :, :-1]).transpose(1, 2)  # SamePad drops the last frame (even kernel)
    for i in range(LAYERS):
        p = f"encoder.layers.{i}."
        a = f.layer_norm(
            h, (D,), s[p + "self_attn_layer_norm.weight"], s[p + "self_attn_layer_norm.bias"]
        )

        def proj(name: str, t: torch.Tensor, p: str = p) -> torch.Tensor:
            return f.linear(t, s[f"{p}self_attn.{name}.weight"], s[f"{p}self_attn.{name}.bias"])

        q, k, vv = (
            proj(n, a).reshape(batch, n_frames, HEADS, -1).transpose(1, 2)
            for n in ("q_proj", "k_proj", "v_proj")
        )
        att = torch.softmax(q @ k.transpose(-1, -2) / (D // HEADS) ** 0.5, dim=-1) @ vv
        h = h + proj("out_proj", att.transpose(1, 2).reshape(batch, n_frames, D))
        a = f.layer_norm(h, (D,), s[p + "final_layer_norm.weight"], s[p + "final_layer_norm.bias"])
        a = f.linear(
            f.gelu(f.linear(a, s[p + "fc1.weight"], s[p + "fc1.bias"])),
            s[p + "fc2.weight"],
            s[p + "fc2.bias"],
        )
        h = h + a
    return f.layer_norm(h, (D,), s["encoder.layer_norm.weight"], s["encoder.layer_norm.bias"])


def test_forward_matches_the_written_out_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = synthetic_state(seed=4)
    path = write_checkpoint(tmp_path / "ck.pt", monkeypatch, state=state)
    encoder = avhubert_from_fairseq(path, output_norm="none").eval()
    video = torch.randint(0, 256, (2, 6, 88, 88), dtype=torch.uint8)
    with torch.no_grad():
        ours, _ = encoder(video, torch.tensor([6, 6]))
        expected = reference_forward(state, video)
    torch.testing.assert_close(ours, expected, atol=1e-4, rtol=1e-4)
