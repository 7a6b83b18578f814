"""Synthetic DeepLabCut projects of a head-fixed mouse running on a wheel, with known truth.

Single-frame pose networks lose body parts that are briefly hidden (a tail over a hind paw, an
obstacle in front of the legs). There is no real mouse data here, so this module renders a side
view of such a scene, hides body parts on known frames, and builds a complete single-animal
DeepLabCut project around it: ``config.yaml``, hand-labelled frames under ``labeled-data/``, and a
simulated single-frame teacher's ``analyze_videos`` output that is accurate when a part is visible
and mostly wrong (with low likelihood) when it is hidden. The true position and visibility of
every part on every frame is saved beside each video as ``<video stem>_groundtruth.npz``.

All geometry is laid out in a 336 x 280 reference frame (the paper's video size) and scaled to the
requested width and height, so small test videos show the same scene.
"""

from __future__ import annotations

import contextlib
import io
import math
import pickle
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from dlc_recurrent.project import atomic_write

BODYPARTS = ["forepaw_near", "forepaw_far", "hindpaw_near", "hindpaw_far", "tailbase", "tailmid"]
SKELETON = [["tailbase", "tailmid"], ["forepaw_near", "hindpaw_near"], ["forepaw_far", "hindpaw_far"]]
OCCLUDERS = ("none", "tail", "bar", "limb", "body")
"""Codes of ``GroundTruth.occluded_by``: what covers a body part's centre on a frame."""
#: When tail and bar may hide a paw: only while it slides back in stance, or at any phase of the stride.
OCCLUSION_PHASES = ("stance", "any")
#: Named sets of ``make_synthetic_project`` arguments for conditions seen on real video:
#: ``make_synthetic_project(directory, **PRESETS["long_hidden"])``.
#:
#: ``long_hidden``: a hind paw under the tail (or a bar) for 13-60 frames (up to a whole stride at
#: 250 fps, longer than the 12 frames ``max_gap_fill`` interpolates), at any phase of the stride, so
#: the paw lifts, swings and lands unseen; the teacher meanwhile locks onto the look-alike paw of
#: the other side or the occluder's edge. On a real head-fixed-mouse project a hind paw hidden
#: under the body for long runs is where the recurrent student fell behind LEAP.
PRESETS = {
    "default": {},
    "long_hidden": {"occlusion_lengths": (13, 60), "occlusions_during": "any", "occlusions_per_100_frames": 2.0,
                    "tail_occlusion_fraction": 0.75},
}

TEACHER_NET = "Resnet50"
TEACHER_SNAPSHOT = "snapshot_200"
GROUND_TRUTH_SUFFIX = "_groundtruth.npz"

_REF_W, _REF_H = 336.0, 280.0
_WHEEL_R = 420.0
_WHEEL_CX, _WHEEL_TOP = 168.0, 205.0
_RIM_DEPTH = 7.0
_DUTY = 0.62
_STRIDE_LENGTH = 62.0
_NEAR_PAW_R, _FAR_PAW_R = 4.5, 3.2
_FAR_LIFT = 4.0
_TAIL_WIDTH = (10.0, 4.0)
_BAR_COVER = 9.0
_BAR_RAMP, _TAIL_RAMP = 5, 3
_TAIL_SAMPLES = np.linspace(0.0, 1.0, 25)


@dataclass(frozen=True)
class _Limb:
    name: str
    neutral_x: float
    phase: float
    near: bool
    fore: bool
    anchor: tuple[float, float]
    segments: tuple[float, float]
    bend: float


_LIMBS = (
    _Limb("forepaw_near", 214.0, 0.0, True, True, (206.0, 150.0), (30.0, 30.0), -1.0),
    _Limb("forepaw_far", 221.0, 0.5, False, True, (214.0, 146.0), (30.0, 30.0), -1.0),
    _Limb("hindpaw_near", 128.0, 0.5, True, False, (126.0, 158.0), (33.0, 33.0), -1.0),
    _Limb("hindpaw_far", 135.0, 0.0, False, False, (133.0, 154.0), (33.0, 33.0), -1.0),
)
_COUNTERPART = {0: 1, 1: 0, 2: 3, 3: 2, 4: 5, 5: 4}

# Drawing layers, back to front: far limbs (2, 3: far paws), body, near limbs (6, 7: near paws), tail, bar.
_ID_BACKGROUND, _ID_FAR_LIMB, _ID_BODY, _ID_NEAR_LIMB, _ID_TAIL, _ID_BAR = 0, 1, 4, 5, 8, 9
_PART_IDS = (6, 2, 7, 3, _ID_TAIL, _ID_TAIL)
_ID_TO_OCCLUDER = np.zeros(16, dtype=np.int8)
_ID_TO_OCCLUDER[[_ID_FAR_LIMB, 2, 3, _ID_NEAR_LIMB, 6, 7]] = OCCLUDERS.index("limb")
_ID_TO_OCCLUDER[_ID_BODY] = OCCLUDERS.index("body")
_ID_TO_OCCLUDER[_ID_TAIL] = OCCLUDERS.index("tail")
_ID_TO_OCCLUDER[_ID_BAR] = OCCLUDERS.index("bar")


