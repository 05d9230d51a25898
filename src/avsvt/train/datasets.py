"""Utterance datasets for both stages (batched with :func:`avsvt.models.apply.collate`).

Stage 1 reads raw streams: audio utterances (16 kHz samples + 49.8 fps labels) or video utterances
(uint8 mouth crops + 50 fps labels). Stage 2 reads precomputed per-song features ((T, D) arrays at
49.8 fps for audio, 50 fps for video, each cut on its own grid; the model aligns each utterance's
video to its audio, cut or zero-padded as the reference does, section 6.4). Labels are built from
the song's notes on the fly (:func:`avsvt.labels.notes_to_labels`), cached per song, and sliced
like the streams.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch

from avsvt.constants import SAMPLE_RATE
from avsvt.data.audio import audio_info, read_audio
from avsvt.data.n20em import Song
from avsvt.data.video import read_video, video_shape
from avsvt.errors import DataError
from avsvt.labels import LabelArray, n_label_frames, notes_to_labels
from avsvt.models.apply import Utterance
from avsvt.notes import Note
from avsvt.train.settings import AccompMix, VideoSpeedup
from avsvt.utterances import DEFAULT_GRID, UtteranceGrid, UtteranceSpan

AudioLoader = Callable[[Song], npt.NDArray[np.float32]]
"""Returns a song's 16 kHz waveform (clean vocals, or a noisy mixture)."""


def clean_vocals(song: Song) -> npt.NDArray[np.float32]:
    """The song's clean ``vocals.wav``."""
    return read_audio(song.vocals_path)


class _SongUtterances(torch.utils.data.Dataset[Utterance]):
    """Common part: a flat list of (song, span) pairs in song order and per-song label caches."""

    def __init__(
        self,
        songs: Sequence[Song],
        spans: list[tuple[Song, UtteranceSpan]],
        grid: UtteranceGrid = DEFAULT_GRID,
    ) -> None:
        self.songs = list(songs)
        self.spans = spans
        self.grid = grid
        self._labels: dict[tuple[str, float], LabelArray] = {}

    def __len__(self) -> int:
        return len(self.spans)

    def song_items(self) -> dict[str, list[int]]:
        """``{song_id: indices of its utterances, in order}``, songs in dataset order."""
        items: dict[str, list[int]] = {}
        for i, (song, _) in enumerate(self.spans):
            items.setdefault(song.song_id, []).append(i)
        return items

    def song_labels(self, song: Song, n_frames: int, fps: float) -> LabelArray:
        """Whole-song labels, built once per song and frame rate."""
        key = (song.song_id, fps)
        if key not in self._labels:
            self._labels[key] = notes_to_labels(song.notes, n_frames, fps)
        return self._labels[key]

    def durations_s(self) -> list[float]:
        """Length of every utterance in seconds (for duration-sorted batching)."""
        return [(s.samples.stop - s.samples.start) / SAMPLE_RATE for _, s in self.spans]


def song_samples(song: Song) -> int:
    """The song's length in 16 kHz samples (its vocals, as read and resampled)."""
    info = audio_info(song.vocals_path)
    return int(round(info.frames * SAMPLE_RATE / info.samplerate))


def _audio_spans(songs: Sequence[Song], grid: UtteranceGrid) -> list[tuple[Song, UtteranceSpan]]:
    spans = []
    for song in songs:
        n_samples = song_samples(song)
        spans += [
            (song, s)
            for s in grid.spans(
                song.song_id,
                n_samples=n_samples,
                n_audio_frames=n_label_frames(n_samples, grid.audio_fps),
                n_video_frames=n_label_frames(n_samples, grid.video_fps),
            )
        ]
    return spans


