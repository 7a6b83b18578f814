"""The artificial occlusion protocol (dlc_recurrent.evaluation.occlusion.windows): squares and windows."""


import numpy as np
import pandas as pd
import pytest

import dlc_recurrent  # noqa: F401  (torchvision before tensorflow)
from dlc_recurrent.evaluation.occlusion.windows import occlude_window, occluder_side, select_occlusion_windows


@pytest.mark.parametrize("side", [7, 6])
def test_squares_are_black_centred_and_only_on_the_last_frames(side):
    rng = np.random.default_rng(0)
    window = rng.integers(1, 256, (5, 40, 50, 1), dtype=np.uint8)
    point = (20.3, 15.7)
    centres = np.array([[point, (np.nan, np.nan)]] * 5)
    for length in range(6):
        out = occlude_window(window, centres, length, side)
        assert out.shape == window.shape and out is not window
        np.testing.assert_array_equal(out[: 5 - length], window[: 5 - length])
        for t in range(5 - length, 5):
            rows, columns = np.nonzero(out[t, ..., 0] != window[t, ..., 0])
            assert len(rows) == side * side and (out[t, rows, columns] == 0).all()
            assert np.ptp(rows) == side - 1 and np.ptp(columns) == side - 1
            assert abs(columns.mean() - point[0]) <= 0.5 and abs(rows.mean() - point[1]) <= 0.5
    # clipped at the border, never wrapped; and the side scales with the training set
    out = occlude_window(window, np.array([[(1.0, 38.0)]] * 5), 1, 6)  # square x -1..4, y 36..41
    rows, columns = np.nonzero(out[4, ..., 0] == 0)
    assert (rows.min(), rows.max(), columns.min(), columns.max(), len(rows)) == (36, 39, 0, 4, 4 * 5)
    assert occluder_side(20, 1.0) == 20 and occluder_side(20, 0.5) == 10 and occluder_side(20, 0.01) == 1


def test_windows_are_chosen_per_body_part_with_the_confidence_rule():
    confident = [np.ones((100, 3), bool), np.ones((100, 3), bool)]
    for ok in confident:
        ok[:, 1] = False
        ok[10:31, 1] = True  # part 1: confident on frames 10..30 only
        ok[:, 2] = False  # part 2: never confident
    blocks = [[[0, 49]], [[50, 99]]]
    names = ["a", "b", "c"]
    chosen = select_occlusion_windows(confident, blocks, 5, 10, [0, 1, 2], names, seed=7)
    counts = chosen.groupby("bodypart").size()
    assert counts["a"] == 10 and counts["b"] == 10 and "c" not in counts  # c has none, a and b still do
    assert (chosen[chosen.bodypart == "b"].n_candidates == 31 - 10 - 5 + 1).all()
    for _, row in chosen.iterrows():
        first, last = blocks[row.video][0]
        assert first <= row.first_frame and row.last_frame <= last and row.last_frame - row.first_frame == 4
        assert confident[row.video][row.first_frame : row.last_frame + 1, row.part].all()
    b = chosen[chosen.bodypart == "b"]
    assert (b.video == 0).all() and (b.first_frame >= 10).all() and (b.last_frame <= 30).all()
    again = select_occlusion_windows(confident, blocks, 5, 10, [0, 1, 2], names, seed=7)
    pd.testing.assert_frame_equal(chosen, again)
    alone = select_occlusion_windows(confident, blocks, 5, 10, [0], names, seed=7)
    pd.testing.assert_frame_equal(alone, chosen[chosen.bodypart == "a"].reset_index(drop=True))
    other = select_occlusion_windows(confident, blocks, 5, 10, [0], names, seed=8)
    assert not other.first_frame.equals(alone.first_frame)
