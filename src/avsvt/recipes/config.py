"""The settings of ``avsvt run``: one typed tree, read from a small YAML file over these defaults.

Every section is a frozen dataclass; :func:`avsvt.config.load_config` checks every key and type,
and :class:`RunConfig` builds the three models the run will train (stage-1 audio and video, the
stage-2 audio-visual architecture) from their presets and changes, so a misspelt option, in the
model and fusion sections too, stops the run before any work, naming the file and the full key
(``audio.model.audio_encoder.dimm``). Every value is checked too (counts, seeds, rates, paths,
settings that must agree across sections), so no bad value is found only once a stage has started
and its folder was cleared. The defaults are the reference's where it has one
(reference-system.md 2.4, 4.3, 6.6); ``configs/demo.yaml`` and ``configs/n20emv2.yaml`` change
what a run on 2 CPU cores or on GPUs with the real data needs. Nothing here imports torch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from avsvt.config import (
    FieldError,
    ZeroSizeError,
    check_count,
    check_number,
    check_path_text,
    check_seed,
    check_unique,
    from_dict,
    merge,
)
from avsvt.constants import NOISE_TYPES, SNRS_DB, LipStyle
from avsvt.errors import ConfigError
from avsvt.models.config import FusionConfig, ModelConfig, configure, preset
from avsvt.train.settings import AccompMix, OptimConfig, TrainConfig, VideoSpeedup

System = Literal["A", "AV"]
GridBackend = Literal["local", "slurm"]


@dataclass(frozen=True)
class CorpusConfig:
    """Where the N20EMv2 root comes from.

    Attributes:
        root: An existing N20EMv2 root (the real data); None: the embedded synthetic corpus is
            written to ``<out_dir>/corpus`` first.
        preset: Size of the embedded corpus (``default``: 48 songs, ``tiny``: 6).
        n_songs: Override the preset's number of songs.
        seed: Seed of the embedded corpus.
        lips: How the embedded corpus' lip videos are made: ``crops`` (mouth crops drawn
            directly, the default) or ``faces`` (rendered faces cut by the real front end, which
            transfer to real mouths; slower, needs mediapipe), ``faces-varied`` (those faces
            with each singer's own articulation; not adopted), ``faces-h264`` (those faces
            through an H.264 round trip at a CRF drawn per song) or ``faces-weak`` (syllables
            the lips do not make narrow the mouth only partly or not at all; not adopted); see
            :data:`avsvt.constants.LipStyle`.
    """

    root: str | None = None
    preset: Literal["default", "tiny"] = "default"
    n_songs: int | None = None
    seed: int = 0
    lips: LipStyle = "crops"

    def __post_init__(self) -> None:
        check_path_text("root", self.root)
        if self.n_songs is not None and self.n_songs < 3:
            raise FieldError(
                "n_songs", f"a corpus needs at least 3 songs (one per split), not {self.n_songs}"
            )
        check_seed("seed", self.seed)


@dataclass(frozen=True)
class NoiseConfig:
    """The noise conditions (reference 6.2): every type at every SNR, plus clean.

    Attributes:
        types: Noise types among accomp, babble, white, natural.
        snrs_db: SNRs in dB.
        seed: Seed of the noise tracks (a song's noise depends only on seed, song id and type).
        rule: ``reference`` (mean-absolute-amplitude SNR) or ``rms``.
        write_files: Write ``noise_data/<type>/SNR_<snr>dB.wav`` into the root first (the
            reference's layout); otherwise mixtures are made in memory when features are
            extracted, identical to the files (written files are used when they exist).
        musan_dir: A prepared MUSAN root (``short-musan/babble/wav`` and ``noise/``), needed for
            babble and natural; None with those types: the embedded synthetic library is built in
            ``<out_dir>/musan``.
    """

    types: tuple[str, ...] = ("accomp",)
    snrs_db: tuple[int, ...] = SNRS_DB
    seed: int = 0
    rule: Literal["reference", "rms"] = "reference"
    write_files: bool = False
    musan_dir: str | None = None

    def __post_init__(self) -> None:
        bad = [t for t in self.types if t not in NOISE_TYPES]
        if bad:
            raise FieldError("types", f"unknown type(s) {bad} (known: {list(NOISE_TYPES)})")
        check_unique("types", self.types)
        check_unique("snrs_db", self.snrs_db)
        if self.types and not self.snrs_db:
            raise FieldError("snrs_db", "is empty: give the SNRs of the noise types")
        check_seed("seed", self.seed)
        check_path_text("musan_dir", self.musan_dir)


@dataclass(frozen=True)
class StageOneConfig:
    """One stage-1 system (audio-only or video-only): its model and its training.

    Attributes:
        preset: Model preset (``tiny``, ``cpu``, ``large``; see :func:`avsvt.models.preset`).
        model: Changes to the preset's model config, as nested keys (e.g.
            ``{"audio_encoder": {"hf_path": "/models/wav2vec2-large-lv60"}}``); checked when the
            config loads.
        train: The training loop's settings (``train.select_metric`` picks the best epoch).
        accomp_mix: Audio only: mix the song's accompaniment into a share of the training
            utterances (off by default, as the reference trains stage 1 on clean vocals; it
            adds MIR-ST500's accompanied songs instead, which the embedded data has no match for).
        speedup: Video only: play a share of the training utterances' lips faster
            (:class:`avsvt.train.settings.VideoSpeedup`; off by default).
    """

    preset: str = "cpu"
    model: dict[str, Any] = field(default_factory=dict)
    train: TrainConfig = field(default_factory=TrainConfig)
    accomp_mix: AccompMix = field(default_factory=AccompMix)
    speedup: VideoSpeedup = field(default_factory=VideoSpeedup)


@dataclass(frozen=True)
class FeaturesConfig:
    """Feature extraction with the best stage-1 models (reference section 5).

    Attributes:
        batch_size: Utterances per forward pass.
        dtype: Storage type of the (T, D) arrays (``float16`` halves the disk for large models).
    """

    batch_size: int = 16
    dtype: Literal["float32", "float16"] = "float32"

    def __post_init__(self) -> None:
        check_count("batch_size", self.batch_size, minimum=1)


@dataclass(frozen=True)
class GridConfig:
    """How the stage-2 jobs (one per system and condition) run.

    Attributes:
        backend: ``local`` (this machine, ``workers`` processes) or ``slurm`` (a submitit job
            array; the run waits for it).
        workers: Local processes running jobs side by side.
        threads_per_worker: Torch threads of each local job (0: the cores divided by workers).
        slurm_folder: submitit's log folder (default ``<out_dir>/slurm``).
        slurm_partition: Slurm partition.
        slurm_time_min: Time limit per job in minutes.
        slurm_gpus_per_node: GPUs per job.
        slurm_cpus_per_task: CPUs per job.
        slurm_mem_gb: Memory per job.
        slurm_array_parallelism: Jobs of the array running at once.
    """

    backend: GridBackend = "local"
    workers: int = 1
    threads_per_worker: int = 0
    slurm_folder: str | None = None
    slurm_partition: str | None = None
    slurm_time_min: int = 240
    slurm_gpus_per_node: int = 1
    slurm_cpus_per_task: int = 8
    slurm_mem_gb: int = 64
    slurm_array_parallelism: int = 32

    def __post_init__(self) -> None:
        check_count("workers", self.workers, minimum=1)
        check_count("threads_per_worker", self.threads_per_worker, minimum=0)
        check_path_text("slurm_folder", self.slurm_folder)
        if self.slurm_partition is not None and not self.slurm_partition.strip():
            raise FieldError("slurm_partition", "is empty; name a partition (or leave it out)")
        check_count("slurm_time_min", self.slurm_time_min, minimum=1)
        check_count("slurm_gpus_per_node", self.slurm_gpus_per_node, minimum=0)
        check_count("slurm_cpus_per_task", self.slurm_cpus_per_task, minimum=1)
        check_count("slurm_mem_gb", self.slurm_mem_gb, minimum=1)
        check_count("slurm_array_parallelism", self.slurm_array_parallelism, minimum=1)


def _stage2_train() -> TrainConfig:
    # reference 6.6 with the README's --lr 0.003: one Adadelta over fusion + head, no probing
    return TrainConfig(linear_probe_epochs=0, optim=OptimConfig(head_lr=3e-3))


@dataclass(frozen=True)
class StageTwoConfig:
    """Stage 2: the A and AV systems per condition on precomputed features (reference 6.4-6.7).

    Attributes:
        systems: Which of ``A`` (audio features + zero video) and ``AV`` to train.
        fusion: Changes to the fusion config of the audio model's preset (e.g. ``{"kind":
            "concat"}``); checked when the config loads.
        init_head_from_audio: Initialise the head from the stage-1 audio head (reference).
        drop_video_p: AV training: per-utterance probability of zero video features (modality
            dropout, :class:`avsvt.recipes.systems.FeatureModel`; 0 = the reference).
        drop_audio_p: AV training: per-utterance probability of zero audio features, among
            the utterances that keep their video (0 = the reference).
        missing_video_p: AV training: per-utterance probability that a stretch of its face is
            lost (:func:`avsvt.recipes.systems.missing_video_spans`), so the system falls back
            on the audio where a video shows no face (0 = the reference).
        train_types: Noise types every noisy condition's systems also train on, at the
            condition's own SNR: its training songs once per type (its own first), mixed as in
            ``noise``, so one system learns from several noises. Validation and test stay on the
            condition's own noise. Their features are extracted with the others. () = each
            system trains on its own condition only (the reference).
        train: The training loop's settings.
        grid: Where and how the jobs run.
    """

    systems: tuple[System, ...] = ("A", "AV")
    fusion: dict[str, Any] = field(default_factory=dict)
    init_head_from_audio: bool = True
    drop_video_p: float = 0.0
    drop_audio_p: float = 0.0
    missing_video_p: float = 0.0
    train_types: tuple[str, ...] = ()
    train: TrainConfig = field(default_factory=_stage2_train)
    grid: GridConfig = field(default_factory=GridConfig)

    def __post_init__(self) -> None:
        if not self.systems:
            raise FieldError("systems", "give at least one of A, AV")
        check_unique("systems", self.systems)
        check_number("drop_video_p", self.drop_video_p, at_least=0.0, at_most=1.0)
        check_number("drop_audio_p", self.drop_audio_p, at_least=0.0, at_most=1.0)
        check_number("missing_video_p", self.missing_video_p, at_least=0.0, at_most=1.0)
        bad = [t for t in self.train_types if t not in NOISE_TYPES]
        if bad:
            raise FieldError("train_types", f"unknown type(s) {bad} (known: {list(NOISE_TYPES)})")
        check_unique("train_types", self.train_types)


@dataclass(frozen=True)
class F0NotesConfig:
    """The ``f0notes`` step: fit the f0 note tracker on the validation split.

    Attributes:
        enabled: Run the step.
        max_valid_s: Fit on the validation songs (in id order) up to this much audio; the search
            costs 0.15-0.3 s per second of audio on one CPU core.
    """

    enabled: bool = True
    max_valid_s: float = 900.0

    def __post_init__(self) -> None:
        check_number("max_valid_s", self.max_valid_s, above=0, finite=False)


@dataclass(frozen=True)
class ReportConfig:
    """The report: tables, the F1-vs-SNR figure, piano rolls, one HTML page.

    Attributes:
        piano_songs: Number of test songs drawn as piano rolls.
        piano_snr_db: SNR of the piano rolls' condition (the first noise type); None: the lowest.
    """

    piano_songs: int = 3
    piano_snr_db: int | None = None

    def __post_init__(self) -> None:
        check_count("piano_songs", self.piano_songs, minimum=0)


@dataclass(frozen=True)
class RunConfig:
    """Everything ``avsvt run`` does, from the data to the report.

    Attributes:
        out_dir: Run folder (stage outputs, features, report); relative to the working directory.
            avsvt writes only into a new or empty folder or one of its own runs (it refuses a
            folder holding anything else), so ``""`` (the working directory) is refused.
        device: ``auto`` (CUDA when available), ``cpu`` or ``cuda``.
        threads: Torch threads of this process (0: torch's default).
        workers: Processes for data preparation (corpus, noise files).
        progress: Show progress bars.
    """

    out_dir: str = "runs/run"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: int = 0
    workers: int = 2
    progress: bool = True
    corpus: CorpusConfig = field(default_factory=CorpusConfig)
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    audio: StageOneConfig = field(default_factory=StageOneConfig)
    video: StageOneConfig = field(default_factory=StageOneConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    stage2: StageTwoConfig = field(default_factory=StageTwoConfig)
    f0notes: F0NotesConfig = field(default_factory=F0NotesConfig)
    report: ReportConfig = field(default_factory=ReportConfig)

    def __post_init__(self) -> None:
        if not self.out_dir.strip():
            raise FieldError(
                "out_dir", "is empty (that would be the working directory); name the run folder"
            )
        check_path_text("out_dir", self.out_dir)
        check_count("threads", self.threads, minimum=0)
        check_count("workers", self.workers, minimum=1)
        snr = self.report.piano_snr_db
        if snr is not None and self.noise.types and snr not in self.noise.snrs_db:
            raise ConfigError(
                f"report.piano_snr_db: {snr} is not one of noise.snrs_db {list(self.noise.snrs_db)}"
            )
        self.model_configs()

    def model_configs(self) -> dict[str, ModelConfig]:
        """The models the run builds: ``audio``, ``video`` (stage 1) and ``stage2`` (A and AV).

        ``stage2`` is the architecture of both stage-2 systems (:func:`fused_config` of the
        stage-1 configs with ``stage2.fusion``); the "A" system's differs only in taking no video.

        Raises:
            ConfigError: A bad preset, model or fusion setting, naming its full key
                (``audio.preset``, ``video.model.video_encoder.dim``, ``stage2.fusion.kind``).
        """
        audio = _stage_model(self.audio, "audio")
        video = _stage_model(self.video, "video")
        fused = _as_key(
            "stage2.fusion",
            lambda: fused_config(audio, video, self.stage2.fusion, source=_RUN_CONFIG),
            self.stage2.fusion,
        )
        return {"audio": audio, "video": video, "stage2": fused}


_T = TypeVar("_T")
_RUN_CONFIG = "<run config>"  # marks errors that give the full key already (see _as_key)


def _zero_keys(changes: Any, prefix: str) -> list[str]:
    """The dotted keys of ``changes`` whose value is the integer 0."""
    if not isinstance(changes, dict):
        return []
    found = []
    for name, value in changes.items():
        if isinstance(value, dict):
            found += _zero_keys(value, f"{prefix}.{name}")
        elif value == 0 and isinstance(value, int) and not isinstance(value, bool):
            found.append(f"{prefix}.{name}")
    return found


def _as_key(key: str, build: Callable[[], _T], changes: Any = None) -> _T:
    """``build()``, its ConfigError reworded as one about run-config key ``key`` (no file yet).

    Errors of :func:`avsvt.config.from_dict` (unknown keys, wrong types) already give the full key
    path (the prefix passed in, the source :data:`_RUN_CONFIG`); the checks of a model dataclass
    (``__post_init__``) speak of its own fields, so the section's key goes in front. A check that
    divides by a size given as 0 names the keys of ``changes`` set to 0.
    :func:`avsvt.config.load_config` adds the file.
    """
    try:
        return build()
    except (ZeroSizeError, ArithmeticError) as exc:
        zeros = _zero_keys(changes, key)
        if zeros:
            raise ConfigError(f"{' or '.join(zeros)}: must not be 0") from None
        if isinstance(exc, ConfigError):
            raise ConfigError(exc.message) from None
        raise ConfigError(f"{key}: a size or count is 0 ({exc})") from None
    except ConfigError as exc:
        message = exc.message if exc.path == _RUN_CONFIG else f"{key}: {exc.message}"
        raise ConfigError(message) from None


def _stage_model(stage: StageOneConfig, modality: str) -> ModelConfig:
    """The stage-1 model of ``audio`` or ``video``: its preset with its ``model`` changes."""
    _as_key(f"{modality}.preset", lambda: preset(stage.preset, modality))
    return _as_key(
        f"{modality}.model",
        lambda: configure(
            stage.preset, modality, stage.model, source=_RUN_CONFIG, prefix=f"{modality}.model."
        ),
        stage.model,
    )


def fused_config(
    audio: ModelConfig,
    video: ModelConfig | None,
    fusion: dict[str, Any],
    *,
    takes_video: bool = True,
    source: str | None = None,
) -> ModelConfig:
    """The audio-visual architecture built from the two stage-1 models' configs.

    ``takes_video=False`` is the "A" system: trained with the video stream zeroed, its config
    says so, and it never consumes video afterwards (``avsvt transcribe --video`` ignores it).

    Args:
        audio: The stage-1 audio model's config (its encoder, width and fusion defaults).
        video: The stage-1 video model's config (None: a model run on features only).
        fusion: Changes to the audio config's fusion settings (``stage2.fusion``).
        takes_video: False for the "A" system.
        source: The file errors about ``fusion`` keys name (None: none).

    Raises:
        ConfigError: Bad ``fusion`` changes (keys named ``stage2.fusion.<key>``).
    """
    if audio.fusion is None:
        raise ConfigError("the audio model has no fusion settings (audio.model.fusion is null)")
    fusion_config = from_dict(
        FusionConfig,
        merge(dataclasses.asdict(audio.fusion), fusion),
        source=source,
        prefix="stage2.fusion.",
    )
    try:
        return ModelConfig(
            modality="audio_visual",
            d_model=audio.d_model,
            audio_encoder=audio.audio_encoder,
            video_encoder=video.video_encoder if video is not None else None,
            fusion=fusion_config,
            takes_video=takes_video,
            utterance_s=audio.utterance_s,
        )
    except ConfigError as exc:
        raise ConfigError(f"stage2.fusion: {exc.message}", path=source) from None
