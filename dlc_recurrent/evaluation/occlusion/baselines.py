"""DLC users' usual remedy as the baseline: LEAP's predictions through deeplabcut's own
``filterpredictions`` (median filter), sub-pcutoff gaps filled by interpolation; Lightning Pose's,
Ensemble Kalman Smoothing of the teacher (alone, with LEAP, with LEAP and the student); and every
method's whole-video predictions on the test frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dlc_recurrent.ensemble import smoothed_predictions
from dlc_recurrent.ensemble.videos import LIKELIHOOD_RADIUS
from dlc_recurrent.errors import ProjectError
from dlc_recurrent.evaluation.occlusion.study import Study, StudyVideo
from dlc_recurrent.evaluation.stats import (
    EKS_TEACHER,
    EKS_TEACHER_LEAP,
    EKS_WITH_STUDENT,
    FILTERED,
    LEAP,
    TWO_STUDENTS,
    compare_methods,
)
from dlc_recurrent.inference.analyze import analyze_videos
from dlc_recurrent.inference.pairing import bridged_points, combine_students
from dlc_recurrent.inference.streams import predict_video
from dlc_recurrent.measures import point_errors
from dlc_recurrent.training import deeplabcut_options

#: methods with the teacher among their members
HOLD_THE_TEACHER = (EKS_TEACHER, EKS_TEACHER_LEAP, EKS_WITH_STUDENT)


def fill_gaps(xy: np.ndarray, likelihood: np.ndarray, pcutoff: float) -> np.ndarray:
    """Replace points under ``pcutoff`` by linear interpolation between confident frames.

    Before the first and after the last confident frame the nearest confident position is held;
    a body part with no confident frame keeps its positions.

    Args:
        xy: (T, K, 2) float, positions, px; a point that is not finite counts as unsure.
        likelihood: (T, K) float, their likelihoods.
        pcutoff: the likelihood from which a point is confident.

    Returns:
        (T, K, 2) float, a copy of ``xy`` with the unsure points filled.
    """
    out = np.array(xy, dtype=float, copy=True)
    frames = np.arange(len(out))
    for part in range(out.shape[1]):
        good = (likelihood[:, part] >= pcutoff) & np.isfinite(out[:, part]).all(axis=1)
        if good.any() and not good.all():
            for axis in range(2):
                out[:, part, axis] = np.interp(frames, frames[good], out[good, part, axis])
    return out


def interpolate_unsure(predictions: np.ndarray, pcutoff: float) -> np.ndarray:
    """A copy of predictions whose points under ``pcutoff`` are interpolated (:func:`fill_gaps`); the
    likelihoods stay as they were, so filled points still read as unsure.

    Args:
        predictions: (T, K, 3) float, x, y (px) and likelihood.
        pcutoff: the likelihood from which a point is confident.

    Returns:
        (T, K, 3) float, the predictions with unsure positions filled.
    """
    out = np.array(predictions, dtype=float, copy=True)
    out[..., :2] = fill_gaps(out[..., :2], out[..., 2], pcutoff)
    return out


def median_filtered_leap(config, videos, destination, shuffle: int = 1, trainingsetindex: int = 0,
                         filter_windowlength: int = 5, progress: bool = True) -> dict[str, tuple]:
    """LEAP's predictions of ``videos``, raw and after ``deeplabcut.filterpredictions`` (median).

    What a DLC user does today with a single-frame network: analyze, then DLC's own median filter.
    Interpolating the filtered points under pcutoff (``fill_gaps``) is the last step of the
    "LEAP + median + interpolation" baseline. LEAP analyzes in full precision, overwriting earlier output.

    Args:
        config: the DLC project's config.yaml.
        videos: the videos to analyze.
        destination: the folder both h5 files of each video go to (made if missing).
        shuffle: LEAP's training-set number.
        trainingsetindex: the index of the training fraction in config.yaml.
        filter_windowlength: the median filter's window, frames (``filterpredictions``' windowlength).
        progress: show progress bars.

    Returns:
        {video path: (raw, filtered)}, each (T, K, 3) float: x, y in full-frame pixels and the likelihood.

    Raises:
        ProjectError: ``filterpredictions`` wrote no filtered file for a video.
    """
    import deeplabcut

    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    paths = [str(v) for v in videos]
    scorer = analyze_videos(config, paths, shuffle=shuffle, trainingsetindex=trainingsetindex,
                            destfolder=destination, overwrite=True, model=LEAP, progress=progress,
                            precision="float32")  # the study judges every method in full precision
    for path in paths:
        for old in destination.glob(f"{Path(path).stem}{scorer}_filtered*"):
            old.unlink()  # filterpredictions skips videos it filtered before, even if the raw h5 is new
    deeplabcut.filterpredictions(str(config), paths, filtertype="median", windowlength=filter_windowlength,
                                 save_as_csv=False, destfolder=str(destination),
                                 **deeplabcut_options(LEAP, shuffle, trainingsetindex))
    out = {}
    for path in paths:
        stem = Path(path).stem
        filtered_path = destination / f"{stem}{scorer}_filtered.h5"
        if not filtered_path.is_file():
            raise ProjectError(f"{filtered_path}: deeplabcut.filterpredictions wrote no filtered file for {stem}")
        raw, filtered = (pd.read_hdf(destination / name) for name in (f"{stem}{scorer}.h5", filtered_path.name))
        n_parts = raw.shape[1] // 3
        out[path] = tuple(t.to_numpy(float).reshape(len(t), n_parts, 3) for t in (raw, filtered))
    return out


def whole_video_predictions(project, students, videos, folder, shuffle, trainingsetindex, pcutoff,
                             filter_windowlength, progress, study: Study) -> list[dict]:
    """Fill ``video.predictions[method]`` (T, K, 3) in full-resolution pixels for every method.

    LEAP raw and median-filtered (:func:`median_filtered_leap`, unsure points then interpolated), each
    student on the whole video, and the three Ensemble Kalman Smoothings (:func:`smoothed`). In a pair
    study the two students run separately and are combined as analyze_videos combines them
    (``combine_students``).

    Args:
        project: the DLC project.
        students: the loaded students by method name (the study's first two ``students``).
        videos: the study's videos; their ``predictions`` are filled in place.
        folder: the study's output folder (LEAP's h5 files go to its ``leap-predictions``).
        shuffle: LEAP's training-set number.
        trainingsetindex: the index of the training fraction in config.yaml.
        pcutoff: the likelihood under which the filtered LEAP points are interpolated.
        filter_windowlength: the median filter's window, frames.
        progress: show progress bars.
        study: the methods compared.

    Returns:
        In a pair study, per video: ``video`` (the file name), ``bridge_reach_px`` and ``bridged_points``
        (the points a bridge moved); an empty list otherwise.

    Raises:
        ProjectError: a student's predictions have another number of frames than the teacher's, or
            ``filterpredictions`` wrote no filtered file.
    """
    leap = median_filtered_leap(project.config_path, [v.info.path for v in videos], folder / "leap-predictions",
                                shuffle, trainingsetindex, filter_windowlength, progress)
    bridges = []
    for video in videos:
        raw, filtered = leap[str(video.info.path)]
        video.predictions[LEAP] = raw
        video.predictions[FILTERED] = interpolate_unsure(filtered, pcutoff)
        for method in study.students[:2]:
            video.predictions[method] = predict_video(students[method], video.info, video.crop, batch_size=32,
                                                      progress=progress)
            if len(video.predictions[method]) != video.info.n_frames:
                raise ProjectError(
                    f"{video.info.path}: {len(video.predictions[method])} frames decode but the teacher has "
                    f"{video.info.n_frames} rows; re-run deeplabcut.analyze_videos on this exact video"
                )
        teacher = np.concatenate([video.teacher_xy, video.teacher_likelihood[..., None]], -1)
        video.predictions[EKS_TEACHER] = smoothed([teacher])
        video.predictions[EKS_TEACHER_LEAP] = smoothed([teacher, raw])
        video.predictions[EKS_WITH_STUDENT] = smoothed([teacher, raw, video.predictions[study.recurrent]])
        if study.paired:
            main, second = video.predictions[study.recurrent], video.predictions[study.second]
            combined, reach = combine_students(main, second, study.handoff, study.bridge_max_gap)
            video.predictions[TWO_STUDENTS] = combined
            bridges.append({"video": video.info.path.name, "bridge_reach_px": reach,
                            "bridged_points": bridged_points(combined, main, second, study.handoff)})
    return bridges


def smoothed(members: list[np.ndarray]) -> np.ndarray:
    """(T, K, 3) Ensemble Kalman Smoothing of the members, as ``ensemble_videos`` writes it.

    Args:
        members: each member's (T, K, 3) float predictions: x, y (px) and likelihood; NaN where missing.

    Returns:
        (T, K, 3) float: the posterior mean x, y and the probability of lying within ``LIKELIHOOD_RADIUS``
        of it.
    """
    return smoothed_predictions(np.stack(members), LIKELIHOOD_RADIUS)[0]


def test_frame_table(videos: list[StudyVideo], bodyparts: list[str], pcutoff: float, study: Study) -> pd.DataFrame:
    """Figure 5: every test frame, no artificial occlusion, per body part and all parts pooled.

    References: the teacher where it is over pcutoff (the paper's ground truth), and on synthetic
    projects the true positions on visible and on naturally hidden frames. The smoothers that hold the
    teacher among their members are not judged against the teacher (they would agree by construction).

    Args:
        videos: the study's videos, with every method's ``predictions`` filled.
        bodyparts: the body parts, in the order of the arrays' K.
        pcutoff: the likelihood from which a teacher point is a reference.
        study: the methods compared; its ``studied`` method is the reference of each paired test.

    Returns:
        One row per (reference, bodypart | "all", method): ``reference``, ``bodypart`` and
        :func:`~dlc_recurrent.evaluation.stats.compare_methods`' columns (n, mean_px, sem_px, median_px,
        the paired test against the studied method, significance, best).
    """
    references = {
        "teacher (confident)": lambda v: (v.teacher_xy, v.test[:, None] & (v.teacher_likelihood >= pcutoff)),
        "truth (visible)": lambda v: (v.truth_xy, v.test[:, None] & v.visible) if v.has_truth else None,
        "truth (hidden)": lambda v: (v.truth_xy, v.test[:, None] & ~v.visible) if v.has_truth else None,
    }
    rows = []
    for name, select in references.items():
        chosen = [(v, select(v)) for v in videos]
        chosen = [(v, s) for v, s in chosen if s is not None]
        if not chosen:
            continue
        for index, part in [(None, "all"), *enumerate(bodyparts)]:
            errors = {}
            for method in study.methods:
                if name == "teacher (confident)" and method in HOLD_THE_TEACHER:
                    continue
                values = []
                for video, (reference, mask) in chosen:
                    error = point_errors(video.predictions[method], reference)
                    values.append(error[mask] if index is None else error[:, index][mask[:, index]])
                errors[method] = np.concatenate(values) if values else np.zeros(0)
            for row in compare_methods(errors, study.studied):
                rows.append({"reference": name, "bodypart": part, **row})
    return pd.DataFrame(rows)
