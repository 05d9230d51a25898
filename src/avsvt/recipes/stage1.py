"""Stage 1: the audio-only and video-only systems trained on raw streams (reference 2, 4).

Audio trains on the clean vocals (the reference never fine-tunes stage 1 on noise), video on the
mouth crops; both on the train split, validated (whole songs) on the valid split each epoch. The
best epoch's model is written to ``best.safetensors`` beside the loop's ``last.pt`` and
``log.csv``; a rerun resumes from ``last.pt``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import torch

from avsvt.data.n20em import Song
from avsvt.models import Transcriber, configure
from avsvt.recipes.config import StageOneConfig
from avsvt.recipes.systems import best_model_saver, resolve_device, stage1_trainable
from avsvt.train.datasets import AudioUtterances, VideoUtterances
from avsvt.train.loop import FitResult, fit

logger = logging.getLogger(__name__)

BEST = "best.safetensors"


def split_songs(songs: Sequence[Song], split: str) -> list[Song]:
    """The songs of one split, in corpus order."""
    return [s for s in songs if s.split == split]


def train_stage1(
    songs: Sequence[Song],
    modality: str,
    config: StageOneConfig,
    run_dir: str | Path,
    *,
    device: str = "auto",
    progress: bool = True,
) -> FitResult:
    """Train (or resume) one stage-1 system and keep its best model in ``run_dir/best.safetensors``.

    Args:
        songs: The corpus (train and valid splits are used).
        modality: ``audio`` or ``video``.
        config: Model preset and changes, training settings.
        run_dir: The system's folder.
        device: ``auto``, ``cpu`` or ``cuda``.
        progress: Show progress bars.
    """
    run_dir = Path(run_dir)
    model_config = configure(config.preset, modality, config.model)
    torch.manual_seed(config.train.seed)
    model = Transcriber(model_config).to(resolve_device(device))
    train: AudioUtterances | VideoUtterances
    if modality == "audio":
        train = AudioUtterances(split_songs(songs, "train"), accomp_mix=config.accomp_mix)
        valid: AudioUtterances | VideoUtterances = AudioUtterances(split_songs(songs, "valid"))
    else:
        train = VideoUtterances(split_songs(songs, "train"), speedup=config.speedup)
        valid = VideoUtterances(split_songs(songs, "valid"))

    logger.info(
        "stage 1 %s: %d train / %d valid utterances, %d parameters",
        modality,
        len(train),
        len(valid),
        sum(p.numel() for p in model.parameters()),
    )
    return fit(
        stage1_trainable(model),
        train,
        valid,
        config.train,
        run_dir,
        on_best=best_model_saver(run_dir / BEST),
        progress=progress,
    )
