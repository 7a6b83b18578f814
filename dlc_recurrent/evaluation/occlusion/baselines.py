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
    """A copy of predictions (n_frames, K, 3) whose points under ``pcutoff`` are interpolated
    (:func:`fill_gaps`); the likelihoods stay as they were, so filled points still read as unsure."""
    out = np.array(predictions, dtype=float, copy=True)
    out[..., :2] = fill_gaps(out[..., :2], out[..., 2], pcutoff)
    return out


def median_filtered_leap(config, videos, destination, shuffle: int = 1, trainingsetindex: int = 0,
                         filter_windowlength: int = 5, progress: bool = True) -> dict[str, tuple]:
    """LEAP's predictions of ``videos``, raw and after ``deeplabcut.filterpredictions`` (median).

    What a DLC user does today with a single-frame network: analyze, then DLC's own median filter.
    Both h5 files go to ``destination``; returns {video path: (raw, filtered)} as (n_frames, K, 3)
    arrays in full-frame pixels. Interpolating the filtered points under pcutoff (``fill_gaps``)
    is the last step of the "LEAP + median + interpolation" baseline.
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
    """Fill ``video.predictions[method]`` (n_frames, K, 3) in full-resolution pixels for every method.

    In a pair study the two students run separately and are combined as analyze_videos combines
    them (``combine_students``); returns, per video, the bridges' reach and the points they moved.
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
    """(n_frames, K, 3) Ensemble Kalman Smoothing of the members, as ``ensemble_videos`` writes it."""
    return smoothed_predictions(np.stack(members), LIKELIHOOD_RADIUS)[0]


def test_frame_table(videos: list[StudyVideo], bodyparts: list[str], pcutoff: float, study: Study) -> pd.DataFrame:
    """Figure 5: every test frame, no artificial occlusion, per body part and all parts pooled.

    References: the teacher where it is over pcutoff (the paper's ground truth), and on synthetic
    projects the true positions on visible and on naturally hidden frames. The smoothers that hold the
    teacher among their members are not judged against the teacher (they would agree by construction).
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
