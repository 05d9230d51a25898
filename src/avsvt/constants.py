"""Every constant of the reference system in one place; derived values are computed."""

from __future__ import annotations

from typing import Final, Literal, get_args


def exact_div(numerator: int, denominator: int) -> int:
    """Integer division that asserts there is no remainder."""
    assert numerator % denominator == 0, f"{numerator} is not a multiple of {denominator}"
    return numerator // denominator


# --- audio -------------------------------------------------------------------------------------
SAMPLE_RATE: Final = 16_000
"""Audio sample rate of the N20EMv2 layout (Hz)."""

UTTERANCE_S: Final = 5
"""Training/evaluation utterance length (s); the last utterance of a song absorbs 2.5..7.5 s."""

UTTERANCE_SAMPLES: Final = SAMPLE_RATE * UTTERANCE_S  # 80 000

WAV2VEC2_RECEPTIVE_FIELD_SAMPLES: Final = 400
WAV2VEC2_STRIDE_SAMPLES: Final = 320


def n_ssl_frames(n_samples: int) -> int:
    """Frames a wav2vec2-style conv stack (field 400, stride 320) gives for ``n_samples``."""
    if n_samples < WAV2VEC2_RECEPTIVE_FIELD_SAMPLES:
        return 0
    return (n_samples - WAV2VEC2_RECEPTIVE_FIELD_SAMPLES) // WAV2VEC2_STRIDE_SAMPLES + 1


UTTERANCE_AUDIO_FRAMES: Final = n_ssl_frames(UTTERANCE_SAMPLES)  # 249
AUDIO_FPS: Final = (
    UTTERANCE_AUDIO_FRAMES / UTTERANCE_S
)  # 49.8 frames/s; frame k starts at k / 49.8 s

# --- video -------------------------------------------------------------------------------------
VIDEO_FPS: Final = 50.0
"""Frame rate of ``video_50fps.npy``; AV-HuBERT keeps T, so features are 50 frames/s too."""

UTTERANCE_VIDEO_FRAMES: Final = int(VIDEO_FPS) * UTTERANCE_S  # 250
VIDEO_MIN_SIDE: Final = 88
"""AV-HuBERT crops 88x88; stored mouth ROIs must be at least that large (96x96 by convention)."""
VIDEO_ROI_SIDE: Final = 96
VIDEO_MEAN: Final = 0.421
VIDEO_STD: Final = 0.165

# --- labels ------------------------------------------------------------------------------------
LOWEST_MIDI: Final = 36
"""C2: octave class 0 starts here; decoding adds this back."""
N_OCTAVES: Final = 4
N_PITCH_CLASSES: Final = 12
HIGHEST_MIDI: Final = LOWEST_MIDI + N_OCTAVES * N_PITCH_CLASSES - 1  # 83 (B5)
SILENT_OCTAVE: Final = N_OCTAVES  # 4
SILENT_PITCH_CLASS: Final = N_PITCH_CLASSES  # 12
N_OCTAVE_CLASSES: Final = N_OCTAVES + 1  # 5
N_PITCH_CLASS_CLASSES: Final = N_PITCH_CLASSES + 1  # 13
# The output layout (onset, offset, octave x5, pitch class x13 = 20 logits) is avsvt.layout's.

ONSET_POS_WEIGHT: Final = 15.0
OFFSET_POS_WEIGHT: Final = 1.0

# --- decoder -----------------------------------------------------------------------------------
ONSET_THRESHOLD: Final = 0.4
OFFSET_THRESHOLD: Final = 0.5
ONSET_PEAK_HALF_WIDTH_FRAMES: Final = 3

# --- metrics (mir_eval.transcription defaults as the reference uses them) ----------------------
ONSET_TOLERANCE_S: Final = 0.05
PITCH_TOLERANCE_CENTS: Final = 50.0
OFFSET_RATIO: Final = 0.2
OFFSET_MIN_TOLERANCE_S: Final = 0.05

# --- data layout -------------------------------------------------------------------------------
SPLITS: Final = ("train", "valid", "test")
Split = Literal["train", "valid", "test"]
Modality = Literal["audio", "video", "audio_visual"]
LipStyle = Literal["crops", "faces", "faces-varied", "faces-h264", "faces-weak"]
"""How a synthetic corpus' lip videos are made (:func:`avsvt.synth.corpus.render_song`).

``crops`` draws mouth crops directly (:mod:`avsvt.synth.lips`, the embedded corpus' bytes);
``faces`` renders whole faces and cuts the crops with the real front end
(:mod:`avsvt.synth.face_lips`: slower, needs mediapipe, and transfers to real mouths);
``faces-varied`` renders the same faces, each singer moving their lips their own way
(:func:`avsvt.synth.lips.draw_articulation_style`); ``faces-h264`` renders the same faces and
passes half the videos through H.264, each at its own CRF (:mod:`avsvt.synth.codec`), as real
videos reach us; ``faces-weak`` renders the same faces, each syllable that the lips do not make
(not p, b, m or f) narrowing the mouth only partly or not at all, as in speech
(:attr:`avsvt.synth.lips.ArticulationStyle.weak_onset_max`). The last three were measured in
BENCHMARKS.md and not adopted."""
LIP_STYLES: Final[tuple[str, ...]] = get_args(LipStyle)
NOISE_TYPES: Final = ("accomp", "babble", "white", "natural")
SNRS_DB: Final = (-10, -5, 0, 5, 10)
