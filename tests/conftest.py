"""Shared fixtures: small synthetic DLC projects generated once per test session."""

import shutil
from pathlib import Path

import pytest

import dlc_recurrent  # noqa: F401  (loads torchvision before any test imports tensorflow)
from dlc_recurrent.distill import create_training_set


@pytest.fixture(scope="session")
def small_project(tmp_path_factory) -> Path:
    """config.yaml of a tiny synthetic project (64x64, 120 frames, one video). Do not modify it."""
    from dlc_recurrent.synthetic import make_synthetic_project

    root = tmp_path_factory.mktemp("small_project")
    return make_synthetic_project(root, n_frames=120, width=64, height=64, n_labeled_frames=10, seed=3)


@pytest.fixture
def project_copy(small_project, tmp_path) -> Path:
    """config.yaml of a private copy of the small project, free to be modified by the test."""
    from ruamel.yaml import YAML

    source = small_project.parent
    target = tmp_path / source.name
    shutil.copytree(source, target)
    config = target / "config.yaml"
    yaml = YAML()
    data = yaml.load(config.read_text())
    data["project_path"] = str(target)
    data["video_sets"] = {
        str(target / "videos" / Path(name).name): settings for name, settings in data["video_sets"].items()
    }
    with config.open("w") as handle:
        yaml.dump(data, handle)
    return config


#: A short training run that gets off the all-zeros plateau on 64x64 frames (see training/test_run.py).
#: In float32: the tolerances of the tests on these students were measured on float32 students
#: (test_precision and the tests in training/ train in the default precision).
QUICK_TRAINING = dict(schedule="fixed", epochs=4, steps_per_epoch=20, sigma=4.0, map_amplitude=10.0, learning_rate=3e-3,
                      augment=False, precision="float32")


@pytest.fixture(scope="session")
def trained_project(tmp_path_factory) -> Path:
    """config.yaml of a tiny synthetic project with a training set (T=5) and both students trained."""
    from dlc_recurrent.distill import create_training_set
    from dlc_recurrent.synthetic import make_synthetic_project
    from dlc_recurrent.training import train

    root = tmp_path_factory.mktemp("trained_project")
    config = make_synthetic_project(root, n_frames=120, width=64, height=64, n_labeled_frames=10, seed=4)
    # The paper's targets (no gap filling): the tolerances of inference/test_streams' streaming-vs-windowed
    # comparison were measured on students trained this way; test_cli trains on the default targets.
    create_training_set(config, window_length=5, windows_per_video=24, max_gap_fill=0)
    train(config, model="leap", batch_size=16, **QUICK_TRAINING)
    train(config, model="convlstm_leap", batch_size=4, **QUICK_TRAINING)
    return config


@pytest.fixture
def trainset_project(project_copy):
    # The paper's targets: on this 64x64 project ConvLSTM-LEAP trained on gap-filled targets (the
    # default) was still on the "predict zeros" plateau after the 80 steps of the learning test.
    create_training_set(project_copy, window_length=5, windows_per_video=20, max_gap_fill=0)
    return project_copy
