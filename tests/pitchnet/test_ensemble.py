"""Ensembles of pitch networks (averaged probabilities) and the pitch-axis convolution."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from avsvt.cli import main
from avsvt.f0notes import F0NoteSettings
from avsvt.pitchnet.model import PitchAxisConv2d, PitchNet, PitchNetEnsemble
from avsvt.pitchnet.track import PitchNetTracker, load_pitchnet, save_pitchnet
from tiny_pitchnet import TINY_NET, write_tiny_recipe


def _direct_pitch_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """The (1, k) convolution written out as a sum of shifted products (no conv kernel)."""
    out_c, in_c, _, k = weight.shape
    padded = F.pad(x, (k // 2, k // 2))
    n_bins = x.shape[3]
    y = torch.zeros(x.shape[0], out_c, x.shape[2], n_bins, dtype=x.dtype)
    for j in range(k):
        y += torch.einsum("bctf,oc->botf", padded[..., j : j + n_bins], weight[:, :, 0, j])
    return y + bias[None, :, None, None]


def test_pitch_axis_conv_is_the_wide_row_convolution_and_its_gradient() -> None:
    torch.manual_seed(0)
    conv = PitchAxisConv2d(3, 2, (1, 7), padding=(0, 3))
    x = torch.randn(2, 3, 11, 19, dtype=torch.float64, requires_grad=True)
    conv = conv.double()
    y = conv(x)
    expected = _direct_pitch_conv(x, conv.weight, conv.bias)
    assert y.shape == (2, 2, 11, 19)
    torch.testing.assert_close(y, expected, rtol=1e-10, atol=1e-10)
    g = torch.randn_like(y)
    (grad_x, grad_w) = torch.autograd.grad(y, (x, conv.weight), g)
    (want_x, want_w) = torch.autograd.grad(expected, (x, conv.weight), g)
    torch.testing.assert_close(grad_x, want_x, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(grad_w, want_w, rtol=1e-10, atol=1e-10)
    # and its state dict is a plain Conv2d's
    assert set(conv.state_dict()) == {"weight", "bias"}
    assert conv.weight.shape == (2, 3, 1, 7)


def _trained_like(seed: int) -> PitchNet:
    torch.manual_seed(seed)
    net = PitchNet(TINY_NET)
    with torch.no_grad():  # batch-norm statistics away from their defaults
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    return net.eval()


def test_ensemble_probabilities_are_the_members_mean_and_survive_the_model_file(
    tmp_path: Path,
) -> None:
    members = [_trained_like(1), _trained_like(2), _trained_like(3)]
    ensemble = PitchNetEnsemble.of(members).eval()
    audio = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    x = torch.from_numpy(audio)[None]
    with torch.no_grad():
        each = [(torch.sigmoid(s), torch.sigmoid(v)) for s, v in (m(x) for m in members)]
        salience, voicing = ensemble.probabilities(x)
    torch.testing.assert_close(salience, sum(s for s, _ in each) / 3)
    torch.testing.assert_close(voicing, sum(v for _, v in each) / 3)
    assert not torch.allclose(each[0][1], each[1][1])  # the members differ

    settings = F0NoteSettings(hold_frames=3)
    path = tmp_path / "ensemble.safetensors"
    save_pitchnet(path, ensemble, settings, {"note": "test"})
    loaded = load_pitchnet(path)
    assert isinstance(loaded.model, PitchNetEnsemble) and len(loaded.model.members) == 3
    assert loaded.settings == settings
    mine = PitchNetTracker(ensemble, settings).probabilities(audio)
    theirs = loaded.probabilities(audio)
    np.testing.assert_array_equal(mine[0], theirs[0])
    np.testing.assert_array_equal(mine[1], theirs[1])
    with torch.no_grad():
        np.testing.assert_allclose(theirs[1], voicing[0].numpy(), rtol=0, atol=1e-6)


def test_an_ensemble_needs_two_members_of_one_config() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        PitchNetEnsemble(TINY_NET, 1)
    other = PitchNet(dataclasses.replace(TINY_NET, octave_kernel_bins=7))
    with pytest.raises(ValueError, match="one config"):
        PitchNetEnsemble.of([PitchNet(TINY_NET), other])


def _run(folder: Path, *, seed: int, members: int) -> Path:
    config = write_tiny_recipe(folder.with_suffix(".yaml"), folder)
    settings = ["--set", f"train.seed={seed}", "--set", f"train.members={members}"]
    assert main(["run", str(config), *settings]) == 0
    return folder / "model" / "model.safetensors"


def test_the_recipe_trains_each_member_as_the_one_network_run_of_its_seed(
    tmp_path: Path,
) -> None:
    ensemble = load_pitchnet(_run(tmp_path / "pair", seed=5, members=2))
    assert isinstance(ensemble.model, PitchNetEnsemble)
    assert ensemble.info["recipe"]["members"] == 2
    for k, seed in enumerate((5, 6)):
        alone = load_pitchnet(_run(tmp_path / f"alone{seed}", seed=seed, members=1))
        assert isinstance(alone.model, PitchNet)
        mine = ensemble.model.members[k].state_dict()
        for name, value in alone.model.state_dict().items():
            assert torch.equal(mine[name], value), (seed, name)
    assert (tmp_path / "pair" / "model" / "member-1" / "last.pt").is_file()
    # a rerun finds it finished
    path = tmp_path / "pair" / "model" / "model.safetensors"
    before = path.stat().st_mtime_ns
    _run(tmp_path / "pair", seed=5, members=2)
    assert path.stat().st_mtime_ns == before