# --------------------------------------------------------------------------------------------
# Ground truth
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroundTruth:
    """True pose of one synthetic video, in DeepLabCut's pixel convention (x = column, y = row).

    ``xy`` is (n_frames, K, 2), ``visible`` (n_frames, K) is False where an occluder covers the part's
    centre, and ``occluded_by`` (n_frames, K) indexes ``OCCLUDERS`` (0 where visible).
    """

    xy: np.ndarray
    visible: np.ndarray
    bodyparts: list[str]
    fps: float
    occluded_by: np.ndarray

    @property
    def frame_count(self) -> int:
        return int(self.xy.shape[0])


def ground_truth_path(video_path: str | Path) -> Path:
    """Where the ground truth of a synthetic video lives: ``<video stem>_groundtruth.npz`` beside it."""
    video_path = Path(video_path)
    return video_path.with_name(video_path.stem + GROUND_TRUTH_SUFFIX)


def read_ground_truth(video_path: str | Path) -> GroundTruth:
    """Load the ground truth saved beside a synthetic video."""
    path = ground_truth_path(video_path)
    if not path.is_file():
        raise FileNotFoundError(f"No ground truth file {path} for video {video_path} (only synthetic videos have one).")
    with np.load(path, allow_pickle=False) as data:
        return GroundTruth(
            xy=data["xy"],
            visible=data["visible"],
            bodyparts=[str(b) for b in data["bodyparts"]],
            fps=float(data["fps"]),
            occluded_by=data["occluded_by"],
        )


def _write_ground_truth(video_path: Path, truth: GroundTruth) -> Path:
    path = ground_truth_path(video_path)
    atomic_write(
        path,
        lambda tmp: np.savez(
            tmp,
            xy=truth.xy,
            visible=truth.visible,
            bodyparts=np.array(truth.bodyparts),
            fps=np.float64(truth.fps),
            occluded_by=truth.occluded_by,
            occluder_names=np.array(OCCLUDERS),
        ),
    )
    return path


# --------------------------------------------------------------------------------------------
# Atomic writers
# --------------------------------------------------------------------------------------------


def write_dlc_h5(df: pd.DataFrame, path: str | Path, *, table: bool = True) -> Path:
    """Write a DataFrame as DeepLabCut does (key ``df_with_missing``), atomically.

    ``table=True`` gives the ``format="table"`` files of ``analyze_videos``; ``table=False`` the
    default fixed format DeepLabCut uses for ``CollectedData_<scorer>.h5``.
    """
    path = Path(path)
    fmt = "table" if table else "fixed"
    atomic_write(path, lambda tmp: df.to_hdf(tmp, key="df_with_missing", format=fmt, mode="w"))
    return path


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    atomic_write(path, lambda tmp: df.to_csv(tmp))


def _write_pickle(obj, path: Path) -> None:
    def dump(tmp):
        with open(tmp, "wb") as f:
            pickle.dump(obj, f, pickle.HIGHEST_PROTOCOL)

    atomic_write(path, dump)


# --------------------------------------------------------------------------------------------
# Motion: gait, tail, occluders (reference coordinates)
# --------------------------------------------------------------------------------------------


def _smooth_noise(rng: np.random.Generator, n: int, corr_frames: float) -> np.ndarray:
    """Gaussian-filtered white noise with unit standard deviation and the given correlation time."""
    half = int(3 * corr_frames) + 1
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / corr_frames) ** 2)
    white = rng.standard_normal(n + 2 * half)
    return np.convolve(white, kernel, mode="valid") / np.sqrt(np.sum(kernel**2))


def _surface_y(x: np.ndarray) -> np.ndarray:
    """Height of the wheel's running surface at reference column ``x``."""
    cy = _WHEEL_TOP + _WHEEL_R
    return cy - np.sqrt(_WHEEL_R**2 - (np.asarray(x) - _WHEEL_CX) ** 2)


@dataclass
class _Gait:
    paws: np.ndarray  # (n, 4, 2) reference coordinates
    stance: np.ndarray  # (n, 4) bool
    belt: np.ndarray  # (n,) distance the wheel surface has travelled
    bob: np.ndarray  # (n,) vertical body offset


