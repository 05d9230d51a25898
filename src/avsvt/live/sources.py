"""Where ``avsvt listen`` hears audio: a file, raw PCM on stdin, or a microphone.

Each source yields float32 mono blocks at 16 kHz. Other rates are resampled on the way in by
:class:`Resampler` (soxr's streaming high-quality resampler, as in
:func:`avsvt.data.audio.read_audio`), several channels averaged. A file is decoded as
``avsvt transcribe`` decodes it (the same samples, so the same notes), then played block by
block, as fast as possible or at real-time pace.
"""

from __future__ import annotations

import importlib
import logging
import queue
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np
import numpy.typing as npt

from avsvt.constants import SAMPLE_RATE
from avsvt.data.audio import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE
from avsvt.errors import AvsvtError, DataError

logger = logging.getLogger(__name__)

Audio = npt.NDArray[np.float32]
PcmFormat = Literal["s16le", "f32le"]
PCM_FORMATS: dict[str, tuple[str, float]] = {"s16le": ("<i2", 32768.0), "f32le": ("<f4", 1.0)}
"""``{format: (numpy dtype, full scale)}`` of the raw PCM read from stdin."""


def check_rate(rate_hz: int, *, source: str) -> None:
    """Refuse a sample rate no recording has (the bounds :func:`read_audio` uses).

    Raises:
        DataError: Outside 4 to 768 kHz.
    """
    if not MIN_SAMPLE_RATE <= rate_hz <= MAX_SAMPLE_RATE:
        raise DataError(
            f"sample rate {rate_hz} Hz is not within {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz",
            path=source,
        )


class Resampler:
    """Streaming conversion of blocks at ``rate_hz`` (and ``channels``) to 16 kHz mono float32."""

    def __init__(self, rate_hz: int, channels: int = 1) -> None:
        import soxr

        self.rate_hz = rate_hz
        self.channels = channels
        self._stream = (
            None
            if rate_hz == SAMPLE_RATE
            else soxr.ResampleStream(rate_hz, SAMPLE_RATE, 1, dtype="float32", quality="HQ")
        )

    def process(self, block: npt.NDArray[np.floating], *, last: bool = False) -> Audio:
        """Resample the next block ((samples,) or (samples, channels)); ``last`` flushes."""
        data = np.asarray(block, dtype=np.float32)
        if data.ndim == 2:
            data = data[:, 0] if data.shape[1] == 1 else data.mean(axis=1, dtype=np.float32)
        mono = np.ascontiguousarray(data, dtype=np.float32)
        if self._stream is None:
            return mono
        return np.asarray(self._stream.resample_chunk(mono, last=last), dtype=np.float32)


def block_samples(block_s: float) -> int:
    """Samples at 16 kHz of a block of ``block_s`` seconds (at least 1)."""
    return max(1, int(round(block_s * SAMPLE_RATE)))


def file_blocks(path: str | Path, block_s: float) -> Iterator[Audio]:
    """A file's audio (as ``avsvt transcribe`` reads it) in blocks of ``block_s``.

    Raises:
        DataError: The file cannot be read as audio (one line naming it).
    """
    from avsvt.transcribe.inputs import load_audio

    audio = load_audio(path)
    step = block_samples(block_s)
    for start in range(0, len(audio), step):
        yield audio[start : start + step]


def paced(blocks: Iterable[Audio]) -> Iterator[Audio]:
    """``blocks`` at real-time pace: each is yielded when the audio before it has been played."""
    start = time.monotonic()
    played = 0
    for block in blocks:
        wait = played / SAMPLE_RATE - (time.monotonic() - start)
        if wait > 0:
            time.sleep(wait)
        yield block
        played += len(block)


def pcm_blocks(
    stream: BinaryIO,
    *,
    rate_hz: int,
    sample_format: PcmFormat = "s16le",
    channels: int = 1,
    block_s: float = 0.02,
    source: str = "<stdin>",
) -> Iterator[Audio]:
    """Raw interleaved little-endian PCM from ``stream`` (e.g. stdin) as 16 kHz mono blocks.

    Raises:
        DataError: A bad rate or channel count, or NaN/inf in float samples.
    """
    check_rate(rate_hz, source=source)
    if not 1 <= channels <= 64:
        raise DataError(f"{channels} channels: expected 1 to 64", path=source)
    dtype, scale = PCM_FORMATS[sample_format]
    frame_bytes = np.dtype(dtype).itemsize * channels
    resampler = Resampler(rate_hz, channels)
    want = max(1, int(round(block_s * rate_hz))) * frame_bytes
    rest = b""
    while True:
        data = stream.read(want)
        if not data:
            break
        data = rest + data
        whole = len(data) - len(data) % frame_bytes
        rest = data[whole:]
        samples = np.frombuffer(data[:whole], dtype=dtype).astype(np.float32) / np.float32(scale)
        out = resampler.process(samples.reshape(-1, channels))
        if len(out):
            yield out
    if rest:
        logger.warning(
            "%s: %d trailing byte(s) are not a whole %s frame: dropped",
            source,
            len(rest),
            sample_format,
        )
    out = resampler.process(np.zeros((0, channels), dtype=np.float32), last=True)
    if len(out):
        yield out


def microphone_blocks(
    *, device: str | int | None = None, block_s: float = 0.02, rate_hz: int | None = None
) -> Iterator[Audio]:
    """The default (or ``device``) input as 16 kHz mono blocks, until the caller stops reading.

    Raises:
        AvsvtError: sounddevice is not installed, PortAudio is missing, or the device cannot be
            opened (one line).
    """
    try:
        sd: Any = importlib.import_module("sounddevice")
    except ImportError:
        raise AvsvtError(
            "the microphone needs the sounddevice package (pip install sounddevice)"
        ) from None
    except OSError as exc:  # sounddevice is there but its PortAudio library is not
        raise AvsvtError(f"the microphone needs PortAudio ({exc})") from None
    try:
        info: Any = sd.query_devices(device, "input")
        rate = int(rate_hz or round(float(info["default_samplerate"])))
        check_rate(rate, source=f"microphone {info['name']}")
        blocks: queue.Queue[Audio] = queue.Queue()
        resampler = Resampler(rate, 1)

        def callback(indata: Any, frames: int, when: Any, status: Any) -> None:
            blocks.put(np.array(indata[:, 0], dtype=np.float32))

        stream = sd.InputStream(
            device=device,
            channels=1,
            samplerate=rate,
            dtype="float32",
            blocksize=max(1, int(round(block_s * rate))),
            callback=callback,
        )
    except (sd.PortAudioError, ValueError) as exc:
        raise AvsvtError(f"cannot open the microphone ({exc})") from None
    with stream:
        while True:
            out = resampler.process(blocks.get())
            if len(out):
                yield out
