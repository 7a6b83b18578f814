"""Drawing the scene frame by frame (fixed-point anti-aliased shapes, layered, with texture and noise)
and writing one synthetic video with its ground truth."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from dlc_recurrent.synthetic.motion import (
    bar_geometry,
    plan_occlusions,
    simulate_gait,
    smooth_noise,
    tail_controls,
    tail_curve,
)
from dlc_recurrent.synthetic.scene import (
    BODYPARTS,
    FAR_PAW_R,
    ID_BACKGROUND,
    ID_BAR,
    ID_BODY,
    ID_FAR_LIMB,
    ID_NEAR_LIMB,
    ID_TAIL,
    ID_TO_OCCLUDER,
    LIMBS,
    NEAR_PAW_R,
    PART_IDS,
    REF_H,
    REF_W,
    RIM_DEPTH,
    TAIL_SAMPLES,
    TAIL_WIDTH,
    WHEEL_CX,
    WHEEL_R,
    WHEEL_TOP,
    GroundTruth,
    Limb,
)

_SHIFT = 4
_ONE = 1 << _SHIFT


def _fixed(xy) -> tuple[int, int]:
    """Sub-pixel point for cv2 drawing with ``shift=_SHIFT``."""
    return int(round(xy[0] * _ONE)), int(round(xy[1] * _ONE))


def _blur_wrapped(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur that wraps around horizontally (the wheel texture is periodic in arc length)."""
    pad = int(3 * sigma) + 1
    padded = np.concatenate([image[:, -pad:], image, image[:, :pad]], axis=1)
    return cv2.GaussianBlur(padded, (0, 0), sigma)[:, pad:-pad]


