"""``make_synthetic_project``: a complete single-animal DeepLabCut project around synthetic videos
(config.yaml, videos, hand labels, the simulated teacher's predictions, the ground truth), and the
named presets of its arguments for conditions seen on real video."""

from __future__ import annotations

import contextlib
import io
import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from dlc_recurrent.synthetic.labels import write_labeled_data
from dlc_recurrent.synthetic.render import random_streams, simulate_video
from dlc_recurrent.synthetic.scene import (
    BODYPARTS,
    REF_H,
    REF_W,
    SKELETON,
    GroundTruth,
    read_ground_truth,
    write_ground_truth,
)
from dlc_recurrent.synthetic.teacher import (
    scorer_of,
    simulate_teacher,
    teacher_dataframe,
    teacher_metadata,
    write_dlc_h5,
    write_pickle,
)

#: When tail and bar may hide a paw: only while it slides back in stance, or at any phase of the stride.
OCCLUSION_PHASES = ("stance", "any")
#: Named sets of ``make_synthetic_project`` arguments for conditions seen on real video:
#: ``make_synthetic_project(directory, **PRESETS["long_hidden"])``.
#:
#: ``long_hidden``: a hind paw under the tail (or a bar) for 13-60 frames (up to a whole stride at
#: 250 fps, longer than the 12 frames ``max_gap_fill`` interpolates), at any phase of the stride, so
#: the paw lifts, swings and lands unseen; the teacher meanwhile locks onto the look-alike paw of
#: the other side or the occluder's edge. On a real head-fixed-mouse project a hind paw hidden
#: under the body for long runs is where the recurrent student fell behind LEAP.
PRESETS = {
    "default": {},
    "long_hidden": {"occlusion_lengths": (13, 60), "occlusions_during": "any", "occlusions_per_100_frames": 2.0,
                    "tail_occlusion_fraction": 0.75},
}


@dataclass(frozen=True)
class SyntheticProject:
    """Where the pieces of a synthetic project are.

    Attributes:
        config_path: the project's config.yaml.
        videos: the videos of its video_sets.
        teacher_scorer: the simulated teacher's scorer (the name after the video stem of its h5 files).
    """

    config_path: Path
    videos: tuple[Path, ...]
    teacher_scorer: str

    def teacher_h5(self, video: str | Path) -> Path:
        """The simulated teacher's predictions of ``video``, beside it."""
        video = Path(video)
        return video.with_name(video.stem + self.teacher_scorer + ".h5")

    def ground_truth(self, video: str | Path) -> GroundTruth:
        """The truth of ``video`` (:func:`read_ground_truth`)."""
        return read_ground_truth(video)


def open_synthetic_project(config_path: str | Path) -> SyntheticProject:
    """Describe a project made by ``make_synthetic_project``: its videos and teacher scorer.

    Args:
        config_path: the synthetic project's config.yaml.

    Returns:
        The config path, the videos of its video_sets and the simulated teacher's scorer.
    """
    from deeplabcut.utils import auxiliaryfunctions

    cfg = auxiliaryfunctions.read_config(config_path)
    videos = tuple(Path(v) for v in cfg["video_sets"])
    return SyntheticProject(Path(config_path), videos, scorer_of(cfg))


def _check_arguments(n_videos, n_frames, width, height, fps, n_labeled_frames, occlusion_lengths, during) -> None:
    if width % 2 or height % 2 or width < 32 or height < 32:
        raise ValueError(f"width and height must be even and at least 32 (mp4v), got {width}x{height}")
    if n_videos < 1 or n_frames < 10:
        raise ValueError(f"need at least 1 video of at least 10 frames, got {n_videos} of {n_frames}")
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if not 0 <= n_labeled_frames <= n_frames:
        raise ValueError(f"n_labeled_frames must be between 0 and n_frames ({n_frames}), got {n_labeled_frames}")
    lo, hi = occlusion_lengths
    if not 1 <= lo <= hi:
        raise ValueError(f"occlusion_lengths must be (shortest, longest) with 1 <= shortest: {occlusion_lengths}")
    if during not in OCCLUSION_PHASES:
        raise ValueError(f"occlusions_during must be 'stance' or 'any', got {during!r}")


def _create_dlc_project(directory: Path, task: str, experimenter: str, videos: list[Path]) -> Path:
    """Let deeplabcut create the project (copying the videos); refuse to reuse an existing one."""
    import deeplabcut

    before = {p.name for p in directory.iterdir()} if directory.exists() else set()
    directory.mkdir(parents=True, exist_ok=True)
    with contextlib.redirect_stdout(io.StringIO()):
        config = deeplabcut.create_new_project(
            task, experimenter, [str(v) for v in videos], working_directory=str(directory), copy_videos=True
        )
    if config == "nothingcreated":
        raise RuntimeError(f"deeplabcut could not open the synthetic videos {videos}")
    config = Path(config)
    if config.parent.name in before:
        raise FileExistsError(f"A DeepLabCut project already exists at {config.parent}; choose another directory")
    return config


def _configure(config_path: Path, width: int, height: int, n_labeled_frames: int):
    """Set body parts, skeleton, the paper's 80/20 split and plotting sizes through deeplabcut's config I/O."""
    from deeplabcut.utils import auxiliaryfunctions

    cfg = auxiliaryfunctions.read_config(config_path)
    cfg["bodyparts"] = list(BODYPARTS)
    cfg["skeleton"] = [list(pair) for pair in SKELETON]
    cfg["skeleton_color"] = "white"
    cfg["numframes2pick"] = int(n_labeled_frames)
    cfg["TrainingFraction"] = [0.8]
    cfg["dotsize"] = max(2, int(round(5 * math.sqrt(width * height / (REF_W * REF_H)))))
    auxiliaryfunctions.write_config(config_path, cfg)
    return auxiliaryfunctions.read_config(config_path)