class AudioUtterances(_SongUtterances):
    """Stage-1 audio: (samples,) float32 waveforms and 49.8 fps labels per utterance.

    Args:
        songs: Songs to cut into utterances.
        load_audio: Returns a song's waveform; clean vocals by default, or a noisy mixture.
        cache_songs: Keep decoded songs in memory (fine for the embedded corpus).
        accomp_mix: Mix the accompaniment into some utterances (see :class:`AccompMix`).
        grid: The model's utterance grid (the reference's 5-s cut by default).
    """

    def __init__(
        self,
        songs: Sequence[Song],
        *,
        load_audio: AudioLoader = clean_vocals,
        cache_songs: bool = True,
        accomp_mix: AccompMix | None = None,
        grid: UtteranceGrid = DEFAULT_GRID,
    ) -> None:
        super().__init__(songs, _audio_spans(songs, grid), grid)
        self.load_audio = load_audio
        self.cache_songs = cache_songs
        self.accomp_mix = accomp_mix
        self._audio: dict[str, npt.NDArray[np.float32]] = {}
        self._accomp: dict[str, npt.NDArray[np.float32]] = {}

    def _mixed(self, i: int, song: Song, span: UtteranceSpan, audio: np.ndarray) -> np.ndarray:
        from avsvt.noise.mixing import mix

        config = self.accomp_mix
        if config is None or config.probability <= 0:
            return audio
        rng = np.random.default_rng([config.seed, i])
        if rng.random() >= config.probability:
            return audio
        snr_db = float(rng.uniform(*config.snr_db))
        if song.song_id not in self._accomp:
            self._accomp[song.song_id] = read_audio(song.accomp_path)
        accomp = self._accomp[song.song_id][span.samples]
        if len(accomp) != len(audio):
            raise DataError("accompaniment shorter than the vocals", path=song.accomp_path)
        return mix(audio, accomp, snr_db).astype(np.float32)

    def _waveform(self, song: Song) -> npt.NDArray[np.float32]:
        if song.song_id in self._audio:
            return self._audio[song.song_id]
        audio = self.load_audio(song)
        if self.cache_songs:
            self._audio[song.song_id] = audio
        return audio

    def __getitem__(self, i: int) -> Utterance:
        song, span = self.spans[i]
        audio = self._waveform(song)
        fps = self.grid.audio_fps
        labels = self.song_labels(song, n_label_frames(len(audio), fps), fps)
        return Utterance(
            song.song_id,
            span.index,
            span.count,
            labels=torch.from_numpy(labels[span.audio_frames]),
            audio=torch.from_numpy(
                np.ascontiguousarray(self._mixed(i, song, span, audio[span.samples]))
            ),
        )


class VideoUtterances(_SongUtterances):
    """Stage-1 video: (T, H, W) uint8 mouth crops and 50 fps labels per utterance.

    The utterance count comes from the video's own length (a video-only model never sees the
    audio), as :func:`avsvt.models.apply.apply_model` does for a video-only model. ``speedup``
    plays some utterances' lips faster (:class:`avsvt.train.settings.VideoSpeedup`).
    """

    def __init__(
        self,
        songs: Sequence[Song],
        *,
        grid: UtteranceGrid = DEFAULT_GRID,
        speedup: VideoSpeedup | None = None,
    ) -> None:
        spans = []
        for song in songs:
            n_video = video_shape(song.video_path)[0]
            n_samples = grid.samples_of_video(n_video)
            spans += [
                (song, s)
                for s in grid.spans(
                    song.song_id,
                    n_samples=n_samples,
                    n_audio_frames=n_label_frames(n_samples, grid.audio_fps),
                    n_video_frames=n_video,
                )
            ]
        super().__init__(songs, spans, grid)
        self.speedup = speedup
        self._video: dict[str, npt.NDArray[np.uint8]] = {}

    def _factor(self, i: int) -> float:
        config = self.speedup
        if config is None or config.probability <= 0:
            return 1.0
        rng = np.random.default_rng([config.seed, i])
        if rng.random() >= config.probability:
            return 1.0
        return float(rng.uniform(*config.factor))

    def __getitem__(self, i: int) -> Utterance:
        song, span = self.spans[i]
        if song.song_id not in self._video:
            self._video[song.song_id] = read_video(song.video_path)
        video = self._video[song.song_id]
        fps = self.grid.video_fps
        factor = self._factor(i)
        if factor == 1.0:
            labels = self.song_labels(song, len(video), fps)[span.video_frames]
            crops = video[span.video_frames]
        else:
            labels, crops = sped_up(song.notes, video, span.video_frames, fps, factor)
        return Utterance(
            song.song_id,
            span.index,
            span.count,
            labels=torch.from_numpy(labels),
            video=torch.from_numpy(np.ascontiguousarray(crops)),
        )


def sped_up(
    notes: Sequence[Note],
    video: npt.NDArray[np.uint8],
    frames: slice,
    fps: float,
    factor: float,
) -> tuple[LabelArray, npt.NDArray[np.uint8]]:
    """One utterance's labels and crops played ``factor`` times faster from its first frame.

    Args:
        notes: The song's notes.
        video: (T, H, W) the song's crops at ``fps``.
        frames: The utterance's frames (a slice of ``video``).
        fps: Frame rate of crops and labels.
        factor: Speed-up (>= 1).

    Returns:
        (n, 4) labels and (n, H, W) crops, n the utterance's frame count: output frame ``j``
        shows crop ``start + floor(j * factor)`` (the last crop past the end) and is labelled
        from the notes with time ``t`` moved to ``start_s + (t - start_s) / factor``.
    """
    start, stop, _ = frames.indices(len(video))
    n = stop - start
    source = np.minimum(start + np.floor(np.arange(n) * factor).astype(np.int64), len(video) - 1)
    start_s = start / fps
    moved = [
        Note(
            start_s + (note.onset_s - start_s) / factor,
            start_s + (note.offset_s - start_s) / factor,
            note.pitch_midi,
        )
        for note in notes
        if note.offset_s > start_s
    ]
    labels = notes_to_labels(moved, stop, fps)[start:stop]
    return labels, video[source]


