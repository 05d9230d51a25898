"""A recording (and optionally a lip video) to notes: the library behind ``avsvt transcribe``.

Two kinds of transcription:

* a trained :class:`~avsvt.models.transcriber.Transcriber` checkpoint, run over the whole
  recording by the one inference engine (:func:`avsvt.models.apply.apply_model`: the model's own
  5-s utterances, batched, stitched, frame times from the model), then decoded by the reference
  decoder, optionally with the note pitch read from the voice's f0. It is the same path the
  recipe's evaluation takes, so a checkpoint gives here the notes it was scored on;
* the built-in :class:`~avsvt.transcribe.predictor.F0NoteTracker`: notes from the voice's f0
  (:mod:`avsvt.f0notes`), audio only, the default (see the README for why and for its measured
  accuracy).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from avsvt.constants import SAMPLE_RATE, VIDEO_FPS
from avsvt.decoding import DecoderConfig, FramePosteriors, decode_notes, refine_pitch_with_f0
from avsvt.errors import DataError
from avsvt.f0 import yin
from avsvt.f0notes import transcribe_f0
from avsvt.notes import Note
from avsvt.transcribe.predictor import F0NoteTracker, Transcription, load_predictor

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TranscriptionResult:
    """Notes of one recording and how they were obtained.

    Attributes:
        notes: Decoded notes, sorted by onset.
        duration_s: Length of the audio.
        used_video: Whether lip video informed the notes.
        video_gaps_s: Time ranges where the face was lost (treated as missing video).
        video_cuts_s: Times at which the video cuts to a new shot; each shot's lips were read
            on their own (:mod:`avsvt.lips.cuts`).
        seconds: Wall-clock transcription time; for a file (:func:`transcribe_file`), reading
            the audio and finding the lips in the video included.
        messages: Human-readable remarks (fallbacks, repairs).
    """

    notes: list[Note]
    duration_s: float
    used_video: bool
    video_gaps_s: list[tuple[float, float]] = field(default_factory=list)
    video_cuts_s: list[float] = field(default_factory=list)
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
    batch_size: int = 8,
    enhance: bool = False,
    video_cuts: Sequence[int] = (),
) -> list[Note]:
    """Transcribe 16 kHz mono audio (and 50 fps crops aligned with it) with ``predictor``.

    Args:
        audio: (samples,) float32 at 16 kHz.
        predictor: A transcriber, or the built-in f0 note tracker.
        video: (T, H, W) uint8 mouth crops at 50 fps starting at the audio's start, or None;
            ignored by models that do not consume video.
        decoder: Decoder settings for a model (reference defaults at the model's frame rate).
        f0_pitch: For a model: each note's pitch is the voice's median f0 over the note
            (fractional MIDI, :func:`avsvt.decoding.refine_pitch_with_f0`) instead of its integer
            class (the reference's).
        batch_size: Utterances per forward pass of a model.
        enhance: First clean the audio with DeepFilterNet3 (:mod:`avsvt.enhance`): helps the f0
            tracker in steady noise; a speech model, it can weaken long held notes.
        video_cuts: Crops at which the video cuts to a new shot (:attr:`LipTrack.cuts
            <avsvt.lips.LipTrack.cuts>`); a model that reads the lips reads each shot on its own.

    Returns:
        Notes sorted by onset.

    Raises:
        DataError: No audio, or a video-only model without video.
    """
    if len(audio) == 0:
        raise DataError("audio has no samples")
    if enhance:
        from avsvt.enhance import enhance as deepfilter

        audio = deepfilter(audio, SAMPLE_RATE)
    if isinstance(predictor, F0NoteTracker):
        return transcribe_f0(audio, predictor.settings)
    from avsvt.pitchnet.route import SoloRouted
    from avsvt.pitchnet.track import PitchNetTracker

    if isinstance(predictor, SoloRouted):
        notes, route = predictor.transcribe_routed(audio)
        logger.debug("%s", route.describe())
        return notes
    if isinstance(predictor, PitchNetTracker):
        return predictor.transcribe(audio)
    from avsvt.models.apply import apply_model

    outputs = apply_model(
        predictor, audio=audio, video=video, batch_size=batch_size, video_cuts=video_cuts
    )
    notes = decode_notes(
        FramePosteriors.from_logits(outputs.values), decoder or DecoderConfig(fps=outputs.fps)
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
    enhance: bool = False,
    video_cuts: Sequence[int] = (),
) -> TranscriptionResult:
    """Run :func:`transcribe_array` and wrap the notes with timing information."""
    start = time.perf_counter()
    notes = transcribe_array(
        audio,
        predictor,
        video=video,
        decoder=decoder,
        f0_pitch=f0_pitch,
        enhance=enhance,
        video_cuts=video_cuts,
    )
    used_video = video is not None and predictor.uses_video
    return TranscriptionResult(
        notes=notes,
        duration_s=len(audio) / SAMPLE_RATE,
        used_video=used_video,
        video_gaps_s=video_gaps_s or [],
        video_cuts_s=[k / VIDEO_FPS for k in video_cuts] if used_video else [],
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
    enhance: bool = False,
) -> TranscriptionResult:
    """Transcribe a recording (and its singer's lip video) to notes.

    Args:
        audio: An audio file in any rate or channel count (wav, flac, ogg, mp3) or a video file's
            audio track; resampled to 16 kHz mono.
        video: A lip video (mp4/avi/mkv/mpg, or an N20EMv2 ``.npy`` of mouth crops), used when the
            model takes video; lost faces are handled as :func:`load_video` documents.
        model: A checkpoint path, an already loaded model (a Transcriber or an F0NoteTracker),
            ``"f0"`` for the built-in f0 note tracker (audio only), or None for the default
            model (:data:`avsvt.transcribe.predictor.DEFAULT_MODEL`).
        decoder: Decoder settings for a model.
        f0_pitch: For a model: note pitch from the voice's f0 (see :func:`transcribe_array`).
        enhance: DeepFilterNet3 before transcription (see :func:`transcribe_array`).

    Returns:
        The notes with timing information and any remarks (fallbacks, repairs).

    Raises:
        AvsvtError: Unreadable audio or video, an unusable model file, or a video-only model
            without a usable face video (one-line message).
    """
    from avsvt.transcribe.inputs import load_audio, load_video

    predictor = model if not isinstance(model, (str, Path, type(None))) else load_predictor(model)
    start = time.perf_counter()  # from reading the file (a model given by path is loaded first)
    video_only = getattr(predictor, "modality", "audio") == "video"
    if video_only and video is None:
        raise DataError(
            "a video-only model needs the singer's lip video (give --video)", path=audio
        )
    samples = load_audio(audio)
    crops, messages, gaps = None, [], []
    cuts: tuple[int, ...] = ()
    if video is not None:
        if not predictor.uses_video:
            messages.append("the model does not consume video: the video is ignored")
        else:
            aligned = load_video(video, len(samples))
            crops, messages, gaps = aligned.crops, list(aligned.messages), aligned.gaps_s
            cuts = aligned.cuts
            if crops is None and video_only:
                raise DataError(
                    "no face found: a video-only model has nothing to transcribe", path=video
                )
    result = timed_transcription(
        samples,
        predictor,
        video=crops,
        decoder=decoder,
        f0_pitch=f0_pitch,
        messages=messages,
        video_gaps_s=gaps,
        enhance=enhance,
        video_cuts=cuts,
    )
    return replace(result, seconds=time.perf_counter() - start)
