"""The one inference engine: a song's inputs -> the model's native utterances -> stitched outputs.

Every place that runs a model over whole songs goes through here: training-time evaluation
(:mod:`avsvt.train.evaluate`), stage-1 feature extraction (:mod:`avsvt.recipes.features`) and
``avsvt transcribe`` (:mod:`avsvt.transcribe.api`). So the score the recipe reports for a model
is, by construction, the score ``avsvt transcribe`` gets on the same songs (a video that cuts
from shot to shot is read shot by shot, ``video_cuts``; the corpus' songs are single shots).
One exception: an AV model reads a flat crop (the lip front end's frame without a face) as no
video there when it runs on crops, while stage 2 on cached encoder features has no such mask;
neither the generated corpora nor the reference's N20EMv2 crops (missing landmarks are
interpolated) have flat crops.

The steps, for one song:

1. **cut** each input stream into the model's utterances (:class:`avsvt.utterances.UtteranceGrid`
   of the model's config: 5-s utterances, 80 000 samples, 249 audio frames or 250 video frames
   each, the last one taking the remainder), the cut training uses;
2. **batch** consecutive utterances (right zero-padded, with lengths, :func:`collate`);
3. **forward** each batch (raw inputs through :meth:`Transcriber.forward`, or precomputed encoder
   features through :meth:`Transcriber.forward_features`, or any ``forward`` callable);
4. **stitch**: each utterance's valid output frames, concatenated in order;
5. **times**: stitched frame ``j`` is at ``j / fps``, the model's own frame rate
   (:attr:`ModelConfig.frame_rate`, 49.8 for audio and AV, 50 for video).

Batches hold the utterances of one song only, in order, so a song's outputs do not depend on which
other songs are processed with it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from avsvt.constants import SILENT_OCTAVE, SILENT_PITCH_CLASS, n_ssl_frames
from avsvt.errors import DataError
from avsvt.layout import N_OUTPUTS
from avsvt.models.transcriber import Transcriber
from avsvt.utterances import UtteranceGrid, UtteranceSpan, shot_bounds

SILENCE_LABEL = (0, 1, SILENT_OCTAVE, SILENT_PITCH_CLASS)
"""The label row of a silent frame (also what padding rows of a label batch hold)."""


@dataclass(frozen=True)
class Utterance:
    """One utterance ready for batching: streams as tensors, labels (T, 4) int64 when known.

    Attributes:
        song_id: The song it comes from.
        index: Its position in the song.
        count: The song's number of utterances.
        labels: (T, 4) frame labels, or None (inference).
        audio: (samples,) float32 waveform or (T, D) audio features.
        video: (T, H, W) uint8 mouth crops or (T, D) video features.
    """

    song_id: str
    index: int
    count: int
    labels: torch.Tensor | None = None
    audio: torch.Tensor | None = None
    video: torch.Tensor | None = None


@dataclass(frozen=True)
class Batch:
    """Right-zero-padded batch with lengths (labels padded with silence rows, when known)."""

    song_ids: list[str]
    indices: list[int]
    counts: list[int]
    labels: torch.Tensor  # (B, T_label, 4); (B, 0, 4) when unknown
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
    labels = [it.labels for it in items]
    if any(label is None for label in labels):
        label_batch = torch.zeros((len(items), 0, 4), dtype=torch.long)
        label_lengths = torch.zeros(len(items), dtype=torch.long)
    else:
        known = [label for label in labels if label is not None]
        label_batch = pad_batch(known, SILENCE_LABEL)
        label_lengths = torch.tensor([label.shape[0] for label in known], dtype=torch.long)
    return Batch(
        song_ids=[it.song_id for it in items],
        indices=[it.index for it in items],
        counts=[it.count for it in items],
        labels=label_batch,
        label_lengths=label_lengths,
        audio=audio,
        audio_lengths=audio_lengths,
        video=video,
        video_lengths=video_lengths,
    )


BatchForward = Callable[[Batch], tuple[torch.Tensor, torch.Tensor]]
"""A padded batch -> (outputs (B, T, ...), valid frames (B,))."""


def forward_raw(model: nn.Module, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """A transcriber (or a DDP wrapper of one) on raw inputs: logits and valid frames."""
    logits, lengths = model(
        audio=batch.audio,
        audio_lengths=batch.audio_lengths,
        video=batch.video,
        video_lengths=batch.video_lengths,
    )
    return logits, lengths


def forward_features(model: Transcriber, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """A transcriber on precomputed encoder features (stage 2): logits and valid frames."""
    if batch.audio is None and model.modality != "video":
        raise ValueError(f"a {model.modality} model needs audio features")
    out = model.forward_features(batch.audio, batch.audio_lengths, batch.video, batch.video_lengths)
    return out.logits, out.lengths


@torch.no_grad()
def run_utterances(
    items: Sequence[Utterance],
    forward: BatchForward,
    *,
    batch_size: int,
    device: torch.device | str = "cpu",
    on_batch: Callable[[int], None] | None = None,
) -> list[npt.NDArray[np.float32]]:
    """Run consecutive utterances in padded batches; each one's valid output frames, in order.

    Args:
        items: The utterances (of one song, in order, for the batches to be the song's own).
        forward: Maps a padded batch to outputs (B, T, ...) and valid frames (B,).
        batch_size: Utterances per forward pass.
        device: Where the batches go.
        on_batch: Called with the number of utterances after each batch (progress).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    pieces: list[npt.NDArray[np.float32]] = []
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        outputs, lengths = forward(collate(chunk).to(device))
        for row in range(len(chunk)):
            piece = outputs[row, : int(lengths[row])].float().cpu().numpy()
            pieces.append(piece.astype(np.float32, copy=False))
        if on_batch is not None:
            on_batch(len(chunk))
    return pieces


def stitch(pieces: Sequence[npt.NDArray[np.float32]], width: int) -> npt.NDArray[np.float32]:
    """Concatenate per-utterance outputs (T_i, width) into one song's (T, width) array."""
    if not pieces:
        return np.zeros((0, width), dtype=np.float32)
    return np.concatenate(pieces).astype(np.float32, copy=False)


def _tensor(array: npt.NDArray[np.generic]) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array))


