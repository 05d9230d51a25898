"""Synthetic talking faces: whole RGB video frames whose mouth follows the song's articulation.

Instead of drawing mouth crops directly (:mod:`avsvt.synth.lips`), a face is rendered as a real
camera would see it and passed through the same front end as real videos
(:func:`avsvt.synth.face_lips.render_face_lips`), so the crops the model trains on carry what real
crops carry: the face mesh's landmark jitter, the alignment by eyes and nose, the crop centred on
the lips (which moves when the jaw drops), 25 fps sources repeated to 50 fps, blur, noise and
compression.

A face is drawn in *face units* (the distance between the outer eye corners is 1; ``u`` to the
right of the image, ``v`` down, the origin between the eyes):

* a 2.5-D head: a height field (head ellipsoid, nose ridge and tip, eye sockets, brow ridge,
  cheeks, chin) shaded by a per-singer light (ambient + Lambert), skin tone and texture, stubble
  for some singers, hair, eyebrows, eyes (sclera, iris, lids), nostrils, neck and clothes;
* a mouth driven per frame by the articulation curves of :func:`avsvt.synth.lips.articulation`
  (opening 0..1.1 and rounding 0..1): the inner-lip gap and the jaw drop grow with the opening,
  rounding narrows and thickens the lips; the open mouth shows a dark interior, upper teeth (lower
  teeth and tongue for some singers); bilabials press the lips shut;
* the face moves (translation, in-plane rotation, scale, a small yaw), the light drifts, and each
  frame is blurred, resampled to the video's resolution, given sensor noise and JPEG-compressed.

Everything random comes from the generator passed in; rendering is pure numpy + OpenCV.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.ndimage import gaussian_filter

from avsvt.synth.lips import smooth_walk

FloatArray = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]

TEXTURE_PX_PER_UNIT = 120
"""Resolution of the face texture (pixels per face unit)."""
U_RANGE = (-1.15, 1.15)
V_RANGE = (-1.35, 1.95)


@dataclass(frozen=True)
class FaceLook:
    """One singer's face, camera and light (drawn once per song by :func:`draw_face_look`)."""

    skin_rgb: tuple[float, float, float]
    lip_rgb: tuple[float, float, float]
    hair_rgb: tuple[float, float, float]
    iris_rgb: tuple[float, float, float]
    cloth_rgb: tuple[float, float, float]
    background_rgb: tuple[float, float, float]
    light: tuple[float, float, float]
    ambient: float
    face_half_width: float
    chin_v: float
    hairline_v: float
    bald: bool
    stubble: float
    mouth_v: float
    mouth_width: float
    upper_lip: float
    lower_lip: float
    gap_gain: float
    jaw_gain: float
    teeth_height: float
    lower_teeth: bool
    brow_v: float
    brow_thickness: float
    eye_height: float
    nose_length: float
    eye_distance_px: float
    frame_size: tuple[int, int]
    source_fps: float
    blur_px: float
    noise_sd: float
    jpeg_quality: int
    downscale: float


