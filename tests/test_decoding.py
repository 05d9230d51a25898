import numpy as np
import pytest

from avsvt.decoding import DecoderConfig, FramePosteriors, decode_notes, onset_peaks

FPS = 10.0  # 0.1 s frames keep the hand-written examples readable


def posteriors(onset, offset, octave, pc):
    return FramePosteriors(
        np.array(onset, dtype=float),
        np.array(offset, dtype=float),
        np.array(octave),
        np.array(pc),
    )


def test_hand_written_posteriors():
    # frame:     0    1    2    3    4    5    6    7    8    9
    onset = [0.0, 0.9, 0.1, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0]
    offset = [1.0, 0.0, 0.0, 0.0, 0.6, 1.0, 0.0, 0.0, 0.0, 0.0]
    octave = [4, 2, 2, 2, 2, 4, 2, 2, 2, 2]
    pc = [12, 0, 0, 4, 0, 12, 7, 7, 7, 7]
    notes = decode_notes(posteriors(onset, offset, octave, pc), DecoderConfig(fps=FPS))
    # note 1 opens at frame 1, closes at the offset frame 4: votes 60, 60, 64 -> 60
    # note 2 opens at frame 6 and is still open at the end: closes at the last frame (9)
    assert [(n.onset_s, n.offset_s, n.pitch_midi) for n in notes] == [
        (0.1, 0.4, 60.0),
        (0.6, 0.9, 67.0),
    ]


def test_onset_below_threshold_or_not_a_local_maximum_is_ignored():
    onset = [0.0, 0.39, 0.0, 0.0, 0.5, 0.45, 0.6, 0.0]
    assert onset_peaks(np.array(onset), 0.4, 3).tolist() == [6]
    assert onset_peaks(np.array(onset), 0.4, 1).tolist() == [4, 6]


def test_plateau_opens_one_note_and_last_frame_can_be_a_peak():
    assert onset_peaks(np.array([0.0, 0.8, 0.8, 0.8, 0.0]), 0.4, 3).tolist() == [1]
    assert onset_peaks(np.array([0.0, 0.0, 0.0, 0.0, 0.9]), 0.4, 3).tolist() == [4]


@pytest.mark.parametrize(
    "onset, half_width, expected",
    [
        # issue 14 item 8a: frame 2's window holds the 1.0, frame 3's ([.9, .9, 0]) does not, so
        # frame 3 is a window maximum whose equal left neighbour is not: it is a peak
        ([0, 1, 0.9, 0.9, 0, 0], 1, [1, 3]),
        # windows of 5: frame 2 sees the 1.0 at frame 0; frames 3 and 4 are maxima, 3 comes first
        ([1, 0, 0.9, 0.9, 0.9, 0], 2, [0, 3]),
        # two plateaus of equal maxima, split by a dip: one peak each
        ([0.8, 0.8, 0, 0.8, 0.8], 1, [0, 3]),
        # frame 2 continues frame 1's plateau; frame 4 equals neither neighbour
        ([0.5, 0.9, 0.9, 0.5, 0.9], 1, [1, 4]),
    ],
)
def test_a_window_maximum_after_an_equal_non_maximum_is_a_peak(onset, half_width, expected):
    assert onset_peaks(np.array(onset, dtype=float), 0.4, half_width).tolist() == expected


def test_the_dropped_window_maximum_now_opens_its_own_note():
    onset = [0, 1, 0.9, 0.9, 0, 0]
    post = posteriors(onset, [0] * 6, [2] * 6, [0, 0, 0, 4, 4, 4])
    notes = decode_notes(post, DecoderConfig(fps=FPS, peak_half_width_frames=1))
    # frames 1-2 vote C4 and end at the next peak (frame 3); frames 3-5 vote E4, open at the end
    assert [(n.onset_s, n.offset_s, n.pitch_midi) for n in notes] == [
        (0.1, 0.3, 60.0),
        (0.3, 0.5, 64.0),
    ]


