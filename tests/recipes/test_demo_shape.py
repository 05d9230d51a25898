"""The demo reproduces the reference's finding (slow: the whole demo, about 8 minutes)."""

import json
from pathlib import Path

import pytest

from avsvt.config import load_config
from avsvt.recipes.config import RunConfig
from avsvt.recipes.pipeline import run_pipeline

DEMO = Path(__file__).resolve().parents[2] / "configs" / "demo.yaml"


@pytest.mark.slow
def test_video_rescues_onsets_under_loud_accompaniment(tmp_path):
    config = load_config(RunConfig, DEMO, [f"out_dir={tmp_path}", "progress=false"])
    index = run_pipeline(config)
    results = json.loads((index.parent / "results.json").read_text())
    a, av = results["A"]["accomp"], results["AV"]["accomp"]
    gap = {snr: av[snr]["COn"] - a[snr]["COn"] for snr in a}
    assert gap["-10"] >= 0.20  # AV's COn at least 20 points above A's at -10 dB
    assert gap["-10"] > gap["0"] > gap["10"]  # the gap shrinks as the SNR rises
    assert abs(gap["clean"]) <= 0.05  # clean results are close
    # the built-in transcription's settings are exactly what the demo's f0notes step fits
    from dataclasses import asdict

    from avsvt.f0notes import F0NoteSettings

    fitted = json.loads((tmp_path / "f0notes" / "model.json").read_text())["settings"]
    assert fitted == asdict(F0NoteSettings())