def draw_face_look(rng: np.random.Generator) -> FaceLook:
    """A random singer, camera and light."""
    skin_value = float(rng.uniform(0.25, 0.92))
    warm = float(rng.uniform(0.9, 1.2))
    skin = (
        min(1.0, skin_value * warm),
        skin_value * float(rng.uniform(0.72, 0.86)),
        skin_value * float(rng.uniform(0.55, 0.75)),
    )
    lip_dark = float(rng.uniform(0.72, 0.95))
    lip = (skin[0] * lip_dark * 1.05, skin[1] * lip_dark * 0.72, skin[2] * lip_dark * 0.8)
    hair_value = float(rng.choice([0.06, 0.12, 0.25, 0.45, 0.7]))
    hair = (hair_value * 1.1, hair_value * 0.9, hair_value * 0.7)
    azimuth = float(rng.uniform(-0.9, 0.9))
    elevation = float(rng.uniform(0.15, 0.9))
    light = (
        float(np.sin(azimuth) * np.cos(elevation)),
        float(-np.sin(elevation) * 0.6),
        float(np.cos(azimuth) * np.cos(elevation)),
    )
    norm = float(np.linalg.norm(light))
    width, height = [(320, 240), (360, 288), (400, 300)][int(rng.integers(3))]
    nose_length = float(rng.uniform(0.45, 0.55))
    mouth_v = nose_length + float(rng.uniform(0.26, 0.38))
    return FaceLook(
        skin_rgb=skin,
        lip_rgb=lip,
        hair_rgb=hair,
        iris_rgb=tuple(float(c) for c in rng.uniform(0.05, 0.45) * rng.uniform(0.6, 1.0, 3)),  # type: ignore[arg-type]
        cloth_rgb=tuple(float(c) for c in rng.uniform(0.05, 0.9, 3)),  # type: ignore[arg-type]
        background_rgb=tuple(float(c) for c in rng.uniform(0.1, 0.95, 3)),  # type: ignore[arg-type]
        light=(light[0] / norm, light[1] / norm, light[2] / norm),
        ambient=float(rng.uniform(0.35, 0.65)),
        face_half_width=float(rng.uniform(0.74, 0.86)),
        chin_v=mouth_v + float(rng.uniform(0.42, 0.56)),
        hairline_v=float(rng.uniform(-0.75, -0.5)),
        bald=bool(rng.random() < 0.1),
        stubble=float(rng.choice([0.0, 0.0, 0.0, rng.uniform(0.05, 0.3)])),
        mouth_v=mouth_v,
        mouth_width=float(rng.uniform(0.42, 0.56)),
        upper_lip=float(rng.uniform(0.035, 0.07)),
        lower_lip=float(rng.uniform(0.05, 0.09)),
        gap_gain=float(rng.uniform(0.1, 0.2)),
        jaw_gain=float(rng.uniform(0.6, 1.0)),
        teeth_height=float(rng.uniform(0.0, 0.05)),
        lower_teeth=bool(rng.random() < 0.4),
        brow_v=float(rng.uniform(-0.24, -0.16)),
        brow_thickness=float(rng.uniform(0.03, 0.06)),
        eye_height=float(rng.uniform(0.09, 0.13)),
        nose_length=nose_length,
        eye_distance_px=float(rng.uniform(0.17, 0.3) * width),
        frame_size=(width, height),
        source_fps=float(rng.choice([25.0, 25.0, 25.0, 30.0])),
        blur_px=float(rng.uniform(0.3, 1.4)),
        noise_sd=float(rng.uniform(0.5, 4.0)),
        jpeg_quality=int(rng.integers(25, 90)),
        downscale=float(rng.choice([1.0, 1.0, rng.uniform(1.3, 2.2)])),
    )


def _grid() -> tuple[FloatArray, FloatArray]:
    """Face-unit coordinates ``(u, v)`` of every texture pixel centre."""
    k = TEXTURE_PX_PER_UNIT
    us = U_RANGE[0] + (np.arange(round((U_RANGE[1] - U_RANGE[0]) * k)) + 0.5) / k
    vs = V_RANGE[0] + (np.arange(round((V_RANGE[1] - V_RANGE[0]) * k)) + 0.5) / k
    u, v = np.meshgrid(us, vs)
    return u, v


def _blob(u: FloatArray, v: FloatArray, cu: float, cv: float, su: float, sv: float) -> FloatArray:
    return np.asarray(np.exp(-(((u - cu) / su) ** 2) - ((v - cv) / sv) ** 2), dtype=np.float64)


def _smoothstep(x: FloatArray) -> FloatArray:
    t = np.clip(x, 0.0, 1.0)
    return np.asarray(t * t * (3 - 2 * t), dtype=np.float64)


def head_outline_half_width(look: FaceLook, v: FloatArray) -> FloatArray:
    """Half-width of the head at height ``v`` (0 outside it): round skull, tapering jaw."""
    top, widest = -1.15, 0.3
    skull = np.sqrt(np.clip(1 - ((v - widest) / (widest - top)) ** 2, 0, 1))
    t = np.clip((v - widest) / (look.chin_v - widest), 0, 1)
    jaw = (1 - 0.35 * t**1.5) * np.sqrt(np.clip(1 - t**4, 0, 1))
    half = look.face_half_width * np.where(v < widest, skull, jaw)
    return np.asarray(np.where((v >= top) & (v <= look.chin_v), half, 0.0), dtype=np.float64)


