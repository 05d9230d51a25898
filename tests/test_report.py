import json

import numpy as np

from avsvt.evaluation import evaluate_notes
from avsvt.notes import Note
from avsvt.report import Condition, SystemRun, results_dict, write_report

REF = {"s1": [Note(0.5, 1.0, 60), Note(1.2, 1.6, 62)], "s2": [Note(0.3, 0.9, 65)]}


def run(system, condition, shift_s):
    preds = {
        s: [Note(n.onset_s + shift_s, n.offset_s, n.pitch_midi) for n in ns]
        for s, ns in REF.items()
    }
    pairs = {s: (REF[s], preds[s]) for s in REF}
    return SystemRun(system, condition, evaluate_notes(pairs), preds)


def test_results_json_layout_and_report_files(tmp_path):
    runs = [
        run("A", Condition("accomp", -10), 0.2),
        run("AV", Condition("accomp", -10), 0.0),
        run("A", Condition("accomp", 10), 0.0),
        run("AV", Condition("accomp", 10), 0.0),
        run("A", Condition(), 0.0),
        run("AV", Condition(), 0.0),
    ]
    results = results_dict(runs)
    assert list(results["A"]["accomp"]) == ["-10", "10", "clean"]
    assert results["A"]["accomp"]["-10"]["COn"] == 0.0
    assert results["AV"]["accomp"]["-10"]["COnPOff"] == 1.0
    index = write_report(
        tmp_path,
        runs,
        references=REF,
        piano_songs=["s1"],
        load_audio=lambda s: np.random.default_rng(0).standard_normal(32000).astype(np.float32),
    )
    assert json.loads((tmp_path / "results.json").read_text()) == results
    page = index.read_text()
    assert page.count("data:image/png;base64,") == 2
    assert "COnPOff" in page and "accomp" in page
    assert (tmp_path / "predictions" / "AV" / "accomp_-10dB" / "s2.csv").exists()
    assert (tmp_path / "predictions" / "A" / "clean" / "s1.mid").exists()
    assert (tmp_path / "f1_vs_snr.png").stat().st_size > 10_000
    assert "published results" in page and "79.4" in page  # reference AV COn at -10 dB


def test_published_reference_has_the_results_layout():
    from avsvt.report import published_reference

    published = published_reference()
    assert list(published["AV"]["accomp"]) == ["-10", "-5", "0", "5", "10", "clean"]
    assert published["A"]["accomp"]["-10"]["COn"] == 0.335
    gap = [
        published["AV"]["accomp"][k]["COn"] - published["A"]["accomp"][k]["COn"]
        for k in ("-10", "-5", "0", "5", "10")
    ]
    assert gap == sorted(gap, reverse=True)  # the gap shrinks as the SNR rises
