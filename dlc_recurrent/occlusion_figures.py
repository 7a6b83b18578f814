"""Deprecated: the occlusion study's figures moved to :mod:`dlc_recurrent.evaluation.occlusion.figures`. Every name that was public here is still found, with a DeprecationWarning
naming its new module."""

from dlc_recurrent._deprecated import forwarder

__getattr__ = forwarder(__name__, {
    "COLORS": "dlc_recurrent.evaluation.occlusion.study",
    "plot_test_frames": "dlc_recurrent.evaluation.occlusion.figures",
    "plot_occlusion": "dlc_recurrent.evaluation.occlusion.figures",
    "plot_calibration": "dlc_recurrent.evaluation.occlusion.figures",
    "plot_event": "dlc_recurrent.evaluation.occlusion.figures",
})
