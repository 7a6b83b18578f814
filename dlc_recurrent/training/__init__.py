"""Training: a student (LEAP, ConvLSTM-LEAP, bidirectional) learns the teacher's and the hand labels'
points from a training set built by ``create_training_set``.

    data.py         samples streamed from the memory-mapped set, augmented alike over a window
    trainer.py      the training step: maps rendered on the device, masked mean squared error
    callbacks.py    the convergence schedule, checkpoints, history, progress
    checkpoints.py  resuming an interrupted run
    outputs.py      the summary, deeplabcut's model files, reading a student back
    run.py          train() itself

Importing this package loads TensorFlow; the settings (``TrainingConfig``) are in :mod:`dlc_recurrent.config`.
"""

from dlc_recurrent.training.callbacks import EpochCheckpoint
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

__all__ = [
    "train",
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
