"""Which number format a student computes in: float32, or a mixed precision where the hardware pays.

Mixed precision keeps the weights (and the last layer, so the maps) in float32 and computes the
convolutions in 16 bits: float16 on a GPU (tensor cores), bfloat16 on CPUs with AMX or AVX512-BF16
(oneDNN). Measured on CPUs with AMX (benchmarks/RESULTS.md, "precision"): analysis is faster with a
student's points a small fraction of a pixel from float32's (so analysis uses it by default); training
steps are faster too, but students trained to convergence were not consistently as good as float32's
(so training asks for it explicitly).
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

logger = logging.getLogger(__name__)

#: What a caller may ask for. "auto": the fastest format the device runs well (float16 on a GPU,
#: bfloat16 on a CPU with AMX or AVX512-BF16, float32 elsewhere), except that training stays in
#: float32 on a CPU; "bfloat16" / "float16": that format where the device runs it well, float32
#: elsewhere; "float32": always full precision.
PRECISIONS = ("auto", "float32", "bfloat16", "float16")
#: CPU flags (Linux /proc/cpuinfo) under which oneDNN computes bfloat16 in hardware.
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


def cpu_supports_bfloat16(cpuinfo: str | Path = "/proc/cpuinfo") -> bool:
    """Whether this CPU computes bfloat16 in hardware (AMX or AVX512-BF16); False where it cannot tell.

    Args:
        cpuinfo: the file listing the CPU's flags (Linux's /proc/cpuinfo).

    Returns:
        True when it names one of ``BF16_CPU_FLAGS``; False when it does not or cannot be read.
    """
    try:
        flags = set(Path(cpuinfo).read_text().split())
    except OSError:
        return False
    return any(flag in flags for flag in BF16_CPU_FLAGS)


def keras_policy(precision: str, device_type: str, training: bool = False, bfloat16_cpu: bool | None = None) -> str:
    """The Keras dtype policy for ``precision`` on a device of ``device_type``, for analysis or training.

    "auto" does not train in bfloat16: at equal steps its students were less accurate (RESULTS.md,
    "precision"), and at convergence on the real project not consistently as good.

    Args:
        precision: one of ``PRECISIONS``: "auto", "float32", "bfloat16" or "float16".
        device_type: "CPU" or "GPU" (any case).
        training: the policy is for training (then "auto" stays float32 on a CPU).
        bfloat16_cpu: whether the CPU computes bfloat16 in hardware; None: read it
            (:func:`cpu_supports_bfloat16`).

    Returns:
        "float32", "mixed_float16" or "mixed_bfloat16": on a GPU the mixed policy asked for ("auto" and
        "float16": float16), on a CPU bfloat16 only where the hardware has it.

    Raises:
        ValueError: a precision that is not one of ``PRECISIONS``.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    gpu = device_type.upper() == "GPU"
    if bfloat16_cpu is None:
        bfloat16_cpu = not gpu and cpu_supports_bfloat16()
    if precision == "float32":
        return "float32"
    if gpu:
        return "mixed_bfloat16" if precision == "bfloat16" else "mixed_float16"
    if bfloat16_cpu and (precision == "bfloat16" or (precision == "auto" and not training)):
        return "mixed_bfloat16"
    return "float32"


@contextlib.contextmanager
def computing_in(policy: str):
    """Build Keras layers under ``policy`` inside the block; the previous global policy comes back after.

    Args:
        policy: a Keras dtype policy name ("float32", "mixed_bfloat16", "mixed_float16").

    Yields:
        Nothing: layers built in the ``with`` block take the policy.
    """
    from dlc_recurrent._tensorflow import keras

    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)
