"""Pre-cropped mouth-ROI videos as N20EMv2 stores them: ``video_50fps.npy``, (T, H, W) uint8."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from avsvt.constants import VIDEO_MIN_SIDE
from avsvt.data.files import require_file
from avsvt.errors import DataError

VideoArray = npt.NDArray[np.uint8]


def _open_npy(path: Path) -> np.ndarray:
    require_file(path)
    try:
        array: np.ndarray = np.load(path, mmap_mode="r", allow_pickle=False)
        return array
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"not a readable .npy array ({exc})", path=path) from exc


def video_problems(array: np.ndarray) -> list[str]:
    """Return what is wrong with a mouth-ROI array (empty when it is valid)."""
    if array.ndim != 3:
        return [f"video must be (T, H, W), got shape {tuple(array.shape)}"]
    problems = []
    n_frames, height, width = array.shape
    if array.dtype != np.uint8:
        problems.append(f"video must be uint8 0..255, got {array.dtype}")
    if height < VIDEO_MIN_SIDE or width < VIDEO_MIN_SIDE:
        problems.append(
            f"video frames are {height}x{width}, need at least {VIDEO_MIN_SIDE}x{VIDEO_MIN_SIDE}"
        )
    if n_frames == 0:
        problems.append("video has no frames")
    return problems


def video_shape(path: str | Path) -> tuple[int, ...]:
    """Return the stored array's shape without reading it, after checking it is a valid ROI video.

    Raises:
        DataError: Missing or unreadable file, or not a (T, H>=88, W>=88) uint8 array.
    """
    path = Path(path)
    array = _open_npy(path)
    problems = video_problems(array)
    if problems:
        raise DataError("; ".join(problems), path=path)
    return tuple(int(s) for s in array.shape)


def read_video(path: str | Path) -> VideoArray:
    """Read and validate a (T, H, W) uint8 mouth-ROI video.

    Raises:
        DataError: Missing or unreadable file, or wrong dtype/shape.
    """
    path = Path(path)
    video_shape(path)
    return np.array(_open_npy(path), dtype=np.uint8)  # a writable copy, not the memmap
