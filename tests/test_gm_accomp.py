import io
import os
import subprocess

import numpy as np
import pytest

import gm_accomp
from gm_accomp import (
    BASS_PROGRAMS,
    KEYS_PROGRAMS,
    LEAD_PROGRAMS,
    PAD_PROGRAMS,
    arrangement_midi,
    cache_path,
    choose_arrangement,
    gm_accompaniment,
    render,
    renderer_missing,
)

needs_fluidsynth = pytest.mark.skipif(
    renderer_missing() is not None, reason=f"GM band not renderable: {renderer_missing()}"
)
SEEDS = range(12)


def midi_bytes(seed: int, duration_s: float) -> bytes:
    buffer = io.BytesIO()
    arrangement_midi(seed, duration_s).write(buffer)
    return buffer.getvalue()


def max_simultaneous(notes) -> int:
    events = sorted([(n.start, 1) for n in notes] + [(n.end, -1) for n in notes])
    most = current = 0
    for _, change in events:  # ends sort before starts at the same time
        current += change
        most = max(most, current)
    return most


@pytest.mark.parametrize("seed", SEEDS)
def test_the_arrangement_has_chords_bass_lead_and_drums_in_range(seed):
    midi = arrangement_midi(seed, 20.0)
    parts = {i.name: i for i in midi.instruments}
    assert list(parts) == ["keys", "pad", "bass", "lead", "drums"]
    assert [i.is_drum for i in midi.instruments] == [False] * 4 + [True]
    assert parts["keys"].program in KEYS_PROGRAMS and parts["pad"].program in PAD_PROGRAMS
    assert parts["bass"].program in BASS_PROGRAMS and parts["lead"].program in LEAD_PROGRAMS
    assert all(i.notes for i in midi.instruments)
    assert max_simultaneous(parts["keys"].notes) >= 3
    assert max_simultaneous(parts["pad"].notes) >= 3
    bass = [n.pitch for n in parts["bass"].notes]
    assert 28 <= min(bass) and max(bass) <= 52  # E1 .. E3
    assert np.median(bass) < min(n.pitch for n in parts["keys"].notes)
    for name, (low, high) in {"keys": (55, 79), "pad": (48, 59), "lead": (52, 79)}.items():
        pitches = [n.pitch for n in parts[name].notes]
        assert low <= min(pitches) and max(pitches) <= high, name
    drums = {n.pitch for n in parts["drums"].notes}
    assert 36 in drums and drums & {37, 38} and drums & {42, 46}  # kick, snare, hi-hat
    for instrument in midi.instruments:
        for note in instrument.notes:
            assert 0 <= note.start < note.end <= 20.0 and 1 <= note.velocity <= 127
    assert 19.0 <= midi.get_end_time() <= 20.0


def test_the_chords_follow_the_progression_in_the_key():
    seed = 0
    arrangement = choose_arrangement(seed)
    midi = arrangement_midi(seed, 30.0)
    pad = next(i for i in midi.instruments if i.name == "pad")
    bar = 4 * 60 / arrangement.tempo_bpm
    progression = gm_accomp.PROGRESSIONS[arrangement.progression]
    tonic = gm_accomp.KEYS[arrangement.key]
    for b, (offset, quality) in enumerate(progression):
        held = {n.pitch % 12 for n in pad.notes if abs(n.start - b * bar) < 1e-6}
        expected = {(tonic + offset + i) % 12 for i in gm_accomp.QUALITIES[quality]}
        assert held == expected


def test_same_seed_same_midi_bytes_and_seeds_differ():
    assert midi_bytes(3, 15.0) == midi_bytes(3, 15.0)
    assert len({midi_bytes(seed, 15.0) for seed in SEEDS}) == len(SEEDS)
    choices = [choose_arrangement(seed) for seed in range(40)]
    assert len({c.progression for c in choices}) >= 4 and len({c.key for c in choices}) >= 4
    assert all(70 <= c.tempo_bpm <= 140 for c in choices)
    assert len({(c.keys_program, c.pad_program, c.bass_program) for c in choices}) >= 10


def test_a_bad_duration_is_refused():
    with pytest.raises(ValueError, match="positive"):
        arrangement_midi(0, 0.0)


