"""Writing test videos with PyAV (lip tests, transcription tests)."""

from fractions import Fraction
from pathlib import Path

import numpy as np


def write_video(
    path: Path,
    frames: np.ndarray,
    *,
    fps: Fraction = Fraction(25),
    start_s: float = 0.0,
    audio: np.ndarray | None = None,
    audio_rate: int = 44_100,
    codec: str = "mpeg4",
) -> Path:
    """Encode (T, H, W, 3) uint8 RGB frames and optional mono audio (aac) with PyAV.

    The first video frame is presented at ``start_s``; the audio starts at 0. ``codec="ffv1"``
    (in ``.mkv``) is lossless, so repeated frames decode identical.
    """
    import av

    with av.open(str(path), "w") as container:
        video = container.add_stream(codec, rate=fps)
        video.width, video.height = frames.shape[2], frames.shape[1]
        video.pix_fmt = "yuv420p"
        video.codec_context.time_base = 1 / fps
        sound = None
        if audio is not None:
            sound = container.add_stream("aac", rate=audio_rate)
            sound.layout = "mono"
        offset = round(start_s * fps)
        for index, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts = index + offset
            frame.time_base = 1 / fps
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if sound is not None and audio is not None:
            block = 1024
            for start in range(0, len(audio), block):
                chunk = np.asarray(audio[start : start + block], dtype=np.float32)[None, :]
                frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
                frame.sample_rate = audio_rate
                frame.pts = start
                frame.time_base = Fraction(1, audio_rate)
                container.mux(sound.encode(frame))
            container.mux(sound.encode(None))
    return path


def set_display_matrix(path: Path, matrix: tuple[int, ...]) -> Path:
    """Write a 3x3 display matrix into the first track header (``tkhd``) of an MP4 file.

    ``matrix`` is the header's nine numbers in file order ``a b u c d v x y w`` (16.16 fixed
    point, except ``u v w`` in 2.30), as the QuickTime/ISO BMFF format defines them: a stored
    pixel at (x, y) is shown at ``(a x + c y + x_t, b x + d y + y_t)``. ``write_video`` adds
    the video track first, so the first ``tkhd`` is the video's. This is how a phone marks a
    portrait or upside-down recording.
    """
    import struct

    data = bytearray(path.read_bytes())
    box = data.find(b"tkhd")
    assert box > 0, f"no tkhd box in {path}"
    version = data[box + 4]
    # version/flags 4, times and track id (20 or 32 bytes), reserved 8, layer, group, volume, 2
    start = box + 4 + 4 + (32 if version == 1 else 20) + 8 + 8
    data[start : start + 36] = struct.pack(">9i", *matrix)
    path.write_bytes(bytes(data))
    return path


def small_in_wide_frames(
    frames: np.ndarray, face_frame_height: int, step_px: int = 0
) -> np.ndarray:
    """The clip's frames shrunk to ``face_frame_height`` rows and pasted into a 1280x720 frame
    (a singer filmed from a few metres): its face fills about a ninth of the frame's height.
    ``step_px`` moves it right by that much per frame (wrapping round)."""
    import cv2

    height, width = frames.shape[1:3]
    small_width = round(width * face_frame_height / height)
    wide = np.full((len(frames), 720, 1280, 3), 100, dtype=np.uint8)
    for index, frame in enumerate(frames):
        x = 50 + (step_px * index) % (1280 - small_width - 100)
        small = cv2.resize(frame, (small_width, face_frame_height), interpolation=cv2.INTER_AREA)
        wide[index, 250 : 250 + face_frame_height, x : x + small_width] = small
    return wide
