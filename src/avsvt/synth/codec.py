"""A video codec's round trip: frames encoded as H.264 and decoded again, in memory (PyAV).

Real videos reach us through a video codec: a phone's camera, an upload, a video call. At low
bitrates it does what per-frame JPEG does not: the mouth's small movements are predicted from the
previous frames and partly dropped (blocks are skipped, detail arrives in steps at key frames).
The rendered faces pass through this round trip so the video model learns from such motion too.

Deterministic: x264 in one thread without macroblock-tree rate control (with it, the output
varies from run to run) and fixed frame times, so the same frames give the same bytes.
"""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

MIN_CRF, MAX_CRF = 18, 44
"""The range :func:`draw_crf` draws from: nearly transparent to a poor video call."""
X264_PARAMS = "threads=1:lookahead-threads=1:sliced-threads=0:sync-lookahead=0:mbtree=0"
"""x264 in one thread, without macroblock-tree rate control: settings that make it repeatable."""
CODED_SHARE = 0.5
"""The share of videos :func:`draw_crf` sends through the codec; the others stay as rendered."""


def draw_crf(rng: np.random.Generator) -> int | None:
    """One video's constant rate factor, uniform in ``[MIN_CRF, MAX_CRF]``, or None (no codec).

    None with probability ``1 - CODED_SHARE``: the video stays as the camera wrote it.
    """
    coded = rng.random() < CODED_SHARE
    crf = int(rng.integers(MIN_CRF, MAX_CRF + 1))
    return crf if coded else None


def write_h264(
    frames: npt.NDArray[np.uint8],
    fps: float,
    crf: int,
    out: str | Path | BinaryIO,
    *,
    container: str = "h264",
) -> None:
    """Encode (T, H, W, 3) RGB frames (even sides) as H.264 (x264, yuv420p) into ``out``.

    Args:
        frames: uint8 RGB frames at ``fps``, even height and width.
        fps: Their frame rate (the encoder's rate control depends on it).
        crf: x264's constant rate factor (0 lossless .. 51 worst).
        out: A file path or a writable binary buffer.
        container: ``h264`` (a raw stream) or a container format such as ``mp4``.
    """
    import av

    assert frames.shape[1] % 2 == 0 and frames.shape[2] % 2 == 0, f"{frames.shape}"
    with av.open(out, "w", format=container) as output:
        stream = output.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": "veryfast", "x264-params": X264_PARAMS}
        for index, frame in enumerate(frames):
            picture = av.VideoFrame.from_ndarray(frame, format="rgb24").reformat(format="yuv420p")
            picture.pts = index
            for packet in stream.encode(picture):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)


def h264_round_trip(frames: npt.NDArray[np.uint8], fps: float, crf: int) -> npt.NDArray[np.uint8]:
    """(T, H, W, 3) RGB frames after H.264 encoding (:func:`write_h264`) and decoding.

    Odd frame sides are padded by one replicated pixel for the encoder and cut again.

    Args:
        frames: uint8 RGB frames at ``fps``.
        fps: Their frame rate.
        crf: x264's constant rate factor (0 lossless .. 51 worst).

    Returns:
        Frames of the same shape and count.
    """
    import av

    n, height, width = frames.shape[:3]
    even = np.pad(frames, ((0, 0), (0, height % 2), (0, width % 2), (0, 0)), mode="edge")
    buffer = io.BytesIO()
    write_h264(even, fps, crf, buffer)
    buffer.seek(0)
    with av.open(buffer, "r") as container:
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(decoded) == n, f"{len(decoded)} frames decoded from {n}"
    return np.stack(decoded).astype(np.uint8, copy=False)[:, :height, :width]
