import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from avsvt.data.audio import read_audio
from avsvt.data.n20em import load_songs, validate_root
from avsvt.data.prepare import AUDIO_LABELS, VIDEO_LABELS, prepare_labels
from avsvt.errors import DataError


@pytest.fixture
def root(tiny_root, tmp_path):
    copy = tmp_path / "root"
    shutil.copytree(tiny_root, copy)
    return copy


def edit_annotations(root, change):
    path = root / "annotations.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def test_valid_root_has_no_problems_and_loads(tiny_root):
    assert validate_root(tiny_root) == []
    songs = load_songs(tiny_root)
    assert [s.split for s in songs] == ["train", "valid", "test"]
    assert load_songs(tiny_root, splits=("test",))[0].song_id == "song002"


def test_broken_root_is_reported_completely(root):
    def change(data):
        data["song000"]["split"] = "dev"
        data["song001"]["midi"].append([3.0, 2.0, 60])
        data["../evil"] = {"split": "train", "midi": []}
        data["song002"]["midi"].append([1.0, 1.5, "C4"])

    edit_annotations(root, change)
    (root / "data" / "song001" / "accomp.wav").unlink()
    sf.write(root / "data" / "song002" / "vocals.wav", np.zeros((8000, 2)), 44100)
    np.save(root / "data" / "song000" / "video_50fps.npy", np.zeros((10, 96, 96), dtype=np.float32))
    problems = validate_root(root)
    errors = [str(p) for p in problems if p.is_error]
    text = "\n".join(errors)
    assert "unknown split 'dev'" in text
    assert "not after onset" in text
    assert "path separator" in text
    assert "expected [onset_s, offset_s, pitch] numbers" in text
    assert "accomp.wav: file not found" in text
    assert "uint8" in text and "more than 1 s apart" in text
    assert "differs from vocals.wav" in text  # song002: 0.18 s of stereo 44.1 kHz vs 4 s accomp
    warnings = [str(p) for p in problems if not p.is_error]
    assert any("44100 Hz, 2 channel(s)" in w for w in warnings)
    with pytest.raises(DataError):
        load_songs(root)


def test_duplicate_song_ids_and_empty_corpus_are_errors(root):
    ann = root / "annotations.json"
    ann.write_text('{"a": {"split": "train", "midi": []}, "a": {"split": "test", "midi": []}}')
    assert "duplicate key" in str(validate_root(root)[0])
    ann.write_text("{}")
    assert "no songs" in str(validate_root(root)[0])
    with pytest.raises(DataError, match="no songs"):
        load_songs(root)


def test_overlapping_notes_are_a_warning_not_an_error(root):
    edit_annotations(root, lambda d: d["song000"]["midi"].append([0.2, 5.0, 60]))
    problems = validate_root(root)
    assert problems and not any(p.is_error for p in problems)
    assert "overlapping" in str(problems[0])


def test_audio_is_resampled_and_downmixed_said_with_verbose(tmp_path, caplog):
    import logging

    caplog.set_level(logging.DEBUG, logger="avsvt")
    t = np.arange(44100) / 44100
    tone = np.sin(2 * np.pi * 440 * t)
    sf.write(tmp_path / "a.wav", np.stack([tone, tone], axis=1), 44100, subtype="PCM_24")
    audio = read_audio(tmp_path / "a.wav")
    assert audio.dtype == np.float32 and audio.shape == (16000,)
    spectrum = np.abs(np.fft.rfft(audio))
    assert abs(np.argmax(spectrum) - 440) <= 1  # 1 Hz bins over 1 s
    assert "resampled from 44100" in caplog.text and "downmixed" in caplog.text
    assert all(r.levelno == logging.DEBUG for r in caplog.records if "resampled" in r.message)


@pytest.mark.parametrize(
    ("writer", "problem"),
    [
        (lambda p: p.write_bytes(b"RIFF\x00\x00"), "not a readable audio file"),
        (lambda p: sf.write(p, np.zeros(0), 16000), "no samples"),
        (lambda p: sf.write(p, np.array([0.0, np.nan, 0.0]), 16000, subtype="FLOAT"), "NaN"),
    ],
)
def test_bad_audio_raises_data_error(tmp_path, writer, problem):
    path = tmp_path / "x.wav"
    writer(path)
    with pytest.raises(DataError, match=problem):
        read_audio(path)


def test_prepare_labels_writes_and_skips(root):
    songs = load_songs(root)
    assert prepare_labels(songs).written == 3
    assert prepare_labels(songs).skipped == 3
    audio = np.load(songs[0].folder / AUDIO_LABELS)
    video = np.load(songs[0].folder / VIDEO_LABELS)
    assert audio.shape == (round(4.0 * 49.8), 4) and video.shape == (200, 4)
    assert audio[:, 0].sum() == video[:, 0].sum() == len(songs[0].notes)
