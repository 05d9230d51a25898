"""The real-face benchmark's measures (benchmarks/bench_grid.py) on signals built to know them."""

import numpy as np

from bench_grid import mouth_opening, onset_f1, syllable_onsets_s

SAMPLE_RATE = 16_000


def syllables(onsets_s: list[float], length_s: float = 0.18, duration_s: float = 3.0) -> np.ndarray:
    """Voiced 'syllables': 140 Hz harmonic bursts with a 10 ms attack, in faint noise."""
    rng = np.random.default_rng(0)
    t = np.arange(int(duration_s * SAMPLE_RATE)) / SAMPLE_RATE
    audio = 1e-3 * rng.standard_normal(len(t))
    for onset in onsets_s:
        inside = (t >= onset) & (t < onset + length_s)
        local = t[inside] - onset
        envelope = np.minimum(local / 0.01, 1.0) * np.minimum((length_s - local) / 0.03, 1.0)
        wave = sum(np.sin(2 * np.pi * 140 * k * local) / k for k in range(1, 12))
        audio[inside] += 0.3 * envelope * wave
    return audio.astype(np.float32)


def test_syllable_onsets_are_found_where_the_voiced_bursts_start():
    truth = [0.5, 0.8, 1.1, 1.45, 1.75, 2.2]
    found = syllable_onsets_s(syllables(truth))
    assert len(found) == len(truth)
    assert np.max(np.abs(found - np.asarray(truth))) < 0.03


def test_unvoiced_bursts_are_not_syllables():
    rng = np.random.default_rng(1)
    audio = 1e-3 * rng.standard_normal(3 * SAMPLE_RATE)
    audio[SAMPLE_RATE : SAMPLE_RATE + 3000] += 0.3 * rng.standard_normal(3000)  # a hiss, no pitch
    assert len(syllable_onsets_s(audio.astype(np.float32))) == 0


def test_mouth_opening_is_the_inner_lip_gap_over_the_eye_distance():
    points = np.zeros((2, 468, 2))
    points[:, 33] = [100.0, 100.0]
    points[:, 263] = [200.0, 100.0]
    points[:, 13] = [150.0, 180.0]
    points[:, 14] = [[150.0, 180.0], [150.0, 190.0]]
    assert np.allclose(mouth_opening(points), [0.0, 0.1])


def test_onset_f1_at_100_ms():
    assert onset_f1(np.array([1.0, 2.0]), np.array([1.09, 2.5])) == 0.5
    assert onset_f1(np.array([]), np.array([])) == 1.0
    assert onset_f1(np.array([1.0]), np.array([])) == 0.0