def simulate_gait(rng: np.random.Generator, n: int, fps: float, stride_hz: float) -> _Gait:
    """Trotting gait: diagonal paw pairs alternate; stance paws ride the wheel backwards, swing paws lift.

    Stride period, length and lift height vary from stride to stride.
    """
    f0 = stride_hz / fps
    freq = f0 * np.clip(1.0 + 0.12 * _smooth_noise(rng, n, 1.0 / f0), 0.5, 1.5)
    phase = np.cumsum(freq) - freq[0] + rng.uniform()
    paws = np.zeros((n, 4, 2))
    stance = np.zeros((n, 4), dtype=bool)
    for i, limb in enumerate(_LIMBS):
        psi = phase + limb.phase + rng.uniform(-0.04, 0.04)
        cycle = np.floor(psi).astype(int)
        q = psi - cycle
        cycle -= cycle.min()
        n_cycles = cycle.max() + 2
        length = _STRIDE_LENGTH * np.clip(1 + 0.12 * rng.standard_normal(n_cycles), 0.6, 1.4)
        lift_max = (11.0 if limb.fore else 15.0) * np.clip(1 + 0.2 * rng.standard_normal(n_cycles), 0.4, 1.6)
        this_len, next_len = length[cycle], length[cycle + 1]
        in_stance = q < _DUTY
        swing = np.clip((q - _DUTY) / (1 - _DUTY), 0, 1)
        x_stance = limb.neutral_x + this_len / 2 - this_len * q / _DUTY
        x_swing = limb.neutral_x - this_len / 2 + (this_len + next_len) / 2 * (1 - np.cos(np.pi * swing)) / 2
        x = np.where(in_stance, x_stance, x_swing)
        lift = np.where(in_stance, 0.0, lift_max[cycle] * np.sin(np.pi * swing))
        ground = _surface_y(x) - (0.9 * _NEAR_PAW_R if limb.near else _FAR_LIFT + 0.9 * _FAR_PAW_R)
        paws[:, i] = np.stack([x, ground - lift], axis=1)
        stance[:, i] = in_stance
    belt = np.cumsum(_STRIDE_LENGTH / _DUTY * freq)
    bob = 1.5 * np.sin(4 * np.pi * phase)
    return _Gait(paws, stance, belt, bob)


@dataclass(frozen=True)
class _Occlusion:
    kind: str  # "tail" or "bar"
    part: int
    start: int
    length: int


def _stance_run_left(stance: np.ndarray) -> np.ndarray:
    """For every frame and paw, how many consecutive stance frames start there."""
    run = np.zeros(stance.shape, dtype=int)
    for t in range(stance.shape[0] - 1, -1, -1):
        nxt = run[t + 1] if t + 1 < stance.shape[0] else 0
        run[t] = np.where(stance[t], nxt + 1, 0)
    return run


def _plan_occlusions(
    rng: np.random.Generator,
    stance: np.ndarray,
    per_100_frames: float,
    lengths: tuple[int, int],
    tail_fraction: float,
    during: str = "stance",
) -> list[_Occlusion]:
    """Schedule tail sweeps and bar passes, each hiding one paw for a chosen number of frames.

    Durations are drawn without replacement from ``lengths`` (refilled when empty) so that every
    length appears. ``during="stance"`` places each occlusion inside a stance phase of its target
    paw (the paw slides back at constant speed while hidden); ``"any"`` starts it at any phase, so
    a hidden paw may lift, swing forward and land before it reappears.
    """
    n = stance.shape[0]
    if per_100_frames <= 0:
        return []
    lo, hi = lengths
    run_left = _stance_run_left(stance)
    mean_gap = max(100.0 / per_100_frames - (lo + hi) / 2 - (_BAR_RAMP + _TAIL_RAMP), 2.0)
    events: list[_Occlusion] = []
    durations: list[int] = []
    t = int(rng.uniform(0, mean_gap))
    while True:
        if not durations:
            durations = [int(d) for d in rng.permutation(np.arange(lo, hi + 1))]
        length = durations.pop()
        kind = "tail" if rng.random() < tail_fraction else "bar"
        ramp = _TAIL_RAMP if kind == "tail" else _BAR_RAMP
        candidates = [2, 3] if kind == "tail" else [0, 1, 2, 3]
        if during == "stance":
            start, part = _earliest_stance_window(rng, run_left, candidates, t + ramp, length)
        else:
            start, part = t + ramp, int(rng.choice(candidates))
        if start + length + ramp > n:
            return events
        events.append(_Occlusion(kind, part, start, length))
        t = start + length + ramp + 2 + int(rng.uniform(0.5, 1.5) * mean_gap)


def _earliest_stance_window(rng, run_left, candidates, earliest, length):
    """First frame >= earliest where a candidate paw stays in stance for the whole occlusion."""
    n = run_left.shape[0]
    best_start, best_parts = n, []
    for part in candidates:
        ok = np.nonzero(run_left[max(earliest - 1, 0) : n - 1, part] >= length + 2)[0]
        if ok.size:
            start = max(earliest - 1, 0) + int(ok[0]) + 1
            if start < best_start:
                best_start, best_parts = start, [part]
            elif start == best_start:
                best_parts.append(part)
    if not best_parts:
        return earliest, int(rng.choice(candidates))
    return best_start, int(rng.choice(best_parts))


def _ramp_weights(n: int, start: int, length: int, ramp: int) -> np.ndarray:
    """1 during [start, start+length), falling linearly to 0 over ``ramp`` frames on both sides."""
    t = np.arange(n)
    before = (start - t) / (ramp + 1)
    after = (t - (start + length - 1)) / (ramp + 1)
    return np.clip(1.0 - np.maximum(before, after), 0.0, 1.0)


