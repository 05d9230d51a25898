"""Issue 15, data files (items 8, 13, 15-19): each case through the CLI, with its outcome.

Errors end with exit code 1 and one line on stderr naming the file (or, for ``validate``, the
problem listed with the others); repairs succeed with one warning.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from avsvt.cli import main

AVSVT = str(Path(sys.executable).with_name("avsvt"))


@pytest.fixture
def root(tiny_root, tmp_path):
    copy = tmp_path / "root"
    shutil.copytree(tiny_root, copy)
    return copy


def song(root: Path, name: str = "song000") -> Path:
    return root / "data" / name


def edit_annotations(root: Path, change) -> None:
    path = root / "annotations.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def sung(seconds: float = 3.0, rate: int = 16_000) -> np.ndarray:
    """A 220 Hz tone, half scale: one note for the built-in tracker."""
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The installed command in its own process: what a user sees on stderr, warnings included."""
    return subprocess.run(
        [AVSVT, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("avsvt: error: "), err
    return err[0]


# item 8 ---------------------------------------------------------------------------------------


def test_wav_header_claiming_1_hz_is_refused_naming_the_rate(tmp_path, capsys):
    path = tmp_path / "one_hz.wav"
    sf.write(path, sung(0.025), 1, subtype="PCM_16")  # 400 frames "at 1 Hz": 400 s at 16 kHz
    assert main(["transcribe", str(path), "-o", str(tmp_path / "out")]) == 1
    line = one_error_line(capsys)
    assert f"{path}: sample rate 1 Hz" in line and "header" in line
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_validate_lists_a_vocals_wav_claiming_1_hz(root, capsys):
    sf.write(song(root) / "vocals.wav", sung(0.025), 1, subtype="PCM_16")
    assert main(["validate", str(root)]) == 1
    out = capsys.readouterr().out
    assert "song000/vocals.wav: sample rate 1 Hz" in out


# item 13 --------------------------------------------------------------------------------------


def test_validate_reports_a_vocals_wav_full_of_nan(root, capsys):
    path = song(root) / "vocals.wav"
    audio, rate = sf.read(path, dtype="float32")
    audio[8000:] = np.nan
    sf.write(path, audio, rate, subtype="FLOAT")
    assert main(["validate", str(root)]) == 1
    out = capsys.readouterr().out
    assert "error: [song000]" in out
    nan = "song000/vocals.wav: audio contains NaN or infinite samples (the first at 0.500 s)"
    assert nan in out


# item 15 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scale", "subtype", "channels"),
    [(1e30, "FLOAT", 1), (3.4e38 / 0.5, "FLOAT", 2), (1e300, "DOUBLE", 1)],
    ids=["1e30", "float32-max-stereo", "double-1e300"],
)
def test_float_wav_far_beyond_full_scale_is_scaled_with_one_warning(
    tmp_path, scale, subtype, channels
):
    audio = sung().astype(np.float64)
    sf.write(tmp_path / "plain.wav", audio, 16_000, subtype="FLOAT")
    loud = np.repeat((audio * scale)[:, None], channels, axis=1)
    sf.write(tmp_path / "loud.wav", loud, 16_000, subtype=subtype)
    for name in ("plain.wav", "loud.wav"):
        result = run_cli(
            "transcribe",
            str(tmp_path / name),
            "-o",
            str(tmp_path),
            "--format",
            "csv",
            "--model",
            "f0",
        )  # the tracker: a plain sine is one note to it (the default model hears no voice)
        assert result.returncode == 0, result.stderr
    assert "RuntimeWarning" not in result.stderr and "overflow" not in result.stderr
    lines = result.stderr.splitlines()
    assert all(line.startswith("avsvt: ") for line in lines), result.stderr  # no raw warnings
    scaled = [line for line in lines if "full scale" in line]
    assert len(scaled) == 1 and scaled[0].startswith(f"avsvt: WARNING: {tmp_path}/loud.wav: ")
    assert f"samples reach {scale * 0.5:.3g}, far beyond full scale" in scaled[0]
    loud_notes = (tmp_path / "loud.csv").read_text()
    assert len(loud_notes.splitlines()) > 1  # it used to give 0 notes
    assert loud_notes == (tmp_path / "plain.csv").read_text()


def test_validate_warns_about_float_samples_far_beyond_full_scale(root, capsys):
    path = song(root) / "accomp.wav"
    audio, rate = sf.read(path, dtype="float64")
    sf.write(path, audio * 1e30, rate, subtype="FLOAT")
    assert main(["validate", str(root)]) == 0
    out = capsys.readouterr().out
    assert "warning: [song000]" in out and "accomp.wav: samples reach" in out


# item 16 --------------------------------------------------------------------------------------


def cut_wav(path: Path, keep: float) -> None:
    data = path.read_bytes()
    header = data.index(b"data") + 8
    path.write_bytes(data[: header + int((len(data) - header) * keep) // 4 * 4])


def test_cut_off_wav_is_read_with_a_warning_saying_how_much_is_there(tmp_path, capsys):
    path = tmp_path / "cut.wav"
    sf.write(path, sung(3.0), 16_000, subtype="FLOAT")
    cut_wav(path, 0.5)
    assert main(["transcribe", str(path), "-o", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert (
        "cut.wav: truncated: the header promises 48000 frames (3.00 s), the file holds 24000 "
        "(1.50 s, 50%)" in err
    )


def test_validate_warns_about_cut_off_wavs(root, capsys):
    for name in ("vocals.wav", "accomp.wav"):  # both cut alike: lengths still agree
        cut_wav(song(root) / name, 0.8)
    assert main(["validate", str(root)]) == 0
    out = capsys.readouterr().out
    assert out.count("truncated: the header promises 64000 frames (4.00 s)") == 2
    assert "the file holds 51200 (3.20 s, 80%); read as the shorter audio" in out


def test_notes_past_the_audio_end_are_reported(root, capsys):
    def change(data):
        data["song000"]["midi"].append([3.9, 10.0, 60])  # ends 6 s after the 4 s of audio
        data["song001"]["midi"].append([100.0, 101.0, 60])  # starts after it

    edit_annotations(root, change)
    assert main(["validate", str(root)]) == 0
    out = capsys.readouterr().out
    assert "warning: [song000]" in out and "1 note(s) end after the audio" in out
    assert "3.9-10 s (pitch 60)" in out
    assert "warning: [song001]" in out and "1 note(s) start after the audio ends" in out


@pytest.mark.parametrize("offset", [1e12, 1e300])
def test_note_times_beyond_a_day_are_errors_and_labels_prints_no_numpy_warning(root, offset):
    edit_annotations(root, lambda d: d["song000"]["midi"].append([3.9, offset, 60]))
    result = run_cli("validate", str(root))
    assert result.returncode == 1
    assert f"note 10: offset {offset:g} s past 24 h" in result.stdout
    result = run_cli("labels", str(root), "--overwrite")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"avsvt: error: {root}/annotations.json: song 'song000': note 10: offset {offset:g} s "
        "past 24 h: not a time in a recording"
    ]


# item 17 --------------------------------------------------------------------------------------


def test_annotations_of_100000_songs_are_parsed_in_linear_time(tmp_path):
    """The quadratic duplicate check took over 10 minutes here; linear parsing takes seconds."""
    n = 100_000
    root = tmp_path / "root"
    root.mkdir()
    entry = {"split": "train", "midi": [[0.1, 0.5, 60], [0.6, 0.9, 62]]}
    (root / "annotations.json").write_text(json.dumps({f"s{i:06d}": entry for i in range(n)}))
    start = time.monotonic()
    try:
        result = run_cli("validate", str(root), timeout=60)  # generous: about 5 s on 2 cores
    except subprocess.TimeoutExpired:
        pytest.fail(f"validate of {n} songs took over 60 s")
    assert result.returncode == 1  # no song folders
    assert result.stdout.count("song folder not found") == n
    assert f"({n} error(s), 0 warning(s))" in result.stdout
    print(f"validate of {n} songs: {time.monotonic() - start:.1f} s")


# item 18 (correctness of blockwise reading; memory: benchmarks/bench_audio_memory.py) --------


def test_blockwise_resampling_gives_the_one_shot_samples(tmp_path, monkeypatch, capsys):
    import avsvt.data.audio as audio_module

    monkeypatch.setattr(audio_module, "BLOCK_SAMPLES", 5_000)  # many blocks over 3 s
    rng = np.random.default_rng(0)
    stereo = (0.3 * rng.standard_normal((44_100 * 3 + 17, 2))).astype(np.float32)
    path = tmp_path / "stereo44k.wav"
    sf.write(path, stereo, 44_100, subtype="FLOAT")
    expected = soxr.resample(stereo.mean(axis=1), 44_100, 16_000, quality="HQ")
    got = audio_module.read_audio(path)
    np.testing.assert_array_equal(got, expected)
    assert main(["transcribe", str(path), "-o", str(tmp_path / "out")]) == 0


# item 19 (data files) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda p: p.mkdir(), "is a directory, not a file"),
        (lambda p: os.mkfifo(p), "is a named pipe (FIFO), not a regular file"),
        (lambda p: p.symlink_to("/dev/zero"), "is a character device, not a regular file"),
        (lambda p: p.symlink_to(p.with_name("gone.wav")), "broken symbolic link (to "),
    ],
    ids=["directory", "fifo", "link-to-dev-zero", "dangling-link"],
)
def test_transcribe_says_what_a_non_file_input_is(tmp_path, capsys, make, problem):
    path = tmp_path / "a.wav"
    make(path)
    assert main(["transcribe", str(path), "-o", str(tmp_path / "out")]) == 1
    assert one_error_line(capsys).startswith(f"avsvt: error: {path}: {problem}")


def test_transcribe_of_dev_zero_names_it(tmp_path, capsys):
    assert main(["transcribe", "/dev/zero", "-o", str(tmp_path / "out")]) == 1
    assert one_error_line(capsys) == (
        "avsvt: error: /dev/zero: is a character device, not a regular file"
    )


def test_validate_says_what_data_files_are_when_they_are_not_files(root, capsys):
    vocals = song(root) / "vocals.wav"
    vocals.unlink()
    vocals.mkdir()
    accomp = song(root, "song001") / "accomp.wav"
    accomp.unlink()
    accomp.symlink_to(accomp.with_name("loop.wav"))
    accomp.with_name("loop.wav").symlink_to(accomp)
    video = song(root, "song002") / "video_50fps.npy"
    video.unlink()
    os.mkfifo(video)
    assert main(["validate", str(root)]) == 1
    out = capsys.readouterr().out
    assert f"{vocals}: is a directory, not a file" in out
    assert f"{accomp}: symbolic link loop" in out
    assert f"{video}: is a named pipe (FIFO), not a regular file" in out
    assert "file not found" not in out


def test_annotations_json_that_is_a_directory_is_named_as_such(root, capsys):
    (root / "annotations.json").unlink()
    (root / "annotations.json").mkdir()
    assert main(["validate", str(root)]) == 1
    assert f"{root}/annotations.json: is a directory, not a file" in capsys.readouterr().out
    assert main(["labels", str(root)]) == 1
    assert one_error_line(capsys) == (
        f"avsvt: error: {root}/annotations.json: is a directory, not a file"
    )


def test_validate_lists_a_300_character_song_id_with_the_other_problems(root, capsys):
    long_id = "x" * 300

    def change(data):
        data[long_id] = {"split": "train", "midi": []}
        data["song001"]["split"] = "dev"

    edit_annotations(root, change)
    assert main(["validate", str(root)]) == 1
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "too long for a folder name (300 bytes, at most 255)" in captured.out
    assert "unknown split 'dev'" in captured.out  # listed with the others, not aborted
    assert "(2 error(s), 0 warning(s))" in captured.out
    edit_annotations(root, lambda d: d["song001"].update(split="valid"))
    assert main(["labels", str(root)]) == 1
    assert "too long for a folder name" in one_error_line(capsys)


def test_synth_corpus_with_too_few_songs_names_the_corpus(tmp_path, capsys):
    out = tmp_path / "corpus"
    assert main(["synth", "corpus", str(out), "--songs", "2"]) == 1
    assert one_error_line(capsys) == (
        f"avsvt: error: {out}: --songs 2: a corpus needs at least 3 songs (one per split)"
    )


# every header a WAV can claim -----------------------------------------------------------------


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    fmt=st.sampled_from([1, 3, 0xFFFE, 7]),
    channels=st.integers(0, 70_000),
    rate=st.integers(0, 2**32 - 1),
    bits=st.sampled_from([0, 8, 16, 24, 32, 64, 13]),
    data_size=st.integers(0, 2**32 - 1),
    payload=st.binary(max_size=400),
)
def test_any_wav_header_reads_or_raises_a_data_error(
    tmp_path, fmt, channels, rate, bits, data_size, payload
):
    import struct

    from avsvt.data.audio import read_audio, scan_audio
    from avsvt.errors import DataError

    align = max(1, channels * bits // 8) % 65536
    fmt_chunk = struct.pack(
        "<HHIIHH", fmt, channels % 65536, rate, rate * align % 2**32, align, bits
    )
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt_chunk
    body += b"data" + struct.pack("<I", data_size) + payload
    path = tmp_path / "h.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    for reader in (read_audio, scan_audio):
        try:
            reader(path)
        except DataError:
            pass
