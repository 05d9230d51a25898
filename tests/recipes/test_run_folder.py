"""`avsvt run` never destroys what it did not write, and checks every setting before clearing.

Issue 15, items 1, 2, 7, 10, 11, 12 and 19 (docs/bad-inputs.md): each case goes through the CLI
and the user's files are compared byte for byte (and by modification time) afterwards.
"""

import hashlib
import importlib.util
import json
import os
from pathlib import Path

import pytest
import torch

from avsvt.cli import main
from avsvt.config import load_config, to_dict
from avsvt.errors import OutputExistsError
from avsvt.recipes.config import RunConfig
from avsvt.recipes.pipeline import _older_run
from avsvt.recipes.steps import RUN_RECORD, check_run_folder, claim_run_folder, fresh_dir, seal_dir

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "tiny.yaml"


def snapshot(root: Path) -> dict[str, tuple[str | None, int]]:
    """Every path under root: its bytes' sha256 (None for a folder) and modification time."""
    found = {}
    for path in sorted(root.rglob("*")):
        digest = None if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
        found[path.relative_to(root).as_posix()] = (digest, path.lstat().st_mtime_ns)
    return found


def avsvt_run(capsys, *args: str) -> tuple[int, str]:
    code = main(["run", *args])
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    return code, err


def finished_run(out: Path) -> Path:
    """A run folder as earlier settings left it: avsvt's record, config, sealed stage folders."""
    claim_run_folder(out)
    config = load_config(RunConfig, CONFIG, [f"out_dir={out}"])
    (out / "config.json").write_text(json.dumps(to_dict(config), indent=2) + "\n")
    for folder, files in {
        "stage1/audio": ["best.safetensors", "last.pt", "log.csv"],
        "stage1/video": ["best.safetensors", "last.pt", "log.csv"],
        "features": ["song000/clean.npy", "song000/video.npy"],
        "stage2": ["A/clean/best.safetensors", "A/clean/log.csv", "A/clean/scores.json"],
    }.items():
        fresh_dir(out / folder, {"earlier": "settings"})
        for name in files:
            (out / folder / name).parent.mkdir(parents=True, exist_ok=True)
            (out / folder / name).write_bytes(f"finished {folder}/{name}".encode())
        seal_dir(out / folder)
    return out


# --- item 1: a folder avsvt did not write ----------------------------------------------------


def test_the_issues_user_features_folder_is_refused_and_kept_byte_for_byte(tmp_path, capsys):
    # mkdir -p p/features && echo x > p/features/mine.txt && avsvt run tiny.yaml --set out_dir=p
    out = tmp_path / "p"
    (out / "features").mkdir(parents=True)
    (out / "features" / "mine.txt").write_text("x\n")
    before = snapshot(out)
    code, err = avsvt_run(capsys, str(CONFIG), "--set", f"out_dir={out}")
    assert code == 1 and len(err.splitlines()) == 1
    assert err == (
        f"avsvt: error: {out}: not an avsvt run folder: it holds features, which avsvt did not "
        "write; avsvt leaves it alone: give out_dir a new or empty folder"
    )
    assert snapshot(out) == before  # no lock, no record, no config.json: nothing added either


@pytest.mark.parametrize(
    "files",
    [
        {"stage1/audio/last.pt": b"my weights", "stage2/A/notes.txt": b"mine"},
        {"config.json": b'{"mine": true}\n', "data/song.wav": b"RIFF"},
        {"report": b"a file named like a stage folder"},
    ],
    ids=["stage-folders", "my-project", "a-file"],
)
def test_a_non_empty_folder_that_is_no_avsvt_run_is_refused_untouched(tmp_path, capsys, files):
    out = tmp_path / "mine"
    for name, data in files.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    before = snapshot(out)
    code, err = avsvt_run(capsys, str(CONFIG), "--set", f"out_dir={out}")
    assert code == 1 and len(err.splitlines()) == 1 and "not an avsvt run folder" in err
    assert snapshot(out) == before


def test_an_empty_out_dir_is_refused_rather_than_taken_for_the_working_directory(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "stage2").mkdir()
    (tmp_path / "stage2" / "thesis.tex").write_text("years of work\n")
    config = tmp_path / "run.yaml"
    config.write_text(CONFIG.read_text().replace("out_dir: runs/tiny", 'out_dir: ""'))
    before = snapshot(tmp_path)
    code, err = avsvt_run(capsys, str(config))
    assert code == 1 and err == (
        f"avsvt: error: {config}: out_dir: is empty (that would be the working directory); "
        "name the run folder"
    )
    assert snapshot(tmp_path) == before


