"""dlc-recurrent: a temporally aware student network for DeepLabCut projects.

A ConvLSTM-LEAP network (Li, "Recurrent Fully Convolutional Networks for Multi-Target Tracking")
is trained on a DeepLabCut teacher's predictions and hand labels, so that body parts stay tracked
through brief occlusions, and writes predictions that DeepLabCut's own tools read unchanged.
"""

from dlc_recurrent._import_order import load_torchvision_first

load_torchvision_first()

from dlc_recurrent.project import (  # noqa: E402
    Project,
    ProjectError,
    find_teacher,
    load_project,
    read_hand_labels,
    read_teacher,
    read_video_info,
    video_crop,
)

from dlc_recurrent.synthetic import make_synthetic_project, read_ground_truth  # noqa: E402

__version__ = "0.1.0"


__all__ = [
    "make_synthetic_project",
    "read_ground_truth",
    "Project",
    "ProjectError",
    "find_teacher",
    "load_project",
    "read_hand_labels",
    "read_teacher",
    "read_video_info",
    "video_crop",
]
