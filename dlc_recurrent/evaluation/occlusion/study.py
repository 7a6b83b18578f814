"""One occlusion study: the methods it compares (:class:`Study`) and the test videos it judges them on
(:class:`StudyVideo`: frames restricted to the training set's test blocks, the teacher, the truth)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dlc_recurrent.distill import TrainingSet
from dlc_recurrent.errors import ProjectError
from dlc_recurrent.evaluation.common import record_crop
from dlc_recurrent.evaluation.stats import (
    EKS_TEACHER,
    EKS_TEACHER_LEAP,
    EKS_WITH_STUDENT,
    FILTERED,
    FILTERED_CAUSAL,
    LEAP,
    RECURRENT,
    TWO_STUDENTS,
)
from dlc_recurrent.frames import Crop, VideoInfo, read_video_info
from dlc_recurrent.inference.pairing import HANDOFF_LIKELIHOOD, Pairing
from dlc_recurrent.measures import true_runs
from dlc_recurrent.project import Project, find_teacher, read_teacher_for_video
from dlc_recurrent.synthetic import read_ground_truth

#: Each method's colour in the study's figures.
COLORS = {LEAP: "tab:red", FILTERED: "tab:orange", FILTERED_CAUSAL: "tab:orange", RECURRENT: "tab:blue",
          "bidirectional_leap": "tab:purple", TWO_STUDENTS: "tab:green", EKS_TEACHER: "tab:brown",
          EKS_TEACHER_LEAP: "tab:olive", EKS_WITH_STUDENT: "tab:pink"}

DEFAULT_SEED = 20240611


@dataclass(frozen=True)
class Study:
    """The methods one occlusion study compares; ``studied`` is the reference of every paired test.

    The default study compares the baselines with one recurrent student. A pair study adds the second
    (confident) student alone and the two combined as ``analyze_videos(..., confident_shuffle=N)``
    combines them.

    Attributes:
        recurrent: the method name of the (main) recurrent student.
        second: the method name of the second (confident) student; None for a study of one student.
        handoff: the likelihood from which the second student's point replaces the main one's.
        bridge_max_gap: the longest unsure run of frames bridged (0: no bridging).
        colors: method colours for the figures that override ``COLORS``.
        test_frames: (kept, of) test frames when only those of both training sets are kept; None otherwise.
    """

    recurrent: str = RECURRENT
    second: str | None = None
    handoff: float = HANDOFF_LIKELIHOOD
    bridge_max_gap: int = 0
    colors: dict = field(default_factory=dict)
    test_frames: tuple[int, int] | None = None  # (kept, of) test frames: those of both training sets

    @property
    def paired(self) -> bool:
        """Whether the study has a second student (a pair study)."""
        return self.second is not None

    @property
    def studied(self) -> str:
        """The reference of every paired test: the pair in a pair study, else the recurrent student."""
        return TWO_STUDENTS if self.paired else self.recurrent

    @property
    def students(self) -> tuple[str, ...]:
        """The recurrent method names (the main student, then the second and the pair)."""
        return (self.recurrent, self.second, TWO_STUDENTS) if self.paired else (self.recurrent,)

    @property
    def methods(self) -> tuple[str, ...]:
        """The methods compared on whole videos (the smoothers need every frame of the video, so they
        are not among the occlusion methods)."""
        return (LEAP, FILTERED, EKS_TEACHER, EKS_TEACHER_LEAP, *self.students, EKS_WITH_STUDENT)

    @property
    def occlusion_methods(self) -> tuple[str, ...]:
        """The methods compared under artificial occlusion (no later frame, so the causal filter)."""
        return (LEAP, FILTERED_CAUSAL, *self.students)

    def color(self, method: str) -> str:
        """``method``'s colour in the figures (grey for one without)."""
        return self.colors.get(method) or COLORS.get(method, "tab:gray")


#: The methods of the default study (``evaluate_occlusion(model=RECURRENT)``).
METHODS = Study().methods
OCCLUSION_METHODS = Study().occlusion_methods


@dataclass
class StudyVideo:
    """One training-set video with what the occlusion study needs about it.

    Attributes:
        index: the video's index in the training set.
        info: the video's path, frame count, size and fps.
        crop: the crop the training set stored it with (full-frame pixels).
        teacher_xy: (T, K, 2) float, the teacher's positions, full-frame pixels.
        teacher_likelihood: (T, K) float, their likelihoods.
        truth_xy: (T, K, 2) float, the true positions on a synthetic project, full-frame pixels; else None.
        visible: (T, K) bool, the part is not hidden (synthetic projects); else None.
        occluded_by: (T, K) int, what hides it (an index into the synthetic ``OCCLUDERS``, 0 where
            visible); else None.
        test_blocks: the training set's test blocks, [first, last] frames (inclusive).
        test: (T,) bool, True on the frames of the test blocks.
        predictions: each method's (T, K, 3) float predictions (x, y in full-frame pixels, likelihood), by
            method name; filled by the study.
    """

    index: int
    info: VideoInfo
    crop: Crop
    teacher_xy: np.ndarray
    teacher_likelihood: np.ndarray
    truth_xy: np.ndarray | None
    visible: np.ndarray | None
    occluded_by: np.ndarray | None
    test_blocks: list
    test: np.ndarray
    predictions: dict = field(default_factory=dict)

    @property
    def has_truth(self) -> bool:
        """Whether the video is synthetic, with its true positions known."""
        return self.truth_xy is not None

    def reference_xy(self) -> np.ndarray:
        """Positions to centre squares on and measure against: the truth, else the teacher."""
        return self.truth_xy if self.has_truth else self.teacher_xy


