"""Choose the f0 note segmentation settings on the embedded corpus's validation split.

Grid search over :class:`avsvt.f0notes.F0NoteSettings` on the clean vocals of the validation songs,
scored by song-averaged COnPOff F1 (ties: COnP). Real recordings are never used for this choice.

    .venv/bin/python benchmarks/tune_f0_notes.py --root runs/demo/corpus
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
from pathlib import Path

# Ranges from musical priors: sung notes as short as a sixteenth at 150 bpm (100 ms) must survive,
# so fragments up to 100 ms may be dropped and a new pitch must hold for at most 80 ms.
GRID = {
    "max_aperiodicity": [0.15, 0.2, 0.25, 0.35],
    "split_semitones": [0.5, 0.7, 1.0],
    "hold_frames": [1, 3, 5, 8],
    "reference_frames": [10, 1000],
    "min_note_s": [0.05, 0.08, 0.1],
    "pitch_skip_s": [0.0, 0.05],
    "onset_shift_s": [-0.03, -0.015, 0.0],
}


def main() -> None:
    from avsvt.data.audio import read_audio
    from avsvt.data.n20em import load_songs
    from avsvt.f0notes import F0NoteSettings, f0_notes, track_f0
    from avsvt.metrics import mean_scores, score_notes
    from avsvt.recipes.stage1 import split_songs

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, required=True, help="an embedded corpus root")
    parser.add_argument("--split", default="valid")
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    songs = split_songs(load_songs(args.root), args.split)
    audio = [read_audio(s.vocals_path) for s in songs]
    names = list(GRID)
    results = []
    tracks: dict[float, list[object]] = {}
    for values in itertools.product(*GRID.values()):
        settings = F0NoteSettings(**dict(zip(names, values, strict=True)))
        if settings.max_aperiodicity not in tracks:
            tracks[settings.max_aperiodicity] = [track_f0(a, settings) for a in audio]
        scores = [
            score_notes(list(song.notes), f0_notes(track, settings))  # type: ignore[arg-type]
            for song, track in zip(songs, tracks[settings.max_aperiodicity], strict=True)
        ]
        mean = mean_scores(scores)
        results.append((mean.COnPOff.f1, mean.COnP.f1, mean.COn.f1, settings))
    results.sort(key=lambda r: (r[0], r[1]), reverse=True)
    default = F0NoteSettings()
    print(f"{len(songs)} {args.split} songs, {len(results)} settings")
    for conpoff, conp, con, settings in results[: args.top]:
        changed = {
            f.name: getattr(settings, f.name)
            for f in dataclasses.fields(settings)
            if getattr(settings, f.name) != getattr(default, f.name)
        }
        print(f"COnPOff {conpoff:.3f} COnP {conp:.3f} COn {con:.3f}  {changed}")


if __name__ == "__main__":
    main()
