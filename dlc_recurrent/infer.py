"""Deprecated: inference moved to the :mod:`dlc_recurrent.inference` package (one module per concern).
Every name that was public here is still found, with a DeprecationWarning naming its new module."""

from dlc_recurrent._deprecated import forwarder

__getattr__ = forwarder(__name__, {
    "DEFAULT_BATCH_SIZE": "dlc_recurrent.inference",
    "RESUME_SUFFIX": "dlc_recurrent.layout",
    "LOCK_SUFFIX": "dlc_recurrent.layout",
    "CHECKPOINT_SECONDS": "dlc_recurrent.inference.streams",
    "TRIM_EVERY": "dlc_recurrent.inference.streams",
    "HANDOFF_LIKELIHOOD": "dlc_recurrent.inference",
    "BRIDGE_MAX_GAP": "dlc_recurrent.inference",
    "BRIDGE_TOLERANCE": "dlc_recurrent.inference.pairing",
    "BRIDGE_WEIGHT": "dlc_recurrent.inference.pairing",
    "BRIDGE_MIN_AGREEING": "dlc_recurrent.inference.pairing",
    "release_freed_memory": "dlc_recurrent.inference.streams",
    "Student": "dlc_recurrent.inference",
    "load_trained_student": "dlc_recurrent.inference",
    "find_peaks": "dlc_recurrent.inference",
    "FrameReader": "dlc_recurrent.inference.reader",
    "predict_video": "dlc_recurrent.inference",
    "combine_predictions": "dlc_recurrent.inference",
    "combine_students": "dlc_recurrent.inference",
    "bridged_points": "dlc_recurrent.inference",
    "bridge_reach": "dlc_recurrent.inference",
    "predict_frames": "dlc_recurrent.inference",
    "in_batches": "dlc_recurrent.inference.student",
    "predict_windowed_reference": "dlc_recurrent.inference",
    "predictions_table": "dlc_recurrent.inference",
    "student_scorer": "dlc_recurrent.inference",
    "analyze_videos": "dlc_recurrent.inference",
    "video_extension_list": "dlc_recurrent.inference",
    "load_confident": "dlc_recurrent.inference.pairing",
    "same_combination": "dlc_recurrent.inference.pairing",
})