def test_an_out_dir_that_is_a_file_is_refused_untouched(tmp_path, capsys):
    out = tmp_path / "results"
    out.write_text("a file\n")
    code, err = avsvt_run(capsys, str(CONFIG), "--set", f"out_dir={out}")
    assert code == 1 and f"{out}: is not a folder" in err
    assert out.read_text() == "a file\n"


def test_a_users_folder_inside_an_avsvt_run_is_refused_before_any_step(tmp_path, capsys):
    out = tmp_path / "run"
    claim_run_folder(out)  # an avsvt run folder, where the user made stage1/audio themselves
    (out / "stage1" / "audio").mkdir(parents=True)
    (out / "stage1" / "audio" / "mine.txt").write_text("x\n")
    before = snapshot(out)
    code, err = avsvt_run(capsys, str(CONFIG), "--set", f"out_dir={out}")
    assert code == 1 and len(err.splitlines()) == 1
    assert f"{out / 'stage1' / 'audio'}: holds mine.txt but no avsvt settings record" in err
    assert snapshot(out) == before  # no step ran: no corpus, no steps/, no config.json


def test_a_file_added_to_a_finished_stage_folder_is_not_cleared_with_it(tmp_path, capsys):
    out = finished_run(tmp_path / "run")
    (out / "stage2" / "A" / "clean" / "my-analysis.ipynb").write_text("{}\n")
    before = snapshot(out)
    code, err = avsvt_run(capsys, str(CONFIG), "--set", f"out_dir={out}")
    assert code == 1 and len(err.splitlines()) == 1
    assert "avsvt did not write or that changed since it wrote them" in err
    assert "A/clean/my-analysis.ipynb" in err
    assert snapshot(out) == before


def test_a_run_folder_of_an_older_avsvt_is_recognised_by_its_config_record(tmp_path):
    out = tmp_path / "old"
    out.mkdir()
    config = load_config(RunConfig, CONFIG, [f"out_dir={out}"])
    (out / "config.json").write_text(json.dumps(to_dict(config)))
    (out / "stage2").mkdir()
    check_run_folder(out, adopt=_older_run)
    (out / "config.json").write_text('{"name": "my project", "out_dir": "x"}')
    with pytest.raises(OutputExistsError, match="not an avsvt run folder"):
        check_run_folder(out, adopt=_older_run)
    assert not (out / RUN_RECORD).exists()


# --- items 2, 10, 12: every setting checked before anything is cleared ---------------------------


BAD_SETTINGS = [
    ("audio.model.audio_encoder.n_mels=sixteen", "audio.model.audio_encoder.n_mels: expected an"),
    ("audio.preset=huge", "audio.preset: unknown model preset 'huge'"),
    ("audio.train.optim.head_lr=.nan", "audio.train.optim.head_lr: must be a finite number"),
    ("video.train.optim.encoder_lr=-1", "video.train.optim.encoder_lr: must be above 0"),
    ("stage2.train.batch_size=0", "stage2.train.batch_size: must be at least 1, not 0"),
    ("audio.train.epochs=-1", "audio.train.epochs: must be at least 1, not -1"),
    ("stage2.train.grad_accum=0", "stage2.train.grad_accum: must be at least 1"),
    ("stage2.train.eval_batch_size=0", "stage2.train.eval_batch_size: must be at least 1"),
    ("audio.accomp_mix.probability=2", "audio.accomp_mix.probability: must be at most 1"),
    ("features.batch_size=0", "features.batch_size: must be at least 1"),
    ("stage2.fusion.n_heads=0", "stage2.fusion.n_heads: must not be 0"),
    ("audio.model.audio_encoder.dim=-4", "audio.model: the model does not build (RuntimeError"),
    ("noise.snrs_db=[]", "noise.snrs_db: is empty"),
    ("report.piano_snr_db=3", "report.piano_snr_db: 3 is not one of noise.snrs_db"),
    ("stage2.systems=[AV, AV]", "stage2.systems: 'AV' is listed twice"),
    ("corpus.n_songs=2", "corpus.n_songs: a corpus needs at least 3 songs"),
    ("threads=-2", "threads: must be at least 0"),
    ("f0notes.max_valid_s=.nan", "f0notes.max_valid_s: must be a finite number"),
    ("video.model.video_encoder.checkpoint_path={tmp}/missing.pt", "checkpoint file not found"),
    ("video.model.video_encoder.checkpoint_path={tmp}/evil.pt", "not a zip checkpoint"),
    ("corpus.root={tmp}/nowhere", "corpus.root: "),
    ("stage2.grid.backend=slurm", "stage2.grid.backend: slurm needs the optional package"),
]


