"""Lips on real faces: onset F1 (+-100 ms) on the GRID talking-face clips (a check, never tuned on).

Reference onsets come from each clip's own audio, independently of every model
(:func:`syllable_onsets_s`): syllable onsets are the rises of a 4-band log-energy envelope
(200-5000 Hz, log-spaced bands, 10 ms hop, smoothed over 15 ms): a frame is an onset where the
mean positive rise over 40 ms is a local peak of at least 4 dB, onsets at least 100 ms apart, and
YIN (:func:`avsvt.f0.yin`) finds voicing within the 80 ms that follow (a syllable has a voiced
nucleus). On the 7 clips it finds 41 onsets where the transcripts (the file names: "bin blue at f
two now") have 46 syllables.

Systems and conditions:

* **video only**: the video-only model on the mouth crops alone (``mouth_crops_from_video``);
* **A vs AV** with the audio drowned at -10 dB (the reference's mixing rule, as
  ``benchmarks/run.py``): white noise (seed 0) and music (the accompaniment of the demo run's first
  embedded test song, tiled; ``benchmarks/gm_accomp.py`` instead when ``--music gm`` and fluidsynth
  is installed); the A and AV models are the stage-2 models trained at -10 dB of accompaniment;
  also clean, for reference. A run that also trained white-noise systems
  (``--set 'noise.types=[accomp,white]'``) adds the white condition scored with its models
  trained at -10 dB of white noise (the matched condition, as the reference's per-condition
  systems are used).

Chance is printed too: random onsets, as many as the reference's, anywhere over the speech
(:func:`chance_f1`). Syllables come every 0.2-0.3 s, so a ±100 ms window covers most of the
gap between two, and chance is about 0.5 at ±100 ms (0.3 at ±50 ms, ``--window-ms 50``, the
reference's COn tolerance).

With ``--white-draws N`` the A and AV systems are also scored in white noise drawn with seeds
0..N-1 and averaged (the tables use one draw, shared by every clip).

Also printed: how many reference onsets each system finds (one-to-one within the window) and how
many the A system and the lips find between them; and the default audio-only transcriber
(``avsvt transcribe`` without ``--model``; ``--no-default`` skips it) in each audio condition.

Each model's onsets are those of its decoded notes (the reference decoder, as ``avsvt transcribe``),
scored with ``mir_eval.onset.f_measure`` at +-100 ms. One clip is plotted (``--plot``): the
mouth-opening curve (inner-lip gap over the outer-eye-corner distance, from the face-mesh
landmarks), the video-only model's onset posterior, and the audio onsets, on one time axis;
``--plot-all`` draws every clip so, marking the audio onsets the video model finds or misses.

Run: .venv/bin/python benchmarks/bench_grid.py [--run runs/demo] [--video-model PATH]
     [--av-model PATH] [--a-model PATH] [--plot docs/images/grid_onsets.png]
     [--plot-all docs/images/grid_onsets_all.png] [--white-draws 5] [--window-ms 50]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from avsvt.constants import SAMPLE_RATE, VIDEO_FPS

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_GRID = ROOT.parent / "shared" / "data" / "grid"
ONSET_WINDOW_S = 0.1
DRONED_SNR_DB = -10.0

# reference onsets from audio (module docstring)
HOP_S = 0.01
BAND_EDGES_HZ = tuple(float(f) for f in np.geomspace(200.0, 5000.0, 5))
RISE_LAG_FRAMES = 2
MIN_RISE_DB = 4.0
MIN_GAP_S = 0.1
VOICING_AHEAD_S = 0.08
FLOOR_DB = 40.0

# mediapipe face mesh: inner upper / lower lip midpoints, outer eye corners
INNER_UPPER_LIP, INNER_LOWER_LIP = 13, 14
EYE_OUTER = (33, 263)

FloatArray = npt.NDArray[np.float64]


def syllable_onsets_s(
    audio: npt.NDArray[np.floating], sample_rate: int = SAMPLE_RATE
) -> FloatArray:
    """Syllable onsets (s) of speech from its energy-envelope rises with a voiced nucleus.

    See the module docstring for the rule; every setting is a module constant.
    """
    from scipy.ndimage import gaussian_filter1d
    from scipy.signal import find_peaks, stft

    from avsvt.f0 import yin

    x = np.asarray(audio, dtype=np.float64)
    hop = round(HOP_S * sample_rate)
    n_fft = 512 * sample_rate // SAMPLE_RATE
    freqs, _, spec = stft(
        x, fs=sample_rate, nperseg=n_fft, noverlap=n_fft - hop, boundary="even", padded=True
    )
    power = np.abs(spec) ** 2
    bands = np.stack(
        [
            10 * np.log10(power[(freqs >= lo) & (freqs < hi)].sum(axis=0) + 1e-12)
            for lo, hi in zip(BAND_EDGES_HZ[:-1], BAND_EDGES_HZ[1:], strict=True)
        ]
    )
    bands = gaussian_filter1d(bands, 1.5, axis=1)
    bands = np.maximum(bands, bands.max(axis=1, keepdims=True) - FLOOR_DB)
    lag = RISE_LAG_FRAMES
    rise = np.zeros(bands.shape[1])
    rise[lag:-lag] = np.maximum(bands[:, 2 * lag :] - bands[:, : -2 * lag], 0.0).mean(axis=0)
    peaks, _ = find_peaks(rise, height=MIN_RISE_DB, distance=round(MIN_GAP_S / HOP_S))
    track = yin(
        x.astype(np.float32),
        sample_rate=sample_rate,
        fmin_hz=70.0,
        fmax_hz=400.0,
        hop_length=hop,
        threshold=0.25,
        max_aperiodicity=0.5,
    )
    voiced = track.voiced
    ahead = round(VOICING_AHEAD_S / HOP_S) + 1
    kept = [int(k) for k in peaks if voiced[k : k + ahead].any()]
    return np.asarray(kept, dtype=np.float64) * HOP_S


def mouth_opening(landmarks: npt.ArrayLike) -> FloatArray:
    """(T,) inner-lip gap over the outer-eye-corner distance, from (T, 468, 2) landmarks."""
    points = np.asarray(landmarks, dtype=np.float64)
    gap = np.linalg.norm(points[:, INNER_LOWER_LIP] - points[:, INNER_UPPER_LIP], axis=-1)
    eyes = np.linalg.norm(points[:, EYE_OUTER[1]] - points[:, EYE_OUTER[0]], axis=-1)
    result: FloatArray = gap / np.maximum(eyes, 1e-9)
    return result


@dataclass(frozen=True)
class Clip:
    """One GRID clip: its audio, its mouth crops covering the audio, and the reference onsets."""

    name: str
    audio: npt.NDArray[np.float32]
    crops: npt.NDArray[np.uint8]
    onsets_s: FloatArray
    opening: FloatArray
    opening_times_s: FloatArray


def fit_crops(crops: npt.NDArray[np.uint8], n_samples: int) -> npt.NDArray[np.uint8]:
    """50 fps crops cut, or padded with the front end's no-face grey, to ``n_samples`` of audio."""
    from avsvt.lips.pipeline import MISSING_GREY

    n_frames = round(n_samples / SAMPLE_RATE * VIDEO_FPS)
    crops = crops[:n_frames]
    if len(crops) < n_frames:
        pad = np.full((n_frames - len(crops), *crops.shape[1:]), MISSING_GREY, dtype=np.uint8)
        crops = np.concatenate([crops, pad])
    return crops


