"""Which device a call computes on: DeepLabCut's ``gputouse`` or DLC 3's ``device``; one GPU by default.

TensorFlow can hide GPUs and turn on memory growth only before it first touches a GPU. The first
call that picks a device does both (so TensorFlow does not reserve nearly all memory of every GPU in
a process that also holds deeplabcut's torch); later calls in the same process (a second ``train``
in a notebook) run under ``tf.device`` instead of failing on ``set_visible_devices``.
"""

from __future__ import annotations

import logging
import re

logger = logging.getLogger(__name__)

CPU = "/CPU:0"


def parse_device(device: str | int | None = None, gputouse: int | None = None) -> int | str | None:
    """What the caller asked for: None (automatic), "cpu" or a GPU index.

    Both arguments may be given only if they agree.

    Args:
        device: DLC 3's forms: "cpu", "cuda", "cuda:1", "gpu:1", "/GPU:1", "auto" (or "" or None: automatic),
            or a GPU index.
        gputouse: DLC 2's GPU index (0, 1, ...), or None.

    Returns:
        None (automatic), "cpu", or the GPU index asked for.

    Raises:
        ValueError: when ``device`` is not one of those forms, ``gputouse`` is not an index of 0 or more, an
            index is negative, or the two disagree.
    """
    wanted: int | str | None = None
    if isinstance(device, bool):
        raise ValueError(f"device={device!r}: give 'cpu', 'cuda:<index>' or a GPU index")
    if isinstance(device, int):
        wanted = device
    elif isinstance(device, str):
        text = device.strip().lower().lstrip("/")
        match = re.fullmatch(r"(?:cuda|gpu)(?::(\d+))?", text)
        if text in ("", "auto"):
            wanted = None
        elif text in ("cpu", "cpu:0"):
            wanted = "cpu"
        elif match:
            wanted = int(match.group(1) or 0)
        else:
            raise ValueError(f"device={device!r}: give 'cpu', 'cuda:<index>' (or 'gpu:<index>'), 'auto' or an index")
    elif device is not None:
        raise ValueError(f"device={device!r}: give 'cpu', 'cuda:<index>' or a GPU index")
    if gputouse is not None:
        if isinstance(gputouse, bool) or not isinstance(gputouse, int) or gputouse < 0:
            raise ValueError(f"gputouse={gputouse!r}: give a GPU index (0, 1, ...)")
        if wanted is not None and wanted != gputouse:
            raise ValueError(f"device={device!r} and gputouse={gputouse} disagree; give one of them")
        wanted = gputouse
    if isinstance(wanted, int) and wanted < 0:
        raise ValueError(f"device={device!r}: a GPU index is 0 or more")
    return wanted


def choose_gpu(wanted: int | str | None, n_gpus: int) -> int | None:
    """The physical GPU index to use, or None for the CPU; one GPU unless told otherwise.

    Asking for a GPU on a machine without one computes on the CPU with a warning (DLC scripts often
    say ``gputouse=0``).

    Args:
        wanted: what :func:`parse_device` returned: None (automatic: the first GPU, if any), "cpu" or a
            GPU index.
        n_gpus: how many GPUs TensorFlow sees.

    Returns:
        The index of the GPU to use, or None for the CPU.

    Raises:
        ValueError: when the index asked for is past the last GPU.
    """
    if wanted == "cpu":
        return None
    if wanted is None:
        return 0 if n_gpus else None
    if n_gpus == 0:
        logger.warning(f"GPU {wanted} asked for, but TensorFlow sees no GPU: computing on the CPU")
        return None
    if wanted >= n_gpus:
        raise ValueError(f"GPU {wanted} asked for (gputouse/device), but TensorFlow sees {n_gpus} GPU(s): "
                         f"give an index from 0 to {n_gpus - 1}")
    return wanted


