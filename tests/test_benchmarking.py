import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from avsvt.data.audio import write_audio
from avsvt.metrics import score_notes
from avsvt.models import Transcriber, preset, save_model
from avsvt.noise.mixing import measured_snr_db
from avsvt.notefiles import write_notes
from avsvt.notes import Note
from avsvt.testing import make_tiny_corpus, synth_vocal
from harness import (
    BASIC_PITCH,
    BUILT_IN,
    AccuracyRow,
    BenchInput,
    accuracy_rows,
    accuracy_table,
    all_systems,
    choose,
    condition_table,
    measure_in_subprocess,
    replace_section,
    speed_table,
    with_noise,
)

HARNESS = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"
NOTES = [Note(0.2, 0.7, 60), Note(0.8, 1.4, 64)]


def needs_peers() -> None:
    """Skip unless the benchmark peers (the 'bench' extra and basic-pitch) are installed."""
    for module in ("librosa", "onnxruntime", "basic_pitch"):
        pytest.importorskip(module, reason="the benchmark peers are not installed")


def test_accuracy_rows_score_and_time_each_system_on_each_reference():
    audio = synth_vocal(NOTES, 24000)
    systems = {BUILT_IN: all_systems()[BUILT_IN]}
    rows = accuracy_rows(systems, {"clip": BenchInput(audio, {"A1": NOTES, "A2": NOTES[:1]})})
    assert [(row.system, row.reference) for row in rows] == [(BUILT_IN, "A1"), (BUILT_IN, "A2")]
    table = accuracy_table(rows).splitlines()
    assert len(table) == 2 + 2 and table[0].count("|") == 8
    assert all(row.real_time_factor > 0 for row in rows)
    assert rows[0].scores.COnPOff.f1 == 1.0  # clean harmonic tones: every note exact
    assert rows[1].scores.COnPOff.precision == 0.5  # A2 has only the first note


@pytest.mark.slow  # runs the peers
def test_accuracy_table_has_a_row_per_system_and_reference():
    needs_peers()
    audio = synth_vocal(NOTES, 24000)
    rows = accuracy_rows(all_systems(), {"clip": BenchInput(audio, {"A1": NOTES, "A2": NOTES[:1]})})
    # ours (the default, its network alone, the f0 tracker) and two peers, two references each
    assert len(rows) == 10
    table = accuracy_table(rows).splitlines()
    assert len(table) == 2 + 10 and table[0].count("|") == 8
    assert all(row.real_time_factor > 0 for row in rows)
    ours = [row for row in rows if row.system == BUILT_IN]
    assert ours[0].scores.COnPOff.f1 == 1.0  # clean harmonic tones: every note exact


def test_condition_table_puts_conditions_in_columns_and_published_rows_last():
    perfect, half = score_notes(NOTES, NOTES), score_notes(NOTES, NOTES[:1])
    table = condition_table(
        {
            "0 dB": [AccuracyRow("s", "r", half, 1.0)],
            "clean": [AccuracyRow("s", "r", perfect, 1.0), AccuracyRow("t", "r", half, 1.0)],
        },
        "COn",
        published={"paper A": [50.0, None]},
    ).splitlines()
    assert table[0] == "| COn: system | reference | 0 dB | clean |"
    assert table[2] == f"| s | r | {100 * half.COn.f1:.1f} | 100.0 |"
    assert table[3] == f"| t | r | - | {100 * half.COn.f1:.1f} |"  # not run at 0 dB
    assert table[4] == "| *paper A* | *published, other data* | 50.0 | - |"


def test_tuning_chooses_the_best_setting_and_the_first_on_ties():
    cached = [(NOTES, NOTES)]

    def keep(notes, n):
        return notes[:n]

    assert choose(cached, keep, [1, 2]) == (2, 1.0)
    assert choose(cached, keep, [3, 2]) == (3, 1.0)
    setting, f1 = choose(cached, keep, [0, 1])
    assert setting == 1 and f1 == pytest.approx(score_notes(NOTES, NOTES[:1]).COnPOff.f1)


@pytest.mark.parametrize("snr_db", [-10, 0, 10])
def test_noise_is_tiled_to_the_recording_and_mixed_at_the_snr(rng, snr_db):
    audio = synth_vocal(NOTES, 24000)
    noise = (0.1 * rng.standard_normal(5000)).astype(np.float32)  # shorter than the audio
    noisy = with_noise({"clip": BenchInput(audio, {"A1": NOTES})}, noise, snr_db)["clip"]
    assert len(noisy.audio) == len(audio) and noisy.references["A1"] == NOTES
    assert measured_snr_db(audio, noisy.audio) == pytest.approx(snr_db, abs=0.05)