def _tail_controls(rng, n: int, gait: _Gait, events: list[_Occlusion]) -> np.ndarray:
    """Tail base, middle and end points per frame: a swaying rest pose, swept over a hind paw on tail events.

    The tail is a quadratic curve through these three points; in the sweep pose it passes exactly
    through the target paw's centre at curve parameter 0.75.
    """
    base = np.stack([np.full(n, 76.0), 150.0 + gait.bob], axis=1)
    mid = np.array([40.0, 186.0]) + np.stack([3 * _smooth_noise(rng, n, 25), 6 * _smooth_noise(rng, n, 25)], 1)
    end = np.array([12.0, 224.0]) + np.stack([10 * _smooth_noise(rng, n, 30), 8 * _smooth_noise(rng, n, 30)], 1)
    rest = np.stack([base, mid, end], axis=1)
    controls = rest.copy()
    for event in (e for e in events if e.kind == "tail"):
        weight = _ramp_weights(n, event.start, event.length, _TAIL_RAMP)
        frames = np.nonzero(weight > 0)[0]
        paw = gait.paws[frames, event.part]
        sweep_end = paw + np.array([30.0, 4.0])
        sweep_mid = (paw + 0.125 * base[frames] - 0.375 * sweep_end) / 0.75
        sweep = np.stack([base[frames], sweep_mid, sweep_end], axis=1)
        w = weight[frames, None, None]
        controls[frames] = (1 - w) * rest[frames] + w * sweep
    return controls


