"""A recording (and optionally a lip video) to notes: the library behind ``avsvt transcribe``.

Two kinds of transcription:

* a :class:`FramePredictor` (a trained model): anything that maps a window of 16 kHz audio (and the
  matching 50 fps mouth crops, when it uses video) to (T, 20) logits on the 49.8 fps utterance
  grid, decoded by the reference decoder, optionally with the note pitch read from the voice's f0;
  long inputs run window by window (:mod:`avsvt.transcribe.chunking`), so memory stays bounded;
* the built-in :class:`F0NoteTracker`: notes from the voice's f0 (:mod:`avsvt.f0notes`), audio
  only, the default (see the README for why and for its measured accuracy).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from avsvt.constants import AUDIO_FPS, SAMPLE_RATE, VIDEO_FPS
from avsvt.decoding import DecoderConfig, FramePosteriors, decode_notes, refine_pitch_with_f0
from avsvt.errors import DataError
from avsvt.f0 import yin
from avsvt.f0notes import F0NoteSettings, transcribe_f0
from avsvt.notes import Note
from avsvt.transcribe.chunking import run_chunked

logger = logging.getLogger(__name__)


class FramePredictor(Protocol):
    """What transcription needs from a model."""

    @property
    def uses_video(self) -> bool:
        """True when the model takes mouth crops as well as audio."""
        ...

    def predict(
        self, audio: npt.NDArray[np.float32], video: npt.NDArray[np.uint8] | None
    ) -> npt.NDArray[np.float32]:
        """(samples,) 16 kHz audio [+ (T_video, H, W) uint8 crops at 50 fps] -> (T, 20) logits."""
        ...


@dataclass(frozen=True)
class F0NoteTracker:
    """The built-in transcription: notes from the voice's f0, audio only (:mod:`avsvt.f0notes`)."""

    settings: F0NoteSettings = field(default_factory=F0NoteSettings)

    @property
    def uses_video(self) -> bool:
        """Always False: the tracker listens only."""
        return False


Transcription = FramePredictor | F0NoteTracker
"""What :func:`transcribe_array` runs: a trained model or the built-in f0 note tracker."""


@dataclass(frozen=True)
class TranscriptionResult:
    """Notes of one recording and how they were obtained.

    Attributes:
        notes: Decoded notes, sorted by onset.
        duration_s: Length of the audio.
        used_video: Whether lip video informed the notes.
        video_gaps_s: Time ranges where the face was lost (treated as missing video).
        seconds: Wall-clock transcription time.
        messages: Human-readable remarks (fallbacks, repairs).
    """

    notes: list[Note]
    duration_s: float
    used_video: bool
    video_gaps_s: list[tuple[float, float]] = field(default_factory=list)
    seconds: float = 0.0
    messages: list[str] = field(default_factory=list)

    @property
    def real_time_factor(self) -> float:
        """Seconds of audio transcribed per second of computation."""
        return self.duration_s / self.seconds if self.seconds > 0 else float("inf")


