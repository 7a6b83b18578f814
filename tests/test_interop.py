"""The ecosystem's reader of DLC output takes the student's files: movement (loading and its filters),
the optional extra ``dlc-recurrent[movement]``, which CI installs. (sleap-io's ``load_dlc`` reads DLC
*label* CSVs, indexed by image path; from a predictions CSV, DLC's or ours, it returns no frames.)"""

import numpy as np
import pandas as pd
import pytest

from dlc_recurrent.inference.analyze import analyze_videos
from dlc_recurrent.project import load_project

movement = pytest.importorskip("movement", reason="the optional extra dlc-recurrent[movement] is not installed")


@pytest.fixture(scope="module")
def student_output(trained_project, tmp_path_factory):
    """The recurrent student's h5 and csv of one video, written in a folder of their own."""
    video = load_project(trained_project).videos[0]
    folder = tmp_path_factory.mktemp("interop")
    scorer = analyze_videos(trained_project, [str(video)], model="convlstm_leap", destfolder=folder,
                            save_as_csv=True, progress=False)
    return trained_project, folder / f"{video.stem}{scorer}.h5"


@pytest.mark.parametrize("suffix", [".h5", ".csv"])
def test_movement_loads_the_student_output(student_output, suffix):
    from movement.io import load_poses

    config, h5 = student_output
    project = load_project(config)
    table = pd.read_hdf(h5)
    values = table.to_numpy(float).reshape(len(table), len(project.bodyparts), 3)

    poses = load_poses.from_dlc_file(h5.with_suffix(suffix), fps=30)
    assert list(poses.keypoints.values) == project.bodyparts
    assert poses.position.sizes["time"] == len(table)
    assert poses.sizes["individuals"] == 1
    position = poses.position.transpose("time", "keypoints", "space", "individuals").values[..., 0]
    np.testing.assert_allclose(position, values[..., :2], rtol=1e-6)
    confidence = poses.confidence.transpose("time", "keypoints", "individuals").values[..., 0]
    np.testing.assert_allclose(confidence, values[..., 2], rtol=1e-6)


def test_movement_filters_work_on_the_student_output(student_output):
    """What a movement user does next: drop points under pcutoff, then interpolate short gaps."""
    from movement.filtering import filter_by_confidence, interpolate_over_time
    from movement.io import load_poses

    config, h5 = student_output
    pcutoff = load_project(config).pcutoff
    poses = load_poses.from_dlc_file(h5, fps=30)
    kept = filter_by_confidence(poses.position, poses.confidence, threshold=pcutoff)
    unsure = (poses.confidence < pcutoff).values
    assert unsure.any() and not unsure.all(), "the test needs both sure and unsure points"
    dropped = kept.isnull().any("space").values
    np.testing.assert_array_equal(dropped, unsure)
    filled = interpolate_over_time(kept, max_gap=5)
    assert int(filled.isnull().sum()) < int(kept.isnull().sum())

