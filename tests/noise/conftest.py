"""Shared fixtures: a tiny synthetic MUSAN library, its preparation, and a tiny N20EMv2 root.

Session-scoped and read-only: tests that change files copy them first.
"""

import shutil
from pathlib import Path

import pytest

from avsvt.noise.library import synth_musan_library
from avsvt.noise.musan import PrepareConfig, prepare_musan
from avsvt.testing import make_tiny_corpus

TINY_BABBLE = (10, 3, 3)


@pytest.fixture(scope="session")
def musan_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny synthetic library, prepared (short-musan/ with a few babble mixtures)."""
    root = synth_musan_library(tmp_path_factory.mktemp("musan") / "musan", seed=0, preset="tiny")
    prepare_musan(root, config=PrepareConfig(n_babble=TINY_BABBLE), nshard=3, progress=False)
    return root


@pytest.fixture(scope="session")
def noise_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six 12-s songs (two per split): 12 s needs two 10-s noise segments, the second cut."""
    return make_tiny_corpus(
        tmp_path_factory.mktemp("corpus") / "root", n_songs=6, duration_s=12.0, seed=1
    )


@pytest.fixture
def corpus_copy(noise_corpus: Path, tmp_path: Path) -> Path:
    """A writable copy of the tiny corpus."""
    return Path(shutil.copytree(noise_corpus, tmp_path / "root"))


@pytest.fixture(scope="session")
def babble_path(musan_root: Path) -> Path:
    return musan_root / "short-musan" / "babble" / "wav"


@pytest.fixture(scope="session")
def natural_path(musan_root: Path) -> Path:
    return musan_root / "noise"
