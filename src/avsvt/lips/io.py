"""Reading video files (mp4, avi, mkv, mpg, ...) with PyAV: frames with their timestamps, and audio.

Every time here is on one axis: ``0`` is the container's start (the earliest stream start), so a
video stream that starts later than the audio (``start_time`` offsets in MPEG files) keeps its place
relative to the audio. Frame times come from each frame's ``pts * time_base``, never from counting
frames, so variable-frame-rate files are timed correctly.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from avsvt.constants import SAMPLE_RATE
from avsvt.data.audio import AudioArray, to_mono_16k
from avsvt.errors import DataError

logger = logging.getLogger(__name__)

RgbFrames = npt.NDArray[np.uint8]
"""(T, H, W, 3) uint8 RGB frames."""


def _open(path: Path) -> Any:
    """Open a media container with PyAV, turning every failure into a DataError."""
    import av

    if not path.is_file():
        raise DataError("file not found", path=path)
    try:
        return av.open(str(path))
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"not a readable video file ({exc})", path=path) from exc


def _origin_s(container: Any) -> float:
    """The container's time origin: the earliest start among its audio and video streams (s)."""
    starts = [
        float(stream.start_time * stream.time_base)
        for stream in (*container.streams.video, *container.streams.audio)
        if stream.start_time is not None and stream.time_base is not None
    ]
    return min(starts) if starts else 0.0


def _stream_fps(stream: Any) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return float(rate) if rate else 0.0


def _display_matrix(frame: Any) -> tuple[int, ...] | None:
    """A decoded frame's display matrix, or None without one.

    Nine int32 in FFmpeg's order ``a b u c d v x y w``, ``a b c d x y`` in 16.16 fixed point.
    """
    try:
        from av.sidedata.sidedata import Type

        data = frame.side_data.get(Type.DISPLAYMATRIX)
    except (AttributeError, ImportError, KeyError):  # an older PyAV, or no side data
        return None
    if data is None:
        return None
    values = np.frombuffer(bytes(data), dtype=np.int32)
    return tuple(int(v) for v in values) if len(values) == 9 else None


def upright(image: npt.NDArray[np.uint8], matrix: tuple[int, ...] | None) -> npt.NDArray[np.uint8]:
    """A decoded image shown as its display matrix says, as a player shows it.

    Phones store a portrait or upside-down video as landscape frames with a display matrix
    that turns them (by -90, 90 or 180 degrees), and some apps mirror a front camera's video
    the same way. A stored pixel at column ``x``, row ``y`` is shown at ``(a x + c y, b x + d y)``
    (plus a translation that keeps the picture in view). Only quarter turns and mirrors are
    applied; any other matrix (a skew, a free angle, all zeros) leaves the image as stored.

    Args:
        image: (H, W) or (H, W, C) frame as stored.
        matrix: Its display matrix (``a b u c d v x y w``, 16.16 fixed point) or None.
    """
    if matrix is None:
        return image
    a, b, _, c, d, *_ = (round(value / 65536) for value in matrix)
    if {a, b, c, d} - {-1, 0, 1} or abs(a * d - b * c) != 1 or (a, b, c, d) == (1, 0, 0, 1):
        return image  # shown as stored, or not an axis-aligned turn or mirror
    if b == 0 and c == 0:  # shown without swapping axes: x' = a x, y' = d y
        shown = image[::d, ::a]
    elif a == 0 and d == 0:  # axes swapped: x' = c y, y' = b x
        shown = np.swapaxes(image, 0, 1)[::b, ::c]
    else:
        return image
    return np.ascontiguousarray(shown)


def iter_video_frames(
    path: str | Path, *, pixel_format: str = "rgb24"
) -> Iterator[tuple[npt.NDArray[np.uint8], float]]:
    """Decode the first video stream frame by frame (bounded memory).

    Args:
        path: A video file.
        pixel_format: PyAV pixel format of the yielded arrays: ``rgb24`` gives (H, W, 3),
            ``gray`` gives (H, W).

    Yields:
        ``(frame, timestamp_s)``: the frame and its presentation time relative to the container
        start, in decoding order of presentation (PyAV returns frames in presentation order).
        The frame is turned as a player shows it when the stream has a display rotation
        (:func:`upright`), so a phone's portrait or upside-down video gives an upright face.

    Raises:
        DataError: Missing or unreadable file, no video stream, or a decoding error.
    """
    import av

    path = Path(path)
    container = _open(path)
    try:
        if not container.streams.video:
            raise DataError("no video stream in the file", path=path)
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        origin_s = _origin_s(container)
        fps = _stream_fps(stream)
        time_base = stream.time_base or Fraction(1, 90_000)
        index = 0
        try:
            for frame in container.decode(stream):
                if frame.pts is not None:
                    time_s = float(frame.pts * time_base) - origin_s
                else:  # no timestamp (rare raw streams): fall back to the nominal rate
                    time_s = index / fps if fps > 0 else float(index)
                yield upright(frame.to_ndarray(format=pixel_format), _display_matrix(frame)), time_s
                index += 1
        except av.FFmpegError as exc:
            raise DataError(f"cannot decode video ({exc})", path=path) from exc
    finally:
        container.close()


