import hashlib
import logging
import math
import shutil
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from avsvt.errors import ConfigError, DataError
from avsvt.noise.musan import (
    PrepareConfig,
    SlurmOptions,
    plan_musan,
    prepare_musan,
    speaker_of,
    split_speakers,
)
from avsvt.noise.wavio import float_to_pcm16, write_pcm16

SMALL = PrepareConfig(n_babble=(6, 2, 2))


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".shards" not in p.parts and p.name != "nframes.audio"
    }


def _sources(root: Path) -> list[Path]:
    return sorted(root.glob("*/*/*.wav"))


@pytest.fixture
def library(musan_root, tmp_path) -> Path:
    """A writable copy of the tiny library without its preparation."""
    return Path(
        shutil.copytree(musan_root, tmp_path / "musan", ignore=shutil.ignore_patterns("short-*"))
    )


def test_pieces_are_10_s_slices_of_the_long_files(musan_root):
    out = musan_root / "short-musan"
    for source in _sources(musan_root):
        if "short-musan" in source.parts:
            continue
        data, _ = sf.read(str(source), dtype="int16")
        rel = source.relative_to(musan_root)
        pieces = sorted(out.joinpath(rel.parent).glob(f"{source.stem}-*.wav"))
        if len(data) <= 160_000:
            assert pieces == []  # the reference drops files <= 10 s
            continue
        assert len(pieces) == math.ceil(len(data) / 160_000)
        for k in range(len(pieces)):
            piece, rate = sf.read(str(out / rel.parent / f"{source.stem}-{k}.wav"), dtype="int16")
            assert rate == 16_000
            np.testing.assert_array_equal(piece, data[k * 160_000 : (k + 1) * 160_000])


def test_speaker_split_is_a_partition(musan_root):
    out = musan_root / "short-musan" / "speech"
    splits = {s: (out / f"spk.{s}").read_text().split() for s in ("train", "valid", "test")}
    everyone = sorted(speaker_of(p.name) for p in (out / "librivox").glob("*.wav"))
    assert sorted(sum(splits.values(), [])) == sorted(set(everyone))
    assert (len(splits["train"]), len(splits["valid"]), len(splits["test"])) == (8, 1, 1)


def test_split_speakers_proportions_and_seed():
    names = [f"spk-{i:03d}" for i in range(100)]
    split = split_speakers(names, seed=5)
    assert [len(split[s]) for s in ("train", "valid", "test")] == [80, 10, 10]
    assert split == split_speakers(list(reversed(names)), seed=5)
    assert split != split_speakers(names, seed=6)
    with pytest.raises(DataError, match="3 speakers"):
        split_speakers(["a", "b"], seed=0)


def test_babble_is_the_mean_of_pieces_of_one_split(musan_root):
    out = musan_root / "short-musan"
    plan = plan_musan(musan_root, None, PrepareConfig(n_babble=(10, 3, 3)))
    assert [Path(b.relpath).name for b in plan.babble][:2] == ["train-00001.wav", "train-00002.wav"]
    for spec in plan.babble:
        split = Path(spec.relpath).name.split("-")[0]
        members = set((out / "speech" / f"spk.{split}").read_text().split())
        assert {speaker_of(p.relpath) for p in spec.sources} <= members
        assert len(spec.sources) == min(30, plan.speech_pool_sizes[split])
        stack = np.stack(
            [
                sf.read(str(out / p.relpath), dtype="int16")[0][: spec.n_samples]
                for p in spec.sources
            ]
        )
        expected = stack.mean(axis=0).astype(np.int16)
        written, _ = sf.read(str(out / spec.relpath), dtype="int16")
        np.testing.assert_array_equal(written, expected)


def test_nframes_lists_babble_music_noise(musan_root):
    out = musan_root / "short-musan"
    lines = (out / "nframes.audio").read_text().splitlines()
    listed = {Path(line.split("\t")[0]): int(line.split("\t")[1]) for line in lines}
    expected = {
        p.resolve() for sub in ("babble", "music", "noise") for p in (out / sub).glob("*/*.wav")
    }
    assert set(listed) == expected
    for path, n in listed.items():
        assert sf.info(str(path)).frames == n


def test_output_is_the_same_for_any_shard_count_or_order(library, tmp_path):
    one = prepare_musan(library, out=tmp_path / "one", config=SMALL, nshard=1, progress=False)
    assert one.finished and one.n_shards_run == 1
    pool = prepare_musan(
        library, out=tmp_path / "pool", config=SMALL, nshard=5, workers=2, progress=False
    )
    assert pool.finished
    for k in reversed(range(4)):  # one shard at a time, last first, as separate array tasks
        summary = prepare_musan(
            library, out=tmp_path / "rev", config=SMALL, nshard=4, shard_id=k, progress=False
        )
        assert summary.finished == (k == 0)
    reference = _digests(tmp_path / "one")
    assert len(reference) > 30
    assert _digests(tmp_path / "pool") == reference
    assert _digests(tmp_path / "rev") == reference
    nframes = (tmp_path / "one" / "nframes.audio").read_text()
    assert nframes.replace("/one/", "/rev/") == (tmp_path / "rev" / "nframes.audio").read_text()


