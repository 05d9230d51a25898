import dataclasses
import math

import numpy as np
import pytest

from avsvt.augment import (
    ChainPlan,
    ChainSettings,
    ClipParams,
    CompressorParams,
    EqBand,
    HissParams,
    QuantiseParams,
    RoomParams,
    add_hiss,
    apply_chain,
    apply_eq,
    apply_room,
    bandlimit,
    clip_peaks,
    compress,
    draw_chain,
    pink_noise,
    quantise,
    recording_chain,
    room_impulse_response,
)

SR = 16_000
PROBABILITIES = [
    f.name for f in dataclasses.fields(ChainSettings) if f.name.endswith("_probability")
]
ALL_ON = dataclasses.replace(ChainSettings(), **{name: 1.0 for name in PROBABILITIES})
ALL_OFF = dataclasses.replace(ChainSettings(), **{name: 0.0 for name in PROBABILITIES})


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.asarray(x, dtype=np.float64) ** 2)))


def _db(ratio: float) -> float:
    return 20.0 * math.log10(ratio)


def _band_power(x: np.ndarray, low_hz: float, high_hz: float) -> float:
    """Mean power per FFT bin in [low_hz, high_hz)."""
    # a Hann window, so that the clip's edges do not leak across the spectrum
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1.0 / SR)
    return float(spectrum[(freqs >= low_hz) & (freqs < high_hz)].mean())


def _sine(freq_hz: float, seconds: float = 1.0, amplitude: float = 0.5) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * freq_hz * np.arange(int(seconds * SR)) / SR)


def _lag_of_peak(reference: np.ndarray, output: np.ndarray, max_lag: int = 800) -> int:
    """The lag (output behind reference, in samples) of the largest |cross-correlation|."""
    n = len(reference)
    size = 1 << (2 * n - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(output, size) * np.conj(np.fft.rfft(reference, size)), size)
    lags = np.arange(-max_lag, max_lag + 1)
    return int(lags[np.argmax(np.abs(corr[lags]))])


