"""A model's native utterances: how a song is cut, the same way for training, evaluation and use.

A song of ``d`` seconds gives ``n = max(1, floor(d / u + 1/2))`` utterances of ``u`` seconds
(``u = 5`` in the reference, section 1.4), all ``u`` long except the last, which takes the
remainder (``u/2 .. 3u/2``, or the whole song when it is shorter than ``3u/2``).

Each stream is sliced by a fixed count per utterance, the last slice running to the end:

* audio samples: ``u * 16 000`` (80 000);
* audio frames (labels, audio features, audio/AV model outputs): what the encoder gives for one
  utterance, ``n_ssl_frames(80 000) = 249`` (field 400, stride 320);
* video frames (mouth crops, video features, video model outputs): ``u * 50 = 250``.

A stitched song's audio frame ``j`` is at ``j / fps`` with ``fps = 249 / 5 = 49.8`` (the
reference's grid, on which its labels are built): inside an utterance the encoder's own frames
advance by 20 ms, so the grid runs 0.4 % slow there and restarts at every utterance. A model
trained on labels on this grid and run on the same cut reproduces it; a model run on a longer
piece at once would not (that was a bug of the old windowed inference).

Fixed on purpose (quirk Q22): the reference computes ``round(d / 5)`` with Python's banker's
rounding, so songs shorter than 2.5 s give no utterance and are silently dropped, and the audio and
video recipes can disagree at exact .5 ties; we round half up and never return fewer than one.

This module imports no torch: configs and the data layer use it too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from avsvt.constants import (
    SAMPLE_RATE,
    UTTERANCE_S,
    VIDEO_FPS,
    n_ssl_frames,
)

MIN_SHOT_S = 0.5
"""The shortest shot of a video that is read on its own (:func:`shot_bounds`)."""


def shot_bounds(
    cuts: Iterable[int], n_frames: int, fps: float, min_shot_s: float = MIN_SHOT_S
) -> list[int]:
    """``[0, cut, ..., n_frames]``: the first frame of each shot of a video, and its end.

    ``cuts`` are the frames at which a new shot starts (any order). A cut that would leave a
    shot shorter than ``min_shot_s`` (after the previous kept cut, or before the end; at least
    one frame) is dropped, so that stretch belongs to its neighbour; so is any cut outside
    ``1..n_frames-1``. Applying the rule to the cuts it keeps keeps them all.
    """
    shortest = max(1, round(min_shot_s * fps))
    bounds = [0]
    for cut in sorted({int(c) for c in cuts}):
        if cut - bounds[-1] >= shortest and n_frames - cut >= shortest:
            bounds.append(cut)
    return [*bounds, max(n_frames, 0)]


def n_utterances(duration_s: float, utterance_s: float = UTTERANCE_S) -> int:
    """Number of utterances of a song: ``max(1, floor(duration / utterance + 0.5))``."""
    return max(1, math.floor(duration_s / utterance_s + 0.5))


def utterance_slices(n_items: int, per_utterance: int, count: int) -> list[slice]:
    """Slices of ``count`` utterances, ``per_utterance`` items each; the last runs to the end."""
    slices = [slice(per_utterance * i, per_utterance * (i + 1)) for i in range(count - 1)]
    slices.append(slice(per_utterance * (count - 1), max(n_items, per_utterance * (count - 1))))
    return slices


@dataclass(frozen=True)
class UtteranceSpan:
    """One utterance of one song: its index and the item slices of each stream."""

    song_id: str
    index: int
    count: int
    samples: slice
    audio_frames: slice
    video_frames: slice


@dataclass(frozen=True)
class UtteranceGrid:
    """The utterance length and what it means for each stream (see the module docstring).

    Attributes:
        utterance_s: Utterance length in seconds (whole seconds, so every count is an integer).
        sample_rate: Audio sample rate.
        video_fps: Frame rate of the mouth crops (and of video features and outputs).
    """

    utterance_s: int = UTTERANCE_S
    sample_rate: int = SAMPLE_RATE
    video_fps: float = VIDEO_FPS

    @property
    def utterance_samples(self) -> int:
        """Audio samples per utterance (80 000)."""
        return self.utterance_s * self.sample_rate

    @property
    def audio_frames(self) -> int:
        """Audio frames per utterance: what the encoder's conv grid gives (249)."""
        return n_ssl_frames(self.utterance_samples)

    @property
    def video_frames(self) -> int:
        """Video frames per utterance (250)."""
        return round(self.video_fps * self.utterance_s)

    @property
    def audio_fps(self) -> float:
        """Frame rate of the stitched audio grid: audio frames per utterance / utterance_s."""
        return self.audio_frames / self.utterance_s

    def count(self, n_samples: int) -> int:
        """Utterances of a song of ``n_samples`` audio samples."""
        return n_utterances(n_samples / self.sample_rate, self.utterance_s)

    def samples_of_video(self, n_video_frames: int) -> int:
        """Audio samples spanned by ``n_video_frames`` video frames (for video-only songs)."""
        return round(n_video_frames / self.video_fps * self.sample_rate)

    def spans(
        self, song_id: str, *, n_samples: int, n_audio_frames: int = 0, n_video_frames: int = 0
    ) -> list[UtteranceSpan]:
        """Cut one song: its utterance count from ``n_samples``, slices for every stream."""
        count = self.count(n_samples)
        samples = utterance_slices(n_samples, self.utterance_samples, count)
        audio = utterance_slices(n_audio_frames, self.audio_frames, count)
        video = utterance_slices(n_video_frames, self.video_frames, count)
        return [
            UtteranceSpan(song_id, i, count, samples[i], audio[i], video[i]) for i in range(count)
        ]


DEFAULT_GRID = UtteranceGrid()
"""The reference's grid: 5-s utterances, 249 audio frames (49.8 fps), 250 video frames."""
