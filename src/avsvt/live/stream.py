"""Live transcription: feed audio blocks as they come, get note events as soon as they are decided.

:class:`LiveTranscriber` wraps a loaded predictor (``avsvt.transcribe.predictor.load_predictor``)::

    live = LiveTranscriber(load_predictor("f0"))
    for block in blocks:              # float32 mono at 16 kHz, any sizes
        for event in live.feed(block):
            print(event.kind, event.onset_s, event.pitch_midi)
    events = live.close()             # the rest: every note finished

It runs the two audio-only transcriptions: the f0 tracker (``--model f0`` or a fitted ``.json``)
and pitch-network models (the learned default). A trained checkpoint (the reference decoder, the
only models that read lip video) is refused: live mode is audio-only for now.

**What equals offline.** The f0 tracker's notes are exactly those of
``transcribe_array(audio, predictor)`` (:mod:`avsvt.live.frames`, :mod:`avsvt.live.segmenter`),
whatever the block sizes. The learned model's are too when the stream's level is given
(``input_rms``) and the lookahead is the network's field (the default; up to the last bit of a
sigmoid: a frame's voicing would have to sit within 1e-7 of the threshold to flip); with the
running level (the default for a live input) or a shorter lookahead they are close, not equal.

**Latency** (how long after a note begins its note-on comes, in stream time): the frame's own
lookahead (f0 tracker 32 ms; network ``lookahead_s``, exact at 230 ms), plus half the median
filter (20 ms at 5 frames), plus ``min_note_s`` for a note after a rest, or ``min_note_s +
hold_frames`` for a note after another without a rest (a cut must be one no later frame
removes); ``early`` note-ons wait 50 ms instead of ``min_note_s`` after a rest and 50 ms after a
cut is decided (``hold_frames``), and 6-19 % of them are withdrawn by a ``note_cancel``. The
learned model adds up to ``update_s`` (it runs every ``update_s``). Note-offs come when the note
is final: at the next rest, or ``min_note_s + hold_frames`` into the next note.
``benchmarks/bench_live.py`` measures it.

**Bounded memory**: the audio still needed (under 0.1 s for the f0 tracker, 0.5 s for the
network) and the unfinished stretch of notes, capped at ``max_note_s``
(:mod:`avsvt.live.segmenter`).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from avsvt.constants import SAMPLE_RATE
from avsvt.errors import ConfigError, DataError
from avsvt.live.events import NoteEvent
from avsvt.live.frames import HOP, PITCHNET_EXACT_LOOKAHEAD_FRAMES, PitchNetFrames, YinFrames
from avsvt.live.segmenter import MAX_NOTE_S, LiveSegmenter
from avsvt.transcribe.predictor import F0NoteTracker, Transcription

FPS = SAMPLE_RATE / HOP
"""Frames per second of both trackers."""
DEFAULT_UPDATE_S = 0.08
"""How often the learned model's network runs (s of audio)."""


def runs_live(predictor: Transcription) -> bool:
    """Whether :class:`LiveTranscriber` runs ``predictor`` (the f0 tracker or a pitch network)."""
    if isinstance(predictor, F0NoteTracker):
        return True
    from avsvt.pitchnet.route import SoloRouted  # imports torch: not for the f0 tracker
    from avsvt.pitchnet.track import PitchNetTracker

    return isinstance(predictor, (PitchNetTracker, SoloRouted))


