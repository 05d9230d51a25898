import hashlib
import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from avsvt.constants import NOISE_TYPES, SNRS_DB
from avsvt.data.audio import read_audio, write_audio
from avsvt.data.n20em import load_songs
from avsvt.errors import ConfigError, DataError
from avsvt.noise.mixing import measured_snr_db
from avsvt.noise.synthesis import (
    DONE_MARKER,
    NoiseMixer,
    babble_pool,
    mix_condition,
    natural_pool,
    noise_track_path,
    output_path,
    synthesize_noise,
    synthesize_song,
)


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.glob("data/*/noise_data/*/*.wav"))
    }


@pytest.fixture(scope="module")
def synthesized(noise_corpus, babble_path, natural_path, tmp_path_factory):
    """The tiny corpus with all 20 conditions written (reference rule, workers=1)."""
    root = Path(shutil.copytree(noise_corpus, tmp_path_factory.mktemp("syn") / "root"))
    summary = synthesize_noise(
        root, babble_dir=babble_path, natural_dir=natural_path, seed=7, progress=False
    )
    return root, summary


def test_every_file_is_written_at_its_snr(synthesized):
    root, summary = synthesized
    assert (summary.n_songs, summary.n_written, summary.n_files) == (6, 6, 120)
    for song in load_songs(root):
        vocals = read_audio(song.vocals_path)
        for noise_type in NOISE_TYPES:
            for snr_db in SNRS_DB:
                path = song.noisy_path(noise_type, snr_db)
                assert sf.info(str(path)).subtype == "FLOAT"
                mixture = read_audio(path)
                assert len(mixture) == len(vocals)
                assert abs(measured_snr_db(vocals, mixture, "reference") - snr_db) < 0.05
        for noise_type in ("babble", "natural"):
            assert len(read_audio(noise_track_path(song, noise_type))) == len(vocals)


def test_accomp_and_white_noise_tracks(synthesized):
    root, _ = synthesized
    song = load_songs(root)[0]
    vocals, accomp = read_audio(song.vocals_path), read_audio(song.accomp_path)
    mixture = read_audio(song.noisy_path("accomp", 0)).astype(np.float64)
    # at 0 dB: mixture = s/2 + A(s)/(2 A(n)) n, so the accompaniment is recovered exactly
    a = np.abs(vocals.astype(np.float64)).mean()
    b = np.abs(accomp.astype(np.float64)).mean()
    np.testing.assert_allclose(mixture, vocals / 2 + a / (2 * b) * accomp, atol=1e-6)
    white = read_audio(song.noisy_path("white", 10))
    residual = white.astype(np.float64) - (1 - 1 / (10**0.5 + 1)) * vocals  # the noise part
    kurtosis = ((residual - residual.mean()) ** 4).mean() / residual.var() ** 2
    assert 2.8 < kurtosis < 3.2


def test_clips_never_cross_splits(synthesized, babble_path, natural_path):
    root, _ = synthesized
    babble = babble_pool(babble_path)
    natural = natural_pool(natural_path, seed=7)
    for pools in (babble, natural):
        names = [set(files) for files in pools.values()]
        assert all(names) and not (
            names[0] & names[1] or names[0] & names[2] or names[1] & names[2]
        )
    clips = {
        kind: {path: read_audio(path) for files in pools.values() for path in files}
        for kind, pools in (("babble", babble), ("natural", natural))
    }
    for song in load_songs(root):
        for kind, pools in (("babble", babble), ("natural", natural)):
            track = read_audio(noise_track_path(song, kind))
            for start in range(0, len(track), 160_000):
                segment = track[start : start + 160_000]
                matches = [path for path, clip in clips[kind].items() if _holds(segment, clip)]
                assert matches, (song.song_id, kind, start)
                assert all(path in pools[song.split] for path in matches), (song.song_id, kind)


def _holds(segment: np.ndarray, clip: np.ndarray) -> bool:
    """Whether ``segment`` is ``clip`` centred with zero padding, or ``clip`` cut to its length."""
    if len(clip) >= len(segment):
        return bool(np.array_equal(segment, clip[: len(segment)]))
    left = (len(segment) - len(clip)) // 2
    inside = segment[left : left + len(clip)]
    outside = np.concatenate([segment[:left], segment[left + len(clip) :]])
    return bool(np.array_equal(inside, clip) and not outside.any())


