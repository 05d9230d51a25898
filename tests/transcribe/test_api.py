import numpy as np
import pytest
import soundfile as sf

from avsvt.constants import SAMPLE_RATE
from avsvt.errors import DataError
from avsvt.notes import Note
from avsvt.testing import synth_vocal
from avsvt.transcribe.api import transcribe_array, transcribe_file
from avsvt.transcribe.predictor import load_predictor

NOTES = [Note(0.5, 1.2, 60), Note(4.8, 5.4, 65), Note(9.7, 10.3, 70), Note(14.0, 16.2, 62)]


def test_a_trained_model_finds_notes_across_utterance_borders(trained_audio_model, tmp_path):
    """17.1 s = utterances 0-5, 5-10, 10-17.1 s; two notes straddle a border."""
    n = int(17.1 * SAMPLE_RATE)
    path = tmp_path / "tones.wav"
    sf.write(path, synth_vocal(NOTES, n), SAMPLE_RATE, subtype="FLOAT")
    result = transcribe_file(path, model=trained_audio_model)
    assert result.duration_s == pytest.approx(17.1)
    assert result.seconds > 0 and not result.used_video
    onsets = [n.onset_s for n in result.notes]
    for ref in NOTES:  # each onset found once, within the reference tolerance
        assert sum(abs(onset - ref.onset_s) <= 0.05 for onset in onsets) == 1, ref
    with pytest.raises(DataError):
        transcribe_array(np.zeros(0, np.float32), load_predictor(trained_audio_model))


def test_the_default_model_transcribes_a_file_and_says_it_ignores_video(tmp_path):
    sung = [Note(0.3, 0.9, 62.0), Note(1.2, 1.8, 66.5)]
    path = tmp_path / "sung.wav"
    sf.write(path, synth_vocal(sung, 2 * SAMPLE_RATE), SAMPLE_RATE)
    np.save(tmp_path / "lips.npy", np.zeros((100, 96, 96), np.uint8))
    result = transcribe_file(path, tmp_path / "lips.npy")  # model=None: the default model
    # both notes, each within 15 cents of the sung pitch (COnP allows 50)
    assert len(result.notes) == 2
    for note, want in zip(result.notes, sung, strict=True):
        assert abs(note.pitch_midi - want.pitch_midi) <= 0.15, (note, want)
    assert not result.used_video and "does not consume video" in result.messages[0]


def test_f0_pitch_reads_the_sung_pitch_instead_of_the_class(trained_audio_model):
    model = load_predictor(trained_audio_model)
    audio = synth_vocal([Note(0.2, 1.0, 60.3)], int(1.5 * SAMPLE_RATE))
    (plain,) = transcribe_array(audio, model)
    (refined,) = transcribe_array(audio, model, f0_pitch=True)
    assert plain.pitch_midi == round(plain.pitch_midi)  # a class pitch
    # the voice's f0 (60.3), folded to the octave nearest the class pitch
    assert (refined.pitch_midi - 60.3) % 12 == pytest.approx(0, abs=0.05)
    assert abs(refined.pitch_midi - plain.pitch_midi) <= 6
    assert (refined.onset_s, refined.offset_s) == (plain.onset_s, plain.offset_s)


def test_transcribe_file_is_part_of_the_package_api(tmp_path):
    import avsvt

    path = tmp_path / "one.wav"
    sf.write(path, synth_vocal([Note(0.2, 0.8, 60.0)], SAMPLE_RATE), SAMPLE_RATE)
    (note,) = avsvt.transcribe_file(path).notes
    assert type(note.onset_s) is float and type(note.pitch_midi) is float
    assert round(note.pitch_midi) == 60


def test_a_files_time_includes_reading_it_and_finding_the_lips(tmp_path, monkeypatch):
    import time

    import avsvt.transcribe.inputs
    from avsvt.models import Transcriber, preset

    sf.write(tmp_path / "a.wav", synth_vocal([Note(0.2, 0.8, 60.0)], SAMPLE_RATE), SAMPLE_RATE)
    np.save(tmp_path / "v.npy", np.full((50, 96, 96), 90, np.uint8))
    load_video = avsvt.transcribe.inputs.load_video

    def slow_load_video(*args, **kwargs):  # a front end that takes 0.3 s
        time.sleep(0.3)
        return load_video(*args, **kwargs)

    monkeypatch.setattr(avsvt.transcribe.inputs, "load_video", slow_load_video)
    model = Transcriber(preset("tiny", "video"))
    result = transcribe_file(tmp_path / "a.wav", tmp_path / "v.npy", model=model)
    assert result.used_video and result.seconds >= 0.3
