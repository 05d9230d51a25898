"""A user's inputs for transcription: audio from any file, mouth crops aligned with it.

Audio comes from an audio file or a video's audio track; crops from a raw video or a pre-cropped
N20EMv2 ``.npy``.

Documented fallbacks (each reported in the result's messages):

* no face found in the whole video: transcribe from audio only;
* face lost for longer than the interpolation limit: those frames are missing video (neutral grey);
* video shorter than the audio: the rest is missing video; longer: cut to the audio;
* a video that cuts from shot to shot: each shot's lips are read on their own (``cuts``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from avsvt.constants import SAMPLE_RATE, VIDEO_FPS

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mkv", ".mpg", ".mpeg", ".mov", ".webm", ".m4v"})


def load_audio(path: str | Path) -> npt.NDArray[np.float32]:
    """16 kHz mono audio from an audio file (wav, flac, ogg, mp3, ...) or a video's audio track."""
    from avsvt.data.audio import read_audio
    from avsvt.data.files import require_file

    require_file(path)  # a folder, FIFO or device is named as such, whatever its suffix
    if Path(path).suffix.lower() in VIDEO_SUFFIXES:
        from avsvt.lips import read_video_audio

        return read_video_audio(path)
    return read_audio(path)


@dataclass(frozen=True)
class AlignedVideo:
    """Mouth crops covering exactly the audio (50 fps), the missing-frame mask and remarks.

    ``cuts`` are the crops at which a new shot starts (:attr:`avsvt.lips.LipTrack.cuts`).
    """

    crops: npt.NDArray[np.uint8] | None
    missing: npt.NDArray[np.bool_] | None
    gaps_s: list[tuple[float, float]] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    cuts: tuple[int, ...] = ()


def load_video(path: str | Path, n_audio_samples: int) -> AlignedVideo:
    """Mouth crops from ``path`` (raw video or ``.npy``), aligned to ``n_audio_samples`` of audio.

    Returns ``crops=None`` (audio-only fallback) when no face is found at all.
    """
    from avsvt.lips import lip_track_from_npy, mouth_crops_from_video
    from avsvt.lips.pipeline import MISSING_GREY
    from avsvt.utterances import shot_bounds

    path = Path(path)
    track = (
        lip_track_from_npy(path) if path.suffix.lower() == ".npy" else mouth_crops_from_video(path)
    )
    messages = []
    gaps = [tuple(g) for g in track.gaps_s]
    if not track.face_found:
        return AlignedVideo(
            None, None, [], [f"{path.name}: no face found; transcribed from audio only"]
        )
    for start_s, end_s in gaps:
        messages.append(
            f"{path.name}: face lost from {start_s:.2f} s to {end_s:.2f} s "
            "(treated as missing video)"
        )
    n_frames = round(n_audio_samples / SAMPLE_RATE * VIDEO_FPS)
    crops, missing = track.crops[:n_frames], track.missing[:n_frames]
    if len(crops) < n_frames:
        short_s = (n_frames - len(crops)) / VIDEO_FPS
        messages.append(
            f"{path.name}: video ends {short_s:.2f} s before the audio; the rest is "
            "treated as missing video"
        )
        pad = np.full((n_frames - len(crops), *crops.shape[1:]), MISSING_GREY, dtype=np.uint8)
        crops = np.concatenate([crops, pad])
        missing = np.concatenate([missing, np.ones(len(pad), dtype=bool)])
    cuts = tuple(shot_bounds(track.cuts, n_frames, VIDEO_FPS)[1:-1])  # as the engine reads them
    if cuts:
        at = ", ".join(f"{k / VIDEO_FPS:.2f}" for k in cuts[:3])
        at += ", ..." if len(cuts) > 3 else ""
        messages.append(
            f"{path.name}: the video cuts to a new shot {len(cuts)} time(s) (at {at} s); "
            "each shot's lips are read on their own"
        )
    return AlignedVideo(crops, missing, [(float(a), float(b)) for a, b in gaps], messages, cuts)
