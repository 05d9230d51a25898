"""Forward (and forward+backward) time per second of input and peak memory of the model presets.

Each (preset, modality) runs in its own subprocess on 2 CPU threads so that its peak RSS
(``harness.peak_rss_mb``, the process's own VmHWM) is its own. ``large`` uses random
init (shapes of wav2vec2-large-lv60 / AV-HuBERT Large) and a short input.

    .venv/bin/python benchmarks/bench_models.py              # all presets
    .venv/bin/python benchmarks/bench_models.py --presets tiny cpu --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

SETTINGS = {  # preset -> (batch, seconds of input, repeats)
    "tiny": (4, 5.0, 5),
    "cpu": (4, 5.0, 5),
    "large": (1, 2.0, 2),
}
MODALITIES = ("audio", "video", "audio_visual")


def measure(preset_name: str, modality: str, threads: int) -> dict[str, float | str]:
    import torch

    torch.set_num_threads(threads)
    from avsvt.models import Transcriber, preset
    from harness import peak_rss_mb

    batch, seconds, repeats = SETTINGS[preset_name]
    torch.manual_seed(0)
    model = Transcriber(preset(preset_name, modality))
    n_params = sum(p.numel() for p in model.parameters())
    n_samples, n_frames = int(seconds * 16000), int(seconds * 50)
    inputs = {
        "audio": 0.1 * torch.randn(batch, n_samples),
        "video": torch.randint(0, 256, (batch, n_frames, 96, 96), dtype=torch.uint8),
    }
    audio_seconds = batch * seconds

    def run(train: bool) -> float:
        model.train(train)
        times = []
        for _ in range(repeats + 1):  # first run is warm-up
            start = time.perf_counter()
            if train:
                model.zero_grad(set_to_none=True)
                model(**inputs).logits.square().mean().backward()
            else:
                with torch.inference_mode():
                    model(**inputs)
            times.append(time.perf_counter() - start)
        return min(times[1:]) / audio_seconds

    forward_s = run(False)
    train_s = run(True)
    peak_mb = peak_rss_mb()
    return {
        "preset": preset_name,
        "modality": modality,
        "parameters": n_params,
        "batch": batch,
        "input_s": seconds,
        "forward_ms_per_s": 1000 * forward_s,
        "train_step_ms_per_s": 1000 * train_s,
        "peak_rss_mb": peak_mb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--modalities", nargs="+", default=list(MODALITIES), choices=MODALITIES)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", help="also write the rows here")
    parser.add_argument("--one", nargs=2, metavar=("PRESET", "MODALITY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one[0], args.one[1], args.threads)))
        return
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "HF_HUB_OFFLINE": "1"}
    rows = []
    print(
        f"{'preset':6} {'modality':12} {'params':>12} {'fwd ms/s':>9} {'train ms/s':>10} "
        f"{'peak MB':>8}"
    )
    for name in args.presets:
        for modality in args.modalities:
            out = subprocess.run(
                [sys.executable, __file__, "--one", name, modality, "--threads", str(args.threads)],
                capture_output=True, text=True, env=env, check=True,
            )  # fmt: skip
            row = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(
                f"{name:6} {modality:12} {row['parameters']:>12,} {row['forward_ms_per_s']:>9.2f} "
                f"{row['train_step_ms_per_s']:>10.2f} {row['peak_rss_mb']:>8.0f}",
                flush=True,
            )
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    main()
