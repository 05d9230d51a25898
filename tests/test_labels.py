import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avsvt.constants import AUDIO_FPS, VIDEO_FPS
from avsvt.decoding import DecoderConfig, FramePosteriors, decode_notes
from avsvt.labels import n_label_frames, nearest_frame, notes_to_labels, pitch_to_classes
from avsvt.notes import Note

SILENCE = [0, 1, 4, 12]


def test_octave_and_pitch_class_encoding_with_clamping():
    octave, pc = pitch_to_classes([36, 47, 48, 60, 71, 72, 83, 30, 90, 60.4])
    assert octave.tolist() == [0, 0, 1, 2, 2, 3, 3, 0, 3, 2]
    assert pc.tolist() == [0, 11, 0, 0, 11, 0, 11, 6, 6, 0]


def test_hand_labelled_song_at_50_fps():
    # One note 0.1..0.2 s (frames 5..10) of pitch 61 (octave 2, pc 1), then silence.
    labels = notes_to_labels([Note(0.1, 0.2, 61)], 13, VIDEO_FPS)
    expected = [SILENCE] * 5 + [[1, 0, 2, 1]] + [[0, 0, 2, 1]] * 4 + [[0, 1, 2, 1]] + [SILENCE] * 2
    assert labels.tolist() == expected


def test_exactly_one_onset_frame_per_note_and_silent_frames_flagged():
    notes = [Note(0.5, 1.0, 60), Note(1.0, 1.3, 62), Note(2.0, 2.5, 40)]
    labels = notes_to_labels(notes, 200, AUDIO_FPS)
    assert labels[:, 0].sum() == 3
    silent = labels[:, 2] == 4
    assert (labels[silent, 1] == 1).all() and (labels[silent, 3] == 12).all()
    # back to back: the offset frame of note 1 is the onset frame of note 2 and onset wins
    onset2 = nearest_frame([1.0], AUDIO_FPS)[0]
    assert labels[onset2].tolist() == [1, 0, 2, 2]


def test_half_frame_tie_goes_to_the_earlier_frame():
    # at 50 fps, 0.01 s is exactly between frames 0 and 1
    assert nearest_frame([0.01, 0.03, 0.0299], 50.0).tolist() == [0, 1, 1]
    assert nearest_frame([0.1], 50.0).tolist() == [5]  # 0.1 * 50 = 5.000000000000001


def test_sub_frame_note_does_not_corrupt_the_rest_of_the_song():
    # Reference bug: a note shorter than a frame never closes, so every later frame stays voiced.
    notes = [Note(0.100, 0.105, 60), Note(0.5, 0.6, 64)]
    labels = notes_to_labels(notes, 50, VIDEO_FPS)
    assert labels[5].tolist() == [1, 0, 2, 0]
    assert labels[6].tolist() == [0, 1, 2, 0]  # its offset frame, right after
    assert labels[7:25].tolist() == [SILENCE] * 18
    assert labels[25].tolist() == [1, 0, 2, 4]


def test_overlapping_notes_keep_both_onsets():
    labels = notes_to_labels([Note(0.1, 0.5, 60), Note(0.3, 0.7, 62)], 50, VIDEO_FPS)
    assert np.flatnonzero(labels[:, 0]).tolist() == [5, 15]
    assert labels[14, 3] == 0 and labels[15, 3] == 2


def test_a_stub_sharing_the_onset_frame_no_longer_hides_the_long_note(caplog):
    # Issue 14 item 8b. At 50 fps both onsets (0.100 s, 0.105 s) are nearest frame 5. The 1-s note
    # (64: octave 2, pitch class 4) wins the frame; its offset 1.105 s is nearest frame 55.
    stub, long_note = Note(0.100, 0.105, 60), Note(0.105, 1.105, 64)
    expected = [SILENCE] * 5 + [[1, 0, 2, 4]] + [[0, 0, 2, 4]] * 49 + [[0, 1, 2, 4]] + [SILENCE] * 4
    with caplog.at_level("WARNING", logger="avsvt.labels"):
        labels = notes_to_labels([stub, long_note], 60, VIDEO_FPS)
    assert labels.tolist() == expected
    assert "dropped" in caplog.text and "0.105" in caplog.text  # the stub is named
    assert notes_to_labels([long_note, stub], 60, VIDEO_FPS).tolist() == expected  # any order
    decoded = decode_notes(FramePosteriors.from_labels(labels), DecoderConfig(fps=VIDEO_FPS))
    assert [(n.onset_s, n.offset_s, n.pitch_midi) for n in decoded] == [(0.1, 1.1, 64.0)]


