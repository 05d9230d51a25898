"""Mapping frames with arbitrary timestamps (25, 29.97, 30, 60 fps or variable) to a fixed rate.

Pure numpy. Output frame ``k`` is at time ``k / fps`` on the container axis (0 = container start,
see :mod:`avsvt.lips.io`), which is also the time of audio sample ``k * 16000 / fps``, so audio and
video stay aligned by time, never by frame counts.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from avsvt.constants import VIDEO_FPS

TIE_TOLERANCE_S = 1e-6
"""Source frames closer than this to equidistant from an output time count as a tie."""


def source_duration_s(timestamps_s: npt.ArrayLike) -> float:
    """End time of a frame sequence: the last timestamp plus one (median) frame interval.

    Args:
        timestamps_s: (T,) increasing presentation times in seconds.

    Returns:
        The time at which the last frame stops being shown (s); 0.0 for no frames.
    """
    times = np.asarray(timestamps_s, dtype=np.float64)
    if times.size == 0:
        return 0.0
    step_s = float(np.median(np.diff(times))) if times.size > 1 else 0.0
    return float(times[-1] + step_s)


def output_times_s(duration_s: float, fps: float = VIDEO_FPS) -> npt.NDArray[np.float64]:
    """Times ``k / fps`` for ``k = 0 .. round(duration_s * fps) - 1``.

    Args:
        duration_s: Length of the video on the container axis (s).
        fps: Output frame rate.

    Returns:
        (round(duration_s * fps),) float64 times in seconds.
    """
    n_frames = max(round(duration_s * fps), 0)
    return np.arange(n_frames, dtype=np.float64) / fps


def nearest_frame_indices(
    timestamps_s: npt.ArrayLike, times_s: npt.ArrayLike
) -> npt.NDArray[np.int64]:
    """For each wanted time, the index of the source frame whose timestamp is nearest.

    Ties (an output time half way between two frames, e.g. 25 -> 50 fps) go to the earlier frame,
    the one a player is still showing, so 25 fps becomes every frame twice. Times before the first
    frame take the first frame and times after the last take the last.

    Args:
        timestamps_s: (T,) increasing source frame times in seconds (T >= 1).
        times_s: (K,) wanted times in seconds.

    Returns:
        (K,) int64 indices into the source frames.
    """
    source = np.asarray(timestamps_s, dtype=np.float64)
    wanted = np.asarray(times_s, dtype=np.float64)
    if source.size == 0:
        raise ValueError("no source frames")
    right = np.clip(np.searchsorted(source, wanted, side="left"), 0, source.size - 1)
    left = np.clip(right - 1, 0, source.size - 1)
    take_right = (source[right] - wanted) < (wanted - source[left]) - TIE_TOLERANCE_S
    take_right |= wanted <= source[0]
    return np.where(take_right, right, left).astype(np.int64)