def test_on_the_fly_mixtures_equal_the_written_files(synthesized, babble_path, natural_path):
    root, _ = synthesized
    for stored in (False, True):
        mixer = NoiseMixer(
            babble_dir=babble_path, natural_dir=natural_path, seed=7, use_stored_noise=stored
        )
        for song in load_songs(root)[:3]:
            for noise_type in NOISE_TYPES:
                for snr_db in SNRS_DB:
                    written = read_audio(song.noisy_path(noise_type, snr_db))
                    np.testing.assert_array_equal(mixer.mixture(song, noise_type, snr_db), written)
    song = load_songs(root)[4]
    once = mix_condition(song, "natural", -5, babble_dir=None, natural_dir=natural_path, seed=7)
    np.testing.assert_array_equal(once, read_audio(song.noisy_path("natural", -5)))


def test_same_seed_same_bytes_for_any_workers_or_order(
    synthesized, noise_corpus, babble_path, natural_path, tmp_path
):
    root, _ = synthesized
    reference = _digests(root)
    assert len(reference) == 6 * (20 + 2)
    two = Path(shutil.copytree(noise_corpus, tmp_path / "two"))
    synthesize_noise(
        two, babble_dir=babble_path, natural_dir=natural_path, seed=7, workers=2, progress=False
    )
    assert _digests(two) == reference
    backwards = Path(shutil.copytree(noise_corpus, tmp_path / "backwards"))
    first = synthesize_noise(
        backwards,
        babble_dir=babble_path,
        natural_dir=natural_path,
        seed=7,
        types=["white"],
        progress=False,
    )
    assert first.n_files == 30
    from avsvt.noise.synthesis import NoiseSettings, load_pools

    pools = load_pools(babble_dir=babble_path, natural_dir=natural_path, seed=7)
    for song in reversed(load_songs(backwards)):
        synthesize_song(song, NoiseSettings(seed=7), pools)
    assert _digests(backwards) == reference
    other = Path(shutil.copytree(noise_corpus, tmp_path / "other"))
    synthesize_noise(
        other,
        babble_dir=None,
        natural_dir=None,
        seed=8,
        types=["accomp", "white"],
        progress=False,
    )
    changed = {k for k, v in _digests(other).items() if reference[k] != v}
    assert not any("/accomp/" in k for k in changed)  # the accompaniment has no randomness
    assert sum("/white/" in k for k in changed) == 30


def test_rerun_skips_finished_songs_and_redoes_a_killed_one(
    noise_corpus, babble_path, natural_path, tmp_path
):
    root = Path(shutil.copytree(noise_corpus, tmp_path / "root"))
    kwargs = dict(babble_dir=babble_path, natural_dir=natural_path, seed=7, snrs_db=[-5, 5])
    synthesize_noise(root, **kwargs, progress=False)
    before = _digests(root)
    song = load_songs(root)[2]
    # a kill mid-song: no marker yet, one mixture missing, a temporary file left behind
    (song.noise_dir / DONE_MARKER).unlink()
    song.noisy_path("babble", 5).unlink()
    (song.noise_dir / "babble" / ".SNR_5dB.wav.tmp-xyz.wav").write_bytes(b"junk")
    mtimes = {p: p.stat().st_mtime_ns for p in root.glob("data/song000/noise_data/*/*.wav")}
    again = synthesize_noise(root, **kwargs, progress=False)
    assert (again.n_written, again.n_skipped) == (1, 5)
    assert _digests(root) == before
    assert mtimes == {p: p.stat().st_mtime_ns for p in root.glob("data/song000/noise_data/*/*.wav")}


def test_rms_rule_pcm16_and_flac(noise_corpus, babble_path, natural_path, tmp_path):
    root = Path(shutil.copytree(noise_corpus, tmp_path / "root"))
    synthesize_noise(
        root,
        babble_dir=None,
        natural_dir=None,
        types=["white", "accomp"],
        snrs_db=[0, 10],
        rule="rms",
        subtype="PCM_16",
        seed=1,
        progress=False,
    )
    song = load_songs(root)[0]
    vocals = read_audio(song.vocals_path)
    for noise_type in ("white", "accomp"):
        for snr_db in (0, 10):
            path = song.noisy_path(noise_type, snr_db)
            assert sf.info(str(path)).subtype == "PCM_16"
            assert abs(measured_snr_db(vocals, read_audio(path), "rms") - snr_db) < 0.05
    synthesize_noise(
        root,
        babble_dir=None,
        natural_dir=None,
        types=["white"],
        snrs_db=[5],
        file_format="flac",
        seed=1,
        progress=False,
    )
    flac = output_path(song, "white", 5, "flac")
    assert flac.suffix == ".flac" and sf.info(str(flac)).format == "FLAC"