def reference_peaks(onset: list[float], threshold: float, half_width: int) -> list[int]:
    """The reference's rule as reference-system.md 3.2 states it, frame by frame."""
    n = len(onset)
    return [
        i
        for i in range(n)
        if onset[i] >= threshold
        and onset[i] == max(onset[max(0, i - half_width) : min(i + half_width + 1, n - 1)] or [-1])
    ]


@pytest.mark.parametrize("half_width", [1, 2, 3])
def test_peaks_are_the_reference_peaks_less_plateau_repeats(half_width):
    # Quantised probabilities make plateaus common. The last frame is 0, so the reference's
    # exclusion of the last frame from every window changes nothing here; the only difference
    # left is the documented plateau fix: a reference peak right after an equal reference peak.
    rng = np.random.default_rng(half_width)
    for _ in range(300):
        onset = [*rng.choice([0.0, 0.3, 0.5, 0.9, 1.0], size=29).tolist(), 0.0]
        ref = reference_peaks(onset, 0.4, half_width)
        expected = [i for i in ref if not (i - 1 in ref and onset[i - 1] == onset[i])]
        assert onset_peaks(np.array(onset), 0.4, half_width).tolist() == expected, onset


def test_note_opened_on_the_last_frame_has_positive_length():
    notes = decode_notes(
        posteriors([0, 0, 1.0], [1, 1, 0], [4, 4, 2], [12, 12, 0]), DecoderConfig(fps=FPS)
    )
    assert len(notes) == 1 and notes[0].offset_s > notes[0].onset_s


def test_pitch_tie_goes_to_the_lower_pitch_and_unvoiced_notes_are_dropped():
    onset = [1.0, 0, 0, 0, 0, 1.0, 0, 0]
    offset = [0, 0, 0, 0, 1, 0, 0, 1]
    octave = [2, 2, 2, 2, 4, 4, 4, 4]
    pc = [5, 5, 3, 3, 12, 12, 12, 12]
    notes = decode_notes(posteriors(onset, offset, octave, pc), DecoderConfig(fps=FPS))
    assert [n.pitch_midi for n in notes] == [63.0]


@pytest.mark.parametrize("threshold", np.linspace(0, 1, 11))
def test_threshold_sweep_never_yields_zero_length_notes(threshold):
    rng = np.random.default_rng(3)
    n = 300
    post = FramePosteriors(
        rng.random(n), rng.random(n), rng.integers(0, 5, n), rng.integers(0, 13, n)
    )
    config = DecoderConfig(fps=49.8, onset_threshold=threshold, offset_threshold=threshold)
    notes = decode_notes(post, config)
    assert all(note.offset_s > note.onset_s for note in notes)
    assert all(36 <= note.pitch_midi <= 83 for note in notes)


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError):
        FramePosteriors(np.zeros(3), np.zeros(2), np.zeros(3, int), np.zeros(3, int))


def test_notes_without_any_offset_frame_close_at_the_end():
    notes = decode_notes(
        posteriors([0, 1.0, 0, 0], [0, 0, 0, 0], [2] * 4, [0] * 4), DecoderConfig(fps=FPS)
    )
    assert [(n.onset_s, n.offset_s) for n in notes] == [(0.1, 0.3)]


def test_pitch_refinement_uses_the_median_f0_and_folds_octave_errors():
    from avsvt.decoding import refine_pitch_with_f0
    from avsvt.notes import Note

    f0 = np.full(300, np.nan)
    f0[10:100] = 60.3  # note 1: a sharp C4
    f0[150:200] = 52.1 - 12  # note 2: the tracker is an octave low
    f0[150:160] = 70.0  # a scoop at the start is trimmed away
    notes = [Note(0.1, 1.0, 60.0), Note(1.5, 2.0, 52.0), Note(2.2, 2.8, 55.0)]
    refined = refine_pitch_with_f0(notes, f0, 100.0, edge_s=0.1)
    assert refined[0].pitch_midi == pytest.approx(60.3)
    assert refined[1].pitch_midi == pytest.approx(52.1)
    assert refined[2].pitch_midi == 55.0  # no voiced f0: class pitch kept
