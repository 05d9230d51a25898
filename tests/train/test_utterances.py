import pytest

from avsvt.utterances import DEFAULT_GRID, n_utterances, utterance_slices


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
