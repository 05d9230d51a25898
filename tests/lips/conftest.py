from collections.abc import Callable
from pathlib import Path

import pytest

from videos import write_video

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
GRID = SHARED_DATA / "grid"

VideoWriter = Callable[..., Path]


@pytest.fixture
def video_writer() -> VideoWriter:
    return write_video


@pytest.fixture(scope="session")
def grid() -> Path:
    """The folder of GRID clips in the shared data; the test is skipped when it is absent."""
    if not sorted(GRID.glob("*.mpg")):
        pytest.skip(f"GRID clips not found in {GRID} (shared data absent)")
    return GRID
