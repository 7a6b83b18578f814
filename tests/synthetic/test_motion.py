"""The synthetic gait and its occlusions (dlc_recurrent.synthetic.motion)."""

import numpy as np
import pytest

from dlc_recurrent import synthetic


@pytest.mark.parametrize("during", ["stance", "any"])
def test_occlusions_during_stance_or_any_phase_of_the_stride(during):
    rng = np.random.default_rng(0)
    gait = synthetic.simulate_gait(rng, 3000, fps=250, stride_hz=8)
    events = synthetic.plan_occlusions(rng, gait.stance, 4.5, (1, 12), 0.5, during=during)
    in_swing = [not gait.stance[e.start : e.start + e.length, e.part].all() for e in events]
    assert len(events) > 100
    if during == "stance":
        assert not any(in_swing)
    else:  # a hidden paw may lift off or land: about as often as the stride's swing share and length allow
        assert 0.3 < np.mean(in_swing) < 0.9
