"""Audio blocks in, f0 frames out, on the offline frame grid (frame ``j`` centred at ``j * 10`` ms).

* :class:`YinFrames`: the f0 tracker's YIN (:func:`avsvt.f0notes.track_f0`). A frame is final
  once its 64-ms window is in (32 ms after its centre), and equals the offline frame bit for
  bit (YIN is frame-local; the offline code runs in blocks too).
* :class:`PitchNetFrames`: the learned model's network (:class:`PitchNetTracker`), run on a
  rolling window: the new frames with ``context_frames`` of audio before them and
  ``lookahead_frames`` after. Its receptive field reaches 19 frames either way, plus the 32-ms
  half window of the spectrogram: :data:`PITCHNET_EXACT_LOOKAHEAD_FRAMES` (230 ms) of lookahead
  and of context give the frames one pass over the whole recording gives (the network's float
  outputs are bit for bit those of the offline windows; the sigmoid after it may differ in the
  last bit, by where a frame falls in a vectorised loop); a shorter lookahead answers sooner,
  from audio that stops short of the field (approximate frames).

  Level: offline, the recording is scaled to RMS 0.1 as a whole
  (:func:`avsvt.pitchnet.features.normalise_level`). Live, give the stream's RMS when it is
  known (``input_rms``: then the frames are the offline ones) or let it be estimated as the
  stream goes: every 10 ms (:data:`LEVEL_HOP_SAMPLES`) the gain becomes 0.1 / the RMS of
  everything heard so far (the first 10 ms use their own RMS), which converges to the offline
  gain; the first notes of a stream that starts in silence are heard louder than offline. The
  gains depend on the stream's samples only, never on how they were split into blocks.

Memory is bounded: each keeps the audio that later frames still need (a few hundred ms).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from avsvt.f0notes import F0NoteSettings, track_f0

if TYPE_CHECKING:
    from avsvt.pitchnet.track import PitchNetTracker

FloatArray = npt.NDArray[np.float64]
Audio = npt.NDArray[np.float32]

HOP = 160
"""Samples per frame (10 ms at 16 kHz), the f0 tracker's and the network's."""
YIN_HALF_WINDOW = 512
"""Half of YIN's 1024-sample window: a frame is final this many samples after its centre."""
_YIN_LEFT_FRAMES = 4  # frames of audio before a piece's first frame: 4 * 160 >= 512