def _video_path(project: Project, record: dict) -> Path:
    """The training set's video: the project's own (config.yaml video_sets, same stem) first."""
    path = Path(record["video"])
    for candidate in project.videos:
        if candidate.stem == path.stem and candidate.is_file():
            return candidate
    if path.is_file():
        return path
    raise ProjectError(f"{path}: video of the training set not found; was the project moved? Rebuild the training set")


def _teacher_path(video: Path, record: dict) -> Path:
    """The teacher file the training set was built from, next to the video when the project moved."""
    beside = video.parent / Path(record["teacher"]).name
    if beside.is_file():
        return beside
    if Path(record["teacher"]).is_file():
        return Path(record["teacher"])
    return find_teacher(video, record.get("teacher_scorer"))


def load_videos(project: Project, trainset: TrainingSet) -> list[StudyVideo]:
    """The study's videos: each of the training set's videos with its teacher, test frames and (on
    synthetic projects) truth.

    Args:
        project: the DLC project (its body parts order the arrays; its videos are found first).
        trainset: the training set whose video records, test blocks and crops are used.

    Returns:
        One :class:`StudyVideo` per training-set video: teacher_xy (T, K, 2) full-frame pixels,
        teacher_likelihood (T, K), truth_xy (T, K, 2) / visible (T, K) / occluded_by (T, K) or None
        without a synthetic truth, and test (T,) bool.
    """
    videos = []
    for index, record in enumerate(trainset.videos):
        info = read_video_info(_video_path(project, record))
        teacher, info = read_teacher_for_video(_teacher_path(info.path, record), project.bodyparts, info)
        truth_xy = visible = occluded_by = None
        try:
            truth = read_ground_truth(info.path)
        except FileNotFoundError:
            truth = None
        if truth is not None and set(project.bodyparts) <= set(truth.bodyparts) and truth.frame_count == info.n_frames:
            order = [truth.bodyparts.index(bp) for bp in project.bodyparts]
            truth_xy = np.asarray(truth.xy, float)[:, order]
            visible = np.asarray(truth.visible, bool)[:, order]
            occluded_by = np.asarray(truth.occluded_by)[:, order]
        test = frames_in_blocks(record.get("test_blocks", []), info.n_frames)
        videos.append(
            StudyVideo(
                index=index,
                info=info,
                crop=record_crop(record),
                teacher_xy=teacher.xy,
                teacher_likelihood=teacher.likelihood,
                truth_xy=truth_xy,
                visible=visible,
                occluded_by=occluded_by,
                test_blocks=[list(b) for b in record.get("test_blocks", [])],
                test=test,
            )
        )
    return videos


def frames_in_blocks(test_blocks: list, n_frames: int) -> np.ndarray:
    """(n_frames,) True on the frames of a training set's ``test_blocks`` ([first, last] inclusive).

    Args:
        test_blocks: [first, last] frame ranges, inclusive.
        n_frames: frames in the video.

    Returns:
        (n_frames,) bool, True inside any of the blocks.
    """
    test = np.zeros(n_frames, bool)
    for first, last in test_blocks:
        test[int(first) : int(last) + 1] = True
    return test


def keep_shared_test_frames(videos: list[StudyVideo], other: TrainingSet) -> tuple[int, int]:
    """Keep only the test frames that are test frames of ``other`` too, so that neither student of a
    pair trained on a frame it is judged on; a video ``other`` does not hold keeps its test frames.

    Blocks stay apart where they touch (windows and events never span two).

    Args:
        videos: the study's videos; their ``test`` and ``test_blocks`` are narrowed in place.
        other: the second student's training set (videos matched by file stem).

    Returns:
        (kept, before): the number of test frames of all videos after and before.
    """
    records = {Path(record["video"]).stem: record for record in other.videos}
    before = sum(int(video.test.sum()) for video in videos)
    for video in videos:
        record = records.get(video.info.path.stem)
        if record is not None:
            shared = video.test & frames_in_blocks(record.get("test_blocks", []), video.info.n_frames)
            video.test_blocks = [[first + start, first + stop - 1] for first, last in video.test_blocks  # inclusive
                                 for start, stop in true_runs(shared[first : last + 1])]
            video.test = frames_in_blocks(video.test_blocks, video.info.n_frames)
    return sum(int(video.test.sum()) for video in videos), before


def pair_study(model: str, shuffle: int, second_model: str, pairing: Pairing) -> Study:
    """The study of two students: each named with its shuffle, the pair combined as analyze_videos does.

    Args:
        model: the main student's model kind.
        shuffle: the main student's training-set number.
        second_model: the second (confident) student's model kind.
        pairing: the second student's shuffle, handoff and bridging.

    Returns:
        The study, its students named ``<model>_shuffle<N>``; the main one in its kind's colour, the
        second in cyan.
    """
    main, second = f"{model}_shuffle{shuffle}", f"{second_model}_shuffle{pairing.shuffle}"
    return Study(recurrent=main, second=second, handoff=float(pairing.handoff), bridge_max_gap=pairing.max_gap,
                 colors={main: COLORS[model], second: "tab:cyan"})