def _voice_like(seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    tone = sum(np.sin(2 * np.pi * 220 * k * t) / k for k in range(1, 8))
    return (
        0.2 * tone * (1 + 0.5 * np.sin(2 * np.pi * 2 * t)) + 0.02 * rng.standard_normal(len(t))
    ).astype(np.float32)


# --- the chain -----------------------------------------------------------------------------------


@pytest.mark.parametrize("settings", [ChainSettings(), ALL_ON], ids=["default", "all-on"])
def test_same_seed_same_bytes(settings):
    x = _voice_like()
    a = recording_chain(x, np.random.default_rng(7), settings)
    b = recording_chain(x, np.random.default_rng(7), settings)
    assert a.tobytes() == b.tobytes()


def test_different_seed_different_output():
    x = _voice_like()
    outputs = {
        recording_chain(x, np.random.default_rng(seed), ALL_ON).tobytes() for seed in range(5)
    }
    assert len(outputs) == 5


def test_input_is_not_changed():
    x = _voice_like()
    before = x.copy()
    recording_chain(x, np.random.default_rng(0), ALL_ON)
    assert np.array_equal(x, before)


def test_all_off_is_identity():
    x = _voice_like()
    assert np.array_equal(recording_chain(x, np.random.default_rng(0), ALL_OFF), x)


@pytest.mark.parametrize("n", [0, 1, 2, 10, 37, 1000])
@pytest.mark.parametrize("kind", ["zeros", "noise", "loud"])
def test_length_dtype_finite(n, kind):
    rng = np.random.default_rng(n)
    x = {
        "zeros": np.zeros(n),
        "noise": 0.1 * rng.standard_normal(n),
        "loud": 50 * rng.standard_normal(n),
    }
    for seed in range(10):
        for settings in (ChainSettings(), ALL_ON):
            y = recording_chain(x[kind], np.random.default_rng(seed), settings)
            assert y.shape == (n,)
            assert y.dtype == np.float32
            assert np.all(np.isfinite(y))
            assert np.all(np.abs(y) <= 1.0)
            if kind == "zeros":
                assert not np.any(y)


def test_other_sample_rate():
    x = 0.3 * np.random.default_rng(0).standard_normal(44_100)
    for seed in range(5):
        y = recording_chain(x, np.random.default_rng(seed), ALL_ON, sample_rate=44_100)
        assert y.shape == x.shape and np.all(np.isfinite(y))


def test_rejects_non_mono():
    with pytest.raises(ValueError, match="mono"):
        recording_chain(np.zeros((2, 100)), np.random.default_rng(0))


@pytest.mark.parametrize("settings", [ChainSettings(), ALL_ON], ids=["default", "all-on"])
def test_chain_never_shifts_a_click_train(settings):
    # clicks every 120 ms, with random polarity (so that the train is not periodic in its sign)
    # and random levels over 34 dB (so that clipping relative to the peak, which flattens the
    # loudest clicks and their strongest reflections to one level, leaves the quieter ones whole)
    rng = np.random.default_rng(1)
    x = np.zeros(3 * SR)
    positions = np.arange(400, len(x) - 400, int(0.12 * SR))
    levels = np.exp(rng.uniform(math.log(0.01), math.log(0.5), len(positions)))
    x[positions] = levels * rng.choice([-1.0, 1.0], len(positions))
    for seed in range(40):
        y = recording_chain(x, np.random.default_rng(seed), settings)
        assert abs(_lag_of_peak(x, y)) <= 16, draw_chain(np.random.default_rng(seed), settings)


def _onset_strength(x: np.ndarray, hop: int = SR // 100) -> np.ndarray:
    """The rise of the 10 ms frame RMS (the labels' frame rate), half-wave rectified."""
    n = len(x) // hop
    levels = np.sqrt(
        np.mean(np.asarray(x[: n * hop], dtype=np.float64).reshape(n, hop) ** 2, axis=1)
    )
    return np.maximum(0.0, np.diff(levels))


def test_chain_keeps_note_onsets_on_their_frames():
    # harmonic "notes" separated by silences of random length: the output's onsets must line up
    # best with the input's at lag 0 frames. (A periodic waveform's own cross-correlation is
    # ambiguous by a period, and IIR filters rotate each harmonic's phase; reverberation smears
    # the decays, so the rises are what to compare.)
    rng = np.random.default_rng(2)
    pieces = []
    for _ in range(12):
        t = np.arange(int(rng.uniform(0.1, 0.3) * SR)) / SR
        f0 = rng.uniform(150, 500)
        pieces.append(0.3 * sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6)))
        pieces.append(np.zeros(int(rng.uniform(0.05, 0.25) * SR)))
    x = np.concatenate(pieces)
    reference = _onset_strength(x)
    for seed in range(20):
        onsets = _onset_strength(recording_chain(x, np.random.default_rng(seed), ALL_ON))
        n = len(reference)
        corr = [
            np.dot(reference[max(0, -k) : n - max(0, k)], onsets[max(0, k) : n - max(0, -k)])
            for k in range(-5, 6)
        ]
        assert int(np.argmax(corr)) - 5 == 0


def test_draws_stay_in_range_and_follow_probabilities():
    s = ChainSettings()
    plans = [draw_chain(np.random.default_rng(seed), s) for seed in range(3000)]
    room_share = np.mean([p.room is not None for p in plans])
    hiss_share = np.mean([p.hiss is not None for p in plans])
    clip_share = np.mean([p.clip is not None for p in plans])
    assert abs(room_share - s.room_probability) < 0.04
    assert abs(hiss_share - s.hiss_probability) < 0.04
    assert abs(clip_share - s.clip_probability) < 0.03
    for p in plans:
        if p.highpass_hz is not None:
            assert s.highpass_hz[0] <= p.highpass_hz <= s.highpass_hz[1]
        if p.lowpass_hz is not None:
            assert s.lowpass_hz[0] <= p.lowpass_hz <= s.lowpass_hz[1]
        assert len(p.eq_bands) == 0 or s.eq_bands[0] <= len(p.eq_bands) <= s.eq_bands[1]
        for band in p.eq_bands:
            assert s.eq_gain_db[0] <= band.gain_db <= s.eq_gain_db[1]
            assert s.eq_hz[0] <= band.freq_hz <= s.eq_hz[1]
        if p.room is not None:
            assert s.room_rt60_s[0] <= p.room.rt60_s <= s.room_rt60_s[1]
            assert s.room_wet_db[0] <= p.room.wet_db <= s.room_wet_db[1]
        if p.compressor is not None:
            assert s.compression_ratio[0] <= p.compressor.ratio <= s.compression_ratio[1]
        assert s.gain_db[0] <= p.gain_db <= s.gain_db[1]
        if p.bandlimit_rate_hz is not None:
            assert p.bandlimit_rate_hz in s.bandlimit_rates_hz and p.bandlimit_rate_hz < SR
        if p.quantise is not None:
            assert s.quantise_bits[0] <= p.quantise.bits <= s.quantise_bits[1]
        if p.hiss is not None:
            assert s.hiss_below_rms_db[0] <= p.hiss.below_rms_db <= s.hiss_below_rms_db[1]


