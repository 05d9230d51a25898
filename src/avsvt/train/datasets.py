"""Utterance datasets for both stages and the batch collation.

Stage 1 reads raw streams: audio utterances (16 kHz samples + 49.8 fps labels) or video utterances
(uint8 mouth crops + 50 fps labels). Stage 2 reads precomputed per-song features ((T, D) arrays at
49.8 fps for audio, 50 fps for video, the video cut or zero-padded to the audio length as the
reference does, section 6.4). Labels are built from the song's notes on the fly
(:func:`avsvt.labels.notes_to_labels`), cached per song, and sliced like the streams.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch

from avsvt.constants import AUDIO_FPS, SAMPLE_RATE, SILENT_OCTAVE, SILENT_PITCH_CLASS, VIDEO_FPS
from avsvt.data.audio import audio_info, read_audio
from avsvt.data.n20em import Song
from avsvt.data.video import read_video, video_shape
from avsvt.errors import DataError
from avsvt.labels import LabelArray, n_label_frames, notes_to_labels
from avsvt.train.utterances import UtteranceSpan, song_utterances

SILENCE_LABEL = (0, 1, SILENT_OCTAVE, SILENT_PITCH_CLASS)

AudioLoader = Callable[[Song], npt.NDArray[np.float32]]
"""Returns a song's 16 kHz waveform (clean vocals, or a noisy mixture)."""


def clean_vocals(song: Song) -> npt.NDArray[np.float32]:
    """The song's clean ``vocals.wav``."""
    return read_audio(song.vocals_path)


@dataclass(frozen=True)
class Utterance:
    """One utterance ready for batching: streams as tensors, labels (T, 4) int64."""

    song_id: str
    index: int
    count: int
    labels: torch.Tensor
    audio: torch.Tensor | None = None  # (samples,) float32 or (T, D) features
    video: torch.Tensor | None = None  # (T, H, W) uint8 or (T, D) features


