"""Lip-video front end: raw video to 96x96 grayscale mouth crops at 50 fps, aligned with audio.

mediapipe (face mesh), PyAV and OpenCV are imported only when a function needs them.
"""

from avsvt.lips.io import iter_video_frames, read_video_audio, read_video_frames, video_fps
from avsvt.lips.landmarks import FaceLandmarker, lip_landmark_ids
from avsvt.lips.pipeline import (
    LipTrack,
    VideoScan,
    detect_face_landmarks,
    lip_track_from_npy,
    mouth_crops_from_landmarks,
    mouth_crops_from_video,
    scan_video,
)
from avsvt.lips.strip import save_crop_strip
from avsvt.lips.timing import nearest_frame_indices, output_times_s, source_duration_s

__all__ = [
    "FaceLandmarker",
    "LipTrack",
    "VideoScan",
    "detect_face_landmarks",
    "iter_video_frames",
    "lip_landmark_ids",
    "lip_track_from_npy",
    "mouth_crops_from_landmarks",
    "mouth_crops_from_video",
    "nearest_frame_indices",
    "output_times_s",
    "read_video_audio",
    "read_video_frames",
    "save_crop_strip",
    "scan_video",
    "source_duration_s",
    "video_fps",
]