def _tail_curve(controls: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Points of the quadratic through ``controls`` at parameters u (0: base, 0.5: middle, 1: end)."""
    u = np.asarray(u)[..., None]
    l0 = 2 * (u - 0.5) * (u - 1)
    l1 = -4 * u * (u - 1)
    l2 = 2 * u * (u - 0.5)
    return l0 * controls[..., 0:1, :] + l1 * controls[..., 1:2, :] + l2 * controls[..., 2:3, :]


def _bar_geometry(n: int, gait: _Gait, events: list[_Occlusion]) -> np.ndarray:
    """Opaque bar rising from below the frame in front of a paw: (x_left, x_right, y_top) per frame, NaN if absent.

    While it hides its target the bar's top edge sits ``_BAR_COVER`` above the paw's centre; it rises
    and drops over ``_BAR_RAMP`` frames, staying below the centre outside the occlusion.
    """
    bar = np.full((n, 3), np.nan)
    margin = 1.3 * _NEAR_PAW_R + 3.0
    for event in (e for e in events if e.kind == "bar"):
        first, last = event.start, event.start + event.length - 1
        window = gait.paws[first : last + 1, event.part]
        x_left, x_right = window[:, 0].min() - margin, window[:, 0].max() + margin
        for t in range(max(first - _BAR_RAMP, 0), min(last + _BAR_RAMP, n - 1) + 1):
            cover_top = gait.paws[min(max(t, first), last), event.part, 1] - _BAR_COVER
            steps_away = max(first - t, t - last, 0)
            step = max((_REF_H - cover_top) / (_BAR_RAMP + 1), _BAR_COVER + 4.0)
            y_top = cover_top + steps_away * step
            if y_top < _REF_H:
                bar[t] = (x_left, x_right, y_top)
    return bar


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------

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
        self.sx, self.sy = width / _REF_W, height / _REF_H
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
        cy = _WHEEL_TOP + _WHEEL_R
        depth = _WHEEL_R - np.hypot(x - _WHEEL_CX, y - cy)
        coverage = np.clip(depth * self.scale + 0.5, 0, 1)
        self.wheel_pixels = np.nonzero(coverage.ravel() > 0)[0]
        self.wheel_alpha = coverage.ravel()[self.wheel_pixels].astype(np.float32)
        self.wheel_arc = (_WHEEL_R * np.arctan2(x - _WHEEL_CX, cy - y)).ravel()[self.wheel_pixels]
        n_depth = 160
        self.wheel_depth = np.clip(depth.ravel()[self.wheel_pixels], 0, n_depth - 1).astype(int)
        self.arc_period = int(round(2 * np.pi * _WHEEL_R))
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
        texture = np.where(depth < _RIM_DEPTH, rim, face)
        texture[int(_RIM_DEPTH) : int(_RIM_DEPTH) + 2] = 22
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
        radius = self._size(_NEAR_PAW_R, 2.0) if near else self._size(_FAR_PAW_R, 1.4)
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
        ids[mask > 127] = _ID_BODY
        ear = self.px((236, 100 + bob))
        ear_axes = _fixed(self.px((10, 13)))
        cv2.ellipse(image, _fixed(ear), ear_axes, -15, 0, 360, 128, -1, cv2.LINE_AA, _SHIFT)
        eye = self.px((266, 116 + bob))
        cv2.circle(image, _fixed(eye), int(self._size(3.2) * _ONE), 12, -1, cv2.LINE_AA, _SHIFT)
        snout = self.px((285, 134 + bob))
        for tip in ((312, 126), (314, 135), (310, 144)):
            cv2.line(image, _fixed(snout), _fixed(self.px((tip[0], tip[1] + bob))), 120, 1, cv2.LINE_AA, _SHIFT)

    def _draw_limb(self, image, ids, limb: _Limb, paw_ref, bob, limb_id, paw_id) -> None:
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
        points = self.px(_tail_curve(controls, _TAIL_SAMPLES))
        widths = np.interp(_TAIL_SAMPLES, [0, 1], _TAIL_WIDTH)
        for i in range(len(points) - 1):
            a, b = _fixed(points[i]), _fixed(points[i + 1])
            width = self._thickness(widths[i])
            cv2.line(image, a, b, 118, width, cv2.LINE_AA, _SHIFT)
            cv2.line(ids, a, b, _ID_TAIL, width, cv2.LINE_8, _SHIFT)
        for point in self.px(controls[:2]):
            self._claim_centre(ids, point, _ID_TAIL)

    def _draw_bar(self, image, ids, bar) -> None:
        x_left, x_right, y_top = bar
        corners = self.px([(x_left, y_top), (x_right, y_top), (x_right, _REF_H + 10), (x_left, _REF_H + 10)])
        polygon = np.array([_fixed(c) for c in corners], dtype=np.int32)
        cv2.fillConvexPoly(image, polygon, 9, cv2.LINE_AA, _SHIFT)
        cv2.fillConvexPoly(ids, polygon, _ID_BAR, cv2.LINE_8, _SHIFT)
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
        ids = np.full((self.height, self.width), _ID_BACKGROUND, np.uint8)
        for i in (1, 3):
            self._draw_limb(image, ids, _LIMBS[i], paws[i], bob, _ID_FAR_LIMB, _PART_IDS[i])
        self._draw_body(image, ids, bob)
        for i in (0, 2):
            self._draw_limb(image, ids, _LIMBS[i], paws[i], bob, _ID_NEAR_LIMB, _PART_IDS[i])
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


# --------------------------------------------------------------------------------------------
# One synthetic video
# --------------------------------------------------------------------------------------------


@dataclass
class _Simulation:
    truth: GroundTruth
    bar: np.ndarray  # (n, 3) pixel coordinates of the bar, NaN when absent
    tail_edge: np.ndarray  # (n, 2) pixel point on the tail beyond a swept paw
    frame_size: tuple[int, int]  # width, height


def _rngs(seed: int, video_index: int) -> dict[str, np.random.Generator]:
    """Independent random streams per purpose, so e.g. more labelled frames do not change the teacher."""
    names = ("motion", "scene", "noise", "teacher", "labels")
    return {name: np.random.default_rng([seed, video_index, i]) for i, name in enumerate(names)}


def _simulate_video(path: Path, rngs, *, n_frames, width, height, fps, stride_hz, occlusion) -> _Simulation:
    """Render one video to ``path`` and return its ground truth.

    Frames go to the mp4v encoder as single-channel images, so they decode with three equal channels.
    """
    motion = rngs["motion"]
    gait = simulate_gait(motion, n_frames, fps, stride_hz)
    events = _plan_occlusions(motion, gait.stance, **occlusion)
    tail = _tail_controls(motion, n_frames, gait, events)
    bar = _bar_geometry(n_frames, gait, events)
    renderer = _Renderer(width, height, rngs["scene"])
    noise = rngs["noise"]
    gain = 1 + 0.03 * _smooth_noise(noise, n_frames, 25) + 0.01 * noise.standard_normal(n_frames)

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
                visible[t, k] = top == _PART_IDS[k]
                occluded_by[t, k] = 0 if visible[t, k] else _ID_TO_OCCLUDER[top]
            frame = image * gain[t] + noise.normal(0, 3.0, image.shape)
            frame = np.clip(np.round(frame), 0, 255).astype(np.uint8)
            writer.write(frame)
    finally:
        writer.release()

    truth = GroundTruth(xy=xy, visible=visible, bodyparts=list(BODYPARTS), fps=float(fps), occluded_by=occluded_by)
    bar_px = np.column_stack([bar[:, 0] * renderer.sx, bar[:, 1] * renderer.sx, bar[:, 2] * renderer.sy])
    tail_edge = renderer.px(_tail_curve(tail, np.array([0.9]))[:, 0])
    return _Simulation(truth, bar_px, tail_edge, (width, height))


# --------------------------------------------------------------------------------------------
# Simulated teacher (a single-frame network's analyze_videos output)
# --------------------------------------------------------------------------------------------


def _hidden_runs(hidden: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True values."""
    padded = np.concatenate([[False], hidden, [False]]).astype(int)
    edges = np.diff(padded)
    return list(zip(np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]))


