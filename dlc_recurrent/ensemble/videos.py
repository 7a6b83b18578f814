"""``ensemble_videos``: the teacher's and the students' predictions of a video, already written,
combined by Ensemble Kalman Smoothing into one more DLC predictions file with a scorer of its own.

The file sits beside the students' (``<video stem><scorer>.h5`` + ``_meta.pickle``), and deeplabcut's
tools find it with ``modelprefix="dlc-recurrent/ensemble"`` (``deeplabcut_options("ensemble")``).
Its likelihood is the posterior's probability of the point being within ``likelihood_radius`` px;
the meta records the members, each body part's smoothing parameter and the radius. That posterior
is overconfident where every member is unsure (hidden parts): on synthetic video all its hidden
points passed pcutoff, wrong ones included (RESULTS.md, "Which likelihood for the ensemble?"); the
members' own likelihoods flag hidden points, but right and wrong alike.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from dlc_recurrent._version import __version__
from dlc_recurrent.ensemble.eks import smoothed_predictions
from dlc_recurrent.errors import ProjectError
from dlc_recurrent.frames import read_video_info
from dlc_recurrent.inference.analyze import video_extension_list, video_paths
from dlc_recurrent.inference.output import predictions_table, student_scorer, write_outputs
from dlc_recurrent.kinds import MODEL_KINDS
from dlc_recurrent.layout import ShuffleLayout
from dlc_recurrent.project import (
    OWN_OUTPUT_KEY,
    find_teacher,
    load_project,
    meta_path,
    own_output_record,
    read_teacher,
)
from dlc_recurrent.training.outputs import write_dlc_model_files

logger = logging.getLogger(__name__)

#: the name of the combined predictions' kind (its model folder and modelprefix)
ENSEMBLE = "ensemble"

#: the teacher as a member of the ensemble
TEACHER = "teacher"

#: default radius (px, full frame) of the likelihood: P(point within this of the smoothed one)
LIKELIHOOD_RADIUS = 5.0


def ensemble_videos(
    config: str | Path,
    videos: str | Path | list[str | Path],
    members: tuple[str, ...] = (TEACHER, "leap"),
    shuffle: int = 1,
    trainingsetindex: int = 0,
    videotype: str = "",
    destfolder: str | Path | None = None,
    smooth_param: float | None = None,
    likelihood_radius: float = LIKELIHOOD_RADIUS,
    save_as_csv: bool = False,
    overwrite: bool = False,
    teacher_scorer: str | None = None,
    teacher_folder: str | Path | None = None,
    video_extensions: str | list[str] | None = None,
) -> str:
    """Combine already written predictions of each video by Ensemble Kalman Smoothing into one more
    DLC predictions file, which deeplabcut's tools find with ``deeplabcut_options("ensemble")``.

    Writes ``<video stem><scorer>.h5`` (+ meta, + csv) in ``destfolder``; one per video and shuffle,
    so a video whose ensemble of other members is there needs ``overwrite``.

    Args:
        config: the DLC project's config.yaml (or its folder).
        videos: a video file or folder, or a list of them.
        members: "teacher" (your DLC network's h5 beside the video, or in ``teacher_folder``) and
            student kinds ("leap", "convlstm_leap", "bidirectional_leap") of ``shuffle``, whose files
            ``dlc_recurrent.analyze_videos`` wrote to ``destfolder``.
        shuffle: the students' training-set number.
        trainingsetindex: the index of the training fraction in config.yaml.
        videotype: DLC 2's name for ``video_extensions``.
        destfolder: where the students' files are and the ensemble's go (default: beside the video).
        smooth_param: EKS's s for every body part (smaller smooths more); None chooses each body
            part's by maximum likelihood.
        likelihood_radius: the output likelihood is the posterior probability of lying within this
            many px (full frame) of the smoothed point.
        save_as_csv: also write a ``.csv``.
        overwrite: replace an ensemble already written for a video.
        teacher_scorer: picks one of several teacher files.
        teacher_folder: where the teacher's h5 files are, when not beside the videos.
        video_extensions: DLC 3's name for ``videotype``: the extension(s) of the videos taken from
            folders; None: any video.

    Returns:
        The ensemble's scorer (the name after the video stem of every h5 written).

    Raises:
        ProjectError: a member's predictions are missing or of another length, or an existing file
            was not written by this package or holds other members.
        ValueError: unknown or repeated members, or a radius that is not positive.
    """
    project = load_project(config)
    members = _check_members(members)
    if not likelihood_radius > 0:
        raise ValueError(f"likelihood_radius must be > 0 px, got {likelihood_radius}")
    folder = ShuffleLayout.resolve(project, shuffle, trainingsetindex).train_folder(ENSEMBLE)
    if not (folder / "pytorch_config.yaml").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        write_dlc_model_files(project, folder, ENSEMBLE, 0)
    scorer = student_scorer(project, shuffle, trainingsetindex, ENSEMBLE)
    scorers = {m: student_scorer(project, shuffle, trainingsetindex, m) for m in members if m != TEACHER}
    for video in video_paths(videos, video_extension_list(videotype, video_extensions), None):
        where = Path(destfolder) if destfolder is not None else video.parent
        h5_path = where / f"{video.stem}{scorer}.h5"
        if h5_path.exists():
            record = own_output_record(h5_path)
            if record is None:
                raise ProjectError(f"{h5_path}: exists and was not written by dlc-recurrent; refusing to overwrite it")
            if not overwrite:
                _check_earlier(h5_path, record.get("members", {}), members)
                continue
        started = time.time()
        files, predictions = _read_members(project, video, where, members, scorers, teacher_scorer, teacher_folder)
        combined, smoothed = smoothed_predictions(np.stack(predictions), likelihood_radius, smooth_param)
        info = read_video_info(video)
        metadata = {
            "start": started, "stop": time.time(), "run_duration": time.time() - started, "Scorer": scorer,
            "fps": info.fps, "nframes": len(combined), "frame_dimensions": (info.width, info.height),
            "iteration (active-learning)": project.iteration, "bodyparts": project.bodyparts,
            **_cropping(files, info),
            OWN_OUTPUT_KEY: {
                "version": __version__, "model": ENSEMBLE, "members": files,
                "smooth_param": dict(zip(project.bodyparts, smoothed.smooth_param.round(6).tolist())),
                "likelihood_radius_px": float(likelihood_radius),
                "note": "Ensemble Kalman Smoothing of the members' predictions (dlc_recurrent.ensemble); "
                        "likelihood = posterior probability of lying within likelihood_radius_px.",
            },
        }
        where.mkdir(parents=True, exist_ok=True)
        write_outputs(predictions_table(combined, scorer, project.bodyparts), metadata, h5_path, save_as_csv)
        logger.info(f"{video.name}: ensemble of {', '.join(files)} -> {h5_path}")
    return scorer


def _check_earlier(h5_path: Path, earlier: dict, members) -> None:
    """An ensemble already written is kept when it has the members asked for; a different set is an
    error (one file per video and shuffle), a member written after it a warning."""
    if set(earlier) != set(members):
        raise ProjectError(f"{h5_path}: holds the ensemble of {', '.join(earlier)}, not of {', '.join(members)}; "
                           "pass overwrite=True to replace it, or destfolder= to keep both")
    newer = [Path(path).name for path in earlier.values()
             if Path(path).is_file() and Path(path).stat().st_mtime > h5_path.stat().st_mtime]
    if newer:
        logger.warning(f"{h5_path.name}: kept, but {', '.join(newer)} changed after it was written; pass "
                       "overwrite=True to combine the new predictions")
    else:
        logger.info(f"{h5_path.name}: ensemble of {', '.join(earlier)} already written; pass overwrite=True "
                    "to redo it")


def _cropping(files: dict, info) -> dict:
    """The crop fields of the first member whose meta has them (the members share one frame)."""
    for path in files.values():
        try:
            data = pd.read_pickle(meta_path(Path(path)))["data"]
            return {"cropping": bool(data["cropping"]), "cropping_parameters": list(data["cropping_parameters"])}
        except Exception:  # no meta, or an older one: the next member's
            continue
    return {"cropping": False, "cropping_parameters": [0, info.width, 0, info.height]}


def _check_members(members) -> tuple[str, ...]:
    members = (members,) if isinstance(members, str) else tuple(members)
    unknown = [m for m in members if m != TEACHER and m not in MODEL_KINDS]
    if unknown or not members or len(set(members)) != len(members):
        raise ValueError(f"members={members!r}: give distinct names from {(TEACHER, *MODEL_KINDS)}")
    return members


def _read_members(project, video: Path, where: Path, members, scorers: dict, teacher_scorer,
                  teacher_folder) -> tuple[dict, list]:
    """Each member's (T, K, 3) predictions of the video and the file it came from; all the same length."""
    files, predictions = {}, []
    for member in members:
        if member == TEACHER:
            path = find_teacher(video, teacher_scorer, teacher_folder)
            teacher = read_teacher(path, project.bodyparts)
            points = np.concatenate([teacher.xy, teacher.likelihood[..., None]], -1)
        else:
            path = where / f"{video.stem}{scorers[member]}.h5"
            if not path.is_file():
                raise ProjectError(f"{path}: no {member} predictions of {video.name}; run dlc_recurrent.analyze_videos("
                                   f"config, [{str(video)!r}], model={member!r}) first (same shuffle and destfolder)")
            table = pd.read_hdf(path)
            missing = [part for part in project.bodyparts if (scorers[member], part, "x") not in table.columns]
            if missing:
                raise ProjectError(f"{path}: no predictions of {missing} (config.yaml's body parts changed since?); "
                                   f"analyze {video.name} again with model={member!r}, overwrite=True")
            points = table[scorers[member]][project.bodyparts].to_numpy(float).reshape(len(table), -1, 3)
        files[member] = str(path)
        predictions.append(points)
    lengths = {Path(files[member]).name: len(p) for member, p in zip(members, predictions)}
    if len(set(lengths.values())) > 1:
        raise ProjectError(f"{video}: its members' predictions cover different frame counts {lengths}; analyze the "
                           "video again with the odd one (deeplabcut.analyze_videos for the teacher, "
                           "dlc_recurrent.analyze_videos(..., overwrite=True) for a student)")
    return files, predictions
