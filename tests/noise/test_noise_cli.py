import hashlib
import shutil
from pathlib import Path

import soundfile as sf

from avsvt.cli import main
from avsvt.data.n20em import load_songs


def test_musan_synth_prepare_and_noise_synth_round_trip(tmp_path, noise_corpus, capsys):
    musan = tmp_path / "musan"
    assert main(["musan", "synth", str(musan), "--seed", "0", "--preset", "tiny"]) == 0
    assert "synthetic MUSAN-style library" in capsys.readouterr().out
    assert len(list(musan.glob("*/*/*.wav"))) == 29
    args = ["musan", "prepare", str(musan), "--n-babble", "4", "2", "2", "--nshard", "2"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "8 babble mixture(s)" in out and "finished" in out
    babble = musan / "short-musan" / "babble" / "wav"
    assert sorted(p.name for p in babble.glob("*.wav"))[:2] == ["test-00001.wav", "test-00002.wav"]
    assert main(args) == 0
    assert "0 shard(s) run, 2 already done" in capsys.readouterr().out

    root = Path(shutil.copytree(noise_corpus, tmp_path / "root"))
    noise_args = [
        "noise",
        "synth",
        str(root),
        "--babble",
        str(babble),
        "--natural",
        str(musan / "noise"),
        "--types",
        "babble",
        "natural",
        "--snrs",
        "-5",
        "5",
        "--seed",
        "3",
        "--workers",
        "2",
    ]
    assert main(noise_args) == 0
    assert "6 written, 0 already done" in capsys.readouterr().out
    song = load_songs(root)[0]
    for noise_type in ("babble", "natural"):
        for snr_db in (-5, 5):
            assert sf.info(str(song.noisy_path(noise_type, snr_db))).subtype == "FLOAT"
    assert not song.noisy_path("white", 0).exists()
    digest = hashlib.sha256(song.noisy_path("babble", 5).read_bytes()).hexdigest()
    assert main(noise_args) == 0
    assert "0 written, 6 already done" in capsys.readouterr().out
    assert hashlib.sha256(song.noisy_path("babble", 5).read_bytes()).hexdigest() == digest


def test_user_errors_are_one_line_and_exit_1(tmp_path, noise_corpus, capsys):
    assert main(["musan", "prepare", str(tmp_path / "missing")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "MUSAN root not found" in err[0] and "missing" in err[0]
    assert main(["noise", "synth", str(noise_corpus), "--types", "babble"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--babble" in err[0]
    assert main(["noise", "synth", str(tmp_path), "--types", "white"]) == 1
    assert "annotations.json not found" in capsys.readouterr().err
