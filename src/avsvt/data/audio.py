"""Audio files: read as 16 kHz mono float32 (resampled or downmixed with a warning)."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import soundfile as sf
import soxr

from avsvt.constants import SAMPLE_RATE
from avsvt.data.atomic import write_bytes_atomic
from avsvt.errors import DataError

logger = logging.getLogger(__name__)

AudioArray = npt.NDArray[np.float32]
Subtype = Literal["FLOAT", "PCM_16", "PCM_24"]


def audio_info(path: str | Path) -> sf._SoundFileInfo:
    """Return soundfile's header info (rate, channels, frames) without reading samples.

    Raises:
        DataError: The file is missing or not a readable audio file.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found", path=path)
    try:
        return sf.info(str(path))
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise DataError(f"not a readable audio file ({exc})", path=path) from exc


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
        if audio.shape[1] > 1:
            logger.warning("%s: %d channels downmixed to mono", source, audio.shape[1])
        audio = audio.mean(axis=1)
    if sample_rate != SAMPLE_RATE:
        logger.warning("%s: resampled from %d Hz to %d Hz", source, sample_rate, SAMPLE_RATE)
        audio = soxr.resample(audio, sample_rate, SAMPLE_RATE, quality="HQ").astype(np.float32)
    return np.ascontiguousarray(audio, dtype=np.float32)


def read_audio(path: str | Path, *, allow_empty: bool = False) -> AudioArray:
    """Read an audio file as 16 kHz mono float32 in [-1, 1].

    Other rates are resampled and several channels averaged, each with a warning (the reference
    refuses both). Integer PCM (8/16/24/32-bit) and float files are accepted.

    Raises:
        DataError: Missing, unreadable, truncated or empty file, or NaN/inf samples.
    """
    path = Path(path)
    info = audio_info(path)
    try:
        samples, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise DataError(f"cannot decode audio ({exc})", path=path) from exc
    if len(samples) == 0 and not allow_empty:
        raise DataError("audio file has no samples", path=path)
    if info.frames > 0 and len(samples) < info.frames:
        raise DataError(
            f"truncated: header says {info.frames} samples, read {len(samples)}", path=path
        )
    if not np.isfinite(samples).all():
        raise DataError("audio contains NaN or infinite samples", path=path)
    return to_mono_16k(samples, int(rate), source=path)


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
