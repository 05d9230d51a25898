"""No timing drift anywhere in a long recording transcribed through the CLI with a trained model.

The recording is 100 s of separated tones whose onsets are placed at known sample positions, so
the reference onset times are ``sample / 16 000``, never computed from the engine's frame grid.
The old windowed inference fed 30-40 s windows as one array and mapped them with the 5-s grid:
its onsets drifted about 20 ms later per 5 s inside each window (up to ~140 ms) and fell back at
the next window, which a 5-s-stretch comparison sees and a first-vs-last comparison would not.
"""

import numpy as np
import soundfile as sf

from avsvt.cli import main
from avsvt.constants import SAMPLE_RATE
from avsvt.notefiles import read_notes
from avsvt.notes import Note
from avsvt.testing import synth_vocal
from trained import gapped_melody

DURATION_S = 100.0


def test_onset_error_is_the_same_in_every_5_s_stretch(trained_audio_model, tmp_path):
    rng = np.random.default_rng(7)
    melody = gapped_melody(rng, DURATION_S)
    onsets = [round(n.onset_s * SAMPLE_RATE) for n in melody]  # sample positions
    notes = [
        Note(start / SAMPLE_RATE, n.offset_s, n.pitch_midi)
        for start, n in zip(onsets, melody, strict=True)
    ]
    audio = synth_vocal(notes, int(DURATION_S * SAMPLE_RATE))
    sf.write(tmp_path / "long.wav", audio, SAMPLE_RATE, subtype="FLOAT")
    assert (
        main(
            [
                "transcribe",
                str(tmp_path / "long.wav"),
                "--model",
                str(trained_audio_model),
                "-o",
                str(tmp_path / "out"),
                "--format",
                "csv",
            ]
        )
        == 0
    )
    estimated = np.array([n.onset_s for n in read_notes(tmp_path / "out" / "long.csv")])
    reference = np.array(onsets) / SAMPLE_RATE
    errors, stretch = [], []
    for ref in reference:
        nearest = estimated[np.argmin(np.abs(estimated - ref))]
        if abs(nearest - ref) <= 0.15:
            errors.append(nearest - ref)
            stretch.append(int(ref // 5))
    errors_s, stretches = np.array(errors), np.array(stretch)
    assert len(errors_s) >= 0.9 * len(reference), "the trained model misses notes"
    overall = float(np.median(errors_s))
    assert abs(overall) <= 0.03
    for k in range(int(DURATION_S // 5)):
        in_stretch = errors_s[stretches == k]
        assert len(in_stretch) >= 3, f"stretch {5 * k}-{5 * k + 5} s has too few notes"
        median = float(np.median(in_stretch))
        assert abs(median - overall) <= 0.02, (
            f"{5 * k}-{5 * k + 5} s: median onset error {1000 * median:+.0f} ms, "
            f"overall {1000 * overall:+.0f} ms"
        )
