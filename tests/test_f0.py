import numpy as np
import pytest

from avsvt.f0 import F0Track, yin
from avsvt.notes import Note, hz_to_midi, hz_to_midi_array
from avsvt.testing import synth_vocal


@pytest.mark.parametrize("f0_hz", [70.0, 110.0, 220.0, 441.3, 880.0])
def test_steady_harmonic_tone_is_tracked_within_5_cents(f0_hz):
    t = np.arange(16000) / 16000
    tone = sum(np.sin(2 * np.pi * f0_hz * k * t) / k for k in range(1, 6))
    track = yin(tone.astype(np.float32))
    inner = track.f0_hz[10:-10]
    assert (inner > 0).all()
    cents = 1200 * np.abs(np.log2(inner / f0_hz))
    assert cents.max() < 5


def test_silence_and_noise_are_unvoiced_and_frames_are_at_100_fps():
    rng = np.random.default_rng(0)
    audio = np.concatenate([np.zeros(8000), 0.3 * rng.standard_normal(8000)]).astype(np.float32)
    track = yin(audio)
    assert len(track.f0_hz) == 1 + 16000 // 160 and track.fps == 100.0
    assert not track.voiced[5:45].any()
    assert track.voiced[55:95].mean() < 0.2


def test_melody_frames_follow_the_notes():
    notes = [Note(0.1, 0.6, 48), Note(0.7, 1.2, 67.5), Note(1.3, 1.8, 81)]
    track = yin(synth_vocal(notes, 32000))
    midi = track.midi()
    for note in notes:
        frames = midi[int(note.onset_s * 100) + 3 : int(note.offset_s * 100) - 3]
        assert np.nanmax(np.abs(frames - note.pitch_midi)) < 0.1
    assert hz_to_midi(440.0) == 69.0


def test_hz_to_midi_array_known_values_and_unvoiced_frames():
    hz = np.array([440.0, 880.0, 220.0, 0.0, -3.0, np.nan, 261.6255653005986])
    midi = hz_to_midi_array(hz)
    np.testing.assert_allclose(midi[[0, 1, 2, 6]], [69.0, 81.0, 57.0, 60.0], rtol=0, atol=1e-12)
    assert np.isnan(midi[3:6]).all()  # no f0: 0, negative or NaN
    zero_filled = hz_to_midi_array(hz, unvoiced=0.0)
    assert zero_filled[3:6].tolist() == [0.0, 0.0, 0.0] and zero_filled[0] == 69.0
    assert hz_to_midi_array(np.full((2, 3), 880.0)).tolist() == [[81.0] * 3] * 2
    values = np.random.default_rng(0).uniform(50.0, 1200.0, 500)
    scalar = [hz_to_midi(v) for v in values]
    np.testing.assert_allclose(hz_to_midi_array(values), scalar, rtol=0, atol=1e-12)


def test_track_midi_is_what_it_was_before_the_shared_conversion():
    rng = np.random.default_rng(1)
    hz = rng.uniform(60.0, 1000.0, 400)
    hz[rng.random(400) < 0.3] = 0.0
    # the expression F0Track.midi used before issue 14 item 6: the oracle of "unchanged"
    with np.errstate(divide="ignore", invalid="ignore"):
        legacy = np.where(hz > 0, 69 + 12 * np.log2(hz / 440.0), np.nan)
    track = F0Track(f0_hz=hz, aperiodicity=np.zeros(400), fps=100.0)
    np.testing.assert_array_equal(track.midi(), legacy)  # NaN where unvoiced, bit for bit
