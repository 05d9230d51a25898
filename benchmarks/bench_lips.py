"""Speed of the lip-video front end on a GRID clip (75 frames, 360x288, 25 fps -> 150 crops).

Run: .venv/bin/python benchmarks/bench_lips.py [CLIP.mpg]

Reports source frames per second for each stage and for the whole of ``mouth_crops_from_video``
(decode twice, face mesh, gaps/smoothing/alignment, warps, 50 fps resampling), best of 5 runs
with one reused face-mesh graph; torch/OpenCV threads are left at their defaults.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from avsvt.lips import FaceLandmarker, detect_face_landmarks, mouth_crops_from_video
from avsvt.lips.io import iter_video_frames
from harness import best_of

DEFAULT_CLIP = Path(__file__).resolve().parents[2] / "shared" / "data" / "grid" / "lbbc2a.mpg"


def main() -> None:
    clip = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CLIP
    n_frames = sum(1 for _ in iter_video_frames(clip))
    with FaceLandmarker() as landmarker:
        start = time.perf_counter()
        mouth_crops_from_video(clip, landmarker=landmarker)  # warm-up (graph start, lazy imports)
        first_s = time.perf_counter() - start
        t_decode = best_of(lambda: sum(1 for _ in iter_video_frames(clip)))
        t_landmarks = best_of(lambda: detect_face_landmarks(clip, landmarker))
        t_total = best_of(lambda: mouth_crops_from_video(clip, landmarker=landmarker))
    cores = os.cpu_count()
    print(f"clip: {clip.name}, {n_frames} frames; {cores} CPU cores; first call {first_s:.2f} s")
    print("| stage | time (best of 5) | source frames/s |")
    print("|---|---|---|")
    for name, seconds in (
        ("decode (PyAV, rgb24)", t_decode),
        ("decode + face mesh landmarks", t_landmarks),
        ("mouth_crops_from_video (all)", t_total),
    ):
        print(f"| {name} | {seconds * 1000:.0f} ms | {n_frames / seconds:.0f} |")


if __name__ == "__main__":
    main()
