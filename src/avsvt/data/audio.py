"""Audio files: read as 16 kHz mono float32 (resampled or downmixed with a warning).

Files are decoded and resampled in blocks (soxr's streaming resampler), so reading holds little
more than the 16 kHz mono result, whatever the file's own rate and channel count.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import soundfile as sf
import soxr

from avsvt.constants import SAMPLE_RATE
from avsvt.data.atomic import write_bytes_atomic
from avsvt.data.files import require_file
from avsvt.errors import DataError

logger = logging.getLogger(__name__)

AudioArray = npt.NDArray[np.float32]
Subtype = Literal["FLOAT", "PCM_16", "PCM_24"]

MIN_SAMPLE_RATE = 4_000
"""Lowest sample rate read (below it a header is damaged: 1 Hz made 64 000 samples 17 hours)."""
MAX_SAMPLE_RATE = 768_000
"""Highest sample rate read."""
FLOAT_PEAK_LIMIT = 1e6
"""Float samples may exceed full scale (+-1): avsvt's own noisy mixtures, written unclipped, reach
tens or more. Beyond +-1e6 (120 dB over, where squared spectra near float32's range) a file is
scaled down to peak 1 on reading, with a warning; up to it, values are kept as they are."""
BLOCK_SAMPLES = 1 << 18
"""Samples (all channels together) decoded at a time."""

_PLAIN_WAV_SUBTYPES = frozenset(
    {"PCM_U8", "PCM_S8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE", "ULAW", "ALAW"}
)


def fit_length(samples: npt.NDArray[np.float32], n_samples: int) -> npt.NDArray[np.float32]:
    """``samples`` cut, or zero-padded at the end, to ``n_samples`` (float32, contiguous)."""
    if len(samples) >= n_samples:
        return np.ascontiguousarray(samples[:n_samples], dtype=np.float32)
    out = np.zeros(n_samples, dtype=np.float32)
    out[: len(samples)] = samples
    return out


def audio_info(path: str | Path) -> sf._SoundFileInfo:
    """Return soundfile's header info (rate, channels, frames) without reading samples.

    For WAV files whose data was cut short, ``frames`` is what the file holds (libsndfile counts
    them), not what the header promises (see :func:`truncation`).

    Raises:
        DataError: The file is missing, not a regular file, not a readable audio file, or its
            sample rate is implausible (outside 4 to 768 kHz: a damaged header).
    """
    path = require_file(path)
    try:
        info = sf.info(str(path))
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise DataError(f"not a readable audio file ({exc})", path=path) from exc
    if not MIN_SAMPLE_RATE <= info.samplerate <= MAX_SAMPLE_RATE:
        raise DataError(
            f"sample rate {info.samplerate} Hz is not a recording's (avsvt reads "
            f"{MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz): is the header damaged?",
            path=path,
        )
    return info


def declared_wav_frames(path: str | Path, info: sf._SoundFileInfo) -> int | None:
    """Frames a plain RIFF WAV's ``data`` chunk header promises; None when unknown or not a WAV.

    A streamed WAV whose writer never came back to fill in the size (0 or 0xFFFFFFFF) counts as
    unknown.
    """
    if info.format != "WAV" or info.subtype not in _PLAIN_WAV_SUBTYPES:
        return None
    try:
        with open(path, "rb") as file:
            head = file.read(12)
            if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
                return None
            order: Literal["little", "big"] = "little" if head[:4] == b"RIFF" else "big"
            block_align = 0
            for _ in range(64):  # chunks before "data": fmt, fact, PEAK, LIST, ...
                chunk = file.read(8)
                if len(chunk) < 8:
                    return None
                size = int.from_bytes(chunk[4:], order)
                if chunk[:4] == b"data":
                    if size in (0, 0xFFFFFFFF) or block_align <= 0:
                        return None
                    return size // block_align
                body_start = file.tell()
                if chunk[:4] == b"fmt ":
                    fmt = file.read(min(size, 16))
                    if len(fmt) < 14:
                        return None
                    block_align = int.from_bytes(fmt[12:14], order)
                file.seek(body_start + size + (size & 1))
    except OSError:
        return None
    return None


def truncation(path: str | Path, info: sf._SoundFileInfo) -> str | None:
    """Say how much of a cut-off WAV is there, or None when it holds what its header promises."""
    promised = declared_wav_frames(path, info)
    if promised is None or promised <= info.frames:
        return None
    rate = info.samplerate
    return (
        f"truncated: the header promises {promised} frames ({promised / rate:.2f} s), the file "
        f"holds {info.frames} ({info.frames / rate:.2f} s, {100 * info.frames / promised:.0f}%)"
    )


class _OverFullScale(Exception):
    """A block exceeded FLOAT_PEAK_LIMIT: the file must be scanned for its peak, then scaled."""


@dataclass
class _Output:
    """A growing float32 array, preallocated to the expected length (no final concatenation)."""

    capacity: int
    buffer: AudioArray = field(init=False)
    size: int = field(init=False, default=0)
    overflow: list[AudioArray] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        try:
            self.buffer = np.empty(self.capacity, dtype=np.float32)
        except MemoryError:  # a header promising more than there can be: grow as it comes
            self.buffer = np.empty(0, dtype=np.float32)

    def add(self, samples: AudioArray) -> None:
        fit = 0 if self.overflow else min(len(samples), len(self.buffer) - self.size)
        self.buffer[self.size : self.size + fit] = samples[:fit]
        self.size += fit
        if fit < len(samples):
            self.overflow.append(np.array(samples[fit:], dtype=np.float32))

    def result(self) -> AudioArray:
        if self.overflow:
            return np.concatenate([self.buffer[: self.size], *self.overflow])
        if len(self.buffer) - self.size > 1 << 16:  # far fewer than expected: do not keep the rest
            return self.buffer[: self.size].copy()
        return self.buffer[: self.size]


def _decode_error(path: Path, info: sf._SoundFileInfo, done: int, exc: Exception) -> DataError:
    detail = getattr(exc, "error_string", "") or str(exc) or type(exc).__name__
    code = getattr(exc, "code", None)
    if code is not None and str(code) not in detail:
        detail = f"libsndfile error {code}: {detail}" if detail else f"libsndfile error {code}"
    if done == 0:
        return DataError(f"cannot decode audio ({detail})", path=path)
    rate = info.samplerate
    return DataError(
        f"cannot decode audio after {done / rate:.2f} s of the {info.frames / rate:.2f} s its "
        f"header promises: damaged or cut-off data ({detail})",
        path=path,
    )


def _blocks(path: Path, info: sf._SoundFileInfo) -> Iterator[npt.NDArray[np.floating]]:
    """Yield (n, channels) float blocks of the file at its own rate.

    float64 for 64-bit float files (whose values may exceed float32's range), float32 otherwise.
    """
    dtype = "float64" if info.subtype == "DOUBLE" else "float32"
    frames = max(1024, BLOCK_SAMPLES // max(1, info.channels))
    done = 0
    try:
        with sf.SoundFile(str(path)) as file:
            while True:
                block = file.read(frames, dtype=dtype, always_2d=True)
                if len(block) == 0:
                    return
                done += len(block)
                yield block
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise _decode_error(path, info, done, exc) from exc


def _peak(block: npt.NDArray[np.floating], start: int, path: Path, rate: int) -> float:
    """The block's largest |sample|; raises on NaN/inf, naming the time of the first one."""
    peak = float(max(block.max(), -block.min()))
    if not math.isfinite(peak):
        first = int(np.flatnonzero(~np.isfinite(block).all(axis=1))[0])
        raise DataError(
            f"audio contains NaN or infinite samples (the first at {(start + first) / rate:.3f} s)",
            path=path,
        )
    return peak


@dataclass(frozen=True)
class AudioScan:
    """What a full pass over an audio file found (see :func:`scan_audio`)."""

    info: sf._SoundFileInfo
    frames: int
    peak: float
    errors: list[str]
    warnings: list[str]


def scan_audio(path: str | Path) -> AudioScan:
    """Decode a whole file in blocks, without keeping it, and report what :func:`read_audio` would.

    Errors: undecodable data, NaN or infinite samples. Warnings: a cut-off WAV (read as the
    shorter audio), float samples beyond +-1e6 (scaled to peak 1 on reading).

    Raises:
        DataError: The file cannot be opened as audio at all (see :func:`audio_info`).
    """
    path = Path(path)
    info = audio_info(path)
    errors: list[str] = []
    warnings: list[str] = []
    cut = truncation(path, info)
    if cut:
        warnings.append(f"{cut}; read as the shorter audio")
    frames, peak = 0, 0.0
    try:
        for block in _blocks(path, info):
            peak = max(peak, _peak(block, frames, path, info.samplerate))
            frames += len(block)
    except DataError as exc:
        errors.append(exc.message)
    if not errors and peak > FLOAT_PEAK_LIMIT:
        warnings.append(_over_full_scale(peak))
    if not errors and not cut and 0 < frames < info.frames:
        warnings.append(
            f"truncated: the header promises {info.frames} frames, the file holds {frames}; "
            "read as the shorter audio"
        )
    return AudioScan(info, frames, peak, errors, warnings)


def _over_full_scale(peak: float) -> str:
    return (
        f"samples reach {peak:.3g}, far beyond full scale (+-1; avsvt keeps up to "
        f"+-{FLOAT_PEAK_LIMIT:g}): scaled by 1/{peak:.3g} to peak 1"
    )


def _decode(path: Path, info: sf._SoundFileInfo, peak: float | None) -> tuple[AudioArray, int]:
    """Decode, downmix and resample block by block; returns (16 kHz mono, frames decoded).

    With ``peak`` None, a block beyond FLOAT_PEAK_LIMIT raises :class:`_OverFullScale`; with the
    file's peak, samples are divided by it.
    """
    rate = info.samplerate
    out = _Output(math.ceil(info.frames * SAMPLE_RATE / rate) + 16)
    stream = (
        None
        if rate == SAMPLE_RATE
        else soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ")
    )
    frames = 0
    for block in _blocks(path, info):
        if _peak(block, frames, path, rate) > FLOAT_PEAK_LIMIT and peak is None:
            raise _OverFullScale
        if peak is not None:
            block /= block.dtype.type(peak)
        mono = block[:, 0] if block.shape[1] == 1 else block.mean(axis=1, dtype=block.dtype)
        mono = np.ascontiguousarray(mono, dtype=np.float32)
        out.add(mono if stream is None else stream.resample_chunk(mono))
        frames += len(block)
    if stream is not None:
        out.add(stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True))
    return out.result(), frames


def to_mono_16k(
    samples: npt.NDArray[np.floating], sample_rate: int, *, source: str | Path = "<array>"
) -> AudioArray:
    """Downmix (channel mean) and resample to 16 kHz with soxr's high-quality resampler.

    Args:
        samples: (n,) or (n, channels) float samples.
        sample_rate: Their rate in Hz.
        source: Name used in warnings.

    Returns:
        (n',) float32 samples at 16 kHz.
    """
    audio = np.asarray(samples, dtype=np.float32)
    if audio.ndim == 2:
        _report_downmix(source, audio.shape[1])
        audio = audio.mean(axis=1)
    if sample_rate != SAMPLE_RATE:
        _report_resampling(source, sample_rate)
        audio = soxr.resample(audio, sample_rate, SAMPLE_RATE, quality="HQ").astype(np.float32)
    return np.ascontiguousarray(audio, dtype=np.float32)


def _report_downmix(source: str | Path, channels: int) -> None:
    # a stereo 44.1 kHz mp3 is a normal file: said only with -v
    if channels > 1:
        logger.debug("%s: %d channels downmixed to mono", source, channels)


def _report_resampling(source: str | Path, sample_rate: int) -> None:
    if sample_rate != SAMPLE_RATE:
        logger.debug("%s: resampled from %d Hz to %d Hz", source, sample_rate, SAMPLE_RATE)


def read_audio(path: str | Path, *, allow_empty: bool = False) -> AudioArray:
    """Read an audio file as 16 kHz mono float32 in [-1, 1].

    Other rates are resampled and several channels averaged, each said at debug level (``-v``;
    the reference refuses both). Integer PCM (8/16/24/32-bit) and float files are accepted.
    Decoding and resampling go block by block: memory is the 16 kHz result plus a few blocks.

    Repairs, each with a warning: a WAV cut short (its header promises more than the file holds)
    is read as the shorter audio; float samples beyond +-1e6 are scaled to peak 1.

    Raises:
        DataError: Missing, non-regular, unreadable or empty file, implausible sample rate,
            undecodable data, or NaN/inf samples.
    """
    path = Path(path)
    info = audio_info(path)
    cut = truncation(path, info)
    if cut:
        logger.warning("%s: %s; reading what is there", path, cut)
    try:
        audio, frames = _decode(path, info, None)
    except _OverFullScale:
        peak = 0.0
        for start, block in _numbered(_blocks(path, info)):
            peak = max(peak, _peak(block, start, path, info.samplerate))
        logger.warning("%s: %s", path, _over_full_scale(peak))
        audio, frames = _decode(path, info, peak)
    if frames == 0 and not allow_empty:
        raise DataError("audio file has no samples", path=path)
    if not cut and 0 < frames < info.frames:
        logger.warning(
            "%s: truncated: the header promises %d frames, the file holds %d; reading what is "
            "there",
            path,
            info.frames,
            frames,
        )
    _report_downmix(path, info.channels)
    _report_resampling(path, info.samplerate)
    return audio


def _numbered(
    blocks: Iterator[npt.NDArray[np.floating]],
) -> Iterator[tuple[int, npt.NDArray[np.floating]]]:
    start = 0
    for block in blocks:
        yield start, block
        start += len(block)


def write_audio(
    path: str | Path,
    samples: npt.ArrayLike,
    *,
    sample_rate: int = SAMPLE_RATE,
    subtype: Subtype = "FLOAT",
) -> None:
    """Write mono audio atomically (WAV or FLAC, chosen by the suffix).

    Args:
        path: Target file (``.wav`` or ``.flac``).
        samples: (n,) samples in [-1, 1].
        sample_rate: Sample rate in Hz.
        subtype: ``FLOAT`` (the reference writes float32 WAV), ``PCM_16`` or ``PCM_24``.
    """
    path = Path(path)
    audio = np.asarray(samples, dtype=np.float32)
    # Canonical bytes: no negative zeros or denormals, whose presence can depend on the process's
    # floating-point flags rather than on the computation.
    audio = np.where(np.abs(audio) < np.finfo(np.float32).tiny, np.float32(0), audio)
    file_format = "FLAC" if path.suffix.lower() == ".flac" else "WAV"
    if file_format == "FLAC" and subtype == "FLOAT":
        subtype = "PCM_24"
    # Encode in memory first: libsndfile reports a full disk as an opaque "System error", while
    # the byte write below raises OSError, which atomic_path turns into a clear message.
    buffer = io.BytesIO()
    sf.write(buffer, audio, sample_rate, subtype=subtype, format=file_format)
    write_bytes_atomic(path, _without_peak_timestamp(buffer.getvalue()))


def _without_peak_timestamp(data: bytes) -> bytes:
    """Zero the write time libsndfile puts in a float WAV's PEAK chunk: same audio, same bytes."""
    at = data.find(b"PEAK", 12, 512)
    if at < 0:
        return data
    stamp = at + 12  # "PEAK", chunk size, version, then the 4-byte timestamp
    return data[:stamp] + bytes(4) + data[stamp + 4 :]
