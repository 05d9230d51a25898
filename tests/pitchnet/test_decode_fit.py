"""The fitted decoding of the pitch network: voicing blended from the salience head."""

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from avsvt.f0notes import F0NoteSettings
from avsvt.notes import Note
from avsvt.pitchnet.features import SpectrogramConfig
from avsvt.pitchnet.model import PitchNet, decode_f0
from avsvt.pitchnet.track import load_pitchnet, save_pitchnet
from avsvt.pitchnet.train import fit_decoding
from tiny_pitchnet import TINY_NET

SPEC = SpectrogramConfig()


def salience_at(midi: np.ndarray, peak: np.ndarray) -> np.ndarray:
    """(T, n_bins) a one-bin-wide Gaussian of height ``peak`` at each frame's pitch."""
    bins = SPEC.bin_midi()
    sd = 1.0 / SPEC.bins_per_semitone
    s = np.exp(-0.5 * ((bins[None, :] - midi[:, None]) / sd) ** 2) * peak[:, None]
    return s.astype(np.float32)


def test_the_salience_weight_blends_the_two_voicing_estimates() -> None:
    midi = np.full(4, 60.0)
    salience = salience_at(midi, np.array([0.9, 0.9, 0.1, 0.1]))
    voicing = np.array([0.2, 0.9, 0.2, 1.0], dtype=np.float32)
    alone = decode_f0(salience, voicing, SPEC, threshold=0.5)
    blended = decode_f0(salience, voicing, SPEC, threshold=0.5, salience_weight=0.5)
    assert (alone.f0_hz > 0).tolist() == [False, True, False, True]
    # 0.5 * 0.2 + 0.5 * 0.9 = 0.55; then 0.9, 0.15, 0.55
    assert (blended.f0_hz > 0).tolist() == [True, True, False, True]
    assert np.allclose(blended.midi()[blended.f0_hz > 0], 60.0, atol=0.01)
    assert np.allclose(blended.aperiodicity, [0.45, 0.1, 0.85, 0.45], atol=1e-6)


def song(drop_tail: bool, rest_salience: float, note_salience: float, note_voicing: float):
    """Eight 0.5-s notes with 0.3-s rests: (salience, voicing) as a network might give them,
    and the notes. ``drop_tail``: the voicing head misses the last 40 % of every note."""
    fps, n = 100, 8
    onsets = 0.2 + 0.8 * np.arange(n)
    pitches = 60.0 + np.array([0, 2, 4, 5, 7, 5, 4, 2])
    frames = int((onsets[-1] + 0.8) * fps)
    midi = np.full(frames, 48.0)  # the rests' salience peak: another pitch (accompaniment)
    peak = np.full(frames, rest_salience)
    voicing = np.zeros(frames)
    notes = []
    for onset, pitch in zip(onsets, pitches, strict=True):
        a, b = round(onset * fps), round((onset + 0.5) * fps)
        midi[a:b], peak[a:b], voicing[a:b] = pitch, note_salience, note_voicing
        if drop_tail:
            voicing[b - round(0.4 * (b - a)) : b] = 0.0
        notes.append(Note(float(onset), float(onset + 0.5), float(pitch)))
    return (salience_at(midi, peak), voicing.astype(np.float32)), notes


def test_the_fit_takes_voicing_from_the_salience_head_when_the_voicing_head_misses_note_ends() -> (
    None
):
    outputs, notes = song(drop_tail=True, rest_salience=0.0, note_salience=1.0, note_voicing=1.0)
    fit = fit_decoding([outputs], [notes], SPEC, weights=(0.0, 0.5))
    assert fit.salience_weight == 0.5
    assert fit.scores["COnPOff"] == pytest.approx(1.0)
    assert fit.by_weight["0"] < 0.5  # every offset 40 % early: no note's offset within 20 %


def test_the_fit_keeps_the_voicing_head_when_the_salience_head_hears_the_accompaniment() -> None:
    outputs, notes = song(drop_tail=False, rest_salience=1.0, note_salience=0.6, note_voicing=0.9)
    fit = fit_decoding([outputs], [notes], SPEC, weights=(0.0, 0.75))
    assert fit.salience_weight == 0.0
    assert fit.scores["COnPOff"] == pytest.approx(1.0)
    assert fit.by_weight["0.75"] < 0.7  # rests voiced too: a false note in every rest


def test_a_tie_keeps_the_smaller_weight() -> None:
    outputs, notes = song(drop_tail=False, rest_salience=0.0, note_salience=1.0, note_voicing=1.0)
    fit = fit_decoding([outputs], [notes], SPEC, weights=(0.0, 0.5))
    assert fit.by_weight["0"] == fit.by_weight["0.5"] == pytest.approx(1.0)
    assert fit.salience_weight == 0.0


def test_the_weight_is_kept_in_the_model_file_and_older_files_read_as_zero(tmp_path) -> None:
    torch.manual_seed(0)
    model = PitchNet(TINY_NET).eval()
    path = tmp_path / "m.safetensors"
    save_pitchnet(path, model, F0NoteSettings(), {}, salience_weight=0.25)
    assert load_pitchnet(path).salience_weight == 0.25
    with safe_open(str(path), framework="pt") as handle:
        header = dict(handle.metadata())
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118
    del header["decode"]  # a file written before the blend existed
    save_file(tensors, str(tmp_path / "old.safetensors"), metadata=header)
    assert load_pitchnet(tmp_path / "old.safetensors").salience_weight == 0.0
