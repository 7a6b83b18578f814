"""Motion in reference coordinates: the gait cycle of the four paws, the tail, and the occlusions
(tail sweeps and bar passes) planned to hide a paw for a chosen number of frames."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dlc_recurrent.synthetic.scene import (
    BAR_COVER,
    BAR_RAMP,
    DUTY,
    FAR_LIFT,
    FAR_PAW_R,
    LIMBS,
    NEAR_PAW_R,
    REF_H,
    STRIDE_LENGTH,
    TAIL_RAMP,
    WHEEL_CX,
    WHEEL_R,
    WHEEL_TOP,
)


def smooth_noise(rng: np.random.Generator, n: int, corr_frames: float) -> np.ndarray:
    """Gaussian-filtered white noise with unit standard deviation and the given correlation time.

    Args:
        rng: the generator.
        n: samples (frames).
        corr_frames: the Gaussian kernel's standard deviation, frames.

    Returns:
        (n,) float, the noise.
    """
    half = int(3 * corr_frames) + 1
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / corr_frames) ** 2)
    white = rng.standard_normal(n + 2 * half)
    return np.convolve(white, kernel, mode="valid") / np.sqrt(np.sum(kernel**2))


def _surface_y(x: np.ndarray) -> np.ndarray:
    """Height of the wheel's running surface at reference column ``x``."""
    cy = WHEEL_TOP + WHEEL_R
    return cy - np.sqrt(WHEEL_R**2 - (np.asarray(x) - WHEEL_CX) ** 2)


@dataclass
class Gait:
    """The simulated gait of one video: paw positions and phases, wheel travel and body bob per frame.

    Attributes:
        paws: (n, 4, 2) float, each paw's position in reference coordinates (near fore, far fore, near hind,
            far hind, as in ``LIMBS``).
        stance: (n, 4) bool, the paw is on the wheel (stance) rather than swinging.
        belt: (n,) float, the distance the wheel surface has travelled, reference pixels.
        bob: (n,) float, the body's vertical offset, reference pixels.
    """

    paws: np.ndarray  # (n, 4, 2) reference coordinates
    stance: np.ndarray  # (n, 4) bool
    belt: np.ndarray  # (n,) distance the wheel surface has travelled
    bob: np.ndarray  # (n,) vertical body offset


def simulate_gait(rng: np.random.Generator, n: int, fps: float, stride_hz: float) -> Gait:
    """Trotting gait: diagonal paw pairs alternate; stance paws ride the wheel backwards, swing paws lift.

    Stride period, length and lift height vary from stride to stride.

    Args:
        rng: the generator (the video's motion stream).
        n: frames.
        fps: frames per second of the video.
        stride_hz: the mean stride frequency.

    Returns:
        The gait: paws (n, 4, 2) reference coordinates (near fore, far fore, near hind, far hind, as in
        ``LIMBS``), stance (n, 4) bool, belt (n,) the wheel surface's travel and bob (n,) the body's
        vertical offset.
    """
    f0 = stride_hz / fps
    freq = f0 * np.clip(1.0 + 0.12 * smooth_noise(rng, n, 1.0 / f0), 0.5, 1.5)
    phase = np.cumsum(freq) - freq[0] + rng.uniform()
    paws = np.zeros((n, 4, 2))
    stance = np.zeros((n, 4), dtype=bool)
    for i, limb in enumerate(LIMBS):
        psi = phase + limb.phase + rng.uniform(-0.04, 0.04)
        cycle = np.floor(psi).astype(int)
        q = psi - cycle
        cycle -= cycle.min()
        n_cycles = cycle.max() + 2
        length = STRIDE_LENGTH * np.clip(1 + 0.12 * rng.standard_normal(n_cycles), 0.6, 1.4)
        lift_max = (11.0 if limb.fore else 15.0) * np.clip(1 + 0.2 * rng.standard_normal(n_cycles), 0.4, 1.6)
        this_len, next_len = length[cycle], length[cycle + 1]
        in_stance = q < DUTY
        swing = np.clip((q - DUTY) / (1 - DUTY), 0, 1)
        x_stance = limb.neutral_x + this_len / 2 - this_len * q / DUTY
        x_swing = limb.neutral_x - this_len / 2 + (this_len + next_len) / 2 * (1 - np.cos(np.pi * swing)) / 2
        x = np.where(in_stance, x_stance, x_swing)
        lift = np.where(in_stance, 0.0, lift_max[cycle] * np.sin(np.pi * swing))
        ground = _surface_y(x) - (0.9 * NEAR_PAW_R if limb.near else FAR_LIFT + 0.9 * FAR_PAW_R)
        paws[:, i] = np.stack([x, ground - lift], axis=1)
        stance[:, i] = in_stance
    belt = np.cumsum(STRIDE_LENGTH / DUTY * freq)
    bob = 1.5 * np.sin(4 * np.pi * phase)
    return Gait(paws, stance, belt, bob)


@dataclass(frozen=True)
class PlannedOcclusion:
    """One scheduled occlusion: a ``kind`` of occluder hiding paw ``part`` for ``length`` frames from ``start``.

    Attributes:
        kind: "tail" or "bar".
        part: the hidden paw's index (as in ``LIMBS``).
        start: the first hidden frame.
        length: hidden frames.
    """

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