def make_synthetic_project(
    directory: str | Path,
    *,
    n_videos: int = 1,
    n_frames: int = 300,
    width: int = 336,
    height: int = 280,
    fps: float = 250,
    n_labeled_frames: int = 20,
    seed: int = 0,
    task: str = "synthmouse",
    experimenter: str = "sim",
    stride_hz: float = 4.0,
    occlusions_per_100_frames: float = 4.5,
    occlusion_lengths: tuple[int, int] = (1, 12),
    tail_occlusion_fraction: float = 0.5,
    occlusions_during: str = "stance",
    teacher_confident_miss: float = 0.1,
    teacher_glitch_rate: float = 0.002,
    label_noise_px: float = 1.0,
) -> Path:
    """Create a single-animal DeepLabCut project of synthetic wheel-running videos, with the truth
    known on every frame, to test and measure the pipeline without real data.

    Each video ``videos/mouseNN.mp4`` gets ``mouseNN_groundtruth.npz`` (see ``read_ground_truth``), hand
    labels in ``labeled-data/mouseNN/`` and a simulated teacher ``mouseNN<teacher_scorer>.h5`` with its
    ``_meta.pickle``. The same arguments give the same ground truth, teacher, labels and decoded frames.
    Far paws also pass behind near legs. At the defaults about a third of the frames have a part
    hidden: dense on purpose, so that short videos show the phenomenon; lower the rate for calmer
    videos.

    Args:
        directory: where deeplabcut creates the project folder (which must not exist yet).
        n_videos: videos to render.
        n_frames: frames per video.
        width: frame width, even, at least 32 (mp4v).
        height: frame height, even, at least 32.
        fps: frames per second.
        n_labeled_frames: hand-labelled frames per video (0: none).
        seed: seeds everything random (motion, scene, noise, teacher, labels; one stream each).
        task: DLC's Task.
        experimenter: DLC's scorer of the hand labels.
        stride_hz: the mean stride frequency of the gait.
        occlusions_per_100_frames: tail sweeps over a hind paw or bars rising in front of a paw, per
            100 frames on average.
        occlusion_lengths: (shortest, longest) frames a paw stays hidden; each occlusion's length is
            drawn in turn from every value in the range, so a 300-frame video holds every length from
            1 to 10+.
        tail_occlusion_fraction: the share of occlusions that are tail sweeps (the rest are bars).
        occlusions_during: "stance" hides a paw only while it slides back on the wheel (straight,
            steady motion: what interpolation assumes); "any" also while it lifts, swings and lands (the
            paw turns while hidden).
        teacher_confident_miss: the share of hidden runs the teacher misses confidently (likelihood
            over pcutoff).
        teacher_glitch_rate: the share of visible points where the teacher jumps to another body part.
        label_noise_px: the hand labels are truth plus Gaussian error of this standard deviation, NaN
            where hidden.

    Returns:
        The project's config.yaml.

    Raises:
        ValueError: sizes, counts, lengths or ``occlusions_during`` out of range.
        FileExistsError: a DeepLabCut project of that name already exists in ``directory``.
    """
    _check_arguments(n_videos, n_frames, width, height, fps, n_labeled_frames, occlusion_lengths,
                     occlusions_during)
    directory = Path(directory).absolute()
    occlusion = dict(
        per_100_frames=occlusions_per_100_frames,
        lengths=tuple(occlusion_lengths),
        tail_fraction=tail_occlusion_fraction,
        during=occlusions_during,
    )
    with tempfile.TemporaryDirectory(prefix="synthetic-videos-") as staging:
        staged, simulations = [], []
        for v in range(n_videos):
            path = Path(staging) / f"mouse{v:02d}.mp4"
            started = time.time()
            sim = simulate_video(
                path,
                random_streams(seed, v),
                n_frames=n_frames,
                width=width,
                height=height,
                fps=fps,
                stride_hz=stride_hz,
                occlusion=occlusion,
            )
            staged.append(path)
            simulations.append((sim, (started, time.time())))
        config_path = _create_dlc_project(directory, task, experimenter, staged)

    cfg = _configure(config_path, width, height, n_labeled_frames)
    project = config_path.parent
    scorer = scorer_of(cfg)
    for v, (sim, runtime) in enumerate(simulations):
        video = project / "videos" / staged[v].name
        rngs = random_streams(seed, v)
        write_ground_truth(video, sim.truth)
        if n_labeled_frames:
            write_labeled_data(
                project, video, sim.truth, cfg["scorer"], rngs["labels"], n_labeled_frames, label_noise_px
            )
        predictions = simulate_teacher(
            rngs["teacher"], sim, float(cfg["pcutoff"]), teacher_confident_miss, teacher_glitch_rate
        )
        prefix = video.stem + scorer
        write_dlc_h5(teacher_dataframe(scorer, predictions), video.with_name(prefix + ".h5"))
        meta = teacher_metadata(cfg, scorer, n_frames, width, height, fps, runtime)
        write_pickle(meta, video.with_name(prefix + "_meta.pickle"))
    return config_path