def crops_for_audio(path: Path, n_samples: int) -> npt.NDArray[np.uint8]:
    """The front end's 50 fps mouth crops of a video file, fitted to ``n_samples`` of audio."""
    from avsvt.lips import mouth_crops_from_video

    return fit_crops(mouth_crops_from_video(path).crops, n_samples)


def load_clip(path: Path) -> Clip:
    """Audio, crops (50 fps, cut or padded to the audio) and reference onsets of one clip."""
    from avsvt.lips import (
        detect_face_landmarks,
        iter_video_frames,
        mouth_crops_from_landmarks,
        read_video_audio,
    )

    audio = read_video_audio(path)
    points, times_s, fps = detect_face_landmarks(path)
    track = mouth_crops_from_landmarks(
        (frame for frame, _ in iter_video_frames(path)), points, times_s, source_fps=fps
    )
    crops = fit_crops(track.crops, len(audio))
    return Clip(path.stem, audio, crops, syllable_onsets_s(audio), mouth_opening(points), times_s)


def model_onsets(
    model: object,
    audio: npt.NDArray[np.float32] | None,
    crops: npt.NDArray[np.uint8] | None,
    video_cuts: tuple[int, ...] = (),
) -> tuple[FloatArray, FloatArray, float]:
    """A transcriber's decoded note onsets (s), its onset posterior and the posterior's rate.

    ``video_cuts``: crops at which a new shot starts (the engine reads each shot on its own).
    """
    from avsvt.decoding import DecoderConfig, FramePosteriors, decode_notes
    from avsvt.models.apply import apply_model
    from avsvt.models.transcriber import Transcriber

    assert isinstance(model, Transcriber)
    outputs = apply_model(model, audio=audio, video=crops, video_cuts=video_cuts)
    posteriors = FramePosteriors.from_logits(outputs.values)
    notes = decode_notes(posteriors, DecoderConfig(fps=outputs.fps))
    onsets = np.asarray([n.onset_s for n in notes], dtype=np.float64)
    return onsets, posteriors.onset_prob, outputs.fps


