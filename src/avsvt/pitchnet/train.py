"""Training the pitch network: generated stems, on-the-fly mixtures, resumable steps.

1. **stems**: ``n_songs`` training and ``n_valid_songs`` validation songs
   (:func:`avsvt.pitchnet.data.render_stems`), each written as ``stems/<seed>.npz`` atomically
   and skipped when present, rendered on ``workers`` processes;
2. **steps**: Adam with a warm-up and a cosine decay; batch ``k`` is drawn from the seed
   ``(seed, k)`` alone, so a run killed at any point and resumed from ``last.pt`` (written every
   ``checkpoint_every`` steps) makes the same steps as one that was not; with ``ema_decay`` > 0
   the model kept is the exponential moving average of the weights (and of the batch-norm
   statistics), started from the weights at ``ema_start`` (a fraction of the steps) and updated
   after each later step, then its batch-norm statistics re-estimated (off in the recipe: at 500
   steps it scored below the last step's weights, BENCHMARKS.md);
3. **fit**: the decoding (:func:`fit_decoding`: the note segmentation of
   :func:`avsvt.f0notes.fit_f0_notes`, its voicing threshold included, and how much of the
   voicing comes from the salience head: :data:`SALIENCE_WEIGHTS`) on validation mixtures drawn
   like the training ones;
4. **model**: ``model.safetensors``, the weights with their config, the fitted segmentation and
   how they were obtained (:mod:`avsvt.pitchnet.track`).

With ``members`` > 1, steps 1-2 run once per network of an ensemble
(:class:`avsvt.pitchnet.model.PitchNetEnsemble`; member ``k`` is the one-network run of seed
``seed + k``), and steps 3-4 once, on the mean of their probabilities.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from avsvt.config import check_count, check_number, check_seed, to_dict
from avsvt.constants import SAMPLE_RATE
from avsvt.data.atomic import atomic_path
from avsvt.f0notes import F0NoteSettings, fit_f0_notes
from avsvt.models.checkpoint import load_training_state, save_training_state
from avsvt.notes import Note
from avsvt.parallel import worker_pool
from avsvt.pitchnet.data import Batch, DataConfig, Stems, draw_batch, mix_example, render_stems
from avsvt.pitchnet.features import SpectrogramConfig
from avsvt.pitchnet.model import PitchModel, PitchNet, PitchNetConfig, PitchNetEnsemble
from avsvt.train.loop import write_log

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PitchTrainConfig:
    """The recipe of the default model (``configs/default-model.yaml``)."""

    seed: int = 0
    n_songs: int = 240
    n_valid_songs: int = 24
    song_s: float = 16.0
    steps: int = 1500
    batch_size: int = 8
    crop_s: float = 4.0
    lr: float = 2e-3
    warmup_steps: int = 50
    checkpoint_every: int = 50
    workers: int = 2
    threads: int = 2
    ema_decay: float = 0.0
    ema_start: float = 0.0
    members: int = 1
    model: PitchNetConfig = field(default_factory=PitchNetConfig)
    data: DataConfig = field(default_factory=DataConfig)

    def __post_init__(self) -> None:
        check_seed("seed", self.seed)
        check_count("n_songs", self.n_songs, minimum=1)
        check_count("n_valid_songs", self.n_valid_songs, minimum=1)
        check_number("song_s", self.song_s, above=2.0)
        check_count("steps", self.steps, minimum=1)
        check_count("batch_size", self.batch_size, minimum=1)
        check_number("crop_s", self.crop_s, above=0.1)
        check_number("lr", self.lr, above=0)
        check_count("warmup_steps", self.warmup_steps, minimum=0)
        check_count("checkpoint_every", self.checkpoint_every, minimum=1)
        check_count("workers", self.workers, minimum=1)
        check_count("threads", self.threads, minimum=1)
        check_number("ema_decay", self.ema_decay, at_least=0.0, at_most=0.9999)
        check_number("ema_start", self.ema_start, at_least=0.0, at_most=1.0)
        check_count("members", self.members, minimum=1)

    def member(self, k: int) -> PitchTrainConfig:
        """Member ``k`` of an ensemble: this recipe as one network from the seed ``seed + k``.

        Its training songs, batches and initial weights are those of a one-network run of that
        seed, so member ``k`` is bit for bit such a run's network.
        """
        return dataclasses.replace(self, seed=self.seed + k, members=1)

    def ema_first_step(self) -> int | None:
        """The step after which the weight average starts (None: no average)."""
        return int(self.ema_start * self.steps) if self.ema_decay > 0 else None

    def train_seeds(self) -> list[int]:
        """The seeds of the training songs."""
        return [self.seed * 1_000_000 + i for i in range(self.n_songs)]

    def valid_seeds(self) -> list[int]:
        """The seeds of the validation songs (disjoint from the training ones)."""
        return [self.seed * 1_000_000 + 500_000 + i for i in range(self.n_valid_songs)]


def _save_stems(path: Path, stems: Stems) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **asdict(stems))
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())


def _load_stems(path: Path) -> Stems:
    with np.load(path, allow_pickle=False) as data:
        return Stems(**{name: data[name] for name in data.files})


def _stems_job(args: tuple[Path, int, float, bool, float, bool]) -> None:
    path, seed, duration_s, timbre, breath_power, tails = args
    stems = render_stems(seed, duration_s, timbre=timbre, breath_power=breath_power, tails=tails)
    _save_stems(path, stems)


def build_pool(
    folder: Path,
    seeds: list[int],
    duration_s: float,
    *,
    workers: int,
    progress: bool,
    timbre: bool = False,
    breath_power: float = 1.0,
    tails: bool = False,
) -> list[Stems]:
    """Render (or read back) the stems of ``seeds`` under ``folder``.

    ``timbre``, ``breath_power``, ``tails``: :class:`avsvt.pitchnet.data.DataConfig`; a folder holds
    stems of one kind.
    """
    from tqdm import tqdm

    paths = [folder / f"{seed}.npz" for seed in seeds]
    todo = [
        (p, s, duration_s, timbre, breath_power, tails)
        for p, s in zip(paths, seeds, strict=True)
        if not p.exists()
    ]
    if todo:
        with (
            contextlib.ExitStack() as stack,
            tqdm(total=len(todo), desc="stems", unit="song", disable=not progress) as bar,
        ):
            jobs: Iterable[None] = (
                stack.enter_context(worker_pool(workers)).map(_stems_job, todo)
                if workers > 1 and len(todo) > 1
                else map(_stems_job, todo)  # in this process: no interpreter to start
            )
            for _ in jobs:
                bar.update()
    return [_load_stems(p) for p in paths]


def config_pool(
    folder: Path, seeds: list[int], config: PitchTrainConfig, *, progress: bool
) -> list[Stems]:
    """:func:`build_pool` of ``seeds`` with ``config``'s song length, workers and data settings."""
    return build_pool(
        folder,
        seeds,
        config.song_s,
        workers=config.workers,
        progress=progress,
        timbre=config.data.timbre,
        breath_power=config.data.breath_power,
        tails=config.data.tails,
    )


