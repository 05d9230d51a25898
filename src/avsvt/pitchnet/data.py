"""Training data for the pitch network, generated: sung stems with their f0, mixed on the fly.

**Stems** (:func:`render_stems`, one song per seed): a song plan from :mod:`avsvt.synth.melody`,
transposed by up to 6 semitones so the pitch grid is covered, sung by a singer drawn wider than
the embedded corpus' (vibrato from none to a semitone, breathy to pressed, untrained singers'
tuning offsets, missed notes and slow drift); the f0 the voice was rendered on, every 10 ms; two
accompaniments of the same plan: the corpus' own (:mod:`avsvt.synth.accomp`) and a band drawn
from many styles (:mod:`avsvt.synth.band`).

**Mixtures** (:func:`draw_batch`, every random choice from the batch's own seed, so a batch is the
same bytes whenever it is drawn and a resumed training sees the batches it would have seen):
a crop of a song's vocals; usually an accompaniment (the same song's, sometimes another song's,
whose harmony then does not fit) at a voice-to-accompaniment ratio of -10 to 20 dB; sometimes
white, pink or brown noise at -10 to 25 dB; then a recording chain (:mod:`avsvt.augment`:
microphone colour, room, compression, codec damage, clipping, hiss) and a random level.
The targets are the voice's own: where it sounds, and its f0.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from avsvt.augment import DEFAULT_SETTINGS, recording_chain
from avsvt.config import check_number
from avsvt.constants import SAMPLE_RATE
from avsvt.noise.mixing import rms
from avsvt.pitchnet.features import HOP_SAMPLES, TARGET_RMS, SpectrogramConfig, n_frames
from avsvt.synth.accomp import render_accompaniment
from avsvt.synth.band import render_band
from avsvt.synth.melody import SongPlan, plan_song
from avsvt.synth.voice import render_vocals_with_f0

FloatArray = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]

VOICED_AMPLITUDE = 0.05
"""Control frames whose voicing amplitude is above this are "the voice sounds"."""
TARGET_SD_BINS = 1.0
"""Standard deviation of the Gaussian salience target around the sung f0 (pitch bins)."""


@dataclass(frozen=True)
class Stems:
    """One generated song: vocals, two accompaniments and the voice's f0 every 10 ms.

    Attributes:
        vocals: (samples,) float32.
        accomp: The corpus-style accompaniment, same length.
        band: The many-styles band, same length.
        f0_midi: (frames,) sung pitch (fractional MIDI; 0 where unvoiced).
        voiced: (frames,) bool.
        notes: (n, 3) the planned notes: onset s, offset s, sung pitch (MIDI, tuning included).
    """

    vocals: F32
    accomp: F32
    band: F32
    f0_midi: FloatArray
    voiced: npt.NDArray[np.bool_]
    notes: FloatArray


@dataclass(frozen=True)
class DataConfig:
    """What the training data varies (``train.data`` of ``configs/default-model.yaml``).

    The stems' settings (``timbre``) are fixed per song; the rest are the probabilities of a
    mixture's ingredients (:func:`mix_example`). Turning one off is an ablation of that lever.

    Attributes:
        timbre: Singers' timbre drawn wide too: vowels anywhere between the five, per-note
            formant offsets, formant bandwidths, the fundamental's level (pressed to breathy)
            and soft to hard attacks.
        breath_power: Singers' breathiness is ``0.35 * u ** breath_power``, u uniform in 0..1:
            1 draws it uniformly (the data of the models shipped before 2026-12-02); 2 (the
            default) makes most singers clearer and keeps a breathy tail. With 1, YIN finds
            most generated singers mostly aperiodic (median voiced-frame aperiodicity above
            0.2 for 65 % of them; 38 % with 2), and the f0 tracker, which holds on real solo
            singing, scores 22 COnPOff on the clean validation songs (40 with 2;
            BENCHMARKS.md, "how breathy the generated singers are").
        tails: Singers let notes before a rest fade out (6-18 dB over their last 0.1-0.4 s,
            a chance per singer of 0.3-0.9 per note), often with the pitch drooping (up to
            0-150 cents over the last 50-200 ms), as real singers do; the note lasts until
            its labelled offset (:func:`avsvt.synth.voice.render_vocals_with_f0`). Without
            it, every generated note ends in a 30-ms release at full voice, and the model
            ends real fading notes early. Off by default (the embedded corpus draws nothing
            for it); on in the default model's recipe since its second-seed comparison
            (BENCHMARKS.md, "fading note ends on a second seed").
        accomp_p: Probability of an accompaniment under the voice.
        band_p: ...of it being the many-styles band (:mod:`avsvt.synth.band`) rather than the
            corpus-style accompaniment.
        noise_p: Probability of coloured noise.
        chain_p: Probability of the recording chain (:mod:`avsvt.augment`).
        room_p: Probability, within the chain, of a reverberant room (RT60 0.1-1.2 s,
            reverberant energy 18-0 dB under the direct sound): the chain's own 0.5 by default.
    """

    timbre: bool = False
    breath_power: float = 2.0
    tails: bool = False
    accomp_p: float = 0.85
    band_p: float = 0.6
    noise_p: float = 0.35
    chain_p: float = 0.8
    room_p: float = DEFAULT_SETTINGS.room_probability

    def __post_init__(self) -> None:
        for name in ("accomp_p", "band_p", "noise_p", "chain_p", "room_p"):
            check_number(name, getattr(self, name), at_least=0.0, at_most=1.0)
        check_number("breath_power", self.breath_power, above=0.0)


def vary_plan(
    plan: SongPlan,
    rng: np.random.Generator,
    *,
    timbre: bool = False,
    breath_power: float = 1.0,
    tails: bool = False,
) -> SongPlan:
    """A wider singer and a transposition (module docstring), drawn from ``rng``.

    With ``timbre``, the singer's timbre is drawn wide too; ``breath_power`` shapes the
    breathiness; ``tails`` draws fading note ends (:class:`DataConfig`).
    """
    s = plan.singer
    shift = int(rng.integers(-6, 7))
    shift = int(np.clip(shift, 36 - s.low_midi, 84 - s.high_midi))
    singer = dataclasses.replace(
        s,
        low_midi=s.low_midi + shift,
        high_midi=s.high_midi + shift,
        formant_scale=s.formant_scale * float(rng.uniform(0.92, 1.1)),
        tilt=float(rng.uniform(0.6, 2.2)),
        breathiness=0.35 * float(rng.uniform(0.0, 1.0)) ** breath_power,
        vibrato_hz=float(rng.uniform(4.0, 7.5)),
        vibrato_cents=float(rng.choice([0.0, rng.uniform(5, 60), rng.uniform(40, 110)])),
        jitter=float(rng.uniform(0.002, 0.015)),
        shimmer=float(rng.uniform(0.02, 0.15)),
        tuning_cents=float(rng.uniform(-50, 50)),
        note_error_cents=float(rng.uniform(0, 30)) if rng.random() < 0.5 else 0.0,
        drift_cents=float(rng.uniform(0, 50)) if rng.random() < 0.5 else 0.0,
    )
    if timbre:
        singer = dataclasses.replace(
            singer,
            vowel_blend=float(rng.uniform(0.0, 0.6)),
            formant_jitter=float(rng.uniform(0.0, 0.12)),
            bandwidth_scale=float(np.exp(rng.uniform(np.log(0.6), np.log(2.0)))),
            h1_db=float(rng.uniform(-12.0, 8.0)),
            attack_s=float(np.exp(rng.uniform(np.log(0.01), np.log(0.15)))),
        )
    if tails:
        singer = dataclasses.replace(
            singer,
            fade_p=float(rng.uniform(0.3, 0.9)),
            fall_cents=float(rng.uniform(0.0, 150.0)) if rng.random() < 0.6 else 0.0,
        )
    notes = tuple(dataclasses.replace(n, pitch_midi=n.pitch_midi + shift) for n in plan.notes)
    return dataclasses.replace(
        plan, notes=notes, singer=singer, key_midi=(plan.key_midi + shift) % 12
    )


def render_stems(
    seed: int,
    duration_s: float,
    *,
    timbre: bool = False,
    breath_power: float = 1.0,
    tails: bool = False,
) -> Stems:
    """Render one training song from its seed (module docstring; the options: DataConfig)."""
    rng = np.random.default_rng([seed, 7])
    plan = vary_plan(
        plan_song(rng, duration_s), rng, timbre=timbre, breath_power=breath_power, tails=tails
    )
    voice = render_vocals_with_f0(plan, rng)
    accomp = render_accompaniment(plan, voice.audio, rng)
    band = render_band(plan, voice.audio, rng)
    frames = n_frames(len(voice.audio))
    step = int(round(voice.fps * HOP_SAMPLES / SAMPLE_RATE))  # control frames per 10 ms
    f0 = voice.f0_midi[::step][:frames]
    voiced = voice.amplitude[::step][:frames] > VOICED_AMPLITUDE
    tuning = plan.singer.tuning_cents / 100
    notes = np.array(
        [(n.onset_s, n.offset_s, n.pitch_midi + tuning) for n in plan.notes], dtype=np.float64
    ).reshape(-1, 3)
    return Stems(voice.audio, accomp, band, np.where(voiced, f0, 0.0), voiced, notes)


def coloured_noise(n: int, colour: str, rng: np.random.Generator) -> F32:
    """White, pink (1/f power) or brown (1/f^2) Gaussian noise of unit RMS."""
    white = rng.standard_normal(n)
    if colour == "white" or n < 2:
        out = white
    else:
        spectrum = np.fft.rfft(white)
        f = np.arange(len(spectrum), dtype=np.float64)
        f[0] = 1.0
        spectrum /= f ** (0.5 if colour == "pink" else 1.0)
        out = np.fft.irfft(spectrum, n)
    return (out / max(rms(out), 1e-12)).astype(np.float32)


def salience_target(
    f0_midi: FloatArray, voiced: npt.NDArray[np.bool_], config: SpectrogramConfig
) -> F32:
    """(frames, n_bins) Gaussian around the sung pitch; zero rows where unvoiced."""
    bins = config.bin_midi()
    sd = TARGET_SD_BINS / config.bins_per_semitone
    target = np.exp(-0.5 * ((bins[None, :] - f0_midi[:, None]) / sd) ** 2)
    target[~voiced] = 0.0
    return target.astype(np.float32)


@dataclass(frozen=True)
class Batch:
    """Waveforms (B, samples) and their targets (B, frames, n_bins), (B, frames)."""

    audio: F32
    salience: F32
    voiced: F32


def mix_example(
    stems: Stems,
    other: Stems,
    rng: np.random.Generator,
    crop_samples: int,
    data: DataConfig = DataConfig(),
) -> tuple[F32, int]:
    """One training mixture cropped from ``stems`` (module docstring); returns it and its frame.

    Its ingredients are drawn with ``data``'s probabilities.
    """
    n = len(stems.vocals)
    n_crop = min(crop_samples, n)
    start = int(rng.integers(0, (n - n_crop) // HOP_SAMPLES + 1)) * HOP_SAMPLES
    voice = stems.vocals[start : start + n_crop].astype(np.float64)
    voice_rms = max(rms(stems.vocals), 1e-6)
    mix = voice.copy()
    if rng.random() < data.accomp_p:
        source = stems if rng.random() < 0.75 else other
        accomp = source.band if rng.random() < data.band_p else source.accomp
        a_start = start if source is stems else int(rng.integers(0, max(1, len(accomp) - n_crop)))
        piece = np.zeros(n_crop)
        seg = accomp[a_start : a_start + n_crop]
        piece[: len(seg)] = seg
        snr_db = float(rng.uniform(-10, 20))
        mix += piece * (voice_rms / max(rms(accomp), 1e-6)) * 10 ** (-snr_db / 20)
    if rng.random() < data.noise_p:
        colour = str(rng.choice(["white", "pink", "brown"]))
        snr_db = float(rng.uniform(-10, 25))
        mix += coloured_noise(n_crop, colour, rng) * voice_rms * 10 ** (-snr_db / 20)
    if rng.random() < data.chain_p:
        chain = dataclasses.replace(DEFAULT_SETTINGS, room_probability=data.room_p)
        mix = np.asarray(recording_chain(mix, rng, chain), dtype=np.float64)
    level = TARGET_RMS * 10 ** (float(rng.uniform(-12, 6)) / 20)
    mix *= level / max(rms(mix), 1e-9)
    return np.clip(mix, -1.0, 1.0).astype(np.float32), start // HOP_SAMPLES


def draw_batch(
    pool: Sequence[Stems],
    seed: Sequence[int],
    batch_size: int,
    crop_samples: int,
    config: SpectrogramConfig,
    data: DataConfig = DataConfig(),
) -> Batch:
    """A batch of mixtures and targets, drawn only from ``seed`` (module docstring)."""
    rng = np.random.default_rng(list(seed))
    frames = n_frames(crop_samples)
    audio = np.zeros((batch_size, crop_samples), dtype=np.float32)
    salience = np.zeros((batch_size, frames, config.n_bins), dtype=np.float32)
    voiced = np.zeros((batch_size, frames), dtype=np.float32)
    for b in range(batch_size):
        stems = pool[int(rng.integers(len(pool)))]
        other = pool[int(rng.integers(len(pool)))]
        mix, first = mix_example(stems, other, rng, crop_samples, data)
        audio[b, : len(mix)] = mix
        f0 = stems.f0_midi[first : first + frames]
        v = stems.voiced[first : first + frames]
        salience[b, : len(f0)] = salience_target(f0, v, config)
        voiced[b, : len(v)] = v
    return Batch(audio, salience, voiced)
