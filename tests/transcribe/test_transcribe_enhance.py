"""``avsvt transcribe --enhance``: DeepFilterNet3 before the f0 tracker, through the CLI.

The voice is the project's synthetic singer on short syllables with known notes (the signal
``tests/test_enhance.py`` shows DeepFilterNet3 keeps), buried in white noise at 0 dB. The oracle
is the notes the voice was rendered from, scored with mir_eval (onsets only: the tracker's pitch
on this voice is not what is being tested).
"""

from __future__ import annotations

import json
import subprocess

import mir_eval
import numpy as np
import soundfile as sf

from faults import avsvt
from test_enhance import SR, syllabic_notes, syllabic_voice


def _onset_f1(json_path, reference_onsets_s: np.ndarray) -> float:
    notes = json.loads(json_path.read_text())["notes"]
    estimated = np.array([onset_s for onset_s, _, _ in notes], dtype=float)
    if len(estimated) == 0:
        return 0.0
    return float(mir_eval.onset.f_measure(reference_onsets_s, np.sort(estimated), window=0.1)[0])


def test_enhance_recovers_onsets_that_white_noise_buried(tmp_path):
    clean = syllabic_voice()
    noise = np.random.default_rng(1).standard_normal(len(clean))
    noise *= np.sqrt(np.mean(clean**2) / np.mean(noise**2))  # 0 dB
    wav = tmp_path / "noisy.wav"
    sf.write(wav, (clean + noise) * 0.3, SR, subtype="FLOAT")
    onsets_s = np.array([n.onset_s for n in syllabic_notes()])
    scores = {}
    for flag in ([], ["--enhance"]):
        out = tmp_path / ("enhanced" if flag else "plain")
        result = subprocess.run(
            avsvt(
                "transcribe", str(wav), "-o", str(out), "--format", "json", "--model", "f0", *flag
            ),
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        scores[bool(flag)] = _onset_f1(out / "noisy.json", onsets_s)
    assert scores[True] >= 0.6, scores
    assert scores[True] >= scores[False] + 0.2, scores


def test_a_rerun_with_enhance_is_new_work_not_a_skip(tmp_path):
    wav = tmp_path / "voice.wav"
    sf.write(wav, syllabic_voice() * 0.3, SR, subtype="FLOAT")
    out = tmp_path / "out"
    first = subprocess.run(avsvt("transcribe", str(wav), "-o", str(out)), capture_output=True)
    assert first.returncode == 0, first.stderr
    again = subprocess.run(
        avsvt("transcribe", str(wav), "-o", str(out), "--enhance"),
        capture_output=True,
        text=True,
    )
    # the request differs, so the finished outputs are not silently kept as if they answered it
    assert again.returncode == 1 and "--overwrite" in again.stderr, again.stderr
