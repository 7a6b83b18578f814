"""TensorFlow and tf_keras, imported once with TensorFlow's C++ start-up notices hidden.

On every start TensorFlow's C++ side writes straight to the process's standard error: oneDNN
notices, the CPU instruction list, "Could not find cuda drivers", "failed call to cuInit" on a
machine without a GPU. None of it is the user's concern, and none of it goes through Python, so it
is hidden at the file-descriptor level while TensorFlow starts and first looks for GPUs. Python
errors are unaffected. Set ``DLC_RECURRENT_VERBOSE=1`` (the CLI's ``-v``) to see it all.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from dlc_recurrent._import_order import load_torchvision_first
from dlc_recurrent._logging import VERBOSE_VARIABLE


@contextmanager
def quiet_native_stderr():
    """Hold back what C and C++ code write to standard error inside the block (unless verbose).

    It goes to a temporary file, shown on standard error if the block raises and deleted otherwise;
    if the process dies inside the block (a native abort), the file stays, named
    ``dlc-recurrent-native-<pid>-*.log`` in the temporary folder, so nothing fatal is lost.
    """
    if os.environ.get(VERBOSE_VARIABLE, "0").strip().lower() not in ("", "0", "false", "no"):
        yield
        return
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no standard error to hide (a daemon)
        yield
        return
    try:
        capture, name = tempfile.mkstemp(prefix=f"dlc-recurrent-native-{os.getpid()}-", suffix=".log")
        log = Path(name)
    except (OSError, FileNotFoundError):  # no usable temporary folder: then nowhere
        log, capture = None, os.open(os.devnull, os.O_WRONLY)
    os.dup2(capture, 2)
    failed = False
    try:
        yield
    except BaseException:
        failed = True
        raise
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(capture)
        if log is not None:
            if failed:
                with contextlib.suppress(OSError):
                    sys.stderr.write(log.read_text(errors="replace"))
            log.unlink(missing_ok=True)


load_torchvision_first()
with quiet_native_stderr():
    import tensorflow as tf
    import tf_keras as keras

    tf.config.list_physical_devices("GPU")  # CUDA's start-up messages come with the first look

__all__ = ["keras", "quiet_native_stderr", "tf"]
