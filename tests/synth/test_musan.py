import hashlib
import re

import soundfile as sf

from avsvt.cli import main
from avsvt.synth.musan import synth_musan_library


def test_library_has_the_musan_layout_and_is_deterministic(tmp_path):
    root = synth_musan_library(tmp_path / "a", seed=3, preset="tiny", progress=False)
    speech = sorted((root / "speech" / "librivox").glob("*.wav"))
    noises = sorted((root / "noise").glob("*/*.wav"))
    assert len(speech) == 12 and len(noises) == 16
    assert {p.parent.name for p in noises} == {"free-sound", "sound-bible"}
    for path in speech + noises + sorted((root / "music" / "fma").glob("*.wav")):
        assert re.fullmatch(
            r"(speech-librivox|music-fma|noise-free-sound|noise-sound-bible)-\d{4}\.wav", path.name
        )
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
    assert all(sf.info(p).duration > 10 for p in speech)  # MUSAN preparation keeps > 10 s only
    assert all(1.0 <= sf.info(p).duration <= 10.0 for p in noises)
    again = tmp_path / "b"
    assert main(["synth", "musan", str(again), "--seed", "3", "--preset", "tiny"]) == 0
    for path in speech[:3] + noises[:3]:
        other = again / path.relative_to(root)
        assert (
            hashlib.sha256(path.read_bytes()).digest()
            == hashlib.sha256(other.read_bytes()).digest()
        )
