"""The settings, as plain data: how a training set is sampled (``TrainingSetSpec``) and how a student
is trained (``TrainingConfig``, composed by concern). TensorFlow-free, so the command line reads their
defaults and choices without loading it.

    fields.py         fields that say what they accept, one check for all of them
    training_set.py   TrainingSetSpec
    training.py       TrainingConfig and the calls that describe a student's training
"""

from dlc_recurrent.config.fields import allowed_range, check_fields, choice, number
from dlc_recurrent.config.training import (
    COPIED_FIELDS,
    DEFAULT_MIN_STEPS,
    DEFAULT_PERIOD,
    FINE_TUNE,
    NORMALIZATIONS,
    OCCLUDER_TARGETS,
    PAPER_EPOCHS,
    PART_TARGETS,
    SCHEDULES,
    SHARED_WITH_LEAP,
    TrainingConfig,
    fine_tune_defaults,
    set_arguments,
    steps_per_epoch,
    train_call,
)
from dlc_recurrent.config.training_set import TrainingSetSpec

__all__ = [
    "TrainingSetSpec",
    "TrainingConfig",
    "check_fields",
    "choice",
    "number",
    "allowed_range",
    "fine_tune_defaults",
    "set_arguments",
    "steps_per_epoch",
    "train_call",
    "COPIED_FIELDS",
    "DEFAULT_MIN_STEPS",
    "DEFAULT_PERIOD",
    "FINE_TUNE",
    "NORMALIZATIONS",
    "OCCLUDER_TARGETS",
    "PAPER_EPOCHS",
    "PART_TARGETS",
    "SCHEDULES",
    "SHARED_WITH_LEAP",
]
