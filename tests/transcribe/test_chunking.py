import numpy as np
import pytest

from avsvt.constants import AUDIO_FPS, SAMPLE_RATE
from avsvt.decoding import DecoderConfig, FramePosteriors, decode_notes
from avsvt.labels import notes_to_labels
from avsvt.notes import Note
from avsvt.testing import oracle_logits
from avsvt.transcribe.chunking import plan_windows, run_chunked, total_frames


@pytest.mark.parametrize("duration_s", [3.0, 12.0, 47.3, 61.0])
@pytest.mark.parametrize(("window", "context"), [(1, 0), (2, 1), (6, 1)])
def test_windows_tile_the_recording_exactly(duration_s, window, context):
    n = int(duration_s * SAMPLE_RATE)
    windows = plan_windows(n, window_utterances=window, context_utterances=context)
    kept = [f for w in windows for f in range(w.keep_start, w.keep_stop)]
    assert kept == list(range(total_frames(n)))
    assert all(
        w.start_sample % 80000 == 0 and w.first_frame == w.start_sample // 80000 * 249
        for w in windows
    )


def test_notes_across_window_borders_are_stitched_by_an_oracle_model():
    # Notes deliberately straddle the 30-s and 60-s window borders.
    notes = [
        Note(1.0, 2.0, 60),
        Note(29.5, 30.6, 62),
        Note(30.6, 31.0, 64),
        Note(59.0, 61.2, 67),
        Note(70.0, 70.5, 71),
    ]
    n = int(72.3 * SAMPLE_RATE)
    labels = notes_to_labels(notes, total_frames(n) + 10, AUDIO_FPS)
    calls = []

    def predict(samples, first_frame):
        calls.append((first_frame, len(samples)))
        n_frames = (len(samples) - 400) // 320 + 1
        return oracle_logits(labels[first_frame : first_frame + n_frames])

    logits = run_chunked(
        n,
        lambda a, b: np.zeros(b - a, np.float32),
        predict,
        window_utterances=6,
        context_utterances=1,
    )
    decoded = decode_notes(FramePosteriors.from_logits(logits), DecoderConfig(fps=AUDIO_FPS))
    assert len(calls) == 3
    assert len(decoded) == len(notes)
    for ref, est in zip(notes, decoded, strict=True):
        assert abs(est.onset_s - ref.onset_s) <= 1 / AUDIO_FPS
        assert abs(est.offset_s - ref.offset_s) <= 1 / AUDIO_FPS
        assert est.pitch_midi == ref.pitch_midi