class LiveTranscriber:
    """Notes of an audio stream while it is heard (module docstring).

    Args:
        predictor: The f0 tracker or a pitch-network model.
        lookahead_s: Pitch-network models only: audio awaited after a frame before the network
            reads it (default: its receptive field, 0.23 s, where frames equal offline).
        update_s: Pitch-network models only: how often the network runs.
        input_rms: Pitch-network models only: the stream's RMS when known in advance (then the
            level is the offline one); None estimates it as the stream goes.
        max_note_s: The longest unfinished stretch of notes held (:mod:`avsvt.live.segmenter`).
        early: Provisional note-ons, sooner, each confirmed by its note-off or withdrawn by a
            ``note_cancel`` (:mod:`avsvt.live.segmenter`); the notes stay the same.

    Raises:
        ConfigError: A predictor live mode does not run, or settings it does not take.
    """

    def __init__(
        self,
        predictor: Transcription,
        *,
        lookahead_s: float | None = None,
        update_s: float = DEFAULT_UPDATE_S,
        input_rms: float | None = None,
        max_note_s: float = MAX_NOTE_S,
        early: bool = False,
    ) -> None:
        if not runs_live(predictor):
            raise ConfigError(
                "live transcription runs the f0 tracker and pitch-network models (the default "
                "model); this checkpoint runs offline only (avsvt transcribe)"
            )
        self.frames: YinFrames | PitchNetFrames
        if isinstance(predictor, F0NoteTracker):
            if lookahead_s is not None or input_rms is not None:
                raise ConfigError(
                    "the f0 tracker's lookahead is its 32-ms YIN half window and it takes no "
                    "level (--lookahead and --input-rms are for the learned model)"
                )
            self.frames = YinFrames(predictor.settings)
        else:
            from avsvt.pitchnet.route import SoloRouted
            from avsvt.pitchnet.track import PitchNetTracker

            if isinstance(predictor, SoloRouted):
                # the default: whether a stream is a voice alone is known only at its end, so
                # live runs the default's network throughout
                predictor = predictor.network
            assert isinstance(predictor, PitchNetTracker)  # runs_live
            lookahead = PITCHNET_EXACT_LOOKAHEAD_FRAMES
            if lookahead_s is not None:
                if not (math.isfinite(lookahead_s) and 0 <= lookahead_s <= 10):
                    raise ConfigError(f"lookahead {lookahead_s!r} s is not within 0 to 10 s")
                lookahead = int(round(lookahead_s * FPS))
            if not (math.isfinite(update_s) and 0 < update_s <= 10):
                raise ConfigError(f"update interval {update_s!r} s is not within 0 to 10 s")
            if input_rms is not None and not (math.isfinite(input_rms) and input_rms >= 0):
                raise ConfigError(f"input RMS {input_rms!r} is not a level")
            self.frames = PitchNetFrames(
                predictor,
                lookahead_frames=lookahead,
                update_frames=max(1, int(round(update_s * FPS))),
                input_rms=input_rms,
            )
        if not (math.isfinite(max_note_s) and max_note_s > 0):
            raise ConfigError(f"max_note_s {max_note_s!r} is not a positive number of seconds")
        self.settings = predictor.settings
        """The segmentation settings (the predictor's)."""
        self.segmenter = LiveSegmenter(self.settings, FPS, max_note_s=max_note_s, early=early)
        self._samples = 0
        self._closed = False

    @property
    def position_s(self) -> float:
        """Seconds of audio fed so far."""
        return self._samples / SAMPLE_RATE

    @property
    def buffered_samples(self) -> int:
        """Audio samples held (bounded, whatever the stream's length)."""
        return self.frames.buffered_samples

    @property
    def held_frames(self) -> int:
        """f0 frames held by the segmentation (bounded by ``max_note_s``)."""
        return self.segmenter.frames_held

    @property
    def lookahead_s(self) -> float:
        """Audio awaited after a frame's centre before the frame is computed."""
        return self.frames.lookahead_s

    def feed(self, block: npt.ArrayLike) -> list[NoteEvent]:
        """Add the stream's next samples; returns the events they decide (maybe none).

        Args:
            block: (samples,) float mono audio at 16 kHz, any length (0 too).

        Raises:
            DataError: Not one channel, or NaN or infinite samples.
            ValueError: The stream is closed.
        """
        if self._closed:
            raise ValueError("the live transcription is closed")
        samples = np.asarray(block, dtype=np.float32)
        if samples.ndim != 1:
            raise DataError(f"audio blocks must be mono (samples,), got shape {samples.shape}")
        if not len(samples):
            return []
        if not np.isfinite(samples).all():
            first = int(np.flatnonzero(~np.isfinite(samples))[0])
            raise DataError(
                f"NaN or infinite sample at {(self._samples + first) / SAMPLE_RATE:.3f} s"
            )
        self._samples += len(samples)
        return self.segmenter.push(self.frames.push(samples), time_s=self.position_s)

    def close(self) -> list[NoteEvent]:
        """End the stream: the remaining events (every note is finished after them)."""
        if self._closed:
            return []
        self._closed = True
        events = self.segmenter.push(self.frames.close(), time_s=self.position_s)
        return events + self.segmenter.close(time_s=self.position_s)