PITCHNET_FIELD_FRAMES = 19
"""The network's receptive half-width in frames (conv layers 2 + 1 + 3 + 9, voicing head 4)."""
PITCHNET_EXACT_LOOKAHEAD_FRAMES = PITCHNET_FIELD_FRAMES + math.ceil((1024 // 2) / HOP)
"""Lookahead (and left context) that makes the network's frames the offline ones: 23 (230 ms)."""
LEVEL_HOP_SAMPLES = HOP
"""The running level's gain changes every this many samples (one frame: 10 ms)."""
SILENT_RMS = 1e-6
"""Below this RMS audio is left unscaled, as :func:`normalise_level` leaves silence."""


class _Rolling:
    """Samples of a stream from an absolute index on: appended at the end, dropped at the front."""

    def __init__(self) -> None:
        self.samples: Audio = np.zeros(0, dtype=np.float32)
        self.first = 0  # absolute index of samples[0]

    @property
    def end(self) -> int:
        """Absolute index after the last sample."""
        return self.first + len(self.samples)

    def append(self, block: Audio) -> None:
        self.samples = np.concatenate([self.samples, block])

    def view(self, lo: int, hi: int) -> Audio:
        """Samples ``lo .. hi - 1`` (absolute; clipped to what is held)."""
        return self.samples[max(lo, self.first) - self.first : max(hi, self.first) - self.first]

    def drop_before(self, index: int) -> None:
        cut = index - self.first
        if cut > 0:
            self.samples = self.samples[cut:].copy()
            self.first = index


class YinFrames:
    """The f0 tracker's frames of a stream (module docstring)."""

    def __init__(self, settings: F0NoteSettings) -> None:
        self.settings = settings
        self._audio = _Rolling()
        self._next = 0  # the next frame to compute
        self.lookahead_s = YIN_HALF_WINDOW / 16_000
        """Audio after a frame's centre needed before it is final."""

    @property
    def buffered_samples(self) -> int:
        """Samples held."""
        return len(self._audio.samples)

    def push(self, block: Audio) -> FloatArray:
        """Add samples; returns the f0 (Hz, 0 = unvoiced) of the frames now final."""
        self._audio.append(block)
        last = (self._audio.end - YIN_HALF_WINDOW) // HOP  # its window ends inside the audio
        return self._frames(last, last * HOP + YIN_HALF_WINDOW)

    def close(self) -> FloatArray:
        """The remaining frames (the offline track has ``1 + samples // 160`` frames)."""
        return self._frames(self._audio.end // HOP, self._audio.end)

    def _frames(self, last: int, end: int) -> FloatArray:
        if last < self._next:
            return np.zeros(0)
        start = max(0, self._next - _YIN_LEFT_FRAMES) * HOP  # on the frame grid
        piece = self._audio.view(start, end)
        f0_hz = track_f0(piece, self.settings).f0_hz
        skip = self._next - start // HOP
        out = f0_hz[skip : skip + last - self._next + 1]
        self._next = last + 1
        self._audio.drop_before(max(0, self._next - _YIN_LEFT_FRAMES) * HOP)
        return out


def _scaled(samples: Audio, gain: float) -> Audio:
    """``samples * gain`` in float32, as :func:`normalise_level` computes it."""
    return np.asarray(samples * gain, dtype=np.float32)


class _Level:
    """The stream's gain to RMS 0.1: fixed from ``input_rms``, or running (module docstring).

    The running gain of hop ``k`` comes from the sums of squares of hops ``0 .. k - 1``, each
    summed whole, in order: the same samples give the same gains, however they were split.
    """

    def __init__(self, input_rms: float | None) -> None:
        from avsvt.pitchnet.features import TARGET_RMS

        self._target = TARGET_RMS
        self._fixed = None if input_rms is None else self._gain(input_rms)
        self._hop: Audio = np.zeros(0, dtype=np.float32)  # the current hop's samples so far
        self._sum_sq = 0.0  # over the finished hops
        self._count = 0

    def _gain(self, rms: float) -> float:
        if rms < SILENT_RMS or not math.isfinite(rms):
            return 1.0
        return self._target / rms

    def scale(self, block: Audio, *, last: bool = False) -> Audio:
        """The samples that can be scaled now (all of them when ``last``)."""
        if self._fixed is not None:
            return block if self._fixed == 1.0 else _scaled(block, self._fixed)
        out: list[Audio] = []
        position = 0
        while position < len(block) or (last and self._count == 0 and len(self._hop)):
            take = min(LEVEL_HOP_SAMPLES - len(self._hop), len(block) - position)
            piece = block[position : position + take]
            position += take
            self._hop = np.concatenate([self._hop, piece])
            whole = len(self._hop) == LEVEL_HOP_SAMPLES
            if self._count == 0:  # the first hop waits for itself: its own RMS
                if not (whole or (last and position == len(block))):
                    break
                gain = self._gain(_rms(self._hop))
                out.append(_scaled(self._hop, gain))
            else:
                gain = self._gain(math.sqrt(self._sum_sq / self._count))
                out.append(_scaled(piece, gain))
            if whole or self._count == 0:
                self._sum_sq += float(np.sum(self._hop.astype(np.float64) ** 2))
                self._count += len(self._hop)
                self._hop = np.zeros(0, dtype=np.float32)
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)

    @property
    def pending_samples(self) -> int:
        """Samples waiting for their gain (the first hop's, until it is whole)."""
        return len(self._hop) if self._count == 0 else 0


def _rms(samples: Audio) -> float:
    return math.sqrt(float(np.mean(samples.astype(np.float64) ** 2))) if len(samples) else 0.0


class PitchNetFrames:
    """The learned model's frames of a stream (module docstring).

    Args:
        tracker: The pitch network and its segmentation settings.
        lookahead_frames: Frames of audio awaited after a frame before it is computed.
        update_frames: The network runs once this many frames are ready (fewer runs, each over
            its context and lookahead again: CPU against up to this many frames of delay).
        input_rms: The stream's RMS when known in advance, else None (running level).
    """

    def __init__(
        self,
        tracker: PitchNetTracker,
        *,
        lookahead_frames: int = PITCHNET_EXACT_LOOKAHEAD_FRAMES,
        update_frames: int = 8,
        input_rms: float | None = None,
    ) -> None:
        if lookahead_frames < 0 or update_frames < 1:
            raise ValueError("lookahead_frames must be >= 0 and update_frames >= 1")
        self.tracker = tracker
        tracker.model.eval()
        self.lookahead_frames = lookahead_frames
        self.update_frames = update_frames
        self.context_frames = PITCHNET_EXACT_LOOKAHEAD_FRAMES
        self.lookahead_s = lookahead_frames * HOP / 16_000
        self._level = _Level(input_rms)
        self._audio = _Rolling()
        self._next = 0

    @property
    def buffered_samples(self) -> int:
        """Samples held (the rolling window and those waiting for their gain)."""
        return len(self._audio.samples) + self._level.pending_samples

    def push(self, block: Audio) -> FloatArray:
        """Add samples; returns the f0 of the frames now computed."""
        self._audio.append(self._level.scale(block))
        end = self._audio.end
        if end == 0:
            return np.zeros(0)
        top = (end - 1) // HOP  # the piece ends at sample top * 160, as offline pieces do
        last = top - self.lookahead_frames
        if last - self._next + 1 < self.update_frames:
            return np.zeros(0)
        return self._frames(last, top * HOP + 1)

    def close(self) -> FloatArray:
        """The remaining frames (``1 + samples // 160`` in all, as offline)."""
        self._audio.append(self._level.scale(np.zeros(0, dtype=np.float32), last=True))
        top = self._audio.end // HOP
        return self._frames(top, min(self._audio.end, top * HOP + 1))

    def _frames(self, last: int, end: int) -> FloatArray:
        import torch

        from avsvt.pitchnet.model import decode_f0

        if last < self._next:
            return np.zeros(0)
        lo = max(0, self._next - self.context_frames)
        piece = self._audio.view(lo * HOP, end)
        model = self.tracker.model
        with torch.inference_mode():
            salience, voicing = model.probabilities(
                torch.from_numpy(np.ascontiguousarray(piece))[None]
            )
            keep = slice(self._next - lo, last - lo + 1)
            s = salience[0, keep].numpy()
            v = voicing[0, keep].numpy()
        track = decode_f0(
            s, v, model.config.spectrogram, threshold=1.0 - self.tracker.settings.max_aperiodicity
        )
        self._next = last + 1
        self._audio.drop_before(max(0, self._next - self.context_frames) * HOP)
        return track.f0_hz