class _Renderer:
    """Draws frames of the scene at the requested size and reports which layer is on top of each pixel."""

    def __init__(self, width: int, height: int, rng: np.random.Generator):
        self.width, self.height = width, height
        self.sx, self.sy = width / REF_W, height / REF_H
        self.scale = math.sqrt(self.sx * self.sy)
        self.background = self._make_background(rng)
        self._make_wheel(rng)
        self.fur = self._make_fur(rng)

    def px(self, xy) -> np.ndarray:
        """Reference coordinates to pixel coordinates."""
        return np.asarray(xy, dtype=float) * np.array([self.sx, self.sy])

    def _pixel_grid_ref(self):
        rows, cols = np.mgrid[0 : self.height, 0 : self.width].astype(np.float64)
        return cols / self.sx, rows / self.sy

    def _make_background(self, rng) -> np.ndarray:
        x, y = self._pixel_grid_ref()
        glow = np.exp(-(((x - 190) / 130) ** 2 + ((y - 120) / 95) ** 2) / 2)
        grain = cv2.GaussianBlur(rng.standard_normal((self.height, self.width)).astype(np.float32), (0, 0), 2.0)
        background = 14 + 16 * glow + 3 * grain / max(grain.std(), 1e-6)
        post = (np.abs(x - 244) < 6) & (y < 100)
        sheen = 62 + 22 * np.cos((x - 242) / 6 * np.pi / 2) ** 2
        return np.where(post, sheen, background).astype(np.float32)

    def _make_wheel(self, rng) -> None:
        """Per-pixel arc-length and depth coordinates of the wheel face, and its texture in those coordinates."""
        x, y = self._pixel_grid_ref()
        cy = WHEEL_TOP + WHEEL_R
        depth = WHEEL_R - np.hypot(x - WHEEL_CX, y - cy)
        coverage = np.clip(depth * self.scale + 0.5, 0, 1)
        self.wheel_pixels = np.nonzero(coverage.ravel() > 0)[0]
        self.wheel_alpha = coverage.ravel()[self.wheel_pixels].astype(np.float32)
        self.wheel_arc = (WHEEL_R * np.arctan2(x - WHEEL_CX, cy - y)).ravel()[self.wheel_pixels]
        n_depth = 160
        self.wheel_depth = np.clip(depth.ravel()[self.wheel_pixels], 0, n_depth - 1).astype(int)
        self.arc_period = int(round(2 * np.pi * WHEEL_R))
        self.wheel_texture = self._make_wheel_texture(rng, n_depth)

    def _make_wheel_texture(self, rng, n_depth: int) -> np.ndarray:
        arc = np.arange(self.arc_period)
        depth = np.arange(n_depth)[:, None]
        blotches = _blur_wrapped(rng.standard_normal((n_depth, self.arc_period)).astype(np.float32), 4.0)
        face = 38 + 60 * blotches - 4 * np.minimum(depth, 60) / 60
        for a in range(0, self.arc_period - 60, 105):
            cv2.circle(face, (a + 40, 30), 4, 80, -1, cv2.LINE_AA)
        tread = 92 + 14 * np.cos(2 * np.pi * arc / 9.0) ** 8
        speckle = _blur_wrapped(rng.standard_normal((n_depth, self.arc_period)).astype(np.float32), 1.0)
        rim = tread + 25 * speckle
        texture = np.where(depth < RIM_DEPTH, rim, face)
        texture[int(RIM_DEPTH) : int(RIM_DEPTH) + 2] = 22
        if self.scale < 1:
            texture = _blur_wrapped(texture.astype(np.float32), 0.5 / self.scale)
        return texture.astype(np.float32)

    def _make_fur(self, rng) -> np.ndarray:
        x, y = self._pixel_grid_ref()
        grain = cv2.GaussianBlur(rng.standard_normal((self.height, self.width)).astype(np.float32), (0, 0), 1.0)
        return (112 - 0.55 * (y - 95) + 9 * grain / max(grain.std(), 1e-6)).astype(np.float32)

    def _wheel(self, belt: float) -> np.ndarray:
        image = self.background.copy().ravel()
        arc = self.wheel_arc + belt
        i0 = np.floor(arc).astype(int)
        frac = (arc - i0).astype(np.float32)
        i0 %= self.arc_period
        i1 = (i0 + 1) % self.arc_period
        value = self.wheel_texture[self.wheel_depth, i0] * (1 - frac) + self.wheel_texture[self.wheel_depth, i1] * frac
        a = self.wheel_alpha
        image[self.wheel_pixels] = image[self.wheel_pixels] * (1 - a) + value * a
        return image.reshape(self.height, self.width)

    def _size(self, ref: float, minimum: float = 1.0) -> float:
        return max(ref * self.scale, minimum)

    def _thickness(self, ref: float) -> int:
        return max(1, int(round(ref * self.scale)))

    def _paw_axes(self, near: bool) -> tuple[int, int]:
        radius = self._size(NEAR_PAW_R, 2.0) if near else self._size(FAR_PAW_R, 1.4)
        return int(round(1.25 * radius * _ONE)), int(round(0.9 * radius * _ONE))

    def _draw_body(self, image: np.ndarray, ids: np.ndarray, bob: float) -> None:
        mask = np.zeros(ids.shape, np.uint8)
        shapes = [((122, 140), (50, 38), 0), ((180, 132), (64, 33), -6), ((250, 121), (38, 24), 20)]
        for centre, axes, angle in shapes:
            c = self.px((centre[0], centre[1] + bob))
            ax = (int(round(axes[0] * self.sx * _ONE)), int(round(axes[1] * self.sy * _ONE)))
            cv2.ellipse(mask, _fixed(c), ax, angle, 0, 360, 255, -1, cv2.LINE_AA, _SHIFT)
        alpha = mask.astype(np.float32) / 255
        image[:] = image * (1 - alpha) + self.fur * alpha
        ids[mask > 127] = ID_BODY
        ear = self.px((236, 100 + bob))
        ear_axes = _fixed(self.px((10, 13)))
        cv2.ellipse(image, _fixed(ear), ear_axes, -15, 0, 360, 128, -1, cv2.LINE_AA, _SHIFT)
        eye = self.px((266, 116 + bob))
        cv2.circle(image, _fixed(eye), int(self._size(3.2) * _ONE), 12, -1, cv2.LINE_AA, _SHIFT)
        snout = self.px((285, 134 + bob))
        for tip in ((312, 126), (314, 135), (310, 144)):
            cv2.line(image, _fixed(snout), _fixed(self.px((tip[0], tip[1] + bob))), 120, 1, cv2.LINE_AA, _SHIFT)

    def _draw_limb(self, image, ids, limb: Limb, paw_ref, bob, limb_id, paw_id) -> None:
        anchor = np.array([limb.anchor[0], limb.anchor[1] + bob])
        joint = _two_link_joint(anchor, paw_ref, *limb.segments, limb.bend)
        colour = 108 if limb.near else 58
        widths = (9.0, 6.0) if limb.near else (7.0, 5.0)
        points = [_fixed(self.px(p)) for p in (anchor, joint, paw_ref)]
        for (a, b), width in zip(((points[0], points[1]), (points[1], points[2])), widths):
            cv2.line(image, a, b, colour, self._thickness(width), cv2.LINE_AA, _SHIFT)
            cv2.line(ids, a, b, limb_id, self._thickness(width), cv2.LINE_8, _SHIFT)
        centre = self.px(paw_ref)
        axes = self._paw_axes(limb.near)
        cv2.ellipse(image, _fixed(centre), axes, 0, 0, 360, 232 if limb.near else 150, -1, cv2.LINE_AA, _SHIFT)
        cv2.ellipse(ids, _fixed(centre), axes, 0, 0, 360, paw_id, -1, cv2.LINE_8, _SHIFT)
        self._claim_centre(ids, centre, paw_id)

    def _draw_tail(self, image, ids, controls) -> None:
        points = self.px(tail_curve(controls, TAIL_SAMPLES))
        widths = np.interp(TAIL_SAMPLES, [0, 1], TAIL_WIDTH)
        for i in range(len(points) - 1):
            a, b = _fixed(points[i]), _fixed(points[i + 1])
            width = self._thickness(widths[i])
            cv2.line(image, a, b, 118, width, cv2.LINE_AA, _SHIFT)
            cv2.line(ids, a, b, ID_TAIL, width, cv2.LINE_8, _SHIFT)
        for point in self.px(controls[:2]):
            self._claim_centre(ids, point, ID_TAIL)

    def _draw_bar(self, image, ids, bar) -> None:
        x_left, x_right, y_top = bar
        corners = self.px([(x_left, y_top), (x_right, y_top), (x_right, REF_H + 10), (x_left, REF_H + 10)])
        polygon = np.array([_fixed(c) for c in corners], dtype=np.int32)
        cv2.fillConvexPoly(image, polygon, 9, cv2.LINE_AA, _SHIFT)
        cv2.fillConvexPoly(ids, polygon, ID_BAR, cv2.LINE_8, _SHIFT)
        cv2.line(image, tuple(polygon[0]), tuple(polygon[1]), 34, 1, cv2.LINE_AA, _SHIFT)

    def _claim_centre(self, ids, xy, part_id) -> None:
        """Mark a body part's own centre pixel as belonging to it, so anything drawn later hides it."""
        col, row = self.centre_pixel(xy)
        ids[row, col] = part_id

    def centre_pixel(self, xy) -> tuple[int, int]:
        """(column, row) of the pixel holding a point, kept inside the frame."""
        col = min(max(int(round(float(xy[0]))), 0), self.width - 1)
        row = min(max(int(round(float(xy[1]))), 0), self.height - 1)
        return col, row

    def render(self, paws, bob, tail_controls, bar, belt) -> tuple[np.ndarray, np.ndarray]:
        """One frame before illumination and noise: float image and the layer id on top of each pixel."""
        image = self._wheel(belt)
        ids = np.full((self.height, self.width), ID_BACKGROUND, np.uint8)
        for i in (1, 3):
            self._draw_limb(image, ids, LIMBS[i], paws[i], bob, ID_FAR_LIMB, PART_IDS[i])
        self._draw_body(image, ids, bob)
        for i in (0, 2):
            self._draw_limb(image, ids, LIMBS[i], paws[i], bob, ID_NEAR_LIMB, PART_IDS[i])
        self._draw_tail(image, ids, tail_controls)
        if not np.isnan(bar[0]):
            self._draw_bar(image, ids, bar)
        return image, ids


