"""Figures people look at: F1 against SNR, and piano rolls over a spectrogram.

matplotlib runs on the Agg backend (no display needed); every function writes one PNG atomically.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from avsvt.constants import SAMPLE_RATE
from avsvt.data.atomic import atomic_path
from avsvt.notes import Note, hz_to_midi

SYSTEM_STYLES = {
    "reference": {"color": "black", "alpha": 0.35},
    "A": {"color": "tab:blue", "alpha": 0.8},
    "AV": {"color": "tab:red", "alpha": 0.8},
}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: object, path: str | Path, dpi: int = 110) -> None:
    plt = _pyplot()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png")  # type: ignore[attr-defined]
    plt.close(fig)


def plot_f1_vs_snr(
    curves: Mapping[str, Mapping[str, Mapping[str, Mapping[str, float]]]],
    path: str | Path,
    *,
    metrics: Sequence[str] = ("COnPOff", "COnP", "COn", "COff"),
    title: str = "",
) -> None:
    """F1 (%) against SNR: one row per noise type, one panel per metric, one line per system.

    Args:
        curves: ``{system: {noise_type: {snr ("-10".."10" or "clean"): {metric: f1 in 0..1}}}}``.
        path: Output PNG.
        metrics: Metrics to plot, one column each.
        title: Figure title.
    """
    plt = _pyplot()
    noise_types = sorted({t for per_type in curves.values() for t in per_type})
    fig, axes = plt.subplots(
        len(noise_types),
        len(metrics),
        figsize=(3.2 * len(metrics), 2.6 * len(noise_types)),
        squeeze=False,
        sharey=True,
    )
    for row, noise_type in enumerate(noise_types):
        for col, metric in enumerate(metrics):
            ax = axes[row][col]
            for system, per_type in curves.items():
                points = per_type.get(noise_type, {})
                snrs = sorted(int(s) for s in points if s != "clean")
                xs: list[float] = [float(s) for s in snrs]
                ys = [100 * points[str(s)][metric] for s in snrs]
                style = SYSTEM_STYLES.get(system, {})
                ax.plot(xs, ys, marker="o", label=system, color=style.get("color"))
                if "clean" in points:
                    ax.axhline(
                        100 * points["clean"][metric], ls=":", lw=1, color=style.get("color")
                    )
            ax.set_ylim(0, 100)
            ax.grid(alpha=0.3)
            if row == 0:
                ax.set_title(metric)
            if col == 0:
                ax.set_ylabel(f"{noise_type}\nF1 (%)")
            if row == len(noise_types) - 1:
                ax.set_xlabel("SNR (dB)")
    axes[0][-1].legend(loc="lower right", fontsize=8, title="dotted: clean", title_fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path)


def plot_piano_roll(
    notes: Mapping[str, Sequence[Note]],
    path: str | Path,
    *,
    audio: npt.NDArray[np.float32] | None = None,
    sample_rate: int = SAMPLE_RATE,
    title: str = "",
    start_s: float = 0.0,
    end_s: float | None = None,
    video_cuts_s: Sequence[float] = (),
    video_gaps_s: Sequence[tuple[float, float]] = (),
) -> None:
    """Notes of several systems as bars, over the audio's log-frequency spectrogram when given.

    Args:
        notes: ``{system name: notes}``; "reference" is drawn as wide grey bars under the others.
        path: Output PNG.
        audio: Optional 16 kHz waveform drawn as a spectrogram on a MIDI-pitch axis.
        sample_rate: Rate of ``audio``.
        title: Figure title.
        start_s: Start of the shown time range.
        end_s: End of the shown time range (default: the last note or the audio's end).
        video_cuts_s: Times at which the lip video cuts to a new shot (dashed lines).
        video_gaps_s: Time ranges without a face in the lip video (shaded).
    """
    plt = _pyplot()
    all_notes = [n for ns in notes.values() for n in ns]
    if end_s is None:
        audio_end = 0.0 if audio is None else len(audio) / sample_rate
        end_s = max([n.offset_s for n in all_notes] + [audio_end, start_s + 1.0])
    pitches = [n.pitch_midi for n in all_notes] or [60.0]
    low, high = min(pitches) - 5, max(pitches) + 5
    fig, ax = plt.subplots(figsize=(min(16.0, 4 + 0.6 * (end_s - start_s)), 4.2))
    if audio is not None and len(audio) > 1024:
        _draw_spectrogram(ax, audio, sample_rate, low, high)
    systems = [name for name in notes if name != "reference"]
    for system, system_notes in notes.items():
        style = SYSTEM_STYLES.get(system, {"color": None, "alpha": 0.8})
        height = 0.9 if system == "reference" else 0.8 / max(1, len(systems))
        # systems side by side inside the reference bar, so none hides another
        shift = 0.0 if system == "reference" else (systems.index(system) + 0.5) * height - 0.4
        for i, n in enumerate(system_notes):
            ax.add_patch(
                plt.Rectangle(
                    (n.onset_s, n.pitch_midi + shift - height / 2),
                    n.duration_s,
                    height,
                    color=style["color"],
                    alpha=style["alpha"],
                    lw=0,
                    label=system if i == 0 else None,
                )
            )
    for k, (gap_start_s, gap_end_s) in enumerate(video_gaps_s):
        ax.axvspan(
            gap_start_s,
            gap_end_s,
            color="tab:red",
            alpha=0.12,
            lw=0,
            label="no face" if k == 0 else None,
        )
    for k, cut_s in enumerate(video_cuts_s):
        ax.axvline(cut_s, color="tab:purple", ls="--", lw=1, label="shot cut" if k == 0 else None)
    ax.set_xlim(start_s, end_s)
    ax.set_ylim(low, high)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("MIDI pitch")
    if any(notes.values()) or video_cuts_s or video_gaps_s:
        ax.legend(loc="upper right", fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    _save(fig, path)


def _draw_spectrogram(
    ax: object, audio: npt.NDArray[np.float32], sample_rate: int, low_midi: float, high_midi: float
) -> None:
    from scipy.signal import stft

    freqs, times, spec = stft(audio, fs=sample_rate, nperseg=1024, noverlap=1024 - 160)
    keep = freqs > 20
    midi = np.array([hz_to_midi(f) for f in freqs[keep]])
    power_db = 20 * np.log10(np.abs(spec[keep]) + 1e-6)
    grid = np.arange(low_midi, high_midi, 0.25)
    image = np.stack([np.interp(grid, midi, column) for column in power_db.T], axis=1)
    top = image.max()
    ax.imshow(  # type: ignore[attr-defined]
        image,
        origin="lower",
        aspect="auto",
        cmap="Greys",
        vmin=top - 70,
        vmax=top,
        extent=(float(times[0]), float(times[-1]), low_midi, high_midi),
        alpha=0.6,
    )
