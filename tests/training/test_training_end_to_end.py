"""Training then analyzing: a student trained and its predictions read by deeplabcut."""

import numpy as np

import dlc_recurrent  # noqa: F401  (torchvision before tensorflow)
from dlc_recurrent.config import TrainingConfig
from dlc_recurrent.layout import CONFIG_NAME
from dlc_recurrent.project import load_project
from dlc_recurrent.training import DLC_NET_TYPES, train
from tests.helpers import TINY


def test_bidirectional_student_trains_and_analyzes_into_its_own_dlc_file(trainset_project, tmp_path):
    import deeplabcut

    from dlc_recurrent.frames import read_video_info
    from dlc_recurrent.inference.analyze import analyze_videos
    from dlc_recurrent.inference.output import student_scorer
    from dlc_recurrent.kinds import MODEL_KINDS

    project = load_project(trainset_project)
    folder = train(trainset_project, model="bidirectional_leap", **TINY)
    assert TrainingConfig.load(folder / CONFIG_NAME).model == "bidirectional_leap"
    video = project.videos[0]
    scorer = analyze_videos(trainset_project, [str(video)], model="bidirectional_leap", destfolder=tmp_path,
                            progress=False)
    assert scorer == student_scorer(project, 1, 0, "bidirectional_leap")
    assert set(DLC_NET_TYPES) == {*MODEL_KINDS, "ensemble"} and len(set(DLC_NET_TYPES.values())) == len(DLC_NET_TYPES)
    table, _, found, _ = deeplabcut.auxiliaryfunctions.load_analyzed_data(str(tmp_path), video.stem, scorer)
    assert found == scorer
    assert list(table.index) == list(range(read_video_info(video).n_frames))
    assert np.isfinite(table.to_numpy()).all()
