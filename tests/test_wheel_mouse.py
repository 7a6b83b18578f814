"""The wheel-mouse benchmark's judge of hidden paws (the other view) and its reading of the labels."""

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

import dlc_recurrent  # noqa: F401  (torchvision before tensorflow)
from dlc_recurrent.project import TeacherPredictions

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def wheel():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module("wheel_mouse")
    finally:
        sys.path.remove(str(BENCHMARKS))


def _teacher(xy, likelihood):
    return TeacherPredictions(path=Path("t.h5"), scorer="DLC_x", bodyparts=[], xy=xy, likelihood=likelihood)


def test_the_other_view_judges_a_paw_hidden_in_one_view(wheel):
    rng = np.random.default_rng(0)
    n, offsets = 200, np.array([-4.0, 3.0, 6.0, -3.0])
    x_bot = rng.uniform(50, 300, (n, 4))
    xy = np.zeros((n, 8, 2))
    xy[:, 4:, 0] = x_bot
    xy[:, :4, 0] = x_bot + offsets + rng.normal(0, 0.5, (n, 4))
    sure = np.ones((n, 8))
    train = _teacher(xy, sure)
    tail_xy = xy.copy()
    likelihood = sure.copy()
    likelihood[10:20, 0] = 0.1  # paw 1 hidden in the side view: judged from below
    likelihood[30:35, 6] = 0.1  # paw 3 hidden below: judged from the side
    likelihood[40:45, [1, 5]] = 0.1  # hidden in both views: no judge
    tail_xy[10:20, 0, 0] = 0.0  # what the teacher says where it is unsure does not matter
    judge, hidden, quality = wheel.other_view_judge(train, _teacher(tail_xy, likelihood), 0.6)
    assert hidden.sum() == 15 and hidden[10:20, 0].all() and hidden[30:35, 6].all() and not hidden[40:45].any()
    np.testing.assert_allclose(judge[10:20, 0], x_bot[10:20, 0] + offsets[0], atol=0.3)
    np.testing.assert_allclose(judge[30:35, 6], xy[30:35, 2, 0] - offsets[2], atol=0.3)
    assert [round(q["offset_px"]) for q in quality.values()] == [-4, 3, 6, -3]
    assert all(q["judge_median_abs_px"] < 1 for q in quality.values())


def test_lightning_pose_labels_become_deeplabcuts_table(wheel):
    teacher = importlib.import_module("wheel_teacher")
    path = teacher.WHEEL / "CollectedData.csv"
    if not path.is_file():
        pytest.skip("the wheel-mouse data is not here (set DLC_RECURRENT_REAL)")
    table = teacher.read_lightning_pose_labels(path)
    assert list(table.columns.names) == ["scorer", "bodyparts", "coords"]
    assert table.index[0][:2] == ("labeled-data", teacher.LABELS) and len(table) == 90
    assert set(teacher.PAWS) <= set(table.columns.get_level_values("bodyparts"))
