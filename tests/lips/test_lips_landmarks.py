"""The region a small face is read in (pure geometry; the face mesh itself is in test_lips_grid)."""

import pytest

from avsvt.lips.landmarks import REGION_PER_FACE, face_region


def test_the_region_is_the_face_times_the_ratio_centred_on_it():
    x0, y0, side = face_region((640.0, 360.0), 100.0, (720, 1280))
    assert side == round(REGION_PER_FACE * 100)
    assert (x0 + side / 2, y0 + side / 2) == pytest.approx((640.0, 360.0), abs=0.5)


@pytest.mark.parametrize(
    "centre", [(10.0, 10.0), (1275.0, 5.0), (3.0, 715.0), (1279.0, 719.0), (640.0, -50.0)]
)
def test_a_face_at_the_edge_gets_a_region_moved_inside_the_frame(centre):
    x0, y0, side = face_region(centre, 80.0, (720, 1280))
    assert side == 200
    assert 0 <= x0 and x0 + side <= 1280
    assert 0 <= y0 and y0 + side <= 720
    # the face's centre, where inside the frame, is inside the region
    cx, cy = min(max(centre[0], 0), 1279), min(max(centre[1], 0), 719)
    assert x0 <= cx <= x0 + side and y0 <= cy <= y0 + side


def test_a_face_too_big_for_the_rule_gets_the_frames_shorter_side():
    x0, y0, side = face_region((640.0, 360.0), 400.0, (720, 1280))
    assert side == 720 and y0 == 0
    assert x0 == 640 - 360
