"""`avsvt run` end to end on the tiny config: outputs, reruns, changed settings, determinism."""

import csv
import hashlib
import json
import logging
import shutil
import subprocess
import warnings
from pathlib import Path

import mir_eval
import numpy as np
import pytest
import torch

from avsvt.cli import main
from avsvt.config import load_config
from avsvt.data.n20em import load_songs
from avsvt.models import load_model
from avsvt.recipes.config import GridConfig, RunConfig
from avsvt.recipes.grid import run_grid
from avsvt.recipes.pipeline import Run, run_pipeline

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
METRICS = {"COnPOff", "COnP", "COn", "COff"}


def tiny(out: Path, *overrides: str) -> RunConfig:
    return load_config(
        RunConfig, CONFIGS / "tiny.yaml", [f"out_dir={out}", "progress=false", *overrides]
    )


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "tiny"
    index = run_pipeline(tiny(out))
    return out, index


def test_the_run_writes_the_report(tiny_run):
    out, index = tiny_run
    report = index.parent
    assert index == out / "report" / "index.html"
    results = json.loads((report / "results.json").read_text())
    assert set(results) == {"A", "AV"}
    for system in results.values():
        assert list(system) == ["accomp"]
        assert list(system["accomp"]) == ["-10", "10", "clean"]
        for scores in system["accomp"].values():
            assert set(scores) == METRICS
    page = index.read_text()
    assert page.count('src="data:image/png;base64,') >= 2  # the figure and a piano roll
    assert "COnPOff" in page
    test_songs = {p.stem for p in (out / "stage2" / "AV" / "clean" / "test").glob("*.json")}
    assert test_songs and (report / "predictions").is_dir()
    assert len(list((report / "predictions").rglob("*.mid"))) == 6 * len(test_songs)


