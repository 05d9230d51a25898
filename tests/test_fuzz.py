"""Property-based fuzzing of every reader of user files: parse, or raise the project's own error."""

import io
import json
from dataclasses import dataclass

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from avsvt.config import load_config
from avsvt.data.n20em import read_annotations, validate_root
from avsvt.data.video import read_video
from avsvt.errors import AvsvtError
from avsvt.notefiles import read_notes

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


def parses_or_raises_own_error(fn, *args):
    try:
        fn(*args)
    except AvsvtError:
        pass


@FUZZ
@given(data=st.binary(max_size=300))
def test_csv_reader_on_random_bytes(tmp_path, data):
    path = tmp_path / "x.csv"
    path.write_bytes(data)
    parses_or_raises_own_error(read_notes, path)


@FUZZ
@given(
    rows=st.lists(
        st.lists(
            st.one_of(st.floats(allow_nan=True), st.text(max_size=5), st.integers()), max_size=4
        ),
        max_size=6,
    )
)
def test_csv_reader_on_random_tables(tmp_path, rows):
    path = tmp_path / "x.csv"
    path.write_text("\n".join(",".join(str(v) for v in row) for row in rows))
    parses_or_raises_own_error(read_notes, path)


@FUZZ
@given(value=json_values)
def test_json_note_reader(tmp_path, value):
    path = tmp_path / "x.json"
    path.write_text(json.dumps(value))
    parses_or_raises_own_error(read_notes, path)


@FUZZ
@given(data=st.binary(max_size=200))
def test_midi_reader_on_random_bytes(tmp_path, data):
    path = tmp_path / "x.mid"
    path.write_bytes(b"MThd" + data)
    parses_or_raises_own_error(read_notes, path)


@FUZZ
@given(value=json_values)
def test_annotations_reader_and_validator(tmp_path, value):
    (tmp_path / "annotations.json").write_text(json.dumps(value))
    parses_or_raises_own_error(read_annotations, tmp_path)
    problems = validate_root(tmp_path)  # never raises: reports
    assert isinstance(problems, list)


@dataclass(frozen=True)
class Small:
    lr: float = 0.1
    epochs: int = 1
    name: str = "x"
    flags: tuple[int, ...] = ()


@FUZZ
@given(text=st.text(max_size=120))
def test_config_reader(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    parses_or_raises_own_error(load_config, Small, path)


@FUZZ
@given(value=json_values)
def test_config_reader_on_structured_values(tmp_path, value):
    path = tmp_path / "c.yaml"
    path.write_text(json.dumps({"lr": value, "flags": value}))
    parses_or_raises_own_error(load_config, Small, path)


@FUZZ
@given(
    shape=st.lists(st.integers(0, 100), min_size=0, max_size=4),
    dtype=st.sampled_from([np.uint8, np.float32, np.int16, np.bool_]),
)
def test_video_reader_on_random_arrays(tmp_path, shape, dtype):
    if np.prod(shape) > 2_000_000:
        shape = shape[:1]
    path = tmp_path / "v.npy"
    np.save(path, np.zeros(shape, dtype=dtype))
    parses_or_raises_own_error(read_video, path)


@FUZZ
@given(data=st.binary(max_size=300))
def test_video_reader_on_random_bytes(tmp_path, data):
    path = tmp_path / "v.npy"
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((2, 96, 96), np.uint8))
    path.write_bytes(buffer.getvalue()[: len(data)] + data)
    parses_or_raises_own_error(read_video, path)
