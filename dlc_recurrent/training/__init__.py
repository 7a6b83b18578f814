"""Training: a student (LEAP, ConvLSTM-LEAP, bidirectional) learns the teacher's and the hand labels'
points from a training set built by ``create_training_set``.

    config.py       TrainingConfig: every setting, explained with its trade-off
    data.py         samples streamed from the memory-mapped set, augmented alike over a window
    trainer.py      the training step: maps rendered on the device, masked mean squared error
    callbacks.py    the convergence schedule, checkpoints, history, progress
    checkpoints.py  resuming an interrupted run
    outputs.py      the summary, deeplabcut's model files, reading a student back
    run.py          train() itself

Importing this package loads TensorFlow.
"""

from dlc_recurrent._deprecated import forwarder
from dlc_recurrent.training.callbacks import EpochCheckpoint
from dlc_recurrent.training.config import TrainingConfig, set_arguments, steps_per_epoch, train_call
from dlc_recurrent.training.data import (
    add_occluder,
    add_part_occluder,
    augment_window,
    make_dataset,
    training_samples,
    validation_batch_size,
)
from dlc_recurrent.training.outputs import DLC_NET_TYPES, deeplabcut_options, load_student, read_training_summary
from dlc_recurrent.training.run import train
from dlc_recurrent.training.trainer import build_trainer, masked_mse, render_maps

#: Names of the former training module that are internals of this package now.
__getattr__ = forwarder(__name__, {
    "CONFIG_NAME": "dlc_recurrent.layout",
    "TRAINING_SET_RECORD": "dlc_recurrent.layout",
    "WEIGHTS_NAME": "dlc_recurrent.layout",
    "BEST_WEIGHTS_NAME": "dlc_recurrent.layout",
    "HISTORY_NAME": "dlc_recurrent.layout",
    "SUMMARY_NAME": "dlc_recurrent.layout",
    "SCHEDULES": "dlc_recurrent.training.config",
    "SMOOTHING": "dlc_recurrent.training.callbacks",
    "PAPER_EPOCHS": "dlc_recurrent.training.config",
    "DEFAULT_MIN_STEPS": "dlc_recurrent.training.config",
    "DEFAULT_PERIOD": "dlc_recurrent.training.config",
    "COPIED_FIELDS": "dlc_recurrent.training.config",
    "ADDED_LATER": "dlc_recurrent.training.config",
    "model_folder": "dlc_recurrent.layout",
    "modelprefix": "dlc_recurrent.layout",
    "ScheduleState": "dlc_recurrent.training.callbacks",
    "HeatmapTrainer": "dlc_recurrent.training.trainer",
    "OCCLUDER_SHAPES": "dlc_recurrent.training.data",
    "OCCLUDER_FILLS": "dlc_recurrent.training.data",
    "dataset_statistics": "dlc_recurrent.training.data",
    "StepLog": "dlc_recurrent.training.callbacks",
    "Forecast": "dlc_recurrent.training.callbacks",
    "Schedule": "dlc_recurrent.training.callbacks",
    "Stopwatch": "dlc_recurrent.training.callbacks",
    "TqdmProgress": "dlc_recurrent.training.callbacks",
    "write_dlc_model_files": "dlc_recurrent.training.outputs",
    "convergence": "dlc_recurrent.training.outputs",
})

__all__ = [
    "train",
    "TrainingConfig",
    "set_arguments",
    "steps_per_epoch",
    "train_call",
    "EpochCheckpoint",
    "add_occluder",
    "add_part_occluder",
    "augment_window",
    "make_dataset",
    "training_samples",
    "validation_batch_size",
    "DLC_NET_TYPES",
    "deeplabcut_options",
    "load_student",
    "read_training_summary",
    "build_trainer",
    "masked_mse",
    "render_maps",
]