def video_fps(path: str | Path) -> float:
    """The nominal frame rate of the first video stream (average rate; 0.0 when unknown).

    Raises:
        DataError: Missing or unreadable file, or no video stream.
    """
    path = Path(path)
    container = _open(path)
    try:
        if not container.streams.video:
            raise DataError("no video stream in the file", path=path)
        return _stream_fps(container.streams.video[0])
    finally:
        container.close()


def read_video_frames(
    path: str | Path,
) -> tuple[RgbFrames, npt.NDArray[np.float64], float]:
    """Read every frame of a video file's first video stream as RGB.

    This holds the whole video in memory; :func:`iter_video_frames` streams instead.

    Args:
        path: A video file (anything the bundled FFmpeg of PyAV decodes).

    Returns:
        ``(frames, timestamps_s, fps)``: (T, H, W, 3) uint8 frames, (T,) float64 presentation
        times in seconds from the container start (from the stream's pts and time_base), and the
        stream's nominal frame rate.

    Raises:
        DataError: Missing or unreadable file, no video stream, or no decodable frame.
    """
    path = Path(path)
    fps = video_fps(path)
    frames: list[npt.NDArray[np.uint8]] = []
    times_s: list[float] = []
    for frame, time_s in iter_video_frames(path):
        frames.append(frame)
        times_s.append(time_s)
    if not frames:
        raise DataError("the video stream has no frames", path=path)
    return np.stack(frames), np.asarray(times_s, dtype=np.float64), fps


def read_video_audio(path: str | Path) -> AudioArray:
    """Read the first audio track of a video file as 16 kHz mono float32.

    The samples are placed on the container time axis: if the audio stream starts after the
    container start (e.g. after the video), the gap is filled with silence, so sample ``n`` is at
    ``n / 16000`` s on the same axis as the frame times of :func:`read_video_frames`.

    Args:
        path: A video file with an audio stream.

    Returns:
        (n,) float32 samples at 16 kHz (downmixed and resampled by
        :func:`avsvt.data.audio.to_mono_16k`).

    Raises:
        DataError: Missing or unreadable file, no audio stream, or no decodable samples.
    """
    import av

    path = Path(path)
    container = _open(path)
    try:
        if not container.streams.audio:
            raise DataError("no audio stream in the file", path=path)
        stream = container.streams.audio[0]
        origin_s = _origin_s(container)
        start_s = (
            float(stream.start_time * stream.time_base) - origin_s
            if stream.start_time is not None and stream.time_base is not None
            else 0.0
        )
        rate = int(stream.sample_rate)
        # planar float32, keeping the native rate and layout; to_mono_16k does the rest
        resampler = av.AudioResampler(format="fltp", layout=stream.layout, rate=rate)
        chunks: list[npt.NDArray[np.float32]] = []
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(np.asarray(out.to_ndarray(), dtype=np.float32))
            for out in resampler.resample(None):
                chunks.append(np.asarray(out.to_ndarray(), dtype=np.float32))
        except av.FFmpegError as exc:
            raise DataError(f"cannot decode audio ({exc})", path=path) from exc
    finally:
        container.close()
    if not chunks:
        raise DataError("the audio stream has no samples", path=path)
    samples = np.concatenate(chunks, axis=1).T  # (n, channels)
    if not np.isfinite(samples).all():
        raise DataError("audio contains NaN or infinite samples", path=path)
    audio = to_mono_16k(samples, rate, source=path)
    n_lead = round(max(start_s, 0.0) * SAMPLE_RATE)
    if n_lead:
        audio = np.concatenate([np.zeros(n_lead, dtype=np.float32), audio])
    return audio
