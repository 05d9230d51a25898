"""The peers we compare with, run on the same inputs: a pYIN note tracker and basic-pitch.

* ``pyin_notes``: the plain pitch-tracker pipeline of issue 10, exactly: audio at 16 kHz;
  ``librosa.pyin(fmin=65, fmax=1000, frame_length=1024, hop_length=160)``; unvoiced frames set to 0
  and a 5-frame median filter; a note is a run of voiced frames, split where the frame pitch moves
  more than 0.7 semitone from the running note's median; notes shorter than 80 ms dropped; note
  pitch = median frame pitch in fractional MIDI (or rounded, ``round_pitch=True``).
* ``basic_pitch_notes``: Spotify's basic-pitch 0.4.0 through its ONNX model (shipped in its wheel,
  installed without TensorFlow), at its defaults unless thresholds are given.

Both need the optional packages set-up installs (librosa; basic-pitch + onnxruntime); a missing one
gives a clear error.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from avsvt.constants import SAMPLE_RATE
from avsvt.data.audio import write_audio
from avsvt.errors import AvsvtError
from avsvt.notes import Note, hz_to_midi

logger = logging.getLogger(__name__)

PYIN_HOP = 160
PYIN_FRAME_LENGTH = 1024


@dataclass(frozen=True)
class PyinSettings:
    """Note segmentation of the pYIN peer (defaults: issue 10's pipeline)."""

    fmin_hz: float = 65.0
    fmax_hz: float = 1000.0
    median_frames: int = 5
    split_semitones: float = 0.7
    min_note_s: float = 0.08
    round_pitch: bool = False


def _require(module: str, extra: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise AvsvtError(
            f"the {extra} peer needs the '{module}' package (installed by `make setup`)"
        )


def pyin_f0(audio: npt.NDArray[np.float32], settings: PyinSettings) -> npt.NDArray[np.float64]:
    """Frame f0 in Hz at 100 frames/s (0 where unvoiced), median filtered."""
    _require("librosa", "pyin")
    import librosa
    from scipy.signal import medfilt

    f0, voiced, _ = librosa.pyin(
        audio.astype(np.float64),
        fmin=settings.fmin_hz,
        fmax=settings.fmax_hz,
        sr=SAMPLE_RATE,
        frame_length=PYIN_FRAME_LENGTH,
        hop_length=PYIN_HOP,
    )
    f0 = np.where(voiced & np.isfinite(f0), f0, 0.0)
    return np.asarray(medfilt(f0, settings.median_frames), dtype=np.float64)


def segment_f0(
    f0_hz: npt.NDArray[np.float64], frame_s: float, settings: PyinSettings
) -> list[Note]:
    """Notes from a frame f0 track: voiced runs split at pitch jumps, short notes dropped."""
    notes: list[Note] = []
    current: list[float] = []
    start = 0

    def close(end: int) -> None:
        if current and (end - start) * frame_s >= settings.min_note_s:
            pitch = float(np.median(current))
            notes.append(
                Note(
                    start * frame_s,
                    end * frame_s,
                    float(round(pitch)) if settings.round_pitch else pitch,
                )
            )

    for i, hz in enumerate(f0_hz):
        if hz <= 0:
            close(i)
            current = []
            continue
        midi = hz_to_midi(float(hz))
        if current and abs(midi - float(np.median(current))) > settings.split_semitones:
            close(i)
            current = []
        if not current:
            start = i
        current.append(midi)
    close(len(f0_hz))
    return notes


def pyin_notes(audio: npt.NDArray[np.float32], settings: PyinSettings | None = None) -> list[Note]:
    """Transcribe 16 kHz mono audio with the pYIN + segmentation peer."""
    settings = settings or PyinSettings()
    return segment_f0(pyin_f0(audio, settings), PYIN_HOP / SAMPLE_RATE, settings)


@dataclass(frozen=True)
class BasicPitchSettings:
    """basic-pitch's own parameters (its defaults)."""

    onset_threshold: float = 0.5
    frame_threshold: float = 0.3
    minimum_note_length_ms: float = 127.70
    minimum_frequency_hz: float | None = None
    maximum_frequency_hz: float | None = None


def basic_pitch_output(audio: npt.NDArray[np.float32]) -> dict[str, npt.NDArray[np.float32]]:
    """basic-pitch's model output (note, onset and contour posteriors) for 16 kHz mono audio."""
    _require("basic_pitch", "basic-pitch")
    _require("onnxruntime", "basic-pitch")
    logging.getLogger("root").setLevel(
        logging.ERROR
    )  # basic-pitch warns about missing TF at import
    from basic_pitch import ICASSP_2022_MODEL_PATH
    from basic_pitch.inference import run_inference

    model_path = Path(ICASSP_2022_MODEL_PATH).with_suffix(".onnx")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "input.wav"
        write_audio(wav, audio)
        output: dict[str, npt.NDArray[np.float32]] = run_inference(str(wav), str(model_path))
    return output


def basic_pitch_decode(
    output: dict[str, npt.NDArray[np.float32]], settings: BasicPitchSettings | None = None
) -> list[Note]:
    """basic-pitch's own note decoding of its model output, as ``basic_pitch.inference.predict``."""
    from basic_pitch import note_creation
    from basic_pitch.constants import AUDIO_SAMPLE_RATE, FFT_HOP

    settings = settings or BasicPitchSettings()
    _, events = note_creation.model_output_to_notes(
        output,
        onset_thresh=settings.onset_threshold,
        frame_thresh=settings.frame_threshold,
        min_note_len=int(
            np.round(settings.minimum_note_length_ms / 1000 * (AUDIO_SAMPLE_RATE / FFT_HOP))
        ),
        min_freq=settings.minimum_frequency_hz,
        max_freq=settings.maximum_frequency_hz,
    )
    notes = [Note(float(e[0]), float(e[1]), float(e[2])) for e in events if e[1] > e[0]]
    return sorted(notes)


def basic_pitch_notes(
    audio: npt.NDArray[np.float32], settings: BasicPitchSettings | None = None
) -> list[Note]:
    """Transcribe 16 kHz mono audio with basic-pitch (ONNX); its notes may overlap (polyphonic)."""
    return basic_pitch_decode(basic_pitch_output(audio), settings)