def select_device(device: str | int | None = None, gputouse: int | None = None) -> str:
    """Set TensorFlow up for the chosen device and return its name, to compute under ``tf.device``.

    On the first call in a process, hides every other GPU from TensorFlow and turns on memory growth on
    the chosen one (or hides all GPUs for the CPU); later calls keep what TensorFlow already runs on.

    Args:
        device: DLC 3's device ("cpu", "cuda:1", "auto", an index...; see :func:`parse_device`).
        gputouse: DLC 2's GPU index.

    Returns:
        The TensorFlow device name: "/CPU:0", or "/GPU:<i>" with ``i`` the GPU's index among those
        TensorFlow sees.

    Raises:
        ValueError: when the arguments are malformed or disagree, the GPU index is past the last GPU, or
            TensorFlow already runs on other GPUs in this process and cannot switch.
    """
    from dlc_recurrent._tensorflow import tf

    gpus = tf.config.list_physical_devices("GPU")
    wanted = parse_device(device, gputouse)
    if wanted is None:  # the first GPU TensorFlow may still use (after a start on GPU 2 alone: that one)
        visible = [gpu for gpu in gpus if gpu in tf.config.get_visible_devices("GPU")]
        index = gpus.index(visible[0]) if visible else None
    else:
        index = choose_gpu(wanted, len(gpus))
    if index is None:
        if gpus:
            try:  # the CPU asked for on a GPU machine: keep TensorFlow off every GPU's memory
                tf.config.set_visible_devices([], "GPU")
            except RuntimeError:
                pass
        return CPU
    chosen = gpus[index]
    try:
        tf.config.set_visible_devices([chosen], "GPU")
        tf.config.experimental.set_memory_growth(chosen, True)
    except RuntimeError:  # TensorFlow already started on the GPUs it was given first
        pass
    visible = tf.config.get_visible_devices("GPU")
    if chosen not in visible:
        shown = ", ".join(f"GPU {gpus.index(g)}" for g in visible) or "no GPU"
        raise ValueError(f"TensorFlow already runs on {shown} in this Python process and cannot switch to "
                         f"GPU {index}; restart Python (or the notebook's kernel) to use it")
    name = f"/GPU:{visible.index(chosen)}"
    logger.info(f"Computing on GPU {index} ({name} in TensorFlow)")
    return name


def refuse_multi_machine(environ=None) -> None:
    """One line instead of a silent single-machine run when TF_CONFIG describes several machines.

    Training is single-machine by design: every worker would write the same checkpoints, weights and
    history in one folder, hold the same trainer lock, and the convergence rule would have to be
    agreed among workers; a student converges in minutes on one GPU (benchmarks/RESULTS.md), so
    several machines would not pay. ``devices=[...]`` uses several GPUs of one machine.

    Args:
        environ: the environment to read TF_CONFIG from; default ``os.environ``.

    Raises:
        ValueError: when TF_CONFIG is set but is not a JSON object with a "cluster", or its chief and
            workers make more than one machine; unset TF_CONFIG to train on this machine.
    """
    import json
    import os

    text = (environ if environ is not None else os.environ).get("TF_CONFIG")
    if not text:
        return
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    cluster = parsed.get("cluster", {}) if isinstance(parsed, dict) else None
    if not isinstance(cluster, dict):
        raise ValueError(f"TF_CONFIG is not a JSON object with a 'cluster' ({text[:60]!r}); unset it to train on "
                         "this machine")
    machines = sum(len(tasks) if isinstance(tasks, (list, dict)) else 1
                   for role, tasks in cluster.items() if role in ("chief", "worker"))
    if machines > 1:
        raise ValueError(f"TF_CONFIG names {machines} machines, but training runs on one machine (several of its "
                         "GPUs with devices=[...]); unset TF_CONFIG, and train once per student")


def device_names(strategy) -> str:
    """The devices a tf.distribute strategy trains on, for messages ("GPU:0, GPU:1" or "CPU:0").

    Args:
        strategy: a ``tf.distribute`` strategy (or TensorFlow's default strategy).

    Returns:
        The devices' short names, comma-separated.
    """
    try:
        devices = strategy.extended.worker_devices
    except RuntimeError:  # TensorFlow's default strategy: its own placement, the first GPU or the CPU
        devices = [f"{default_device_type()}:0"]
    return ", ".join(device.split("device:")[-1] for device in devices)


def default_device_type() -> str:
    """Where TensorFlow places work by itself: "GPU" (the first one) when it sees any, else "CPU"."""
    from dlc_recurrent._tensorflow import tf

    return "GPU" if tf.config.list_logical_devices("GPU") else "CPU"
