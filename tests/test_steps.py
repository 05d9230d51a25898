import hashlib
import json
import os

import pytest

from avsvt.errors import OutputExistsError
from avsvt.recipes.steps import (
    RUN_RECORD,
    SETTINGS,
    Step,
    check_run_folder,
    claim_run_folder,
    fresh_dir,
    run_steps,
    seal_dir,
)


def test_steps_run_once_and_rerun_when_settings_change(tmp_path):
    calls = []
    steps = [Step("a", lambda: calls.append("a"), {"x": 1}), Step("b", lambda: calls.append("b"))]
    run_steps(steps, tmp_path)
    run_steps(steps, tmp_path)
    assert calls == ["a", "b"]
    run_steps([Step("a", lambda: calls.append("a2"), {"x": 2}), steps[1]], tmp_path)
    assert calls == ["a", "b", "a2"]


def test_a_failed_step_leaves_no_marker_and_runs_again(tmp_path):
    calls = []

    def fail():
        calls.append("try")
        raise RuntimeError("killed")

    try:
        run_steps([Step("a", fail)], tmp_path)
    except RuntimeError:
        pass
    assert not (tmp_path / "a.done").exists()
    run_steps([Step("a", lambda: calls.append("ok"))], tmp_path)
    assert calls == ["try", "ok"]


# --- avsvt removes only what it can prove it wrote (docs/bad-inputs.md, issue 15 item 1) ------


def snapshot(root):
    """Every path under root with its bytes' sha256 (None for folders) and modification time."""
    found = {}
    for path in sorted(root.rglob("*")):
        digest = None if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
        found[path.relative_to(root).as_posix()] = (digest, path.lstat().st_mtime_ns)
    return found


def finished_stage(folder, settings, files):
    """A stage folder as a finished step leaves it: made by fresh_dir, sealed by run_steps."""
    fresh_dir(folder, settings)
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    seal_dir(folder)


def test_a_folder_without_avsvt_settings_record_is_refused_and_left_as_it_was(tmp_path):
    folder = tmp_path / "features"
    folder.mkdir()
    (folder / "mine.txt").write_text("x\n")
    before = snapshot(tmp_path)
    with pytest.raises(OutputExistsError, match="no avsvt settings record"):
        fresh_dir(folder, {"a": 1})
    assert snapshot(tmp_path) == before


def test_a_settings_json_that_is_not_avsvts_record_is_not_taken_for_one(tmp_path):
    folder = tmp_path / "stage2"
    folder.mkdir()
    (folder / SETTINGS).write_text('{"theme": "dark"}\n')
    before = snapshot(tmp_path)
    with pytest.raises(OutputExistsError, match="settings.json"):
        fresh_dir(folder, {"a": 1})
    assert snapshot(tmp_path) == before


def test_changed_settings_clear_exactly_what_the_finished_step_left(tmp_path):
    folder = tmp_path / "stage2"
    finished_stage(folder, {"epochs": 2}, {"A/clean/last.pt": b"w", "A/clean/log.csv": b"l"})
    fresh_dir(folder, {"epochs": 1})
    assert sorted(p.name for p in folder.rglob("*")) == [SETTINGS]
    assert json.loads((folder / SETTINGS).read_text())["settings"] == {"epochs": 1}


def test_a_file_added_to_a_finished_stage_stops_the_clearing_before_anything_goes(tmp_path):
    folder = tmp_path / "stage2"
    finished_stage(folder, {"epochs": 2}, {"A/clean/last.pt": b"w", "A/clean/log.csv": b"l"})
    (folder / "A" / "notes.txt").write_text("my notes\n")
    before = snapshot(tmp_path)
    with pytest.raises(OutputExistsError, match=r"1 file\(s\) avsvt did not write.*A/notes.txt"):
        fresh_dir(folder, {"epochs": 1})
    assert snapshot(tmp_path) == before


def test_a_file_changed_since_the_step_finished_is_not_avsvts_any_more(tmp_path):
    folder = tmp_path / "stage1"
    finished_stage(folder, {"epochs": 2}, {"log.csv": b"epoch\n1\n"})
    (folder / "log.csv").write_text("my edits\n")
    before = snapshot(tmp_path)
    with pytest.raises(OutputExistsError, match="changed since it wrote them"):
        fresh_dir(folder, {"epochs": 1})
    assert snapshot(tmp_path) == before


def test_the_same_settings_keep_everything_and_the_list_is_dropped_while_the_step_runs(tmp_path):
    folder = tmp_path / "stage1"
    finished_stage(folder, {"epochs": 2}, {"last.pt": b"w"})
    fresh_dir(folder, {"epochs": 2})
    assert (folder / "last.pt").read_bytes() == b"w"
    assert "files" not in json.loads((folder / SETTINGS).read_text())


def test_a_killed_steps_folder_is_all_its_own_work_and_is_cleared(tmp_path):
    folder = tmp_path / "stage1"
    fresh_dir(folder, {"epochs": 2})  # the step started, wrote, and was killed: no list
    (folder / "last.pt").write_bytes(b"partial")
    (folder / ".best.safetensors.tmp-x1").write_bytes(b"half")
    fresh_dir(folder, {"epochs": 3})
    assert sorted(p.name for p in folder.iterdir()) == [SETTINGS]


def test_run_steps_seals_the_folders_of_a_finished_step(tmp_path):
    folder = tmp_path / "stage1"

    def step():
        fresh_dir(folder, {"x": 1})
        (folder / "best.safetensors").write_bytes(b"model")

    run_steps([Step("s", step, {"x": 1}, folders=(folder,))], tmp_path / "steps")
    files = json.loads((folder / SETTINGS).read_text())["files"]
    assert list(files) == ["best.safetensors"] and files["best.safetensors"][0] == 5


def test_a_run_folder_is_new_empty_or_avsvts(tmp_path):
    check_run_folder(tmp_path / "new")
    (tmp_path / "empty").mkdir()
    check_run_folder(tmp_path / "empty")
    user = tmp_path / "user"
    (user / "features").mkdir(parents=True)
    (user / "features" / "mine.txt").write_text("x\n")
    before = snapshot(tmp_path)
    with pytest.raises(OutputExistsError, match="not an avsvt run folder: it holds features"):
        claim_run_folder(user)
    assert snapshot(tmp_path) == before
    claim_run_folder(tmp_path / "empty")
    assert (tmp_path / "empty" / RUN_RECORD).is_file()
    (tmp_path / "empty" / "features").mkdir()
    check_run_folder(tmp_path / "empty")  # avsvt's: its stage folders are checked one by one
    check_run_folder(user, adopt=lambda folder: True)  # an older avsvt's run, recognised


def test_a_run_folder_that_is_a_file_or_a_link_to_a_record_elsewhere_is_refused(tmp_path):
    (tmp_path / "out").write_text("a file\n")
    with pytest.raises(OutputExistsError, match="is not a folder"):
        check_run_folder(tmp_path / "out")
    elsewhere = tmp_path / "elsewhere"
    claim_run_folder(elsewhere)
    user = tmp_path / "user"
    user.mkdir()
    (user / "data.txt").write_text("x\n")
    os.symlink(elsewhere / RUN_RECORD, user / RUN_RECORD)
    with pytest.raises(OutputExistsError, match="not an avsvt run folder"):
        check_run_folder(user)