@dataclass(frozen=True)
class Batch:
    """Right-zero-padded batch with lengths (labels padded with silence rows)."""

    song_ids: list[str]
    indices: list[int]
    counts: list[int]
    labels: torch.Tensor  # (B, T_label, 4)
    label_lengths: torch.Tensor  # (B,)
    audio: torch.Tensor | None
    audio_lengths: torch.Tensor | None
    video: torch.Tensor | None
    video_lengths: torch.Tensor | None

    def to(self, device: torch.device | str) -> Batch:
        """Move every tensor to ``device``."""

        def move(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.to(device, non_blocking=True)

        return Batch(
            self.song_ids,
            self.indices,
            self.counts,
            self.labels.to(device),
            self.label_lengths.to(device),
            move(self.audio),
            move(self.audio_lengths),
            move(self.video),
            move(self.video_lengths),
        )


def pad_batch(tensors: Sequence[torch.Tensor], fill: Sequence[float] | float = 0) -> torch.Tensor:
    """Stack (T_i, ...) tensors into (B, max T, ...), filled with ``fill`` after each one."""
    longest = max(t.shape[0] for t in tensors)
    out = torch.empty((len(tensors), longest, *tensors[0].shape[1:]), dtype=tensors[0].dtype)
    out[:] = torch.as_tensor(fill, dtype=out.dtype)
    for i, t in enumerate(tensors):
        out[i, : t.shape[0]] = t
    return out


def collate(items: Sequence[Utterance]) -> Batch:
    """Pad a list of utterances into a :class:`Batch`."""

    def stream(name: str) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        tensors = [getattr(it, name) for it in items]
        if tensors[0] is None:
            return None, None
        lengths = torch.tensor([t.shape[0] for t in tensors], dtype=torch.long)
        return pad_batch(tensors), lengths

    audio, audio_lengths = stream("audio")
    video, video_lengths = stream("video")
    return Batch(
        song_ids=[it.song_id for it in items],
        indices=[it.index for it in items],
        counts=[it.count for it in items],
        labels=pad_batch([it.labels for it in items], SILENCE_LABEL),
        label_lengths=torch.tensor([it.labels.shape[0] for it in items], dtype=torch.long),
        audio=audio,
        audio_lengths=audio_lengths,
        video=video,
        video_lengths=video_lengths,
    )


class _SongUtterances(torch.utils.data.Dataset[Utterance]):
    """Common part: a flat list of (song, span) pairs in song order and per-song label caches."""

    def __init__(self, songs: Sequence[Song], spans: list[tuple[Song, UtteranceSpan]]) -> None:
        self.songs = list(songs)
        self.spans = spans
        self._labels: dict[tuple[str, float], LabelArray] = {}

    def __len__(self) -> int:
        return len(self.spans)

    def song_labels(self, song: Song, n_frames: int, fps: float) -> LabelArray:
        """Whole-song labels, built once per song and frame rate."""
        key = (song.song_id, fps)
        if key not in self._labels:
            self._labels[key] = notes_to_labels(song.notes, n_frames, fps)
        return self._labels[key]

    def durations_s(self) -> list[float]:
        """Length of every utterance in seconds (for duration-sorted batching)."""
        return [(s.samples.stop - s.samples.start) / SAMPLE_RATE for _, s in self.spans]


def _audio_spans(songs: Sequence[Song]) -> list[tuple[Song, UtteranceSpan]]:
    spans = []
    for song in songs:
        info = audio_info(song.vocals_path)
        n_samples = round(info.frames * SAMPLE_RATE / info.samplerate)
        n_audio = n_label_frames(n_samples, AUDIO_FPS)
        n_video = n_label_frames(n_samples, VIDEO_FPS)
        spans += [
            (song, s)
            for s in song_utterances(
                song.song_id, n_samples=n_samples, n_audio_frames=n_audio, n_video_frames=n_video
            )
        ]
    return spans


@dataclass(frozen=True)
class AccompMix:
    """Multi-condition training: the song's own accompaniment mixed into some utterances.

    Utterance ``i`` is mixed with probability ``probability`` at an SNR drawn uniformly from
    ``snr_db`` (reference mixing rule), both drawn from ``default_rng([seed, i])``: the same
    utterances get the same mixtures in every epoch and every run.

    Attributes:
        probability: Share of utterances mixed (0 = off, the reference's clean stage 1).
        snr_db: (lowest, highest) SNR in dB.
        seed: Seed of the draws.
    """

    probability: float = 0.0
    snr_db: tuple[float, float] = (0.0, 20.0)
    seed: int = 0


class AudioUtterances(_SongUtterances):
    """Stage-1 audio: (samples,) float32 waveforms and 49.8 fps labels per utterance.

    Args:
        songs: Songs to cut into utterances.
        load_audio: Returns a song's waveform; clean vocals by default, or a noisy mixture.
        cache_songs: Keep decoded songs in memory (fine for the embedded corpus).
        accomp_mix: Mix the accompaniment into some utterances (see :class:`AccompMix`).
    """

    def __init__(
        self,
        songs: Sequence[Song],
        *,
        load_audio: AudioLoader = clean_vocals,
        cache_songs: bool = True,
        accomp_mix: AccompMix | None = None,
    ) -> None:
        super().__init__(songs, _audio_spans(songs))
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
        labels = self.song_labels(song, n_label_frames(len(audio), AUDIO_FPS), AUDIO_FPS)
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
    """Stage-1 video: (T, H, W) uint8 mouth crops and 50 fps labels per utterance."""

    def __init__(self, songs: Sequence[Song]) -> None:
        spans = []
        for song in songs:
            n_video = video_shape(song.video_path)[0]
            n_samples = round(n_video / VIDEO_FPS * SAMPLE_RATE)
            spans += [
                (song, s)
                for s in song_utterances(
                    song.song_id,
                    n_samples=n_samples,
                    n_audio_frames=n_label_frames(n_samples, AUDIO_FPS),
                    n_video_frames=n_video,
                )
            ]
        super().__init__(songs, spans)
        self._video: dict[str, npt.NDArray[np.uint8]] = {}

    def __getitem__(self, i: int) -> Utterance:
        song, span = self.spans[i]
        if song.song_id not in self._video:
            self._video[song.song_id] = read_video(song.video_path)
        video = self._video[song.song_id]
        labels = self.song_labels(song, len(video), VIDEO_FPS)
        return Utterance(
            song.song_id,
            span.index,
            span.count,
            labels=torch.from_numpy(labels[span.video_frames]),
            video=torch.from_numpy(np.ascontiguousarray(video[span.video_frames])),
        )


def align_video_features(
    video: npt.NDArray[np.float32], n_audio_frames: int
) -> npt.NDArray[np.float32]:
    """Cut or zero-pad video features (T_v, D) to the audio frame count, as the reference does."""
    if len(video) >= n_audio_frames:
        return video[:n_audio_frames]
    pad = np.zeros((n_audio_frames - len(video), video.shape[1]), dtype=video.dtype)
    return np.concatenate([video, pad])


class FeatureUtterances(_SongUtterances):
    """Stage 2: per-song (T, D) features for audio (and video), 49.8 fps labels.

    Args:
        songs: Songs to use.
        audio_feature_path: Maps a song to its audio feature file ((T, D) float32 .npy).
        video_feature_path: Maps a song to its video feature file, or None for the "A" system
            (the model then feeds zeros for video, as the reference does).
    """

    def __init__(
        self,
        songs: Sequence[Song],
        *,
        audio_feature_path: Callable[[Song], Path],
        video_feature_path: Callable[[Song], Path] | None = None,
    ) -> None:
        self.audio_feature_path = audio_feature_path
        self.video_feature_path = video_feature_path
        self._features: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
        spans = []
        for song in songs:
            n_audio = _npy_rows(audio_feature_path(song))
            n_samples = round(n_audio / AUDIO_FPS * SAMPLE_RATE)
            spans += [
                (song, s)
                for s in song_utterances(
                    song.song_id,
                    n_samples=n_samples,
                    n_audio_frames=n_audio,
                    n_video_frames=n_label_frames(n_samples, VIDEO_FPS),
                )
            ]
        super().__init__(songs, spans)

    def _song_features(self, song: Song) -> tuple[np.ndarray, np.ndarray | None]:
        if song.song_id not in self._features:
            audio = np.load(self.audio_feature_path(song)).astype(np.float32)
            video = None
            if self.video_feature_path is not None:
                raw = np.load(self.video_feature_path(song)).astype(np.float32)
                video = align_video_features(raw, len(audio))
            self._features[song.song_id] = (audio, video)
        return self._features[song.song_id]

    def __getitem__(self, i: int) -> Utterance:
        song, span = self.spans[i]
        audio, video = self._song_features(song)
        labels = self.song_labels(song, len(audio), AUDIO_FPS)
        rows = span.audio_frames
        return Utterance(
            song.song_id,
            span.index,
            span.count,
            labels=torch.from_numpy(labels[rows]),
            audio=torch.from_numpy(np.ascontiguousarray(audio[rows])),
            video=None if video is None else torch.from_numpy(np.ascontiguousarray(video[rows])),
        )


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