def song_spans(
    grid: UtteranceGrid,
    *,
    n_samples: int,
    audio: npt.NDArray[np.generic] | None,
    video: npt.NDArray[np.generic] | None,
    features: bool,
) -> list[UtteranceSpan]:
    """The cut of one song's streams (audio as samples, or as frames when ``features``)."""
    n_audio = 0 if audio is None else len(audio)
    return grid.spans(
        "",
        n_samples=n_samples,
        n_audio_frames=n_audio if features else 0,
        n_video_frames=0 if video is None else len(video),
    )


def song_utterance_inputs(
    grid: UtteranceGrid,
    *,
    audio: npt.NDArray[np.generic] | None = None,
    video: npt.NDArray[np.generic] | None = None,
    features: bool = False,
    n_samples: int | None = None,
    song_id: str = "",
) -> list[Utterance]:
    """Cut one song's inputs into the grid's utterances (no labels).

    Args:
        grid: The model's utterance grid.
        audio: (N,) 16 kHz samples, or (T, D) audio features when ``features``.
        video: (Tv, H, W) mouth crops or (Tv, D) video features, 50 fps, starting with the audio.
        features: The inputs are encoder features (frames), not raw streams.
        n_samples: The song's length in audio samples, which sets the utterance count; default
            ``len(audio)`` for raw audio, else the span of the video. Give it for features: the
            count must be the one the features were extracted with.
        song_id: Carried into the utterances.
    """
    if n_samples is None:
        if audio is not None and not features:
            n_samples = len(audio)
        elif video is not None:
            n_samples = grid.samples_of_video(len(video))
        else:
            raise ValueError("the song's length is unknown: give n_samples")
    spans = song_spans(grid, n_samples=n_samples, audio=audio, video=video, features=features)
    items = []
    for span in spans:
        audio_part = None
        if audio is not None:
            audio_part = _tensor(audio[span.audio_frames if features else span.samples])
        video_part = None if video is None else _tensor(video[span.video_frames])
        items.append(Utterance(song_id, span.index, span.count, audio=audio_part, video=video_part))
    return items


