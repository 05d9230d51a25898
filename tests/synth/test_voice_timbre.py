"""The singer's timbre variety (avsvt.synth.voice), measured on the rendered audio.

Oracles: the spectrum of a sustained note (the fundamental's level against the second harmonic's,
read by an FFT at the f0 the voice was rendered on), the voicing amplitude's rise, and the pitch
model's mixtures with every ingredient off (the voice alone, only rescaled).
"""

import dataclasses

import numpy as np
import pytest

from avsvt.errors import ConfigError
from avsvt.pitchnet.data import DataConfig, mix_example, render_stems
from avsvt.synth.melody import PlannedNote, Singer, SongPlan
from avsvt.synth.voice import render_vocals_with_f0

SR = 16_000
STEADY = Singer(
    low_midi=48,
    high_midi=64,
    formant_scale=1.0,
    tilt=1.2,
    breathiness=0.0,
    vibrato_hz=5.0,
    vibrato_cents=0.0,
    jitter=0.0,
    shimmer=0.0,
)


def one_note(singer: Singer, pitch_midi: int = 57) -> SongPlan:
    note = PlannedNote(0.5, 2.5, pitch_midi, "", "a", False, 0)
    return SongPlan(
        duration_s=3.0, tempo_bpm=90.0, key_midi=9, minor=False, notes=(note,), singer=singer
    )


def harmonic_levels_db(audio: np.ndarray, f0_hz: float) -> tuple[float, float]:
    """Levels of the first two harmonics over 1.0-2.0 s (Hann-windowed FFT peak magnitudes)."""
    segment = audio[SR : 2 * SR].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(segment * np.hanning(len(segment))))
    freqs = np.fft.rfftfreq(len(segment), 1 / SR)

    def peak(f_hz: float) -> float:
        near = np.abs(freqs - f_hz) < 3.0
        return float(20 * np.log10(spectrum[near].max()))

    return peak(f0_hz), peak(2 * f0_hz)


@pytest.mark.parametrize("h1_db", [-10.0, 6.0])
def test_h1_db_moves_the_fundamental_against_the_second_harmonic(h1_db: float) -> None:
    plain = render_vocals_with_f0(one_note(STEADY), np.random.default_rng(1))
    varied = render_vocals_with_f0(
        one_note(dataclasses.replace(STEADY, h1_db=h1_db)), np.random.default_rng(1)
    )
    f0_hz = 440.0 * 2 ** ((57 - 69) / 12)
    h1, h2 = harmonic_levels_db(plain.audio, f0_hz)
    h1_varied, h2_varied = harmonic_levels_db(varied.audio, f0_hz)
    assert (h1_varied - h2_varied) - (h1 - h2) == pytest.approx(h1_db, abs=1.0)


def test_attack_s_sets_the_loudness_rise_after_a_rest() -> None:
    voice = render_vocals_with_f0(
        one_note(dataclasses.replace(STEADY, attack_s=0.15)), np.random.default_rng(2)
    )
    at = voice.amplitude[np.round((0.5 + np.array([0.075, 0.15, 0.3])) * voice.fps).astype(int)]
    assert at[0] / at[1] == pytest.approx(0.5, abs=0.05)  # halfway up the linear rise
    assert at[2] / at[1] == pytest.approx(1.0, abs=0.06)  # risen (only the slow swell after)


def test_timbre_variety_changes_the_voice_but_not_its_plan() -> None:
    plain = render_stems(seed=4, duration_s=4.0)
    varied = render_stems(seed=4, duration_s=4.0, timbre=True)
    assert np.array_equal(plain.notes[:, :2], varied.notes[:, :2])
    assert not np.array_equal(plain.vocals, varied.vocals)


def test_a_mixture_with_every_ingredient_off_is_the_voice_rescaled() -> None:
    stems = render_stems(seed=5, duration_s=3.0)
    off = DataConfig(accomp_p=0.0, noise_p=0.0, chain_p=0.0)
    mix, first = mix_example(stems, stems, np.random.default_rng(0), SR, off)
    voice = stems.vocals[first * 160 : first * 160 + SR].astype(np.float64)
    loud = np.abs(voice) > 0.01 * np.abs(voice).max()
    ratio = mix[loud] / voice[loud]
    assert np.allclose(ratio, ratio[0], rtol=1e-4)


@pytest.mark.parametrize("room_p", [0.0, 0.5, 0.9, 1.0])
def test_room_p_sets_how_often_the_chain_has_a_room(
    room_p: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    import avsvt.pitchnet.data as data_module
    from avsvt.augment import ChainSettings, draw_chain

    used: list[ChainSettings] = []
    real_chain = data_module.recording_chain

    def chain(audio: np.ndarray, rng: np.random.Generator, settings: ChainSettings) -> np.ndarray:
        used.append(settings)
        return real_chain(audio, rng, settings)

    monkeypatch.setattr(data_module, "recording_chain", chain)
    stems = render_stems(seed=5, duration_s=3.0)
    config = DataConfig(accomp_p=0.0, noise_p=0.0, chain_p=1.0, room_p=room_p)
    for seed in range(10):
        mix_example(stems, stems, np.random.default_rng(seed), SR, config)
    assert len(used) == 10
    # draws of the chains mix_example used: a room in about room_p of them
    rooms = [
        draw_chain(np.random.default_rng(k), used[k % 10]).room is not None for k in range(400)
    ]
    assert sum(rooms) / len(rooms) == pytest.approx(room_p, abs=0.07)


@pytest.mark.parametrize("field", ["accomp_p", "band_p", "noise_p", "chain_p", "room_p"])
def test_data_config_rejects_a_probability_off_0_to_1(field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        DataConfig(**{field: 1.5})
