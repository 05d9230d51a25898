"""Noisy vocals: the four noise types at five SNRs per song (reference-system.md 1.6, 6.2).

For every song of an N20EMv2 root and every noise type, a noise track as long as the vocals:

``accomp``  the song's own ``accomp.wav`` (same length as the vocals, else a DataError).
``white``   standard Gaussian noise.
``babble``  10-s babble clips (exactly 10 s, as the reference) from the song's *own* split, the
            split being the file name's prefix ``{split}-NNNNN.wav`` (fixes Q13).
``natural`` 1-10 s MUSAN noise events (``free-sound/``, ``sound-bible/``) from the song's own
            split, each centred in a 10-s segment with silence on both sides.

Babble and natural tracks are built like the reference's: K = ceil(N / 160000) segments; segments
1..K-1 are a random clip padded symmetrically (centred) to 160000 samples; segment K is a random
clip padded symmetrically to the remaining length or, if longer, cut to it keeping its start.
The natural files are split 3/4, 1/8, 1/8 into train/valid/test per source folder by a seeded
hash of their names (the reference shuffles with an unseeded ``random``: Q15).

Every draw comes from ``default_rng([seed, type, hash(song id)])``: a song's noise is a pure
function of (seed, song id, type) and the pools, independent of processing order or workers
(fixes Q15). The babble and natural pools are separate folders (fixes Q14).

Mixtures go to ``data/<song>/noise_data/<type>/SNR_<snr>dB.wav`` (+ ``noise.wav`` for babble and
natural), float32 WAV by default, with the clipping count (|x| > 1) of every file logged and
written to ``ROOT/noise_summary.json``. Each finished song gets a done-marker; reruns skip it.
:class:`NoiseMixer` gives any (type, SNR) mixture in memory instead, equal to the written file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from avsvt.constants import NOISE_TYPES, SAMPLE_RATE, SNRS_DB, SPLITS
from avsvt.data.atomic import write_json_atomic
from avsvt.data.audio import Subtype, audio_info, read_audio, write_audio
from avsvt.data.n20em import Song, load_songs
from avsvt.errors import ConfigError, DataError
from avsvt.noise.mixing import MIX_RULES, MixRule, mix
from avsvt.parallel import worker_pool

logger = logging.getLogger(__name__)

SEGMENT_SAMPLES = 10 * SAMPLE_RATE
NATURAL_SOURCES = ("free-sound", "sound-bible")
NATURAL_MIN_S = 1.0
NATURAL_MAX_S = 10.0
NATURAL_FRACTIONS = (0.75, 0.125, 0.125)
DONE_MARKER = ".noise-done.json"
SUMMARY = "noise_summary.json"
F32 = npt.NDArray[np.float32]
FileFormat = Literal["wav", "flac"]


@dataclass(frozen=True)
class NoisePools:
    """Babble and natural noise files per split (sorted paths)."""

    babble: dict[str, tuple[str, ...]]
    natural: dict[str, tuple[str, ...]]
    babble_dir: str | None = None
    natural_dir: str | None = None

    def pool(self, noise_type: str, split: str) -> tuple[str, ...]:
        """The files of one type and split.

        Raises:
            DataError: The pool is empty, naming the split and the directory.
        """
        pools, folder = (
            (self.babble, self.babble_dir)
            if noise_type == "babble"
            else (self.natural, self.natural_dir)
        )
        files = pools.get(split, ())
        if not files:
            what = (
                f"10-s babble clips named {split}-*.wav"
                if noise_type == "babble"
                else f"1-10 s noise files of the {split} split in free-sound/ or sound-bible/"
            )
            raise DataError(
                f"no {noise_type} noise for split {split!r}: need {what}", path=folder or "."
            )
        return files

    def fingerprint(self) -> str:
        """A short hash of the pool contents (names per split)."""
        names = {
            t: {s: [Path(p).name for p in files] for s, files in pools.items()}
            for t, pools in (("babble", self.babble), ("natural", self.natural))
        }
        return hashlib.sha256(json.dumps(names, sort_keys=True).encode()).hexdigest()[:16]


def _wavs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.wav") if not p.name.startswith("."))


def babble_pool(babble_dir: str | Path) -> dict[str, tuple[str, ...]]:
    """Babble clips of exactly 10 s in ``babble_dir``, by split (the file name's prefix).

    Raises:
        DataError: The folder does not exist.
    """
    folder = Path(babble_dir)
    if not folder.is_dir():
        raise DataError("babble folder not found (e.g. short-musan/babble/wav)", path=folder)
    pools: dict[str, list[str]] = {s: [] for s in SPLITS}
    for path in _wavs(folder):
        split = path.name.split("-", 1)[0]
        info = audio_info(path)
        if split in pools and info.frames == info.samplerate * (SEGMENT_SAMPLES // SAMPLE_RATE):
            pools[split].append(str(path))
    return {s: tuple(files) for s, files in pools.items()}


def natural_pool(natural_dir: str | Path, seed: int) -> dict[str, tuple[str, ...]]:
    """MUSAN noise files of 1-10 s under ``free-sound/`` and ``sound-bible/``, by split.

    Each source folder is ordered by a hash of (seed, folder, name) and cut 3/4, 1/8, 1/8.

    Raises:
        DataError: The folder does not exist or has neither source subfolder.
    """
    folder = Path(natural_dir)
    if not folder.is_dir() or not any((folder / s).is_dir() for s in NATURAL_SOURCES):
        raise DataError(
            "natural noise folder not found: expected MUSAN's noise/ with free-sound/ and "
            "sound-bible/",
            path=folder,
        )
    pools: dict[str, list[str]] = {s: [] for s in SPLITS}
    for source in NATURAL_SOURCES:
        files = []
        for path in _wavs(folder / source):
            info = audio_info(path)
            if NATURAL_MIN_S <= info.frames / info.samplerate <= NATURAL_MAX_S:
                files.append(path)
        files.sort(key=lambda p: hashlib.sha256(f"{seed}:{source}/{p.name}".encode()).digest())
        n = len(files)
        n_train = round(NATURAL_FRACTIONS[0] * n)
        n_valid = round((NATURAL_FRACTIONS[0] + NATURAL_FRACTIONS[1]) * n) - n_train
        pools["train"] += [str(p) for p in files[:n_train]]
        pools["valid"] += [str(p) for p in files[n_train : n_train + n_valid]]
        pools["test"] += [str(p) for p in files[n_train + n_valid :]]
    return {s: tuple(sorted(files)) for s, files in pools.items()}


def load_pools(
    *,
    babble_dir: str | Path | None,
    natural_dir: str | Path | None,
    seed: int,
    types: Sequence[str] = NOISE_TYPES,
) -> NoisePools:
    """Read the pools the requested noise types need.

    Raises:
        ConfigError: A needed folder was not given.
        DataError: A folder is missing.
    """
    empty: dict[str, tuple[str, ...]] = {s: () for s in SPLITS}
    babble, natural = empty, empty
    if "babble" in types:
        if babble_dir is None:
            raise ConfigError("babble noise needs --babble DIR (short-musan/babble/wav)")
        babble = babble_pool(babble_dir)
    if "natural" in types:
        if natural_dir is None:
            raise ConfigError("natural noise needs --natural DIR (MUSAN's noise/ folder)")
        natural = natural_pool(natural_dir, seed)
    return NoisePools(
        babble,
        natural,
        None if babble_dir is None else str(babble_dir),
        None if natural_dir is None else str(natural_dir),
    )


def song_rng(seed: int, song_id: str, noise_type: str) -> np.random.Generator:
    """The generator of one song's noise of one type: a pure function of its arguments."""
    digest = hashlib.blake2b(song_id.encode("utf-8"), digest_size=16).digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]
    return np.random.default_rng([seed, 1 + NOISE_TYPES.index(noise_type), *words])