def face_texture(look: FaceLook, rng: np.random.Generator) -> tuple[F32, F32]:
    """The still face without mouth, in face units: (H, W, 3) RGB in 0..1 and (H, W) alpha.

    The mouth region is skin here; :func:`draw_mouth` paints the mouth of each frame.
    """
    u, v = _grid()
    half = head_outline_half_width(look, v)
    inside = np.abs(u) < half
    edge = np.clip((half - np.abs(u)) / 0.06, 0, 1)
    # height field of the face, for shading
    rel = np.clip(1 - (u / np.maximum(look.face_half_width, 1e-3)) ** 2, 0, 1)
    height = 0.55 * np.sqrt(rel) * np.clip(edge * 1.2, 0, 1)
    nose_t = np.clip(v / look.nose_length, 0, 1)
    height += 0.2 * nose_t * np.exp(-((u / (0.05 + 0.06 * nose_t)) ** 2)) * (v < look.nose_length)
    height += 0.12 * _blob(u, v, 0, look.nose_length - 0.02, 0.09, 0.07)
    for side in (-1, 1):
        height -= 0.07 * _blob(u, v, side * 0.33, 0.0, 0.16, 0.1)
        height += 0.05 * _blob(u, v, side * 0.4, 0.45, 0.2, 0.18)  # cheeks
        height += 0.06 * _blob(u, v, side * 0.15, look.nose_length + 0.02, 0.06, 0.06)  # alae
    height += 0.04 * _blob(u, v, 0, look.brow_v + 0.02, 0.6, 0.06)
    height += 0.05 * _blob(u, v, 0, look.chin_v - 0.15, 0.2, 0.12)
    height += 0.05 * _blob(u, v, 0, look.mouth_v, 0.35, 0.12)  # the mouth's mound
    height -= 0.03 * _blob(u, v, 0, look.mouth_v + 0.2, 0.18, 0.04)  # fold under the lower lip
    dv, du = np.gradient(height, 1.0 / TEXTURE_PX_PER_UNIT)
    normal = np.stack([-du, -dv, np.ones_like(du)], axis=-1)
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    lambert = np.clip(normal @ np.asarray(look.light), 0, 1)
    shade = look.ambient + (1 - look.ambient) * lambert
    # albedo
    k = TEXTURE_PX_PER_UNIT
    texture = gaussian_filter(rng.standard_normal(u.shape), 0.02 * k) * 0.05
    texture += gaussian_filter(rng.standard_normal(u.shape), 0.005 * k) * 0.03
    skin = np.asarray(look.skin_rgb)[None, None, :] * (1 + texture[..., None])
    albedo = skin.copy()
    if look.stubble > 0:
        region = _blob(u, v, 0, look.mouth_v + 0.15, 0.55, 0.45) * (v > look.nose_length)
        dots = np.clip(gaussian_filter(rng.standard_normal(u.shape), 0.004 * k) * 3, 0, 1)
        albedo *= 1 - look.stubble * (0.6 + 0.4 * dots[..., None]) * region[..., None]
    # eyes, lids and brows
    for side in (-1, 1):
        cu = side * 0.335
        eye = ((u - cu) / 0.165) ** 2 + (v / (look.eye_height / 2)) ** 2 <= 1
        albedo[eye] = np.array([0.85, 0.82, 0.8]) * 0.8
        iris = ((u - cu) / 0.055) ** 2 + (v / 0.055) ** 2 <= 1
        albedo[iris & eye] = look.iris_rgb
        pupil = ((u - cu) / 0.022) ** 2 + (v / 0.022) ** 2 <= 1
        albedo[pupil & eye] = 0.03
        lid = (
            np.abs(((u - cu) / 0.17) ** 2 + ((v + 0.005) / (look.eye_height / 2 + 0.012)) ** 2 - 1)
            < 0.25
        ) & (v < 0.005)
        albedo[lid] *= 0.35
        brow_centre = look.brow_v - 0.06 * (1 - ((u - side * 0.33) / 0.3) ** 2)
        brow = (np.abs(u - side * 0.33) < 0.3) & (np.abs(v - brow_centre) < look.brow_thickness / 2)
        brow &= np.abs(u) > 0.08
        albedo[brow] = albedo[brow] * 0.3 + 0.7 * np.asarray(look.hair_rgb)
        nostril = _blob(u, v, side * 0.08, look.nose_length + 0.05, 0.04, 0.02)
        albedo *= 1 - 0.8 * nostril[..., None]
    # the shadow under the nose and the philtrum
    under_nose = _blob(u, v, 0, look.nose_length + 0.09, 0.16, 0.035)
    philtrum = _blob(u, v, 0, (look.nose_length + look.mouth_v) / 2 + 0.03, 0.03, 0.08)
    albedo *= (1 - 0.25 * under_nose - 0.08 * philtrum)[..., None]
    # hair
    if not look.bald:
        hair = inside & (
            (v < look.hairline_v + 0.1 * (u / look.face_half_width) ** 2)
            | ((np.abs(u) > half - 0.1) & (v < 0.1))
        )
        strands = 1 + 0.15 * gaussian_filter(rng.standard_normal(u.shape), (0.03 * k, 0.003 * k))
        albedo[hair] = np.asarray(look.hair_rgb) * strands[hair, None]
    image = albedo * shade[..., None]
    # neck and clothes behind the head
    neck = (np.abs(u) < 0.42) & (v > 0.9)
    neck_rgb = np.asarray(look.skin_rgb) * 0.7 * (1 + texture[..., None])
    cloth = v > look.chin_v + 0.3 + 0.25 * np.abs(u)
    behind = np.where(cloth[..., None], np.asarray(look.cloth_rgb), neck_rgb)
    image = np.where(inside[..., None], image, behind)
    alpha = np.clip(edge * inside + neck + cloth, 0, 1)
    return image.astype(np.float32), gaussian_filter(alpha, 1.0).astype(np.float32)


