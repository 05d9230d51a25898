"""Mixing clean vocals with noise at a target SNR, and measuring the SNR of a mixture.

Two rules (reference-system.md 6.2, 9.1, quirk Q16):

``reference`` (the default; what the SVT reference recipe does)
    With A(x) = mean |x| and f = 1 / (10^(snr_db/20) + 1)::

        mixture = (1 - f) * s + f * A(s) / (A(n) + 1e-14) * n

    The clean vocals are the reference and are attenuated by (1 - f); the noise part has
    mean absolute amplitude f * A(s), so A(clean part) / A(noise part) = 10^(snr_db/20) and
    A(clean part) + A(noise part) = A(s): the overall level stays near the vocals' level.

``rms`` (AV-HuBERT's ``add_noise``)
    The clean vocals stay untouched; the noise is scaled to rms(s) / 10^(snr_db/20). AV-HuBERT
    also rescales the mixture to avoid int16 clipping; we write float audio and *report*
    clipping instead (see :mod:`avsvt.noise.synthesis`), so that the vocals stay untouched.

Everything here is pure numpy, computed in float64.
"""

from __future__ import annotations

import math
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt
from scipy.optimize import brentq

MixRule = Literal["reference", "rms"]
MIX_RULES: tuple[str, ...] = get_args(MixRule)
EPSILON = 1e-14
"""The reference's guard against an all-zero noise track."""

FloatArray = npt.NDArray[np.floating]


def mean_abs(x: FloatArray) -> float:
    """A(x): the mean absolute amplitude, the reference's level measure."""
    return float(np.mean(np.abs(np.asarray(x, dtype=np.float64)))) if len(x) else 0.0


def rms(x: FloatArray) -> float:
    """The root-mean-square amplitude."""
    x64 = np.asarray(x, dtype=np.float64)
    return float(np.sqrt(np.mean(x64 * x64))) if len(x64) else 0.0


def noise_fraction(snr_db: float) -> float:
    """The reference's f = 1 / (10^(snr_db/20) + 1): the noise share of the mean amplitude."""
    return 1.0 / (math.pow(10.0, snr_db / 20.0) + 1.0)


def mix_gains(
    clean: FloatArray, noise: FloatArray, snr_db: float, rule: MixRule
) -> tuple[float, float]:
    """The (clean gain, noise gain) that give ``snr_db`` under ``rule``.

    Args:
        clean: (n,) clean vocals.
        noise: (n,) noise, same length.
        snr_db: Target SNR in dB.
        rule: ``reference`` or ``rms``.

    Returns:
        ``(g_s, g_n)`` with ``mixture = g_s * clean + g_n * noise``.
    """
    if rule == "reference":
        f = noise_fraction(snr_db)
        return 1.0 - f, f * mean_abs(clean) / (mean_abs(noise) + EPSILON)
    if rule == "rms":
        noise_rms = rms(noise)
        if noise_rms == 0.0:
            return 1.0, 0.0
        return 1.0, rms(clean) / (10.0 ** (snr_db / 20.0)) / noise_rms
    raise ValueError(f"unknown mixing rule {rule!r} (expected one of {', '.join(MIX_RULES)})")


def mix(
    clean: FloatArray, noise: FloatArray, snr_db: float, rule: MixRule = "reference"
) -> npt.NDArray[np.float64]:
    """Mix ``clean`` with ``noise`` at ``snr_db`` by ``rule`` (float64, no clipping guard).

    Raises:
        ValueError: The two signals differ in length, or the rule is unknown.
    """
    clean64 = np.asarray(clean, dtype=np.float64)
    noise64 = np.asarray(noise, dtype=np.float64)
    if clean64.shape != noise64.shape or clean64.ndim != 1:
        raise ValueError(f"clean {clean64.shape} and noise {noise64.shape} must be equal 1-D")
    g_s, g_n = mix_gains(clean64, noise64, snr_db, rule)
    return g_s * clean64 + g_n * noise64


def measured_snr_db(clean: FloatArray, mixture: FloatArray, rule: MixRule = "reference") -> float:
    """The SNR of ``mixture`` with respect to ``clean`` by the definition of ``rule``.

    ``rms``: the clean part is ``clean`` itself, so SNR = 20 log10(rms(s) / rms(mixture - s)).

    ``reference``: the clean part is c * s for an unknown c in (0, 1), and the construction
    guarantees A(c s) + A(mixture - c s) = A(s). The left side minus the right is convex in c,
    non-negative at c = 1 and, by the triangle inequality, non-positive at c = 0 (zero only when
    noise and vocals share every sample's sign); so the root in (0, 1) is unique and Brent's method
    finds it; then SNR = 20 log10(A(c s) / A(mixture - c s)).

    Returns:
        The SNR in dB; ``inf`` when there is no noise part, ``-inf`` when there is no clean part.

    Raises:
        ValueError: Different lengths, silent clean signal, unknown rule.
    """
    s = np.asarray(clean, dtype=np.float64)
    m = np.asarray(mixture, dtype=np.float64)
    if s.shape != m.shape:
        raise ValueError(f"clean {s.shape} and mixture {m.shape} differ in shape")
    a_s = mean_abs(s)
    if a_s == 0.0:
        raise ValueError("the clean signal is silent: its SNR is undefined")
    if rule == "rms":
        noise_level = rms(m - s)
        return math.inf if noise_level == 0.0 else 20.0 * math.log10(rms(s) / noise_level)
    if rule != "reference":
        raise ValueError(f"unknown mixing rule {rule!r} (expected one of {', '.join(MIX_RULES)})")

    def excess(c: float) -> float:
        return c * a_s + mean_abs(m - c * s) - a_s

    if excess(1.0) <= 0.0:
        return math.inf
    if excess(0.0) >= 0.0:
        return -math.inf
    c = float(brentq(excess, 0.0, 1.0, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500))
    return 20.0 * math.log10(c * a_s / mean_abs(m - c * s))
