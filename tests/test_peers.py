import numpy as np
import pytest

from avsvt.metrics import score_notes
from avsvt.notes import Note, midi_to_hz
from avsvt.testing import synth_vocal
from peers import PyinSettings, basic_pitch_notes, pyin_notes, segment_f0

NOTES = [Note(0.2, 0.7, 60), Note(0.8, 1.3, 64), Note(1.3, 1.9, 67)]


def test_segmentation_splits_runs_and_pitch_jumps_and_drops_short_notes():
    frame_s = 0.01
    f0 = np.zeros(200)
    f0[10:60] = midi_to_hz(60.2)
    f0[60:100] = midi_to_hz(61.1)  # a 0.9-semitone jump: a new note without a gap
    f0[120:125] = midi_to_hz(70)  # 50 ms: dropped
    f0[150:190] = midi_to_hz(55)
    notes = segment_f0(f0, frame_s, PyinSettings())
    assert [(round(n.onset_s, 2), round(n.offset_s, 2), round(n.pitch_midi, 2)) for n in notes] == [
        (0.1, 0.6, 60.2),
        (0.6, 1.0, 61.1),
        (1.5, 1.9, 55.0),
    ]
    rounded = segment_f0(f0, frame_s, PyinSettings(round_pitch=True))
    assert [n.pitch_midi for n in rounded] == [60.0, 61.0, 55.0]


@pytest.fixture(scope="module")
def audio():
    return synth_vocal(NOTES, 32000)


@pytest.mark.slow  # runs the pYIN peer
def test_pyin_peer_transcribes_a_clean_synthetic_melody(audio):
    pytest.importorskip("librosa", reason="the benchmark peers are not installed")
    scores = score_notes(NOTES, pyin_notes(audio))
    assert scores.COnP.f1 == 1.0


@pytest.mark.slow  # runs basic-pitch
def test_basic_pitch_peer_runs_on_onnx_and_finds_the_notes(audio):
    for module in ("onnxruntime", "basic_pitch"):
        pytest.importorskip(module, reason="the benchmark peers are not installed")
    estimate = basic_pitch_notes(audio)
    assert score_notes(NOTES, estimate).COnP.recall == 1.0
