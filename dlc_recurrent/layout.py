"""Where the package's outputs live inside a DLC project: every folder and file name, in one place.

    <project>/dlc-recurrent/
        training-sets/iteration-<i>/<Task><date>-trainset<pct>shuffle<N>/    create_training_set
        <model>/dlc-models-pytorch/iteration-<i>/<Task><date>-trainset<pct>shuffle<N>/train/   train
        evaluation/iteration-<i>/<Task><date>-trainset<pct>shuffle<N>/      evaluate, quality reports

The model folders follow deeplabcut's own layout, so its tools find a student with
``modelprefix="dlc-recurrent/<model>"``. :class:`ShuffleLayout` resolves them once per call.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dlc_recurrent.project import Project

#: Folder (inside the DLC project) that holds everything this package writes; also its modelprefix.
PACKAGE_FOLDER = "dlc-recurrent"

# A training set folder (create_training_set):
TRAINING_SET_META = "trainingset.yaml"

# A student's train folder (train):
CONFIG_NAME = "dlc_recurrent.yaml"
TRAINING_SET_RECORD = "training_set.yaml"
WEIGHTS_NAME = "student_weights.h5"
BEST_WEIGHTS_NAME = "best_weights.h5"
HISTORY_NAME = "history.csv"
SUMMARY_NAME = "training_summary.yaml"

# A student's evaluation folder (quality_report, evaluate) and the shuffle's evaluation folder:
QUALITY_TABLE_NAME = "quality.csv"
QUALITY_FIGURE_NAME = "quality.png"
QUALITY_TEXT_NAME = "quality.txt"
RESULTS_NAME = "pixel_errors.csv"

# Beside a video's predictions h5 while analyze_videos works on it:
RESUME_SUFFIX = ".resume.npz"
LOCK_SUFFIX = ".lock"  # held while a process analyzes the video (dlc_recurrent.locks)


def _shuffle_name(project: Project, shuffle: int, trainingsetindex: int) -> str:
    """``<Task><date>-trainset<pct>shuffle<N>``, deeplabcut's name for a shuffle."""
    fraction = project.fraction(trainingsetindex)
    return f"{project.task}{project.date}-trainset{int(fraction * 100)}shuffle{shuffle}"


def training_set_folder(project: Project, shuffle: int = 1, trainingsetindex: int = 0) -> Path:
    """``<project>/dlc-recurrent/training-sets/iteration-<i>/<Task><date>-trainset<pct>shuffle<N>``.

    Args:
        project: the DLC project (its path, task, date and iteration).
        shuffle: the training set's shuffle number.
        trainingsetindex: the index of its training fraction in config.yaml.

    Returns:
        The training set's folder (it may not exist).
    """
    name = _shuffle_name(project, shuffle, trainingsetindex)
    return project.project_path / PACKAGE_FOLDER / "training-sets" / f"iteration-{project.iteration}" / name


def model_folder(project: Project, shuffle: int, trainingsetindex: int, model: str) -> Path:
    """``<project>/dlc-recurrent/<model>/dlc-models-pytorch/iteration-<i>/<Task><date>-trainset<pct>shuffle<N>``.

    The part after ``<project>/dlc-recurrent/<model>`` is deeplabcut's own model-folder layout, so
    its post-processing tools find the student with ``modelprefix="dlc-recurrent/<model>"``.

    Args:
        project: the DLC project.
        shuffle: the student's training-set number.
        trainingsetindex: the index of the training fraction in config.yaml.
        model: the student's model kind.

    Returns:
        The student's model folder (it may not exist), as deeplabcut's ``get_model_folder`` names it.
    """
    from deeplabcut.core.engine import Engine
    from deeplabcut.utils.auxiliaryfunctions import get_model_folder

    fraction = project.fraction(trainingsetindex)
    cfg = {"Task": project.task, "date": project.date, "iteration": project.iteration}
    relative = get_model_folder(fraction, shuffle, cfg, modelprefix=modelprefix(model), engine=Engine.PYTORCH)
    return project.project_path / relative


def modelprefix(model: str) -> str:
    """The ``modelprefix`` to give deeplabcut's tools for a student of kind ``model``.

    Args:
        model: the student's model kind.

    Returns:
        ``"dlc-recurrent/<model>"``.
    """
    return f"{PACKAGE_FOLDER}/{model}"


def evaluation_folder(project: Project, shuffle: int = 1, trainingsetindex: int = 0) -> Path:
    """``<project>/dlc-recurrent/evaluation/iteration-<i>/<Task><date>-trainset<pct>shuffle<N>``.

    Args:
        project: the DLC project.
        shuffle: the students' training-set number.
        trainingsetindex: the index of the training fraction in config.yaml.

    Returns:
        The shuffle's evaluation folder (it may not exist).
    """
    name = _shuffle_name(project, shuffle, trainingsetindex)
    return project.project_path / PACKAGE_FOLDER / "evaluation" / f"iteration-{project.iteration}" / name


def trainer_lock_path(folder: Path, model: str) -> Path:
    """The lock a training run of ``model`` holds on the training set in ``folder``: a second run of
    the same student waits its turn, and create_training_set does not replace a set in use.

    Args:
        folder: the training set's folder.
        model: the student's model kind.

    Returns:
        ``<folder>.training-<model>.lock``, beside the folder.
    """
    return folder.with_name(f"{folder.name}.training-{model}.lock")


def builder_lock_path(folder: Path) -> Path:
    """The lock create_training_set holds while it checks, builds or replaces the set in ``folder``:
    two builds of one set would share (and delete) one ``.partial`` folder.

    Args:
        folder: the training set's folder.

    Returns:
        ``<folder>.building.lock``, beside the folder.
    """
    return folder.with_name(f"{folder.name}.building.lock")


@dataclass(frozen=True)
class ShuffleLayout:
    """One shuffle of a project with the folders this package uses for it, resolved once per call (as
    deeplabcut's ``DLCLoader`` does), so stages pass one object instead of re-deriving paths.

    Attributes:
        project: the DLC project.
        shuffle: the shuffle number.
        trainingsetindex: the index of the training fraction in config.yaml.
        training_set: the shuffle's training-set folder (:func:`training_set_folder`).
        evaluation: the shuffle's evaluation folder (:func:`evaluation_folder`).
    """

    project: Project
    shuffle: int
    trainingsetindex: int
    training_set: Path
    evaluation: Path

    @classmethod
    def resolve(cls, project: Project, shuffle: int = 1, trainingsetindex: int = 0) -> "ShuffleLayout":
        """The layout of ``shuffle`` and ``trainingsetindex`` in ``project``, its folders derived once."""
        return cls(project, shuffle, trainingsetindex, training_set_folder(project, shuffle, trainingsetindex),
                   evaluation_folder(project, shuffle, trainingsetindex))

    def model(self, kind: str) -> Path:
        """The student's deeplabcut-style model folder (it holds ``train/`` and ``evaluation/``)."""
        return model_folder(self.project, self.shuffle, self.trainingsetindex, kind)

    def train_folder(self, kind: str) -> Path:
        """Where ``train`` writes the student's weights, config, history and summary."""
        return self.model(kind) / "train"

    def student_evaluation(self, kind: str) -> Path:
        """Where the student's own quality report and pixel errors go."""
        return self.model(kind) / "evaluation"
