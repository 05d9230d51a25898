"""The default transcription: the f0 tracker where the voice is alone, the pitch network otherwise.

The two systems fail in opposite places. The f0 tracker (:mod:`avsvt.f0notes`, YIN, nothing
learned) is the best we have on clean solo singing (issue 16: COnPOff 0.59 over 40 real solo
recordings, above pYIN and basic-pitch) and collapses as soon as anything else sounds. The pitch
network survives accompaniment and noise but carries the gap between the generated singers it
learned from and real ones, which shows most on clean real singing.

So :class:`SoloRouted` runs the network, measures how loud everything that is not the voice is
(:func:`background_db`: the median level of the frames the network hears no voice in or near,
against the median level of those it does), and when that is at least :data:`SOLO_BELOW_DB`
under the voice, the recording is a solo voice and the notes are the f0 tracker's; otherwise the
network's. The network runs once either way.

On generated songs the measure reads the mixing SNR back to within about 4 dB, a little under it
(white noise and a band at 10-30 dB: BENCHMARKS.md, "the default's two systems"); the f0 tracker
there keeps at least 95 % of its clean-voice COnPOff down to 20 dB of accompaniment and loses 14 %
at 15 dB, so the switch sits at 25 dB, a 5-dB margin. The 100 ms left out on each side of the voice
keep breaths, consonants and the note ends the network lets go early out of the background: on
clean generated songs they lower the highest reading from -32 dB to -57 dB, and move noisy ones
by at most 1.2 dB. Nothing in it was chosen on a real recording.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from avsvt.f0notes import F0NoteSettings, transcribe_f0
from avsvt.notes import Note
from avsvt.pitchnet.features import HOP_SAMPLES
from avsvt.pitchnet.track import PitchNetTracker

SOLO_BELOW_DB = -25.0
"""A recording whose background is at least this far under the voice (dB) is a solo voice."""
MIN_FRAMES = 50
"""Frames (10 ms) of voice and of background :func:`background_db` needs to say anything."""
GUARD_FRAMES = 10
"""Frames (10 ms) on each side of the voice that are not background (breaths, consonants, and
note ends the network lets go early)."""


def background_db(
    audio: npt.NDArray[np.floating],
    voiced: npt.NDArray[np.bool_],
    *,
    guard_frames: int = GUARD_FRAMES,
) -> float:
    """How loud what is not the voice is, in dB against the voice (0 = as loud; lower = quieter).

    The median level of the background, the 10-ms frames more than ``guard_frames`` from any
    frame where ``voiced`` is True, minus that of the voiced frames (frame ``i`` covers samples
    ``i * 160 .. (i + 1) * 160`` at 16 kHz). NaN when either has fewer than :data:`MIN_FRAMES`
    frames: then nothing can be said. Digital silence counts as -200 dB.
    """
    x = np.asarray(audio, dtype=np.float64)
    n = min(len(voiced), len(x) // HOP_SAMPLES)
    v = np.asarray(voiced[:n], dtype=bool)
    near = np.convolve(v, np.ones(2 * guard_frames + 1), mode="same") > 0 if n else v
    if v.sum() < MIN_FRAMES or (~near).sum() < MIN_FRAMES:
        return float("nan")
    power = np.mean(x[: n * HOP_SAMPLES].reshape(n, HOP_SAMPLES) ** 2, axis=1)
    level_db = 10 * np.log10(np.maximum(power, 1e-20))
    return float(np.median(level_db[~near]) - np.median(level_db[v]))


@dataclass(frozen=True)
class Route:
    """Which system transcribed a recording, and why.

    Attributes:
        system: ``"f0"`` (the f0 tracker) or ``"network"`` (the pitch network).
        background_db: :func:`background_db` of the recording (NaN: not measurable).
    """

    system: str
    background_db: float

    def describe(self) -> str:
        """One line for a user: which system, and the measurement that chose it."""
        if np.isnan(self.background_db):
            return "too little voice or background to tell: notes from the pitch network"
        under = f"background {-self.background_db:.0f} dB under the voice"
        if self.system == "f0":
            return f"solo voice ({under}): notes from the f0 tracker"
        return f"voice with accompaniment or noise ({under}): notes from the pitch network"


@dataclass
class SoloRouted:
    """The default of ``avsvt transcribe`` (module docstring).

    Attributes:
        network: The pitch network with its fitted segmentation.
        solo: The f0 tracker's settings for solo voice.
        solo_below_db: The switch (:data:`SOLO_BELOW_DB`).
    """

    network: PitchNetTracker
    solo: F0NoteSettings = field(default_factory=F0NoteSettings)
    solo_below_db: float = SOLO_BELOW_DB

    @property
    def uses_video(self) -> bool:
        """Always False: both systems listen only."""
        return False

    def transcribe_routed(self, audio: npt.NDArray[np.floating]) -> tuple[list[Note], Route]:
        """Notes of 16 kHz mono audio, and which system gave them."""
        salience, voicing = self.network.probabilities(audio)
        track = self.network.decode(salience, voicing)
        level_db = background_db(audio, track.f0_hz > 0)
        if level_db <= self.solo_below_db:  # NaN compares False: the network
            samples = np.asarray(audio, dtype=np.float32)
            return transcribe_f0(samples, self.solo), Route("f0", level_db)
        return self.network.notes(track), Route("network", level_db)

    def transcribe(self, audio: npt.NDArray[np.floating]) -> list[Note]:
        """Notes of 16 kHz mono audio (:meth:`transcribe_routed` without the route)."""
        return self.transcribe_routed(audio)[0]
