import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small valid N20EMv2 root (read-only for tests: copy it before changing it)."""
    from avsvt.testing import make_tiny_corpus

    return make_tiny_corpus(tmp_path_factory.mktemp("tiny") / "root", n_songs=3, duration_s=4.0)


@pytest.fixture(scope="session")
def step_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each data step's input folder (corpus, MUSAN preparation, noise), made by earlier ones."""
    from faults import prepare_step_inputs

    return prepare_step_inputs(tmp_path_factory.mktemp("inputs"), tmp_path_factory.mktemp("steps"))


@pytest.fixture(scope="session")
def gapped_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """16 songs of 10 s of separated tones (read-only: see tests/trained.py)."""
    from trained import write_gapped_corpus

    return write_gapped_corpus(tmp_path_factory.mktemp("gapped") / "root")


@pytest.fixture(scope="session")
def trained_audio_model(gapped_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny audio transcriber trained for real on ``gapped_root`` (about 15 s on 2 cores)."""
    from trained import train_audio_model

    return train_audio_model(gapped_root, tmp_path_factory.mktemp("trained"))