def _simulate_teacher(
    rng: np.random.Generator, sim: _Simulation, pcutoff: float, confident_miss: float, glitch_rate: float
) -> np.ndarray:
    """(n, K, 3) x, y, likelihood of a single-frame network on this video.

    Visible parts: truth plus ~1 px error, likelihood 0.9-1. Hidden parts: for the whole hidden run
    the network locks onto a distractor (the same paw of the other side, or the occluder's edge)
    with likelihood under ``pcutoff`` - or, with probability ``confident_miss``, above it. Rare
    glitches on visible frames jump to another body part.
    """
    truth = sim.truth
    n, k = truth.visible.shape
    xy = truth.xy + rng.normal(0, 0.7, truth.xy.shape)
    likelihood = rng.uniform(0.9, 1.0, (n, k))
    for part in range(k):
        for start, stop in _hidden_runs(~truth.visible[:, part]):
            frames = np.arange(start, stop)
            xy[frames, part] = _distractor(rng, sim, part, frames) + rng.normal(0, 1.0, (len(frames), 2))
            if rng.random() < confident_miss:
                likelihood[frames, part] = rng.uniform(pcutoff + 0.05, 0.95, len(frames))
            else:
                level = rng.uniform(0.05, pcutoff - 0.15)
                likelihood[frames, part] = np.clip(level + rng.normal(0, 0.05, len(frames)), 0.01, pcutoff - 0.02)
    glitch_t, glitch_k = np.nonzero(truth.visible & (rng.random((n, k)) < glitch_rate))
    for t, part in zip(glitch_t, glitch_k):
        other = rng.choice([j for j in range(k) if j != part])
        xy[t, part] = truth.xy[t, other] + rng.normal(0, 1.5, 2)
        likelihood[t, part] = rng.uniform(0.2, 0.9)
    xy = np.clip(xy, 0, np.array(sim.frame_size) - 1)
    return np.concatenate([xy, likelihood[..., None]], axis=2)


def _distractor(rng, sim: _Simulation, part: int, frames: np.ndarray) -> np.ndarray:
    """Where a single-frame network looks for a hidden part: the same part on the other side, or the occluder's edge."""
    truth = sim.truth
    other = _COUNTERPART[part]
    counterpart = truth.xy[frames, other]
    if rng.random() < 0.5 and truth.visible[frames, other].all():
        return counterpart
    occluder = truth.occluded_by[frames, part][:, None]
    bar_edge = np.column_stack([truth.xy[frames, part, 0], sim.bar[frames, 2] - 1.0])
    on_bar = (occluder == OCCLUDERS.index("bar")) & ~np.isnan(bar_edge)
    on_tail = occluder == OCCLUDERS.index("tail")
    return np.where(on_tail, sim.tail_edge[frames], np.where(on_bar, bar_edge, counterpart))


def _teacher_dataframe(scorer: str, predictions: np.ndarray) -> pd.DataFrame:
    columns = pd.MultiIndex.from_product(
        [[scorer], BODYPARTS, ["x", "y", "likelihood"]], names=["scorer", "bodyparts", "coords"]
    )
    data = predictions.reshape(len(predictions), -1).astype(np.float64)
    return pd.DataFrame(data, columns=columns, index=range(len(predictions)))


def _teacher_metadata(cfg, scorer: str, n_frames: int, width: int, height: int, fps: float, runtime) -> dict:
    """The ``_meta.pickle`` content, filled as deeplabcut 3.0.2's PyTorch ``analyze_videos`` fills it."""
    individuals = list(cfg.get("individuals") or ["individual_1"])
    return {
        "data": {
            "start": runtime[0],
            "stop": runtime[1],
            "run_duration": runtime[1] - runtime[0],
            "Scorer": scorer,
            "pytorch-config": {
                "net_type": "resnet_50",
                "method": "bu",
                "metadata": {
                    "project_path": str(cfg["project_path"]),
                    "bodyparts": list(BODYPARTS),
                    "unique_bodyparts": [],
                    "individuals": individuals,
                    "with_identity": None,
                },
                "generated_by": "dlc_recurrent.synthetic: simulated teacher, no network was run",
            },
            "fps": float(fps),
            "batch_size": int(cfg["batch_size"]),
            "frame_dimensions": (width, height),
            "nframes": n_frames,
            "iteration (active-learning)": cfg["iteration"],
            "training set fraction": cfg["TrainingFraction"][0],
            "cropping": False,
            "cropping_parameters": [0, width, 0, height],
            "individuals": individuals,
            "bodyparts": list(BODYPARTS),
            "unique_bodyparts": [],
        }
    }


def teacher_scorer(config_path: str | Path) -> str:
    """Scorer of a synthetic project's simulated teacher, e.g. ``DLC_Resnet50_synthmouseNov25shuffle1_snapshot_200``."""
    from deeplabcut.utils import auxiliaryfunctions

    cfg = auxiliaryfunctions.read_config(config_path)
    return _teacher_scorer(cfg)


def _teacher_scorer(cfg) -> str:
    return f"DLC_{TEACHER_NET}_{cfg['Task']}{cfg['date']}shuffle1_{TEACHER_SNAPSHOT}"


# --------------------------------------------------------------------------------------------
# Hand labels (labeled-data)
# --------------------------------------------------------------------------------------------


def _pick_labelled_frames(rng: np.random.Generator, visible: np.ndarray, count: int) -> np.ndarray:
    """Frames spread over the video, at least a fifth of them with a hidden part (which labellers leave out)."""
    n = visible.shape[0]
    count = min(count, n)
    occluded = np.nonzero(~visible.all(axis=1))[0]
    n_occluded = min(len(occluded), int(round(0.2 * count)))
    chosen = set(occluded[np.linspace(0, len(occluded) - 1, n_occluded).round().astype(int)]) if n_occluded else set()
    spacing = n / count
    for slot in range(count):
        if len(chosen) >= count:
            break
        frame = int(min(n - 1, slot * spacing + rng.uniform(0, spacing)))
        while frame in chosen:
            frame = (frame + 1) % n
        chosen.add(frame)
    return np.array(sorted(chosen)[:count])


