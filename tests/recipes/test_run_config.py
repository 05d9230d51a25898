"""Run configs: the shipped YAML files load and describe buildable models; mistakes stop early."""

from pathlib import Path

import pytest

from avsvt.cli import main
from avsvt.config import load_config
from avsvt.errors import ConfigError
from avsvt.models import configure
from avsvt.recipes.config import RunConfig
from avsvt.recipes.stage2 import fused_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.mark.parametrize("name", ["demo", "tiny", "n20emv2"])
def test_shipped_configs_load_and_their_models_configure(name):
    config = load_config(RunConfig, CONFIGS / f"{name}.yaml")
    audio = configure(config.audio.preset, "audio", config.audio.model)
    video = configure(config.video.preset, "video", config.video.model)
    fused = fused_config(audio, video, config.stage2.fusion)
    assert fused.modality == "audio_visual" and fused.d_model == audio.d_model
    assert fused.audio_encoder == audio.audio_encoder
    assert fused.video_encoder == video.video_encoder


def test_the_reference_config_points_at_local_pretrained_models():
    config = load_config(RunConfig, CONFIGS / "n20emv2.yaml")
    audio = configure(config.audio.preset, "audio", config.audio.model)
    assert audio.audio_encoder.kind == "hf_ssl" and audio.audio_encoder.hf_path
    assert audio.d_model == 1024 and audio.audio_encoder.norm == "batch"
    assert config.noise.types == ("accomp", "white", "babble", "natural")
    assert config.stage2.train.optim.head_lr == pytest.approx(3e-3)
    assert config.audio.train.linear_probe_epochs == 2


def test_a_bad_model_change_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown"):
        configure("cpu", "audio", {"audio_encoder": {"dimension": 3}})


@pytest.mark.parametrize(
    "override, message",
    [
        ("stage2.trian.epochs=3", "unknown key 'stage2.trian'"),
        ("audio.train.epochs=many", "expected an integer"),
        ("noise.types=[thunder]", "unknown type"),
    ],
)
def test_avsvt_run_rejects_bad_settings_in_one_line(tmp_path, capsys, override, message):
    code = main(
        ["run", str(CONFIGS / "tiny.yaml"), "--set", f"out_dir={tmp_path}", "--set", override]
    )
    err = capsys.readouterr().err.strip()
    assert code == 1 and message in err and "Traceback" not in err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "steps").exists()


def test_a_second_run_on_the_same_folder_stops_at_once(tmp_path, capsys):
    from avsvt.data.lock import run_lock

    with run_lock(tmp_path):
        code = main(["run", str(CONFIGS / "tiny.yaml"), "--set", f"out_dir={tmp_path}"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and "another avsvt run" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "steps").exists()