def draw_mouth(
    image: F32, look: FaceLook, opening: float, rounding: float, *, sigma_px: float = 0.8
) -> F32:
    """Paint one frame's mouth (and drop the jaw) on a copy of the face texture.

    ``opening`` 0 is closed (lips pressed), 1 wide; ``rounding`` 0 spread, 1 rounded;
    ``sigma_px``: blur of the painted mouth, in texture pixels (the texture's own blur).
    """
    import cv2

    k = TEXTURE_PX_PER_UNIT
    opening = float(np.clip(opening, 0.0, 1.15))
    rounding = float(np.clip(rounding, 0.0, 1.0))
    gap = look.gap_gain * opening
    jaw = look.jaw_gain * gap + 0.03 * opening
    height_px, width_px = image.shape[:2]
    # the jaw drops: everything under the mouth line moves down by `jaw`
    vs = V_RANGE[0] + (np.arange(height_px) + 0.5) / k
    shift = jaw * _smoothstep((vs - look.mouth_v) / 0.1)
    map_y = (np.arange(height_px) - shift * k).astype(np.float32)
    map_x = np.arange(width_px, dtype=np.float32)
    grid_x, grid_y = np.meshgrid(map_x, map_y)
    frame: F32 = np.asarray(
        cv2.remap(image, grid_x, grid_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE),
        dtype=np.float32,
    )
    # the mouth, painted in a window around it
    half_w = look.mouth_width / 2 * (1 - 0.38 * rounding)
    top_v, bottom_v = look.mouth_v - 0.15, look.mouth_v + jaw + 0.2
    r0 = max(0, int((top_v - V_RANGE[0]) * k))
    r1 = min(height_px, int((bottom_v - V_RANGE[0]) * k) + 1)
    c0 = max(0, int((-half_w - 0.08 - U_RANGE[0]) * k))
    c1 = min(width_px, int((half_w + 0.08 - U_RANGE[0]) * k) + 1)
    uu = U_RANGE[0] + (np.arange(c0, c1) + 0.5) / k
    vv = V_RANGE[0] + (np.arange(r0, r1) + 0.5) / k
    u, v = np.meshgrid(uu, vv)
    x = np.clip(np.abs(u) / half_w, 0, 1.5)
    across = np.sqrt(np.clip(1 - x**2, 0, 1))
    thick = 1 + 0.45 * rounding
    lens = across ** (0.5 - 0.3 * rounding)
    mid = look.mouth_v + 0.2 * jaw * 0.0
    inner_top = mid - 0.15 * gap * lens
    inner_bottom = mid + 0.85 * gap * lens
    bow = 0.012 * _blob(u, v, 0, 0, 0.05, 10) - 0.012 * _blob(u, v, 0.09, 0, 0.05, 10)
    bow -= 0.012 * _blob(u, v, -0.09, 0, 0.05, 10)
    outer_top = inner_top - thick * look.upper_lip * across**0.8 + bow * across
    outer_bottom = inner_bottom + thick * look.lower_lip * across**0.6
    inside_w = x < 1
    upper = inside_w & (v >= outer_top) & (v < inner_top)
    lower = inside_w & (v > inner_bottom) & (v <= outer_bottom)
    mouth = inside_w & (v >= inner_top) & (v <= inner_bottom) & (gap > 0.004)
    patch = frame[r0:r1, c0:c1].astype(np.float64)
    light = float(np.mean(patch)) / max(float(np.mean(look.skin_rgb)), 1e-3)
    lip_rgb = np.asarray(look.lip_rgb) * light
    upper_shade = 0.8 + 0.1 * ((v - outer_top) / np.maximum(inner_top - outer_top, 1e-3))
    lower_pos = (v - inner_bottom) / np.maximum(outer_bottom - inner_bottom, 1e-3)
    lower_shade = 1.05 - 0.3 * lower_pos + 0.12 * np.exp(-(((lower_pos - 0.35) / 0.2) ** 2))
    patch = np.where(upper[..., None], lip_rgb * upper_shade[..., None], patch)
    patch = np.where(lower[..., None], lip_rgb * lower_shade[..., None], patch)
    # the shadow under the lower lip
    below = (v > outer_bottom) & inside_w
    shadow = np.exp(-(((v - outer_bottom) / 0.03) ** 2)) * below * across
    patch *= (1 - 0.3 * shadow)[..., None]
    if mouth.any():
        depth = (v - inner_top) / np.maximum(inner_bottom - inner_top, 1e-3)
        dark = 0.08 + 0.12 * np.abs(depth - 0.5) + 0.08 * x
        interior = np.stack([dark * 1.3, dark * 0.8, dark * 0.8], axis=-1) * light
        teeth_bottom = inner_top + min(look.teeth_height, 0.45 * gap)
        teeth = mouth & (v < teeth_bottom) & (x < 0.8)
        gaps_between = 0.75 + 0.25 * np.abs(np.cos(np.pi * u / 0.055))
        teeth_rgb = np.array([0.75, 0.72, 0.66]) * light * (0.6 + 0.4 * (1 - x))[..., None]
        interior = np.where(teeth[..., None], teeth_rgb * gaps_between[..., None], interior)
        if look.lower_teeth:
            low = mouth & (v > inner_bottom - min(0.5 * look.teeth_height, 0.3 * gap)) & (x < 0.7)
            interior = np.where(low[..., None], teeth_rgb * 0.75, interior)
        else:
            tongue = mouth & (depth > 0.7)
            interior = np.where(tongue[..., None], np.array([0.45, 0.2, 0.2]) * light, interior)
        patch = np.where(mouth[..., None], interior, patch)
    corner = np.exp(-(((np.abs(u) - half_w) / 0.025) ** 2) - ((v - mid) / 0.02) ** 2)
    patch *= (1 - 0.3 * corner)[..., None]
    # soften the painted edges (and blur as the camera will)
    soft = gaussian_filter(patch, (sigma_px, sigma_px, 0))
    painted = (upper | lower | mouth | (shadow > 0.05) | (corner > 0.05))[..., None]
    frame[r0:r1, c0:c1] = np.where(painted, soft, patch).astype(np.float32)
    return frame


