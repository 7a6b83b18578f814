"""What a training set was built from and with, recorded in its ``trainingset.yaml``, so a rebuild
that would give the same set is skipped and one that would not says what changed."""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from dlc_recurrent.config import TrainingSetSpec
from dlc_recurrent.distill.spec import saved_spec
from dlc_recurrent.errors import ProjectError
from dlc_recurrent.fileio import read_yaml
from dlc_recurrent.layout import TRAINING_SET_META, training_set_folder
from dlc_recurrent.project import Project, TeacherPredictions, find_teacher, read_hand_labels, read_teacher


def saved_request(folder: Path) -> dict | None:
    """The request a training set was built with, as its ``trainingset.yaml`` records it.

    Args:
        folder: the training set's folder.

    Returns:
        The record (spec, videos, training_fraction, shuffle; see :func:`request_record`), its spec with every
        field (one the record lacks at its default, see :func:`saved_spec`); None when the record holds no
        request.
    """
    saved = read_yaml(folder / TRAINING_SET_META).get("request")
    if saved and "spec" in saved:
        saved["spec"] = saved_spec(saved["spec"])
    return saved


def built_with(project: Project, shuffle: int = 1, trainingsetindex: int = 0) -> dict | None:
    """The TrainingSetSpec fields the shuffle's training set was built with, read from its record.

    Args:
        project: the DLC project.
        shuffle: the training set's shuffle number (this package's, not a DLC network's).
        trainingsetindex: the index of its training fraction in config.yaml.

    Returns:
        The spec's fields by name (fields the record lacks at their defaults); None when there is no set
        or no spec in its record.
    """
    folder = training_set_folder(project, shuffle, trainingsetindex)
    if not (folder / TRAINING_SET_META).is_file():
        return None
    saved = saved_request(folder)
    return saved["spec"] if saved and "spec" in saved else None


def request_differences(saved: dict | None, request: dict) -> str:
    """What differs between the request a set was built with and this one, in words ("" if nothing).

    Videos are named, since deeplabcut's own tools (extract_outlier_frames) add analyzed videos to
    config.yaml's video_sets, which changes what a rerun with ``videos=None`` would sample.

    Args:
        saved: the request the set was built with (:func:`saved_request`), or None when there is no record.
        request: this call's request (:func:`request_record`).

    Returns:
        The differences, "; "-separated: spec fields, videos added or missing, training_fraction and
        shuffle; "no record of its settings" when ``saved`` is empty.
    """
    if not saved:
        return "no record of its settings"
    said = []
    saved_spec, spec = saved.get("spec", {}), request["spec"]
    said += [f"{k}={saved_spec.get(k)!r} then, {spec[k]!r} now" for k in spec if saved_spec.get(k) != spec[k]]
    before, now = saved.get("videos", []), request["videos"]
    added = [Path(v).name for v in now if v not in before]
    dropped = [Path(v).name for v in before if v not in now]
    if added:
        said.append(f"videos not in it: {', '.join(added)} (pass videos=[...] to keep its own)")
    if dropped:
        said.append(f"videos now missing: {', '.join(dropped)}")
    said += [f"{k}={saved.get(k)!r} then, {request[k]!r} now" for k in ("training_fraction", "shuffle")
             if saved.get(k) != request[k]]
    return "; ".join(said)


def request_record(spec: TrainingSetSpec, videos: list[Path], fraction: float, shuffle: int) -> dict:
    """What a build was asked for, as ``trainingset.yaml`` records it and :func:`request_differences` compares.

    Args:
        spec: the sampling settings.
        videos: the videos sampled (recorded as resolved paths).
        fraction: the training fraction.
        shuffle: the training set's shuffle number.

    Returns:
        The record: spec (a dict), videos, training_fraction and shuffle.
    """
    return {
        "spec": asdict(spec),
        "videos": [str(v.resolve()) for v in videos],
        "training_fraction": fraction,
        "shuffle": shuffle,
    }


