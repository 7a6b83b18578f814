"""The registry of the students this package trains, and their networks' defaults: named once, without
importing TensorFlow, so the command line and the configs read them cheaply.

Every decision that depends on a student's kind asks :func:`model_kind` (is it recurrent, causal,
what may its memory read); :mod:`dlc_recurrent.models` holds the builder registered for each name.
"""

from __future__ import annotations

from dataclasses import dataclass

#: What a ConvLSTM-LEAP's ConvLSTM reads (``TrainingConfig.memory``): the encoder's features (the
#: paper's), or LEAP's own maps beside them, its state writing a correction to those maps.
MEMORIES = ("features", "maps")


@dataclass(frozen=True)
class ModelKind:
    """What the package needs to know about a kind of student without building it.

    Attributes:
        name: the kind's name, as ``model=`` takes it.
        recurrent: it reads windows of frames (B, T, H, W, C) rather than single frames.
        causal: each frame's maps depend only on that frame and those before it, so analysis can
            stream a video in one pass.
        memories: what its memory may read (``TrainingConfig.memory``; LEAP has none to choose).
        description: one line for messages and the README.
    """

    name: str
    recurrent: bool
    causal: bool
    memories: tuple[str, ...]
    description: str


#: The kinds, by name.
MODEL_REGISTRY = {kind.name: kind for kind in (
    ModelKind("leap", recurrent=False, causal=True, memories=("features",),
              description="single frame, the control"),
    ModelKind("convlstm_leap", recurrent=True, causal=True, memories=MEMORIES,
              description="the paper's causal recurrent student"),
    ModelKind("bidirectional_leap", recurrent=True, causal=False, memories=("features",),
              description="sees the frames after the current one too (not causal)"),
)}

#: Their names, in the order messages list them.
MODEL_KINDS = tuple(MODEL_REGISTRY)


def model_kind(name: str) -> ModelKind:
    """The registered kind called ``name``.

    Args:
        name: the kind's name, as ``model=`` takes it ("leap", "convlstm_leap", "bidirectional_leap").

    Returns:
        Its :class:`ModelKind` (recurrent, causal, memories, description).

    Raises:
        ValueError: naming the kinds there are, when there is none of that name.
    """
    if name not in MODEL_REGISTRY:
        raise ValueError(f"model must be one of {MODEL_KINDS}, got {name!r}")
    return MODEL_REGISTRY[name]


def check_memory(kind: str, memory: str) -> None:
    """Refuse a memory that does not exist or that ``kind`` is not built for (a one-line ValueError).

    Args:
        kind: the model kind.
        memory: what its memory would read, one of ``MEMORIES``.

    Raises:
        ValueError: an unknown kind or memory, or a memory the kind is not built for (naming those that are).
    """
    if memory not in MEMORIES:
        raise ValueError(f"memory must be one of {MEMORIES}, got {memory!r}")
    if memory not in model_kind(kind).memories:
        built_for = [name for name, found in MODEL_REGISTRY.items() if memory in found.memories]
        raise ValueError(f"memory={memory!r} is built for {', '.join(built_for)} only, not {kind}")


#: How a recurrent student's weights start (``TrainingConfig.start_from``): from a random start, or
#: from the trained LEAP control of the same training set.
START_FROM = ("scratch", "leap")

#: Filters of LEAP's conv blocks (encoder 1, encoder 2, decoder 64-block, decoder 32-block): the paper's.
DEFAULT_FILTERS = (16, 32, 64, 32)
#: The grey-level mean and standard deviation (0-1) the paper normalises inputs with.
DEFAULT_MEAN = 0.257
DEFAULT_STD = 0.288