def onset_f1(
    reference_s: FloatArray, estimated_s: FloatArray, window_s: float = ONSET_WINDOW_S
) -> float:
    """mir_eval onset F-measure within ``window_s`` (the issue's +-100 ms; ``--window-ms``)."""
    import mir_eval

    if len(reference_s) == 0 and len(estimated_s) == 0:
        return 1.0
    if len(reference_s) == 0 or len(estimated_s) == 0:
        return 0.0
    f1, _, _ = mir_eval.onset.f_measure(reference_s, estimated_s, window=window_s)
    return float(f1)


def chance_f1(
    clips: list[Clip], window_s: float = ONSET_WINDOW_S, n_draws: int = 200, seed: int = 0
) -> float:
    """Mean onset F1 of random onsets: per clip as many as its reference onsets, uniform from
    0.2 s before its first reference onset to 0.3 s after its last (over the speech), averaged
    over ``n_draws`` draws. A system that knows only where the speech is scores about this."""
    rng = np.random.default_rng(seed)
    scores = []
    for clip in clips:
        low, high = clip.onsets_s.min() - 0.2, clip.onsets_s.max() + 0.3
        draws = np.sort(rng.uniform(low, high, (n_draws, len(clip.onsets_s))), axis=1)
        scores.append(np.mean([onset_f1(clip.onsets_s, draw, window_s) for draw in draws]))
    return float(np.mean(scores))


def white_noise(n_samples: int, seed: int = 0) -> npt.NDArray[np.float32]:
    """Unit-variance Gaussian white noise from ``seed`` (the tables' draw is seed 0)."""
    return np.random.default_rng(seed).standard_normal(n_samples).astype(np.float32)


def found(
    reference_s: FloatArray, estimated_s: FloatArray, window_s: float = ONSET_WINDOW_S
) -> npt.NDArray[np.bool_]:
    """Which reference onsets an estimate matches (one-to-one within ``window_s``, as the F1
    counts them)."""
    import mir_eval

    hits = np.zeros(len(reference_s), dtype=bool)
    if len(reference_s) and len(estimated_s):
        pairs = mir_eval.util.match_events(reference_s, estimated_s, window_s)
        hits[[i for i, _ in pairs]] = True
    return hits


def music_noise(run: Path, choice: str, n_samples: int) -> tuple[str, npt.NDArray[np.float32]]:
    """The music that drowns the audio (module docstring) and its label."""
    if choice == "gm":
        from gm_accomp import gm_accompaniment, renderer_missing

        band = gm_accompaniment(n_samples / SAMPLE_RATE, seed=0)
        if band is not None:
            return "GM band", band
        print(f"no GM band ({renderer_missing()}): the embedded accompaniment instead")
    from avsvt.data.audio import read_audio
    from avsvt.data.n20em import load_songs
    from harness import run_corpus_root

    test = [s for s in load_songs(run_corpus_root(run)) if s.split == "test"]
    return "music", read_audio(test[0].accomp_path)


