"""The training loop on a toy spectrogram model: learning, best-model selection, exact resume."""

import dataclasses
import os
import shutil

import pytest
import torch

from avsvt.data.n20em import load_songs
from avsvt.errors import CheckpointError
from avsvt.models.checkpoint import load_training_state
from avsvt.testing import make_tiny_corpus
from avsvt.train.datasets import AudioUtterances
from avsvt.train.loop import fit
from avsvt.train.losses import transcription_loss
from avsvt.train.settings import OptimConfig, TrainConfig
from avsvt.train.trainable import Trainable


class ToySpectrogramModel(torch.nn.Module):
    """|STFT| (n_fft 400, hop 320: 49.8 fps) -> Linear 'encoder' -> Linear head to 20 outputs."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = torch.nn.Linear(201, 64)
        self.head = torch.nn.Linear(64, 20)

    def forward(self, audio, lengths):
        spec = (
            torch.stft(
                audio, 400, 320, center=False, window=torch.hann_window(400), return_complex=True
            )
            .abs()
            .clamp_min(1e-5)
            .log()
            .transpose(1, 2)
        )
        frames = torch.div(lengths - 400, 320, rounding_mode="floor") + 1
        return self.head(torch.relu(self.encoder(spec))), frames


def toy_forward(model, batch):
    return model(batch.audio, batch.audio_lengths)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = make_tiny_corpus(
        tmp_path_factory.mktemp("loop") / "root", n_songs=9, duration_s=10.0, seed=1
    )
    songs = load_songs(root)
    train = [s for s in songs if s.split == "train"]
    valid = [s for s in songs if s.split == "valid"]
    return AudioUtterances(train), AudioUtterances(valid)


def trainable():
    torch.manual_seed(0)
    model = ToySpectrogramModel()
    return Trainable(
        model,
        list(model.head.parameters()),
        list(model.encoder.parameters()),
        forward=toy_forward,
        loss=transcription_loss,
        fps=49.8,
    )


CONFIG = TrainConfig(
    epochs=4,
    linear_probe_epochs=1,
    batch_size=2,
    eval_batch_size=2,
    optim=OptimConfig(head_lr=1.0, encoder_lr=1e-3),
    checkpoint_every_steps=1,
)


def test_loop_learns_logs_and_keeps_the_best(corpus, tmp_path):
    train, valid = corpus
    best = []
    result = fit(
        trainable(),
        train,
        valid,
        CONFIG,
        tmp_path,
        progress=False,
        on_best=lambda module, evaluation, epoch: best.append((epoch, evaluation.mean.COn.f1)),
    )
    assert len(result.history) == 4
    assert result.history[-1]["train_loss"] < 0.7 * result.history[0]["train_loss"]
    assert best and best[-1][0] == result.best_epoch
    assert (tmp_path / "log.csv").read_text().startswith("epoch,step,train_loss,valid_loss")


def test_linear_probing_leaves_the_encoder_untouched(corpus, tmp_path):
    train, valid = corpus
    t = trainable()
    before = t.module.encoder.weight.detach().clone()
    config = TrainConfig(epochs=1, linear_probe_epochs=1, batch_size=2, optim=CONFIG.optim)
    fit(t, train, valid, config, tmp_path, progress=False)
    assert torch.equal(before, t.module.encoder.weight)


def test_resume_after_a_crash_reaches_identical_weights(corpus, tmp_path):
    train, valid = corpus
    fit(trainable(), train, valid, CONFIG, tmp_path / "straight", progress=False)
    crashed = tmp_path / "crashed"
    fit(trainable(), train, valid, CONFIG, crashed, progress=False, stop_after_steps=5)
    assert load_training_state(crashed / "last.pt")["global_step"] == 5
    shutil.copy(crashed / "last.pt", tmp_path / "at_crash.pt")
    fit(trainable(), train, valid, CONFIG, crashed, progress=False)
    a = load_training_state(tmp_path / "straight" / "last.pt")
    b = load_training_state(crashed / "last.pt")
    assert a["global_step"] == b["global_step"]
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key
    assert a["history"] == b["history"]


def test_epoch_scalars_go_to_tensorboard_when_it_is_installed(corpus, tmp_path, monkeypatch):
    import avsvt.train.loop as loop

    written = []

    class Recorder:
        def __init__(self, log_dir):
            self.log_dir = log_dir

        def add_scalar(self, name, value, global_step):
            written.append((name, value, global_step))

        def flush(self):
            pass

        def close(self):
            written.append("closed")

    monkeypatch.setattr(loop, "_summary_writer", lambda run_dir: Recorder(run_dir / "tb"))
    train, valid = corpus
    config = TrainConfig(epochs=2, linear_probe_epochs=1, batch_size=2, optim=CONFIG.optim)
    result = fit(trainable(), train, valid, config, tmp_path, progress=False)
    assert written[-1] == "closed"
    losses = [(v, step) for name, v, step in written[:-1] if name == "valid_loss"]
    assert losses == [(row["valid_loss"], int(row["epoch"])) for row in result.history]
    assert {name for name, *_ in written[:-1]} >= {"train_loss", "valid_COnPOff", "head_lr"}


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_training_checkpoint_that_would_run_code_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "last.pt"
    torch.save({"model": {}, "epoch": 1, "payload": _RunsCode(marker)}, path)
    with pytest.raises(CheckpointError, match="cannot read training checkpoint") as info:
        load_training_state(path)
    assert not marker.exists()
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_a_truncated_training_checkpoint_is_a_one_line_error(tmp_path):
    path = tmp_path / "last.pt"
    torch.save({"model": {"w": torch.zeros(1000)}, "epoch": 1}, path)
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(CheckpointError, match="cannot read training checkpoint") as info:
        load_training_state(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


EMA_CONFIG = dataclasses.replace(CONFIG, epochs=1, linear_probe_epochs=0)


def test_the_kept_model_is_the_moving_average_of_the_weights_step_by_step(corpus, tmp_path):
    """Oracle: the weights after every step, read from last.pt one step at a time with EMA off
    (within one epoch it does not change training), averaged by the EMA recursion written out."""
    train, valid = corpus
    steps = []
    while True:
        fit(
            trainable(),
            train,
            valid,
            EMA_CONFIG,
            tmp_path / "plain",
            progress=False,
            stop_after_steps=1,
        )
        state = load_training_state(tmp_path / "plain" / "last.pt")
        if steps and state["global_step"] == steps[-1][0]:
            break
        steps.append((state["global_step"], state["model"]))
    assert len(steps) >= 3
    decay = 0.8
    average = {k: v.clone() for k, v in steps[0][1].items()}
    for _, weights in steps[1:]:
        average = {k: decay * average[k] + (1 - decay) * weights[k] for k in average}
    kept = {}
    config = dataclasses.replace(EMA_CONFIG, ema_decay=decay)
    result = fit(
        trainable(),
        train,
        valid,
        config,
        tmp_path / "ema",
        progress=False,
        on_best=lambda module, evaluation, epoch: kept.update(module.state_dict()),
    )
    assert result.best_epoch == 1
    last = load_training_state(tmp_path / "ema" / "last.pt")
    for key, weights in steps[-1][1].items():  # training itself is the same
        assert torch.equal(last["model"][key], weights), key
    for key, value in average.items():
        assert torch.allclose(kept[key], value, atol=1e-6), key
        assert not torch.allclose(kept[key], steps[-1][1][key], atol=1e-6), key


def test_resume_keeps_the_moving_average(corpus, tmp_path):
    train, valid = corpus
    config = dataclasses.replace(CONFIG, ema_decay=0.9)
    fit(trainable(), train, valid, config, tmp_path / "straight", progress=False)
    crashed = tmp_path / "crashed"
    fit(trainable(), train, valid, config, crashed, progress=False, stop_after_steps=5)
    fit(trainable(), train, valid, config, crashed, progress=False)
    a = load_training_state(tmp_path / "straight" / "last.pt")
    b = load_training_state(crashed / "last.pt")
    for key, value in a["ema"].items():
        assert torch.equal(value, b["ema"][key]), key
    assert a["history"] == b["history"]


@pytest.mark.parametrize("decay", [1.0, -0.1, float("nan")])
def test_an_ema_decay_outside_0_to_1_is_refused(decay):
    from avsvt.config import FieldError

    with pytest.raises(FieldError, match="ema_decay"):
        TrainConfig(ema_decay=decay)