class FeatureUtterances(_SongUtterances):
    """Stage 2: per-song (T, D) features for audio (and video), labels on the audio grid.

    Each stream is cut with the grid the features were extracted on: the utterance count from
    the song's sample count, audio feature rows by 249 per utterance, video feature rows by 250
    (each utterance's video is aligned to its audio inside the model, reference 6.4, exactly as
    when the whole model runs on raw inputs).

    Args:
        songs: Songs to use.
        audio_feature_path: Maps a song to its audio feature file ((T, D) float32 .npy).
        video_feature_path: Maps a song to its video feature file, or None for the "A" system
            (the model then feeds zeros for video, as the reference does).
        grid: The utterance grid of the stage-1 models.
    """

    def __init__(
        self,
        songs: Sequence[Song],
        *,
        audio_feature_path: Callable[[Song], Path],
        video_feature_path: Callable[[Song], Path] | None = None,
        grid: UtteranceGrid = DEFAULT_GRID,
    ) -> None:
        self.audio_feature_path = audio_feature_path
        self.video_feature_path = video_feature_path
        self._features: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
        spans = []
        for song in songs:
            n_audio = _npy_rows(audio_feature_path(song))
            n_video = _npy_rows(video_feature_path(song)) if video_feature_path else 0
            spans += [
                (song, s)
                for s in grid.spans(
                    song.song_id,
                    n_samples=song_samples(song),
                    n_audio_frames=n_audio,
                    n_video_frames=n_video,
                )
            ]
        super().__init__(songs, spans, grid)

    def song_features(self, song: Song) -> tuple[np.ndarray, np.ndarray | None]:
        """The song's whole (T, D) audio features and (Tv, D) video features (or None)."""
        if song.song_id not in self._features:
            audio = np.load(self.audio_feature_path(song)).astype(np.float32)
            video = None
            if self.video_feature_path is not None:
                video = np.load(self.video_feature_path(song)).astype(np.float32)
            self._features[song.song_id] = (audio, video)
        return self._features[song.song_id]

    def __getitem__(self, i: int) -> Utterance:
        song, span = self.spans[i]
        audio, video = self.song_features(song)
        labels = self.song_labels(song, len(audio), self.grid.audio_fps)
        rows = span.audio_frames
        return Utterance(
            song.song_id,
            span.index,
            span.count,
            labels=torch.from_numpy(labels[rows]),
            audio=torch.from_numpy(np.ascontiguousarray(audio[rows])),
            video=None
            if video is None
            else torch.from_numpy(np.ascontiguousarray(video[span.video_frames])),
        )


class PooledUtterances(_SongUtterances):
    """Several datasets of the same songs as one, for training: the parts' items one after another.

    Stage 2 pools a condition's features with other noises' (``stage2.train_types``). Scoring
    stitches utterances by song, so a pool is for training only; validate on one part.
    """

    def __init__(self, parts: Sequence[_SongUtterances]) -> None:
        if not parts:
            raise ValueError("a pool needs at least one dataset")
        self.parts = list(parts)
        self._starts = np.cumsum([0] + [len(p) for p in self.parts])
        super().__init__(
            self.parts[0].songs, [item for p in self.parts for item in p.spans], self.parts[0].grid
        )

    def __getitem__(self, i: int) -> Utterance:
        if not 0 <= i < len(self):
            raise IndexError(i)
        part = int(np.searchsorted(self._starts, i, side="right")) - 1
        return self.parts[part][i - int(self._starts[part])]


def _npy_rows(path: Path) -> int:
    if not path.is_file():
        raise DataError("feature file not found (run feature extraction first)", path=path)
    try:
        return int(np.load(path, mmap_mode="r", allow_pickle=False).shape[0])
    except (ValueError, OSError) as exc:
        raise DataError(f"not a readable .npy feature array ({exc})", path=path) from exc


def epoch_order(
    n_items: int,
    *,
    epoch: int,
    seed: int,
    shuffle: bool,
    durations_s: Sequence[float] | None = None,
) -> list[int]:
    """Item order for one epoch.

    A seeded permutation by default; with ``shuffle`` off, the reference's ascending duration sort
    (quirk Q8: the same order every epoch).
    """
    if shuffle:
        generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
        return torch.randperm(n_items, generator=generator).tolist()
    if durations_s is None:
        return list(range(n_items))
    return sorted(range(n_items), key=lambda i: (durations_s[i], i))


def batches(order: Sequence[int], batch_size: int) -> Iterator[list[int]]:
    """Consecutive chunks of ``order`` of at most ``batch_size`` items."""
    for start in range(0, len(order), batch_size):
        yield list(order[start : start + batch_size])
