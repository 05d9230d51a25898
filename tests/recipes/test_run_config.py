"""Run configs: the shipped YAML files load and describe buildable models; mistakes stop early."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from avsvt.cli import main
from avsvt.config import load_config
from avsvt.errors import ConfigError
from avsvt.models import configure
from avsvt.recipes.config import RunConfig, fused_config

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


def test_loading_a_run_config_imports_no_torch():
    # what `avsvt run` does first (avsvt.recipes.commands), in a fresh interpreter
    script = (
        "import json, sys\n"
        "from avsvt.config import load_config\n"
        "from avsvt.recipes.config import RunConfig\n"
        "config = load_config(RunConfig, sys.argv[1])\n"
        "models = sorted(config.model_configs())\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, 'models': models}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(CONFIGS / "demo.yaml")],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert json.loads(done.stdout) == {"torch": False, "models": ["audio", "stage2", "video"]}


def test_avsvt_run_stops_on_a_bad_model_setting_without_importing_torch(tmp_path):
    script = (
        "import sys\n"
        "from avsvt.cli import main\n"
        "code = main(['run', sys.argv[1], '--set', 'audio.model.audio_encoder.dimm=3',\n"
        "             '--set', 'out_dir=' + sys.argv[2]])\n"
        "print(code, 'torch' in sys.modules)\n"
    )
    out = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-c", script, str(CONFIGS / "tiny.yaml"), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.split() == ["1", "False"], done.stderr
    assert "audio.model.audio_encoder.dimm" in done.stderr and not out.exists()


@pytest.mark.parametrize(
    "override, key",
    [
        ("audio.model.audio_encoder.dimm=3", "'audio.model.audio_encoder.dimm'"),
        ("video.model.video_encoder.dim=wide", "video.model.video_encoder.dim:"),
        ("audio.model.audio_encoder.dim=33", "audio.model: audio_encoder: dim 33"),
        ("stage2.fusion.headz=2", "'stage2.fusion.headz'"),
        ("stage2.fusion.kind=sum", "stage2.fusion.kind:"),
        ("stage2.fusion.n_heads=5", "stage2.fusion: d_model must be divisible"),
        ("video.preset=huge", "video.preset: unknown model preset 'huge'"),
    ],
)
def test_a_bad_model_or_fusion_setting_stops_the_run_before_anything(
    tmp_path, capsys, override, key
):
    out = tmp_path / "run"
    code = main(["run", str(CONFIGS / "tiny.yaml"), "--set", override, "--set", f"out_dir={out}"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert f"{CONFIGS / 'tiny.yaml'}: " in err and key in err
    assert not out.exists()  # no step ran, no folder was made


def test_an_unknown_preset_in_the_file_names_the_file_and_key(tmp_path, capsys):
    config = tmp_path / "mine.yaml"
    config.write_text(f"out_dir: {tmp_path / 'run'}\naudio:\n  preset: huge\n")
    assert main(["run", str(config)]) == 1
    err = capsys.readouterr().err.strip()
    assert f"{config}: audio.preset: unknown model preset 'huge'" in err
    assert not (tmp_path / "run").exists()


def test_a_bad_setting_leaves_an_existing_run_folder_untouched(tmp_path, capsys):
    out = tmp_path / "run"
    (out / "stage1" / "audio").mkdir(parents=True)
    (out / "stage1" / "audio" / "last.pt").write_bytes(b"weights")
    before = sorted((p.relative_to(out), p.stat().st_mtime_ns) for p in out.rglob("*"))
    override = "stage2.fusion.kindd=concat"
    assert main(["run", str(CONFIGS / "tiny.yaml"), "--set", override, "--set", f"out_dir={out}"])
    assert "'stage2.fusion.kindd'" in capsys.readouterr().err
    assert sorted((p.relative_to(out), p.stat().st_mtime_ns) for p in out.rglob("*")) == before


def test_checks_across_keys_name_the_file_too(tmp_path, capsys):
    overrides = ["--set", "stage2.systems=[]", "--set", f"out_dir={tmp_path / 'run'}"]
    assert main(["run", str(CONFIGS / "tiny.yaml"), *overrides]) == 1
    err = capsys.readouterr().err.strip()
    assert f"{CONFIGS / 'tiny.yaml'}: stage2.systems" in err