def mir_eval_f1(reference: list[list[float]], estimate: list[list[float]]) -> dict[str, float]:
    """The reference's scoring call (reference-system.md 3.3), straight through mir_eval."""
    if not estimate:
        return dict.fromkeys(METRICS, 0.0)  # the reference records 0 for a song without notes
    ref, est = np.array(reference, dtype=float), np.array(estimate, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = mir_eval.transcription.evaluate(
            ref[:, :2],
            mir_eval.util.midi_to_hz(ref[:, 2]),
            est[:, :2],
            mir_eval.util.midi_to_hz(est[:, 2]),
            onset_tolerance=0.05,
            pitch_tolerance=50.0,
        )
    keys = {
        "COnPOff": "F-measure",
        "COnP": "F-measure_no_offset",
        "COn": "Onset_F-measure",
        "COff": "Offset_F-measure",
    }
    return {metric: float(scores[key]) for metric, key in keys.items()}


def test_reported_scores_are_the_song_means_of_mir_eval_on_the_saved_predictions(tiny_run):
    out, index = tiny_run
    results = json.loads((index.parent / "results.json").read_text())
    annotations = json.loads((out / "corpus" / "annotations.json").read_text())
    test_songs = [song for song, entry in annotations.items() if entry["split"] == "test"]
    assert test_songs
    for system, per_type in results.items():
        for snr, scores in per_type["accomp"].items():
            folder = out / "stage2" / system / ("clean" if snr == "clean" else f"accomp_{snr}dB")
            per_song = [
                mir_eval_f1(
                    annotations[song]["midi"],
                    json.loads((folder / "test" / f"{song}.json").read_text()),
                )
                for song in test_songs
            ]
            expected = {m: float(np.mean([s[m] for s in per_song])) for m in METRICS}
            assert scores == pytest.approx(expected, abs=1e-12), (system, snr)
            # by construction a stricter match can only lose notes: the orders below must hold
            assert scores["COnPOff"] <= min(scores["COnP"], scores["COff"]) + 1e-12
            assert scores["COnP"] <= scores["COn"] + 1e-12


def test_stage2_models_are_complete_audio_visual_transcribers(tiny_run):
    out, _ = tiny_run
    av = load_model(out / "stage2" / "AV" / "accomp_-10dB" / "best.safetensors")
    audio = load_model(out / "stage1" / "audio" / "best.safetensors")
    video = load_model(out / "stage1" / "video" / "best.safetensors")
    assert av.modality == "audio_visual" and av.uses_video
    for name, value in audio.audio_encoder.state_dict().items():
        assert (av.audio_encoder.state_dict()[name] == value).all(), name
    for name, value in video.video_encoder.state_dict().items():
        assert (av.video_encoder.state_dict()[name] == value).all(), name


def test_a_second_run_skips_every_step(tiny_run, caplog):
    out, index = tiny_run
    before = (index.parent / "results.json").read_bytes()
    with caplog.at_level(logging.INFO, logger="avsvt.recipes.steps"):
        run_pipeline(tiny(out))
    skipped = [r for r in caplog.records if "done already, skipped" in r.getMessage()]
    assert len(skipped) == 8
    assert (index.parent / "results.json").read_bytes() == before


def test_a_changed_stage2_setting_reruns_stage2_and_the_report_only(tiny_run, tmp_path, caplog):
    out, _ = tiny_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    with caplog.at_level(logging.INFO, logger="avsvt.recipes.steps"):
        run_pipeline(tiny(copy, "stage2.train.epochs=1"))
    ran = [r.getMessage().split()[1] for r in caplog.records if "finished in" in r.getMessage()]
    assert ran == ["stage2", "report"]
    history = (copy / "stage2" / "A" / "clean" / "log.csv").read_text().splitlines()
    assert len(history) == 2  # header + the one epoch: the old folder was cleared


def test_a_changed_f0notes_setting_refits_the_tracker_only(tiny_run, tmp_path, caplog):
    out, _ = tiny_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    with caplog.at_level(logging.INFO, logger="avsvt.recipes.steps"):
        run_pipeline(tiny(copy, "f0notes.max_valid_s=1"))
    ran = [r.getMessage().split()[1] for r in caplog.records if "finished in" in r.getMessage()]
    assert ran == ["f0notes"]
    fitted_on = json.loads((copy / "f0notes" / "model.json").read_text())["fitted_on"]
    assert ": 1 valid songs" in fitted_on  # the cap stops after the first song


def test_the_same_seed_gives_identical_results(tiny_run, tmp_path):
    out, index = tiny_run
    again = run_pipeline(tiny(tmp_path / "again"))
    assert (again.parent / "results.json").read_bytes() == (
        index.parent / "results.json"
    ).read_bytes()
    for part in ("stage1/audio/best.safetensors", "stage2/AV/clean/best.safetensors"):
        first = load_model(out / part).state_dict()
        second = load_model(tmp_path / "again" / part).state_dict()
        assert first.keys() == second.keys()
        assert all(torch.equal(first[k], second[k]) for k in first), part


@pytest.mark.parametrize(
    "grid, cluster",
    [
        (GridConfig(backend="slurm", slurm_time_min=10, slurm_cpus_per_task=1), "local"),
        (GridConfig(backend="local", workers=2, threads_per_worker=1), None),
    ],
    ids=["submitit-job-array", "process-pool"],
)
def test_the_stage2_grid_runs_as_a_job_array_or_in_processes(tiny_run, tmp_path, grid, cluster):
    out, _ = tiny_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    redo = [copy / "stage2" / "AV" / "accomp_-10dB", copy / "stage2" / "A" / "clean"]
    for folder in redo:
        shutil.rmtree(folder)
    jobs = Run(tiny(copy)).jobs()
    run_grid(jobs, grid, slurm_folder=tmp_path / "slurm", cluster=cluster, progress=False)
    assert all(job.done for job in jobs)
    for folder in redo:
        scores = json.loads((folder / "scores.json").read_text())
        original = json.loads((out / folder.relative_to(copy) / "scores.json").read_text())
        assert scores["songs"].keys() == original["songs"].keys()
        assert scores == original  # same job, same seed: the same scores wherever it ran
    if cluster is not None:
        assert list((tmp_path / "slurm").glob("*_log.out"))  # submitit ran them


def test_the_run_fits_an_f0_note_tracker_that_transcribe_loads(tiny_run):
    from avsvt.data.audio import read_audio
    from avsvt.data.n20em import load_songs
    from avsvt.f0notes import transcribe_f0
    from avsvt.metrics import mean_scores, score_notes
    from avsvt.transcribe.api import F0NoteTracker
    from avsvt.transcribe.predictor import load_predictor

    out, _ = tiny_run
    model = out / "f0notes" / "model.json"
    tracker = load_predictor(model)
    assert isinstance(tracker, F0NoteTracker)
    body = json.loads(model.read_text())
    assert body["candidates"] == 1728
    test = [s for s in load_songs(out / "corpus") if s.split == "test"]
    scores = mean_scores(
        [
            score_notes(list(s.notes), transcribe_f0(read_audio(s.vocals_path), tracker.settings))
            for s in test
        ]
    )
    assert body["test_f1"]["COnPOff"] == pytest.approx(scores.COnPOff.f1)


def snapshot(root: Path) -> dict[str, tuple[str | None, int]]:
    """Every path under root: its bytes' sha256 (None for a folder) and modification time."""
    found = {}
    for path in sorted(root.rglob("*")):
        digest = None if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
        found[path.relative_to(root).as_posix()] = (digest, path.lstat().st_mtime_ns)
    return found


@pytest.mark.parametrize(
    "override, message",
    [
        ("audio.model.audio_encoder.n_mels=sixteen", "audio.model.audio_encoder.n_mels: expected"),
        ("audio.preset=huge", "audio.preset: unknown model preset 'huge'"),
        ("video.model.video_encoder.checkpoint_path=/no/such.pt", "checkpoint file not found"),
        ("audio.train.optim.head_lr=.nan", "audio.train.optim.head_lr: must be a finite number"),
        ("stage2.train.batch_size=0", "stage2.train.batch_size: must be at least 1, not 0"),
        ("audio.train.epochs=-1", "audio.train.epochs: must be at least 1, not -1"),
    ],
)
def test_a_bad_setting_leaves_a_copied_finished_run_byte_for_byte(
    tiny_run, tmp_path, capsys, override, message
):
    # cp -a RUN x && avsvt run configs/tiny.yaml --set out_dir=x --set <bad setting>
    out, _ = tiny_run
    copy = tmp_path / "x"
    subprocess.run(["cp", "-a", str(out), str(copy)], check=True)
    before = snapshot(copy)
    code = main(["run", str(CONFIGS / "tiny.yaml"), "--set", f"out_dir={copy}", "--set", override])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith(f"avsvt: error: {CONFIGS / 'tiny.yaml'}: ") and message in err
    assert snapshot(copy) == before  # best.safetensors, last.pt, log.csv, settings: all kept


def test_a_users_file_in_a_finished_stage_folder_stops_a_changed_setting(
    tiny_run, tmp_path, capsys
):
    out, _ = tiny_run
    copy = tmp_path / "x"
    subprocess.run(["cp", "-a", str(out), str(copy)], check=True)
    (copy / "stage2" / "AV" / "notes.md").write_text("what I saw in these runs\n")
    before = snapshot(copy)
    overrides = ["--set", f"out_dir={copy}", "--set", "stage2.train.epochs=1"]
    assert main(["run", str(CONFIGS / "tiny.yaml"), *overrides]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        f"avsvt: error: {copy / 'stage2'}: holds 1 file(s) avsvt did not write or that changed "
        "since it wrote them (AV/notes.md); avsvt leaves them alone: move them out of the run "
        "folder and rerun"
    )
    assert snapshot(copy) == before


def test_stage2_trains_a_condition_on_a_pool_of_noises_and_tests_it_on_its_own(tmp_path):
    """stage2.train_types=[white]: white's features are extracted, the accompaniment systems
    train on both noises (twice the utterances per epoch) and are scored on accompaniment."""
    import math

    from avsvt.recipes.features import feature_path
    from avsvt.recipes.stage1 import split_songs
    from avsvt.train.datasets import FeatureUtterances

    out = tmp_path / "pooled"
    config = tiny(out, "noise.snrs_db=[-10]", "stage2.train_types=[white]")
    run_pipeline(config)
    songs = load_songs(out / "corpus")
    for song in songs:
        for stream in ("clean", "accomp_-10dB", "white_-10dB"):
            assert feature_path(out / "features", song.song_id, stream).is_file()
    train = split_songs(songs, "train")
    n_items = len(
        FeatureUtterances(
            train,
            audio_feature_path=lambda s: feature_path(out / "features", s.song_id, "clean"),
        )
    )
    batch = config.stage2.train.batch_size
    for condition, pooled in (("clean", 1), ("accomp_-10dB", 2)):
        with open(out / "stage2" / "AV" / condition / "log.csv") as log:
            first_epoch = next(csv.DictReader(log))
        assert float(first_epoch["step"]) == math.ceil(pooled * n_items / batch), condition
    assert not (out / "stage2" / "AV" / "white_-10dB").exists()  # white is not tested
    results = json.loads((out / "report" / "results.json").read_text())
    assert "white" not in json.dumps(results)
