"""Training settings as plain frozen dataclasses: the loop, the optimisers, accompaniment mixing.

They are part of a run config (:mod:`avsvt.recipes.config`), so this module imports no torch:
loading and checking a config never pulls in the training stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class OptimConfig:
    """Optimisers and annealing; defaults are the reference's stage-1 values."""

    head_lr: float = 3e-4
    encoder_lr: float = 5e-5
    head_anneal_factor: float = 0.8
    encoder_anneal_factor: float = 0.9
    anneal_threshold: float = 0.0025
    grad_clip_norm: float = 5.0


@dataclass(frozen=True)
class TrainConfig:
    """Training-loop settings (reference defaults where it has them)."""

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
