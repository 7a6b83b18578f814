"""The builder of each registered kind of student (:data:`dlc_recurrent.kinds.MODEL_REGISTRY`), and a
student built from its name or from its ``TrainingConfig``."""

from __future__ import annotations

from dlc_recurrent.config import TrainingConfig
from dlc_recurrent.kinds import MODEL_KINDS, check_memory, model_kind
from dlc_recurrent.models.leap import build_leap
from dlc_recurrent.models.recurrent import build_bidirectional_leap, build_convlstm_leap

#: The function that builds each kind (one per registered name).
BUILDERS = {
    "leap": build_leap,
    "convlstm_leap": build_convlstm_leap,
    "bidirectional_leap": build_bidirectional_leap,
}
assert set(BUILDERS) == set(MODEL_KINDS), "every registered kind needs a builder"


def build_model(kind, n_keypoints, *, window_length=15, convlstm_filters=32, skip_connection=False,
                frame_dropout=0.0, memory="features", map_scale=0.1, **kwargs):
    """Build a registered kind of network by name; the recurrent-only options are ignored for LEAP.

    Args:
        kind: one of ``MODEL_KINDS``.
        n_keypoints: K, maps (body parts) out.
        window_length: T of the recurrent students (None: any); ignored for LEAP.
        convlstm_filters: the ConvLSTM's width; ignored for LEAP.
        skip_connection: see :func:`build_convlstm_leap`; ignored for LEAP.
        frame_dropout: see :func:`build_convlstm_leap`; ignored for LEAP.
        memory: what the memory reads, one of the kind's ``memories`` ("maps": "convlstm_leap" only).
        map_scale: see :func:`build_convlstm_leap`; for a memory of maps.
        **kwargs: channels, filters, mean, std, height, width, passed to the builder.

    Returns:
        The Keras model: frames (B, H, W, C) -> maps (B, H, W, K) for LEAP, windows (B, T, H, W, C) ->
        maps (B, T, H, W, K) for the recurrent students.

    Raises:
        ValueError: an unknown kind or memory, or a memory the kind is not built for.
    """
    found = model_kind(kind)
    check_memory(kind, memory)
    options = {}
    if found.recurrent:
        options = dict(window_length=window_length, convlstm_filters=convlstm_filters,
                       skip_connection=skip_connection, frame_dropout=frame_dropout)
    if len(found.memories) > 1:  # a choice of memory to build
        options.update(memory=memory, map_scale=map_scale)
    return BUILDERS[kind](n_keypoints, **options, **kwargs)


def build_student(config: TrainingConfig, height=None, width=None):
    """The network a :class:`~dlc_recurrent.config.TrainingConfig` describes, for windows of any length.

    Args:
        config: the student's settings (its model kind, widths, memory, normalisation, body parts).
        height: the frame height it is built for (None: any multiple of 4).
        width: the frame width it is built for (None: any multiple of 4).

    Returns:
        A Keras model: frames (B, H, W, C) -> maps (B, H, W, K) for LEAP, windows (B, T, H, W, C) ->
        maps (B, T, H, W, K) for the recurrent students, K = ``len(config.bodyparts)``.
    """
    return build_model(config.model, len(config.bodyparts), window_length=None,
                       convlstm_filters=config.convlstm_filters, skip_connection=config.skip_connection,
                       frame_dropout=config.frame_dropout, memory=config.memory, map_scale=1 / config.map_amplitude,
                       channels=config.channels, filters=config.filters, mean=config.mean, std=config.std,
                       height=height, width=width)