def learning_rate(step: int, config: PitchTrainConfig) -> float:
    """Linear warm-up to ``lr``, then a cosine decay to ``lr / 20`` at the last step."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    return config.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def pitch_loss(
    salience: torch.Tensor, voicing: torch.Tensor, target: torch.Tensor, voiced: torch.Tensor
) -> torch.Tensor:
    """Binary cross-entropy of the salience bins (mean over bins) plus that of voicing."""
    return F.binary_cross_entropy_with_logits(salience, target) * target.shape[
        -1
    ] / 10 + F.binary_cross_entropy_with_logits(voicing, voiced)


def training_batch(pool: list[Stems], config: PitchTrainConfig, step: int, crop: int) -> Batch:
    """Batch ``step`` of the recipe: drawn from the seed ``(config.seed, step)`` alone."""
    return draw_batch(
        pool, (config.seed, step), config.batch_size, crop, config.model.spectrogram, config.data
    )


def train_steps(
    model: PitchNet,
    pool: list[Stems],
    config: PitchTrainConfig,
    run_dir: Path,
    *,
    progress: bool = True,
    stop_after_steps: int | None = None,
) -> list[dict[str, float]]:
    """The optimiser steps (module docstring, 2), resumed from ``run_dir/last.pt``."""
    from tqdm import tqdm

    torch.manual_seed(config.seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)
    last = run_dir / "last.pt"
    start, history = 0, []
    average_from = config.ema_first_step()
    average: WeightAverage | None = None
    if average_from == 0:
        average = WeightAverage(model, config.ema_decay)
    if last.exists():
        state = load_training_state(last)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        start, history = int(state["global_step"]), list(state["history"])
        if "ema" in state:
            average = WeightAverage(model, config.ema_decay)
            average.load_state_dict(state["ema"])
    crop = int(round(config.crop_s * SAMPLE_RATE))
    losses: list[float] = []
    model.train()
    done_now = 0
    with tqdm(
        total=config.steps, initial=start, desc="pitch model", unit="step", disable=not progress
    ) as bar:
        for step in range(start, config.steps):
            batch = training_batch(pool, config, step, crop)
            for group in optimiser.param_groups:
                group["lr"] = learning_rate(step, config)
            salience, voicing = model(torch.from_numpy(batch.audio))
            loss = pitch_loss(
                salience, voicing, torch.from_numpy(batch.salience), torch.from_numpy(batch.voiced)
            )
            optimiser.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimiser.step()
            if average is not None:
                average.update(model)
            elif average_from is not None and step + 1 >= average_from:
                average = WeightAverage(model, config.ema_decay)
            losses.append(float(loss.detach()))
            bar.update()
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
            done_now += 1
            if (step + 1) % config.checkpoint_every == 0 or step + 1 == config.steps:
                history.append({"step": float(step + 1), "train_loss": float(np.mean(losses))})
                losses = []
                state = {
                    "model": model.state_dict(),
                    "optimiser": optimiser.state_dict(),
                    "epoch": 0,
                    "global_step": step + 1,
                    "history": history,
                }
                if average is not None:
                    state["ema"] = average.state_dict()
                save_training_state(last, state)
                write_log(run_dir / "log.csv", history)
            if stop_after_steps is not None and done_now >= stop_after_steps:
                break
    if average is not None and start + done_now >= config.steps:
        model.load_state_dict(average.state_dict())
        recompute_batch_norm(model, pool, config, crop)
    return history


BN_BATCHES = 32
"""Training batches (drawn from the seeds after the last step's) that re-estimate the batch-norm
statistics of an averaged model."""


@torch.no_grad()
def recompute_batch_norm(
    model: PitchNet, pool: list[Stems], config: PitchTrainConfig, crop: int
) -> None:
    """Re-estimate every batch-norm layer's statistics for the model's current weights.

    The averaged running statistics belong to no single set of weights (averaged weights are a
    new network); as in stochastic weight averaging, they are measured again: the plain mean
    over :data:`BN_BATCHES` training batches of seeds ``(seed, steps + k)``.
    """
    layers = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    momenta = [layer.momentum for layer in layers]
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None  # a cumulative average over the batches below
    was_training = model.training
    model.train()
    for k in range(BN_BATCHES):
        model(torch.from_numpy(training_batch(pool, config, config.steps + k, crop).audio))
    for layer, momentum in zip(layers, momenta, strict=True):
        layer.momentum = momentum
    model.train(was_training)


class WeightAverage:
    """An exponential moving average of a model's floating-point weights and buffers.

    ``update`` after each step: ``avg = decay * avg + (1 - decay) * current``; integer buffers
    (batch-norm's step counters) are copied. Starts from the model's weights when made.
    """

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        self.decay = decay
        self.average = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        """Move the average toward ``model``'s current state."""
        for name, value in model.state_dict().items():
            kept = self.average[name]
            if kept.is_floating_point():
                kept.mul_(self.decay).add_(value.detach(), alpha=1.0 - self.decay)
            else:
                kept.copy_(value)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The averaged state, loadable by the model's ``load_state_dict``."""
        return {k: v.clone() for k, v in self.average.items()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Resume from :meth:`state_dict`."""
        self.average = {k: v.detach().clone() for k, v in state.items()}


FIT_GRID: dict[str, tuple[float, ...]] = {
    "max_aperiodicity": (0.2, 0.3, 0.4, 0.5, 0.6, 0.7),
    "split_semitones": (0.5, 0.7, 1.0),
    "hold_frames": (1, 3, 5, 8),
    "min_note_s": (0.05, 0.08, 0.1),
    "onset_shift_s": (-0.03, -0.015, 0.0),
}
"""The segmentation settings fitted on the validation mixtures (``max_aperiodicity`` is
``1 - voicing threshold``)."""
SALIENCE_WEIGHTS: tuple[float, ...] = (0.0,)
"""The voicing blends the recipe's fit tries (:func:`avsvt.pitchnet.model.decode_f0`): only the
voicing head. A blend with the salience head was measured and not adopted: on generated
validation mixtures, drawn like the training ones or sung by singers drawn wider, and on the
embedded corpus it changes little up to 0.5 and loses beyond; only the check clip prefers it
(BENCHMARKS.md, "voicing from the salience head"; ``benchmarks/bench_salience_weight.py``)."""
FIT_VERSION = 1
"""Bumped when the fit changes: a finished recipe run whose model file records an older one is
refitted (weights kept), not retrained."""


def sung_notes(stems: Stems) -> list[Note]:
    """The planned notes with the pitch actually sung: the median rendered f0 over each note.

    A planned note's pitch is its target; the singer may miss it (tuning offset, note error,
    drift), and the reference of a transcription is what was sung.
    """
    notes = []
    for onset_s, offset_s, pitch in stems.notes:
        lo, hi = int(np.ceil(onset_s * 100)), int(np.floor(offset_s * 100)) + 1
        sung = stems.f0_midi[lo:hi][stems.voiced[lo:hi]]
        notes.append(
            Note(float(onset_s), float(offset_s), float(np.median(sung) if len(sung) else pitch))
        )
    return notes


def validation_mixtures(
    pool: list[Stems], config: PitchTrainConfig, per_song: int = 2
) -> list[tuple[np.ndarray, list[Note]]]:
    """Whole-song mixtures of the validation stems, drawn like training ones, with their notes."""
    out = []
    for i, stems in enumerate(pool):
        for k in range(per_song):
            rng = np.random.default_rng([config.seed, 99, i, k])
            other = pool[(i + 1 + k) % len(pool)]
            audio, _ = mix_example(stems, other, rng, len(stems.vocals), config.data)
            out.append((audio, sung_notes(stems)))
    return out


@dataclass(frozen=True)
class DecodeFit:
    """The fitted decoding of a pitch network and what it scored on the validation mixtures.

    Attributes:
        settings: The note segmentation.
        salience_weight: The voicing blend (:func:`avsvt.pitchnet.model.decode_f0`).
        scores: COnPOff / COnP / COn F1 of the chosen decoding.
        by_weight: COnPOff F1 of the best segmentation at each salience weight tried.
    """

    settings: F0NoteSettings
    salience_weight: float
    scores: dict[str, float]
    by_weight: dict[str, float]


def fit_decoding(
    outputs: list[tuple[np.ndarray, np.ndarray]],
    references: list[list[Note]],
    spectrogram: SpectrogramConfig,
    weights: tuple[float, ...] = SALIENCE_WEIGHTS,
    *,
    progress: bool = False,
) -> DecodeFit:
    """The segmentation and salience weight that score best on ``outputs`` (salience, voicing).

    Every weight gets its own segmentation fit (:data:`FIT_GRID`); the best COnPOff wins, the
    smaller weight on a tie.
    """
    from tqdm import tqdm

    from avsvt.pitchnet.model import decode_f0

    best: DecodeFit | None = None
    by_weight: dict[str, float] = {}
    for weight in tqdm(weights, desc="fit decoding", unit="weight", disable=not progress):

        def track(item: Any, settings: F0NoteSettings, weight: float = weight) -> Any:
            salience, voicing = item
            threshold = 1.0 - settings.max_aperiodicity
            return decode_f0(
                salience, voicing, spectrogram, threshold=threshold, salience_weight=weight
            )

        fit = fit_f0_notes(outputs, references, FIT_GRID, tracker=track)
        scores = {name: getattr(fit.scores, name).f1 for name in ("COnPOff", "COnP", "COn")}
        by_weight[f"{weight:g}"] = scores["COnPOff"]
        if best is None or scores["COnPOff"] > best.scores["COnPOff"]:
            best = DecodeFit(fit.settings, weight, scores, {})
    assert best is not None, "at least one weight"
    return dataclasses.replace(best, by_weight=by_weight)


def fit_model_decoding(
    model: PitchModel,
    config: PitchTrainConfig,
    stems_dir: Path,
    *,
    progress: bool = True,
) -> DecodeFit:
    """Step 3 (module docstring): render the validation stems if needed, mix them, fit."""
    from avsvt.pitchnet.track import PitchNetTracker

    valid = config_pool(stems_dir, config.valid_seeds(), config, progress=progress)
    mixtures = validation_mixtures(valid, config)
    tracker = PitchNetTracker(model.eval(), F0NoteSettings())
    outputs = [tracker.probabilities(audio) for audio, _ in mixtures]
    references = [notes for _, notes in mixtures]
    return fit_decoding(outputs, references, model.config.spectrogram, progress=progress)


def train_network(
    run_dir: Path, config: PitchTrainConfig, stems_dir: Path, *, progress: bool = True
) -> tuple[PitchNet, float | None]:
    """Steps 1-2 (module docstring) of one network; returns it (eval mode) and its last loss."""
    pool = config_pool(stems_dir, config.train_seeds(), config, progress=progress)
    torch.manual_seed(config.seed)
    model = PitchNet(config.model)
    history = train_steps(model, pool, config, run_dir, progress=progress)
    return model.eval(), (history[-1]["train_loss"] if history else None)


def member_dir(run_dir: Path, k: int) -> Path:
    """Where member ``k`` of an ensemble trains (its ``last.pt`` and ``log.csv``)."""
    return run_dir / f"member-{k}"


def train_default_model(
    run_dir: str | Path,
    config: PitchTrainConfig,
    *,
    stems_dir: Path | None = None,
    progress: bool = True,
) -> Path:
    """The whole recipe (module docstring); returns the model file's path.

    With ``members`` > 1 the networks of :meth:`PitchTrainConfig.member` train one after the
    other (each under :func:`member_dir`, resumable), their training songs in the one stems
    folder, and the decoding is fitted once on the ensemble's mean probabilities over the
    validation songs of ``seed``.
    """
    run_dir = Path(run_dir)
    torch.set_num_threads(config.threads)
    stems_dir = stems_dir or run_dir / "stems"
    model: PitchModel
    if config.members == 1:
        model, final_loss = train_network(run_dir, config, stems_dir, progress=progress)
    else:
        trained = []
        for k in range(config.members):
            folder = member_dir(run_dir, k)
            folder.mkdir(exist_ok=True)
            logger.info("ensemble member %d of %d", k + 1, config.members)
            trained.append(train_network(folder, config.member(k), stems_dir, progress=progress))
        model = PitchNetEnsemble.of([network for network, _ in trained]).eval()
        losses = [loss for _, loss in trained if loss is not None]
        final_loss = float(np.mean(losses)) if losses else None
    path = run_dir / "model.safetensors"
    save_fitted(
        path,
        model,
        config,
        fit_model_decoding(model, config, stems_dir, progress=progress),
        final_loss,
    )
    return path


def refit_default_model(
    path: Path, config: PitchTrainConfig, *, stems_dir: Path, progress: bool = True
) -> None:
    """Fit the decoding of a finished model file again (same weights) and rewrite the file."""
    from avsvt.pitchnet.track import load_pitchnet

    torch.set_num_threads(config.threads)
    tracker = load_pitchnet(path)
    fit = fit_model_decoding(tracker.model, config, stems_dir, progress=progress)
    save_fitted(path, tracker.model, config, fit, tracker.info.get("final_train_loss"))


def save_fitted(
    path: Path,
    model: PitchModel,
    config: PitchTrainConfig,
    fit: DecodeFit,
    final_train_loss: float | None,
) -> None:
    """Step 4 (module docstring): the model file with its fitted decoding."""
    from avsvt.pitchnet.track import config_to_dict, save_pitchnet

    logger.info("validation mixtures: %s (salience weight %g)", fit.scores, fit.salience_weight)
    info = {
        "trained_on": "generated singing (avsvt.pitchnet.data): no recording",
        "recipe": to_dict(config),
        "valid_scores": fit.scores,
        "valid_COnPOff_by_salience_weight": fit.by_weight,
        "final_train_loss": final_train_loss,
        "model_config": config_to_dict(config.model),
        "fit_version": FIT_VERSION,
    }
    save_pitchnet(path, model, fit.settings, info, salience_weight=fit.salience_weight)
