"""The study's videos and shared test frames (dlc_recurrent.evaluation.occlusion.study)."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np

import dlc_recurrent  # noqa: F401  (torchvision before tensorflow)
from dlc_recurrent.evaluation.occlusion import study
from dlc_recurrent.measures import true_runs


def test_a_pair_is_judged_only_on_frames_neither_student_trained_on():
    def video(stem, blocks, n_frames=100):
        return study.StudyVideo(index=0, info=SimpleNamespace(path=Path(f"/v/{stem}.mp4"), n_frames=n_frames),
                                 crop=None, teacher_xy=None, teacher_likelihood=None, truth_xy=None, visible=None,
                                 occluded_by=None, test_blocks=blocks, test=study.frames_in_blocks(blocks, n_frames))

    videos = [video("a", [[0, 19], [50, 69]]), video("b", [[10, 29]]), video("c", [[0, 19], [20, 39]])]
    other = SimpleNamespace(videos=[{"video": "/elsewhere/a.avi", "test_blocks": [[10, 59], [90, 99]]},
                                    {"video": "c.mp4", "test_blocks": [[0, 39]]}])
    assert study.keep_shared_test_frames(videos, other) == (20 + 20 + 40, 40 + 20 + 40)
    assert videos[0].test_blocks == [[10, 19], [50, 59]]
    assert np.flatnonzero(videos[0].test).tolist() == [*range(10, 20), *range(50, 60)]
    assert videos[1].test_blocks == [[10, 29]]  # the second student never saw this video
    assert videos[2].test_blocks == [[0, 19], [20, 39]]  # touching blocks stay apart
    assert true_runs(np.array([1, 1, 0, 1], bool)) == [(0, 2), (3, 4)]
    assert true_runs(np.zeros(4, bool)) == []
