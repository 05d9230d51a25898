"""``last.pt`` carries the model config: it loads as a model and inspects like best.safetensors."""

import numpy as np
import pytest
import torch

from avsvt.cli import main
from avsvt.data.n20em import load_songs
from avsvt.errors import CheckpointError
from avsvt.models import Transcriber, load_checkpoint, load_model, preset
from avsvt.models.checkpoint import load_training_state, save_training_state
from avsvt.recipes.systems import FeatureModel, stage1_trainable, stage2_trainable
from avsvt.testing import make_tiny_corpus
from avsvt.train.datasets import AudioUtterances, FeatureUtterances
from avsvt.train.loop import fit
from avsvt.train.settings import OptimConfig, TrainConfig

CONFIG = TrainConfig(
    epochs=1,
    linear_probe_epochs=0,
    batch_size=2,
    eval_batch_size=2,
    optim=OptimConfig(head_lr=1.0, encoder_lr=1e-3),
)


@pytest.fixture(scope="module")
def songs(tmp_path_factory):
    root = make_tiny_corpus(tmp_path_factory.mktemp("last") / "root", n_songs=6, duration_s=5.0)
    return load_songs(root)


def split(songs, name):
    return [s for s in songs if s.split == name]


def test_stage1_last_pt_loads_as_the_trained_model_and_inspects(songs, tmp_path, capsys):
    torch.manual_seed(0)
    model = Transcriber(preset("tiny", "audio"))
    result = fit(
        stage1_trainable(model),
        AudioUtterances(split(songs, "train")),
        AudioUtterances(split(songs, "valid")),
        CONFIG,
        tmp_path,
        progress=False,
    )
    loaded, metadata = load_checkpoint(tmp_path / "last.pt")
    assert isinstance(loaded, Transcriber) and loaded.config == model.config
    assert metadata["epoch"] == 2 and metadata["global_step"] == result.history[-1]["step"] > 0
    assert metadata["history"] == result.history
    audio = 0.1 * torch.randn(2, 16000, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = model.eval()(audio=audio).logits
        torch.testing.assert_close(loaded(audio=audio).logits, expected, atol=0, rtol=0)

    assert main(["model", "inspect", str(tmp_path / "last.pt")]) == 0
    out = capsys.readouterr().out
    n = sum(t.numel() for t in model.state_dict().values())
    assert "avsvt-training" in out and "modality audio" in out and f"parameters: {n:,}" in out


def test_stage2_last_pt_holds_the_transcriber_once_and_loads_it(songs, tmp_path):
    rng = np.random.default_rng(0)
    for song in songs:  # 5-s songs: one utterance of 249 audio and 250 video feature rows
        np.save(tmp_path / f"{song.song_id}_a.npy", rng.standard_normal((249, 32), np.float32))
        np.save(tmp_path / f"{song.song_id}_v.npy", rng.standard_normal((250, 32), np.float32))

    def data(name):
        return FeatureUtterances(
            split(songs, name),
            audio_feature_path=lambda s: tmp_path / f"{s.song_id}_a.npy",
            video_feature_path=lambda s: tmp_path / f"{s.song_id}_v.npy",
        )

    torch.manual_seed(0)
    transcriber = Transcriber(preset("tiny", "audio_visual"))
    module = FeatureModel(transcriber)
    fit(stage2_trainable(module), data("train"), data("valid"), CONFIG, tmp_path, progress=False)

    state = load_training_state(tmp_path / "last.pt")
    assert set(state["model"]) == {f"transcriber.{k}" for k in transcriber.state_dict()}
    loaded = load_model(tmp_path / "last.pt")
    assert loaded.config == transcriber.config
    for key, value in transcriber.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    features = torch.randn(1, 249, 32), torch.randn(1, 250, 32)
    lengths = torch.tensor([249]), torch.tensor([250])
    with torch.no_grad():
        want = transcriber.eval().forward_features(features[0], lengths[0], features[1], lengths[1])
        got = loaded.forward_features(features[0], lengths[0], features[1], lengths[1])
    torch.testing.assert_close(got.logits, want.logits, atol=0, rtol=0)


def test_a_training_checkpoint_without_a_model_config_is_a_one_line_error(tmp_path, capsys):
    path = tmp_path / "last.pt"  # what a toy module, or an older avsvt, leaves
    save_training_state(path, {"model": {"w": torch.zeros(3)}, "epoch": 2})
    assert load_training_state(path)["epoch"] == 2  # it still resumes
    with pytest.raises(CheckpointError, match="without a model config") as info:
        load_model(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    assert main(["model", "inspect", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "without a model config" in err


def test_a_truncated_last_pt_is_a_one_line_error_for_load_model(tmp_path):
    path = tmp_path / "last.pt"
    model = Transcriber(preset("tiny", "audio"))
    save_training_state(
        path, {"model": model.state_dict(), "epoch": 1, "model_config": model.config.to_dict()}
    )
    assert load_model(path).config == model.config
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(CheckpointError, match="cannot read training checkpoint") as info:
        load_model(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
