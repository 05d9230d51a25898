"""The inference engine: a song cut into the model's utterances, batched, run, stitched, timed.

Oracles: utterance boundaries are written out by hand for the durations used (5-s utterances,
the last one taking the remainder), and every stitched result is compared with the model run on
each hand-cut utterance alone, with batch size 1.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from avsvt.errors import DataError
from avsvt.models import Transcriber, preset
from avsvt.models.apply import apply_model, encode_song
from avsvt.models.config import ModelConfig

SR = 16_000


def tiny(modality: str, **changes: object) -> Transcriber:
    torch.manual_seed(0)
    config = preset("tiny", modality)
    if changes:
        config = ModelConfig.from_dict({**config.to_dict(), **changes})
    return Transcriber(config).eval()


def noise(n: int, seed: int = 0) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)


def lips(n: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 96, 96), dtype=np.uint8)


def alone(model: Transcriber, **inputs: np.ndarray) -> np.ndarray:
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v))[None] for k, v in inputs.items()}
    with torch.no_grad():
        return model(**tensors).logits[0].numpy()


def test_audio_song_is_cut_into_5_s_utterances_and_stitched():
    model = tiny("audio")
    audio = noise(int(17.1 * SR))  # 3 utterances: 0-5 s, 5-10 s, 10-17.1 s
    cuts = [(0, 80_000), (80_000, 160_000), (160_000, len(audio))]
    expected = np.concatenate([alone(model, audio=audio[a:b]) for a, b in cuts])
    out = apply_model(model, audio=audio, batch_size=2)  # batches [0, 1], [2]
    assert out.values.shape == (249 + 249 + (113_600 - 400) // 320 + 1, 20)
    np.testing.assert_allclose(out.values, expected, atol=1e-5)
    assert out.fps == pytest.approx(49.8)
    assert out.times_s[249] == pytest.approx(5.0)  # utterance 2 starts at 5 s on the grid


def test_short_song_is_one_utterance():
    model = tiny("audio")
    audio = noise(int(7.4 * SR))  # under 7.5 s: one utterance
    np.testing.assert_allclose(
        apply_model(model, audio=audio).values, alone(model, audio=audio), atol=1e-5
    )


def test_video_model_runs_on_its_own_50_fps_grid():
    model = tiny("video")
    crops = lips(620)  # 12.4 s: 0-5 s, 5-12.4 s -> 250 + 370 frames
    expected = np.concatenate([alone(model, video=crops[:250]), alone(model, video=crops[250:])])
    out = apply_model(model, audio=noise(int(12.4 * SR)), video=crops)
    assert out.fps == 50.0 and out.values.shape == (620, 20)
    np.testing.assert_allclose(out.values, expected, atol=1e-5)


def test_video_only_model_without_video_is_an_error():
    with pytest.raises(DataError, match="video"):
        apply_model(tiny("video"), audio=noise(SR))


def test_audio_visual_cuts_video_with_the_audio_utterances():
    model = tiny("audio_visual")
    audio, crops = noise(int(12.4 * SR)), lips(620)
    expected = np.concatenate(
        [
            alone(model, audio=audio[:80_000], video=crops[:250]),
            alone(model, audio=audio[80_000:], video=crops[250:]),
        ]
    )
    with_video = apply_model(model, audio=audio, video=crops).values
    np.testing.assert_allclose(with_video, expected, atol=1e-5)
    zeros = apply_model(model, audio=audio).values  # no video: a zero video stream
    assert not np.allclose(with_video, zeros, atol=1e-3)


def test_a_system_never_consumes_video():
    model = tiny("audio_visual", takes_video=False)
    assert not model.uses_video
    audio, crops = noise(int(6 * SR)), lips(300)
    np.testing.assert_array_equal(
        apply_model(model, audio=audio, video=crops).values, apply_model(model, audio=audio).values
    )
    with torch.no_grad():  # also when called directly with crops
        direct = model(audio=torch.from_numpy(audio)[None], video=torch.from_numpy(crops)[None])
    np.testing.assert_allclose(direct.logits[0].numpy(), apply_model(model, audio=audio).values)


def test_stage_2_features_give_what_the_whole_model_gives_on_raw_inputs():
    """Encoder features per stream, cut again by the same grid, then fusion + head == raw."""
    model = tiny("audio_visual")
    n = int(12.4 * SR)
    audio, crops = noise(n), lips(645)  # video 12.9 s alone would make 3 utterances, audio 2
    audio_features = encode_song(model, audio=audio).values
    video_model = tiny("video")
    video_model.video_encoder.load_state_dict(model.video_encoder.state_dict())
    video_features = encode_song(video_model, video=crops, n_samples=n).values
    assert video_features.shape[0] == 645
    raw = apply_model(model, audio=audio, video=crops).values
    from_features = apply_model(
        model, audio=audio_features, video=video_features, features=True, n_samples=n
    ).values
    np.testing.assert_allclose(from_features, raw, atol=1e-5)


def test_a_lip_reading_model_reads_each_shot_as_a_song_of_its_own():
    model = tiny("video")
    crops = lips(620)
    shots = [(0, 200), (200, 430), (430, 620)]
    expected = np.concatenate([apply_model(model, video=crops[a:b]).values for a, b in shots])
    out = apply_model(model, video=crops, video_cuts=[200, 430])
    assert out.fps == 50.0
    np.testing.assert_allclose(out.values, expected, atol=1e-5)
    assert not np.allclose(out.values, apply_model(model, video=crops).values, atol=1e-3)


def test_an_audio_visual_model_splits_audio_and_video_at_a_cut():
    model = tiny("audio_visual")
    audio, crops = noise(int(12.4 * SR)), lips(620)
    # a cut at crop 300 (6 s): sample 96 000, audio-grid frame round(6 * 49.8) = 299
    first = apply_model(model, audio=audio[:96_000], video=crops[:300]).values
    second = apply_model(model, audio=audio[96_000:], video=crops[300:]).values
    out = apply_model(model, audio=audio, video=crops, video_cuts=[300]).values
    assert out.shape == apply_model(model, audio=audio, video=crops).values.shape
    assert len(first) + len(second) == len(out)
    np.testing.assert_allclose(out, np.concatenate([first, second]), atol=1e-5)


@pytest.mark.parametrize("cut", [25, 99, 250, 301, 595])
def test_any_cut_keeps_the_length_and_the_frame_times_of_one_pass(cut):
    model = tiny("audio_visual")
    audio, crops = noise(int(12.4 * SR)), lips(620)
    whole = apply_model(model, audio=audio, video=crops)
    split = apply_model(model, audio=audio, video=crops, video_cuts=[cut])
    assert split.values.shape == whole.values.shape and split.fps == whole.fps
    # the first shot from the start; where its own pass is a frame short, its last frame again
    first = apply_model(model, audio=audio[: cut * 320], video=crops[:cut]).values
    np.testing.assert_allclose(split.values[: len(first)], first, atol=1e-5)
    # the second shot from the grid frame nearest the cut's time (cut / 50 s at 49.8 fps)
    start = round(cut / 50.0 * whole.fps)
    assert start - len(first) in (0, 1)
    if start > len(first):
        np.testing.assert_allclose(split.values[len(first)], first[-1], atol=1e-5)
    part = apply_model(model, audio=audio[cut * 320 :], video=crops[cut:]).values
    n = min(len(part), len(split.values) - start)
    np.testing.assert_allclose(split.values[start : start + n], part[:n], atol=1e-5)


def test_models_that_do_not_read_lips_ignore_cuts():
    audio, crops = noise(int(6 * SR)), lips(300)
    for model in (tiny("audio"), tiny("audio_visual", takes_video=False)):
        np.testing.assert_array_equal(
            apply_model(model, audio=audio, video=crops, video_cuts=[100]).values,
            apply_model(model, audio=audio, video=crops).values,
        )


def test_a_cut_that_leaves_a_shot_under_half_a_second_is_not_made():
    model = tiny("video")
    crops = lips(620)
    whole = apply_model(model, video=crops).values
    for cuts in ([1], [619], [24], [596], [0, 620, 700, -5]):
        np.testing.assert_array_equal(
            apply_model(model, video=crops, video_cuts=cuts).values, whole
        )
    # of two cuts 10 crops apart the first is kept, and the second shot runs on from it
    np.testing.assert_array_equal(
        apply_model(model, video=crops, video_cuts=[200, 210]).values,
        apply_model(model, video=crops, video_cuts=[200]).values,
    )


def test_shots_start_only_where_there_is_audio_and_the_last_takes_the_rest():
    model = tiny("audio_visual")
    audio, crops = noise(6 * SR), lips(620)  # the video runs 6.4 s past the audio
    whole = apply_model(model, audio=audio, video=crops).values
    # a cut at 8 s starts no shot: no audio goes with it
    np.testing.assert_array_equal(
        apply_model(model, audio=audio, video=crops, video_cuts=[400]).values, whole
    )
    split = apply_model(model, audio=audio, video=crops, video_cuts=[200]).values
    first = apply_model(model, audio=audio[:64_000], video=crops[:200]).values
    second = apply_model(model, audio=audio[64_000:], video=crops[200:]).values
    assert split.shape == whole.shape == (299, 20)
    shots = np.concatenate([first, second])  # 199 + 99 frames: the last shot's slot is 100
    assert len(shots) == 298
    np.testing.assert_allclose(split[:298], shots, atol=1e-5)
    np.testing.assert_allclose(split[298], second[-1], atol=1e-5)


def test_cuts_need_raw_inputs_of_the_whole_song():
    model = tiny("video")
    with pytest.raises(ValueError, match="video_cuts"):
        apply_model(model, video=lips(300), n_samples=6 * SR, video_cuts=[100])


def test_progress_counts_the_utterances_of_every_shot():
    model = tiny("video")
    seen: list[int] = []
    apply_model(model, video=lips(620), video_cuts=[200, 430], batch_size=2, on_batch=seen.append)
    assert seen == [2, 1]  # three shots of one utterance each, in full batches
