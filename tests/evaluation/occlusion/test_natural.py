"""Natural occlusions and calibration (dlc_recurrent.evaluation.occlusion.natural)."""


import numpy as np
import pytest

import dlc_recurrent  # noqa: F401  (torchvision before tensorflow)
from dlc_recurrent.evaluation.occlusion import natural
from dlc_recurrent.evaluation.occlusion.natural import calibration_table


def test_pcutoff_use_counts_right_guesses_kept_and_wrong_ones_dropped():
    error = np.array([1.0, 2.0, 4.9, 6.0, 30.0, 8.0])
    likelihood = np.array([0.9, 0.7, 0.2, 0.8, 0.1, 0.3])
    assert natural.pcutoff_use(error, likelihood, 0.6) == (pytest.approx(2 / 3), pytest.approx(2 / 3))
    kept, dropped = natural.pcutoff_use(error[:3], likelihood[:3], 0.6)
    assert kept == pytest.approx(2 / 3) and np.isnan(dropped)


def test_calibration_rises_with_likelihood_on_data_built_so():
    rng = np.random.default_rng(0)
    likelihood = rng.uniform(0, 1, 20000)
    hidden = rng.random(20000) < 0.3
    right = rng.random(20000) < likelihood  # P(within 5 px) = likelihood, visible or hidden
    error = np.where(right, rng.uniform(0, 5, 20000), rng.uniform(5.01, 50, 20000))
    table = calibration_table(error, likelihood, hidden, within=5.0, bins=5)
    assert list(table.points.unique()) == ["visible", "hidden"] and table.n.sum() == 20000
    for _, part in table.groupby("points"):
        fraction = part["fraction_within_5px"].to_numpy()
        assert (np.diff(fraction) > 0).all()
        np.testing.assert_allclose(fraction, (part.likelihood_from + part.likelihood_to) / 2, atol=0.05)
    # A likelihood that says nothing: flat.
    flat = calibration_table(error, rng.permutation(likelihood), hidden, bins=5)
    assert np.ptp(flat["fraction_within_5px"]) < 0.06
