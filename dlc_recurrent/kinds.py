"""The students this package trains and their networks' defaults, named once (without importing TensorFlow,
so the command line and the configs read them cheaply)."""

#: "leap": single frame, the control; "convlstm_leap": the paper's causal recurrent student;
#: "bidirectional_leap": sees the frames after the current one too (not causal).
MODEL_KINDS = ("leap", "convlstm_leap", "bidirectional_leap")

#: How a recurrent student's weights start (``TrainingConfig.start_from``): from a random start, or
#: from the trained LEAP control of the same training set.
START_FROM = ("scratch", "leap")

#: What a ConvLSTM-LEAP's ConvLSTM reads (``TrainingConfig.memory``): the encoder's features (the
#: paper's), or LEAP's own maps beside them, its state writing a correction to those maps.
MEMORIES = ("features", "maps")

#: Filters of LEAP's conv blocks (encoder 1, encoder 2, decoder 64-block, decoder 32-block): the paper's.
DEFAULT_FILTERS = (16, 32, 64, 32)
#: The grey-level mean and standard deviation (0-1) the paper normalises inputs with.
DEFAULT_MEAN = 0.257
DEFAULT_STD = 0.288
