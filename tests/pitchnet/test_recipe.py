"""``avsvt run`` of a default-model recipe, end to end on a tiny config, and the shipped model."""

from pathlib import Path

import numpy as np
import pytest
import torch

from avsvt.cli import main
from avsvt.metrics import score_notes
from avsvt.notes import Note
from avsvt.pitchnet.data import render_stems
from avsvt.pitchnet.route import SoloRouted
from avsvt.pitchnet.track import PitchNetTracker
from avsvt.transcribe.predictor import DEFAULT_MODEL, F0NoteTracker, load_predictor
from tiny_pitchnet import write_tiny_recipe


def test_avsvt_run_trains_a_model_that_transcribe_loads_and_a_rerun_skips(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_tiny_recipe(tmp_path / "tiny.yaml", tmp_path / "run")
    assert main(["run", str(config)]) == 0
    model = tmp_path / "run" / "model" / "model.safetensors"
    assert f"default model: {model.resolve()}" in capsys.readouterr().out
    tracker = load_predictor(model)
    assert isinstance(tracker, PitchNetTracker)
    assert tracker.info["recipe"]["steps"] == 3
    assert (tmp_path / "run" / "model" / "results.json").exists()
    before = model.stat().st_mtime_ns
    assert main(["run", str(config)]) == 0  # done: nothing is redone
    assert model.stat().st_mtime_ns == before


def test_a_run_fitted_by_an_older_fit_is_refitted_not_retrained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    import avsvt.pitchnet.recipe as recipe
    import avsvt.pitchnet.train as train

    config = write_tiny_recipe(tmp_path / "tiny.yaml", tmp_path / "run")
    with monkeypatch.context() as patch:  # a run finished by the fit before the current one
        patch.setattr(recipe, "FIT_VERSION", 0)
        patch.setattr(train, "FIT_VERSION", 0)
        assert main(["run", str(config)]) == 0
    folder = tmp_path / "run" / "model"
    old = load_predictor(folder / "model.safetensors")
    assert isinstance(old, PitchNetTracker) and old.info["fit_version"] == 0
    trained = {
        p.name: p.stat().st_mtime_ns for p in folder.iterdir() if p.suffix in {".pt", ".csv"}
    }
    assert main(["run", str(config)]) == 0
    new = load_predictor(folder / "model.safetensors")
    assert isinstance(new, PitchNetTracker) and new.info["fit_version"] == train.FIT_VERSION
    assert trained and all(
        (folder / name).stat().st_mtime_ns == t for name, t in trained.items()
    )  # not retrained
    for a, b in zip(old.model.state_dict().values(), new.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    results = json.loads((folder / "results.json").read_text())
    assert results["info"]["fit_version"] == train.FIT_VERSION
    assert results["decode"]["salience_weight"] == new.salience_weight
    assert set(new.info["valid_COnPOff_by_salience_weight"]) == {"0"}  # the voicing head
    before = (folder / "model.safetensors").stat().st_mtime_ns
    assert main(["run", str(config)]) == 0  # now current: nothing is redone
    assert (folder / "model.safetensors").stat().st_mtime_ns == before


def test_the_f0_tracker_is_there_by_name() -> None:
    assert isinstance(load_predictor("f0"), F0NoteTracker)


@pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="no default model shipped")
def test_the_shipped_default_model_finds_a_generated_song_under_accompaniment() -> None:
    """A song of seeds the recipe never draws, its band at 0 dB: the planned notes are found."""
    torch.set_num_threads(2)
    default = load_predictor(None)
    assert isinstance(default, SoloRouted)
    tracker = default.network
    stems = render_stems(seed=987_654_321, duration_s=12.0)
    voice_rms = np.sqrt(np.mean(stems.vocals.astype(np.float64) ** 2))
    band_rms = np.sqrt(np.mean(stems.band.astype(np.float64) ** 2))
    mix = (stems.vocals + stems.band * (voice_rms / band_rms)).astype(np.float32)
    reference = [Note(float(a), float(b), float(p)) for a, b, p in stems.notes]
    clean = score_notes(reference, tracker.transcribe(stems.vocals))
    mixed = score_notes(reference, tracker.transcribe(mix))
    assert clean.COnP.f1 >= 0.6, clean
    assert mixed.COnP.f1 >= 0.4, mixed