def plan_occlusions(
    rng: np.random.Generator,
    stance: np.ndarray,
    per_100_frames: float,
    lengths: tuple[int, int],
    tail_fraction: float,
    during: str = "stance",
) -> list[PlannedOcclusion]:
    """Schedule tail sweeps and bar passes, each hiding one paw for a chosen number of frames.

    Durations are drawn without replacement from ``lengths`` (refilled when empty) so that every
    length appears.

    Args:
        rng: the generator (the video's motion stream).
        stance: (n, 4) bool, each paw's stance frames (:func:`simulate_gait`).
        per_100_frames: occlusions per 100 frames on average; 0 or less: none.
        lengths: (shortest, longest) frames a paw stays hidden.
        tail_fraction: the share of occlusions that are tail sweeps (over a hind paw); the rest are bars.
        during: "stance" places each occlusion inside a stance phase of its target paw (the paw slides
            back at constant speed while hidden); "any" starts it at any phase, so a hidden paw may
            lift, swing forward and land before it reappears.

    Returns:
        The occlusions in time order, each within the video's n frames.
    """
    n = stance.shape[0]
    if per_100_frames <= 0:
        return []
    lo, hi = lengths
    run_left = _stance_run_left(stance)
    mean_gap = max(100.0 / per_100_frames - (lo + hi) / 2 - (BAR_RAMP + TAIL_RAMP), 2.0)
    events: list[PlannedOcclusion] = []
    durations: list[int] = []
    t = int(rng.uniform(0, mean_gap))
    while True:
        if not durations:
            durations = [int(d) for d in rng.permutation(np.arange(lo, hi + 1))]
        length = durations.pop()
        kind = "tail" if rng.random() < tail_fraction else "bar"
        ramp = TAIL_RAMP if kind == "tail" else BAR_RAMP
        candidates = [2, 3] if kind == "tail" else [0, 1, 2, 3]
        if during == "stance":
            start, part = _earliest_stance_window(rng, run_left, candidates, t + ramp, length)
        else:
            start, part = t + ramp, int(rng.choice(candidates))
        if start + length + ramp > n:
            return events
        events.append(PlannedOcclusion(kind, part, start, length))
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


def tail_controls(rng, n: int, gait: Gait, events: list[PlannedOcclusion]) -> np.ndarray:
    """Tail base, middle and end points per frame: a swaying rest pose, swept over a hind paw on tail events.

    The tail is a quadratic curve through these three points; in the sweep pose it passes exactly
    through the target paw's centre at curve parameter 0.75. The sweep blends in and out over
    ``TAIL_RAMP`` frames.

    Args:
        rng: the generator (the video's motion stream).
        n: frames.
        gait: the video's gait (paws and body bob).
        events: the planned occlusions (the tail ones are used).

    Returns:
        (n, 3, 2) float, the base, middle and end points in reference coordinates.
    """
    base = np.stack([np.full(n, 76.0), 150.0 + gait.bob], axis=1)
    mid = np.array([40.0, 186.0]) + np.stack([3 * smooth_noise(rng, n, 25), 6 * smooth_noise(rng, n, 25)], 1)
    end = np.array([12.0, 224.0]) + np.stack([10 * smooth_noise(rng, n, 30), 8 * smooth_noise(rng, n, 30)], 1)
    rest = np.stack([base, mid, end], axis=1)
    controls = rest.copy()
    for event in (e for e in events if e.kind == "tail"):
        weight = _ramp_weights(n, event.start, event.length, TAIL_RAMP)
        frames = np.nonzero(weight > 0)[0]
        paw = gait.paws[frames, event.part]
        sweep_end = paw + np.array([30.0, 4.0])
        sweep_mid = (paw + 0.125 * base[frames] - 0.375 * sweep_end) / 0.75
        sweep = np.stack([base[frames], sweep_mid, sweep_end], axis=1)
        w = weight[frames, None, None]
        controls[frames] = (1 - w) * rest[frames] + w * sweep
    return controls


def tail_curve(controls: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Points of the quadratic through ``controls`` at parameters u (0: base, 0.5: middle, 1: end).

    Args:
        controls: (..., 3, 2) float, the base, middle and end points (:func:`tail_controls`).
        u: (U,) float, the curve parameters.

    Returns:
        (..., U, 2) float, the points.
    """
    u = np.asarray(u)[..., None]
    l0 = 2 * (u - 0.5) * (u - 1)
    l1 = -4 * u * (u - 1)
    l2 = 2 * u * (u - 0.5)
    return l0 * controls[..., 0:1, :] + l1 * controls[..., 1:2, :] + l2 * controls[..., 2:3, :]


def bar_geometry(n: int, gait: Gait, events: list[PlannedOcclusion]) -> np.ndarray:
    """Opaque bar rising from below the frame in front of a paw: (x_left, x_right, y_top) per frame, NaN if absent.

    While it hides its target the bar's top edge sits ``BAR_COVER`` above the paw's centre; it rises
    and drops over ``BAR_RAMP`` frames, staying below the centre outside the occlusion.

    Args:
        n: frames.
        gait: the video's gait (the target paw's positions).
        events: the planned occlusions (the bar ones are used).

    Returns:
        (n, 3) float, the bar's left and right edges and top, reference coordinates; NaN on frames without a
        bar.
    """
    bar = np.full((n, 3), np.nan)
    margin = 1.3 * NEAR_PAW_R + 3.0
    for event in (e for e in events if e.kind == "bar"):
        first, last = event.start, event.start + event.length - 1
        window = gait.paws[first : last + 1, event.part]
        x_left, x_right = window[:, 0].min() - margin, window[:, 0].max() + margin
        for t in range(max(first - BAR_RAMP, 0), min(last + BAR_RAMP, n - 1) + 1):
            cover_top = gait.paws[min(max(t, first), last), event.part, 1] - BAR_COVER
            steps_away = max(first - t, t - last, 0)
            step = max((REF_H - cover_top) / (BAR_RAMP + 1), BAR_COVER + 4.0)
            y_top = cover_top + steps_away * step
            if y_top < REF_H:
                bar[t] = (x_left, x_right, y_top)
    return bar
