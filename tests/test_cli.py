import json
import shutil

import pytest

from avsvt.cli import main
from avsvt.notefiles import write_notes
from avsvt.notes import Note


def test_help_exits_zero(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    assert "validate" in capsys.readouterr().out


def test_validate_good_and_bad_roots(tiny_root, tmp_path, capsys):
    assert main(["validate", str(tiny_root)]) == 0
    root = tmp_path / "root"
    shutil.copytree(tiny_root, root)
    (root / "data" / "song000" / "vocals.wav").unlink()
    (root / "data" / "song001" / "video_50fps.npy").unlink()
    assert main(["validate", str(root)]) == 1
    out = capsys.readouterr().out
    assert "song000" in out and "vocals.wav" in out and "song001" in out
    assert "2 error(s)" in out


def test_evaluate_files_and_folders_with_json(tmp_path, capsys):
    ref, est = tmp_path / "ref", tmp_path / "est"
    notes = [Note(0.5, 1.0, 60), Note(1.2, 1.6, 64)]
    write_notes(ref / "a.csv", notes)
    write_notes(ref / "b.json", notes)
    write_notes(est / "a.mid", notes)
    write_notes(est / "b.csv", [Note(0.6, 1.0, 60), Note(1.2, 1.6, 64)])
    assert main(["evaluate", "--ref", str(ref / "a.csv"), "--est", str(est / "a.mid")]) == 0
    assert "100.00" in capsys.readouterr().out
    out_json = tmp_path / "scores.json"
    assert main(["evaluate", "--ref", str(ref), "--est", str(est), "--json", str(out_json)]) == 0
    scores = json.loads(out_json.read_text())
    assert set(scores["songs"]) == {"a", "b"}
    assert scores["songs"]["a"]["COnPOff"]["f1"] == 1.0
    assert scores["songs"]["b"]["COn"]["recall"] == 0.5
    assert scores["mean"]["COn"]["f1"] == pytest.approx((1.0 + 0.5) / 2)
    assert set(scores["mean"]) == {"COnPOff", "COnP", "COn", "COff"}
    assert set(scores["mean"]["COn"]) == {"precision", "recall", "f1"}


def test_user_errors_are_one_line_and_exit_1(tmp_path, capsys):
    (tmp_path / "bad.csv").write_text("onset_s,offset_s,pitch_midi\n1,0,60\n")
    assert (
        main(["evaluate", "--ref", str(tmp_path / "bad.csv"), "--est", str(tmp_path / "bad.csv")])
        == 1
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("avsvt: error:") and "bad.csv" in err[0]
    assert main(["evaluate", "--ref", str(tmp_path / "missing"), "--est", str(tmp_path)]) == 1
    assert main(["labels", str(tmp_path / "nowhere")]) == 1


def test_labels_command(tiny_root, tmp_path, capsys):
    root = tmp_path / "root"
    shutil.copytree(tiny_root, root)
    assert main(["labels", str(root)]) == 0
    assert main(["labels", str(root)]) == 0
    assert "0 song(s) written, 3 already done" in capsys.readouterr().out