def segment_noise(pool: Sequence[str], n_samples: int, rng: np.random.Generator) -> F32:
    """The reference's K-segment noise track: one random clip per 10-s segment, centred."""
    out = np.zeros(n_samples, dtype=np.float32)
    cache: dict[int, F32] = {}
    for k in range(math.ceil(n_samples / SEGMENT_SAMPLES)):
        start = k * SEGMENT_SAMPLES
        length = min(SEGMENT_SAMPLES, n_samples - start)
        index = int(rng.integers(len(pool)))
        if index not in cache:
            cache[index] = read_audio(pool[index])
        clip = cache[index]
        if len(clip) >= length:
            out[start : start + length] = clip[:length]
        else:
            left = (length - len(clip)) // 2
            out[start + left : start + left + len(clip)] = clip
    return out


def song_noise(song: Song, noise_type: str, n_samples: int, pools: NoisePools, seed: int) -> F32:
    """The noise track of one song and type, ``n_samples`` long (float32).

    Raises:
        DataError: Accompaniment of another length, or an empty pool for the song's split.
        ConfigError: Unknown noise type.
    """
    if noise_type == "accomp":
        accomp = read_audio(song.accomp_path)
        if len(accomp) != n_samples:
            raise DataError(
                f"accompaniment has {len(accomp)} samples but vocals.wav has {n_samples}: "
                "they must be the same length",
                path=song.accomp_path,
            )
        return accomp
    rng = song_rng(seed, song.song_id, noise_type)
    if noise_type == "white":
        return rng.standard_normal(n_samples, dtype=np.float32)
    if noise_type in ("babble", "natural"):
        return segment_noise(pools.pool(noise_type, song.split), n_samples, rng)
    raise ConfigError(f"unknown noise type {noise_type!r} (expected one of {NOISE_TYPES})")


