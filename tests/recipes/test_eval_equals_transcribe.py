"""The score the recipe reports for a checkpoint is the score ``avsvt transcribe`` gets.

Stage 1: the training loop's whole-song evaluation of a trained checkpoint and
:func:`avsvt.transcribe_file` on the same songs give identical notes. Stage 2: the A and AV
systems evaluated on stored encoder features (what the recipe reports) give the notes the whole
audio-visual checkpoint gives on the raw audio and lip video.
"""

from __future__ import annotations

import numpy as np
import torch

from avsvt.data.audio import read_audio
from avsvt.data.n20em import load_songs
from avsvt.data.video import read_video
from avsvt.models import Transcriber, load_model, preset, save_model
from avsvt.models.apply import apply_model
from avsvt.recipes.config import FeaturesConfig, NoiseConfig, StageTwoConfig
from avsvt.recipes.features import extract_features, feature_path
from avsvt.recipes.stage2 import Stage2Job, build_fused_model
from avsvt.recipes.systems import FeatureModel, stage1_trainable, stage2_trainable
from avsvt.report import Condition
from avsvt.train.datasets import AudioUtterances, FeatureUtterances
from avsvt.train.evaluate import decode_songs, predict_songs
from avsvt.transcribe.api import transcribe_file


def test_stage_1_evaluation_and_transcribe_give_identical_notes(gapped_root, trained_audio_model):
    test = [s for s in load_songs(gapped_root) if s.split == "test"]
    model = load_model(trained_audio_model)
    evaluated, _ = decode_songs(stage1_trainable(model), AudioUtterances(test), batch_size=8)
    assert sum(len(notes) for notes in evaluated.values()) > 20
    for song in test:
        assert (
            transcribe_file(song.vocals_path, model=trained_audio_model).notes
            == (evaluated[song.song_id])
        )


def test_stage_2_feature_scores_are_the_raw_checkpoint_scores(gapped_root, tmp_path):
    songs = load_songs(gapped_root)
    test = [s for s in songs if s.split == "test"]
    torch.manual_seed(0)
    save_model(Transcriber(preset("tiny", "audio")), tmp_path / "audio.safetensors")
    save_model(Transcriber(preset("tiny", "video")), tmp_path / "video.safetensors")
    extract_features(
        test,
        audio_model=tmp_path / "audio.safetensors",
        video_model=tmp_path / "video.safetensors",
        features_dir=tmp_path / "features",
        noise=NoiseConfig(types=(), snrs_db=()),
        config=FeaturesConfig(),
        progress=False,
    )
    for system in ("A", "AV"):
        job = Stage2Job(
            system=system,
            condition=Condition(),
            songs=tuple(songs),
            audio_model=tmp_path / "audio.safetensors",
            video_model=tmp_path / "video.safetensors",
            features_dir=tmp_path / "features",
            run_dir=tmp_path / system,
            config=StageTwoConfig(),
        )
        model = build_fused_model(job)
        assert model.uses_video == (system == "AV")
        data = FeatureUtterances(
            test,
            audio_feature_path=lambda s: feature_path(tmp_path / "features", s.song_id, "clean"),
            video_feature_path=(
                (lambda s: feature_path(tmp_path / "features", s.song_id, "video"))
                if system == "AV"
                else None
            ),
        )
        trainable = stage2_trainable(FeatureModel(model))
        logits, _ = predict_songs(trainable, data)
        notes, _ = decode_songs(trainable, data)
        for song in test:
            crops = read_video(song.video_path)
            raw = apply_model(model, audio=read_audio(song.vocals_path), video=crops)
            np.testing.assert_allclose(logits[song.song_id], raw.values, atol=1e-5)
            assert (
                transcribe_file(song.vocals_path, song.video_path, model=model).notes
                == (notes[song.song_id])
            )
