"""The pipeline's calls that join two stages: ``train`` trains a student, then judges it.

``dlc_recurrent.train`` is :func:`train` here; its signature is read from
:func:`dlc_recurrent.training.train` (plus ``report``), so there is one copy of it.
"""

from __future__ import annotations

import inspect
from pathlib import Path

from dlc_recurrent.evaluation import quality_report
from dlc_recurrent.training import train as train_student

#: What ``train`` accepts besides ``report``: training's own parameters.
TRAINING_PARAMETERS = inspect.signature(train_student)


def train(config, *args, report: bool = True, **kwargs) -> Path:
    """Train a student, then judge it on the never-trained test blocks unless ``report=False``.

    The judging is :func:`dlc_recurrent.evaluation.quality_report`, on the device the student trained on
    (on the default device after data-parallel training on several ``devices``).

    Args:
        config: the DLC project's config.yaml (or its folder).
        *args: :func:`dlc_recurrent.training.train`'s further positional arguments.
        report: judge the trained student and write its quality report.
        **kwargs: :func:`dlc_recurrent.training.train`'s keyword arguments (shuffle, model, the
            TrainingConfig fields...).

    Returns:
        The student's ``train`` folder.
    """
    arguments = TRAINING_PARAMETERS.bind(config, *args, **kwargs)
    arguments.apply_defaults()
    folder = train_student(*arguments.args, **arguments.kwargs)
    if report:
        given = arguments.arguments
        single = not given["devices"]  # data-parallel training: judge on the default device
        quality_report(config, shuffle=given["shuffle"], trainingsetindex=given["trainingsetindex"],
                       model=given["model"], device=given["device"] if single else None,
                       gputouse=given["gputouse"] if single else None)
    return folder


def _with_report(signature: inspect.Signature) -> inspect.Signature:
    """``signature`` with a keyword-only ``report=True`` before its ``**options``."""
    parameters = list(signature.parameters.values())
    report = inspect.Parameter("report", inspect.Parameter.KEYWORD_ONLY, default=True, annotation=bool)
    return signature.replace(parameters=parameters[:-1] + [report, parameters[-1]])


train.__signature__ = _with_report(TRAINING_PARAMETERS)
