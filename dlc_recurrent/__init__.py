"""dlc-recurrent: a temporally aware student network for DeepLabCut projects.

A ConvLSTM-LEAP network (Li, "Recurrent Fully Convolutional Networks for Multi-Target Tracking")
is trained on a DeepLabCut teacher's predictions and hand labels, so that body parts stay tracked
through brief occlusions, and writes predictions that DeepLabCut's own tools read unchanged.
"""

from dlc_recurrent._import_order import load_torchvision_first
from dlc_recurrent._logging import install_default_handler

load_torchvision_first()
install_default_handler()

import importlib  # noqa: E402

from dlc_recurrent._version import __version__  # noqa: E402
from dlc_recurrent.config import TrainingConfig, TrainingSetSpec  # noqa: E402
from dlc_recurrent.distill import create_training_set  # noqa: E402
from dlc_recurrent.errors import ProjectError  # noqa: E402
from dlc_recurrent.project import Project, load_project  # noqa: E402
from dlc_recurrent.synthetic import make_synthetic_project, read_ground_truth  # noqa: E402

#: The calls that load TensorFlow, by the module that holds each (the one copy of its signature and
#: docstring): imported on first use, so ``import dlc_recurrent`` and the command line stay fast.
LAZY_EXPORTS = {
    "train": "dlc_recurrent.pipeline",
    "quality_report": "dlc_recurrent.evaluation",
    "analyze_videos": "dlc_recurrent.inference",
    "ensemble_videos": "dlc_recurrent.ensemble.videos",
    "evaluate": "dlc_recurrent.evaluation",
    "evaluate_occlusion": "dlc_recurrent.evaluation",
}


def __getattr__(name: str):
    """The calls of ``LAZY_EXPORTS``, imported from their modules on first use."""
    if name in LAZY_EXPORTS:
        value = getattr(importlib.import_module(LAZY_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(LAZY_EXPORTS))


__all__ = [
    "__version__",
    # the pipeline
    "create_training_set",
    "train",
    "quality_report",
    "analyze_videos",
    "ensemble_videos",
    "evaluate",
    "evaluate_occlusion",
    # a project and its errors
    "Project",
    "ProjectError",
    "load_project",
    # the configs
    "TrainingSetSpec",
    "TrainingConfig",
    # synthetic projects
    "make_synthetic_project",
    "read_ground_truth",
]
