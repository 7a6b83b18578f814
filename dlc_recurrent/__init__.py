"""dlc-recurrent: a temporally aware student network for DeepLabCut projects.

A ConvLSTM-LEAP network (Li, "Recurrent Fully Convolutional Networks for Multi-Target Tracking")
is trained on a DeepLabCut teacher's predictions and hand labels, so that body parts stay tracked
through brief occlusions, and writes predictions that DeepLabCut's own tools read unchanged.
"""

from dlc_recurrent._import_order import load_torchvision_first
from dlc_recurrent._logging import install_default_handler

load_torchvision_first()
install_default_handler()

from dlc_recurrent._version import __version__  # noqa: E402
from dlc_recurrent.config import TrainingSetSpec  # noqa: E402
from dlc_recurrent.distill import create_training_set  # noqa: E402
from dlc_recurrent.errors import ProjectError  # noqa: E402
from dlc_recurrent.project import Project, load_project  # noqa: E402
from dlc_recurrent.synthetic import make_synthetic_project, read_ground_truth  # noqa: E402

# The public calls load TensorFlow on first use. Their signatures are those of the functions they
# call (a test checks names and defaults), so help() shows every option.


def train(config, shuffle=1, trainingsetindex=0, model="convlstm_leap", gputouse=None, overwrite=False, devices=None,
          device=None, report=True, **options):
    """Train a student (see :func:`dlc_recurrent.training.train`), then judge it on the never-trained
    test blocks (:func:`dlc_recurrent.evaluation.quality_report`, unless ``report=False``).

    ``shuffle`` is the student's own training-set number, not your DLC network's. ``options`` are
    fields of :class:`dlc_recurrent.training.TrainingConfig` (schedule, min_steps, max_steps,
    batch_size, skip_connection, ...; each explained there). Returns the student's ``train`` folder.
    """
    from dlc_recurrent.training import train as _train

    folder = _train(config, shuffle=shuffle, trainingsetindex=trainingsetindex, model=model, gputouse=gputouse,
                    overwrite=overwrite, devices=devices, device=device, **options)
    if report:
        quality_report(config, shuffle=shuffle, trainingsetindex=trainingsetindex, model=model,
                       device=None if devices else device, gputouse=None if devices else gputouse)
    return folder


def quality_report(config, shuffle=1, trainingsetindex=0, model="convlstm_leap", pcutoff=None, batch_size=8,
                   progress=True, device=None, gputouse=None):
    """How good a trained student is, per body part (see :func:`dlc_recurrent.evaluation.quality_report`)."""
    from dlc_recurrent.evaluation import quality_report as _quality_report

    return _quality_report(config, shuffle=shuffle, trainingsetindex=trainingsetindex, model=model, pcutoff=pcutoff,
                           batch_size=batch_size, progress=progress, device=device, gputouse=gputouse)


def analyze_videos(config, videos, videotype="", shuffle=1, trainingsetindex=0, gputouse=None, save_as_csv=False,
                   destfolder=None, batch_size=None, overwrite=False, model="convlstm_leap", state_reset=None,
                   progress=True, confident_shuffle=None, confident_model=None, handoff=0.8, bridge_max_gap=None,
                   video_extensions=None, device=None, snapshot_index=None, shard=None, precision="auto"):
    """Analyze videos with a trained student into DLC-format h5 files; returns the scorer.

    See :func:`dlc_recurrent.inference.analyze_videos` for every option (the two-student analysis:
    ``confident_shuffle``, ``confident_model``, ``handoff``, ``bridge_max_gap``; ``precision``).
    """
    from dlc_recurrent.inference import analyze_videos as _analyze_videos

    return _analyze_videos(config, videos, videotype=videotype, shuffle=shuffle, trainingsetindex=trainingsetindex,
                           gputouse=gputouse, save_as_csv=save_as_csv, destfolder=destfolder, batch_size=batch_size,
                           overwrite=overwrite, model=model, state_reset=state_reset, progress=progress,
                           confident_shuffle=confident_shuffle, confident_model=confident_model, handoff=handoff,
                           bridge_max_gap=bridge_max_gap, video_extensions=video_extensions, device=device,
                           snapshot_index=snapshot_index, shard=shard, precision=precision)


def ensemble_videos(config, videos, members=("teacher", "leap"), shuffle=1, trainingsetindex=0, videotype="",
                    destfolder=None, smooth_param=None, likelihood_radius=5.0, save_as_csv=False, overwrite=False,
                    teacher_scorer=None, teacher_folder=None, video_extensions=None):
    """The teacher's and students' predictions of each video combined by Ensemble Kalman Smoothing into
    one more DLC h5 (see :func:`dlc_recurrent.ensemble.ensemble_videos`); returns its scorer."""
    from dlc_recurrent.ensemble.videos import ensemble_videos as _ensemble_videos

    return _ensemble_videos(config, videos, members=members, shuffle=shuffle, trainingsetindex=trainingsetindex,
                            videotype=videotype, destfolder=destfolder, smooth_param=smooth_param,
                            likelihood_radius=likelihood_radius, save_as_csv=save_as_csv, overwrite=overwrite,
                            teacher_scorer=teacher_scorer, teacher_folder=teacher_folder,
                            video_extensions=video_extensions)


def evaluate(config, shuffle=1, trainingsetindex=0, models=("leap", "convlstm_leap"), pcutoff=None, batch_size=8,
             progress=True, report=True, shuffles=None):
    """Pixel error of the trained students (see :func:`dlc_recurrent.evaluation.evaluate`);
    ``shuffles`` (DLC 3's name) evaluates several, one table with a ``shuffle`` column."""
    from dlc_recurrent.evaluation import evaluate as _evaluate

    return _evaluate(config, shuffle=shuffle, trainingsetindex=trainingsetindex, models=models, pcutoff=pcutoff,
                     batch_size=batch_size, progress=progress, report=report, shuffles=shuffles)


def evaluate_occlusion(config, shuffle=1, trainingsetindex=0, **options):
    """The paper's occlusion study (see :func:`dlc_recurrent.evaluation.evaluate_occlusion`)."""
    from dlc_recurrent.evaluation import evaluate_occlusion as _evaluate_occlusion

    return _evaluate_occlusion(config, shuffle=shuffle, trainingsetindex=trainingsetindex, **options)


def __getattr__(name: str):
    """``TrainingConfig`` comes with TensorFlow, so it loads on first use."""
    if name == "TrainingConfig":
        from dlc_recurrent.config import TrainingConfig

        return TrainingConfig
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
