"""Deprecated: the occlusion study moved to the :mod:`dlc_recurrent.evaluation.occlusion` package. Every name that was public here is still found, with a DeprecationWarning
naming its new module."""

from dlc_recurrent._deprecated import forwarder

__getattr__ = forwarder(__name__, {
    "DEFAULT_SEED": "dlc_recurrent.evaluation.occlusion",
    "Study": "dlc_recurrent.evaluation.occlusion",
    "METHODS": "dlc_recurrent.evaluation.occlusion",
    "OCCLUSION_METHODS": "dlc_recurrent.evaluation.occlusion",
    "occluder_side": "dlc_recurrent.evaluation.occlusion",
    "square_bounds": "dlc_recurrent.evaluation.occlusion.windows",
    "occlude_window": "dlc_recurrent.evaluation.occlusion",
    "candidate_starts": "dlc_recurrent.evaluation.occlusion.windows",
    "select_occlusion_windows": "dlc_recurrent.evaluation.occlusion",
    "StudyVideo": "dlc_recurrent.evaluation.occlusion",
    "frames_in_blocks": "dlc_recurrent.evaluation.occlusion",
    "fill_gaps": "dlc_recurrent.evaluation.occlusion",
    "interpolate_unsure": "dlc_recurrent.evaluation.occlusion",
    "median_filtered_leap": "dlc_recurrent.evaluation.occlusion",
    "whole_video_predictions": "dlc_recurrent.evaluation.occlusion.baselines",
    "calibration_table": "dlc_recurrent.evaluation.occlusion",
    "pcutoff_use": "dlc_recurrent.evaluation.occlusion",
    "find_natural_events": "dlc_recurrent.evaluation.occlusion",
    "evaluate_occlusion": "dlc_recurrent.evaluation.occlusion",
    "TWO_STUDENTS": "dlc_recurrent.evaluation.occlusion",
})