def render_face_frames(
    look: FaceLook,
    opening: npt.ArrayLike,
    rounding: npt.ArrayLike,
    rng: np.random.Generator,
) -> npt.NDArray[np.uint8]:
    """Render (T, H, W, 3) uint8 RGB frames, one per articulation sample (at ``source_fps``)."""
    import cv2

    open_t = np.asarray(opening, dtype=np.float64)
    round_t = np.asarray(rounding, dtype=np.float64)
    n = len(open_t)
    face, alpha = face_texture(look, rng)
    # the camera's blur, applied in texture pixels before the warp (the scale is nearly fixed)
    sigma_px = max(0.6, look.blur_px * TEXTURE_PX_PER_UNIT / look.eye_distance_px)
    face = gaussian_filter(face, (sigma_px, sigma_px, 0)).astype(np.float32)
    width, height = look.frame_size
    fps = look.source_fps
    dx = smooth_walk(rng, n, 0.06 * width, 1.0 * fps)
    dy = smooth_walk(rng, n, 0.05 * height, 1.0 * fps)
    angle = smooth_walk(rng, n, float(np.deg2rad(rng.uniform(2, 10))), 1.5 * fps)
    zoom = 1 + smooth_walk(rng, n, 0.06, 1.5 * fps)
    light = 1 + smooth_walk(rng, n, 0.12, 2.0 * fps)
    yaw = smooth_walk(rng, n, 0.12, 1.5 * fps) + float(rng.uniform(-0.1, 0.1))
    centre = np.array([width * rng.uniform(0.4, 0.6), height * rng.uniform(0.35, 0.5)])
    background = np.empty((height, width, 3), dtype=np.float32)
    ramp = np.linspace(0.75, 1.15, width, dtype=np.float32)[None, :, None]
    background[:] = np.asarray(look.background_rgb, dtype=np.float32) * ramp
    background += (
        gaussian_filter(rng.standard_normal((height, width, 1)), 6).astype(np.float32) * 0.1
    )
    k = TEXTURE_PX_PER_UNIT
    origin = np.array([-U_RANGE[0] * k, -V_RANGE[0] * k])  # texture pixel of (u, v) = (0, 0)
    scale_down = look.downscale
    small = (max(16, round(width / scale_down)), max(16, round(height / scale_down)))
    frames = np.empty((n, height, width, 3), dtype=np.uint8)
    # sensor noise: windows of one larger field (drawing a new field per frame costs more)
    noise = rng.standard_normal((2 * height, 2 * width, 3), dtype=np.float32) * look.noise_sd
    noise_at = rng.integers(0, [height, width], size=(n, 2))
    for t in range(n):
        textured = draw_mouth(face, look, float(open_t[t]), float(round_t[t]), sigma_px=sigma_px)
        scale = look.eye_distance_px * zoom[t] / k
        c, s = np.cos(angle[t]), np.sin(angle[t])
        # yaw: the face squeezes horizontally and its features slide towards one side
        squeeze = 1 - 0.25 * abs(yaw[t])
        linear = scale * np.array([[c * squeeze, -s], [s * squeeze, c]])
        offset = centre + np.array([dx[t], dy[t]]) - linear @ origin
        offset[0] += yaw[t] * 0.2 * look.eye_distance_px
        matrix = np.hstack([linear, offset[:, None]]).astype(np.float64)
        warped = cv2.warpAffine(textured, matrix, (width, height), flags=cv2.INTER_AREA)
        mask = cv2.warpAffine(alpha, matrix, (width, height), flags=cv2.INTER_LINEAR)[..., None]
        image = (mask * warped + (1 - mask) * background) * light[t]
        if scale_down > 1:
            image = cv2.resize(image, small, interpolation=cv2.INTER_AREA)
            image = cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
        row, col = noise_at[t]
        image = image * 255 + noise[row : row + height, col : col + width]
        rgb = np.clip(np.round(image), 0, 255).astype(np.uint8)
        ok, encoded = cv2.imencode(
            ".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, look.jpeg_quality]
        )
        decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
        assert ok and decoded is not None
        frames[t] = decoded[..., ::-1]
    return frames