def mix_to_float32(vocals: F32, noise: F32, snr_db: float, rule: MixRule) -> F32:
    """The mixture as written: mixed in float64, stored as float32."""
    return mix(vocals, noise, snr_db, rule).astype(np.float32)


@dataclass(frozen=True)
class NoiseSettings:
    """What to synthesise and how (part of every done-marker)."""

    types: tuple[str, ...] = NOISE_TYPES
    snrs_db: tuple[int, ...] = SNRS_DB
    seed: int = 0
    rule: MixRule = "reference"
    subtype: Subtype = "FLOAT"
    file_format: FileFormat = "wav"

    def check(self) -> None:
        """Raise ConfigError on unknown types, rules, formats or an empty selection."""
        bad = [t for t in self.types if t not in NOISE_TYPES]
        if bad or not self.types:
            raise ConfigError(f"noise types must be among {NOISE_TYPES}, got {list(self.types)}")
        if not self.snrs_db:
            raise ConfigError("no SNRs given")
        if self.rule not in MIX_RULES:
            raise ConfigError(f"unknown mixing rule {self.rule!r} (expected {MIX_RULES})")
        if self.file_format not in ("wav", "flac"):
            raise ConfigError(f"unknown format {self.file_format!r} (expected wav or flac)")
        if self.subtype not in ("FLOAT", "PCM_16", "PCM_24"):
            raise ConfigError(f"unknown subtype {self.subtype!r}")


def output_path(song: Song, noise_type: str, snr_db: int, file_format: str = "wav") -> Path:
    """``noise_data/<type>/SNR_<snr>dB.<wav|flac>``."""
    return song.noisy_path(noise_type, snr_db).with_suffix(f".{file_format}")


def noise_track_path(song: Song, noise_type: str, file_format: str = "wav") -> Path:
    """``noise_data/<type>/noise.<wav|flac>`` (babble and natural only)."""
    return song.noise_dir / noise_type / f"noise.{file_format}"


def _fingerprint(settings: NoiseSettings, pools: NoisePools) -> dict[str, Any]:
    fingerprint = {"settings": asdict(settings), "pools": pools.fingerprint()}
    parsed: dict[str, Any] = json.loads(json.dumps(fingerprint))  # as read back from the marker
    return parsed


