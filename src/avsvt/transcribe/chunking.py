"""Long recordings in bounded memory: windows on the 5-s utterance grid, stitched seamlessly.

A recording is cut into windows of ``window_utterances`` 5-s utterances plus ``context_utterances``
of context on each side. Windows start on the 80 000-sample utterance grid, so window frame ``k``
is exactly global frame ``249 * first_utterance + k`` (the grid the models are trained on: 249
frames per 5 s, frame ``j`` at ``j / 49.8`` s). Each window keeps only its central frames; the kept
ranges tile the recording with no gap and no overlap, and notes are decoded once over the stitched
posteriors, so a note that crosses a window border is neither duplicated nor split.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from avsvt.constants import N_OUTPUTS, UTTERANCE_AUDIO_FRAMES, UTTERANCE_SAMPLES, n_ssl_frames


@dataclass(frozen=True)
class Window:
    """One inference window: samples to read and the frames it contributes."""

    start_sample: int
    stop_sample: int
    first_frame: int  # global index of the window's frame 0
    keep_start: int  # global frames [keep_start, keep_stop) come from this window
    keep_stop: int


def total_frames(n_samples: int) -> int:
    """Frames of a recording on the utterance grid: 249 per full 5 s plus the remainder's frames."""
    n_full = n_samples // UTTERANCE_SAMPLES
    remainder = n_samples - n_full * UTTERANCE_SAMPLES
    return n_full * UTTERANCE_AUDIO_FRAMES + n_ssl_frames(remainder)


def plan_windows(
    n_samples: int, *, window_utterances: int = 6, context_utterances: int = 1
) -> list[Window]:
    """Windows covering a recording (see the module docstring)."""
    if window_utterances < 1 or context_utterances < 0:
        raise ValueError("window_utterances >= 1 and context_utterances >= 0 required")
    n_frames = total_frames(n_samples)
    n_utterances = max(1, -(-n_samples // UTTERANCE_SAMPLES))
    windows = []
    for first in range(0, n_utterances, window_utterances):
        lo = max(0, first - context_utterances)
        hi = min(n_utterances, first + window_utterances + context_utterances)
        keep_stop = (
            n_frames
            if first + window_utterances >= n_utterances
            else (first + window_utterances) * UTTERANCE_AUDIO_FRAMES
        )
        windows.append(
            Window(
                start_sample=lo * UTTERANCE_SAMPLES,
                stop_sample=min(n_samples, hi * UTTERANCE_SAMPLES),
                first_frame=lo * UTTERANCE_AUDIO_FRAMES,
                keep_start=first * UTTERANCE_AUDIO_FRAMES,
                keep_stop=keep_stop,
            )
        )
    # A short tail (< 400 samples) adds no frame: merge it into the previous window's range.
    return [w for w in windows if w.keep_stop > w.keep_start] or windows[:1]


def run_chunked(
    n_samples: int,
    read_segment: Callable[[int, int], npt.NDArray[np.float32]],
    predict: Callable[[npt.NDArray[np.float32], int], npt.NDArray[np.float32]],
    *,
    window_utterances: int = 6,
    context_utterances: int = 1,
    on_window: Callable[[int, int], None] | None = None,
) -> npt.NDArray[np.float32]:
    """Run ``predict`` window by window and stitch its outputs into one (T, 20) array.

    Args:
        n_samples: Length of the recording (16 kHz samples).
        read_segment: Returns samples ``[start, stop)``.
        predict: Maps a window's samples and its global first frame to (T_window, 20) logits, frame
            ``k`` at global frame ``first_frame + k``.
        window_utterances: 5-s utterances kept per window.
        context_utterances: Extra utterances of context on each side (discarded after inference).
        on_window: Progress callback ``(done, total)``.

    Returns:
        Stitched logits, ``total_frames(n_samples)`` rows.
    """
    windows = plan_windows(
        n_samples, window_utterances=window_utterances, context_utterances=context_utterances
    )
    out = np.zeros((total_frames(n_samples), N_OUTPUTS), dtype=np.float32)
    for done, window in enumerate(windows, start=1):
        logits = predict(read_segment(window.start_sample, window.stop_sample), window.first_frame)
        lo, hi = window.keep_start - window.first_frame, window.keep_stop - window.first_frame
        got = logits[lo:hi]
        out[window.keep_start : window.keep_start + len(got)] = got
        if len(got) < hi - lo:  # the model gave a frame or two fewer at the very end: repeat
            out[window.keep_start + len(got) : window.keep_stop] = got[-1] if len(got) else 0
        if on_window is not None:
            on_window(done, len(windows))
    return out
