"""Cutting songs into 5-s utterances (reference-system.md section 1.4).

A song of ``d`` seconds gives ``n = max(1, floor(d / 5 + 1/2))`` utterances: all 5 s long except the
last, which takes the remainder (2.5..7.5 s, or the whole song when it is shorter than 7.5 s).

Fixed on purpose (quirk Q22): the reference computes ``round(d / 5)`` with Python's banker's
rounding, so songs shorter than 2.5 s give no utterance and are silently dropped, and the audio and
video recipes can disagree at exact .5 ties; we round half up and never return fewer than one.
Items (samples, label frames, video frames, feature frames) are sliced per utterance by a fixed
count per 5 s: 80 000 samples, 249 audio frames, 250 video frames; the last slice runs to the end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from avsvt.constants import (
    UTTERANCE_AUDIO_FRAMES,
    UTTERANCE_S,
    UTTERANCE_SAMPLES,
    UTTERANCE_VIDEO_FRAMES,
)


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


def song_utterances(
    song_id: str,
    *,
    n_samples: int,
    n_audio_frames: int,
    n_video_frames: int,
    sample_rate: int = 16_000,
) -> list[UtteranceSpan]:
    """Cut one song into utterances, with aligned slices for audio samples and both frame rates."""
    count = n_utterances(n_samples / sample_rate)
    samples = utterance_slices(n_samples, UTTERANCE_SAMPLES, count)
    audio = utterance_slices(n_audio_frames, UTTERANCE_AUDIO_FRAMES, count)
    video = utterance_slices(n_video_frames, UTTERANCE_VIDEO_FRAMES, count)
    return [UtteranceSpan(song_id, i, count, samples[i], audio[i], video[i]) for i in range(count)]
