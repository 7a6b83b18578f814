"""Two students combined (dlc_recurrent.inference.pairing): handoff and bridges."""

import numpy as np
import pytest

import dlc_recurrent  # noqa: F401
from dlc_recurrent.inference.pairing import (
    BRIDGE_MIN_AGREEING,
    bridge_reach,
    bridged_points,
    combine_predictions,
    combine_students,
)


def test_combine_predictions_keeps_the_confident_students_points_from_the_handoff():
    main = np.array([[[1.0, 2.0, 0.9], [3.0, 4.0, 0.2]], [[5.0, 6.0, 0.1], [7.0, 8.0, 0.7]]])
    confident = np.array([[[1.5, 2.5, 0.79], [3.5, 4.5, 0.8]], [[5.5, 6.5, 0.95], [7.5, 8.5, 0.3]]])
    combined = combine_predictions(main, confident, handoff=0.8)
    np.testing.assert_array_equal(combined, [[[1.0, 2.0, 0.9], [3.5, 4.5, 0.8]], [[5.5, 6.5, 0.95], [7.0, 8.0, 0.7]]])


def test_bridging_fills_only_short_unsure_runs_where_the_main_student_agrees_with_the_line():
    """Part 0: the confident student is unsure on frames 3-6 between sure frames 2 (x=20) and 7 (x=70);
    the main student is near that line on 3, 4 and 6, far on 5 (the paw turned). Part 1: unsure for
    longer than bridge_max_gap, at the start and at the end of the video (where the main student
    sits on the confident student's last sure position): nothing is bridged."""
    n = 16
    frames = np.arange(n, dtype=float)
    confident = np.zeros((n, 2, 3))
    confident[:, :, 0], confident[:, :, 1], confident[:, :, 2] = 10 * frames[:, None], 5.0, 0.95
    confident[3:7, 0, 2] = 0.3
    confident[:2, 1, 2] = 0.4  # no sure frame before it
    confident[3:10, 1, 2] = 0.5  # a run of 7 frames
    confident[14:, 1, 2] = 0.1  # no sure frame after it
    main = confident.copy()
    main[..., 2] = 0.6
    main[:, :, 0] += 2.0  # within reach 3 of the line everywhere ...
    main[5, 0, :2] = [50.0, 40.0]  # ... but here
    main[:2, 1, :2] = confident[2, 1, :2]  # where a line extended from either end would be
    main[14:, 1, :2] = confident[13, 1, :2]
    combined = combine_predictions(main, confident, handoff=0.8, bridge_max_gap=6, reach=3.0, weight=1.0)
    plain = combine_predictions(main, confident, handoff=0.8)
    np.testing.assert_allclose(combined[[3, 4, 6], 0, :2], [[30, 5], [40, 5], [60, 5]])
    np.testing.assert_allclose(combine_predictions(main, confident, 0.8, 6, 3.0, weight=0.75)[[3, 4, 6], 0, :2],
                               [[30.5, 5], [40.5, 5], [60.5, 5]])  # three quarters of the way from x + 2
    np.testing.assert_allclose(combined[[3, 4, 6], 0, 2], 0.6)  # the main student's likelihood stays
    np.testing.assert_array_equal(combined[5, 0], plain[5, 0])
    np.testing.assert_array_equal(combined[:, 1], plain[:, 1])
    np.testing.assert_array_equal(np.delete(combined[:, 0], [3, 4, 6], axis=0),
                                  np.delete(plain[:, 0], [3, 4, 6], axis=0))
    np.testing.assert_array_equal(combine_predictions(main, confident, 0.8, 7, 3.0, weight=1.0)[3:10, 1, :2],
                                  confident[3:10, 1, :2])  # the 7-frame run, once it is short enough
    np.testing.assert_array_equal(combine_predictions(main, confident, 0.8, bridge_max_gap=6, reach=1.0), plain)


def test_outputs_written_before_bridging_count_as_unbridged():
    from dlc_recurrent.inference.pairing import describe_combination, same_combination

    old = {"shuffle": 2, "model": "convlstm_leap", "handoff": 0.8}
    unbridged = {**old, "bridge_max_gap": 0, "bridge_tolerance": 14.0, "bridge_weight": 0.75}
    bridged = {**old, "bridge_max_gap": 12, "bridge_tolerance": 14.0, "bridge_weight": 0.75}
    assert same_combination(old, unbridged) and not same_combination(old, bridged)
    assert not same_combination(bridged, {**bridged, "bridge_tolerance": 10.0})
    first_version = {key: value for key, value in bridged.items() if key != "bridge_weight"}  # weight 1
    assert (not same_combination(first_version, bridged)
            and same_combination(first_version, {**bridged, "bridge_weight": 1.0}))
    assert describe_combination(old).endswith("(convlstm_leap, handoff 0.8, no bridging)")
    assert describe_combination(bridged).endswith("gaps up to 12 frames bridged, tolerance 14.0, weight 0.75)")


def test_combine_students_bridges_with_the_reach_measured_on_the_same_points():
    rng = np.random.default_rng(1)
    n = 60
    confident = np.concatenate([np.cumsum(rng.normal(0, 1, (n, 2, 2)), axis=0), rng.uniform(0.5, 1, (n, 2, 1))],
                               axis=-1)
    main = confident.copy()
    main[..., :2] += rng.normal(0, 0.5, (n, 2, 2))
    main[..., 2] = 0.9
    reach = bridge_reach(main, confident, 0.8, tolerance=10)
    assert reach > 0
    combined, returned = combine_students(main, confident, 0.8, bridge_max_gap=5, tolerance=10, weight=0.5)
    assert returned == reach
    np.testing.assert_array_equal(combined, combine_predictions(main, confident, 0.8, 5, reach, 0.5))
    assert not np.array_equal(combined, combine_predictions(main, confident, 0.8)), "some points must be bridged"
    moved = (combined[..., :2] != combine_predictions(main, confident, 0.8)[..., :2]).any(-1)
    assert bridged_points(combined, main, confident, 0.8) == np.count_nonzero(moved) > 0
    plain, no_reach = combine_students(main, confident, 0.8, bridge_max_gap=0)
    assert no_reach == 0.0 and np.array_equal(plain, combine_predictions(main, confident, 0.8))
    assert bridged_points(plain, main, confident, 0.8) == 0


def test_bridge_reach_follows_the_students_disagreement_not_the_pixel_size():
    rng = np.random.default_rng(0)
    confident = np.concatenate([rng.uniform(0, 100, (40, 3, 2)), np.full((40, 3, 1), 0.9)], axis=-1)
    main = confident.copy()
    main[..., :2] += rng.normal(0, 1.0, (40, 3, 2))
    distances = np.hypot(*(main[..., :2] - confident[..., :2]).transpose(2, 0, 1))
    assert bridge_reach(main, confident, 0.8, tolerance=14) == pytest.approx(14 * np.median(distances))
    bigger = [np.concatenate([3 * p[..., :2], p[..., 2:]], axis=-1) for p in (main, confident)]
    assert bridge_reach(*bigger, 0.8) == pytest.approx(3 * bridge_reach(main, confident, 0.8))
    main[..., 2] = 0.5  # the main student is never sure: nothing to measure their agreement on
    main[: BRIDGE_MIN_AGREEING // 3, :, 2] = 0.9
    assert bridge_reach(main, confident, 0.8) == 0.0
