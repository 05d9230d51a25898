"""``avsvt listen``: its JSON lines and note files against ``avsvt transcribe`` (the oracle)."""

import importlib.util
import io
import json
import sys

import numpy as np
import pytest
import soundfile as sf

from avsvt.cli import main
from avsvt.constants import SAMPLE_RATE
from avsvt.data.audio import read_audio
from avsvt.metrics import score_notes
from avsvt.notefiles import read_notes
from avsvt.notes import Note
from avsvt.testing import random_melody, synth_vocal
from avsvt.transcribe.api import transcribe_array
from avsvt.transcribe.predictor import DEFAULT_MODEL, load_predictor


def song(seed: int = 0, duration_s: float = 8.0) -> np.ndarray:
    notes = random_melody(np.random.default_rng(seed), duration_s=duration_s)
    return synth_vocal(notes, int(duration_s * SAMPLE_RATE))


def events_of(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def notes_of(events: list[dict]) -> list[Note]:
    return [
        Note(e["onset_s"], e["offset_s"], e["pitch_midi"])
        for e in events
        if e["event"] == "note_off"
    ]


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("avsvt: error: "), err
    return lines[0]


def test_a_file_gives_the_notes_and_files_of_avsvt_transcribe(tmp_path, capsys) -> None:
    stereo = np.stack([song(1), song(1)], axis=1)
    sf.write(tmp_path / "song.wav", stereo, SAMPLE_RATE)  # decoded as transcribe decodes it
    wav = str(tmp_path / "song.wav")
    formats = ["--format", "mid,csv,json"]
    assert (
        main(["transcribe", wav, "--model", "f0", "-o", str(tmp_path / "offline"), *formats]) == 0
    )
    capsys.readouterr()
    assert main(["listen", wav, "--model", "f0", "-o", str(tmp_path / "live"), *formats]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""  # quiet: the events are the only output
    events = events_of(captured.out)
    assert {e["event"] for e in events} == {"note_on", "note_off"}
    offline = read_notes(tmp_path / "offline" / "song.json")
    assert len(offline) > 8 and notes_of(events) == offline
    for name in ("song.csv", "song.mid"):
        assert (tmp_path / "live" / name).read_bytes() == (tmp_path / "offline" / name).read_bytes()
    assert read_notes(tmp_path / "live" / "song.json") == offline
    assert main(["listen", wav, "--model", "f0", "-o", str(tmp_path / "live")]) == 1
    assert "--overwrite" in one_error_line(capsys)


def test_the_default_model_listens_too(tmp_path, capsys) -> None:
    audio = song(2, 5.0)
    sf.write(tmp_path / "s.wav", audio, SAMPLE_RATE)
    assert main(["listen", str(tmp_path / "s.wav"), "--update", "0.2"]) == 0
    live = notes_of(events_of(capsys.readouterr().out))
    offline = transcribe_array(audio, load_predictor(DEFAULT_MODEL))  # live runs the network
    assert len(offline) > 4
    assert score_notes(offline, live).COnPOff.f1 >= 0.8  # running level: close, not equal


def with_stdin(monkeypatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def test_raw_pcm_on_stdin_s16le_and_f32le(monkeypatch, capsys) -> None:
    audio = song(3)
    pcm = np.round(audio * 32767).astype("<i2")
    with_stdin(monkeypatch, pcm.tobytes())
    assert main(["listen", "-", "--rate", "16000", "--model", "f0"]) == 0
    live = notes_of(events_of(capsys.readouterr().out))
    offline = transcribe_array(pcm.astype(np.float32) / np.float32(32768), load_predictor("f0"))
    assert len(offline) > 8 and live == offline

    stereo_44k = np.stack([audio, audio], axis=1)
    import soxr

    stereo_44k = soxr.resample(stereo_44k, SAMPLE_RATE, 44_100).astype("<f4")
    with_stdin(monkeypatch, stereo_44k.tobytes() + b"\x00")  # and a stray byte
    args = ["listen", "-", "--rate", "44100", "--pcm", "f32le", "--channels", "2", "--model", "f0"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "trailing byte" in captured.err
    assert score_notes(offline, notes_of(events_of(captured.out))).COnPOff.f1 >= 0.9


def test_bad_input_is_one_line_naming_the_file(tmp_path, monkeypatch, capsys) -> None:
    (tmp_path / "bad.wav").write_bytes(b"not audio at all")
    assert main(["listen", str(tmp_path / "bad.wav"), "--model", "f0"]) == 1
    assert "bad.wav: not a readable audio file" in one_error_line(capsys)
    assert main(["listen", str(tmp_path / "none.wav"), "--model", "f0"]) == 1
    assert "none.wav: file not found" in one_error_line(capsys)
    (tmp_path / "model.json").write_text("{}")
    assert main(["listen", str(tmp_path / "bad.wav"), "--model", str(tmp_path / "model.json")])
    assert "model.json: not an avsvt-f0notes model file" in one_error_line(capsys)
    sf.write(tmp_path / "ok.wav", song(4, 2.0), SAMPLE_RATE)
    assert main(["listen", str(tmp_path / "ok.wav"), "--model", "f0", "--lookahead", "0.1"]) == 1
    assert "lookahead" in one_error_line(capsys)
    assert main(["listen", str(tmp_path / "ok.wav"), "--mic"]) == 1
    assert "not both" in one_error_line(capsys)
    assert main(["listen"]) == 1
    assert "nothing to listen to" in one_error_line(capsys)


def test_bad_stdin_is_one_line(monkeypatch, capsys) -> None:
    with_stdin(monkeypatch, b"")
    assert main(["listen", "-", "--model", "f0"]) == 1
    assert "--rate" in one_error_line(capsys)
    assert main(["listen", "-", "--rate", "100", "--model", "f0"]) == 1
    assert "sample rate 100 Hz" in one_error_line(capsys)
    samples = np.zeros(4000, dtype="<f4")
    samples[3200] = np.nan
    with_stdin(monkeypatch, samples.tobytes())
    assert main(["listen", "-", "--rate", "16000", "--pcm", "f32le", "--model", "f0"]) == 1
    line = one_error_line(capsys)
    assert "-: NaN or infinite sample at 0.200 s" in line


@pytest.mark.skipif(importlib.util.find_spec("sounddevice") is not None, reason="installed")
def test_the_microphone_without_sounddevice_is_one_line(capsys) -> None:
    assert main(["listen", "--mic", "--model", "f0"]) == 1
    assert "pip install sounddevice" in one_error_line(capsys)


@pytest.mark.skipif(importlib.util.find_spec("rtmidi") is not None, reason="installed")
def test_a_midi_port_without_mido_and_rtmidi_is_one_line(tmp_path, capsys) -> None:
    sf.write(tmp_path / "ok.wav", song(5, 2.0), SAMPLE_RATE)
    assert main(["listen", str(tmp_path / "ok.wav"), "--model", "f0", "--midi-port", "x"]) == 1
    assert "pip install mido python-rtmidi" in one_error_line(capsys)


def test_early_note_ons_on_the_command_line_leave_the_notes_alone(tmp_path, capsys) -> None:
    audio = song(6, 10.0)
    sf.write(tmp_path / "s.wav", audio, SAMPLE_RATE)
    assert main(["listen", str(tmp_path / "s.wav"), "--model", "f0", "--early"]) == 0
    events = events_of(capsys.readouterr().out)
    decoded = read_audio(tmp_path / "s.wav")  # 16-bit PCM, as the file holds it
    assert notes_of(events) == transcribe_array(decoded, load_predictor("f0"))
    closed = [e["onset_s"] for e in events if e["event"] in ("note_off", "note_cancel")]
    assert sorted(closed) == sorted(e["onset_s"] for e in events if e["event"] == "note_on")


def test_the_midi_port_plays_the_nearest_key_and_releases_it(monkeypatch) -> None:
    """mido and python-rtmidi stood in for: what reaches the port."""
    import types

    from avsvt.live.events import NoteEvent
    from avsvt.live.sinks import MidiPort

    sent = []

    class Port:
        def send(self, message):
            sent.append((message.type, message.note))

        def close(self):
            sent.append(("closed", None))

    class Message:
        def __init__(self, type, note, velocity=0, channel=0):  # noqa: A002 - mido's name
            self.type, self.note = type, note

    mido = types.SimpleNamespace(
        Message=Message, get_output_names=lambda: ["Synth A:0"], open_output=lambda *a, **k: Port()
    )
    monkeypatch.setitem(sys.modules, "mido", mido)
    monkeypatch.setitem(sys.modules, "rtmidi", types.ModuleType("rtmidi"))
    with pytest.raises(Exception, match="no MIDI output port 'B'.*Synth A:0"):
        MidiPort("B")
    port = MidiPort("Synth")
    port.send(NoteEvent("note_on", 1.0, 59.6, 1.1))  # provisional pitch: key 60
    port.send(NoteEvent("note_off", 1.0, 60.7, 1.5, 1.4))  # the key that sounds is released
    port.send(NoteEvent("note_on", 2.0, 64.2, 2.1))
    port.send(NoteEvent("note_cancel", 2.0, 64.2, 2.2))
    port.send(NoteEvent("note_on", 3.0, 67.0, 3.1))
    port.close()  # releases what still sounds
    assert sent == [
        ("note_on", 60),
        ("note_off", 60),
        ("note_on", 64),
        ("note_off", 64),
        ("note_on", 67),
        ("note_off", 67),
        ("closed", None),
    ]
