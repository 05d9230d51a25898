import numpy as np
import pytest
import torch

from avsvt.constants import AUDIO_FPS
from avsvt.data.n20em import load_songs
from avsvt.labels import notes_to_labels
from avsvt.models.apply import collate
from avsvt.train.datasets import (
    AudioUtterances,
    FeatureUtterances,
    PooledUtterances,
    VideoUtterances,
    batches,
    epoch_order,
)


def test_audio_utterances_cover_each_song_and_match_labels(tiny_root):
    songs = load_songs(tiny_root)
    data = AudioUtterances(songs)
    assert len(data) == len(songs)  # 4-s songs: one utterance each
    item = data[0]
    assert item.audio.shape == (4 * 16000,)
    expected = notes_to_labels(songs[0].notes, round(4 * AUDIO_FPS), AUDIO_FPS)
    assert torch.equal(item.labels, torch.from_numpy(expected))


def test_video_utterances_have_50_fps_labels(tiny_root):
    data = VideoUtterances(load_songs(tiny_root))
    item = data[1]
    assert item.video.shape == (200, 96, 96) and item.video.dtype == torch.uint8
    assert item.labels.shape == (200, 4)


def test_collate_pads_with_zeros_and_silence(tiny_root):
    data = AudioUtterances(load_songs(tiny_root))
    a, b = data[0], data[1]
    short = type(a)(a.song_id, 0, 1, labels=a.labels[:100], audio=a.audio[:32000])
    batch = collate([short, b])
    assert batch.audio.shape == (2, 64000) and batch.audio_lengths.tolist() == [32000, 64000]
    assert (batch.audio[0, 32000:] == 0).all()
    assert batch.label_lengths.tolist() == [100, b.labels.shape[0]]
    assert batch.labels[0, 100:].tolist() == [[0, 1, 4, 12]] * (b.labels.shape[0] - 100)


def test_feature_utterances_cut_each_stream_on_its_own_grid(tmp_path):
    """Audio rows by 249 per 5 s, video rows by 250: utterance 2 of a 12-s song starts at audio
    row 249 and video row 250 (both 5.0 s), as the raw inputs are cut, not both at row 249."""
    from avsvt.testing import make_tiny_corpus

    root = make_tiny_corpus(tmp_path / "root", n_songs=3, duration_s=12.0, seed=2)
    songs = load_songs(root)
    for song in songs:  # each row holds its own index
        np.save(tmp_path / f"{song.song_id}_a.npy", np.arange(597, dtype=np.float32)[:, None])
        np.save(tmp_path / f"{song.song_id}_v.npy", np.arange(600, dtype=np.float32)[:, None])
    data = FeatureUtterances(
        songs,
        audio_feature_path=lambda s: tmp_path / f"{s.song_id}_a.npy",
        video_feature_path=lambda s: tmp_path / f"{s.song_id}_v.npy",
    )
    assert len(data) == 2 * len(songs)  # 12 s: 5 s + 7 s
    first, second = data[0], data[1]
    assert first.audio[:, 0].tolist() == list(range(249))
    assert first.video[:, 0].tolist() == list(range(250))
    assert second.audio[0, 0] == 249 and second.audio.shape[0] == 597 - 249
    assert second.video[0, 0] == 250 and second.video.shape[0] == 600 - 250
    assert second.labels.shape == (597 - 249, 4)


def test_epoch_order_is_seeded_or_sorted():
    assert epoch_order(10, epoch=1, seed=3, shuffle=True) == epoch_order(
        10, epoch=1, seed=3, shuffle=True
    )
    assert epoch_order(10, epoch=1, seed=3, shuffle=True) != epoch_order(
        10, epoch=2, seed=3, shuffle=True
    )
    assert epoch_order(3, epoch=0, seed=0, shuffle=False, durations_s=[5.0, 2.5, 7.0]) == [1, 0, 2]
    assert list(batches([4, 3, 2, 1, 0], 2)) == [[4, 3], [2, 1], [0]]


def test_accompaniment_mixing_hits_the_drawn_snr_and_repeats(tiny_root):
    from avsvt.data.audio import read_audio
    from avsvt.noise.mixing import measured_snr_db
    from avsvt.train.settings import AccompMix

    songs = load_songs(tiny_root)
    clean = AudioUtterances(songs)
    config = AccompMix(probability=1.0, snr_db=(3.0, 12.0), seed=5)
    mixed = AudioUtterances(songs, accomp_mix=config)
    for i, song in enumerate(songs):
        rng = np.random.default_rng([5, i])
        rng.random()
        snr_db = rng.uniform(3.0, 12.0)
        vocals = clean[i].audio.numpy()
        mixture = mixed[i].audio.numpy()
        assert abs(measured_snr_db(vocals, mixture) - snr_db) < 0.05
        residual = mixture - vocals * (mixture @ vocals) / (vocals @ vocals)
        accomp = read_audio(song.accomp_path)
        assert abs(np.corrcoef(residual, accomp)[0, 1]) > 0.9  # what was added is the accomp
        assert torch.equal(mixed[i].audio, AudioUtterances(songs, accomp_mix=config)[i].audio)
    off = AudioUtterances(songs, accomp_mix=AccompMix(probability=0.0))
    assert all(torch.equal(off[i].audio, clean[i].audio) for i in range(len(songs)))


def test_a_pool_is_its_parts_one_after_another(tiny_root):
    songs = load_songs(tiny_root)
    first, second = AudioUtterances(songs[:2]), AudioUtterances(songs[2:4])
    pool = PooledUtterances([first, second])
    assert len(pool) == len(first) + len(second)
    assert pool.durations_s() == first.durations_s() + second.durations_s()
    expected = [first[i] for i in range(len(first))] + [second[i] for i in range(len(second))]
    for i, item in enumerate(expected):
        got = pool[i]
        assert (got.song_id, got.index) == (item.song_id, item.index)
        assert torch.equal(got.audio, item.audio) and torch.equal(got.labels, item.labels)
    with pytest.raises(IndexError):
        pool[len(pool)]