def drown(
    audio: npt.NDArray[np.float32], noise: npt.NDArray[np.float32], snr_db: float
) -> npt.NDArray[np.float32]:
    """``audio`` mixed with ``noise`` (tiled or cut) at ``snr_db``, the reference's rule."""
    from avsvt.noise.synthesis import mix_to_float32

    return mix_to_float32(audio, np.resize(noise, len(audio)), snr_db, "reference")


def plot_clip(
    clip: Clip,
    posterior: FloatArray,
    posterior_fps: float,
    onsets_s: FloatArray,
    out: Path,
    label: str,
) -> None:
    """Mouth opening, the video model's onset posterior and the audio onsets on one time axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 4.6), sharex=True)
    top.plot(clip.opening_times_s, clip.opening, color="tab:brown", lw=1.5)
    top.set_ylabel("inner-lip gap /\neye distance")
    top.set_title(f"GRID {clip.name}: mouth opening (face-mesh landmarks, 25 fps)")
    times = np.arange(len(posterior)) / posterior_fps
    bottom.plot(times, posterior, color="tab:blue", lw=1.5, label=f"{label}: onset posterior")
    for onset in onsets_s:
        bottom.axvline(onset, color="tab:blue", ls=":", lw=1.2)
    bottom.set_ylim(0, 1.02)
    bottom.set_ylabel("P(onset)")
    bottom.set_xlabel("time (s)")
    for axis in (top, bottom):
        for k, onset in enumerate(clip.onsets_s):
            axis.axvline(
                onset, color="tab:red", lw=1.0, alpha=0.7, label="audio onsets" if k == 0 else None
            )
    bottom.plot([], [], color="tab:blue", ls=":", label="model's decoded onsets")
    bottom.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def print_white_draws(
    clips: list[Clip], a_model: object, av_model: object, n_draws: int, window_s: float
) -> None:
    """A and AV mean onset F1 in white noise at -10 dB drawn with seeds 0..n_draws-1.

    One draw of white noise (the tables' seed 0) is shared by every clip, so its chance bursts
    fall at the same times in all 7 clips; several draws average that out.
    """
    n_samples = max(len(c.audio) for c in clips)
    f1 = np.zeros((n_draws, 2))
    for seed in range(n_draws):
        white = white_noise(n_samples, seed)
        for clip in clips:
            audio = drown(clip.audio, white, DRONED_SNR_DB)
            for k, model in enumerate((a_model, av_model)):
                onsets = model_onsets(model, audio, clip.crops)[0]
                f1[seed, k] += onset_f1(clip.onsets_s, onsets, window_s)
    f1 /= len(clips)
    seeds = f"seeds 0..{n_draws - 1}"
    print(f"\nWhite noise at {DRONED_SNR_DB:.0f} dB, {n_draws} draws ({seeds}), mean F1")
    print("| draw | A | AV | AV - A |")
    print("|---|---|---|---|")
    for seed, (a, av) in enumerate(f1):
        print(f"| {seed} | {a:.2f} | {av:.2f} | {av - a:+.2f} |")
    a, av = f1.mean(axis=0)
    print(f"| **mean** | **{a:.2f}** | **{av:.2f}** | **{av - a:+.2f}** |")


def plot_all_clips(
    clips: list[Clip],
    tracks: list[tuple[FloatArray, FloatArray, float]],
    out: Path,
    window_s: float,
) -> None:
    """Every clip on its own row: the mouth opening (scaled to its peak), the video model's
    onset posterior and decoded onsets, and the audio onsets it finds (green) or misses (red)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(clips), 1, figsize=(10, 1.7 * len(clips)), sharex=True)
    for axis, clip, (onsets_s, posterior, fps) in zip(
        np.atleast_1d(axes), clips, tracks, strict=True
    ):
        opening = clip.opening / max(float(np.nanmax(clip.opening)), 1e-9)
        axis.plot(clip.opening_times_s, opening, color="tab:brown", lw=1.2, label="mouth opening")
        times = np.arange(len(posterior)) / fps
        axis.plot(times, posterior, color="tab:blue", lw=1.2, label="P(onset), video only")
        for onset in onsets_s:
            axis.axvline(onset, color="tab:blue", ls=":", lw=1.0)
        hits = found(clip.onsets_s, onsets_s, window_s)
        for onset, hit in zip(clip.onsets_s, hits, strict=True):
            axis.axvline(onset, color="tab:green" if hit else "tab:red", lw=1.6, alpha=0.8)
        axis.set_ylim(0, 1.05)
        axis.set_ylabel(clip.name, fontsize=8)
        axis.tick_params(labelsize=7)
    first = np.atleast_1d(axes)[0]
    first.plot([], [], color="tab:green", label=f"audio onset found (±{window_s * 1000:.0f} ms)")
    first.plot([], [], color="tab:red", label="audio onset missed")
    first.plot([], [], color="tab:blue", ls=":", label="decoded onsets")
    first.legend(loc="upper right", fontsize=6, ncol=3)
    first.set_title("GRID: where the video-only model finds and misses syllable onsets", fontsize=9)
    np.atleast_1d(axes)[-1].set_xlabel("time (s)")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run", type=Path, default=ROOT / "runs" / "demo")
    parser.add_argument("--grid", type=Path, default=DEFAULT_GRID)
    parser.add_argument("--video-model", type=Path, default=None, help="default: RUN's stage 1")
    parser.add_argument("--av-model", type=Path, default=None, help="default: RUN's AV at -10 dB")
    parser.add_argument("--a-model", type=Path, default=None, help="default: RUN's A at -10 dB")
    parser.add_argument("--music", choices=("embedded", "gm"), default="embedded")
    parser.add_argument("--plot", type=Path, default=None, help="PNG of one clip")
    parser.add_argument("--plot-clip", default="lbbc2a")
    parser.add_argument("--plot-all", type=Path, default=None, help="PNG of every clip")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--no-default", action="store_true", help="skip the default audio-only transcriber"
    )
    parser.add_argument(
        "--window-ms",
        type=float,
        default=ONSET_WINDOW_S * 1000,
        help="onset tolerance of every score (the issue's 100; the reference's COn uses 50)",
    )
    parser.add_argument(
        "--white-draws",
        type=int,
        default=1,
        help="also score A and AV in white noise drawn with seeds 0..N-1 (N > 1), and average",
    )
    args = parser.parse_args()
    window_s = args.window_ms / 1000

    import torch

    from avsvt.models.checkpoint import load_model
    from avsvt.transcribe.api import transcribe_array
    from avsvt.transcribe.predictor import load_predictor

    torch.set_num_threads(args.threads)
    run = args.run
    condition = f"accomp_{DRONED_SNR_DB:.0f}dB"
    video_model = load_model(args.video_model or run / "stage1" / "video" / "best.safetensors")
    a_path = args.a_model or run / "stage2" / "A" / condition / "best.safetensors"
    av_path = args.av_model or run / "stage2" / "AV" / condition / "best.safetensors"
    fused = a_path.exists() and av_path.exists()
    if not fused:
        print(f"no stage-2 models ({a_path}, {av_path}): video only")
    a_model = load_model(a_path) if fused else None
    av_model = load_model(av_path) if fused else None
    # a run with white-noise stage-2 models too (noise.types: [accomp, white]) is also scored
    # with its models of the matched condition, as the reference's per-condition systems are
    white_paths = [
        run / "stage2" / s / f"white_{DRONED_SNR_DB:.0f}dB" / "best.safetensors"
        for s in ("A", "AV")
    ]
    matched = (
        [load_model(p) for p in white_paths]
        if fused and args.a_model is None and all(p.exists() for p in white_paths)
        else []
    )
    paths = sorted(args.grid.glob("*.mpg"))
    if not paths:
        raise SystemExit(f"no GRID clips in {args.grid}")
    clips = [load_clip(path) for path in paths]
    n_samples = max(len(c.audio) for c in clips)
    music_label, music = music_noise(run, args.music, n_samples)
    noises = {"white": white_noise(n_samples), music_label: music}
    columns = ["video only"]
    if fused:
        columns += ["clean A", "clean AV"]
        for label in noises:
            columns += [f"{label} {DRONED_SNR_DB:.0f} dB A", f"{label} {DRONED_SNR_DB:.0f} dB AV"]
    if matched:
        columns += [f"white {DRONED_SNR_DB:.0f} dB A (white-trained)", "... AV (white-trained)"]
    rows: dict[str, list[float]] = {}
    # reference onsets found: video, then A, A or video, AV per audio condition
    labels = ["clean", *(f"{label} {DRONED_SNR_DB:.0f} dB" for label in noises)]
    counts = np.zeros((len(labels), 4), dtype=int)
    default = None if args.no_default else load_predictor(None)
    default_f1 = np.zeros((len(clips), len(labels)))
    tracks = []
    for index, clip in enumerate(clips):
        video_onsets, posterior, fps = model_onsets(video_model, None, clip.crops)
        tracks.append((video_onsets, posterior, fps))
        cells = [onset_f1(clip.onsets_s, video_onsets, window_s)]
        by_video = found(clip.onsets_s, video_onsets, window_s)
        if args.plot is not None and clip.name == args.plot_clip:
            plot_clip(clip, posterior, fps, video_onsets, args.plot, "video-only model")
        audios = [clip.audio]
        audios += [drown(clip.audio, noise, DRONED_SNR_DB) for noise in noises.values()]
        for k, audio in enumerate(audios if fused else []):
            hits = []
            for model in (a_model, av_model):
                onsets, _, _ = model_onsets(model, audio, clip.crops)
                cells.append(onset_f1(clip.onsets_s, onsets, window_s))
                hits.append(found(clip.onsets_s, onsets, window_s))
            by_a, by_av = hits
            counts[k] += [by_video.sum(), by_a.sum(), (by_a | by_video).sum(), by_av.sum()]
        if default is not None:
            for k, audio in enumerate(audios):
                notes = transcribe_array(audio, default)
                onsets = np.asarray([n.onset_s for n in notes], dtype=np.float64)
                default_f1[index, k] = onset_f1(clip.onsets_s, onsets, window_s)
        white_audio = audios[1 + list(noises).index("white")]
        for model in matched:
            onsets, _, _ = model_onsets(model, white_audio, clip.crops)
            cells.append(onset_f1(clip.onsets_s, onsets, window_s))
        rows[f"{clip.name} ({len(clip.onsets_s)} onsets)"] = cells
    if args.plot_all is not None:
        plot_all_clips(clips, tracks, args.plot_all, window_s)
    print(f"Onset F1 at +-{window_s * 1000:.0f} ms against the audio's syllable onsets")
    print("| clip | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for name, cells in rows.items():
        print(f"| {name} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")
    mean = np.mean(np.array(list(rows.values())), axis=0)
    print("| **mean** | " + " | ".join(f"**{c:.2f}**" for c in mean) + " |")
    chance = chance_f1(clips, window_s)
    print(f"Chance: random onsets over the speech, as many as the reference's: {chance:.2f}")
    if fused:
        total = sum(len(clip.onsets_s) for clip in clips)
        window_ms = window_s * 1000
        print(f"\nReference onsets found (of {total}; one-to-one within +-{window_ms:.0f} ms)")
        print("| audio | video only | A | A or video | AV |")
        print("|---|---|---|---|---|")
        for label, row in zip(labels, counts, strict=True):
            print(f"| {label} | " + " | ".join(str(c) for c in row) + " |")
    if fused and args.white_draws > 1:
        assert a_model is not None and av_model is not None
        print_white_draws(clips, a_model, av_model, args.white_draws, window_s)
    if default is not None:
        print("\nThe default audio-only transcriber (`avsvt transcribe` without --model), mean F1")
        print("| " + " | ".join(labels) + " |")
        print("|---" * len(labels) + "|")
        print("| " + " | ".join(f"{c:.2f}" for c in default_f1.mean(axis=0)) + " |")


if __name__ == "__main__":
    main()
