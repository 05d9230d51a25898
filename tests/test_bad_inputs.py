"""The bad-input catalogue (docs/bad-inputs.md): each case through the CLI, with its outcome.

Errors end with exit code 1 and one line on stderr naming the file; repairs succeed with a warning.
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from avsvt.cli import main


def ann(root: Path) -> dict:
    return json.loads((root / "annotations.json").read_text())


def set_ann(root: Path, data) -> None:
    (root / "annotations.json").write_text(json.dumps(data) if not isinstance(data, str) else data)


def song(root: Path, name="song000") -> Path:
    return root / "data" / name


def truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def edit_note(root, row):
    data = ann(root)
    data["song000"]["midi"][0] = row
    set_ann(root, data)


VALIDATE_ERRORS = {
    "truncated_wav": (lambda r: truncate(song(r) / "vocals.wav", 0.01), "vocals.wav"),
    "corrupt_wav_header": (
        lambda r: (song(r) / "vocals.wav").write_bytes(b"RIFF1234WAVEjunk"),
        "vocals.wav",
    ),
    "corrupt_flac_as_accomp": (
        lambda r: (song(r) / "accomp.wav").write_bytes(b"fLaC\x00\x00\x00"),
        "accomp.wav",
    ),
    "zero_length_audio": (
        lambda r: sf.write(song(r) / "vocals.wav", np.zeros(0), 16000),
        "no samples",
    ),
    "accomp_other_length": (
        lambda r: sf.write(song(r) / "accomp.wav", np.zeros(16000), 16000),
        "differs",
    ),
    "video_too_few_frames": (
        lambda r: np.save(song(r) / "video_50fps.npy", np.zeros((50, 96, 96), np.uint8)),
        "more than 1 s apart",
    ),
    "video_too_many_frames": (
        lambda r: np.save(song(r) / "video_50fps.npy", np.zeros((300, 96, 96), np.uint8)),
        "more than 1 s apart",
    ),
    "video_float": (
        lambda r: np.save(song(r) / "video_50fps.npy", np.zeros((200, 96, 96), np.float32)),
        "uint8",
    ),
    "video_wrong_shape": (
        lambda r: np.save(song(r) / "video_50fps.npy", np.zeros((200, 96), np.uint8)),
        "(T, H, W)",
    ),
    "video_too_small": (
        lambda r: np.save(song(r) / "video_50fps.npy", np.zeros((200, 64, 64), np.uint8)),
        "at least 88x88",
    ),
    "video_missing": (
        lambda r: (song(r) / "video_50fps.npy").unlink(),
        "video_50fps.npy: file not found",
    ),
    "offset_before_onset": (lambda r: edit_note(r, [1.0, 0.5, 60]), "not after onset"),
    "negative_time": (lambda r: edit_note(r, [-0.5, 0.5, 60]), "negative onset"),
    "pitch_out_of_range": (lambda r: edit_note(r, [0.5, 0.9, 200]), "outside MIDI"),
    "pitch_not_numeric": (lambda r: edit_note(r, [0.5, 0.9, "A4"]), "numbers"),
    "path_traversing_id": (
        lambda r: set_ann(r, {**ann(r), "../../etc": {"split": "train", "midi": []}}),
        "path separator",
    ),
    "duplicate_ids": (
        lambda r: set_ann(
            r, '{"a": {"split": "train", "midi": []}, "a": {"split": "test", "midi": []}}'
        ),
        "duplicate key",
    ),
    "missing_split": (lambda r: set_ann(r, {"song000": {"midi": []}}), "missing 'split'"),
    "unknown_split": (
        lambda r: set_ann(r, {"song000": {"split": "dev", "midi": []}}),
        "unknown split",
    ),
    "empty_corpus": (lambda r: set_ann(r, {}), "no songs"),
    "annotations_not_json": (lambda r: set_ann(r, "{oops"), "invalid JSON"),
    "missing_song_folder": (lambda r: shutil.rmtree(song(r)), "song folder not found"),
}


@pytest.fixture
def root(tiny_root, tmp_path):
    copy = tmp_path / "root"
    shutil.copytree(tiny_root, copy)
    return copy


@pytest.mark.parametrize("case", sorted(VALIDATE_ERRORS))
def test_validate_reports_each_bad_input(case, root, capsys):
    damage, expected = VALIDATE_ERRORS[case]
    damage(root)
    assert main(["validate", str(root)]) == 1
    assert expected in capsys.readouterr().out


LOAD_ERRORS = [
    "corrupt_wav_header",
    "zero_length_audio",
    "duplicate_ids",
    "empty_corpus",
    "path_traversing_id",
    "unknown_split",
    "annotations_not_json",
]


@pytest.mark.parametrize("case", LOAD_ERRORS)
def test_commands_that_read_the_corpus_fail_with_one_line(case, root, capsys):
    VALIDATE_ERRORS[case][0](root)
    assert main(["labels", str(root), "--overwrite"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("avsvt: error: ")


REPAIRED = {
    "wav_8bit": lambda p, a: sf.write(p, a, 16000, subtype="PCM_U8"),
    "wav_24bit": lambda p, a: sf.write(p, a, 16000, subtype="PCM_24"),
    "wav_float": lambda p, a: sf.write(p, a, 16000, subtype="FLOAT"),
    "wav_44k_stereo": lambda p, a: sf.write(p, np.stack([a, a], 1)[::1], 16000),
    "wav_48k": lambda p, a: sf.write(
        p, np.interp(np.arange(len(a) * 3) / 3, np.arange(len(a)), a), 48000
    ),
    "overlapping_notes": None,
}


@pytest.mark.parametrize("case", sorted(REPAIRED))
def test_documented_repairs_pass_with_a_warning_or_silently(case, root, capsys):
    if case == "overlapping_notes":
        data = ann(root)
        data["song000"]["midi"].append([0.3, 3.0, 62])
        set_ann(root, data)
        expect_warning = "overlapping"
    else:
        path = song(root) / "vocals.wav"
        audio, _ = sf.read(path, dtype="float32")
        REPAIRED[case](path, np.clip(audio, -1, 1))
        expect_warning = (
            "resampled" if case == "wav_48k" else ("channel" if "stereo" in case else None)
        )
    assert main(["validate", str(root)]) == 0
    out = capsys.readouterr().out
    if expect_warning:
        assert "warning" in out and expect_warning in out
    assert main(["labels", str(root), "--overwrite"]) == 0
