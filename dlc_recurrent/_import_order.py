"""Load torchvision (deeplabcut's vision backend) before TensorFlow.

With tensorflow 2.21 and torchvision 0.29 in one process, ``import tensorflow`` followed by
``import torchvision`` dies with a segmentation fault; the other order works. deeplabcut and the
student network must share a process, so the package loads torchvision first, and when the user
already loaded TensorFlow it checks in a throw-away interpreter whether the late import survives,
raising a clear error instead of crashing when it does not.
"""

from __future__ import annotations

import subprocess
import sys

ORDER_HINT = (
    "import dlc_recurrent (or deeplabcut) before tensorflow, e.g. put `import dlc_recurrent` "
    "at the top of your script or notebook and restart the kernel"
)


def late_torchvision_import_is_safe(python: str = sys.executable, timeout: float = 300) -> bool:
    """True when ``import tensorflow; import torchvision`` survives in a fresh interpreter.

    Args:
        python: the interpreter to probe with; default this one.
        timeout: seconds to wait for the probe; a probe that takes longer counts as a crash.

    Returns:
        Whether the probe exited with status 0.
    """
    probe = "import tensorflow, torchvision"
    try:
        result = subprocess.run(
            [python, "-c", probe], capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0


def load_torchvision_first() -> None:
    """Import torch and torchvision, or raise ImportError when that would crash the process."""
    if "torchvision" in sys.modules:
        return
    if "tensorflow" in sys.modules and not late_torchvision_import_is_safe():
        raise ImportError(
            "dlc_recurrent: tensorflow was imported before deeplabcut/torchvision, and importing "
            f"torchvision after tensorflow crashes this Python; {ORDER_HINT}."
        )
    import torch  # noqa: F401
    import torchvision  # noqa: F401