def synthesize_song(song: Song, settings: NoiseSettings, pools: NoisePools) -> dict[str, Any]:
    """Write every (type, SNR) mixture of one song unless its done-marker matches.

    Returns:
        ``{"song": id, "skipped": bool, "clipped": {relative path: count of |x| > 1}}``.
    """
    marker = song.noise_dir / DONE_MARKER
    fingerprint = _fingerprint(settings, pools)
    try:
        done = json.loads(marker.read_text())
        if done.get("fingerprint") == fingerprint:
            return {"song": song.song_id, "skipped": True, "clipped": done["clipped"]}
    except (OSError, ValueError, KeyError, AttributeError):
        pass
    # Temporary files of a run killed inside this song: only one worker writes a song at a time.
    for stray in song.noise_dir.glob("*/.*.tmp-*"):
        stray.unlink(missing_ok=True)
    vocals = read_audio(song.vocals_path)
    # All noise first: a bad accompaniment or an empty pool fails before anything is written.
    noises = {t: song_noise(song, t, len(vocals), pools, settings.seed) for t in settings.types}
    clipped: dict[str, int] = {}
    for noise_type, noise in noises.items():
        if noise_type in ("babble", "natural"):
            path = noise_track_path(song, noise_type, settings.file_format)
            write_audio(path, noise, subtype=settings.subtype)
        for snr_db in settings.snrs_db:
            mixture = mix_to_float32(vocals, noise, snr_db, settings.rule)
            path = output_path(song, noise_type, snr_db, settings.file_format)
            n_clipped = int(np.count_nonzero(np.abs(mixture) > 1.0))
            if n_clipped:
                logger.debug("%s: %d sample(s) beyond +-1", path, n_clipped)
            clipped[str(path.relative_to(song.folder))] = n_clipped
            write_audio(path, mixture, subtype=settings.subtype)
    write_json_atomic(marker, {"fingerprint": fingerprint, "clipped": clipped})
    return {"song": song.song_id, "skipped": False, "clipped": clipped}


@dataclass(frozen=True)
class NoiseSummary:
    """What :func:`synthesize_noise` did."""

    n_songs: int
    n_written: int
    n_skipped: int
    n_files: int
    n_clipped_files: int
    max_clipped_samples: int
    summary_path: Path


def synthesize_noise(
    root: str | Path,
    *,
    babble_dir: str | Path | None,
    natural_dir: str | Path | None,
    types: Sequence[str] = NOISE_TYPES,
    snrs_db: Sequence[int] = SNRS_DB,
    seed: int = 0,
    rule: MixRule = "reference",
    subtype: Subtype = "FLOAT",
    file_format: FileFormat = "wav",
    workers: int = 1,
    progress: bool = True,
) -> NoiseSummary:
    """Write the noisy versions of every song of an N20EMv2 root.

    Args:
        root: The N20EMv2 root.
        babble_dir: Babble clips (``short-musan/babble/wav``); needed for ``babble``.
        natural_dir: MUSAN's ``noise/`` folder; needed for ``natural``.
        types: Noise types among accomp, babble, white, natural.
        snrs_db: SNRs in dB.
        seed: Random seed (each song's noise depends only on seed, song id and type).
        rule: ``reference`` (mean-amplitude, vocals attenuated) or ``rms`` (AV-HuBERT).
        subtype: ``FLOAT`` (float32, the reference), ``PCM_16`` or ``PCM_24``.
        file_format: ``wav`` or ``flac``.
        workers: Processes.
        progress: Show a progress bar on stderr.

    Returns:
        Counts; the per-file clipping report is in ``ROOT/noise_summary.json``.

    Raises:
        ConfigError: Bad settings or a missing folder argument.
        DataError: Corpus problems, missing pools, an empty pool for a split that has songs, or an
            accompaniment whose length differs from the vocals.
    """
    settings = NoiseSettings(
        tuple(types), tuple(int(s) for s in snrs_db), seed, rule, subtype, file_format
    )
    settings.check()
    if workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    root = Path(root)
    songs = load_songs(root)
    pools = load_pools(babble_dir=babble_dir, natural_dir=natural_dir, seed=seed, types=types)
    for noise_type in ("babble", "natural"):
        if noise_type in settings.types:
            for split in sorted({s.split for s in songs}, key=SPLITS.index):
                pools.pool(noise_type, split)  # raises on an empty pool before any work
    reports: list[dict[str, Any]] = []
    bar = tqdm(total=len(songs), desc="noise", unit="song", disable=not progress)
    if workers == 1 or len(songs) <= 1:
        for song in songs:
            reports.append(synthesize_song(song, settings, pools))
            bar.update()
    else:
        with worker_pool(max_workers=min(workers, len(songs))) as pool:
            for report in pool.map(
                synthesize_song, songs, [settings] * len(songs), [pools] * len(songs)
            ):
                reports.append(report)
                bar.update()
    bar.close()
    counts = [n for r in reports for n in r["clipped"].values()]
    summary_path = root / SUMMARY
    write_json_atomic(
        summary_path,
        {
            "settings": asdict(settings),
            "babble_dir": pools.babble_dir,
            "natural_dir": pools.natural_dir,
            "pool_sizes": {
                "babble": {s: len(f) for s, f in pools.babble.items()},
                "natural": {s: len(f) for s, f in pools.natural.items()},
            },
            "natural_split": {
                s: [str(Path(p).relative_to(pools.natural_dir or ".")) for p in files]
                for s, files in pools.natural.items()
            },
            "clipping": {r["song"]: r["clipped"] for r in reports},
        },
    )
    summary = NoiseSummary(
        n_songs=len(songs),
        n_written=sum(not r["skipped"] for r in reports),
        n_skipped=sum(bool(r["skipped"]) for r in reports),
        n_files=len(counts),
        n_clipped_files=sum(n > 0 for n in counts),
        max_clipped_samples=max(counts, default=0),
        summary_path=summary_path,
    )
    if summary.n_clipped_files:
        logger.warning(
            "%d of %d noisy file(s) have samples beyond +-1 (at most %d); see %s",
            summary.n_clipped_files,
            summary.n_files,
            summary.max_clipped_samples,
            summary_path,
        )
    return summary


