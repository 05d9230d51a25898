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