def _image_name(frame: int, n_frames: int) -> str:
    """File name deeplabcut's extract_frames gives a frame: 'img' + zero-padded frame number + '.png'."""
    return "img" + str(frame).zfill(int(np.ceil(np.log10(n_frames)))) + ".png"


def _decoded_frames(video: Path, wanted: set[int]) -> dict[int, np.ndarray]:
    """Decode a video once, front to back, keeping the wanted frames (BGR, as OpenCV reads them)."""
    frames = {}
    capture = cv2.VideoCapture(str(video))
    try:
        index = 0
        while len(frames) < len(wanted):
            ok, frame = capture.read()
            if not ok:
                break
            if index in wanted:
                frames[index] = frame
            index += 1
    finally:
        capture.release()
    missing = wanted - set(frames)
    if missing:
        raise RuntimeError(f"Could not decode frames {sorted(missing)} of {video}")
    return frames


def _write_labeled_data(
    project: Path, video: Path, truth: GroundTruth, scorer: str, rng, count: int, noise_px: float
) -> pd.DataFrame:
    """Extract frames as PNGs and write ``CollectedData_<scorer>.h5/.csv`` with truth + labelling error."""
    folder = project / "labeled-data" / video.stem
    folder.mkdir(parents=True, exist_ok=True)
    frames = _pick_labelled_frames(rng, truth.visible, count)
    images = _decoded_frames(video, set(frames.tolist()))
    names = []
    for frame in frames:
        name = _image_name(int(frame), truth.frame_count)
        atomic_write(folder / name, lambda tmp, f=frame: _imwrite(tmp, images[int(f)]))
        names.append(name)
    labels = truth.xy[frames] + rng.normal(0, noise_px, truth.xy[frames].shape)
    labels[~truth.visible[frames]] = np.nan
    columns = pd.MultiIndex.from_product([[scorer], BODYPARTS, ["x", "y"]], names=["scorer", "bodyparts", "coords"])
    index = pd.MultiIndex.from_tuples([("labeled-data", video.stem, name) for name in names])
    df = pd.DataFrame(labels.reshape(len(frames), -1), index=index, columns=columns)
    write_dlc_h5(df, folder / f"CollectedData_{scorer}.h5", table=False)
    _write_csv(df, folder / f"CollectedData_{scorer}.csv")
    return df


def _imwrite(path: str, image: np.ndarray) -> None:
    if not cv2.imwrite(path, image):
        raise OSError(f"Could not write image {path}")


# --------------------------------------------------------------------------------------------
# Project assembly
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyntheticProject:
    """Where the pieces of a synthetic project are."""

    config_path: Path
    videos: tuple[Path, ...]
    teacher_scorer: str

    def teacher_h5(self, video: str | Path) -> Path:
        video = Path(video)
        return video.with_name(video.stem + self.teacher_scorer + ".h5")

    def ground_truth(self, video: str | Path) -> GroundTruth:
        return read_ground_truth(video)


def open_synthetic_project(config_path: str | Path) -> SyntheticProject:
    """Describe a project made by ``make_synthetic_project``: its videos and teacher scorer."""
    from deeplabcut.utils import auxiliaryfunctions

    cfg = auxiliaryfunctions.read_config(config_path)
    videos = tuple(Path(v) for v in cfg["video_sets"])
    return SyntheticProject(Path(config_path), videos, _teacher_scorer(cfg))


def _check_arguments(n_videos, n_frames, width, height, fps, n_labeled_frames, occlusion_lengths, during) -> None:
    if width % 2 or height % 2 or width < 32 or height < 32:
        raise ValueError(f"width and height must be even and at least 32 (mp4v), got {width}x{height}")
    if n_videos < 1 or n_frames < 10:
        raise ValueError(f"need at least 1 video of at least 10 frames, got {n_videos} of {n_frames}")
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if not 0 <= n_labeled_frames <= n_frames:
        raise ValueError(f"n_labeled_frames must be between 0 and n_frames ({n_frames}), got {n_labeled_frames}")
    lo, hi = occlusion_lengths
    if not 1 <= lo <= hi:
        raise ValueError(f"occlusion_lengths must be (shortest, longest) with 1 <= shortest: {occlusion_lengths}")
    if during not in OCCLUSION_PHASES:
        raise ValueError(f"occlusions_during must be 'stance' or 'any', got {during!r}")


def _create_dlc_project(directory: Path, task: str, experimenter: str, videos: list[Path]) -> Path:
    """Let deeplabcut create the project (copying the videos); refuse to reuse an existing one."""
    import deeplabcut

    before = {p.name for p in directory.iterdir()} if directory.exists() else set()
    directory.mkdir(parents=True, exist_ok=True)
    with contextlib.redirect_stdout(io.StringIO()):
        config = deeplabcut.create_new_project(
            task, experimenter, [str(v) for v in videos], working_directory=str(directory), copy_videos=True
        )
    if config == "nothingcreated":
        raise RuntimeError(f"deeplabcut could not open the synthetic videos {videos}")
    config = Path(config)
    if config.parent.name in before:
        raise FileExistsError(f"A DeepLabCut project already exists at {config.parent}; choose another directory")
    return config


