"""Lip videos through rendered faces: a song plan to 50 fps mouth crops cut by the real front end.

The articulation of :func:`avsvt.synth.lips.articulation` (mouth opening, lip rounding, bilabial
closures) drives a rendered talking face (:mod:`avsvt.synth.faces`) filmed at the singer's camera
rate (25 or 30 fps); mediapipe's face mesh finds its landmarks and
:func:`avsvt.lips.mouth_crops_from_landmarks` cuts the 96x96 crops at 50 fps, exactly as for a
real video (:func:`avsvt.lips.mouth_crops_from_video`). So the crops a model trains on are made
the way real crops are. As in :func:`avsvt.synth.lips.render_lips`, the whole video is shifted by a
small per-song audio/video offset (up to 20 ms).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from avsvt.constants import VIDEO_FPS
from avsvt.lips.landmarks import FaceLandmarker
from avsvt.lips.pipeline import MISSING_GREY, mouth_crops_from_landmarks
from avsvt.synth.codec import draw_crf, h264_round_trip
from avsvt.synth.faces import FaceLook, draw_face_look, render_face_frames
from avsvt.synth.lips import (
    CONTROL_FPS,
    FIXED_STYLE,
    ArticulationStyle,
    articulation,
    draw_articulation_style,
)
from avsvt.synth.melody import SongPlan

FloatArray = npt.NDArray[np.float64]
MAX_AV_OFFSET_S = 0.02
WEAK_ONSET_MAX = 1.0


@dataclass(frozen=True)
class FaceLipVideo:
    """Crops of one rendered face video and what made them.

    Attributes:
        crops: (n_frames, 96, 96) uint8 mouth crops at 50 fps.
        missing: (n_frames,) True where the front end found no face (those crops are grey).
        opening: (n_source,) mouth opening drawn in each source frame.
        rounding: (n_source,) lip rounding drawn in each source frame.
        source_times_s: (n_source,) time of each source frame on the audio's axis.
        look: The face, camera and light.
    """

    crops: npt.NDArray[np.uint8]
    missing: npt.NDArray[np.bool_]
    opening: FloatArray
    rounding: FloatArray
    source_times_s: FloatArray
    look: FaceLook


def articulation_at(
    plan: SongPlan,
    times_s: npt.ArrayLike,
    rng: np.random.Generator,
    style: ArticulationStyle = FIXED_STYLE,
    style_rng: np.random.Generator | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Mouth opening (with a little jitter) and lip rounding of ``plan`` at ``times_s``.

    ``style_rng`` draws the syllables' openings of a varied ``style``.
    """
    times = np.asarray(times_s, dtype=np.float64)
    n_control = int(plan.duration_s * CONTROL_FPS) + 4
    opening_c, rounding_c = articulation(plan, n_control, style, style_rng)
    control_t = np.arange(n_control) / CONTROL_FPS
    opening = np.interp(times, control_t, opening_c) + 0.02 * rng.standard_normal(len(times))
    rounding = np.interp(times, control_t, rounding_c)
    return np.clip(opening, 0.0, None), rounding


def render_face_video(
    plan: SongPlan,
    n_frames: int,
    rng: np.random.Generator,
    *,
    landmarker: FaceLandmarker | None = None,
    varied_articulation: bool = False,
    video_codec: bool = False,
    weak_onsets: bool = False,
) -> FaceLipVideo:
    """Render a face singing ``plan`` and cut its ``n_frames`` mouth crops at 50 fps.

    Args:
        plan: The song.
        n_frames: Number of 50 fps crops (the song's video length).
        rng: Every random choice (face, camera, motion, noise) comes from it.
        landmarker: A reusable face-mesh graph (reset here); a new one when omitted.
        varied_articulation: Draw the singer's own way of moving the lips
            (:func:`avsvt.synth.lips.draw_articulation_style`) from a generator spawned off
            ``rng``, so the face, camera and noise are those of the fixed style.
        video_codec: Pass the rendered frames, for half the songs, through H.264 at a constant
            rate factor drawn (:func:`avsvt.synth.codec.draw_crf`) from a generator spawned off
            ``rng``, before the front end: the same face and camera, as a streamed or uploaded
            video shows them.
        weak_onsets: Each syllable not made by the lips narrows the mouth only partly, or not
            at all (the fixed style with ``weak_onset_max`` :data:`WEAK_ONSET_MAX`), drawn from
            a generator spawned off ``rng``: the same face, camera and noise.
    """
    style, style_rng = FIXED_STYLE, None
    if varied_articulation:
        style_rng = rng.spawn(1)[0]  # spawning leaves rng's own draws as they were
        style = draw_articulation_style(style_rng)
    elif weak_onsets:
        style_rng = rng.spawn(1)[0]
        style = replace(FIXED_STYLE, weak_onset_max=WEAK_ONSET_MAX)
    crf = draw_crf(rng.spawn(1)[0]) if video_codec else None  # None: not coded
    offset_s = float(rng.uniform(-MAX_AV_OFFSET_S, MAX_AV_OFFSET_S))
    look = draw_face_look(rng)
    fps = look.source_fps
    n_source = int(np.ceil(n_frames / VIDEO_FPS * fps))
    times_s = np.arange(n_source) / fps
    opening, rounding = articulation_at(plan, times_s + offset_s, rng, style, style_rng)
    frames = render_face_frames(look, opening, rounding, rng)
    if crf is not None:
        frames = h264_round_trip(frames, fps, crf)
    owned = landmarker is None
    detector = FaceLandmarker() if landmarker is None else landmarker
    detector.reset()
    try:
        points = np.stack([detector.landmarks(frame) for frame in frames])
    finally:
        if owned:
            detector.close()
    track = mouth_crops_from_landmarks(iter(frames), points, times_s, source_fps=fps)
    crops, missing = track.crops[:n_frames], track.missing[:n_frames]
    if len(crops) < n_frames:
        pad = n_frames - len(crops)
        crops = np.concatenate([crops, np.full((pad, *crops.shape[1:]), MISSING_GREY, np.uint8)])
        missing = np.concatenate([missing, np.ones(pad, dtype=bool)])
    return FaceLipVideo(crops, missing, opening, rounding, times_s, look)


def render_face_lips(
    plan: SongPlan,
    n_frames: int,
    rng: np.random.Generator,
    *,
    varied_articulation: bool = False,
    video_codec: bool = False,
    weak_onsets: bool = False,
) -> npt.NDArray[np.uint8]:
    """(n_frames, 96, 96) uint8 mouth crops at 50 fps of a rendered face singing ``plan``.

    The drop-in counterpart of :func:`avsvt.synth.lips.render_lips`; ``varied_articulation``,
    ``video_codec`` and ``weak_onsets`` as :func:`render_face_video`.
    """
    return render_face_video(
        plan,
        n_frames,
        rng,
        varied_articulation=varied_articulation,
        video_codec=video_codec,
        weak_onsets=weak_onsets,
    ).crops