@needs_fluidsynth
def test_the_rendering_is_band_audio_of_the_asked_length():
    audio = render(arrangement_midi(0, 4.0), 16000, duration_s=4.0)
    assert audio.dtype == np.float32 and audio.shape == (64000,)
    assert np.isfinite(audio).all()
    rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))
    assert 1e-3 < rms and np.abs(audio).max() < 1.0
    power = np.abs(np.fft.rfft(audio.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(audio), 1 / 16000)
    total = power.sum()
    assert power[freqs < 200].sum() / total > 0.2  # bass and kick
    assert power[(freqs >= 1000) & (freqs < 4000)].sum() / total > 0.005  # hats, attacks


@needs_fluidsynth
def test_a_rendering_is_cached_and_reused_without_fluidsynth(tmp_path, monkeypatch):
    first = gm_accompaniment(2.5, seed=1, cache_dir=tmp_path)
    assert first is not None and first.shape == (40000,)
    assert [p.name for p in tmp_path.iterdir()] == [cache_path(tmp_path, 1, 40000, 16000).name]

    def no_fluidsynth(*args, **kwargs):
        raise AssertionError("fluidsynth ran although the rendering is cached")

    monkeypatch.setattr(subprocess, "run", no_fluidsynth)
    again = gm_accompaniment(2.5, seed=1, cache_dir=tmp_path)
    assert again is not None and np.array_equal(again, first)


def fake_render(midi, sample_rate=16000, *, duration_s=None):
    n = round(duration_s * sample_rate)
    return (0.1 * np.sin(np.arange(n) * 0.05)).astype(np.float32)


def test_the_cache_is_keyed_by_seed_length_and_rate(tmp_path, monkeypatch):
    monkeypatch.setattr(gm_accomp, "renderer_missing", lambda: None)
    monkeypatch.setattr(gm_accomp, "render", fake_render)
    gm_accompaniment(1.0, seed=0, cache_dir=tmp_path)
    gm_accompaniment(1.0, seed=2, cache_dir=tmp_path)
    gm_accompaniment(2.0, seed=0, cache_dir=tmp_path)
    gm_accompaniment(1.0, seed=0, cache_dir=tmp_path, sample_rate=22050)
    assert len(list(tmp_path.iterdir())) == 4
    monkeypatch.setattr(gm_accomp, "render", None)  # every one is cached now
    assert gm_accompaniment(1.0, seed=0, cache_dir=tmp_path, sample_rate=22050).shape == (22050,)


def test_a_damaged_cache_file_is_rendered_again(tmp_path, monkeypatch):
    monkeypatch.setattr(gm_accomp, "renderer_missing", lambda: None)
    monkeypatch.setattr(gm_accomp, "render", fake_render)
    path = cache_path(tmp_path, 0, 16000, 16000)
    path.write_bytes(b"RIFF truncated")
    audio = gm_accompaniment(1.0, seed=0, cache_dir=tmp_path)
    assert audio is not None and np.array_equal(audio, fake_render(None, duration_s=1.0))
    assert path.stat().st_size > 16000 * 4


def test_the_cache_is_written_atomically(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(gm_accomp, "renderer_missing", lambda: None)
    monkeypatch.setattr(gm_accomp, "render", fake_render)
    renamed = []
    real_replace = os.replace

    def failing_replace(src, dst):
        renamed.append((os.path.basename(src), os.path.basename(dst)))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    audio = gm_accompaniment(1.0, seed=0, cache_dir=tmp_path)
    assert audio is not None and audio.shape == (16000,)  # a cache failure only warns
    assert "not cached" in caplog.text
    final = cache_path(tmp_path, 0, 16000, 16000).name
    assert len(renamed) == 1 and renamed[0][1] == final and renamed[0][0].startswith(f".{final}")
    assert list(tmp_path.iterdir()) == []  # neither a partial final file nor a temporary one
    monkeypatch.setattr(os, "replace", real_replace)
    gm_accompaniment(1.0, seed=0, cache_dir=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [final]


def test_without_fluidsynth_there_is_no_band_and_a_reason(tmp_path, monkeypatch):
    monkeypatch.setattr(gm_accomp.shutil, "which", lambda name: None)
    reason = renderer_missing()
    assert reason is not None and "fluidsynth" in reason
    assert "apt-get install fluidsynth fluid-soundfont-gm" in reason
    assert gm_accompaniment(1.0, cache_dir=tmp_path) is None
    with pytest.raises(gm_accomp.RenderError, match="fluidsynth"):
        render(arrangement_midi(0, 1.0))


def test_without_the_soundfont_there_is_no_band(tmp_path, monkeypatch):
    monkeypatch.setattr(gm_accomp.shutil, "which", lambda name: "/usr/bin/fluidsynth")
    monkeypatch.setattr(gm_accomp, "SOUNDFONTS", (tmp_path / "missing.sf2",))
    reason = renderer_missing()
    assert reason is not None and "soundfont" in reason and "missing.sf2" in reason
    assert gm_accompaniment(1.0, cache_dir=tmp_path) is None


def test_a_failing_fluidsynth_is_an_error(monkeypatch):
    if renderer_missing() is not None:
        monkeypatch.setattr(gm_accomp, "renderer_missing", lambda: None)
        monkeypatch.setattr(gm_accomp, "soundfont", lambda: gm_accomp.SOUNDFONTS[0])
        monkeypatch.setattr(gm_accomp.shutil, "which", lambda name: "/usr/bin/fluidsynth")

    def failed(cmd, **kwargs):
        return subprocess.CompletedProcess(cmd, 1, "", "fluidsynth: error: bad soundfont")

    monkeypatch.setattr(subprocess, "run", failed)
    with pytest.raises(gm_accomp.RenderError, match="bad soundfont"):
        render(arrangement_midi(0, 1.0))
