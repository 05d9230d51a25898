"""A recording (and optionally a lip video) to notes: the library behind ``avsvt transcribe``.

The model side is a :class:`FramePredictor`: anything that maps a window of 16 kHz audio (and the
matching 50 fps mouth crops, when it uses video) to (T, 20) logits on the 49.8 fps utterance grid.
Long inputs run window by window (:mod:`avsvt.transcribe.chunking`), so memory stays bounded.
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
from avsvt.decoding import DecoderConfig, FramePosteriors, decode_notes
from avsvt.errors import DataError
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
    predictor: FramePredictor,
    *,
    video: npt.NDArray[np.uint8] | None = None,
    decoder: DecoderConfig | None = None,
    window_utterances: int = 6,
    context_utterances: int = 1,
) -> list[Note]:
    """Transcribe 16 kHz mono audio (and 50 fps crops aligned with it) with ``predictor``.

    Args:
        audio: (samples,) float32 at 16 kHz.
        predictor: The model.
        video: (T, H, W) uint8 mouth crops at 50 fps starting at the audio's start, or None.
        decoder: Decoder settings (reference defaults at 49.8 fps).
        window_utterances: 5-s utterances per inference window.
        context_utterances: Context utterances on each side of a window.

    Returns:
        Notes sorted by onset.
    """
    if len(audio) == 0:
        raise DataError("audio has no samples")

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
    return decode_notes(
        FramePosteriors.from_logits(logits), decoder or DecoderConfig(fps=AUDIO_FPS)
    )


def timed_transcription(
    audio: npt.NDArray[np.float32],
    predictor: FramePredictor,
    *,
    video: npt.NDArray[np.uint8] | None = None,
    decoder: DecoderConfig | None = None,
    messages: list[str] | None = None,
    video_gaps_s: list[tuple[float, float]] | None = None,
) -> TranscriptionResult:
    """Run :func:`transcribe_array` and wrap the notes with timing information."""
    start = time.perf_counter()
    notes = transcribe_array(audio, predictor, video=video, decoder=decoder)
    return TranscriptionResult(
        notes=notes,
        duration_s=len(audio) / SAMPLE_RATE,
        used_video=video is not None and predictor.uses_video,
        video_gaps_s=video_gaps_s or [],
        seconds=time.perf_counter() - start,
        messages=messages or [],
    )


def transcribe_file(
    audio_path: str | Path, predictor: FramePredictor, *, decoder: DecoderConfig | None = None
) -> TranscriptionResult:
    """Transcribe an audio file (any rate or channel count soundfile reads) with ``predictor``."""
    from avsvt.data.audio import read_audio

    audio = read_audio(audio_path)
    return timed_transcription(audio, predictor, decoder=decoder)
