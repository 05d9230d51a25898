"""Stage 2: the A and AV systems of one noise condition, on precomputed features (ref. 6.4-6.7).

One job = one system in one condition: train projections + fusion + head on that condition's
audio features (train, valid and test alike: matched conditions, as the reference), with video
features for AV and a zero video stream for A (same network, same parameter count). With
``stage2.train_types`` a noisy condition's systems train on a pool: the training songs once per
noise type at the condition's SNR (:func:`train_conditions`); validation and test stay matched.
The head (and audio projection) start from the stage-1 audio model, the fusion from seed 1986.

The saved ``best.safetensors`` is a complete audio-visual transcriber: the stage-1 encoders with
the trained fusion and head, so ``avsvt transcribe --model`` runs it on raw audio and video. After
training, the job decodes the test split with the best model and writes one note file per song
(``test/<song>.json``) and ``scores.json``: the report reads these, whatever machine ran the job.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from avsvt.data.atomic import write_json_atomic
from avsvt.data.n20em import Song
from avsvt.evaluation import evaluate_notes
from avsvt.models import Transcriber, load_model
from avsvt.notefiles import read_json_notes, write_json_notes
from avsvt.notes import Note
from avsvt.recipes.config import StageTwoConfig, fused_config
from avsvt.recipes.features import VIDEO_FEATURES, feature_path
from avsvt.recipes.stage1 import BEST, split_songs
from avsvt.recipes.systems import (
    FeatureModel,
    best_model_saver,
    resolve_device,
    stage2_trainable,
)
from avsvt.report import Condition
from avsvt.train.datasets import FeatureUtterances, PooledUtterances
from avsvt.train.distributed import barrier, is_main_process
from avsvt.train.evaluate import decode_songs
from avsvt.train.loop import fit
from avsvt.utterances import UtteranceGrid

logger = logging.getLogger(__name__)

SCORES = "scores.json"
TEST_NOTES = "test"


@dataclass(frozen=True)
class Stage2Job:
    """Everything one stage-2 job needs (picklable: it may run in another process or on Slurm)."""

    system: str
    condition: Condition
    songs: tuple[Song, ...]
    audio_model: Path
    video_model: Path | None
    features_dir: Path
    run_dir: Path
    config: StageTwoConfig
    device: str = "auto"
    threads: int = 0
    progress: bool = False
    train_conditions: tuple[Condition, ...] = ()  # () = ``condition`` alone

    @property
    def name(self) -> str:
        """``<system>/<condition>``."""
        return f"{self.system}/{self.condition.name}"

    @property
    def done(self) -> bool:
        """True when the job's scores exist (it finished)."""
        return (self.run_dir / SCORES).exists()


def train_conditions(condition: Condition, train_types: Sequence[str]) -> tuple[Condition, ...]:
    """The conditions a system of ``condition`` trains on.

    Its own, then the other ``train_types`` at its SNR; clean trains on clean alone.
    """
    if condition.noise_type is None:
        return (condition,)
    others = [t for t in train_types if t != condition.noise_type]
    return (condition, *(Condition(t, condition.snr_db) for t in others))


def job_dir(stage2_dir: Path, system: str, condition: Condition) -> Path:
    """``<stage2_dir>/<system>/<condition>``."""
    return stage2_dir / system / condition.name


def build_fused_model(job: Stage2Job) -> Transcriber:
    """The AV transcriber: stage-1 encoders, audio projection and head; a fresh fusion (seeded)."""
    audio = load_model(job.audio_model)
    video = load_model(job.video_model) if job.video_model is not None else None
    config = fused_config(
        audio.config,
        video.config if video else None,
        job.config.fusion,
        takes_video=job.system == "AV",
    )
    torch.manual_seed(job.config.train.seed)
    model = Transcriber(config, load_pretrained=False)
    assert model.audio_encoder is not None and audio.audio_encoder is not None
    model.audio_encoder.load_state_dict(audio.audio_encoder.state_dict())
    if job.config.init_head_from_audio:
        assert model.audio_proj is not None and audio.audio_proj is not None
        model.audio_proj.load_state_dict(audio.audio_proj.state_dict())
        model.head.load_state_dict(audio.head.state_dict())
    if video is not None and model.video_encoder is not None:
        assert video.video_encoder is not None
        model.video_encoder.load_state_dict(video.video_encoder.state_dict())
    return model


def _datasets(
    job: Stage2Job, songs: Sequence[Song], grid: UtteranceGrid, condition: Condition
) -> FeatureUtterances:
    def video_path(song: Song) -> Path:
        return feature_path(job.features_dir, song.song_id, VIDEO_FEATURES)

    return FeatureUtterances(
        songs,
        audio_feature_path=lambda song: feature_path(
            job.features_dir, song.song_id, condition.name
        ),
        video_feature_path=video_path if job.system == "AV" else None,
        grid=grid,
    )


def _training_data(
    job: Stage2Job, songs: Sequence[Song], grid: UtteranceGrid
) -> FeatureUtterances | PooledUtterances:
    parts = [_datasets(job, songs, grid, c) for c in job.train_conditions or (job.condition,)]
    return parts[0] if len(parts) == 1 else PooledUtterances(parts)


def run_stage2_job(job: Stage2Job) -> Path:
    """Train one system in one condition (resuming), then decode and score the test split.

    Returns:
        The job folder. Skips everything when ``scores.json`` exists.
    """
    if job.done:
        return job.run_dir
    if job.threads:
        torch.set_num_threads(job.threads)
    device = resolve_device(job.device)
    model = FeatureModel(
        build_fused_model(job),
        drop_video_p=job.config.drop_video_p,
        drop_audio_p=job.config.drop_audio_p,
        missing_video_p=job.config.missing_video_p,
    ).to(device)
    trainable = stage2_trainable(model)
    songs = list(job.songs)
    grid = model.transcriber.config.grid

    fit(
        trainable,
        _training_data(job, split_songs(songs, "train"), grid),
        _datasets(job, split_songs(songs, "valid"), grid, job.condition),
        job.config.train,
        job.run_dir,
        on_best=best_model_saver(job.run_dir / BEST),
        progress=job.progress,
    )
    if not is_main_process():  # under torchrun, rank 0 scores the test split
        barrier()
        return job.run_dir
    best = load_model(job.run_dir / BEST)
    model = FeatureModel(best).to(device)
    test = _datasets(job, split_songs(songs, "test"), grid, job.condition)
    estimates, _ = decode_songs(
        stage2_trainable(model), test, batch_size=job.config.train.eval_batch_size
    )
    pairs: dict[str, tuple[list[Note], list[Note]]] = {}
    for song in test.songs:
        estimate = estimates[song.song_id]
        write_json_notes(job.run_dir / TEST_NOTES / f"{song.song_id}.json", estimate)
        pairs[song.song_id] = (list(song.notes), estimate)
    evaluation = evaluate_notes(pairs)
    write_json_atomic(job.run_dir / SCORES, evaluation.to_dict())
    logger.info(
        "stage 2 %s: test COnPOff %.3f, COn %.3f",
        job.name,
        evaluation.mean.COnPOff.f1,
        evaluation.mean.COn.f1,
    )
    barrier()
    return job.run_dir


def read_job_predictions(run_dir: Path, songs: Sequence[Song]) -> dict[str, list[Note]]:
    """The test predictions a finished job wrote, per song."""
    return {
        song.song_id: read_json_notes(run_dir / TEST_NOTES / f"{song.song_id}.json")
        for song in songs
    }
