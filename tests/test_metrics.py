import mir_eval
import numpy as np
import pytest

from avsvt.metrics import mean_scores, pooled_scores, score_notes
from avsvt.notes import Note, midi_to_hz

REF = [Note(0.5, 1.0, 60), Note(1.0, 1.5, 62), Note(2.0, 3.0, 64.3), Note(3.5, 4.0, 67)]


def test_identical_notes_score_one():
    scores = score_notes(REF, REF)
    for metric in ("COnPOff", "COnP", "COn", "COff"):
        assert getattr(scores, metric).f1 == 1.0


def test_onsets_shifted_by_60_ms_fail_con_but_keep_coff():
    shifted = [Note(n.onset_s + 0.06, n.offset_s, n.pitch_midi) for n in REF]
    scores = score_notes(REF, shifted)
    assert scores.COn.f1 == 0.0 and scores.COnP.f1 == 0.0 and scores.COnPOff.f1 == 0.0
    assert scores.COff.f1 == 1.0


def test_onsets_shifted_by_40_ms_are_within_tolerance():
    assert (
        score_notes(REF, [Note(n.onset_s + 0.04, n.offset_s, n.pitch_midi) for n in REF]).COn.f1
        == 1
    )


def test_pitch_tolerance_is_50_cents_and_accepts_fractional_reference():
    sharp = [Note(n.onset_s, n.offset_s, n.pitch_midi + 0.45) for n in REF]
    flat = [Note(n.onset_s, n.offset_s, n.pitch_midi - 0.55) for n in REF]
    assert score_notes(REF, sharp).COnP.f1 == 1.0
    assert score_notes(REF, flat).COnP.f1 == 0.0
    assert score_notes(REF, flat).COn.f1 == 1.0


def test_offset_tolerance_is_20_percent_with_50_ms_floor():
    ref = [Note(0.0, 1.0, 60), Note(2.0, 2.1, 60)]
    est = [Note(0.0, 1.19, 60), Note(2.0, 2.16, 60)]  # 19 % of 1 s; 60 ms > 50 ms floor
    assert score_notes(ref, est).COff.recall == 0.5


def test_agrees_with_mir_eval_called_directly():
    rng = np.random.default_rng(0)
    est = [
        Note(
            n.onset_s + rng.uniform(-0.08, 0.08),
            n.offset_s + rng.uniform(-0.2, 0.2),
            n.pitch_midi + rng.uniform(-1, 1),
        )
        for n in REF
    ]
    ri = np.array([[n.onset_s, n.offset_s] for n in REF])
    ei = np.array([[n.onset_s, n.offset_s] for n in est])
    rp = np.array([midi_to_hz(n.pitch_midi) for n in REF])
    ep = np.array([midi_to_hz(n.pitch_midi) for n in est])
    direct = mir_eval.transcription.evaluate(
        ri, rp, ei, ep, onset_tolerance=0.05, pitch_tolerance=50
    )
    scores = score_notes(REF, est)
    assert scores.COnPOff.f1 == pytest.approx(direct["F-measure"])
    assert scores.COnP.f1 == pytest.approx(direct["F-measure_no_offset"])
    assert scores.COn.f1 == pytest.approx(direct["Onset_F-measure"])
    assert scores.COff.f1 == pytest.approx(direct["Offset_F-measure"])


def test_song_average_counts_empty_estimates_as_zero_and_pooled_differs():
    perfect = score_notes(REF, REF)
    empty = score_notes(REF, [])
    assert empty.COn.f1 == 0.0
    assert mean_scores([perfect, empty]).COn.f1 == 0.5
    pooled = pooled_scores({"a": (REF, REF), "b": (REF[:1], [])})
    assert pooled.COn.recall == pytest.approx(4 / 5)
    assert pooled.COn.precision == 1.0