def _two_link_joint(anchor, target, upper, lower, bend) -> np.ndarray:
    """Knee or elbow of a two-segment leg from ``anchor`` to ``target``, bent to the side given by ``bend``."""
    delta = target - anchor
    dist = float(np.clip(np.hypot(*delta), abs(upper - lower) + 1e-3, upper + lower - 1e-3))
    along = (upper**2 - lower**2 + dist**2) / (2 * dist)
    across = math.sqrt(max(upper**2 - along**2, 0.0))
    unit = delta / max(np.hypot(*delta), 1e-9)
    normal = np.array([-unit[1], unit[0]])
    return anchor + along * unit + bend * across * normal


@dataclass
class Simulation:
    """One rendered video's truth, and the occluders' geometry the simulated teacher is drawn to.

    Attributes:
        truth: the video's ground truth (xy (n, K, 2) pixels, visible, occluded_by, body parts, fps).
        bar: (n, 3) float, the bar's left and right edges and top in pixels; NaN when absent.
        tail_edge: (n, 2) float, the pixel point on the tail beyond a swept paw (curve parameter 0.9).
        frame_size: (width, height) of the video, px.
    """

    truth: GroundTruth
    bar: np.ndarray  # (n, 3) pixel coordinates of the bar, NaN when absent
    tail_edge: np.ndarray  # (n, 2) pixel point on the tail beyond a swept paw
    frame_size: tuple[int, int]  # width, height


