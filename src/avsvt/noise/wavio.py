"""int16 WAV I/O for MUSAN-style files, exact to the sample.

:func:`avsvt.data.audio.write_audio` takes float samples, and libsndfile scales float to PCM16
by 32767, so int16 data would not round-trip through it; MUSAN pieces and babble are int16, so
they are written here from int16 arrays (still atomically, via :mod:`avsvt.data.atomic`).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile as sf

from avsvt.constants import SAMPLE_RATE
from avsvt.data.atomic import write_bytes_atomic
from avsvt.data.audio import audio_info, read_audio
from avsvt.errors import DataError

I16 = npt.NDArray[np.int16]


def float_to_pcm16(samples: npt.ArrayLike) -> I16:
    """Quantise float samples in [-1, 1] to int16 (x 32768, rounded, clipped)."""
    x = np.asarray(samples, dtype=np.float64)
    return np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int16)


def write_pcm16(path: str | Path, samples: I16, *, sample_rate: int = SAMPLE_RATE) -> None:
    """Write int16 mono samples as a 16-bit WAV atomically, sample-exact."""
    buffer = io.BytesIO()
    sf.write(
        buffer, np.asarray(samples, dtype=np.int16), sample_rate, subtype="PCM_16", format="WAV"
    )
    write_bytes_atomic(path, buffer.getvalue())


def n_samples_16k(path: str | Path) -> int:
    """The number of samples the file has at 16 kHz (resampling it only when it is not 16 kHz).

    Raises:
        DataError: Missing or unreadable file.
    """
    info = audio_info(path)
    if info.samplerate == SAMPLE_RATE:
        return int(info.frames)
    return len(read_audio(path, allow_empty=True))


def read_pcm16(path: str | Path, start: int = 0, stop: int | None = None) -> I16:
    """Read samples ``[start, stop)`` of a file as 16 kHz mono int16.

    16 kHz mono files are read sample-exact (only the requested range); other rates or channel
    counts are resampled/downmixed with a warning by :func:`avsvt.data.audio.read_audio` first.

    Raises:
        DataError: Missing or unreadable file.
    """
    info = audio_info(path)
    if info.samplerate == SAMPLE_RATE and info.channels == 1:
        try:
            data, _ = sf.read(str(path), start=start, stop=stop, dtype="int16", always_2d=False)
        except (RuntimeError, sf.LibsndfileError) as exc:
            raise DataError(f"cannot decode audio ({exc})", path=path) from exc
        return np.asarray(data, dtype=np.int16)
    return float_to_pcm16(read_audio(path, allow_empty=True)[start:stop])
