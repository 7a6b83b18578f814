"""Inference: a trained student analyzes videos into DeepLabCut-format predictions.

    student.py   the trained network, its segments and the peaks of its maps
    reader.py    decoding a video in a background thread
    streams.py   a video through one student (or two) chunk by chunk, with checkpoints
    pairing.py   the two-student analysis: handoff and bridges
    output.py    the h5 / meta / csv files deeplabcut's tools read
    analyze.py   analyze_videos itself

Importing this package loads TensorFlow.
"""

from dlc_recurrent.inference.analyze import analyze_videos, video_extension_list
from dlc_recurrent.inference.output import predictions_table, student_scorer
from dlc_recurrent.inference.pairing import (
    BRIDGE_MAX_GAP,
    HANDOFF_LIKELIHOOD,
    Pairing,
    bridge_reach,
    bridged_points,
    combine_predictions,
    combine_students,
)
from dlc_recurrent.inference.streams import predict_frames, predict_video, predict_windowed_reference
from dlc_recurrent.inference.student import DEFAULT_BATCH_SIZE, Student, find_peaks, load_trained_student

__all__ = [
    "analyze_videos",
    "video_extension_list",
    "predictions_table",
    "student_scorer",
    "Pairing",
    "BRIDGE_MAX_GAP",
    "HANDOFF_LIKELIHOOD",
    "bridge_reach",
    "bridged_points",
    "combine_predictions",
    "combine_students",
    "predict_frames",
    "predict_video",
    "predict_windowed_reference",
    "DEFAULT_BATCH_SIZE",
    "Student",
    "find_peaks",
    "load_trained_student",
]
