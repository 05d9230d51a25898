"""Training settings as plain frozen dataclasses: the loop, the optimisers, accompaniment mixing.

They are part of a run config (:mod:`avsvt.recipes.config`), so this module imports no torch:
loading and checking a config never pulls in the training stack. Every value is checked when a
config is built (``__post_init__``): a NaN learning rate, a batch size of 0 or ``epochs: -1`` stops
the config from loading, naming the full key (``stage2.train.batch_size: must be at least 1``),
instead of failing (or silently training nothing) once a stage has started.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from avsvt.config import FieldError, check_count, check_number, check_seed


@dataclass(frozen=True)
class OptimConfig:
    """Optimisers and annealing; defaults are the reference's stage-1 values."""

    head_lr: float = 3e-4
    encoder_lr: float = 5e-5
    head_anneal_factor: float = 0.8
    encoder_anneal_factor: float = 0.9
    anneal_threshold: float = 0.0025
    grad_clip_norm: float = 5.0

    def __post_init__(self) -> None:
        check_number("head_lr", self.head_lr, above=0)
        check_number("encoder_lr", self.encoder_lr, above=0)
        check_number("head_anneal_factor", self.head_anneal_factor, above=0, at_most=1)
        check_number("encoder_anneal_factor", self.encoder_anneal_factor, above=0, at_most=1)
        check_number("anneal_threshold", self.anneal_threshold)
        check_number("grad_clip_norm", self.grad_clip_norm, above=0, finite=False)


@dataclass(frozen=True)
class TrainConfig:
    """Training-loop settings (reference defaults where it has them).

    ``ema_decay`` (0 = off, the reference's way): validate, select and save an exponential moving
    average of the weights (and buffers) instead of the weights themselves, updated after every
    optimiser step with this decay (``torch.optim.swa_utils``' EMA). The steps are the same, but
    NewBob then anneals on the average's validation loss. A decay ``d`` averages over about
    ``1 / (1 - d)`` steps. Measured on the demo's video model in BENCHMARKS.md: not adopted.
    """

    epochs: int = 10
    linear_probe_epochs: int = 2
    batch_size: int = 8
    eval_batch_size: int = 8
    grad_accum: int = 1
    shuffle: bool = True
    seed: int = 1986
    checkpoint_every_steps: int = 0
    max_nonfinite: int = 3
    amp: bool = True
    select_metric: Literal["COnPOff", "COnP", "COn", "COff"] = "COnPOff"
    optim: OptimConfig = field(default_factory=OptimConfig)
    ema_decay: float = 0.0

    def __post_init__(self) -> None:
        check_count("epochs", self.epochs, minimum=1)
        check_count("linear_probe_epochs", self.linear_probe_epochs, minimum=0)
        check_count("batch_size", self.batch_size, minimum=1)
        check_count("eval_batch_size", self.eval_batch_size, minimum=1)
        check_count("grad_accum", self.grad_accum, minimum=1)
        check_seed("seed", self.seed)
        check_count("checkpoint_every_steps", self.checkpoint_every_steps, minimum=0)
        check_count("max_nonfinite", self.max_nonfinite, minimum=0)
        check_number("ema_decay", self.ema_decay, at_least=0)
        if self.ema_decay >= 1:
            raise FieldError("ema_decay", f"must be below 1 (1 never moves), not {self.ema_decay}")


@dataclass(frozen=True)
class VideoSpeedup:
    """Faster articulation for the video stream: some utterances' lips played back sped up.

    Utterance ``i`` is sped up with probability ``probability`` by a factor drawn uniformly from
    ``factor``, both from ``default_rng([seed, i])`` (the same utterances, the same factors, in
    every epoch and run). A sped-up utterance shows the song's mouth crops from its start at
    ``factor`` times their pace (nearest frame), with labels built from the song's notes on the
    same sped-up time line, so syllables come as fast as in speech (a sung corpus' notes last
    0.2-1.7 s; spoken syllables 0.1-0.3 s). Past the song's end the last crop holds.

    Attributes:
        probability: Share of utterances sped up (0 = off).
        factor: (lowest, highest) speed-up, at least 1.
        seed: Seed of the draws.
    """

    probability: float = 0.0
    factor: tuple[float, float] = (1.0, 2.0)
    seed: int = 0

    def __post_init__(self) -> None:
        check_number("probability", self.probability, at_least=0, at_most=1)
        low, high = self.factor
        check_number("factor", low, at_least=1.0)
        check_number("factor", high, at_least=1.0)
        if low > high:
            raise FieldError("factor", f"[{low:g}, {high:g}]: the lowest factor comes first")
        check_seed("seed", self.seed)


@dataclass(frozen=True)
class AccompMix:
    """Multi-condition training: the song's own accompaniment mixed into some utterances.

    Utterance ``i`` is mixed with probability ``probability`` at an SNR drawn uniformly from
    ``snr_db`` (reference mixing rule), both drawn from ``default_rng([seed, i])``: the same
    utterances get the same mixtures in every epoch and every run.

    Attributes:
        probability: Share of utterances mixed (0 = off, the reference's clean stage 1).
        snr_db: (lowest, highest) SNR in dB.
        seed: Seed of the draws.
    """

    probability: float = 0.0
    snr_db: tuple[float, float] = (0.0, 20.0)
    seed: int = 0

    def __post_init__(self) -> None:
        check_number("probability", self.probability, at_least=0, at_most=1)
        low, high = self.snr_db
        check_number("snr_db", low)
        check_number("snr_db", high)
        if low > high:
            raise FieldError("snr_db", f"[{low:g}, {high:g}]: the lowest SNR comes first")
        check_seed("seed", self.seed)
