"""The seed paper's occlusion study (its Figures 2, 3, 5 and 6) on any single-animal DLC project.

Its modules:

    study.py      the methods compared and the test videos they are judged on
    windows.py    artificial occlusion: squares over body parts on the last frames of test windows
    baselines.py  LEAP through deeplabcut's filterpredictions + interpolation; whole-video predictions
    natural.py    natural occlusion: the teacher's unsure runs, calibration, events to draw
    report.py     the summary table and findings
    figures.py    the PNGs
    run.py        evaluate_occlusion itself
"""

from dlc_recurrent.evaluation.occlusion.baselines import fill_gaps, interpolate_unsure, median_filtered_leap
from dlc_recurrent.evaluation.occlusion.natural import calibration_table, find_natural_events, pcutoff_use
from dlc_recurrent.evaluation.occlusion.run import evaluate_occlusion
from dlc_recurrent.evaluation.occlusion.study import (
    DEFAULT_SEED,
    METHODS,
    OCCLUSION_METHODS,
    Study,
    StudyVideo,
    frames_in_blocks,
)
from dlc_recurrent.evaluation.occlusion.windows import occlude_window, occluder_side, select_occlusion_windows
from dlc_recurrent.evaluation.stats import TWO_STUDENTS

__all__ = [
    "evaluate_occlusion",
    "occlude_window",
    "occluder_side",
    "select_occlusion_windows",
    "fill_gaps",
    "interpolate_unsure",
    "median_filtered_leap",
    "frames_in_blocks",
    "calibration_table",
    "pcutoff_use",
    "find_natural_events",
    "METHODS",
    "OCCLUSION_METHODS",
    "TWO_STUDENTS",
    "DEFAULT_SEED",
    "Study",
    "StudyVideo",
]
