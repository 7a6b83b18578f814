"""The end-to-end demo: a synthetic DLC project through every step of the package.

``run_demo`` generates a project with known ground truth, builds the training set, trains both
students (LEAP and ConvLSTM-LEAP) on the same windows, analyzes the videos (and combines the teacher
and both students with ``ensemble_videos``), runs ``evaluate`` and
``evaluate_occlusion``, makes a labeled video with DeepLabCut's own ``create_labeled_video``, and
prints a short table. The default scale is sized to finish within about 15 minutes on 2 idle CPU
cores (most of it training the recurrent student), so it trains on a short fixed schedule and the
quality report says the students have not converged; ``full`` runs the paper's scale (336x280,
15-frame windows, 250 windows per video) with the default schedule (until the test loss stops
improving), which wants a GPU.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd


@dataclass(frozen=True)
class DemoScale:
    """Sizes of one demo run: the synthetic project, the training set and the training runs.

    Attributes:
        width: the synthetic videos' frame width, in pixels.
        height: their frame height, in pixels.
        n_videos: how many synthetic videos the project has.
        n_frames: frames per video.
        scale: the training set's resize factor of the stored frames (``TrainingSetSpec.scale``).
        window_length: frames per training window (``TrainingSetSpec.window_length``).
        windows_per_video: windows sampled per video (``TrainingSetSpec.windows_per_video``).
        n_windows: the occlusion study's test windows per body part, at most (``evaluate_occlusion``).
        training: TrainingConfig fields for both students (empty: the defaults, training until convergence).
    """

    width: int
    height: int
    n_videos: int
    n_frames: int
    scale: float
    window_length: int
    windows_per_video: int
    n_windows: int
    #: TrainingConfig fields for both students (empty: the defaults, training until convergence)
    training: dict = field(default_factory=dict)

    def training_options(self) -> dict:
        """The TrainingConfig fields to train both students with (a copy)."""
        return dict(self.training)


#: Small enough for 2 CPU cores in ~15 minutes, big enough for the occlusion effect to show.
SMALL = DemoScale(width=168, height=140, n_videos=2, n_frames=600, scale=0.5, window_length=15,
                  windows_per_video=150, n_windows=40,
                  training={"schedule": "fixed", "epochs": 5, "steps_per_epoch": 25})
#: The seed paper's scale (its 16 sessions reduced to 4 videos of 3000 frames).
FULL = DemoScale(width=336, height=280, n_videos=4, n_frames=3000, scale=1.0, window_length=15,
                 windows_per_video=250, n_windows=50)
#: For the test suite: seconds, not minutes; numbers are meaningless at this size.
TINY = DemoScale(width=64, height=64, n_videos=1, n_frames=120, scale=1.0, window_length=5,
                 windows_per_video=24, n_windows=6,
                 training={"schedule": "fixed", "epochs": 2, "steps_per_epoch": 5, "learning_rate": 3e-3})


def run_demo(directory: str | Path = "demo-project", scale: DemoScale = SMALL, seed: int = 0,
             progress: bool = True) -> dict:
    """Run the whole pipeline on a new synthetic project in ``directory``; returns what it made.

    Args:
        directory: the folder to make the synthetic DLC project in.
        scale: the sizes of the run: ``SMALL`` (the default, for a few CPU cores), ``FULL`` (the paper's
            scale, wants a GPU) or ``TINY`` (the tests').
        seed: seeds the synthetic project, the training set and both students' training.
        progress: show progress bars while analyzing and evaluating.

    Returns:
        A dict: ``config`` (the project's config.yaml), ``scorers`` (the DLC scorer name of each of "leap",
        "convlstm_leap" and "ensemble"), ``accuracy`` (``evaluate``'s table), ``summary`` (the occlusion
        study's summary table), ``figures`` (the study's figure paths), ``labeled_video`` (the first video
        labeled by the recurrent student, or None when DeepLabCut made none), ``ensemble`` (the first
        video's ensemble h5) and ``minutes`` (the run's wall time).
    """
    import deeplabcut

    from dlc_recurrent import train
    from dlc_recurrent.distill import create_training_set
    from dlc_recurrent.ensemble.videos import ensemble_videos
    from dlc_recurrent.evaluation import evaluate, evaluate_occlusion
    from dlc_recurrent.inference import analyze_videos
    from dlc_recurrent.project import load_project
    from dlc_recurrent.synthetic import make_synthetic_project
    from dlc_recurrent.training import deeplabcut_options

    started = time.time()
    directory = Path(directory).absolute()
    _step(f"1/6 synthetic DLC project in {directory} ({asdict(scale)})")
    config = make_synthetic_project(directory, n_videos=scale.n_videos, n_frames=scale.n_frames,
                                    width=scale.width, height=scale.height, seed=seed)
    project = load_project(config)

    _step("2/6 training set: teacher-labelled windows")
    create_training_set(config, window_length=scale.window_length, windows_per_video=scale.windows_per_video,
                        scale=scale.scale, seed=seed)

    _step("3/6 training LEAP (single frame) and ConvLSTM-LEAP (recurrent) on the same windows")
    training = dict(scale.training_options(), seed=seed)
    for model in ("leap", "convlstm_leap"):
        train(config, model=model, **training)

    _step("4/6 analyzing the videos (DLC-format h5 next to each video), then teacher + students by Ensemble "
          "Kalman Smoothing")
    videos = [str(v) for v in project.videos]
    scorers = {model: analyze_videos(config, videos, model=model, progress=progress)
               for model in ("leap", "convlstm_leap")}
    scorers["ensemble"] = ensemble_videos(config, videos, members=("teacher", "leap", "convlstm_leap"))

    _step("5/6 evaluation and the paper's occlusion study")
    accuracy = evaluate(config, progress=progress, report=False)  # train() reported each student
    paws = [part for part in project.bodyparts if "paw" in part]  # the paper studied the paws only
    occlusion = evaluate_occlusion(config, n_windows=scale.n_windows, bodyparts=paws, progress=progress)

    _step("6/6 labeled video by deeplabcut.create_labeled_video")
    deeplabcut.create_labeled_video(str(config), videos[:1], **deeplabcut_options("convlstm_leap"))
    video = Path(videos[0])
    labeled = sorted(video.parent.glob(f"{video.stem}{scorers['convlstm_leap']}*_labeled.mp4"))

    result = {
        "config": config,
        "scorers": scorers,
        "accuracy": accuracy,
        "summary": occlusion["summary"],
        "figures": list(occlusion["figures"].values()),
        "labeled_video": labeled[0] if labeled else None,
        "ensemble": video.parent / f"{video.stem}{scorers['ensemble']}.h5",
        "minutes": (time.time() - started) / 60,
    }
    _report(result)
    return result


def _step(text: str) -> None:
    print(f"\n=== {text}", flush=True)


def _report(result: dict) -> None:
    with pd.option_context("display.width", 160, "display.max_columns", 20, "display.precision", 3):
        print("\n=== Summary (errors in pixels, test frames only)")
        print(result["summary"].to_string())
    print("\nFigures:")
    for figure in result["figures"]:
        print(f"  {figure}")
    print(f"Labeled video: {result['labeled_video']}")
    print(f"Teacher + students by Ensemble Kalman Smoothing: {result['ensemble']}")
    print(f"Project: {result['config']}")
    print(f"Done in {result['minutes']:.1f} minutes.")