def _configure(config_path: Path, width: int, height: int, n_labeled_frames: int):
    """Set body parts, skeleton, the paper's 80/20 split and plotting sizes through deeplabcut's config I/O."""
    from deeplabcut.utils import auxiliaryfunctions

    cfg = auxiliaryfunctions.read_config(config_path)
    cfg["bodyparts"] = list(BODYPARTS)
    cfg["skeleton"] = [list(pair) for pair in SKELETON]
    cfg["skeleton_color"] = "white"
    cfg["numframes2pick"] = int(n_labeled_frames)
    cfg["TrainingFraction"] = [0.8]
    cfg["dotsize"] = max(2, int(round(5 * math.sqrt(width * height / (_REF_W * _REF_H)))))
    auxiliaryfunctions.write_config(config_path, cfg)
    return auxiliaryfunctions.read_config(config_path)


def make_synthetic_project(
    directory: str | Path,
    *,
    n_videos: int = 1,
    n_frames: int = 300,
    width: int = 336,
    height: int = 280,
    fps: float = 250,
    n_labeled_frames: int = 20,
    seed: int = 0,
    task: str = "synthmouse",
    experimenter: str = "sim",
    stride_hz: float = 4.0,
    occlusions_per_100_frames: float = 4.5,
    occlusion_lengths: tuple[int, int] = (1, 12),
    tail_occlusion_fraction: float = 0.5,
    occlusions_during: str = "stance",
    teacher_confident_miss: float = 0.1,
    teacher_glitch_rate: float = 0.002,
    label_noise_px: float = 1.0,
) -> Path:
    """Create a single-animal DeepLabCut project of synthetic wheel-running videos; return its config.yaml.

    Each video ``videos/mouseNN.mp4`` gets ``mouseNN_groundtruth.npz`` (see ``read_ground_truth``), hand
    labels in ``labeled-data/mouseNN/`` and a simulated teacher ``mouseNN<teacher_scorer>.h5`` with its
    ``_meta.pickle``. The same arguments give the same ground truth, teacher, labels and decoded frames.

    Occluders: ``occlusions_per_100_frames`` tail sweeps over a hind paw (``tail_occlusion_fraction``
    of them) or bars rising in front of a paw, each hiding its paw for a length drawn in turn from
    every value in ``occlusion_lengths``, so a 300-frame video holds every length from 1 to 10+.
    ``occlusions_during="stance"`` hides a paw only while it slides back on the wheel (straight,
    steady motion: what interpolation assumes); ``"any"`` also while it lifts, swings and lands
    (the paw turns while hidden). Far paws also pass behind near legs. At the defaults about a
    third of the frames have a part hidden: dense on purpose, so that short videos show the
    phenomenon; lower the rate for calmer videos.
    The teacher misses hidden parts confidently (likelihood over pcutoff) in
    ``teacher_confident_miss`` of the hidden runs and glitches on ``teacher_glitch_rate`` of visible
    points; hand labels are truth plus ``label_noise_px`` Gaussian error, NaN where hidden.
    Width and height must be even (mp4v).
    """
    _check_arguments(n_videos, n_frames, width, height, fps, n_labeled_frames, occlusion_lengths,
                     occlusions_during)
    directory = Path(directory).absolute()
    occlusion = dict(
        per_100_frames=occlusions_per_100_frames,
        lengths=tuple(occlusion_lengths),
        tail_fraction=tail_occlusion_fraction,
        during=occlusions_during,
    )
    with tempfile.TemporaryDirectory(prefix="synthetic-videos-") as staging:
        staged, simulations = [], []
        for v in range(n_videos):
            path = Path(staging) / f"mouse{v:02d}.mp4"
            started = time.time()
            sim = _simulate_video(
                path,
                _rngs(seed, v),
                n_frames=n_frames,
                width=width,
                height=height,
                fps=fps,
                stride_hz=stride_hz,
                occlusion=occlusion,
            )
            staged.append(path)
            simulations.append((sim, (started, time.time())))
        config_path = _create_dlc_project(directory, task, experimenter, staged)

    cfg = _configure(config_path, width, height, n_labeled_frames)
    project = config_path.parent
    scorer = _teacher_scorer(cfg)
    for v, (sim, runtime) in enumerate(simulations):
        video = project / "videos" / staged[v].name
        rngs = _rngs(seed, v)
        _write_ground_truth(video, sim.truth)
        if n_labeled_frames:
            _write_labeled_data(
                project, video, sim.truth, cfg["scorer"], rngs["labels"], n_labeled_frames, label_noise_px
            )
        predictions = _simulate_teacher(
            rngs["teacher"], sim, float(cfg["pcutoff"]), teacher_confident_miss, teacher_glitch_rate
        )
        prefix = video.stem + scorer
        write_dlc_h5(_teacher_dataframe(scorer, predictions), video.with_name(prefix + ".h5"))
        meta = _teacher_metadata(cfg, scorer, n_frames, width, height, fps, runtime)
        _write_pickle(meta, video.with_name(prefix + "_meta.pickle"))
    return config_path
