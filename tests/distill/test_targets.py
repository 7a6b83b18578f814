"""Teacher + hand labels -> targets (dlc_recurrent.distill.targets): masks, hand-label override, gap filling."""

import numpy as np
import pandas as pd

from dlc_recurrent.distill import GAP_FILLED, HAND_LABEL, MASKED, TEACHER, combine_targets, short_gaps


def test_combine_targets_masks_unsure_teacher_and_prefers_hand_labels():
    teacher_xy = np.array([[[1, 1], [2, 2]], [[3, 3], [4, 4]], [[5, 5], [6, 6]]], float)
    likelihood = np.array([[0.9, 0.1], [0.95, 0.99], [0.2, 0.8]])
    labels = pd.DataFrame(
        [[10.0, 11.0, np.nan, np.nan]],
        index=[1],
        columns=pd.MultiIndex.from_product([["a", "b"], ["x", "y"]]),
    )
    targets = combine_targets(teacher_xy, likelihood, 0.6, labels)
    assert targets.source.tolist() == [[TEACHER, MASKED], [HAND_LABEL, MASKED], [MASKED, TEACHER]]
    np.testing.assert_array_equal(targets.weight, targets.source != MASKED)
    np.testing.assert_array_equal(targets.xy[1, 0], [10, 11])
    np.testing.assert_array_equal(targets.xy[0, 0], [1, 1])


def test_short_gaps_are_interior_runs_no_longer_than_the_limit():
    confident = np.array([0, 1, 0, 0, 1, 0, 0, 0, 1, 1, 0], bool)
    #                     edge  gap 2    gap 3         edge
    assert np.flatnonzero(short_gaps(confident, 2)).tolist() == [2, 3]
    assert np.flatnonzero(short_gaps(confident, 3)).tolist() == [2, 3, 5, 6, 7]
    assert not short_gaps(confident, 0).any()
    assert not short_gaps(np.zeros(5, bool), 10).any()


def test_gap_filling_interpolates_short_teacher_gaps_only():
    n = 12
    xy = np.stack([np.arange(n) * 2.0, np.arange(n) * -1.0], axis=1)[:, None].repeat(2, axis=1)
    likelihood = np.full((n, 2), 0.99)
    likelihood[3:5, 0] = 0.1   # 2-frame gap: filled
    likelihood[7:11, 1] = 0.1  # 4-frame gap: too long, stays masked
    likelihood[11, 0] = 0.1    # trailing: no confident frame after it, stays masked
    noisy = xy.copy()
    noisy[3:5, 0] = 99.0  # the teacher's unsure guesses are not used
    targets = combine_targets(noisy, likelihood, 0.6, None, max_gap_fill=3)
    assert targets.source[3:5, 0].tolist() == [GAP_FILLED, GAP_FILLED]
    np.testing.assert_allclose(targets.xy[3:5, 0], xy[3:5, 0])
    assert (targets.source[7:11, 1] == MASKED).all() and targets.source[11, 0] == MASKED
    assert targets.weight[3:5, 0].tolist() == [1, 1] and targets.weight[7:11, 1].sum() == 0
    plain = combine_targets(noisy, likelihood, 0.6, None)
    assert (plain.source[3:5, 0] == MASKED).all()