@dataclass(frozen=True)
class FrameOutputs:
    """A model's stitched outputs for one song and the time of each frame.

    Attributes:
        values: (T, C) outputs (logits for a transcriber, features for an encoder).
        fps: Frame ``j`` is at ``j / fps`` seconds.
    """

    values: npt.NDArray[np.float32]
    fps: float

    @property
    def times_s(self) -> npt.NDArray[np.float64]:
        """(T,) start time of each frame."""
        return np.arange(len(self.values), dtype=np.float64) / self.fps


def check_inputs(
    model: Transcriber,
    audio: npt.NDArray[np.generic] | None,
    video: npt.NDArray[np.generic] | None,
) -> None:
    """Refuse inputs a model cannot run on (one-line :class:`~avsvt.errors.DataError`)."""
    if model.config.uses_audio and (audio is None or len(audio) == 0):
        raise DataError(f"an {model.modality} model needs audio")
    if model.modality == "video" and (video is None or len(video) == 0):
        raise DataError("a video-only model needs the singer's lip video, and none is usable")


def apply_model(
    model: Transcriber,
    *,
    audio: npt.NDArray[np.generic] | None = None,
    video: npt.NDArray[np.generic] | None = None,
    features: bool = False,
    n_samples: int | None = None,
    batch_size: int = 8,
    on_batch: Callable[[int], None] | None = None,
    video_cuts: Sequence[int] = (),
) -> FrameOutputs:
    """Run a transcriber over one whole song: stitched (T, 20) logits on its frame grid.

    Args:
        model: The transcriber (eval mode is set here; it runs where its parameters are).
        audio: (N,) float32 16 kHz waveform, or (T, D) audio features when ``features``.
        video: (Tv, H, W) uint8 mouth crops at 50 fps starting with the audio, or (Tv, D) video
            features. Ignored by models that do not consume video.
        features: Inputs are encoder features (stage 2), run through the projections, fusion
            and head only.
        n_samples: The song's length in samples (see :func:`song_utterance_inputs`).
        batch_size: Utterances per forward pass.
        on_batch: Progress callback, called with the number of utterances of each batch.
        video_cuts: Video frames at which a new shot starts (:attr:`avsvt.lips.LipTrack.cuts`).
            A model that reads the lips runs on each shot as on a song of its own, so no
            utterance holds two shots; each shot's outputs are placed at its start time. The
            shots are :func:`avsvt.utterances.shot_bounds` (a shot under 0.5 s is read with its
            neighbour; no shot starts after the audio ends). ``on_batch`` then counts the
            shots' utterances. Models without video ignore the cuts.

    Raises:
        DataError: The model needs a stream it was not given.
        ValueError: ``video_cuts`` with ``features`` or ``n_samples``.
    """
    if not model.uses_video:
        video = None
    if not model.config.uses_audio:
        audio = None
    check_inputs(model, audio, video)
    if video is not None and video_cuts and (features or n_samples is not None):
        raise ValueError(
            "video_cuts apply to a whole song's raw inputs (no features, no n_samples)"
        )
    model.eval()
    device = next(model.parameters()).device
    grid = model.config.grid

    def forward(batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        return forward_features(model, batch) if features else forward_raw(model, batch)

    if video is not None and video_cuts:
        n_frames = len(video)  # shots start where there is audio to go with the lips
        if audio is not None:
            n_frames = min(n_frames, int(len(audio) * grid.video_fps / grid.sample_rate))
        bounds = shot_bounds(video_cuts, n_frames, grid.video_fps)
        if len(bounds) > 2:
            return _apply_by_shot(
                model, audio, video, bounds, forward, batch_size, device, on_batch
            )
    items = song_utterance_inputs(
        grid, audio=audio, video=video, features=features, n_samples=n_samples
    )
    pieces = run_utterances(items, forward, batch_size=batch_size, device=device, on_batch=on_batch)
    return FrameOutputs(stitch(pieces, N_OUTPUTS), model.frame_rate)


def _output_frames(model: Transcriber, n_samples: int, n_video_frames: int) -> int:
    """Frames a single pass over a song gives (the audio grid's, or the video's for video-only)."""
    spans = model.config.grid.spans("", n_samples=n_samples, n_video_frames=n_video_frames)
    if model.config.uses_audio:  # the encoder's frames of each utterance
        return sum(n_ssl_frames(span.samples.stop - span.samples.start) for span in spans)
    return sum(span.video_frames.stop - span.video_frames.start for span in spans)


def _apply_by_shot(
    model: Transcriber,
    audio: npt.NDArray[np.generic] | None,
    video: npt.NDArray[np.generic],
    bounds: list[int],
    forward: BatchForward,
    batch_size: int,
    device: torch.device,
    on_batch: Callable[[int], None] | None,
) -> FrameOutputs:
    """Each shot's stretch of the song as a song of its own, placed at the shot's start.

    ``bounds`` are :func:`avsvt.utterances.shot_bounds`; the last shot takes whatever audio and
    video follow its start. The utterances of all shots run in one :func:`run_utterances`. The
    result has the length of a single pass; a shot's outputs fill the frames from its start to
    the next shot's (times on the model's grid), and a shot whose own pass gives a frame fewer
    repeats its last frame.
    """
    grid = model.config.grid
    samples_per_frame = grid.sample_rate / grid.video_fps
    n_samples = len(audio) if audio is not None else grid.samples_of_video(len(video))
    n_out = _output_frames(model, n_samples, len(video))
    items: list[Utterance] = []
    counts = []
    for k, (first, last) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        end = None if k == len(bounds) - 2 else last  # the last shot: everything after it
        part_audio = None
        if audio is not None:
            stop = None if end is None else round(end * samples_per_frame)
            part_audio = audio[round(first * samples_per_frame) : stop]
        shot = song_utterance_inputs(grid, audio=part_audio, video=video[first:end], song_id=str(k))
        items += shot
        counts.append(len(shot))
    pieces = run_utterances(items, forward, batch_size=batch_size, device=device, on_batch=on_batch)
    rate = model.frame_rate
    starts = [min(n_out, round(b / grid.video_fps * rate)) for b in bounds[:-1]] + [n_out]
    values = np.zeros((n_out, N_OUTPUTS), dtype=np.float32)
    offset = 0
    for k, count in enumerate(counts):
        part = stitch(pieces[offset : offset + count], N_OUTPUTS)
        offset += count
        lo, hi = starts[k], starts[k + 1]
        if hi <= lo:
            continue
        if len(part) == 0:
            raise DataError(f"shot {k + 1} of the video gave no output frames")
        take = min(len(part), hi - lo)
        values[lo : lo + take] = part[:take]
        values[lo + take : hi] = part[take - 1]
    return FrameOutputs(values, rate)


def encode_song(
    model: Transcriber,
    *,
    audio: npt.NDArray[np.generic] | None = None,
    video: npt.NDArray[np.generic] | None = None,
    n_samples: int | None = None,
    batch_size: int = 8,
) -> FrameOutputs:
    """One stream's encoder features of a whole song, utterance by utterance (give one stream).

    Audio features are (T, D) at the audio grid's rate (49.8 fps), video features (Tv, D) at 50
    fps; the stage-2 datasets cut them again with the same grid. ``n_samples`` (the song's audio
    length) sets the utterance count; give it for video that an audio-visual model will fuse, so
    the video is cut as the audio is (default: see :func:`song_utterance_inputs`).
    """
    if (audio is None) == (video is None):
        raise ValueError("give exactly one of audio and video")
    model.eval()
    device = next(model.parameters()).device
    grid = model.config.grid
    items = song_utterance_inputs(grid, audio=audio, video=video, n_samples=n_samples)
    stream = "audio" if audio is not None else "video"

    def forward(batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        if stream == "audio":
            out = model.encode(audio=batch.audio, audio_lengths=batch.audio_lengths)
            values, lengths = out.audio, out.audio_lengths
        else:
            out = model.encode(video=batch.video, video_lengths=batch.video_lengths)
            values, lengths = out.video, out.video_lengths
        assert values is not None and lengths is not None
        return values, lengths

    pieces = run_utterances(items, forward, batch_size=batch_size, device=device)
    width = pieces[0].shape[1] if pieces else 0
    fps = grid.audio_fps if stream == "audio" else grid.video_fps
    return FrameOutputs(stitch(pieces, width), fps)
