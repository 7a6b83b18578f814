"""TensorFlow and tf_keras, imported once with TensorFlow's C++ start-up notices hidden.

On every start TensorFlow's C++ side writes straight to the process's standard error: oneDNN
notices, the CPU instruction list, "Could not find cuda drivers", "failed call to cuInit" on a
machine without a GPU. None of it is the user's concern, and none of it goes through Python, so it
is hidden at the file-descriptor level while TensorFlow starts and first looks for GPUs. Python
errors are unaffected. Set ``DLC_RECURRENT_VERBOSE=1`` (the CLI's ``-v``) to see it all.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager

from dlc_recurrent._import_order import load_torchvision_first
from dlc_recurrent._logging import VERBOSE_VARIABLE


@contextmanager
def quiet_native_stderr():
    """Send what C and C++ code write to standard error to /dev/null inside the block (unless verbose)."""
    if os.environ.get(VERBOSE_VARIABLE, "0").strip().lower() not in ("", "0", "false", "no"):
        yield
        return
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no standard error to hide (a daemon)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


load_torchvision_first()
with quiet_native_stderr():
    import tensorflow as tf
    import tf_keras as keras

    tf.config.list_physical_devices("GPU")  # CUDA's start-up messages come with the first look

__all__ = ["keras", "quiet_native_stderr", "tf"]