def random_streams(seed: int, video_index: int) -> dict[str, np.random.Generator]:
    """Independent random streams per purpose, so e.g. more labelled frames do not change the teacher.

    Args:
        seed: the project's seed.
        video_index: the video's index in the project.

    Returns:
        A generator per purpose: "motion", "scene", "noise", "teacher" and "labels".
    """
    names = ("motion", "scene", "noise", "teacher", "labels")
    return {name: np.random.default_rng([seed, video_index, i]) for i, name in enumerate(names)}


def simulate_video(path: Path, rngs, *, n_frames, width, height, fps, stride_hz, occlusion) -> Simulation:
    """Render one video to ``path`` and return its ground truth.

    Frames go to the mp4v encoder as single-channel images, so they decode with three equal channels.

    Args:
        path: the video file to write.
        rngs: the video's random streams (:func:`random_streams`; "motion", "scene" and "noise" are used).
        n_frames: frames to render.
        width: the frame width, px.
        height: the frame height, px.
        fps: frames per second.
        stride_hz: the mean stride frequency of the gait.
        occlusion: :func:`~dlc_recurrent.synthetic.motion.plan_occlusions`' options (per_100_frames, lengths,
            tail_fraction, during).

    Returns:
        The simulation: the truth (xy (n, K, 2) full-frame pixels, visible and occluded_by (n, K) from what
        is drawn on each part's centre pixel) and the occluders' geometry.

    Raises:
        RuntimeError: OpenCV cannot write an mp4v video to ``path``.
    """
    motion = rngs["motion"]
    gait = simulate_gait(motion, n_frames, fps, stride_hz)
    events = plan_occlusions(motion, gait.stance, **occlusion)
    tail = tail_controls(motion, n_frames, gait, events)
    bar = bar_geometry(n_frames, gait, events)
    renderer = _Renderer(width, height, rngs["scene"])
    noise = rngs["noise"]
    gain = 1 + 0.03 * smooth_noise(noise, n_frames, 25) + 0.01 * noise.standard_normal(n_frames)

    ref_xy = np.concatenate([gait.paws, tail[:, :2]], axis=1)
    xy = renderer.px(ref_xy)
    visible = np.ones((n_frames, len(BODYPARTS)), dtype=bool)
    occluded_by = np.zeros((n_frames, len(BODYPARTS)), dtype=np.int8)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), (width, height), False)
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write an mp4v video to {path}")
    try:
        for t in range(n_frames):
            image, ids = renderer.render(gait.paws[t], gait.bob[t], tail[t], bar[t], gait.belt[t])
            for k in range(len(BODYPARTS)):
                col, row = renderer.centre_pixel(xy[t, k])
                top = ids[row, col]
                visible[t, k] = top == PART_IDS[k]
                occluded_by[t, k] = 0 if visible[t, k] else ID_TO_OCCLUDER[top]
            frame = image * gain[t] + noise.normal(0, 3.0, image.shape)
            frame = np.clip(np.round(frame), 0, 255).astype(np.uint8)
            writer.write(frame)
    finally:
        writer.release()

    truth = GroundTruth(xy=xy, visible=visible, bodyparts=list(BODYPARTS), fps=float(fps), occluded_by=occluded_by)
    bar_px = np.column_stack([bar[:, 0] * renderer.sx, bar[:, 1] * renderer.sx, bar[:, 2] * renderer.sy])
    tail_edge = renderer.px(tail_curve(tail, np.array([0.9]))[:, 0])
    return Simulation(truth, bar_px, tail_edge, (width, height))
