"""The default transcription hands a voice alone to the f0 tracker, anything else to the network."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from avsvt.f0notes import F0NoteSettings, transcribe_f0
from avsvt.live.stream import LiveTranscriber
from avsvt.noise.mixing import rms
from avsvt.pitchnet.data import coloured_noise, render_stems
from avsvt.pitchnet.features import HOP_SAMPLES as HOP
from avsvt.pitchnet.route import MIN_FRAMES, SOLO_BELOW_DB, SoloRouted, background_db
from avsvt.transcribe.api import transcribe_array
from avsvt.transcribe.predictor import DEFAULT_MODEL, load_predictor


def frames_of(
    levels: list[tuple[float, int, bool]], seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Audio of 10-ms frames: (rms, count, voiced) runs of a 220-Hz sine or of white noise."""
    rng = np.random.default_rng(seed)
    pieces, voiced = [], []
    for level, count, is_voice in levels:
        n = count * HOP
        if is_voice:
            t = np.arange(n) / 16_000
            pieces.append(level * np.sqrt(2) * np.sin(2 * np.pi * 220.0 * t))
        else:
            pieces.append(level * rng.standard_normal(n))
        voiced += [is_voice] * count
    return np.concatenate(pieces), np.array(voiced)


def test_background_level_is_read_against_the_voice():
    # voice frames at 0.1 rms, background frames at 0.001 rms: 40 dB under
    audio, voiced = frames_of([(0.1, 300, True), (0.001, 200, False), (0.1, 100, True)])
    assert background_db(audio, voiced) == pytest.approx(-40.0, abs=0.5)
    # a louder stretch of background raises the median only when it is most of the background
    audio, voiced = frames_of([(0.1, 300, True), (0.001, 150, False), (0.05, 100, False)])
    assert background_db(audio, voiced) == pytest.approx(-40.0, abs=1.0)
    audio, voiced = frames_of([(0.1, 300, True), (0.001, 50, False), (0.05, 150, False)])
    assert background_db(audio, voiced) == pytest.approx(-6.0, abs=1.0)


def test_what_borders_the_voice_is_not_background():
    # ten short gaps at 14 dB under the voice (consonants, breaths, note ends let go early) and
    # one long rest 40 dB under it: the rest is the background
    runs = [(0.1, 100, True), (0.02, 20, False)] * 10
    runs += [(0.1, 100, True), (0.001, 100, False), (0.1, 100, True)]
    audio, voiced = frames_of(runs)
    assert background_db(audio, voiced) == pytest.approx(-40.0, abs=0.5)
    assert background_db(audio, voiced, guard_frames=0) == pytest.approx(-14.0, abs=0.5)


def test_too_little_voice_or_background_says_nothing():
    audio, voiced = frames_of([(0.1, MIN_FRAMES - 1, True), (0.001, 300, False)])
    assert np.isnan(background_db(audio, voiced))
    audio, voiced = frames_of([(0.1, 300, True), (0.001, MIN_FRAMES - 1, False)])
    assert np.isnan(background_db(audio, voiced))
    silent = np.zeros(400 * HOP)
    assert background_db(silent, np.arange(400) < 200) == 0.0  # -200 dB both: as loud


needs_model = pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="no default model shipped")


@pytest.fixture(scope="module")
def default() -> SoloRouted:
    torch.set_num_threads(2)
    routed = load_predictor(None)
    assert isinstance(routed, SoloRouted)
    return routed


@pytest.fixture(scope="module")
def stems():
    return render_stems(seed=987_654_321, duration_s=12.0)  # seeds the recipe never draws


def with_noise(vocals: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    x = vocals.astype(np.float64)
    noise = coloured_noise(len(x), "white", np.random.default_rng(seed))
    return (x + noise * rms(x) * 10 ** (-snr_db / 20)).astype(np.float32)


@needs_model
@pytest.mark.parametrize("snr_db", [10.0, 20.0, 30.0])
def test_the_network_reads_back_the_noise_level(default, stems, snr_db):
    # the measure on the network's own voicing: the SNR the noise was mixed at, within 3 dB
    mix = with_noise(stems.vocals, snr_db)
    voiced = default.network.track(mix).f0_hz > 0
    assert background_db(mix, voiced) == pytest.approx(-snr_db, abs=3.0)


@needs_model
def test_a_voice_alone_gets_the_f0_trackers_notes(default, stems):
    vocals = with_noise(stems.vocals, 50.0)  # a quiet floor, as any recording has
    notes, route = default.transcribe_routed(vocals)
    assert route.system == "f0" and route.background_db <= SOLO_BELOW_DB
    assert notes == transcribe_f0(vocals, F0NoteSettings())  # the oracle: the tracker alone
    assert "f0 tracker" in route.describe()


@needs_model
@pytest.mark.parametrize("kind", ["band", "white"])
def test_a_voice_with_accompaniment_or_noise_gets_the_networks(default, stems, kind):
    if kind == "band":
        voice_rms, band_rms = rms(stems.vocals), rms(stems.band)
        mix = (stems.vocals + stems.band * (voice_rms / band_rms) * 10 ** (-10 / 20)).astype(
            np.float32
        )
    else:
        mix = with_noise(stems.vocals, 10.0)
    notes, route = default.transcribe_routed(mix)
    assert route.system == "network" and route.background_db > SOLO_BELOW_DB
    assert notes == default.network.transcribe(mix)  # the oracle: the network alone
    assert notes == transcribe_array(mix, default)  # and what `avsvt transcribe` gives


@needs_model
def test_silence_has_no_route_but_the_network(default):
    notes, route = default.transcribe_routed(np.zeros(16_000 * 3, dtype=np.float32))
    assert route.system == "network" and np.isnan(route.background_db) and notes == []


@needs_model
def test_live_runs_the_defaults_network(default):
    live = LiveTranscriber(default)
    assert live.settings == default.network.settings


@needs_model
def test_verbose_transcribe_says_which_system_gave_the_notes(stems, tmp_path, capsys):
    import soundfile as sf

    from avsvt.cli import main

    alone, noisy = tmp_path / "alone.wav", tmp_path / "noisy.wav"
    sf.write(alone, with_noise(stems.vocals, 50.0), 16_000)
    sf.write(noisy, with_noise(stems.vocals, 10.0), 16_000)
    for path, said in (
        (alone, "notes from the f0 tracker"),
        (noisy, "notes from the pitch network"),
    ):
        assert main(["-v", "transcribe", str(path), "-o", str(tmp_path / "out")]) == 0
        assert said in capsys.readouterr().err
    assert main(["transcribe", str(alone), "-o", str(tmp_path / "quiet")]) == 0
    assert "notes from" not in capsys.readouterr().err  # behind -v only