@pytest.mark.parametrize(
    "second_offset_s, winner_pc",
    [(0.546875, 0), (0.5625, 0), (0.59375, 4)],
    ids=["earlier-is-longer", "tie-goes-to-the-earlier", "later-is-longer"],
)
def test_the_longer_of_two_notes_in_one_frame_wins_it(second_offset_s, winner_pc):
    # 8 fps (0.125-s frames) keeps every time exact in binary. Onsets 0.5 s (4.0 frames) and
    # 0.53125 s (4.25 frames) are both nearest frame 4. The first note lasts 1/32 s; the second
    # 1/64, 1/32 or 1/16 s. Either winner's offset frame is 5: max(nearest offset, onset + 1).
    notes = [Note(0.5, 0.53125, 60), Note(0.53125, second_offset_s, 64)]
    labels = notes_to_labels(notes, 8, 8.0)
    onset_row, offset_row = [1, 0, 2, winner_pc], [0, 1, 2, winner_pc]
    assert labels.tolist() == [SILENCE] * 4 + [onset_row, offset_row] + [SILENCE] * 2


def test_of_three_onsets_in_one_frame_the_longest_note_wins():
    # 50 fps: onsets 0.100, 0.102, 0.108 s are all nearest frame 5; after the monophonic cut the
    # notes last 2, 6 and 1 ms, so the middle one (62: octave 2, pitch class 2) wins.
    notes = [Note(0.100, 0.102, 60), Note(0.102, 0.108, 62), Note(0.108, 0.109, 64)]
    labels = notes_to_labels(notes, 10, VIDEO_FPS)
    assert labels.tolist() == [SILENCE] * 5 + [[1, 0, 2, 2], [0, 1, 2, 2]] + [SILENCE] * 3


def test_notes_past_the_end_are_cut_and_empty_input_is_silence():
    labels = notes_to_labels([Note(0.5, 5.0, 60)], 40, VIDEO_FPS)
    assert labels[25, 0] == 1 and (labels[26:, :2] == [0, 0]).all()
    assert notes_to_labels([], 5, VIDEO_FPS).tolist() == [SILENCE] * 5
    assert notes_to_labels([Note(2.0, 3.0, 60)], 10, VIDEO_FPS).tolist() == [SILENCE] * 10


def test_label_frame_count_matches_reference():
    assert n_label_frames(80_000, AUDIO_FPS) == 249
    assert n_label_frames(80_000, VIDEO_FPS) == 250


@st.composite
def note_lists(draw: st.DrawFn, fps: float) -> list[Note]:
    min_len = 2.5 / fps  # onsets of consecutive notes at least two frames apart
    n = draw(st.integers(0, 12))
    t = draw(st.floats(0, 0.5))
    notes = []
    for _ in range(n):
        length = draw(st.floats(min_len, 1.0))
        notes.append(Note(t, t + length, float(draw(st.integers(36, 83)))))
        t += length + draw(st.one_of(st.just(0.0), st.floats(0.0, 0.5)))
    return notes


@pytest.mark.parametrize("fps", [AUDIO_FPS, VIDEO_FPS])
def test_labels_then_perfect_posteriors_decode_to_the_same_notes(fps):
    @settings(max_examples=150, deadline=None)
    @given(note_lists(fps))
    def check(notes: list[Note]) -> None:
        end_s = notes[-1].offset_s + 0.2 if notes else 1.0
        labels = notes_to_labels(notes, int(end_s * fps) + 2, fps)
        decoded = decode_notes(FramePosteriors.from_labels(labels), DecoderConfig(fps=fps))
        assert len(decoded) == len(notes)
        for ref, est in zip(notes, decoded, strict=True):
            assert abs(est.onset_s - ref.onset_s) <= 1 / fps
            assert abs(est.offset_s - ref.offset_s) <= 1 / fps
            assert est.pitch_midi == ref.pitch_midi

    check()


def test_ten_minute_song_has_one_onset_per_note():
    rng = np.random.default_rng(1)
    onsets = np.cumsum(rng.uniform(0.2, 0.5, 1500))
    notes = [Note(float(t), float(t + 0.15), float(rng.integers(40, 80))) for t in onsets]
    labels = notes_to_labels(notes, n_label_frames(600 * 16000, AUDIO_FPS), AUDIO_FPS)
    assert labels.shape == (29880, 4)
    assert labels[:, 0].sum() == sum(n.onset_s < 600 - 0.5 / AUDIO_FPS for n in notes)
