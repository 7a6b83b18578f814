"""The occlusion study's baselines (dlc_recurrent.evaluation.occlusion.baselines)."""

from types import SimpleNamespace

import numpy as np
import pytest

import dlc_recurrent  # noqa: F401  (torchvision before tensorflow)
from dlc_recurrent.errors import ProjectError
from dlc_recurrent.evaluation.occlusion import baselines, study
from dlc_recurrent.evaluation.occlusion.baselines import fill_gaps, interpolate_unsure


def test_fill_gaps_interpolates_under_pcutoff():
    xy = np.array([[0.0, 0], [99, 99], [99, 99], [3, 6], [99, 99]])[:, None]
    likelihood = np.array([0.9, 0.1, 0.2, 0.95, 0.0])[:, None]
    filled = fill_gaps(xy, likelihood, 0.6)[:, 0]
    np.testing.assert_allclose(filled, [[0, 0], [1, 2], [2, 4], [3, 6], [3, 6]])


def test_interpolate_unsure_fills_positions_and_keeps_likelihoods():
    likelihood = np.array([0.9, 0.1, 0.2, 0.95, 0.0])
    predictions = np.stack([[0.0, 99, 99, 3, 99], [0.0, 99, 99, 6, 99], likelihood], -1)[:, None]
    filled = interpolate_unsure(predictions, 0.6)
    np.testing.assert_allclose(filled[:, 0, :2], [[0, 0], [1, 2], [2, 4], [3, 6], [3, 6]])
    np.testing.assert_array_equal(filled[..., 2], predictions[..., 2])
    assert predictions[1, 0, 0] == 99  # the input is not modified


def test_a_video_that_decodes_fewer_frames_than_its_teacher_has_rows_is_refused(monkeypatch, tmp_path):
    """The teacher (from outside deeplabcut) counts the header's frames; the students see fewer."""
    from dlc_recurrent.frames import Crop, VideoInfo

    info = VideoInfo(path=tmp_path / "short.mp4", n_frames=10, width=8, height=8, fps=30.0)
    video = SimpleNamespace(info=info, crop=Crop(0, 8, 0, 8), predictions={})
    rows = np.zeros((10, 1, 3))
    monkeypatch.setattr(baselines, "median_filtered_leap", lambda *args: {str(info.path): (rows, rows)})
    monkeypatch.setattr(baselines, "predict_video", lambda *args, **kwargs: rows[:9])
    with pytest.raises(ProjectError, match="9 frames decode but the teacher has 10 rows"):
        baselines.whole_video_predictions(SimpleNamespace(config_path=None), {"convlstm_leap": None}, [video],
                                            tmp_path, 1, 0, 0.6, 5, False, study.Study())