def test_clipping_report(synthesized):
    root, summary = synthesized
    report = json.loads((root / "noise_summary.json").read_text())
    assert report["settings"]["seed"] == 7
    assert report["pool_sizes"]["natural"]["valid"] > 0
    listed = [name for names in report["natural_split"].values() for name in names]
    assert len(listed) == len(set(listed)) == sum(report["pool_sizes"]["natural"].values())
    assert all(name.startswith(("free-sound/", "sound-bible/")) for name in listed)
    counted = 0
    for song in load_songs(root):
        for noise_type in NOISE_TYPES:
            for snr_db in SNRS_DB:
                n = int((np.abs(read_audio(song.noisy_path(noise_type, snr_db))) > 1).sum())
                rel = f"noise_data/{noise_type}/SNR_{snr_db}dB.wav"
                assert report["clipping"][song.song_id][rel] == n
                counted += n > 0
    assert summary.n_clipped_files == counted


def test_accomp_of_another_length_is_refused(corpus_copy, caplog):
    song = load_songs(corpus_copy)[1]
    accomp = read_audio(song.accomp_path)
    write_audio(song.accomp_path, accomp[:-100])
    with pytest.raises(DataError, match="same length") as info:
        synthesize_noise(
            corpus_copy, babble_dir=None, natural_dir=None, types=["accomp"], progress=False
        )
    assert str(song.accomp_path) in str(info.value)
    assert not song.noise_dir.exists()


def test_empty_pool_for_a_split_is_refused(corpus_copy, babble_path, natural_path, tmp_path):
    thin = tmp_path / "babble"
    thin.mkdir()
    for path in babble_path.glob("*.wav"):
        if not path.name.startswith("test-"):
            shutil.copy(path, thin / path.name)
    with pytest.raises(DataError, match="split 'test'") as info:
        synthesize_noise(
            corpus_copy, babble_dir=thin, natural_dir=None, types=["babble"], progress=False
        )
    assert str(thin) in str(info.value)
    assert not any(corpus_copy.glob("data/*/noise_data"))
    # a babble clip that is not exactly 10 s does not count (the reference's pool rule)
    short = read_audio(next(babble_path.glob("test-*.wav")))[:-1]
    write_audio(thin / "test-00001.wav", short, subtype="PCM_16")
    with pytest.raises(DataError, match="split 'test'"):
        synthesize_noise(
            corpus_copy, babble_dir=thin, natural_dir=None, types=["babble"], progress=False
        )


def test_missing_pools_and_bad_settings(corpus_copy, tmp_path):
    with pytest.raises(ConfigError, match="--babble"):
        synthesize_noise(corpus_copy, babble_dir=None, natural_dir=None, progress=False)
    with pytest.raises(DataError, match="babble folder not found"):
        synthesize_noise(
            corpus_copy,
            babble_dir=tmp_path / "x",
            natural_dir=None,
            types=["babble"],
            progress=False,
        )
    with pytest.raises(DataError, match="natural noise folder"):
        synthesize_noise(
            corpus_copy, babble_dir=None, natural_dir=tmp_path, types=["natural"], progress=False
        )
    with pytest.raises(ConfigError, match="noise types"):
        synthesize_noise(
            corpus_copy, babble_dir=None, natural_dir=None, types=["pink"], progress=False
        )


def test_natural_files_at_another_rate_are_resampled(corpus_copy, natural_path, tmp_path, caplog):
    natural = Path(shutil.copytree(natural_path, tmp_path / "noise"))
    for path in natural.glob("*/*.wav"):
        audio = read_audio(path)
        write_audio(path, audio[::2], sample_rate=8_000, subtype="PCM_16")
    with caplog.at_level(logging.DEBUG):
        summary = synthesize_noise(
            corpus_copy,
            babble_dir=None,
            natural_dir=natural,
            types=["natural"],
            snrs_db=[0],
            progress=False,
        )
    assert summary.n_files == 6
    assert "resampled from 8000 Hz" in caplog.text
