"""mediapipe's C++ log lines and numpy warnings stay out of a user's terminal (issue 15 item 20).

The C++ lines are written straight to file descriptor 2, so only a subprocess (or ``capfd``,
which captures at the descriptor level) can see them; ``capsys`` cannot.
"""

import logging
import os
import subprocess
import sys
import warnings

import numpy as np

from avsvt.lips.geometry import fill_gaps
from avsvt.lips.landmarks import quiet_native_stderr


def test_quiet_block_drops_descriptor_2_nests_and_gives_it_back(capfd):
    with quiet_native_stderr():
        os.write(2, b"outer\n")
        with quiet_native_stderr():
            os.write(2, b"inner\n")
        os.write(2, b"still quiet\n")
    os.write(2, b"shown\n")
    assert capfd.readouterr().err == "shown\n"


def test_quiet_block_lets_everything_through_at_debug(capfd):
    logger = logging.getLogger("avsvt")
    old = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        with quiet_native_stderr():
            os.write(2, b"native line\n")
    finally:
        logger.setLevel(old)
    assert capfd.readouterr().err == "native line\n"


def test_repeated_timestamps_in_a_gap_give_no_numpy_warning():
    """A broken file may repeat a timestamp around a lost face: the interpolation divided 0/0."""
    points = np.stack([np.full((4, 2), float(i)) for i in range(5)])
    points[2] = np.nan
    times = np.array([0.0, 0.04, 0.04, 0.04, 0.16])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = fill_gaps(points, times, max_gap_s=0.5)
    assert not report.missing.any()
    np.testing.assert_allclose(report.filled[2], 2.0)  # half way between frames 1 and 3


CROPS = (
    "import logging, sys\n"
    "if sys.argv[2] == '-v': logging.basicConfig(level=logging.DEBUG)\n"
    "from avsvt.lips import mouth_crops_from_video\n"
    "track = mouth_crops_from_video(sys.argv[1])\n"
    "print(track.n_frames, track.face_found)\n"
)


def test_mouth_crops_of_a_grid_clip_print_no_mediapipe_lines(grid):
    clip = str(sorted(grid.glob("*.mpg"))[0])
    quiet = subprocess.run(
        [sys.executable, "-c", CROPS, clip, "-"], capture_output=True, text=True, timeout=300
    )
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout.split() == ["150", "True"]
    assert quiet.stderr == "", quiet.stderr
    verbose = subprocess.run(
        [sys.executable, "-c", CROPS, clip, "-v"], capture_output=True, text=True, timeout=300
    )
    assert verbose.returncode == 0, verbose.stderr
    # with DEBUG on, mediapipe's own lines are let through (mediapipe 0.10.21 writes these)
    assert "W0000" in verbose.stderr or "TensorFlow Lite" in verbose.stderr


def test_a_small_face_read_by_the_far_detector_prints_no_mediapipe_lines(grid, tmp_path):
    """The full-range detector is a third graph, started only for a face the mesh misses."""
    from avsvt.lips import read_video_frames
    from videos import small_in_wide_frames, write_video

    # in this clip the region loses the face once, and the mesh there is rebuilt: the rebuilt
    # graph's start-up line leaked when the rebuild did not wait for it
    frames, _, _ = read_video_frames(grid / "lrwp9a.mpg")
    path = write_video(tmp_path / "wide.mp4", small_in_wide_frames(frames, 180))
    quiet = subprocess.run(
        [sys.executable, "-c", CROPS, str(path), "-"], capture_output=True, text=True, timeout=300
    )
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout.split() == ["150", "True"]
    assert quiet.stderr == "", quiet.stderr
