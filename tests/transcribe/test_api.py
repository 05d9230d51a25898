import numpy as np
import pytest
import soundfile as sf

from avsvt.constants import AUDIO_FPS, SAMPLE_RATE
from avsvt.errors import DataError
from avsvt.labels import notes_to_labels
from avsvt.notes import Note
from avsvt.testing import oracle_logits, synth_vocal
from avsvt.transcribe.api import transcribe_array, transcribe_file
from avsvt.transcribe.chunking import total_frames

NOTES = [Note(0.5, 1.5, 60), Note(4.8, 5.4, 65), Note(9.9, 10.3, 70), Note(14.0, 16.2, 72)]


class RampOracle:
    """Knows the notes; finds where a window starts from a ramp signal (sample i = i / n)."""

    uses_video = False

    def __init__(self, notes, n_samples):
        self.n = n_samples
        self.labels = notes_to_labels(notes, total_frames(n_samples) + 10, AUDIO_FPS)

    def predict(self, audio, video):
        start = round(float(audio[0]) * self.n / 80000) * 80000
        first = start // 80000 * 249
        n_frames = (len(audio) - 400) // 320 + 1
        return oracle_logits(self.labels[first : first + n_frames])


def test_transcribe_array_with_small_windows_recovers_every_note():
    n = int(17.1 * SAMPLE_RATE)
    ramp = (np.arange(n) / n).astype(np.float32)
    notes = transcribe_array(ramp, RampOracle(NOTES, n), window_utterances=1, context_utterances=1)
    assert [n.pitch_midi for n in notes] == [60, 65, 70, 72]
    assert all(
        abs(a.onset_s - b.onset_s) <= 1 / AUDIO_FPS for a, b in zip(NOTES, notes, strict=True)
    )


def test_transcribe_file_reports_timing_and_refuses_empty_audio(tmp_path):
    n = int(6.0 * SAMPLE_RATE)
    path = tmp_path / "ramp.wav"
    sf.write(path, (np.arange(n) / n).astype(np.float32), SAMPLE_RATE, subtype="FLOAT")
    result = transcribe_file(path, model=RampOracle(NOTES[:2], n))
    assert len(result.notes) == 2 and result.duration_s == pytest.approx(6.0)
    assert result.seconds > 0 and not result.used_video
    with pytest.raises(DataError):
        transcribe_array(np.zeros(0, np.float32), RampOracle([], 1))


def test_the_built_in_tracker_transcribes_a_file_and_says_it_ignores_video(tmp_path):
    sung = [Note(0.3, 0.9, 62.0), Note(1.2, 1.8, 66.5)]
    path = tmp_path / "sung.wav"
    sf.write(path, synth_vocal(sung, 2 * SAMPLE_RATE), SAMPLE_RATE)
    np.save(tmp_path / "lips.npy", np.zeros((100, 96, 96), np.uint8))
    result = transcribe_file(path, tmp_path / "lips.npy")  # model=None: the built-in tracker
    assert [round(n.pitch_midi, 1) for n in result.notes] == [62.0, 66.5]
    assert not result.used_video and "audio-only" in result.messages[0]


class SteadyOracle:
    """One note from 0.2 s to 1.0 s at MIDI 60 (integer class), whatever the audio."""

    uses_video = False

    def predict(self, audio, video):
        labels = notes_to_labels([Note(0.2, 1.0, 60)], total_frames(len(audio)), AUDIO_FPS)
        return oracle_logits(labels)


def test_f0_pitch_reads_the_sung_pitch_instead_of_the_class():
    audio = synth_vocal([Note(0.2, 1.0, 60.3)], int(1.5 * SAMPLE_RATE))
    (plain,) = transcribe_array(audio, SteadyOracle())
    (refined,) = transcribe_array(audio, SteadyOracle(), f0_pitch=True)
    assert plain.pitch_midi == 60.0
    assert refined.pitch_midi == pytest.approx(60.3, abs=0.05)
    assert (refined.onset_s, refined.offset_s) == (plain.onset_s, plain.offset_s)


def test_transcribe_file_is_part_of_the_package_api(tmp_path):
    import avsvt

    path = tmp_path / "one.wav"
    sf.write(path, synth_vocal([Note(0.2, 0.8, 60.0)], SAMPLE_RATE), SAMPLE_RATE)
    (note,) = avsvt.transcribe_file(path).notes
    assert type(note.onset_s) is float and type(note.pitch_midi) is float
    assert round(note.pitch_midi) == 60
