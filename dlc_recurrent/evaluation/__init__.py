"""Evaluation: how good the trained students are, on frames they never trained on.

    stats.py      the compared methods' names and the paired statistics
    common.py     loading a shuffle's students and training set; windows -> last-frame peaks
    pixel.py      evaluate(): DeepLabCut-style pixel errors on train and test windows
    quality.py    quality_report(): per body part, against the teacher and hand labels, with warnings
    occlusion/    evaluate_occlusion(): the paper's occlusion study

Importing this package loads TensorFlow.
"""

from dlc_recurrent._deprecated import forwarder
from dlc_recurrent.evaluation.occlusion import evaluate_occlusion
from dlc_recurrent.evaluation.pixel import evaluate
from dlc_recurrent.evaluation.quality import QualityReport, quality_report
from dlc_recurrent.evaluation.stats import (
    FILTERED,
    FILTERED_CAUSAL,
    LEAP,
    RECURRENT,
    TWO_STUDENTS,
    compare_methods,
    paired_ttest,
    sem,
    significance_mark,
)

#: Names of the occlusion study that once lived in this module, and the results folder's.
__getattr__ = forwarder(__name__, {
    "occlude_window": "dlc_recurrent.evaluation.occlusion",
    "occluder_side": "dlc_recurrent.evaluation.occlusion",
    "select_occlusion_windows": "dlc_recurrent.evaluation.occlusion",
    "fill_gaps": "dlc_recurrent.evaluation.occlusion",
    "interpolate_unsure": "dlc_recurrent.evaluation.occlusion",
    "median_filtered_leap": "dlc_recurrent.evaluation.occlusion",
    "frames_in_blocks": "dlc_recurrent.evaluation.occlusion",
    "calibration_table": "dlc_recurrent.evaluation.occlusion",
    "pcutoff_use": "dlc_recurrent.evaluation.occlusion",
    "find_natural_events": "dlc_recurrent.evaluation.occlusion",
    "METHODS": "dlc_recurrent.evaluation.occlusion",
    "OCCLUSION_METHODS": "dlc_recurrent.evaluation.occlusion",
    "DEFAULT_SEED": "dlc_recurrent.evaluation.occlusion",
    "evaluation_folder": "dlc_recurrent.layout",
})

__all__ = [
    "evaluate",
    "evaluate_occlusion",
    "quality_report",
    "QualityReport",
    "compare_methods",
    "paired_ttest",
    "sem",
    "significance_mark",
    "LEAP",
    "RECURRENT",
    "FILTERED",
    "FILTERED_CAUSAL",
    "TWO_STUDENTS",
]
