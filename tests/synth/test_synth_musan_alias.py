import hashlib

from avsvt.cli import main


def digests(root):
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.wav"))
    }


def test_synth_musan_is_the_noise_library_of_avsvt_musan_synth(tmp_path):
    assert main(["synth", "musan", str(tmp_path / "a"), "--preset", "tiny", "--seed", "2"]) == 0
    assert main(["musan", "synth", str(tmp_path / "b"), "--preset", "tiny", "--seed", "2"]) == 0
    a = digests(tmp_path / "a")
    assert a and a == digests(tmp_path / "b")
    assert any(name.startswith("speech/") for name in a) and any(
        name.startswith("noise/") for name in a
    )
