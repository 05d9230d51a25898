r"""MUSAN preparation (AV-HuBERT's ``musan_prepare.py``, reference-system.md 6.1 and 9.1), sharded.

From ``MUSAN_ROOT/{speech,music,noise}/<sub>/*.wav`` it writes, under ``OUT`` (by default
``MUSAN_ROOT/short-musan``)::

    <category>/<sub>/<name>-<k>.wav     10-s pieces of every file longer than 10 s (the last one
                                        shorter); files <= 10 s are dropped, as in the reference,
                                        unless ``keep_short`` (then copied as ``<name>-0.wav``)
    speech/spk.{train,valid,test}       speakers (piece name without its last '-' field), split
                                        80/10/10 by a seeded shuffle (the reference's is unseeded)
    babble/wav/{split}-{i:05d}.wav      i = 1..n: the mean of 30 speech pieces of one split, all
                                        cut to the shortest (int16 mean, truncated back to int16)
    nframes.audio                       "<abs path>\\t<samples>" of every babble, music, noise clip

Everything is planned from the source listing alone (names and lengths): a piece is a sample range
of its source file and a babble mixture is a list of such ranges drawn with
``default_rng([seed, split, i])``. So every output file is a pure function of the sources and the
settings, the stages need no barrier between them, and the output is the same for any shard count
or order. Work is cut into ``nshard`` shards (source files, then babble mixtures, in chunks of
ceil(n / nshard) as the reference does); each shard writes its files atomically and then a
done-marker, and a rerun skips the shards whose marker matches the settings. Shards run in this
process, on a local process pool, or as a Slurm job array through submitit (optional import).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from collections.abc import Sequence
from concurrent.futures import as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from tqdm import tqdm

from avsvt.constants import SAMPLE_RATE, SPLITS
from avsvt.data.atomic import write_json_atomic, write_text_atomic
from avsvt.errors import ConfigError, DataError
from avsvt.noise.wavio import n_samples_16k, read_pcm16, write_pcm16
from avsvt.parallel import worker_pool
from avsvt.slurm import submitit_executor

logger = logging.getLogger(__name__)

PIECE_SAMPLES = 10 * SAMPLE_RATE
CATEGORIES = ("speech", "music", "noise")
SHORT_MUSAN = "short-musan"
BABBLE_SUBDIR = Path("babble") / "wav"
NFRAMES = "nframes.audio"
SHARD_DIR = ".shards"
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)
Launcher = Literal["local", "slurm"]


@dataclass(frozen=True)
class PrepareConfig:
    """Settings of a MUSAN preparation (the defaults reproduce the reference)."""

    seed: int = 0
    n_babble: tuple[int, int, int] = (8000, 1000, 1000)
    """Babble mixtures for train, valid, test."""
    n_mix: int = 30
    """Speech pieces averaged into one babble mixture."""
    keep_short: bool = False
    """Also copy files of <= 10 s (as one piece ``<name>-0.wav``); the reference drops them."""


@dataclass(frozen=True)
class SlurmOptions:
    """Resources of the Slurm job array (submitit's AutoExecutor parameters)."""

    partition: str | None = None
    timeout_min: int = 60
    cpus_per_task: int = 1
    mem_gb: float = 4.0
    array_parallelism: int = 100
    log_dir: str | None = None
    """submitit's log folder (default: ``OUT/.shards/submitit``)."""
    cluster: str | None = None
    """submitit cluster: None picks Slurm when available; ``debug``/``local`` run here (tests)."""


@dataclass(frozen=True)
class Piece:
    """One output clip: samples ``[start, stop)`` of a source file (16 kHz)."""

    source: str
    relpath: str
    start: int
    stop: int

    @property
    def n_samples(self) -> int:
        """Length in samples."""
        return self.stop - self.start


@dataclass(frozen=True)
class BabbleSpec:
    """One babble mixture: the mean of ``sources`` (pieces), each cut to ``n_samples``."""

    relpath: str
    sources: tuple[Piece, ...]
    n_samples: int


@dataclass(frozen=True)
class MusanPlan:
    """Everything preparation will write, computed from the source listing and the settings."""

    root: Path
    out: Path
    config: PrepareConfig
    pieces_by_source: tuple[tuple[str, tuple[Piece, ...]], ...]
    speakers: dict[str, tuple[str, ...]] = field(hash=False)
    speech_pool_sizes: dict[str, int] = field(hash=False)
    """Speech pieces per split (the babble source pool)."""
    babble: tuple[BabbleSpec, ...]
    fingerprint: str

    @property
    def pieces(self) -> list[Piece]:
        """All pieces in source order."""
        return [p for _, pieces in self.pieces_by_source for p in pieces]


@dataclass(frozen=True)
class PrepareSummary:
    """What a preparation run did."""

    out: Path
    n_shards: int
    n_shards_run: int
    n_shards_skipped: int
    n_pieces: int
    n_babble: int
    finished: bool
    """All shards are done and ``nframes.audio`` / ``spk.*`` are written."""


def speaker_of(piece_name: str) -> str:
    """The reference's speaker id: the piece's basename without its last '-' field."""
    return Path(piece_name).stem.rsplit("-", 1)[0]


def source_files(root: str | Path) -> list[Path]:
    """``root/{speech,music,noise}/*/*.wav``, sorted (hidden files ignored).

    Raises:
        DataError: ``root`` is not a directory or holds no such files.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError("MUSAN root not found", path=root)
    files = sorted(
        p
        for category in CATEGORIES
        for p in (root / category).glob("*/*.wav")
        if not p.name.startswith(".")
    )
    if not files:
        raise DataError(
            "no MUSAN files found (expected speech/*/*.wav, music/*/*.wav, noise/*/*.wav)",
            path=root,
        )
    return files


def _pieces_of(source: Path, root: Path, n_samples: int, keep_short: bool) -> tuple[Piece, ...]:
    rel = source.relative_to(root)
    if n_samples <= PIECE_SAMPLES:
        if not keep_short or n_samples == 0:
            return ()
        return (Piece(str(source), str(rel.with_name(f"{rel.stem}-0.wav")), 0, n_samples),)
    return tuple(
        Piece(
            str(source),
            str(rel.with_name(f"{rel.stem}-{k}.wav")),
            k * PIECE_SAMPLES,
            min((k + 1) * PIECE_SAMPLES, n_samples),
        )
        for k in range(math.ceil(n_samples / PIECE_SAMPLES))
    )


def split_speakers(speakers: Sequence[str], seed: int) -> dict[str, tuple[str, ...]]:
    """Sort, shuffle with ``seed`` and split 80/10/10 (each split non-empty from 3 speakers).

    Raises:
        DataError: Fewer than 3 speakers.
    """
    ordered = sorted(set(speakers))
    n = len(ordered)
    if n < 3:
        raise DataError(f"need at least 3 speakers for a train/valid/test split, found {n}")
    shuffled = [ordered[i] for i in np.random.default_rng([seed, 0]).permutation(n)]
    n_valid = max(1, round(SPLIT_FRACTIONS[1] * n))
    n_test = max(1, round(SPLIT_FRACTIONS[2] * n))
    n_train = n - n_valid - n_test
    return {
        "train": tuple(sorted(shuffled[:n_train])),
        "valid": tuple(sorted(shuffled[n_train : n_train + n_valid])),
        "test": tuple(sorted(shuffled[n_train + n_valid :])),
    }


def plan_musan(root: str | Path, out: str | Path | None, config: PrepareConfig) -> MusanPlan:
    """Plan a preparation from the source listing (reads headers only, no samples).

    Raises:
        DataError: No MUSAN files, unreadable files, or a split without speech for babble.
    """
    root = Path(root).resolve()
    out_dir = (root / SHORT_MUSAN if out is None else Path(out)).resolve()
    pieces_by_source = []
    for source in source_files(root):
        n = n_samples_16k(source)
        pieces_by_source.append((str(source), _pieces_of(source, root, n, config.keep_short)))
    speech = [
        p for _, pieces in pieces_by_source for p in pieces if p.relpath.startswith("speech/")
    ]
    babble: list[BabbleSpec] = []
    speakers: dict[str, tuple[str, ...]] = {s: () for s in SPLITS}
    pool_sizes: dict[str, int] = {s: 0 for s in SPLITS}
    if any(config.n_babble):
        if not speech:
            raise DataError(
                "no speech pieces for babble (speech/*/*.wav longer than 10 s)",
                path=root / "speech",
            )
        speakers = split_speakers([speaker_of(p.relpath) for p in speech], config.seed)
        for split_index, (split, count) in enumerate(zip(SPLITS, config.n_babble, strict=True)):
            members = set(speakers[split])
            pool = sorted(
                (p for p in speech if speaker_of(p.relpath) in members), key=lambda p: p.relpath
            )
            pool_sizes[split] = len(pool)
            for i in range(count):
                rng = np.random.default_rng([config.seed, 1 + split_index, i])
                chosen = rng.permutation(len(pool))[: config.n_mix]
                sources = tuple(pool[j] for j in chosen)
                babble.append(
                    BabbleSpec(
                        str(BABBLE_SUBDIR / f"{split}-{i + 1:05d}.wav"),
                        sources,
                        min(p.n_samples for p in sources),
                    )
                )
    digest = hashlib.sha256(
        json.dumps(
            {
                "config": asdict(config),
                "out": str(out_dir),
                "sources": [(s, [p.n_samples for p in ps]) for s, ps in pieces_by_source],
            }
        ).encode()
    ).hexdigest()[:16]
    return MusanPlan(
        root, out_dir, config, tuple(pieces_by_source), speakers, pool_sizes, tuple(babble), digest
    )


def _chunk(n_items: int, nshard: int, shard_id: int) -> range:
    size = math.ceil(n_items / nshard) if n_items else 0
    return range(min(shard_id * size, n_items), min((shard_id + 1) * size, n_items))


def _marker(plan: MusanPlan, nshard: int, shard_id: int) -> Path:
    return plan.out / SHARD_DIR / f"shard-{shard_id:04d}-of-{nshard:04d}.json"


def _shard_outputs(plan: MusanPlan, nshard: int, shard_id: int) -> list[Path]:
    sources = _chunk(len(plan.pieces_by_source), nshard, shard_id)
    babble = _chunk(len(plan.babble), nshard, shard_id)
    paths = [plan.out / p.relpath for i in sources for p in plan.pieces_by_source[i][1]]
    return paths + [plan.out / plan.babble[i].relpath for i in babble]


def shard_done(plan: MusanPlan, nshard: int, shard_id: int) -> bool:
    """Whether this shard's marker matches the settings and all its outputs exist."""
    marker = _marker(plan, nshard, shard_id)
    try:
        if json.loads(marker.read_text())["fingerprint"] != plan.fingerprint:
            return False
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return all(path.is_file() for path in _shard_outputs(plan, nshard, shard_id))


def run_shard(plan: MusanPlan, nshard: int, shard_id: int, *, progress: bool = False) -> bool:
    """Write the pieces and babble mixtures of one shard, then its done-marker.

    Returns:
        False when the shard was already done (nothing written), True otherwise.
    """
    if not 0 <= shard_id < nshard:
        raise ConfigError(f"shard id {shard_id} is not in 0..{nshard - 1}")
    if shard_done(plan, nshard, shard_id):
        return False
    sources = [
        plan.pieces_by_source[i] for i in _chunk(len(plan.pieces_by_source), nshard, shard_id)
    ]
    babble = [plan.babble[i] for i in _chunk(len(plan.babble), nshard, shard_id)]
    bar = tqdm(
        total=len(sources) + len(babble),
        desc=f"musan shard {shard_id + 1}/{nshard}",
        unit="file",
        disable=not progress,
    )
    for source, pieces in sources:
        if pieces:
            samples = read_pcm16(source)
            for piece in pieces:
                write_pcm16(plan.out / piece.relpath, samples[piece.start : piece.stop])
        bar.update()
    for spec in babble:
        stack = np.stack(
            [read_pcm16(p.source, p.start, p.start + spec.n_samples) for p in spec.sources]
        )
        write_pcm16(plan.out / spec.relpath, stack.mean(axis=0).astype(np.int16))
        bar.update()
    bar.close()
    write_json_atomic(
        _marker(plan, nshard, shard_id),
        {"fingerprint": plan.fingerprint, "sources": len(sources), "babble": len(babble)},
    )
    return True


def finish(plan: MusanPlan) -> None:
    """Write ``speech/spk.*`` and ``nframes.audio`` (from the plan; all shards must be done).

    Also removes temporary files that killed runs left behind (nothing is writing any more).
    """
    for stray in plan.out.rglob(".*.tmp-*"):
        stray.unlink(missing_ok=True)
    if any(plan.config.n_babble):
        for split in SPLITS:
            text = "".join(f"{s}\n" for s in plan.speakers[split])
            write_text_atomic(plan.out / "speech" / f"spk.{split}", text)
    rows = [
        (plan.out / p.relpath, p.n_samples)
        for p in plan.pieces
        if not p.relpath.startswith("speech/")
    ]
    rows += [(plan.out / b.relpath, b.n_samples) for b in plan.babble]
    write_text_atomic(plan.out / NFRAMES, "".join(f"{path}\t{n}\n" for path, n in sorted(rows)))


def _shard_job(root: str, out: str, config: PrepareConfig, nshard: int, shard_id: int) -> bool:
    """Entry point of a pool worker or a Slurm array task (plans again: cheap, deterministic)."""
    return run_shard(plan_musan(root, out, config), nshard, shard_id)


def prepare_musan(
    root: str | Path,
    *,
    out: str | Path | None = None,
    config: PrepareConfig | None = None,
    nshard: int | None = None,
    shard_id: int | None = None,
    workers: int = 1,
    launcher: Launcher = "local",
    slurm: SlurmOptions | None = None,
    progress: bool = True,
) -> PrepareSummary:
    """Prepare a MUSAN(-style) root: 10-s pieces, speaker split, babble, frame counts.

    Args:
        root: MUSAN root (``speech/``, ``music/``, ``noise/``).
        out: Output folder (default ``root/short-musan``).
        config: Seed, babble counts, ``keep_short``.
        nshard: Number of shards (default: 4 per worker, at least 1).
        shard_id: Run only this shard (e.g. one task of an external job array); the run that
            completes the last shard also writes the final lists.
        workers: Local processes (``launcher="local"``).
        launcher: ``local`` or ``slurm`` (submitit job array; needs submitit).
        slurm: Slurm resources.
        progress: Show a progress bar on stderr.

    Raises:
        DataError: Missing or unreadable MUSAN files.
        ConfigError: Bad shard settings, or ``slurm`` without submitit.
    """
    config = config or PrepareConfig()
    if workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    nshard = nshard if nshard is not None else 4 * workers
    if nshard < 1:
        raise ConfigError(f"nshard must be >= 1, got {nshard}")
    if any(n < 0 for n in config.n_babble) or config.n_mix < 1:
        raise ConfigError("babble counts must be >= 0 and n_mix >= 1")
    plan = plan_musan(root, out, config)
    for split, count in zip(SPLITS, config.n_babble, strict=True):
        if count and plan.speech_pool_sizes[split] < config.n_mix:
            logger.warning(
                "%s split: only %d speech piece(s), each babble mixture averages all of them",
                split,
                plan.speech_pool_sizes[split],
            )
    todo = [k for k in range(nshard) if not shard_done(plan, nshard, k)]
    if shard_id is not None:
        if not 0 <= shard_id < nshard:
            raise ConfigError(f"--shard-id {shard_id} is not in 0..{nshard - 1}")
        todo = [k for k in todo if k == shard_id]
        for k in todo:
            run_shard(plan, nshard, k, progress=progress)
    elif launcher == "slurm":
        slurm = slurm or SlurmOptions()
        executor = submitit_executor(
            slurm.log_dir or plan.out / SHARD_DIR / "submitit",
            name="avsvt-musan",
            timeout_min=slurm.timeout_min,
            cpus_per_task=slurm.cpus_per_task,
            mem_gb=slurm.mem_gb,
            array_parallelism=slurm.array_parallelism,
            partition=slurm.partition,
            cluster=slurm.cluster,
        )
        if todo:
            args = [str(plan.root), str(plan.out), config, nshard]
            jobs = executor.map_array(_shard_job, *[[a] * len(todo) for a in args], todo)
            logger.info("submitted %d MUSAN shard job(s) via submitit", len(jobs))
            for job in tqdm(jobs, desc="musan shards", unit="shard", disable=not progress):
                job.result()
    elif launcher == "local":
        if workers == 1 or len(todo) <= 1:
            for k in tqdm(todo, desc="musan shards", unit="shard", disable=not progress):
                run_shard(plan, nshard, k)
        else:
            with worker_pool(max_workers=min(workers, len(todo))) as pool:
                futures = [
                    pool.submit(_shard_job, str(plan.root), str(plan.out), config, nshard, k)
                    for k in todo
                ]
                for future in tqdm(
                    as_completed(futures),
                    total=len(futures),
                    desc="musan shards",
                    unit="shard",
                    disable=not progress,
                ):
                    future.result()
    else:
        raise ConfigError(f"unknown launcher {launcher!r} (expected local or slurm)")
    finished = all(shard_done(plan, nshard, k) for k in range(nshard))
    if finished:
        finish(plan)
    return PrepareSummary(
        out=plan.out,
        n_shards=nshard,
        n_shards_run=len(todo),
        n_shards_skipped=(nshard if shard_id is None else 1) - len(todo),
        n_pieces=len(plan.pieces),
        n_babble=len(plan.babble),
        finished=finished,
    )


def cpu_count() -> int:
    """Usable CPU cores (the affinity mask where available)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
