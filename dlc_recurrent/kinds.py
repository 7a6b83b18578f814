"""The students this package trains, named once (without importing TensorFlow, so the CLI starts fast)."""

#: "leap": single frame, the control; "convlstm_leap": the paper's causal recurrent student;
#: "bidirectional_leap": sees the frames after the current one too (not causal).
MODEL_KINDS = ("leap", "convlstm_leap", "bidirectional_leap")

#: How a recurrent student's weights start (``TrainingConfig.start_from``): from a random start, or
#: from the trained LEAP control of the same training set.
START_FROM = ("scratch", "leap")

#: What a ConvLSTM-LEAP's ConvLSTM reads (``TrainingConfig.memory``): the encoder's features (the
#: paper's), or LEAP's own maps beside them, its state writing a correction to those maps.
MEMORIES = ("features", "maps")
