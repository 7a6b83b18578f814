"""Deprecated: the quality report moved to :mod:`dlc_recurrent.evaluation.quality`. Every name that was
public here is still found, with a DeprecationWarning
naming its new module."""

from dlc_recurrent._deprecated import forwarder

__getattr__ = forwarder(__name__, {
    "TABLE_NAME": "dlc_recurrent.layout:QUALITY_TABLE_NAME",
    "FIGURE_NAME": "dlc_recurrent.layout:QUALITY_FIGURE_NAME",
    "TEXT_NAME": "dlc_recurrent.layout:QUALITY_TEXT_NAME",
    "WITHIN_PX": "dlc_recurrent.evaluation.quality",
    "LOST_SIGMAS": "dlc_recurrent.evaluation.quality",
    "KEPT_WARNING": "dlc_recurrent.evaluation.quality",
    "BEHIND_FACTOR": "dlc_recurrent.evaluation.quality",
    "MIN_POINTS": "dlc_recurrent.evaluation.quality",
    "QualityReport": "dlc_recurrent.evaluation",
    "quality_report": "dlc_recurrent.evaluation",
    "test_runs": "dlc_recurrent.evaluation.quality",
    "test_block_points": "dlc_recurrent.evaluation.quality",
    "quality_table": "dlc_recurrent.evaluation.quality",
    "quality_warnings": "dlc_recurrent.evaluation.quality",
    "summary_lines": "dlc_recurrent.evaluation.quality",
    "plot_quality": "dlc_recurrent.evaluation.quality",
})
