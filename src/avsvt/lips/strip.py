"""A PNG strip of mouth crops, for people to check a lip track by eye."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from avsvt.data.atomic import atomic_path
from avsvt.lips.pipeline import LipTrack


def save_crop_strip(track: LipTrack, path_png: str | Path, n: int = 12) -> None:
    """Save ``n`` crops evenly spread over the track as one PNG row, each titled with its time.

    Missing crops (no face) are titled "no face".

    Args:
        track: The lip track.
        path_png: Output PNG file (written atomically).
        n: Number of crops shown (fewer if the track is shorter).

    Raises:
        AvsvtError: The PNG cannot be written.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    count = max(1, min(n, track.n_frames))
    indices = np.linspace(0, max(track.n_frames - 1, 0), count).round().astype(int)
    figure = Figure(figsize=(1.2 * count, 1.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, count, squeeze=False)[0]
    for axis, index in zip(axes, indices, strict=True):
        if track.n_frames:
            axis.imshow(track.crops[index], cmap="gray", vmin=0, vmax=255)
        no_face = bool(track.n_frames) and bool(track.missing[index])
        label = "no face" if no_face else f"{index / track.fps:.2f} s"
        axis.set_title(label, fontsize=8)
        axis.set_xticks([])
        axis.set_yticks([])
    figure.tight_layout(pad=0.3)
    with atomic_path(path_png) as tmp:
        figure.savefig(tmp, format="png")
