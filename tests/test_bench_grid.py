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


def test_fit_crops_cuts_or_pads_with_the_no_face_grey():
    from avsvt.lips.pipeline import MISSING_GREY
    from bench_grid import fit_crops

    crops = np.zeros((60, 4, 4), dtype=np.uint8)
    assert fit_crops(crops, SAMPLE_RATE).shape == (50, 4, 4)  # 1 s of audio: 50 frames
    padded = fit_crops(crops, 2 * SAMPLE_RATE)
    assert padded.shape == (100, 4, 4)
    assert (padded[:60] == 0).all() and (padded[60:] == MISSING_GREY).all()


def test_a_variant_is_refilmed_at_its_frame_rate_and_size(tmp_path):
    from avsvt.lips import iter_video_frames
    from avsvt.synth.codec import write_h264
    from bench_grid_variants import VARIANTS, write_variant

    # a 2 s, 25 fps source whose brightness counts the frames
    frames = np.repeat(np.arange(50, dtype=np.uint8)[:, None, None, None] * 5, 3, axis=3)
    frames = np.broadcast_to(frames, (50, 48, 64, 3)).copy()
    source = tmp_path / "source.mp4"
    write_h264(frames, 25.0, 0, source, container="mp4")
    for name, size, n_frames in (("30 fps", (48, 64), 60), ("half size", (24, 32), 50)):
        change, fps, _ = VARIANTS[name]
        out = tmp_path / f"{name}.mp4"
        write_variant(source, out, change, fps, 0)  # lossless, so frames can be told apart
        decoded, times_s = zip(*iter_video_frames(out), strict=True)
        assert len(decoded) == n_frames and decoded[0].shape[:2] == size
        assert np.allclose(np.diff(times_s), 1.0 / fps, atol=1e-3)
        # each frame shows the source frame nearest in time (told apart by brightness)
        source_means = np.array([f.mean() for f, _ in iter_video_frames(source)])
        shown = [np.abs(source_means - f.mean()).argmin() for f in decoded]
        assert np.abs(np.asarray(shown) - np.asarray(times_s) * 25.0).max() <= 0.5 + 1e-6


def test_found_matches_each_estimate_to_at_most_one_reference_onset():
    from bench_grid import found

    reference = np.array([1.0, 1.05, 2.0, 3.0])
    hits = found(reference, np.array([1.02, 2.09, 3.2]))
    assert hits.sum() == 2  # 1.02 serves one of 1.0 / 1.05; 2.09 is within 100 ms; 3.2 is not
    assert hits[2] and not hits[3] and hits[:2].sum() == 1
    assert not found(reference, np.array([])).any()