def transcribe_array(
    audio: npt.NDArray[np.float32],
    predictor: Transcription,
    *,
    video: npt.NDArray[np.uint8] | None = None,
    decoder: DecoderConfig | None = None,
    f0_pitch: bool = False,
    window_utterances: int = 6,
    context_utterances: int = 1,
) -> list[Note]:
    """Transcribe 16 kHz mono audio (and 50 fps crops aligned with it) with ``predictor``.

    Args:
        audio: (samples,) float32 at 16 kHz.
        predictor: A model, or the built-in f0 note tracker.
        video: (T, H, W) uint8 mouth crops at 50 fps starting at the audio's start, or None.
        decoder: Decoder settings for a model (reference defaults at 49.8 fps).
        f0_pitch: For a model: each note's pitch is the voice's median f0 over the note
            (fractional MIDI, :func:`avsvt.decoding.refine_pitch_with_f0`) instead of its integer
            class (the reference's).
        window_utterances: 5-s utterances per inference window.
        context_utterances: Context utterances on each side of a window.

    Returns:
        Notes sorted by onset.
    """
    if len(audio) == 0:
        raise DataError("audio has no samples")
    if isinstance(predictor, F0NoteTracker):
        return transcribe_f0(audio, predictor.settings)

    def read(start: int, stop: int) -> npt.NDArray[np.float32]:
        return audio[start:stop]

    def predict(window: npt.NDArray[np.float32], first_frame: int) -> npt.NDArray[np.float32]:
        crops = None
        if video is not None and predictor.uses_video:
            start_s = first_frame / AUDIO_FPS
            first = round(start_s * VIDEO_FPS)
            crops = video[first : first + round(len(window) / SAMPLE_RATE * VIDEO_FPS)]
        return predictor.predict(window, crops)

    logits = run_chunked(
        len(audio),
        read,
        predict,
        window_utterances=window_utterances,
        context_utterances=context_utterances,
    )
    notes = decode_notes(
        FramePosteriors.from_logits(logits), decoder or DecoderConfig(fps=AUDIO_FPS)
    )
    if f0_pitch:
        track = yin(audio)
        notes = refine_pitch_with_f0(notes, track.midi(), track.fps)
    return notes


def timed_transcription(
    audio: npt.NDArray[np.float32],
    predictor: Transcription,
    *,
    video: npt.NDArray[np.uint8] | None = None,
    decoder: DecoderConfig | None = None,
    f0_pitch: bool = False,
    messages: list[str] | None = None,
    video_gaps_s: list[tuple[float, float]] | None = None,
) -> TranscriptionResult:
    """Run :func:`transcribe_array` and wrap the notes with timing information."""
    start = time.perf_counter()
    notes = transcribe_array(audio, predictor, video=video, decoder=decoder, f0_pitch=f0_pitch)
    return TranscriptionResult(
        notes=notes,
        duration_s=len(audio) / SAMPLE_RATE,
        used_video=video is not None and predictor.uses_video,
        video_gaps_s=video_gaps_s or [],
        seconds=time.perf_counter() - start,
        messages=messages or [],
    )


def transcribe_file(
    audio: str | Path,
    video: str | Path | None = None,
    *,
    model: str | Path | Transcription | None = None,
    decoder: DecoderConfig | None = None,
    f0_pitch: bool = False,
) -> TranscriptionResult:
    """Transcribe a recording (and its singer's lip video) to notes.

    Args:
        audio: An audio file in any rate or channel count (wav, flac, ogg, mp3) or a video file's
            audio track; resampled to 16 kHz mono.
        video: A lip video (mp4/avi/mkv/mpg, or an N20EMv2 ``.npy`` of mouth crops), used when the
            model takes video; lost faces are handled as :func:`load_video` documents.
        model: A checkpoint path, an already loaded model, or None for the built-in f0 note
            tracker (audio only).
        decoder: Decoder settings for a model.
        f0_pitch: For a model: note pitch from the voice's f0 (see :func:`transcribe_array`).

    Returns:
        The notes with timing information and any remarks (fallbacks, repairs).

    Raises:
        AvsvtError: Unreadable audio or video, or an unusable model file (one-line message).
    """
    from avsvt.transcribe.inputs import load_audio, load_video
    from avsvt.transcribe.predictor import load_predictor

    predictor = model if not isinstance(model, (str, Path, type(None))) else load_predictor(model)
    samples = load_audio(audio)
    crops, messages, gaps = None, [], []
    if video is not None:
        if not predictor.uses_video:
            messages.append("the model is audio-only: the video is ignored")
        else:
            aligned = load_video(video, len(samples))
            crops, messages, gaps = aligned.crops, list(aligned.messages), aligned.gaps_s
    return timed_transcription(
        samples,
        predictor,
        video=crops,
        decoder=decoder,
        f0_pitch=f0_pitch,
        messages=messages,
        video_gaps_s=gaps,
    )
