"""``avsvt synth corpus``: write the synthetic corpus as an N20EMv2 root.

Song ``i`` is a pure function of ``(seed, i)`` (its generator is ``default_rng([seed, i])``), so the
files are byte-identical whatever the number of workers or the order songs finish in. Songs are
generated in a process pool, written atomically one song at a time (memory stays flat), and a rerun
skips songs whose files are complete; ``annotations.json`` is written last.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from avsvt.constants import SAMPLE_RATE, VIDEO_FPS, LipStyle
from avsvt.data.atomic import write_text_atomic
from avsvt.data.audio import write_audio
from avsvt.data.n20em import ACCOMP, VIDEO, VOCALS, write_annotations
from avsvt.data.prepare import NOTE_ANNO, save_npy_atomic
from avsvt.errors import AvsvtError
from avsvt.notefiles import read_json_notes, write_json_notes
from avsvt.notes import Note
from avsvt.parallel import worker_pool
from avsvt.synth.accomp import render_accompaniment
from avsvt.synth.lips import render_lips
from avsvt.synth.melody import plan_song
from avsvt.synth.voice import render_vocals

Preset = Literal["default", "tiny"]


@dataclass(frozen=True)
class PresetSizes:
    """Number of songs and their length range."""

    n_songs: int
    min_duration_s: float
    max_duration_s: float


PRESETS: dict[str, PresetSizes] = {
    "default": PresetSizes(48, 12.0, 20.0),
    "tiny": PresetSizes(6, 5.0, 7.0),
}


def song_id(index: int) -> str:
    """Folder name of song ``index``."""
    return f"synth_{index:04d}"


def assign_splits(n_songs: int, seed: int) -> list[str]:
    """About 70/15/15 train/valid/test, every split non-empty (from 3 songs), seeded."""
    if n_songs < 3:
        raise AvsvtError(f"a corpus needs at least 3 songs (one per split), got {n_songs}")
    n_valid = max(1, round(0.15 * n_songs))
    n_test = max(1, round(0.15 * n_songs))
    order = np.random.default_rng([seed, 10**6]).permutation(n_songs)
    splits = ["train"] * n_songs
    for i in order[:n_valid]:
        splits[i] = "valid"
    for i in order[n_valid : n_valid + n_test]:
        splits[i] = "test"
    return splits


def render_song(
    folder: Path, index: int, seed: int, sizes: PresetSizes, lips: LipStyle = "crops"
) -> list[Note]:
    """Render and write one song (vocals, accompaniment, video, its note list); return its notes.

    The audio does not depend on ``lips`` (the video is drawn last from the song's generator).
    """
    rng = np.random.default_rng([seed, index])
    duration_s = round(float(rng.uniform(sizes.min_duration_s, sizes.max_duration_s)), 2)
    plan = plan_song(rng, duration_s)
    vocals = render_vocals(plan, rng)
    accomp = render_accompaniment(plan, vocals, rng)
    n_video = int(round(duration_s * VIDEO_FPS))
    if lips != "crops":
        from avsvt.synth.face_lips import render_face_lips

        video = render_face_lips(
            plan,
            n_video,
            rng,
            varied_articulation=lips == "faces-varied",
            video_codec=lips == "faces-h264",
            weak_onsets=lips == "faces-weak",
        )
    else:
        video = render_lips(plan, n_video, rng)
    notes = [Note(n.onset_s, n.offset_s, float(n.pitch_midi)) for n in plan.notes]
    write_audio(folder / VOCALS, vocals)
    write_audio(folder / ACCOMP, accomp)
    save_npy_atomic(folder / VIDEO, video)
    write_json_notes(folder / NOTE_ANNO, notes)  # written last: marks the song complete
    assert len(vocals) == len(accomp) == int(round(duration_s * SAMPLE_RATE))
    return notes


def _render_job(args: tuple[Path, int, int, PresetSizes, LipStyle]) -> list[Note]:
    folder, index, seed, sizes, lips = args
    return render_song(folder, index, seed, sizes, lips)


def synth_corpus(
    out: str | Path,
    *,
    n_songs: int | None = None,
    seed: int = 0,
    preset: Preset = "default",
    workers: int = 2,
    progress: bool = True,
    lips: LipStyle = "crops",
) -> Path:
    """Write (or complete) a synthetic N20EMv2 root under ``out``; returns ``out``.

    ``lips`` chooses how the lip videos are made (:data:`LipStyle`); ``SYNTHETIC.json`` records it
    when it is not the default.
    """
    from tqdm import tqdm

    out = Path(out)
    sizes = PRESETS[preset]
    count = n_songs if n_songs is not None else sizes.n_songs
    if count < 3:
        raise AvsvtError(
            f"--songs {count}: a corpus needs at least 3 songs (one per split)", path=out
        )
    record_path = out / "SYNTHETIC.json"
    if record_path.exists():  # completing a corpus: its songs must all be of one kind
        try:
            earlier = json.loads(record_path.read_text()).get("lips", "crops")
        except (OSError, ValueError, AttributeError):
            earlier = None
        if earlier != lips:
            raise AvsvtError(
                f"holds a corpus with lips {earlier!r}, not {lips!r}: write it to a new folder",
                path=out,
            )
    splits = assign_splits(count, seed)
    notes: dict[int, list[Note]] = {}
    todo: list[tuple[Path, int, int, PresetSizes, LipStyle]] = []
    for index in range(count):
        folder = out / "data" / song_id(index)
        if (folder / NOTE_ANNO).exists() and all(
            (folder / f).exists() for f in (VOCALS, ACCOMP, VIDEO)
        ):
            notes[index] = read_json_notes(folder / NOTE_ANNO)
        else:
            todo.append((folder, index, seed, sizes, lips))
    bar = tqdm(
        total=count,
        initial=count - len(todo),
        desc="synth corpus",
        unit="song",
        disable=not progress,
    )
    if workers > 1 and len(todo) > 1:
        with worker_pool(max_workers=workers) as pool:
            for job, song_notes in zip(todo, pool.map(_render_job, todo), strict=True):
                notes[job[1]] = song_notes
                bar.update()
    else:
        for job in todo:
            notes[job[1]] = _render_job(job)
            bar.update()
    bar.close()
    write_annotations(out, {song_id(i): (splits[i], notes[i]) for i in range(count)})
    record: dict[str, object] = {
        "generator": "avsvt synth corpus",
        "seed": seed,
        "preset": preset,
        "songs": count,
    }
    if lips != "crops":
        record["lips"] = lips
    write_text_atomic(record_path, json.dumps(record) + "\n")
    return out