class NoiseMixer:
    """Any (type, SNR) mixture of a song in memory, equal to the file synthesis writes.

    Noise is regenerated (it is a pure function of seed, song id and type) or, with
    ``use_stored_noise``, read from ``noise.wav`` for babble/natural when it exists. The last
    song's vocals and noise tracks are cached, so sweeping the 20 conditions of one song reads
    and builds each track once.
    """

    def __init__(
        self,
        *,
        babble_dir: str | Path | None = None,
        natural_dir: str | Path | None = None,
        seed: int = 0,
        rule: MixRule = "reference",
        types: Sequence[str] = NOISE_TYPES,
        use_stored_noise: bool = False,
    ) -> None:
        self.pools = load_pools(
            babble_dir=babble_dir, natural_dir=natural_dir, seed=seed, types=types
        )
        self.seed = seed
        self.rule: MixRule = rule
        self.use_stored_noise = use_stored_noise
        self._song_id: str | None = None
        self._vocals: F32 | None = None
        self._noise: dict[str, F32] = {}

    def _load(self, song: Song) -> F32:
        if self._song_id != song.song_id or self._vocals is None:
            self._song_id, self._vocals, self._noise = (
                song.song_id,
                read_audio(song.vocals_path),
                {},
            )
        return self._vocals

    def noise(self, song: Song, noise_type: str) -> F32:
        """The song's noise track of one type."""
        vocals = self._load(song)
        if noise_type not in self._noise:
            stored = noise_track_path(song, noise_type)
            if self.use_stored_noise and noise_type in ("babble", "natural") and stored.exists():
                self._noise[noise_type] = read_audio(stored)
            else:
                self._noise[noise_type] = song_noise(
                    song, noise_type, len(vocals), self.pools, self.seed
                )
        return self._noise[noise_type]

    def mixture(self, song: Song, noise_type: str, snr_db: float) -> F32:
        """The float32 mixture of one condition."""
        noise = self.noise(song, noise_type)
        vocals = self._load(song)
        return mix_to_float32(vocals, noise, snr_db, self.rule)


def mix_condition(
    song: Song,
    noise_type: str,
    snr_db: float,
    *,
    babble_dir: str | Path | None = None,
    natural_dir: str | Path | None = None,
    seed: int = 0,
    rule: MixRule = "reference",
) -> F32:
    """One (type, SNR) mixture of one song, in memory (see :class:`NoiseMixer` for many)."""
    mixer = NoiseMixer(
        babble_dir=babble_dir, natural_dir=natural_dir, seed=seed, rule=rule, types=(noise_type,)
    )
    return mixer.mixture(song, noise_type, snr_db)
