import hashlib
import itertools

import numpy as np
import pytest

from avsvt.cli import main
from avsvt.data.audio import read_audio
from avsvt.data.n20em import load_songs, validate_root
from avsvt.data.video import read_video
from avsvt.errors import AvsvtError
from avsvt.f0 import yin
from avsvt.metrics import mean_scores, score_notes
from avsvt.notes import Note
from avsvt.synth.corpus import synth_corpus
from avsvt.synth.melody import MIN_NOTE_S, plan_song
from avsvt.synth.preview import mouth_opening, write_preview


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return synth_corpus(
        tmp_path_factory.mktemp("synth") / "root",
        n_songs=6,
        seed=7,
        preset="tiny",
        workers=2,
        progress=False,
    )


def digests(root):
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_corpus_is_a_valid_n20emv2_root_with_every_split(corpus):
    assert [p for p in validate_root(corpus) if p.is_error] == []
    songs = load_songs(corpus)
    assert {s.split for s in songs} == {"train", "valid", "test"}
    assert all(36 <= n.pitch_midi <= 83 for s in songs for n in s.notes)
    assert read_video(songs[0].video_path).shape[1:] == (96, 96)


def test_planned_notes_are_long_enough_and_in_order():
    for index in range(200):
        rng = np.random.default_rng([3, index])
        plan = plan_song(rng, float(rng.uniform(12, 20)))
        assert len(plan.notes) >= 4
        assert all(n.offset_s - n.onset_s >= MIN_NOTE_S - 1e-3 for n in plan.notes)
        assert all(a.offset_s <= b.onset_s for a, b in itertools.pairwise(plan.notes))
        assert 0 < plan.notes[0].onset_s and plan.notes[-1].offset_s <= plan.duration_s


def test_same_seed_is_byte_identical_whatever_the_workers(corpus, tmp_path):
    again = synth_corpus(
        tmp_path / "again", n_songs=6, seed=7, preset="tiny", workers=1, progress=False
    )
    assert digests(again) == digests(corpus)
    other = synth_corpus(
        tmp_path / "other", n_songs=3, seed=8, preset="tiny", workers=1, progress=False
    )
    assert (
        digests(other)["data/synth_0000/vocals.wav"]
        != digests(corpus)["data/synth_0000/vocals.wav"]
    )


def test_the_voice_sings_its_labels(corpus):
    within, total = 0, 0
    for song in load_songs(corpus):
        midi = yin(read_audio(song.vocals_path)).midi()
        for note in song.notes:
            frames = midi[int((note.onset_s + 0.03) * 100) : int((note.offset_s - 0.03) * 100)]
            frames = frames[np.isfinite(frames)]
            within += int((np.abs(frames - note.pitch_midi) <= 0.5).sum())
            total += len(frames)
    assert total > 500 and within / total >= 0.9


def detect_onsets(opening, fps=50.0):
    """Onsets from the mouth alone: the mouth opens after being (more) closed."""
    smooth = np.convolve(opening, np.ones(3) / 3, mode="same")
    rise = np.diff(smooth, prepend=smooth[0])
    peaks = [
        i
        for i in range(1, len(rise) - 1)
        if rise[i] > 0.02 and rise[i] >= rise[i - 1] and rise[i] >= rise[i + 1]
    ]
    return [Note(i / fps - 0.02, i / fps + 0.2, 60.0) for i in peaks]


def test_video_carries_onset_timing_but_no_pitch(corpus):
    scores, openness, pitches = [], [], []
    for song in load_songs(corpus):
        opening = mouth_opening(read_video(song.video_path))
        scores.append(score_notes(list(song.notes), detect_onsets(opening)))
        for note in song.notes:
            openness.append(
                opening[int(note.onset_s * 50) + 3 : int(note.offset_s * 50) - 2].mean()
            )
            pitches.append(note.pitch_midi)
    assert mean_scores(scores).COn.f1 >= 0.5
    assert abs(np.corrcoef(openness, pitches)[0, 1]) < 0.3


def test_cli_reruns_skip_finished_songs_and_preview_draws(tmp_path, capsys):
    out = tmp_path / "root"
    assert (
        main(["synth", "corpus", str(out), "--preset", "tiny", "--songs", "3", "--workers", "1"])
        == 0
    )
    before = (out / "data" / "synth_0000" / "vocals.wav").stat().st_mtime_ns
    assert main(["synth", "corpus", str(out), "--preset", "tiny", "--songs", "3"]) == 0
    assert (out / "data" / "synth_0000" / "vocals.wav").stat().st_mtime_ns == before
    png = write_preview(out, "synth_0001", tmp_path / "p.png")
    assert png.stat().st_size > 20_000
    assert main(["synth", "preview", str(out), "nope", "-o", str(tmp_path / "x.png")]) == 1


def test_completing_a_corpus_with_the_other_lip_style_is_refused_untouched(corpus):
    before = digests(corpus)
    with pytest.raises(AvsvtError, match="lips 'crops', not 'faces'"):
        synth_corpus(corpus, n_songs=6, seed=7, preset="tiny", lips="faces", progress=False)
    assert digests(corpus) == before