@pytest.mark.slow  # times subprocesses, one of them basic-pitch
def test_speed_is_measured_in_a_subprocess_and_compared_with_the_baseline():
    needs_peers()
    row = measure_in_subprocess(BASIC_PITCH, 3.0)
    assert row.seconds > 0 and row.peak_rss_mb > 50
    ours = measure_in_subprocess(BUILT_IN, 3.0)
    table = speed_table([row, ours], baseline=BASIC_PITCH)
    assert table.splitlines()[-2].endswith("| 1.00 |")
    assert f"{row.seconds / ours.seconds:.2f}" in table.splitlines()[-1]


def test_sections_are_replaced_in_place():
    doc = "# B\n\nhand text\n"
    doc = replace_section(doc, "x", "one")
    doc = replace_section(doc, "x", "two")
    assert "one" not in doc and "two" in doc and "hand text" in doc
    assert doc.count("<!-- harness:x -->") == 1


def fake_demo_run(run: Path) -> None:
    """A tiny corpus, random tiny A and AV models for clean and 0 dB, step timings and logs."""
    make_tiny_corpus(run / "corpus", n_songs=6, duration_s=2.5, seed=3)
    for system, modality in (("A", "audio"), ("AV", "audio_visual")):
        for condition in ("clean", "accomp_0dB"):
            model = Transcriber(preset("tiny", modality))
            save_model(model, run / "stage2" / system / condition / "best.safetensors")
    (run / "config.json").write_text(json.dumps({"noise": {"types": ["accomp"], "snrs_db": [0]}}))
    (run / "steps").mkdir()
    for step, seconds in (("corpus", 2.0), ("stage1-audio", 4.0), ("features", 1.0)):
        (run / "steps" / f"{step}.done").write_text(json.dumps({"seconds": seconds}))
    (run / "stage1" / "audio").mkdir(parents=True)
    (run / "stage1" / "audio" / "log.csv").write_text("epoch,step,train_loss\n1.0,20.0,0.5\n")


@pytest.mark.slow  # the whole harness in a subprocess, peers included
def test_the_harness_runs_every_system_on_a_tiny_run(tmp_path):
    needs_peers()
    run = tmp_path / "run"
    fake_demo_run(run)
    shared = tmp_path / "shared"
    write_audio(shared / "vocadito" / "vocadito_1.wav", synth_vocal(NOTES, 32000))
    for annotator in ("A1", "A2"):
        write_notes(shared / "vocadito" / f"vocadito_1_notes{annotator}.csv", NOTES)
    out = tmp_path / "BENCH.md"
    out.write_text("# B\n\nhand-written text\n")
    cmd = [sys.executable, str(HARNESS), "--run", str(run), "--shared", str(shared), "--quick"]
    cmd += ["--snrs", "0", "--durations", "2", "--out", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=600)
    doc = out.read_text()
    assert "hand-written text" in doc
    for name in ("machine", "tuned", "embedded", "vocadito", "vocadito-noisy", "speed"):
        assert f"<!-- harness:{name} -->" in doc, name

    def table(first_line_start: str) -> list[list[str]]:
        lines = doc[doc.index(first_line_start) :].split("\n\n")[0].splitlines()
        return [[c.strip() for c in line.strip("|").split("|")] for line in lines]

    embedded = table("| COnPOff: system | reference | 0 dB | clean |")
    systems = [row[0] for row in embedded[2:]]
    assert systems[:7] == [
        "avsvt default (f0 tracker on a voice alone, else pitch network)",
        "avsvt default's pitch network alone",
        BUILT_IN,
        "pyin (issue 10 pipeline)",
        BASIC_PITCH,
        "pyin (issue 10 pipeline), tuned on valid",
        BASIC_PITCH + ", tuned on valid",
    ]
    assert systems[7:9] == [
        "demo A (stage 2, the condition's model)",
        "demo AV (stage 2, the condition's model)",
    ]
    assert [row[1] for row in embedded[2:9]] == ["test split"] * 7
    assert all(len(row) == 4 for row in embedded[2:])
    published = embedded[-2:]
    assert published[0][2:] == ["46.6", "75.6"] and published[1][2:] == ["50.4", "75.6"]
    noisy = table("| COn: system | reference | accomp 0 dB | white 0 dB |")
    noisy_systems = {row[0] for row in noisy[2:]}
    assert "demo A (stage 2, the condition's model)" in noisy_systems
    assert not any(" AV " in s for s in noisy_systems)  # audio-only systems
    assert {row[1] for row in noisy[2:]} == {"vocadito_1 A1", "vocadito_1 A2"}
    speed = doc[doc.index("<!-- harness:speed -->") : doc.index("<!-- /harness:speed -->")]
    assert "| demo A (stage 2) | 0.0 min |" in speed and f"| {BASIC_PITCH} |" in speed
    throughput = doc[doc.index("<!-- harness:throughput -->") :]
    assert (
        "| stage-1 audio training (with per-epoch validation) | 20 steps | 4.0 | 5.0 steps/s |"
        in throughput
    )