def test_one_effects_settings_do_not_change_another_effects_draws():
    a = draw_chain(np.random.default_rng(3), ALL_ON)
    b = draw_chain(np.random.default_rng(3), dataclasses.replace(ALL_ON, eq_probability=0.0))
    assert b.eq_bands == () and a.eq_bands != ()
    assert a.room == b.room and a.hiss == b.hiss and a.compressor == b.compressor


def test_gain_and_final_clip():
    x = _sine(1000.0, amplitude=0.1)
    quiet = apply_chain(x, ChainPlan(gain_db=-20.0))
    assert abs(_db(_rms(quiet) / _rms(x)) + 20.0) < 0.01
    # +26 dB drives the peak to 2: the final clip holds it at 1
    loud = apply_chain(x, ChainPlan(gain_db=26.0))
    assert np.max(np.abs(loud)) == 1.0
    assert np.sum(np.abs(loud) == 1.0) > 0.3 * len(x)
    # no clip where none is needed: the output is the scaled input
    np.testing.assert_allclose(
        apply_chain(x, ChainPlan(gain_db=6.0)), 10 ** (6 / 20) * x, rtol=1e-6, atol=1e-7
    )


def test_a_plan_of_every_effect_runs_as_composed():
    x = _voice_like(1.0)
    plan = ChainPlan(
        highpass_hz=100.0,
        lowpass_hz=4000.0,
        eq_bands=(EqBand("peak", 1000.0, 6.0, 1.0),),
        room=RoomParams(0.4, -6.0, 4, (2.0, 30.0), 5),
        hiss=HissParams(50.0, True, 6),
        compressor=CompressorParams(0.0, 4.0, 5.0, 100.0),
        clip=ClipParams(3.0, False),
        gain_db=-6.0,
        bandlimit_rate_hz=8000,
        quantise=QuantiseParams(8, True),
    )
    y = apply_chain(x, plan)
    assert y.dtype == np.float32 and y.shape == x.shape
    # the bandlimit came after the 4 kHz low-pass: nothing is left above 4.4 kHz but the mu-law
    # quantisation noise, which is far below the voice band
    assert _band_power(y, 4400, 8000) < 1e-3 * _band_power(y, 200, 3000)


@pytest.mark.parametrize(
    "change",
    [
        {"room_probability": 1.5},
        {"hiss_pink_share": -0.1},
        {"gain_db": (6.0, -30.0)},
        {"highpass_hz": (0.0, 100.0)},
        {"compression_ratio": (0.5, 2.0)},
        {"quantise_bits": (1, 8)},
        {"bandlimit_rates_hz": (0,)},
    ],
)
def test_settings_are_checked(change):
    with pytest.raises(ValueError):
        ChainSettings(**change)


# --- microphone / EQ -----------------------------------------------------------------------------


@pytest.mark.parametrize("cutoff_hz", [3500.0, 4500.0, 5300.0])
def test_lowpass_removes_energy_above_cutoff(cutoff_hz):
    x = np.random.default_rng(0).standard_normal(4 * SR)
    y = apply_eq(x, lowpass_hz=cutoff_hz)
    passband = _band_power(y, 100, 0.7 * cutoff_hz)
    assert abs(10 * math.log10(passband / _band_power(x, 100, 0.7 * cutoff_hz))) < 0.5
    # an octave's half above the cutoff, at least 30 dB down
    assert _band_power(y, 1.5 * cutoff_hz, SR / 2) < 1e-3 * passband


