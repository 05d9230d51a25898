"""RCA fusion: the reference formula, shared attention, masks and positions of any length."""

from __future__ import annotations

import math

import torch

from avsvt.models.common import align_frames
from avsvt.models.config import FusionConfig
from avsvt.models.fusion import ConcatFusion, RCAFusion, RCALayer, sinusoidal_positions

CONFIG = FusionConfig(n_heads=2, ffn_dim=24)


def test_sinusoidal_table_values_and_any_length() -> None:
    table = sinusoidal_positions(3000, 8)  # longer than the reference's 2500-frame table
    assert table.shape == (3000, 8)
    p, k = 2999, 1
    angle = p / 10000 ** (2 * k / 8)
    assert math.isclose(float(table[p, 2 * k]), math.sin(angle), abs_tol=1e-3)
    assert math.isclose(float(table[p, 2 * k + 1]), math.cos(angle), abs_tol=1e-3)


def test_layer_matches_the_hand_written_formula() -> None:
    torch.manual_seed(0)
    layer = RCALayer(8, CONFIG).eval()
    x, other = torch.randn(1, 5, 8), torch.randn(1, 5, 8)
    out = layer(x, other, torch.zeros(1, 5, dtype=torch.bool))
    mha = layer.attention  # ONE module serves self- and cross-attention
    sa = mha(x, x, x)[0]
    ca = mha(other, x, x)[0]
    h = torch.nn.functional.layer_norm(
        x + 0.5 * sa + 0.5 * ca, (8,), layer.norm1.weight, layer.norm1.bias, 1e-6
    )
    ffn = layer.ffn[3](torch.relu(layer.ffn[0](h)))
    expected = torch.nn.functional.layer_norm(
        h + ffn, (8,), layer.norm2.weight, layer.norm2.bias, 1e-6
    )
    torch.testing.assert_close(out, expected)
    assert sum(isinstance(m, torch.nn.MultiheadAttention) for m in layer.modules()) == 1


def test_fused_is_sum_of_streams_with_positions() -> None:
    torch.manual_seed(0)
    fusion = RCAFusion(8, CONFIG).eval()
    a, v = torch.randn(2, 6, 8), torch.randn(2, 6, 8)
    pe = sinusoidal_positions(6, 8)
    pad = torch.zeros(2, 6, dtype=torch.bool)
    expected = fusion.audio_layer(a + pe, v + pe, pad) + fusion.video_layer(v + pe, a + pe, pad)
    torch.testing.assert_close(fusion(a, v, torch.tensor([6, 6])), expected)


def test_padding_never_changes_valid_frames() -> None:
    torch.manual_seed(0)
    for fusion in (RCAFusion(8, CONFIG).eval(), ConcatFusion(8).eval()):
        a, v = torch.randn(2, 9, 8), torch.randn(2, 9, 8)
        batch = fusion(a, v, torch.tensor([9, 4]))
        alone = fusion(a[1:, :4], v[1:, :4], torch.tensor([4]))
        torch.testing.assert_close(batch[1, :4], alone[0], atol=1e-5, rtol=0)
        assert batch[1, 4:].abs().max() == 0


def test_align_frames_truncates_or_zero_pads() -> None:
    v = torch.ones(1, 250, 3)
    assert align_frames(v, 249).shape == (1, 249, 3)
    padded = align_frames(v, 252)
    assert padded.shape == (1, 252, 3) and padded[0, 250:].abs().max() == 0
