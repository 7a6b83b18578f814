"""The predictions files ``deeplabcut.analyze_videos`` would write: ``<video><scorer>.h5`` (+
``_meta.pickle``, + CSV), with deeplabcut's own scorer naming so its post-processing tools find them
with ``modelprefix="dlc-recurrent/<model>"``; each file written atomically."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd

from dlc_recurrent._version import __version__
from dlc_recurrent.errors import ProjectError
from dlc_recurrent.fileio import atomic_write
from dlc_recurrent.frames import Crop, VideoInfo
from dlc_recurrent.inference.student import Student
from dlc_recurrent.layout import modelprefix
from dlc_recurrent.project import OWN_OUTPUT_KEY, Project, meta_path


def predictions_table(predictions: np.ndarray, scorer: str, bodyparts: list[str]) -> pd.DataFrame:
    """Predictions in DLC's analyze_videos layout, the table written to the h5 and csv.

    Args:
        predictions: (T, K, 3) float, x, y (full-frame pixels) and likelihood of each body part.
        scorer: the scorer, the columns' top level.
        bodyparts: the K body parts, in the predictions' order.

    Returns:
        A float64 table: index range(T), columns scorer/bodyparts/coords (x, y, likelihood).
    """
    columns = pd.MultiIndex.from_product([[scorer], bodyparts, ["x", "y", "likelihood"]],
                                         names=["scorer", "bodyparts", "coords"])
    return pd.DataFrame(predictions.reshape(len(predictions), -1).astype(np.float64), columns=columns,
                        index=range(len(predictions)))


def student_scorer(project: Project, shuffle: int, trainingsetindex: int, model: str,
                   snapshot_index: int | None = None) -> str:
    """The scorer deeplabcut's tools compute for this student: they find its files by it.

    Args:
        project: the DLC project.
        shuffle: the student's training-set number.
        trainingsetindex: the index of the training fraction in config.yaml.
        model: the student ("leap", "convlstm_leap", "bidirectional_leap"), which picks its model prefix.
        snapshot_index: the snapshot the tools are given; None: config.yaml's snapshotindex.

    Returns:
        The scorer, the name after the video stem of the student's h5 files.

    Raises:
        ProjectError: config.yaml's snapshotindex names a snapshot the student's folder does not have.
    """
    from deeplabcut.pose_estimation_pytorch.apis.utils import get_scorer_name
    from deeplabcut.utils.auxiliaryfunctions import read_config

    try:
        return get_scorer_name(
            project.config_path,
            shuffle,
            project.fraction(trainingsetindex),
            snapshot_index=snapshot_index,
            modelprefix=modelprefix(model),
        )
    except ValueError as error:  # deeplabcut's tools would fail the same way on the student's files
        index = read_config(str(project.config_path)).get("snapshotindex")
        if index in (-1, "all"):
            raise
        raise ProjectError(
            f"{project.config_path}: snapshotindex: {index} names a snapshot the student's model folder does "
            f"not have (it holds one snapshot; deeplabcut says: {error}); set snapshotindex: -1 while you "
            "analyze videos with the student and use deeplabcut's tools on its predictions") from None


def write_outputs(table: pd.DataFrame, metadata: dict, h5_path: Path, save_as_csv: bool) -> None:
    """Write the h5 (+ meta pickle, + csv), each atomically; the h5 last, as it marks the video done.

    Args:
        table: the predictions in DLC's layout (scorer / bodyparts / coords columns, one row per frame).
        metadata: the ``_meta.pickle`` fields (:func:`output_metadata`), pickled under "data".
        h5_path: the h5 to write; the meta pickle and csv go beside it.
        save_as_csv: also write the table as a csv.
    """

    def write_meta(path):
        with open(path, "wb") as handle:
            pickle.dump({"data": metadata}, handle, pickle.HIGHEST_PROTOCOL)

    if save_as_csv:
        atomic_write(h5_path.with_suffix(".csv"), table.to_csv)
    atomic_write(meta_path(h5_path), write_meta)
    atomic_write(h5_path, lambda path: table.to_hdf(path, key="df_with_missing", format="table", mode="w"))


def output_metadata(project: Project, student: Student, info: VideoInfo, crop: Crop, scorer: str, batch_size: int,
              started: float, stopped: float, trainingsetindex: int) -> dict:
    """The ``_meta.pickle`` fields deeplabcut's tools read, plus what really made the file.

    Args:
        project: the DLC project.
        student: the student that predicted.
        info: the video (its frame count: the frames predicted).
        crop: the crop the student saw, full-frame pixels.
        scorer: the scorer name of the output.
        batch_size: frames per network call.
        started: when the analysis started (``time.time()``).
        stopped: when it stopped.
        trainingsetindex: the index of the training fraction in config.yaml.

    Returns:
        DLC's fields (start, stop, run_duration, Scorer, fps, nframes, cropping_parameters, bodyparts...)
        and, under ``OWN_OUTPUT_KEY`` ("dlc_recurrent"), the package version, model, window_length,
        state_reset, epochs, scale, model folder and precision.
    """
    full_frame = (crop.x1, crop.x2, crop.y1, crop.y2) == (0, info.width, 0, info.height)
    config = student.config
    return {
        "start": started,
        "stop": stopped,
        "run_duration": stopped - started,
        "Scorer": scorer,
        "pytorch-config": str(student.folder / "pytorch_config.yaml"),
        "fps": info.fps,
        "batch_size": batch_size,
        "frame_dimensions": (info.width, info.height),
        "nframes": info.n_frames,
        "iteration (active-learning)": project.iteration,
        "training set fraction": project.fraction(trainingsetindex),
        "cropping": not full_frame,
        "cropping_parameters": [crop.x1, crop.x2, crop.y1, crop.y2],
        "bodyparts": project.bodyparts,
        OWN_OUTPUT_KEY: {
            "version": __version__,
            "model": config.model,
            "window_length": config.window_length,
            "state_reset": student.state_reset if config.recurrent else None,
            "epochs": config.epochs,
            "scale": config.scale,
            "model_folder": str(student.folder),
            "precision": student.precision,
            "note": "Predictions of a dlc-recurrent student; the net name in the scorer is borrowed "
                    "so that deeplabcut's tools find this file.",
        },
    }