@pytest.mark.parametrize("override, message", BAD_SETTINGS, ids=[b[0][:40] for b in BAD_SETTINGS])
def test_a_bad_setting_stops_the_run_before_any_step_with_the_finished_run_unchanged(
    tmp_path, capsys, override, message
):
    if "backend=slurm" in override and importlib.util.find_spec("submitit") is not None:
        pytest.skip("submitit is installed here: Slurm is a valid choice")
    out = finished_run(tmp_path / "x")
    (tmp_path / "evil.pt").write_bytes(b"\x80\x04cos\nsystem\n.")  # a pickle, not a checkpoint
    before = snapshot(out)
    override = override.replace("{tmp}", str(tmp_path))
    code, err = avsvt_run(capsys, str(CONFIG), "--set", f"out_dir={out}", "--set", override)
    assert code == 1 and len(err.splitlines()) == 1, err
    assert err.startswith(f"avsvt: error: {CONFIG}: ") and message in err
    if "checkpoint_path" in override:
        assert "video.model.video_encoder.checkpoint_path: " in err
    assert snapshot(out) == before


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
def test_device_cuda_without_one_stops_before_anything(tmp_path, capsys):
    out = finished_run(tmp_path / "x")
    before = snapshot(out)
    code, err = avsvt_run(capsys, str(CONFIG), "--set", f"out_dir={out}", "--set", "device=cuda")
    assert code == 1 and f"{CONFIG}: device: cuda, but torch sees no CUDA device" in err
    assert snapshot(out) == before


# --- items 7, 11, 19: what YAML may hold; every message names the file ----------------------------


def test_a_duplicate_key_in_a_run_config_is_refused_naming_key_and_lines(tmp_path, capsys):
    config = tmp_path / "run.yaml"
    config.write_text(
        f"out_dir: {tmp_path / 'run'}\naudio:\n  train:\n    epochs: 30\n    batch_size: 4\n"
        "    epochs: 3\n"
    )
    code, err = avsvt_run(capsys, str(config))
    assert code == 1 and err == (
        f"avsvt: error: {config}: duplicate key 'audio.train.epochs' at line 6 (first at line 4): "
        "YAML would keep only the last one; give it once"
    )
    assert not (tmp_path / "run").exists()


def test_an_alias_bomb_in_a_dict_field_is_refused_at_once(tmp_path, capsys):
    levels = ['        l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    levels += [f"        l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 12)]
    config = tmp_path / "bomb.yaml"
    config.write_text(
        f"out_dir: {tmp_path / 'run'}\naudio:\n  model:\n    audio_encoder:\n      hf_config:\n"
        + "\n".join(levels)
        + "\n"
    )
    code, err = avsvt_run(capsys, str(config))
    assert code == 1 and len(err.splitlines()) == 1
    assert f"{config}: audio.model.audio_encoder.hf_config.l" in err
    assert "expands to more than 20,000 values" in err
    assert not (tmp_path / "run").exists()


LOAD_ERRORS = [
    "stage2.fusion.kind=sum",
    "stage2.fusion.n_heads=5",
    "stage2.fusion.n_heads=0",
    "stage2.fusion.headz=1",
    "audio.model.fusion=null",
    "audio.model.audio_encoder.dim=33",
    "video.model.video_encoder.downsample=0",
    "video.preset=huge",
    "stage2.systems=[]",
    "stage2.grid.workers=0",
    "workers=0",
    "noise.types=[thunder]",
    "noise.types=[accomp, accomp]",
    "audio.accomp_mix.snr_db=[20, 0]",
    "corpus.seed=-1",
    "out_dir=' '",
    "stage2.grid.slurm_folder=''",
    "audio.model.audio_encoder.hf_config={a: 1, a: 2}",
    "audio.model.audio_encoder.hf_config={when: 2024-01-01}",
]


@pytest.mark.parametrize("override", LOAD_ERRORS)
def test_every_error_of_loading_a_run_config_names_the_yaml_file(tmp_path, capsys, override):
    out = tmp_path / "run"
    code, err = avsvt_run(capsys, str(CONFIG), "--set", f"out_dir={out}", "--set", override)
    assert code == 1 and len(err.splitlines()) == 1
    assert err.startswith(f"avsvt: error: {CONFIG}: ")
    assert "<config>" not in err and "<run config>" not in err
    assert not out.exists()


def test_a_healthy_config_still_loads_and_a_fresh_folder_is_claimed(tmp_path):
    out = tmp_path / "new"
    config = load_config(RunConfig, CONFIG, [f"out_dir={out}"])
    assert config.out_dir == str(out)
    claim_run_folder(out)
    assert json.loads((out / RUN_RECORD).read_text())["avsvt"] == "avsvt run folder"
    assert os.listdir(out) == [RUN_RECORD]
