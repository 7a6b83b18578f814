"""The synthetic ground truth (dlc_recurrent.synthetic.scene)."""

import re

import pytest

from dlc_recurrent.synthetic import read_ground_truth


def test_missing_ground_truth_names_the_file(tmp_path):
    video = tmp_path / "real_mouse.mp4"
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "real_mouse_groundtruth.npz"))):
        read_ground_truth(video)
