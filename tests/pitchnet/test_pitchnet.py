"""The pitch network's parts, against answers known by construction.

Oracles: tones and sung vocals whose frequency is known because we synthesised them; YIN
(:mod:`avsvt.f0`, an independent method) for the f0 labels of generated songs; a single pass
over a whole recording for the windowed inference; an uninterrupted training run for a resumed one.
"""

import numpy as np
import pytest
import torch

from avsvt.errors import CheckpointError
from avsvt.f0 import yin
from avsvt.f0notes import F0NoteSettings
from avsvt.models.checkpoint import load_training_state
from avsvt.notes import hz_to_midi_array
from avsvt.pitchnet.data import draw_batch, render_stems, salience_target
from avsvt.pitchnet.features import HarmonicSpectrogram, SpectrogramConfig, n_frames
from avsvt.pitchnet.model import PitchNet, decode_f0
from avsvt.pitchnet.track import PitchNetTracker, load_pitchnet, save_pitchnet
from avsvt.pitchnet.train import (
    BN_BATCHES,
    PitchTrainConfig,
    WeightAverage,
    build_pool,
    recompute_batch_norm,
    train_steps,
)
from tiny_pitchnet import TINY_NET

SR = 16_000
SPEC = SpectrogramConfig()


@pytest.mark.parametrize("sine_hz", [300.0, 523.0, 1200.0, 2500.0])
def test_channel_h_reads_a_sine_at_h_times_the_bin_s_pitch(sine_hz: float) -> None:
    """A sine at F peaks channel h at the bin of F / h (within half an FFT bin of F)."""
    t = np.arange(SR) / SR
    sine = (0.1 * np.sin(2 * np.pi * sine_hz * t)).astype(np.float32)
    features = HarmonicSpectrogram(SPEC)(torch.from_numpy(sine)[None])[0]
    middle = features[:, features.shape[1] // 2].numpy()  # (harmonics, bins)
    half_bin_hz = SR / SPEC.n_fft / 2
    checked = 0
    for channel, h in enumerate(SPEC.harmonics):
        pitch = float(hz_to_midi_array(sine_hz / h))
        expected = (pitch - SPEC.lowest_midi) * SPEC.bins_per_semitone
        if not 2 <= expected <= SPEC.n_bins - 3:
            continue
        tolerance = max(1.0, 36 * np.log2(1 + half_bin_hz / sine_hz) + 0.5)
        assert abs(int(middle[channel].argmax()) - expected) <= tolerance, (h, tolerance)
        checked += 1
    assert checked >= 3


@pytest.mark.parametrize("f0_hz", [82.0, 110.0, 196.0, 330.0])
def test_periodicity_peaks_at_the_period_of_a_voice_without_its_fundamental(f0_hz: float) -> None:
    """Partials 3..11 of f0 only: the periodicity channel is near 1 at f0's bin, none at noise."""
    config = SpectrogramConfig(periodicity=True)
    t = np.arange(SR) / SR
    tone = sum(np.sin(2 * np.pi * f0_hz * k * t + k) / k for k in range(3, 12))
    x = torch.from_numpy((0.1 * tone).astype(np.float32))[None]
    features = HarmonicSpectrogram(config)(x)[0]
    assert features.shape[0] == config.n_channels == len(config.harmonics) + 1
    periodicity = features[-1, 50].numpy()
    bins = config.bin_midi()
    at_f0 = periodicity[np.abs(bins - float(hz_to_midi_array(f0_hz))).argmin()]
    assert at_f0 > 0.75
    # between the period and its double (no multiple of the period there) it is low
    between = (bins > float(hz_to_midi_array(f0_hz)) - 10) & (
        bins < float(hz_to_midi_array(f0_hz)) - 2
    )
    assert periodicity[between].max() < 0.5 * at_f0
    # the harmonic channels are unchanged by the extra one
    torch.testing.assert_close(features[:-1], HarmonicSpectrogram(SPEC)(x)[0])
    noise = np.random.default_rng(0).standard_normal(SR).astype(np.float32)
    noisy = HarmonicSpectrogram(config)(torch.from_numpy(0.1 * noise)[None])[0, -1]
    assert float(noisy.abs().max()) < 0.25


def test_frames_are_centred_every_10_ms() -> None:
    x = np.zeros(SR, dtype=np.float32)
    x[8000] = 1.0  # a click at 0.5 s
    features = HarmonicSpectrogram(SPEC)(torch.from_numpy(x)[None])[0, 1].sum(dim=1).numpy()
    assert len(features) == n_frames(SR) == 101
    assert int(features.argmax()) == 50


def test_salience_target_peaks_on_the_sung_pitch_and_is_empty_when_silent() -> None:
    f0 = np.array([50.0, 61.5, 0.0])
    voiced = np.array([True, True, False])
    target = salience_target(f0, voiced, SPEC)
    bins = SPEC.bin_midi()
    assert bins[target[0].argmax()] == pytest.approx(50.0)
    assert abs(bins[target[1].argmax()] - 61.5) <= 1 / 6 + 1e-9
    assert target[0].max() == pytest.approx(1.0)
    assert not target[2].any()


def test_decode_reads_a_fractional_pitch_and_applies_the_voicing_threshold() -> None:
    bins = SPEC.bin_midi()
    pitches = np.array([45.1, 60.0, 72.8, 55.0])
    salience = np.exp(-0.5 * ((bins[None] - pitches[:, None]) / 0.33) ** 2)
    voicing = np.array([0.9, 0.6, 0.51, 0.2])
    track = decode_f0(salience, voicing, SPEC, threshold=0.55)
    midi = hz_to_midi_array(track.f0_hz)
    assert np.allclose(midi[:2], pitches[:2], atol=0.05)
    assert np.isnan(midi[2:]).all()
    assert track.fps == 100.0


@pytest.mark.parametrize("timbre", [False, True])
def test_generated_f0_labels_agree_with_yin_on_the_clean_vocals(timbre: bool) -> None:
    stems = render_stems(seed=3, duration_s=6.0, timbre=timbre)
    track = yin(stems.vocals, max_aperiodicity=0.15)
    n = min(len(track.f0_hz), len(stems.f0_midi))
    both = stems.voiced[:n] & (track.f0_hz[:n] > 0)
    assert both.sum() > 100
    error = np.abs(hz_to_midi_array(track.f0_hz[:n][both]) - stems.f0_midi[:n][both])
    assert np.median(error) < 0.2
    assert np.mean(error < 0.5) > 0.9
    # voicing labels lie inside the planned notes
    times = np.flatnonzero(stems.voiced) / 100
    inside = [
        (stems.notes[:, 0] - 0.011 <= t).any()
        and ((stems.notes[:, 0] - 0.011 <= t) & (t <= stems.notes[:, 1] + 0.011)).any()
        for t in times
    ]
    assert all(inside)


def test_batches_are_drawn_from_their_seed_alone() -> None:
    pool = [render_stems(seed=s, duration_s=3.0) for s in (1, 2)]
    a = draw_batch(pool, (0, 5), 2, SR, SPEC)
    b = draw_batch(pool, (0, 5), 2, SR, SPEC)
    c = draw_batch(pool, (0, 6), 2, SR, SPEC)
    assert a.audio.tobytes() == b.audio.tobytes()
    assert a.salience.tobytes() == b.salience.tobytes()
    assert a.audio.tobytes() != c.audio.tobytes()
    assert a.salience.shape == (2, n_frames(SR), SPEC.n_bins)


def test_windowed_inference_equals_one_pass() -> None:
    torch.manual_seed(0)
    model = PitchNet(TINY_NET).eval()
    tracker = PitchNetTracker(model, F0NoteSettings())
    audio = np.random.default_rng(0).standard_normal(5 * SR).astype(np.float32) * 0.1
    whole_s, whole_v = tracker.probabilities(audio, window_s=60.0)
    part_s, part_v = tracker.probabilities(audio, window_s=1.3, context_s=0.6)
    assert np.allclose(whole_s, part_s, atol=1e-5)
    assert np.allclose(whole_v, part_v, atol=1e-5)


def test_model_file_round_trip_and_damage(tmp_path) -> None:
    torch.manual_seed(1)
    model = PitchNet(TINY_NET).eval()
    settings = F0NoteSettings(max_aperiodicity=0.4, min_note_s=0.1)
    save_pitchnet(tmp_path / "m.safetensors", model, settings, {"note": "test"})
    loaded = load_pitchnet(tmp_path / "m.safetensors")
    assert loaded.settings == settings and loaded.info == {"note": "test"}
    x = torch.randn(1, SR) * 0.1
    with torch.no_grad():
        assert torch.equal(model(x)[0], loaded.model(x)[0])
    data = (tmp_path / "m.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="cannot read pitch model"):
        load_pitchnet(tmp_path / "cut.safetensors")


@pytest.mark.parametrize(("ema_decay", "ema_start"), [(0.0, 0.0), (0.9, 0.0), (0.8, 0.5)])
def test_a_resumed_training_makes_the_same_steps(
    tmp_path, ema_decay: float, ema_start: float
) -> None:
    config = PitchTrainConfig(
        ema_decay=ema_decay,
        ema_start=ema_start,
        n_songs=2,
        n_valid_songs=1,
        song_s=3.0,
        steps=6,
        batch_size=2,
        crop_s=1.0,
        checkpoint_every=2,
        warmup_steps=1,
        workers=1,
        model=TINY_NET,
    )
    pool = build_pool(
        tmp_path / "stems", config.train_seeds(), config.song_s, workers=1, progress=False
    )

    def fresh() -> PitchNet:
        torch.manual_seed(config.seed)
        return PitchNet(TINY_NET)

    straight = fresh()
    train_steps(straight, pool, config, tmp_path / "a", progress=False)
    (tmp_path / "b").mkdir()
    crashed = fresh()
    train_steps(crashed, pool, config, tmp_path / "b", progress=False, stop_after_steps=3)
    resumed = fresh()  # a new process: the weights come from last.pt (step 2)
    train_steps(resumed, pool, config, tmp_path / "b", progress=False)
    for (name, a), b in zip(
        straight.state_dict().items(), resumed.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), name
    if ema_decay:  # the kept model is the average, not the last step's weights
        last = load_training_state(tmp_path / "a" / "last.pt")["model"]
        assert not torch.equal(last["salience.weight"], straight.state_dict()["salience.weight"])


def test_weight_average_is_the_exponential_moving_average() -> None:
    """Two steps by hand: avg = d * (d * w0 + (1 - d) * w1) + (1 - d) * w2; counters copied."""
    model = torch.nn.BatchNorm1d(3)
    w = [
        torch.tensor([1.0, 2.0, 3.0]),
        torch.tensor([3.0, 0.0, 1.0]),
        torch.tensor([0.0, 4.0, 2.0]),
    ]
    with torch.no_grad():
        model.weight.copy_(w[0])
    average = WeightAverage(model, 0.75)
    for step, weight in enumerate(w[1:], start=1):
        with torch.no_grad():
            model.weight.copy_(weight)
            model.num_batches_tracked.fill_(step)
        average.update(model)
    expected = 0.75 * (0.75 * w[0] + 0.25 * w[1]) + 0.25 * w[2]
    torch.testing.assert_close(average.state_dict()["weight"], expected)
    assert int(average.state_dict()["num_batches_tracked"]) == 2
    torch.testing.assert_close(average.state_dict()["bias"], torch.zeros(3))


def test_batch_norm_is_re_estimated_on_fresh_batches() -> None:
    """The first batch-norm layer normalises the features: its re-estimated running mean is the
    plain mean of the per-batch feature means over BN_BATCHES batches of seeds (seed, steps + k)."""
    config = PitchTrainConfig(steps=3, batch_size=2, crop_s=0.5, model=TINY_NET)
    pool = [render_stems(seed=s, duration_s=3.0) for s in (1, 2)]
    torch.manual_seed(0)
    model = PitchNet(TINY_NET).eval()
    crop = int(config.crop_s * SR)
    first = model.body[0]
    with torch.no_grad():
        first.running_mean.fill_(123.0)
    recompute_batch_norm(model, pool, config, crop)
    assert not model.training and first.momentum == 0.1
    means = []
    for k in range(BN_BATCHES):
        batch = draw_batch(pool, (config.seed, config.steps + k), 2, crop, TINY_NET.spectrogram)
        features = model.features(torch.from_numpy(batch.audio))
        means.append(features.mean(dim=(0, 2, 3)))
    torch.testing.assert_close(first.running_mean, torch.stack(means).mean(0), atol=1e-4, rtol=1e-4)