def inputs_record(project: Project, spec: TrainingSetSpec, videos: list[Path], teacher_folder) -> dict:
    """The inputs of a rerun, read now, to compare with those a build recorded (see :func:`video_inputs`).

    Args:
        project: the DLC project.
        spec: the sampling settings (its ``teacher_scorer`` picks each video's teacher file).
        videos: the videos the rerun would sample.
        teacher_folder: where the teacher's h5 files are, when not next to the videos (None: next to them).

    Returns:
        The record :func:`inputs_summary` makes; a video whose teacher is now gone or ambiguous has no
        teacher digest (and so reads as changed).
    """
    per_video = {}
    for video in videos:
        try:
            teacher = read_teacher(find_teacher(video, spec.teacher_scorer, teacher_folder), project.bodyparts)
        except ProjectError:  # gone or ambiguous now: reported as changed; a rebuild says why
            teacher = None
        per_video[video] = video_inputs(project, video, teacher, read_hand_labels(project, video))
    return inputs_summary(project, per_video)


def inputs_summary(project: Project, per_video: dict) -> dict:
    """What the targets are made of besides the settings: pcutoff, body parts and each video's inputs.

    Args:
        project: the DLC project (its pcutoff and body parts).
        per_video: :func:`video_inputs`'s entry of each video, keyed by the video's path.

    Returns:
        ``pcutoff`` and ``bodyparts``, and each video's entry under its resolved path (as a string).
    """
    record = {"pcutoff": float(project.pcutoff), "bodyparts": list(project.bodyparts)}
    return {**record, **{str(Path(video).resolve()): entry for video, entry in per_video.items()}}


def video_inputs(project: Project, video: Path, teacher: TeacherPredictions | None,
                  labels: pd.DataFrame | None) -> dict:
    """A video's crop, and digests of its teacher's and hand labels' values (not of the files, which
    change on a mere re-save), so a rerun notices refined labels.

    Args:
        project: the DLC project (its crop of the video).
        video: the video.
        teacher: the teacher's predictions of the video, or None when it has none now.
        labels: the video's hand labels, or None when it has none.

    Returns:
        ``crop`` ([x1, x2, y1, y2] or None), and ``teacher`` and ``hand labels``: SHA-256 hex digests of
        their values (with their shapes), or None.
    """
    crop = project.crop_for(video)
    return {
        "crop": None if crop is None else [crop.x1, crop.x2, crop.y1, crop.y2],
        "teacher": None if teacher is None else _digest(teacher.xy, teacher.likelihood),
        "hand labels": None if labels is None else _digest(labels.index.to_numpy(), labels.to_numpy(float)),
    }


def _digest(*arrays: np.ndarray) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(str(array.shape).encode())
        digest.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
    return digest.hexdigest()


def changed_inputs(saved: dict | None, current: dict) -> str:
    """The inputs that differ, in words; empty when they match (or the set predates this record).

    Args:
        saved: the inputs a build recorded (:func:`inputs_summary`), or None for a set built before they
            were recorded.
        current: the inputs read now (:func:`inputs_record`).

    Returns:
        What changed, e.g. "video1.mp4's hand labels and teacher; pcutoff changed"; "" when nothing did.
    """
    if saved is None:
        return ""
    changed = []
    for key in sorted(set(saved) | set(current)):
        old, new = saved.get(key), current.get(key)
        if old == new:
            continue
        if key in ("pcutoff", "bodyparts") or old is None or new is None:
            changed.append(Path(key).name)
        else:
            parts = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            changed.append(f"{Path(key).name}'s " + " and ".join(parts))
    return "; ".join(changed) + " changed" if changed else ""


def training_set_fingerprint(folder: str | Path) -> str:
    """A digest of the windows and targets a built set holds: the same after a rebuild that gives the
    same data (wherever the project lives), different otherwise.

    Args:
        folder: the training set's folder.

    Returns:
        A SHA-256 hex digest of ``windows.csv`` and every ``video*_targets.npz`` array.
    """
    folder = Path(folder)
    digest = hashlib.sha256((folder / "windows.csv").read_bytes())
    for path in sorted(folder.glob("video*_targets.npz")):
        with np.load(path) as saved:
            for key in sorted(saved.files):
                digest.update(key.encode() + _digest(saved[key]).encode())
    return digest.hexdigest()
