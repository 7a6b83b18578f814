"""Evaluation: how good the trained students are, on frames they never trained on.

    stats.py      the compared methods' names and the paired statistics
    common.py     loading a shuffle's students and training set; windows -> last-frame peaks
    pixel.py      evaluate(): DeepLabCut-style pixel errors on train and test windows
    quality.py    quality_report(): per body part, against the teacher and hand labels, with warnings
    occlusion/    evaluate_occlusion(): the paper's occlusion study

Importing this package loads TensorFlow.
"""

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