def test_a_killed_shard_is_redone_and_finished_shards_are_skipped(library, tmp_path):
    out = tmp_path / "out"
    prepare_musan(library, out=out, config=SMALL, nshard=3, progress=False)
    before = _digests(out)
    # babble order: train 1-6, valid 1-2, test 1-2 in chunks of 4: shard 1 has train 5 and 6.
    # Simulate a kill inside shard 1: its marker never got written, one output is missing and
    # a temporary file is left behind.
    (out / ".shards" / "shard-0001-of-0003.json").unlink()
    victim = out / "babble" / "wav" / "train-00005.wav"
    victim.unlink()
    (victim.parent / f".{victim.name}.tmp-abc123.wav").write_bytes(b"partial")
    (out / "nframes.audio").unlink()
    again = prepare_musan(library, out=out, config=SMALL, nshard=3, progress=False)
    assert (again.n_shards_run, again.n_shards_skipped, again.finished) == (1, 2, True)
    # an output lost from a finished shard (marker intact) is noticed and rewritten too
    (out / "babble" / "wav" / "train-00001.wav").unlink()
    assert prepare_musan(library, out=out, config=SMALL, nshard=3, progress=False).n_shards_run == 1
    assert _digests(out) == before  # the stray temporary file is gone too
    assert (out / "nframes.audio").is_file()
    # and a third run does nothing
    third = prepare_musan(library, out=out, config=SMALL, nshard=3, progress=False)
    assert third.n_shards_run == 0


def test_changed_settings_redo_the_shards(library, tmp_path):
    out = tmp_path / "out"
    prepare_musan(library, out=out, config=SMALL, nshard=2, progress=False)
    other = PrepareConfig(n_babble=(6, 2, 2), seed=9)
    summary = prepare_musan(library, out=out, config=other, nshard=2, progress=False)
    assert summary.n_shards_run == 2


def test_keep_short_copies_short_files(library, tmp_path):
    summary = prepare_musan(
        library,
        out=tmp_path / "out",
        config=PrepareConfig(n_babble=(0, 0, 0), keep_short=True),
        progress=False,
    )
    short = library / "noise" / "sound-bible" / "noise-sound-bible-0000.wav"
    copy = tmp_path / "out" / "noise" / "sound-bible" / "noise-sound-bible-0000-0.wav"
    np.testing.assert_array_equal(
        sf.read(str(copy), dtype="int16")[0], sf.read(str(short), dtype="int16")[0]
    )
    assert summary.n_babble == 0
    assert not (tmp_path / "out" / "babble").exists()


def test_wrong_rate_files_are_resampled_with_a_warning(library, tmp_path, caplog):
    source = library / "speech" / "librivox" / "speech-librivox-0000.wav"
    data, _ = sf.read(str(source), dtype="float64")
    source.unlink()
    slow = library / "speech" / "librivox" / "speech-librivox-0100.wav"
    write_pcm16(slow, float_to_pcm16(data[::2]), sample_rate=8_000)  # 20 s at 8 kHz
    with caplog.at_level(logging.DEBUG):
        prepare_musan(library, out=tmp_path / "out", config=SMALL, progress=False)
    assert "resampled from 8000 Hz" in caplog.text
    pieces = sorted((tmp_path / "out" / "speech" / "librivox").glob("speech-librivox-0100-*"))
    assert [sf.info(str(p)).frames for p in pieces] == [160_000, 160_000]
    assert all(sf.info(str(p)).samplerate == 16_000 for p in pieces)


def test_missing_musan_files(tmp_path):
    with pytest.raises(DataError, match="not found") as info:
        prepare_musan(tmp_path / "nowhere", progress=False)
    assert "nowhere" in str(info.value)
    (tmp_path / "empty" / "speech").mkdir(parents=True)
    with pytest.raises(DataError, match="no MUSAN files"):
        prepare_musan(tmp_path / "empty", progress=False)


def test_bad_shard_settings(library):
    with pytest.raises(ConfigError, match="shard"):
        prepare_musan(library, config=SMALL, nshard=2, shard_id=2, progress=False)
    with pytest.raises(ConfigError, match="nshard"):
        prepare_musan(library, config=SMALL, nshard=0, progress=False)


def test_slurm_without_submitit_is_a_clear_error(library, monkeypatch):
    monkeypatch.setitem(sys.modules, "submitit", None)  # makes `import submitit` fail
    with pytest.raises(ConfigError, match="submitit"):
        prepare_musan(library, config=SMALL, launcher="slurm", progress=False)


def test_slurm_launcher_configures_a_submitit_array(library, tmp_path, monkeypatch):
    """A stand-in for submitit's AutoExecutor that records the configuration and runs inline."""
    seen: dict = {}

    class Job:
        def __init__(self, value):
            self._value = value

        def result(self):
            return self._value

    class AutoExecutor:
        def __init__(self, folder, cluster=None):
            seen["folder"], seen["cluster"] = folder, cluster

        def update_parameters(self, **params):
            seen["params"] = params

        def map_array(self, fn, *iterables):
            seen["n_jobs"] = len(iterables[0])
            return [Job(fn(*args)) for args in zip(*iterables, strict=True)]

    monkeypatch.setitem(sys.modules, "submitit", types.SimpleNamespace(AutoExecutor=AutoExecutor))
    slurm = SlurmOptions(partition="cpu", timeout_min=30, cpus_per_task=2, mem_gb=8)
    summary = prepare_musan(
        library,
        out=tmp_path / "out",
        config=SMALL,
        nshard=3,
        launcher="slurm",
        slurm=slurm,
        progress=False,
    )
    assert summary.finished and seen["n_jobs"] == 3
    assert seen["params"]["slurm_partition"] == "cpu"
    assert seen["params"]["timeout_min"] == 30
    assert seen["params"]["cpus_per_task"] == 2
    assert seen["params"]["mem_gb"] == 8
    assert Path(seen["folder"]) == (tmp_path / "out" / ".shards" / "submitit").resolve()
    reference = tmp_path / "local"
    prepare_musan(library, out=reference, config=SMALL, nshard=1, progress=False)
    assert _digests(tmp_path / "out") == _digests(reference)
