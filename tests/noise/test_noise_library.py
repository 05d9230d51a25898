import hashlib

import numpy as np
import pytest
import soundfile as sf

from avsvt.errors import ConfigError
from avsvt.noise.library import (
    PRESETS,
    file_rng,
    synth_musan_library,
    synth_noise_event,
    synth_speech,
)


def _digests(root):
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.wav"))
    }


def test_tiny_library_layout_and_format(musan_root):
    config = PRESETS["tiny"]
    speech = sorted((musan_root / "speech" / "librivox").glob("*.wav"))
    assert [p.name for p in speech] == [
        f"speech-librivox-{i:04d}.wav" for i in range(config.n_speakers)
    ]
    assert len(list((musan_root / "music" / "fma").glob("*.wav"))) == config.n_music
    free = list((musan_root / "noise" / "free-sound").glob("noise-free-sound-*.wav"))
    bible = list((musan_root / "noise" / "sound-bible").glob("noise-sound-bible-*.wav"))
    assert len(free) == config.n_free_sound + config.n_long_noise
    assert len(bible) == config.n_sound_bible
    for path in speech + free + bible:
        info = sf.info(str(path))
        assert (info.samplerate, info.channels, info.subtype) == (16_000, 1, "PCM_16")
    for path in speech:  # whole multiples of 10 s, so babble mixtures stay exactly 10 s
        assert sf.info(str(path)).frames % 160_000 == 0
    durations = sorted(sf.info(str(p)).duration for p in free + bible)
    assert durations[0] >= 1.0
    assert sum(d > 10 for d in durations) == config.n_long_noise


def test_same_seed_same_bytes_and_seed_matters(tmp_path, musan_root):
    again = synth_musan_library(tmp_path / "a", seed=0, preset="tiny", workers=2)
    digests = _digests(again)
    assert digests == {k: v for k, v in _digests(musan_root).items() if "short-musan" not in k}
    other = synth_musan_library(tmp_path / "b", seed=1, preset="tiny")
    assert set(_digests(other).values()).isdisjoint(digests.values())


def test_a_rerun_keeps_files_and_restores_a_missing_one(tmp_path):
    root = synth_musan_library(tmp_path / "lib", seed=3, preset="tiny")
    before = _digests(root)
    victim = root / "music" / "fma" / "music-fma-0001.wav"
    victim.unlink()
    synth_musan_library(root, seed=3, preset="tiny")
    assert _digests(root) == before


def test_speech_has_pauses_and_voicing_in_the_speech_range():
    rng = file_rng(0, "speech", 7)
    audio = synth_speech(rng, 10 * 16_000)
    frames = audio[: len(audio) // 320 * 320].reshape(-1, 320)
    energy = (frames**2).mean(axis=1)
    silent = energy < 1e-6 * energy.max()
    assert 0.05 < silent.mean() < 0.6  # pauses between phrases, but mostly sound
    # the strongest low-frequency peak of a loud frame is a speech f0 (70-400 Hz)
    loud = np.argsort(energy)[-20:]
    for i in loud[:5]:
        segment = audio[i * 320 : i * 320 + 2048]
        spectrum = np.abs(np.fft.rfft(segment * np.hanning(len(segment)), 8192))
        freqs = np.fft.rfftfreq(8192, 1 / 16_000)
        band = (freqs > 60) & (freqs < 1200)
        ac = np.fft.irfft(spectrum**2)[: 16_000 // 60]
        lag = np.argmax(ac[16_000 // 400 :]) + 16_000 // 400
        assert 70 <= 16_000 / lag <= 400, (i, 16_000 / lag, band.sum())


def test_noise_events_are_bounded_and_not_silent():
    for index in range(10):
        audio = synth_noise_event(file_rng(0, "free-sound", index), 16_000)
        assert 0.2 < np.abs(audio).max() <= 0.9
        assert np.isfinite(audio).all()


def test_unknown_preset(tmp_path):
    with pytest.raises(ConfigError, match="preset"):
        synth_musan_library(tmp_path, preset="huge")
