"""Lips on real faces filmed differently: the GRID check on re-filmed copies of the clips.

Real videos differ from GRID's in ways that have nothing to do with the mouth: frame size and
rate, the face's size and place in the frame, head tilt, mirroring, light and compression. Each
variant here re-encodes the 7 GRID clips' frames (H.264 through PyAV) after one such change, and
runs the same front end and models on the copy:

* **re-encoded**: the frames as they are (separates our encoder's effect from the changes);
* **half size**: 180x144 instead of 360x288 (a face of about 60 pixels);
* **30 fps** and **15 fps**: frames resampled to the nearest source frame in time;
* **mirrored**: flipped left to right;
* **tilted**: rotated by 10 degrees about the frame centre;
* **small in frame**: the frame placed off-centre in a 640x480 grey canvas;
* **far, in HD**: the frame shrunk to 180 rows and placed in a 1280x720 grey canvas (a singer
  filmed from a few metres: a face about 80 pixels high, which only the full-range detector
  finds; :mod:`avsvt.lips.landmarks`);
* **dark**: brightness x0.4 with a lifted black level (a dim room);
* **compressed**: H.264 at CRF 40 (a poor video call).

Then **one video of all 7 clips, one after another** (H.264, CRF 18; 21 s, a cut to another
speaker every 3 s, as an edited video cuts between shots), with the clips' audio one after
another: the front end's shot cuts (:mod:`avsvt.lips.cuts`; 6 are there), and each clip's
scores on its own 3 s of the long output, with the engine reading each shot on its own (as
``avsvt transcribe`` does) and without (every shot in the 5-s utterances of one song).

The reference onsets are those of each original clip's audio (``bench_grid.syllable_onsets_s``),
and so is the audio that the AV model hears drowned in white noise at -10 dB. Scored: onset F1
(+-100 ms) of the video-only model and of the AV system; what a variant loses against the
original is what the front end and the model give up on such a video. A check: nothing is tuned
on it.

Run: .venv/bin/python benchmarks/bench_grid_variants.py [--run runs/demo] [--grid DIR]
     [--concatenation-only]
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

from avsvt.constants import SAMPLE_RATE, VIDEO_FPS
from avsvt.data.audio import fit_length
from bench_grid import (
    DEFAULT_GRID,
    DRONED_SNR_DB,
    ROOT,
    Clip,
    crops_for_audio,
    drown,
    fit_crops,
    load_clip,
    model_onsets,
    onset_f1,
    white_noise,
)

Frame = npt.NDArray[np.uint8]
SOURCE_FPS = 25.0


def _rotate(frame: Frame, degrees: float) -> Frame:
    import cv2

    height, width = frame.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    return np.asarray(
        cv2.warpAffine(frame, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)
    )


def _resize(frame: Frame, factor: float) -> Frame:
    import cv2

    height, width = frame.shape[:2]
    size = (2 * round(width * factor / 2), 2 * round(height * factor / 2))
    return np.asarray(cv2.resize(frame, size, interpolation=cv2.INTER_AREA))


def _in_canvas(frame: Frame) -> Frame:
    canvas = np.full((480, 640, 3), 110, dtype=np.uint8)
    height, width = frame.shape[:2]
    canvas[40 : 40 + height, 250 : 250 + width] = frame
    return canvas


def _far_in_hd(frame: Frame) -> Frame:
    small = _resize(frame, 180 / frame.shape[0])
    canvas = np.full((720, 1280, 3), 100, dtype=np.uint8)
    height, width = small.shape[:2]
    canvas[250 : 250 + height, 500 : 500 + width] = small
    return canvas


def _dark(frame: Frame) -> Frame:
    return np.clip(12.0 + 0.4 * frame.astype(np.float64), 0, 255).astype(np.uint8)


VARIANTS: dict[str, tuple[Callable[[Frame], Frame], float, int]] = {
    # name: (frame change, output fps, H.264 CRF)
    "re-encoded": (lambda f: f, SOURCE_FPS, 18),
    "half size": (lambda f: _resize(f, 0.5), SOURCE_FPS, 18),
    "30 fps": (lambda f: f, 30.0, 18),
    "15 fps": (lambda f: f, 15.0, 18),
    "mirrored": (lambda f: np.ascontiguousarray(f[:, ::-1]), SOURCE_FPS, 18),
    "tilted": (lambda f: _rotate(f, 10.0), SOURCE_FPS, 18),
    "small in frame": (_in_canvas, SOURCE_FPS, 18),
    "far, in HD": (_far_in_hd, SOURCE_FPS, 18),
    "dark": (_dark, SOURCE_FPS, 18),
    "compressed": (lambda f: f, SOURCE_FPS, 40),
}


def write_variant(
    source: Path, out: Path, change: Callable[[Frame], Frame], fps: float, crf: int
) -> None:
    """Re-encode the frames of ``source``, changed and resampled to ``fps``, as H.264 mp4."""
    from avsvt.lips import iter_video_frames
    from avsvt.lips.timing import nearest_frame_indices, output_times_s, source_duration_s
    from avsvt.synth.codec import write_h264

    frames, times_s = zip(*iter_video_frames(source), strict=True)
    picks = nearest_frame_indices(times_s, output_times_s(source_duration_s(times_s), fps))
    write_h264(np.stack([change(frames[p]) for p in picks]), fps, crf, out, container="mp4")


def write_concatenation(sources: list[Path], out: Path) -> list[int]:
    """Every source's frames one after another as one H.264 mp4; each source's frame count."""
    from avsvt.lips import iter_video_frames
    from avsvt.synth.codec import write_h264

    parts = [np.stack([frame for frame, _ in iter_video_frames(p)]) for p in sources]
    write_h264(np.concatenate(parts), SOURCE_FPS, 18, out, container="mp4")
    return [len(part) for part in parts]


def score_concatenation(
    paths: list[Path],
    clips: list[Clip],
    video_model: object,
    av_model: object,
    tmp: Path,
) -> None:
    """Print the cuts found in the clips played one after another, and the per-clip scores."""
    from avsvt.lips import mouth_crops_from_video

    out = tmp / "all.mp4"
    counts = write_concatenation(paths, out)
    starts_s = np.concatenate([[0.0], np.cumsum(counts) / SOURCE_FPS])
    audio = np.concatenate(
        [
            fit_length(clip.audio, round((b - a) * SAMPLE_RATE))
            for clip, a, b in zip(clips, starts_s[:-1], starts_s[1:], strict=True)
        ]
    )
    track = mouth_crops_from_video(out)
    crops = fit_crops(track.crops, len(audio))
    drowned = drown(audio, white_noise(len(audio)), DRONED_SNR_DB)
    truth = [round(s * VIDEO_FPS) for s in starts_s[1:-1]]
    print(
        f"\nThe {len(clips)} clips one after another ({len(audio) / SAMPLE_RATE:.1f} s): "
        f"shot cuts found at crops {list(track.cuts)}, the clips start at {truth}"
    )
    print("| engine | video only | AV, white -10 dB |")
    print("|---|---|---|")
    for label, cuts in (("each shot on its own", track.cuts), ("one song, cuts ignored", ())):
        cells = []
        for model, sound in ((video_model, None), (av_model, drowned)):
            onsets = model_onsets(model, sound, crops, cuts)[0]
            f1 = [
                onset_f1(clip.onsets_s, onsets[(onsets >= a) & (onsets < b)] - a)
                for clip, a, b in zip(clips, starts_s[:-1], starts_s[1:], strict=True)
            ]
            cells.append(f"{np.mean(f1):.2f}")
        print(f"| {label} | {' | '.join(cells)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run", type=Path, default=ROOT / "runs" / "demo")
    parser.add_argument("--grid", type=Path, default=DEFAULT_GRID)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--concatenation-only", action="store_true", help="only the clips one after another"
    )
    args = parser.parse_args()

    import torch

    from avsvt.models.checkpoint import load_model

    torch.set_num_threads(args.threads)
    condition = f"accomp_{DRONED_SNR_DB:.0f}dB"
    video_model = load_model(args.run / "stage1" / "video" / "best.safetensors")
    av_model = load_model(args.run / "stage2" / "AV" / condition / "best.safetensors")
    paths = sorted(args.grid.glob("*.mpg"))
    if not paths:
        raise SystemExit(f"no GRID clips in {args.grid}")
    clips = [load_clip(path) for path in paths]
    white = white_noise(max(len(c.audio) for c in clips))
    drowned = [drown(c.audio, white, DRONED_SNR_DB) for c in clips]

    def scores(all_crops: list[npt.NDArray[np.uint8]]) -> tuple[float, float]:
        video, fused = [], []
        for clip, crops, audio in zip(clips, all_crops, drowned, strict=True):
            video.append(onset_f1(clip.onsets_s, model_onsets(video_model, None, crops)[0]))
            fused.append(onset_f1(clip.onsets_s, model_onsets(av_model, audio, crops)[0]))
        return float(np.mean(video)), float(np.mean(fused))

    print(f"GRID onset F1 (+-100 ms, mean of {len(clips)} clips); AV: white noise at -10 dB")
    print("| video | video only | AV |")
    print("|---|---|---|")
    video_f1, av_f1 = scores([c.crops for c in clips])
    print(f"| the original clips | {video_f1:.2f} | {av_f1:.2f} |")
    with tempfile.TemporaryDirectory() as tmp:
        variants = {} if args.concatenation_only else VARIANTS
        for name, (change, fps, crf) in variants.items():
            all_crops = []
            for path, clip in zip(paths, clips, strict=True):
                out = Path(tmp) / f"{path.stem}.mp4"
                write_variant(path, out, change, fps, crf)
                all_crops.append(crops_for_audio(out, len(clip.audio)))
            video_f1, av_f1 = scores(all_crops)
            print(f"| {name} | {video_f1:.2f} | {av_f1:.2f} |")
        score_concatenation(paths, clips, video_model, av_model, Path(tmp))


if __name__ == "__main__":
    main()
