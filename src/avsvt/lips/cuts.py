"""Shot cuts in a video: where the picture jumps to another shot (another camera, another face).

A music video or an edited performance cuts from shot to shot. The video model removes each
utterance's still appearance (``appearance_norm``), so an utterance that spans a cut mixes two
faces' mean frames, and the cut itself looks like a sudden movement of the mouth. The front end
finds the cuts, and the inference engine reads each shot's lips on their own
(:func:`avsvt.models.apply.apply_model`, ``video_cuts``).

The rule is a content detector with an adaptive threshold, as the field's shot-boundary
detectors work (PySceneDetect's ``AdaptiveDetector``; that package itself requires the
``opencv-python`` distribution, whose ``cv2`` clashes with the ``opencv-python-headless`` this
project installs, so it is not a dependency). Each frame is reduced to
a small grayscale thumbnail. Its *change* is the mean absolute difference to the previous
thumbnail, in grey levels (0-255). Frame ``k`` starts a new shot where its change is at least
``min_change`` and at least ``ratio`` times the median change of the ``window`` frames on either
side, and at least ``min_shot_frames`` after the previous cut. A camera that pans or shakes
changes every frame a lot, so its median is high and it does not cut; a talking head changes by
about 1 grey level from frame to frame, and a cut to another shot by 10 or more.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

THUMBNAIL_SIZE = (64, 48)
"""(width, height) of the thumbnails compared (cv2 order)."""

MIN_CHANGE = 8.0
"""A cut changes the thumbnail by at least this mean absolute difference (grey levels)."""

RATIO = 5.0
"""... and by at least this many times the median change of the frames around it."""

WINDOW_FRAMES = 4
"""Frames on either side whose median change a cut is compared with."""

MIN_SHOT_FRAMES = 5
"""A new cut at least this many frames after the previous one (flashes give one cut)."""


def frame_thumbnail(frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """A (48, 64) float32 grayscale thumbnail of an (H, W, 3) RGB or (H, W) gray frame."""
    import cv2

    step = max(
        1, min(frame.shape[0] // (4 * THUMBNAIL_SIZE[1]), frame.shape[1] // (4 * THUMBNAIL_SIZE[0]))
    )
    frame = np.ascontiguousarray(frame[::step, ::step])  # a big frame: every step-th pixel first
    gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    return cv2.resize(gray, THUMBNAIL_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)


def thumbnail_change(previous: npt.NDArray[np.float32], current: npt.NDArray[np.float32]) -> float:
    """A frame's change: mean absolute difference of its thumbnail to the previous frame's."""
    return float(np.abs(current - previous).mean())


def detect_cuts(
    changes: npt.ArrayLike,
    *,
    min_change: float = MIN_CHANGE,
    ratio: float = RATIO,
    window: int = WINDOW_FRAMES,
    min_shot_frames: int = MIN_SHOT_FRAMES,
) -> list[int]:
    """Indices of the frames that start a new shot (the rule of the module doc).

    Args:
        changes: (T,) per-frame change (:func:`thumbnail_change`); entry ``k`` compares frame
            ``k`` with frame ``k - 1`` (entry 0 is not used).
        min_change: Smallest change that can be a cut.
        ratio: A cut's change over the median change of its neighbours, at least.
        window: Neighbours on either side (the frame itself excluded).
        min_shot_frames: Smallest distance between two cuts; of two closer candidates the
            first is kept.

    Returns:
        Sorted frame indices ``k >= 1``; frame 0 always starts the first shot and is not listed.
    """
    values = np.asarray(changes, dtype=np.float64)
    cuts: list[int] = []
    for k in range(1, len(values)):
        if values[k] < min_change:
            continue
        lo, hi = max(1, k - window), min(len(values), k + window + 1)
        around = np.concatenate([values[lo:k], values[k + 1 : hi]])
        if around.size and values[k] < ratio * float(np.median(around)):
            continue
        if cuts and k - cuts[-1] < min_shot_frames:
            continue
        cuts.append(k)
    return cuts
