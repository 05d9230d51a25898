import pytest

from avsvt.utterances import DEFAULT_GRID, n_utterances, shot_bounds, utterance_slices


@pytest.mark.parametrize(
    ("duration_s", "expected"),
    [(1.0, 1), (2.49, 1), (2.5, 1), (7.49, 1), (7.5, 2), (10.0, 2), (12.5, 3), (17.4, 3)],
)
def test_utterance_count_rounds_half_up_and_never_drops_a_song(duration_s, expected):
    assert n_utterances(duration_s) == expected


def test_last_utterance_absorbs_2_5_to_7_5_seconds():
    for tenths in range(25, 400):
        duration_s = tenths / 10
        count = n_utterances(duration_s)
        last_s = duration_s - 5 * (count - 1)
        assert 0 < last_s <= 7.5
        if count > 1:
            assert last_s >= 2.5


def test_slices_cover_every_item_once():
    slices = utterance_slices(1000, 249, 4)
    covered = [i for s in slices for i in range(s.start, s.stop)]
    assert covered == list(range(1000))
    assert [s.stop - s.start for s in slices] == [249, 249, 249, 253]


def test_song_utterances_align_streams():
    spans = DEFAULT_GRID.spans("s", n_samples=16000 * 12, n_audio_frames=598, n_video_frames=600)
    assert len(spans) == 2
    assert spans[0].samples == slice(0, 80000) and spans[1].samples == slice(80000, 192000)
    assert spans[0].audio_frames == slice(0, 249) and spans[1].audio_frames == slice(249, 598)
    assert spans[1].video_frames == slice(250, 600)
    assert all(s.count == 2 for s in spans)


def test_shot_bounds_keep_shots_of_half_a_second_and_more():
    assert shot_bounds([], 500, 50.0) == [0, 500]
    assert shot_bounds([250, 100], 500, 50.0) == [0, 100, 250, 500]  # any order
    assert shot_bounds([25], 500, 50.0) == [0, 25, 500]  # exactly 0.5 s is a shot
    assert shot_bounds([24], 500, 50.0) == [0, 500]  # 0.48 s from the start: no shot of its own
    assert shot_bounds([476], 500, 50.0) == [0, 500]  # 0.48 s before the end
    assert shot_bounds([100, 110, 140], 500, 50.0) == [0, 100, 140, 500]  # 110: 0.2 s after 100
    assert shot_bounds([0, -3, 500, 900], 500, 50.0) == [0, 500]
    assert shot_bounds([15], 100, 30.0) == [0, 15, 100]  # 0.5 s at 30 fps
    kept = shot_bounds([3, 40, 41, 90, 130, 131, 200, 480], 500, 50.0)
    assert shot_bounds(kept[1:-1], 500, 50.0) == kept  # what it keeps, it keeps
