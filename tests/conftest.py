"""Shared fixtures: small synthetic DLC projects generated once per test session."""

import shutil
from pathlib import Path

import pytest

import dlc_recurrent  # noqa: F401  (loads torchvision before any test imports tensorflow)


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
