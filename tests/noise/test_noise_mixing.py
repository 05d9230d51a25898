import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avsvt.noise.mixing import mean_abs, measured_snr_db, mix, mix_gains, noise_fraction, rms


def _signals(seed: int, n: int = 16_000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 16_000
    clean = 0.3 * np.sin(2 * np.pi * 220 * t) * (rng.random(n) < 0.999)
    noise = rng.standard_normal(n) * (1 + np.sin(2 * np.pi * 3 * t))
    return clean, noise


def test_reference_rule_by_hand():
    # A(s) = 1, A(n) = 2; 0 dB: f = 1/2, so mixture = s/2 + (1/2)(1/2) n = s/2 + n/4.
    s = np.array([1.0, -1.0, 1.0, -1.0])
    n = np.array([2.0, 2.0, -2.0, -2.0])
    np.testing.assert_allclose(mix(s, n, 0.0), [1.0, 0.0, 0.0, -1.0], atol=1e-13)


def test_rms_rule_by_hand():
    # rms(s) = 1, rms(n) = 2; 20 dB: noise scaled to 0.1 / 2.
    s = np.array([1.0, -1.0, 1.0, -1.0])
    n = np.array([2.0, 2.0, -2.0, -2.0])
    np.testing.assert_allclose(mix(s, n, 20.0, "rms"), s + 0.05 * n, atol=1e-15)


@pytest.mark.parametrize("rule", ["reference", "rms"])
@pytest.mark.parametrize("snr_db", [-100, -20, -10, -5, 0, 5, 10, 20, 100])
def test_measured_snr_matches_target(rule, snr_db):
    clean, noise = _signals(snr_db + 200)
    mixture = mix(clean, noise, snr_db, rule)
    assert abs(measured_snr_db(clean, mixture, rule) - snr_db) < 1e-6
    # float32 storage, as written to disk, stays well within 0.05 dB
    stored = mixture.astype(np.float32)
    assert abs(measured_snr_db(clean, stored, rule) - snr_db) < 0.05


@settings(max_examples=40, deadline=None)
@given(
    snr_db=st.floats(-40, 40),
    seed=st.integers(0, 2**32 - 1),
    rule=st.sampled_from(["reference", "rms"]),
)
def test_measured_snr_matches_target_for_any_signals(snr_db, seed, rule):
    rng = np.random.default_rng(seed)
    clean = rng.standard_normal(2000) * rng.uniform(1e-3, 1)
    noise = rng.laplace(size=2000) * rng.uniform(1e-3, 10)
    mixture = mix(clean, noise, snr_db, rule)
    assert abs(measured_snr_db(clean, mixture, rule) - snr_db) < 1e-6


def test_zero_db_gives_equal_measures():
    clean, noise = _signals(1)
    g_s, g_n = mix_gains(clean, noise, 0.0, "reference")
    assert mean_abs(g_s * clean) == pytest.approx(mean_abs(g_n * noise), rel=1e-12)
    g_s, g_n = mix_gains(clean, noise, 0.0, "rms")
    assert g_s == 1.0
    assert rms(g_s * clean) == pytest.approx(rms(g_n * noise), rel=1e-12)


def test_reference_rule_keeps_the_vocal_level_split():
    clean, noise = _signals(2)
    for snr_db in (-10, 0, 10):
        g_s, g_n = mix_gains(clean, noise, snr_db, "reference")
        f = noise_fraction(snr_db)
        assert g_s == pytest.approx(1 - f)
        assert mean_abs(g_n * noise) == pytest.approx(f * mean_abs(clean), rel=1e-12)
        assert mean_abs(g_s * clean) + mean_abs(g_n * noise) == pytest.approx(mean_abs(clean))


def test_limits():
    clean, noise = _signals(3)
    # +100 dB: the mixture is the vocals (attenuated by 1e-5 at most)
    np.testing.assert_allclose(mix(clean, noise, 100), clean, atol=1e-4 * np.abs(clean).max())
    np.testing.assert_allclose(mix(clean, noise, 100, "rms"), clean, atol=1e-4 * rms(clean))
    # -100 dB: the mixture is the noise at the vocals' level (reference) / 1e5 x louder (rms)
    scaled = noise * mean_abs(clean) / mean_abs(noise)
    np.testing.assert_allclose(mix(clean, noise, -100), scaled, atol=1e-4 * np.abs(scaled).max())
    assert rms(mix(clean, noise, -100, "rms")) == pytest.approx(1e5 * rms(clean), rel=1e-6)


def test_rms_rule_leaves_the_vocals_untouched():
    clean, noise = _signals(4)
    mixture = mix(clean, noise, 5.0, "rms")
    residual = mixture - clean
    np.testing.assert_allclose(residual, noise * rms(clean) / rms(noise) / 10**0.25, rtol=1e-6)


def test_edge_cases():
    clean, noise = _signals(5)
    assert measured_snr_db(clean, clean, "rms") == math.inf
    assert measured_snr_db(clean, clean, "reference") == math.inf
    silent_noise = mix(clean, np.zeros_like(noise), 0.0)
    assert np.isfinite(silent_noise).all()
    with pytest.raises(ValueError, match="silent"):
        measured_snr_db(np.zeros(10), np.ones(10))
    with pytest.raises(ValueError, match="equal"):
        mix(clean, noise[:-1], 0.0)
    with pytest.raises(ValueError, match="rule"):
        mix(clean, noise, 0.0, "loud")  # type: ignore[arg-type]
