"""``avsvt synth preview``: one picture to check a song's labels by eye.

Top: the vocals' spectrogram (log frequency as MIDI) with the reference notes drawn over it.
Middle: the mouth-opening curve (darkness of the mouth region per video frame) with the note onsets.
Bottom: a strip of lip frames at evenly spaced times.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from avsvt.constants import VIDEO_FPS
from avsvt.data.atomic import atomic_path
from avsvt.data.audio import read_audio
from avsvt.data.n20em import load_songs
from avsvt.data.video import read_video
from avsvt.errors import DataError


def mouth_opening(video: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    """Per frame, the fraction of dark pixels in the central mouth region (0 closed .. 1 open)."""
    side = video.shape[1]
    centre = video[:, side // 4 : 3 * side // 4, side // 5 : 4 * side // 5].astype(np.float64)
    threshold = 0.4 * np.median(video[:, :, :8])  # the cavity is far darker than skin or lips
    return np.asarray((centre < threshold).mean(axis=(1, 2)), dtype=np.float64)


def write_preview(root: str | Path, song_id: str, out_png: str | Path) -> Path:
    """Draw the preview of ``song_id`` of the N20EMv2 ``root`` into ``out_png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from avsvt.plots import _draw_spectrogram

    songs = {s.song_id: s for s in load_songs(root)}
    if song_id not in songs:
        raise DataError(f"no song {song_id!r} (songs: {', '.join(list(songs)[:5])}...)", path=root)
    song = songs[song_id]
    audio = read_audio(song.vocals_path)
    video = read_video(song.video_path)
    duration_s = len(audio) / 16000
    pitches = [n.pitch_midi for n in song.notes] or [60.0]
    low, high = min(pitches) - 6, max(pitches) + 6
    fig = plt.figure(figsize=(14, 8))
    grid = fig.add_gridspec(3, 12, height_ratios=[3, 1.2, 1.2])
    ax = fig.add_subplot(grid[0, :])
    _draw_spectrogram(ax, audio, 16000, low, high)
    for n in song.notes:
        ax.add_patch(
            Rectangle(
                (n.onset_s, n.pitch_midi - 0.4),
                n.duration_s,
                0.8,
                fill=False,
                edgecolor="tab:red",
                lw=1.2,
            )
        )
    ax.set_xlim(0, duration_s)
    ax.set_ylabel("MIDI pitch")
    ax.set_title(f"{song_id}: vocals with reference notes (red boxes)")
    ax2 = fig.add_subplot(grid[1, :], sharex=ax)
    ax2.plot(np.arange(len(video)) / VIDEO_FPS, mouth_opening(video), lw=1)
    for n in song.notes:
        ax2.axvline(n.onset_s, color="tab:red", lw=0.6, alpha=0.6)
    ax2.set_ylabel("mouth opening")
    ax2.set_xlabel("time (s)")
    for i, t in enumerate(np.linspace(0.5, duration_s - 0.5, 12)):
        axf = fig.add_subplot(grid[2, i])
        axf.imshow(video[min(len(video) - 1, int(t * VIDEO_FPS))], cmap="gray", vmin=0, vmax=255)
        axf.set_title(f"{t:.1f} s", fontsize=8)
        axf.axis("off")
    fig.tight_layout()
    out_png = Path(out_png)
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)
    return out_png