def test_lowpass_near_nyquist_leaves_the_band_full():
    x = np.random.default_rng(0).standard_normal(SR)
    assert np.array_equal(apply_eq(x, lowpass_hz=7900.0), x)


def test_highpass_removes_30_hz():
    low = _sine(30.0, seconds=2.0)
    y = apply_eq(low, highpass_hz=150.0)
    assert _db(_rms(y[SR:]) / _rms(low[SR:])) < -25.0
    high = _sine(1000.0, seconds=2.0)
    assert abs(_db(_rms(apply_eq(high, highpass_hz=150.0)[SR:]) / _rms(high[SR:]))) < 0.2


@pytest.mark.parametrize("gain_db", [-10.0, 6.0, 10.0])
def test_peak_band_gain_at_centre_and_far_away(gain_db):
    band = EqBand("peak", 1000.0, gain_db, 1.0)
    for freq, expected in ((1000.0, gain_db), (60.0, 0.0), (7000.0, 0.0)):
        x = _sine(freq, seconds=1.0)
        y = apply_eq(x, bands=[band])
        assert abs(_db(_rms(y[SR // 2 :]) / _rms(x[SR // 2 :])) - expected) < 0.6


@pytest.mark.parametrize("kind", ["low_shelf", "high_shelf"])
def test_shelves_lift_their_side_only(kind):
    band = EqBand(kind, 1000.0, 8.0, 0.7)
    low, high = (8.0, 0.0) if kind == "low_shelf" else (0.0, 8.0)
    for freq, expected in ((50.0, low), (7000.0, high)):
        x = _sine(freq, seconds=1.0)
        y = apply_eq(x, bands=[band])
        assert abs(_db(_rms(y[SR // 2 :]) / _rms(x[SR // 2 :])) - expected) < 0.6


def test_eq_delay_is_under_a_millisecond():
    x = np.random.default_rng(0).standard_normal(2 * SR)
    bands = [EqBand("peak", 300.0, 10.0, 2.0), EqBand("high_shelf", 4000.0, -10.0, 0.7)]
    y = apply_eq(x, highpass_hz=250.0, lowpass_hz=3500.0, bands=bands)
    assert abs(_lag_of_peak(x, y)) <= 16


# --- room ----------------------------------------------------------------------------------------


def test_room_direct_path_is_at_lag_zero():
    x = np.random.default_rng(0).standard_normal(2 * SR)
    for seed in range(10):
        ir = room_impulse_response(
            np.random.default_rng(seed), rt60_s=1.0, wet_db=0.0, n_reflections=8
        )
        assert ir[0] == 1.0 and np.max(np.abs(ir[1:])) < 1.0
        y = apply_room(x, ir)
        assert y.shape == x.shape
        assert abs(_lag_of_peak(x, y)) <= 16


def _decay_time_s(ir: np.ndarray, start: int) -> float:
    """RT60 from Schroeder's backward integral of the tail, fitted from -5 to -25 dB."""
    energy = np.cumsum(ir[start:][::-1] ** 2)[::-1]
    edc_db = 10 * np.log10(energy / energy[0])
    fit = (edc_db <= -5) & (edc_db >= -25)
    slope_db_per_s = np.polyfit(np.flatnonzero(fit) / SR, edc_db[fit], 1)[0]
    return -60.0 / slope_db_per_s


@pytest.mark.parametrize("rt60_s", [0.1, 0.3, 0.6, 1.2])
def test_room_decay_time_matches(rt60_s):
    for seed in range(3):
        ir = room_impulse_response(np.random.default_rng(seed), rt60_s=rt60_s, wet_db=-3.0)
        start = int(0.031 * SR)  # after the last possible early reflection
        assert 0.8 < _decay_time_s(ir, start) / rt60_s < 1.25


def test_chain_room_decay_is_in_the_drawn_range():
    s = dataclasses.replace(ALL_OFF, room_probability=1.0)
    impulse = np.zeros(3 * SR)
    impulse[0] = 1.0
    for seed in range(10):
        room = draw_chain(np.random.default_rng(seed), s).room
        assert room is not None
        response = recording_chain(impulse, np.random.default_rng(seed), s)
        t60 = _decay_time_s(response.astype(np.float64), int(0.031 * SR))
        assert s.room_rt60_s[0] / 1.25 < t60 < s.room_rt60_s[1] * 1.25
        assert 0.8 < t60 / room.rt60_s < 1.25


@pytest.mark.parametrize("wet_db", [-18.0, -6.0, 0.0, 6.0])
@pytest.mark.parametrize("n_reflections", [0, 1, 4])
def test_room_wet_level(wet_db, n_reflections):
    for seed in range(5):
        ir = room_impulse_response(
            np.random.default_rng(seed), rt60_s=0.5, wet_db=wet_db, n_reflections=n_reflections
        )
        assert abs(10 * math.log10(np.sum(ir[1:] ** 2)) - wet_db) < 0.1
        # however wet, no single reflection comes near the direct path
        early = ir[1 : int(0.031 * SR)]
        assert np.max(np.abs(early)) <= 0.8 + 1e-12


# --- dynamics ------------------------------------------------------------------------------------


def test_compression_narrows_loud_and_quiet_halves():
    loud = _sine(1000.0, seconds=1.0, amplitude=0.5)
    quiet = _sine(1000.0, seconds=1.0, amplitude=0.05)
    x = np.concatenate([loud, quiet])
    y = compress(x, threshold_db=0.0, ratio=4.0, attack_ms=5.0, release_ms=50.0)
    before = _db(_rms(x[2000:SR]) / _rms(x[SR + 2000 :]))
    after = _db(_rms(y[2000:SR]) / _rms(y[SR + 2000 :]))
    assert abs(before - 20.0) < 0.01
    # the whole signal's RMS is -12 dBFS, the threshold; the loud half's peak at -6 dBFS is
    # 6 dB above it and comes down by 6 (1 - 1/4) = 4.5 dB; the quiet half is below it
    assert 14.5 < after < 16.5
    # the make-up gain restores the RMS
    assert abs(_db(_rms(y) / _rms(x))) < 0.01


def test_compression_lowers_the_crest_factor():
    # loud 25 ms bursts, 14 dB over a tone that carries most of the energy; the 99th percentile
    # of |x| stands for the peak, so that the overshoot in each burst's first millisecond (the
    # attack) does not count
    t = np.arange(2 * SR) / SR
    burst = (t % 0.5) < 0.025
    x = np.sin(2 * np.pi * 1000 * t) * np.where(burst, 0.5, 0.1)
    y = compress(x, threshold_db=0.0, ratio=4.0, attack_ms=1.0, release_ms=50.0)

    def crest_db(z: np.ndarray) -> float:
        return _db(np.percentile(np.abs(z), 99) / _rms(z))

    assert crest_db(y) < crest_db(x) - 3.0


def test_compression_below_threshold_is_transparent():
    x = _sine(440.0, seconds=1.0)
    y = compress(x, threshold_db=6.0, ratio=8.0, attack_ms=1.0, release_ms=100.0)
    np.testing.assert_allclose(y, x, atol=1e-9)


def test_compression_attack_and_release_take_time():
    # a quiet-loud-quiet burst: slower attack lets more of the burst's start through
    x = np.concatenate(
        [_sine(1000.0, 0.5, 0.02), _sine(1000.0, 0.5, 0.5), _sine(1000.0, 0.5, 0.02)]
    )
    start = SR // 2
    head = slice(start, start + int(0.003 * SR))
    fast = compress(x, threshold_db=-6.0, ratio=8.0, attack_ms=1.0, release_ms=100.0)
    slow = compress(x, threshold_db=-6.0, ratio=8.0, attack_ms=30.0, release_ms=100.0)
    body = slice(start + SR // 4, start + SR // 2)
    assert _rms(slow[head]) / _rms(slow[body]) > 1.5 * _rms(fast[head]) / _rms(fast[body])


@pytest.mark.parametrize("hard", [True, False])
def test_clipping_caps_the_peak(hard):
    x = _sine(300.0, seconds=0.5, amplitude=0.8)
    y = clip_peaks(x, drive_db=6.0, hard=hard)
    level = 0.8 / 10 ** (6 / 20)
    assert np.max(np.abs(y)) <= level + 1e-12
    if hard:
        assert np.max(np.abs(y)) == pytest.approx(level)
        assert np.mean(np.abs(y) == np.max(np.abs(y))) > 0.3
    # small samples pass almost unchanged
    small = np.abs(x) < 0.05
    np.testing.assert_allclose(y[small], x[small], atol=1e-3)


# --- codec ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("rate_hz", [8000, 11025, 12000])
@pytest.mark.parametrize("n", [SR, SR + 7])
def test_bandlimit_leaves_no_energy_above_new_nyquist(rate_hz, n):
    x = np.random.default_rng(rate_hz).standard_normal(n)
    y = bandlimit(x, rate_hz=rate_hz)
    assert y.shape == x.shape
    nyquist = rate_hz / 2
    kept = _band_power(y, 100, 0.8 * nyquist)
    assert abs(10 * math.log10(kept / _band_power(x, 100, 0.8 * nyquist))) < 0.5
    assert _band_power(y, nyquist, SR / 2) < 1e-5 * kept
    assert abs(_lag_of_peak(x, y)) <= 1


def test_bandlimit_at_or_above_the_rate_is_identity():
    x = np.random.default_rng(0).standard_normal(1000)
    assert np.array_equal(bandlimit(x, rate_hz=22_050), x)


@pytest.mark.parametrize("bits", [3, 4, 8, 10])
@pytest.mark.parametrize("mu_law", [False, True])
def test_quantise_has_at_most_2_to_the_bits_levels(bits, mu_law):
    x = np.random.default_rng(bits).uniform(-1.5, 1.5, 50_000)
    y = quantise(x, bits, mu_law=mu_law)
    assert len(np.unique(y)) <= 2**bits
    assert np.max(np.abs(y)) <= 1.0
    if not mu_law:
        inside = np.abs(x) < 1.0 - 2.0 / 2**bits
        assert np.max(np.abs(y[inside] - x[inside])) <= 1.0 / 2**bits + 1e-12


def test_quantise_full_scale():
    x = np.random.default_rng(0).uniform(-0.01, 0.01, 10_000)
    y = quantise(x, 6, full_scale=0.01)
    assert len(np.unique(y)) <= 64 and len(np.unique(y)) > 50
    # half a step (the step is 2 full_scale / 2^bits), below the top level
    inside = np.abs(x) < 0.01 * (1 - 2 / 64)
    assert np.max(np.abs(y[inside] - x[inside])) <= 0.01 / 64 + 1e-12


def test_chain_quantises_a_quiet_clip_without_silencing_it():
    # a -60 dBFS clip: quantised on the absolute full scale, 8 bits would leave nothing
    x = 0.001 * _voice_like(1.0).astype(np.float64) / 0.3
    for bits in (8, 12):
        y = apply_chain(x, ChainPlan(quantise=QuantiseParams(bits, False), gain_db=-20.0))
        assert np.corrcoef(x, y)[0, 1] > 0.95
        assert abs(_db(_rms(y) / _rms(x)) + 20.0) < 0.5


def test_mu_law_keeps_quiet_signals_finer_than_linear():
    x = _sine(440.0, amplitude=0.01)
    linear = _rms(quantise(x, 8) - x)
    mu = _rms(quantise(x, 8, mu_law=True) - x)
    assert mu < 0.3 * linear


# --- noise ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("below_db", [40.0, 55.0, 70.0])
@pytest.mark.parametrize("pink", [False, True])
def test_hiss_level(below_db, pink):
    x = _voice_like(1.0).astype(np.float64)
    y = add_hiss(x, np.random.default_rng(0), below_rms_db=below_db, pink=pink)
    assert abs(_db(_rms(y - x) / _rms(x)) + below_db) < 1.0


def test_hiss_on_silence_is_silence():
    assert not np.any(add_hiss(np.zeros(100), np.random.default_rng(0), below_rms_db=40.0))


def test_pink_noise_has_equal_power_per_octave():
    noise = pink_noise(8 * SR, np.random.default_rng(0))
    # total power in an octave: mean per bin times the octave's width
    low = _band_power(noise, 250, 500) * 250
    high = _band_power(noise, 4000, 8000) * 4000
    assert abs(10 * math.log10(high / low)) < 1.5
    white = np.random.default_rng(0).standard_normal(8 * SR)
    assert (
        10
        * math.log10(_band_power(white, 4000, 8000) * 4000 / (_band_power(white, 250, 500) * 250))
        > 10
    )
