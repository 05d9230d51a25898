import json

import pytest

from avsvt.errors import OutputExistsError
from avsvt.evaluation import evaluate_paths
from avsvt.notefiles import read_notes
from avsvt.notes import Note
from avsvt.transcribe.api import TranscriptionResult
from avsvt.transcribe.outputs import check_overwrite, output_paths, write_outputs

RESULT = TranscriptionResult(
    notes=[Note(0.5, 1.0, 60.25), Note(1.2, 1.8, 64.0)],
    duration_s=2.0,
    used_video=False,
    seconds=0.1,
    messages=["audio only"],
)


def test_all_formats_are_written_and_read_back(tmp_path):
    paths = output_paths("/data/take 1.flac", tmp_path, ["mid", "csv", "json"], plot=True)
    assert paths["mid"].name == "take 1.mid" and paths["png"].name == "take 1.png"
    write_outputs(RESULT, paths)
    for fmt in ("mid", "csv", "json"):
        back = read_notes(paths[fmt])
        assert [round(n.pitch_midi, 2) for n in back] == [60.25, 64.0]
    meta = json.loads(paths["json"].read_text())
    assert meta["duration_s"] == 2.0 and meta["messages"] == ["audio only"]
    assert paths["png"].stat().st_size > 1000
    assert evaluate_paths(paths["csv"], paths["json"]).mean.COnPOff.f1 == 1.0


def test_existing_outputs_are_not_overwritten_without_the_flag(tmp_path):
    paths = output_paths("song.wav", tmp_path, ["csv"])
    paths["csv"].write_text("keep me")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        check_overwrite(paths, overwrite=False)
    check_overwrite(paths, overwrite=True)
    assert paths["csv"].read_text() == "keep me"


def test_the_plot_marks_shot_cuts_and_face_gaps(tmp_path, monkeypatch):
    from dataclasses import replace

    import avsvt.plots

    figures = []
    save = avsvt.plots._save
    monkeypatch.setattr(
        avsvt.plots, "_save", lambda fig, path: (figures.append(fig), save(fig, path))
    )
    paths = output_paths("marked.wav", tmp_path, [], plot=True)
    write_outputs(replace(RESULT, video_cuts_s=[1.1], video_gaps_s=[(1.3, 1.5)]), paths)
    write_outputs(RESULT, output_paths("plain.wav", tmp_path, [], plot=True))
    marked, plain = (fig.axes[0] for fig in figures)
    assert [line.get_xdata()[0] for line in marked.lines] == [1.1]
    assert "shot cut" in [t.get_text() for t in marked.get_legend().get_texts()]
    spans = [p for p in marked.patches if p.get_label() == "no face"]
    assert len(spans) == 1
    (x0, _), (x1, _) = spans[0].get_bbox().get_points()
    assert (x0, x1) == pytest.approx((1.3, 1.5))
    assert not plain.lines and not [p for p in plain.patches if p.get_label() == "no face"]
    assert paths["png"].stat().st_size > 1000
