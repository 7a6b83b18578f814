"""``TrainingConfig``: everything that decides how a student is trained, saved as ``dlc_recurrent.yaml``
beside the student; plain data, composed by concern, every field explained with its trade-off.

Each concern is a small dataclass (the schedule, the optimizer, the network, the targets, augmentation,
occluders, and what is copied from the training set); ``TrainingConfig`` is all of them at once, so a
call names any field directly (``train(config, max_steps=2000, rotation=0)``). Fields carry their
allowed values (:mod:`dlc_recurrent.config.fields`); the checks here relate two fields.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from ruamel.yaml import YAML

from dlc_recurrent.config.fields import check_fields, choice, number
from dlc_recurrent.errors import ProjectError
from dlc_recurrent.fileio import atomic_yaml
from dlc_recurrent.kinds import (
    DEFAULT_FILTERS,
    DEFAULT_MEAN,
    DEFAULT_STD,
    MEMORIES,
    MODEL_KINDS,
    START_FROM,
    check_memory,
    model_kind,
)
from dlc_recurrent.precision import PRECISIONS

SCHEDULES = ("converge", "fixed")
OCCLUDER_TARGETS = ("anywhere", "parts", "swaps")
#: The occluder targets that hide a body part with a known target (see ``occluder_target``).
PART_TARGETS = ("parts", "swaps")
NORMALIZATIONS = ("paper", "dataset")

#: The schedule of a student that starts from its LEAP control (``start_from="leap"``), where the
#: call does not set these: it starts where LEAP converged and only the memory is new, so it needs
#: neither the plateau allowance of a fresh network (min_steps) nor its learning rate.
FINE_TUNE = {"min_steps": 200, "patience": 300, "lr_patience": 150, "learning_rate": 3e-4, "warmup_steps": 50}

#: Options of a student that start_from="leap" hands to the LEAP control it trains first: the network
#: and its maps must be the same for the student to start as that LEAP.
SHARED_WITH_LEAP = ("filters", "normalization", "mean", "std", "sigma", "map_amplitude", "precision", "seed")

#: The paper's length under ``schedule="fixed"`` when ``epochs`` is not given.
PAPER_EPOCHS = 10

#: schedule="converge" never stops before this many steps unless max_steps is lower
DEFAULT_MIN_STEPS = 1000

#: schedule="converge" evaluates the test loss (and checkpoints) this often unless told otherwise
DEFAULT_PERIOD = 50

#: TrainingConfig fields copied from the training set or derived, not chosen by the user
COPIED_FIELDS = ("model", "window_length", "scale", "bodyparts", "channels", "mean", "std")


def fine_tune_defaults(max_steps: int | None = None) -> dict:
    """The schedule of a student that starts from its LEAP control: FINE_TUNE, with min_steps no larger
    than a ``max_steps`` the call gives.

    Args:
        max_steps: the call's max_steps, or None when it gives none.

    Returns:
        The FINE_TUNE fields (min_steps, patience, lr_patience, learning_rate, warmup_steps) by name.
    """
    return {**FINE_TUNE, "min_steps": min(FINE_TUNE["min_steps"], max_steps or FINE_TUNE["min_steps"])}


def _ordered_pair(name: str, value: tuple, what: str) -> None:
    if len(value) != 2 or not 0 < value[0] <= value[1]:
        raise ValueError(f"{name} must be (smallest, largest) {what} > 0, got {value}")


@dataclass
class Schedule:
    """How long a student trains: the schedule, its stopping rule and learning-rate plateaus."""

    #: "converge" (default): train until the test-block loss stops improving, within
    #: [min_steps, max_steps]; the best weights are kept. "fixed": the paper's recipe, ``epochs``
    #: passes over the training samples at a constant learning rate, the last weights kept.
    schedule: str = choice("converge", SCHEDULES)
    #: Passes over the training samples under ``schedule="fixed"`` (default 10, the paper's). Not
    #: used by "converge", which counts optimizer steps instead: more epochs of a small set are
    #: not "more training" in any comparable unit.
    epochs: int | None = number(None, 1)
    #: Optimizer steps between two evaluations of the test loss (and checkpoints, and rows of
    #: history.csv). Default: 50 under "converge" (finer stopping costs more evaluations), one
    #: pass over the training samples under "fixed".
    steps_per_epoch: int | None = number(None, 1)
    #: Never stop before this many optimizer steps (default 1000, or max_steps if that is lower).
    #: Students on real video sat on the "predict zeros" plateau for a few hundred steps before the
    #: loss moved; stopping there loses them.
    min_steps: int | None = number(None, 0)
    #: Stop here even if the test loss still improves (the quality report then says so), rounded up
    #: to a whole number of evaluation periods. Each step costs seconds on a CPU: 20000 steps is
    #: hours there, minutes on a GPU.
    max_steps: int = number(20000, 1)
    #: Stop once the test loss has not improved by ``min_improvement`` for this many steps (after
    #: min_steps). Longer patience trains longer for smaller gains.
    patience: int = number(500, 0)
    #: Halve the learning rate (``lr_factor``) after this many steps without improvement; several
    #: halvings happen before patience runs out.
    lr_patience: int = number(200, 0)
    #: The factor each plateau multiplies the learning rate by (0.5 halves it); smaller drops
    #: settle faster but can stall a student that was still learning.
    lr_factor: float = number(0.5, 0, 1, open_low=True)
    #: The learning rate is never lowered below learning_rate x this.
    min_lr_fraction: float = number(1 / 64, 0, 1, open_low=True)
    #: An improvement counts when the test loss (the mean of its last 3 evaluations) falls below
    #: the best so far by this fraction.
    min_improvement: float = number(0.01, 0, 1)
    #: The learning rate rises linearly from learning_rate / warmup_steps to learning_rate over
    #: the first steps (not in the paper; spares a fresh network Adam's first large steps).
    warmup_steps: int = number(100, 0)

    @property
    def converge(self) -> bool:
        """Whether the schedule trains until the test loss stops improving (``schedule="converge"``)."""
        return self.schedule == "converge"

    @property
    def resolved_min_steps(self) -> int:
        """min_steps, by default 1000 or max_steps if that is lower."""
        return DEFAULT_MIN_STEPS if self.min_steps is None and self.max_steps >= DEFAULT_MIN_STEPS else (
            self.max_steps if self.min_steps is None else self.min_steps)

    @property
    def resolved_epochs(self) -> int:
        """Passes under "fixed" (the paper's 10 by default)."""
        return self.epochs or PAPER_EPOCHS

    def check_schedule(self) -> None:
        """The schedule's fields together (each alone is checked by :func:`check_fields`)."""
        if self.converge and self.epochs is not None:
            raise ValueError(
                "epochs applies to schedule='fixed' (the paper's recipe); the default schedule trains until the "
                "test loss stops improving: set min_steps / max_steps instead, or pass schedule='fixed'"
            )
        if not self.resolved_min_steps <= self.max_steps:
            raise ValueError(f"need 0 <= min_steps <= max_steps and max_steps >= 1, got {self.min_steps}, "
                             f"{self.max_steps}")


@dataclass
class Optimizer:
    """The optimizer's batch and learning rate, the arithmetic's precision, the seed."""

    #: Windows (recurrent) or frames (LEAP) per step; default 8 windows or 32 frames (the paper's).
    batch_size: int | None = number(None, 1)
    #: Adam's learning rate (the paper's 1e-3); the schedule lowers it on plateaus.
    learning_rate: float = number(1e-3, 0, open_low=True)
    #: The number format of the convolutions (weights and maps stay float32): "auto" is float16 on
    #: a GPU and float32 on a CPU; "bfloat16" (CPUs with AMX or AVX512-BF16, or a GPU) and "float16"
    #: (a GPU) ask for one, "float32" for full precision everywhere. bfloat16 makes a CPU step
    #: several times faster, but students trained with it to convergence were not consistently as
    #: good as float32's (benchmarks/RESULTS.md, "bfloat16 training to convergence"), so on a CPU it
    #: is opt-in; training says so where the CPU has it.
    precision: str = choice("auto", PRECISIONS)
    #: Seeds the network's initial weights and the order and augmentation of the samples.
    seed: int = 0


@dataclass
class Network:
    """Which network, its widths, where its weights start and what its memory reads."""

    #: "leap" (single frame, the control), "convlstm_leap" (the paper's recurrent student) or
    #: "bidirectional_leap" (sees frames after the current one too; not causal).
    model: str = choice("convlstm_leap", MODEL_KINDS)
    #: Filters of LEAP's conv blocks (encoder 1, encoder 2, decoder 64-block, decoder 32-block).
    filters: tuple[int, int, int, int] = DEFAULT_FILTERS
    #: Filters of the ConvLSTM layer (the paper's 32).
    convlstm_filters: int = number(32, 1)
    #: Recurrent students only (not in the paper): the decoder sees each frame's own encoder
    #: features beside the ConvLSTM's output, so a visible part is placed from its own frame and
    #: the memory only has to fill in what the frame does not show. Costs a wider first decoder
    #: layer (+50% of its weights at the paper's widths).
    skip_connection: bool = False
    #: Recurrent students only (not in the paper): "scratch" trains every weight from a random
    #: start; "leap" starts from the trained LEAP control of the same training set (trained first
    #: when it is missing, with the student's ``SHARED_WITH_LEAP`` options): its encoder and decoder,
    #: with a skip connection whose weights for the ConvLSTM's state start at zero, so the student
    #: starts with LEAP's maps and learns only what the frames before add. Implies
    #: ``skip_connection=True``; unless given, the schedule is a fine-tune's (``FINE_TUNE``). Costs a
    #: LEAP training first (none if it exists), then a fraction of a from-scratch run.
    start_from: str = choice("scratch", START_FROM)
    #: ConvLSTM-LEAP only: what its ConvLSTM reads. "features" (the paper's): the encoder's features,
    #: its state read by the decoder. "maps" (not in the paper): LEAP's own maps of each frame (pooled
    #: to the features' size, one channel per body part) beside the features, its state read into a
    #: correction added to LEAP's maps, which starts at zero; so a remembered position is written
    #: where it is meant, per body part. Implies ``skip_connection``; costs LEAP's decoder once more
    #: per frame, in training and analysis.
    memory: str = choice("features", MEMORIES)
    #: With ``memory="maps"`` and ``start_from="leap"`` (not in the paper): keep LEAP's weights as trained
    #: and train only the memory (the ConvLSTM and the correction it writes), so a visible part keeps
    #: LEAP's map but for what the memory adds, and a step computes no gradient through LEAP.
    freeze_leap: bool = False
    #: Recurrent students only (not in the paper): the share of training windows in which a run of
    #: frames (1 to T - 1, after the first) has its encoder features blanked, so the network must
    #: place the body parts there from memory; 0 turns it off. Nothing changes at analysis.
    frame_dropout: float = number(0.0, 0, 1)
    #: "paper": inputs normalised with mean 0.257 / std 0.288; "dataset": the training frames' own.
    normalization: str = choice("paper", NORMALIZATIONS)
    #: The mean and standard deviation inputs are normalised with (0-1 grey levels); set from
    #: ``normalization`` when training starts, saved so analysis normalises alike.
    mean: float = DEFAULT_MEAN
    std: float = number(DEFAULT_STD, 0, open_low=True)

    @property
    def recurrent(self) -> bool:
        """Whether the student has a memory (any model but LEAP)."""
        return model_kind(self.model).recurrent

    @property
    def implies_skip_connection(self) -> bool:
        """Whether other settings need the skip connection (a warm start from LEAP, a memory of maps)."""
        return self.start_from == "leap" or self.memory == "maps"

    def check_network(self) -> None:
        """The network's fields together; turns the skip connection on where other settings need it."""
        if self.start_from == "leap" and not self.recurrent:
            raise ValueError("start_from='leap' applies to the recurrent students; LEAP is what they start from")
        check_memory(self.model, self.memory)
        if self.freeze_leap and (self.memory != "maps" or self.start_from != "leap"):
            raise ValueError("freeze_leap needs memory='maps' and start_from='leap' (LEAP's trained weights to keep)")
        if self.implies_skip_connection:
            self.skip_connection = True


@dataclass
class Targets:
    """The confidence maps a student learns to draw."""

    #: Width of the Gaussian confidence maps, in full-resolution pixels (the paper's 5).
    sigma: float = number(5.0, 0, open_low=True)
    #: Peak height of the target maps (not in the paper: peak-1 maps sat on the "predict zeros"
    #: plateau for hundreds of steps on real mouse video, x10 maps left it). The predicted peak is
    #: divided by it again to give a likelihood.
    map_amplitude: float = number(10.0, 0, open_low=True)
    #: Loss weight of targets interpolated across short teacher gaps (training sets made with
    #: ``max_gap_fill``), relative to the teacher's and the hand labels' 1; lower trusts the
    #: straight line less (half was worse on hidden points: benchmarks/RESULTS.md).
    gap_filled_weight: float = number(1.0, 0, 1)
    #: The width of the target maps of those interpolated points, as a multiple of ``sigma``: where the
    #: teacher lost a part, a straight line between where it was seen is a rough answer, and a wider
    #: map says so (and rewards a roughly right guess, see ``occluded_sigma``).
    gap_filled_sigma: float = number(1.0, 0, open_low=True)


@dataclass
class Augmentation:
    """Changes to the training frames (one draw per window: every frame of a window changes alike)."""

    #: Off: the frames as stored (the paper trained without augmentation).
    augment: bool = True
    #: Largest shift, as a fraction of the frame's width and height.
    max_shift: float = number(0.05, 0, 1)
    #: Largest rotation in degrees, either way (DeepLabCut trains with up to 30). No flips: they
    #: would swap left and right body parts.
    rotation: float = number(15.0, 0, 180)
    #: Range of zoom factors (DeepLabCut: 0.5-1.25); narrower keeps the animal's size familiar.
    zoom: tuple[float, float] = (0.9, 1.1)
    #: Largest brightness offset and contrast change, as fractions of the 0-255 range and gain.
    brightness: float = number(0.1, 0, 1)
    contrast: float = number(0.2, 0, 1)
    #: Share of windows blurred (Gaussian, sigma up to ``max_blur`` stored pixels): motion blur and
    #: focus vary in real video.
    blur_probability: float = number(0.25, 0, 1)
    max_blur: float = number(1.5, 0)
    #: Standard deviation of pixel noise added to every frame, in grey levels (DeepLabCut: 12.75).
    noise: float = number(4.0, 0)

    def check_augmentation(self) -> None:
        """Check that ``zoom`` is (smallest, largest), both above 0."""
        _ordered_pair("zoom", self.zoom, "factors")


@dataclass
class Occluders:
    """Training through occlusion (not in the paper)."""

    #: ``occluder_*`` (not in the paper) train through occlusion: with ``occluder_probability`` a
    #: training sample gets an occluder (rectangle, ellipse or bar; black, white, grey or noise),
    #: placed at random independently of the body parts and drifting by up to ``occluder_speed`` x
    #: the frame size per frame, over a run of up to ``occluder_max_run`` frames (default: the
    #: window); its side is ``occluder_size`` x the frame's smaller side. Targets are unchanged, so
    #: a covered part keeps the teacher's position. LEAP gets the same occluders on single frames.
    occluder_probability: float = number(0.0, 0, 1)
    #: Where an occluder goes: "anywhere" (as above: independent of the body parts) or "parts":
    #: over a body part the window has a target for, following it, on the last 1 to
    #: ``occluder_max_run`` frames of the window (the paper's Figure 6 squares as training data),
    #: filled with a patch of the same frame from elsewhere (the video's own texture), so the part
    #: is hidden while its target stays known. A recurrent student trained so is tested so too: each
    #: test window, ``HIDDEN_COPIES`` times, with a part occluder drawn once (the same at every
    #: evaluation), scored on the points it hides only (``val_hidden_loss`` in history.csv); the
    #: schedule judges convergence and keeps the weights by the geometric mean of that loss and the
    #: ordinary test loss, which alone cannot see what the memory adds. Costs one more evaluation of about
    #: four times the test windows per period. "swaps": as "parts", and the hidden part's own pixels
    #: are moved to where the texture came from, so the part is seen where it is not (a decoy, as when a
    #: network takes another paw for it) while its target stays where it is: the memory must overrule a
    #: confident single-frame answer, not only fill in a missing one.
    occluder_target: str = choice("anywhere", OCCLUDER_TARGETS)
    #: occluder_target "parts" or "swaps" only: the loss weight of the points a part occluder hides, relative to
    #: every other target's 1. They are a few of a window's K x T points (one part on a few frames),
    #: yet the only ones whose loss the memory can lower: at 1 their share of the loss is about 2%.
    occluded_weight: float = number(1.0, 0)
    #: occluder_target "parts" or "swaps" only: the width of the target maps of the points a part occluder hides,
    #: as a multiple of ``sigma``. A paw hidden for a few frames has moved since it was last seen, and a
    #: map of the usual width rewards only a guess within about sigma of it (a roughly right guess
    #: scores as badly as no guess); a wider map rewards it, so the memory has something to learn.
    occluded_sigma: float = number(1.0, 0, open_low=True)
    occluder_size: tuple[float, float] = (0.1, 0.3)
    occluder_max_run: int | None = number(None, 1)
    occluder_speed: float = number(0.02, 0)

    def check_occluders(self) -> None:
        """Check ``occluder_size``, and that occluded_weight / occluded_sigma are only set for part occluders."""
        _ordered_pair("occluder_size", self.occluder_size, "fractions")
        if (self.occluded_weight, self.occluded_sigma) != (1.0, 1.0) and self.occluder_target not in PART_TARGETS:
            raise ValueError(f"occluded_weight and occluded_sigma apply to occluder_target in {PART_TARGETS}")


@dataclass
class FromTrainingSet:
    """Copied from the training set (not chosen here: rebuild the set to change them)."""

    #: Frames per training window (TrainingSetSpec.window_length); analysis gives each frame this
    #: much context.
    window_length: int = number(15, 1)
    #: Resize factor of the stored frames (TrainingSetSpec.scale); analysis resizes video alike.
    scale: float = number(1.0, 0, 4, open_low=True)
    #: The config.yaml body parts, in the order of the network's output maps.
    bodyparts: list[str] = field(default_factory=list)
    #: 1 for grey video, 3 for colour (decided from the first frame when the set was built).
    channels: int = number(1, 1)


@dataclass
class TrainingConfig(FromTrainingSet, Occluders, Augmentation, Targets, Network, Optimizer, Schedule):
    """Everything that decides how a student is trained, saved as ``dlc_recurrent.yaml`` beside it.

    The network, loss, optimizer and batch are the seed paper's; the schedule, augmentation and
    the fields marked "not in the paper" were added where real or synthetic video needed them.
    The fields of ``FromTrainingSet`` are copied from the training set, not chosen.
    """

    def __post_init__(self):
        self.filters = tuple(int(f) for f in self.filters)
        self.occluder_size = tuple(float(f) for f in self.occluder_size)
        self.zoom = tuple(float(f) for f in self.zoom)
        check_fields(self)
        self.check_schedule()
        self.check_network()
        self.check_augmentation()
        self.check_occluders()

    @property
    def tests_hidden_parts(self) -> bool:
        """Whether the test windows are scored with part occluders too (see ``occluder_target``)."""
        return self.recurrent and self.occluder_target in PART_TARGETS and self.occluder_probability > 0

    @property
    def resolved_batch_size(self) -> int:
        """Paper: 32 single frames for LEAP, 8 windows for the recurrent network."""
        return self.batch_size or (8 if self.recurrent else 32)

    @property
    def map_sigma(self) -> float:
        """Gaussian width in stored (scaled) pixels."""
        return self.sigma * self.scale

    def save(self, path: Path) -> None:
        """Write the settings to ``path`` as YAML (atomically), the form :meth:`load` reads."""
        data = asdict(self)
        for name in ("filters", "occluder_size", "zoom"):
            data[name] = list(data[name])
        atomic_yaml(path, data)

    @classmethod
    def load(cls, path: Path) -> TrainingConfig:
        """The settings saved beside a student; a field the file lacks takes its default. One that no
        longer validates (written by an earlier build, or damaged) is a one-line ProjectError."""
        data = YAML(typ="safe").load(Path(path).read_text())
        known = {f.name for f in fields(cls)}
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except (TypeError, ValueError) as error:
            raise ProjectError(f"{path}: settings this version cannot use ({error}); written by an earlier "
                               "dlc-recurrent or damaged: train this student again with overwrite=True") from None


def set_arguments(shuffle: int, trainingsetindex: int = 0) -> str:
    """How a suggested call names a training set: ``shuffle=N`` (and ``trainingsetindex=M`` unless 0).

    Args:
        shuffle: the shuffle number of the training set.
        trainingsetindex: the index of its training fraction in config.yaml.

    Returns:
        The keyword arguments as source text, e.g. ``"shuffle=2, trainingsetindex=1"``.
    """
    return f"shuffle={shuffle}" + (f", trainingsetindex={trainingsetindex}" if trainingsetindex else "")


def train_call(config: TrainingConfig, shuffle: int = 1, trainingsetindex: int = 0, **changes) -> str:
    """The ``dlc_recurrent.train`` call that trains this student on, for messages that suggest one.

    Args:
        config: the student's settings; those that differ from the defaults (a fine-tune's defaults for
            ``start_from="leap"``) are repeated, since a resumed run must repeat them. Fields copied
            from the training set (``COPIED_FIELDS``) are left out.
        shuffle: the shuffle number of the student's training set.
        trainingsetindex: the index of its training fraction in config.yaml.
        **changes: further keyword arguments to name in the call, after (and over) the settings.

    Returns:
        The call as source text: ``"dlc_recurrent.train(config, shuffle=1, model='convlstm_leap', ...)"``.
    """
    defaults = asdict(TrainingConfig())
    if config.start_from == "leap":
        defaults.update(fine_tune_defaults(config.max_steps))
    if config.implies_skip_connection:
        defaults["skip_connection"] = True
    chosen = {name: value for name, value in asdict(config).items()
              if name not in COPIED_FIELDS and value != defaults[name]}
    chosen.update(changes)
    words = [set_arguments(shuffle, trainingsetindex), f"model={config.model!r}"]
    words += [f"{name}={value!r}" for name, value in chosen.items()]
    return f"dlc_recurrent.train(config, {', '.join(words)})"


def steps_per_epoch(config: TrainingConfig, n_samples: int, batch: int) -> int:
    """Optimizer steps per evaluation period of a new run (see TrainingConfig.steps_per_epoch); a
    resumed run keeps the period it started with (checkpointed), whatever max_steps is now.

    Args:
        config: the student's settings; an explicit ``steps_per_epoch`` wins.
        n_samples: training samples (windows, or frames for LEAP) in the training set.
        batch: samples per optimizer step.

    Returns:
        ``DEFAULT_PERIOD`` (at most ``max_steps``) under "converge", one pass over the samples under "fixed".
    """
    if config.steps_per_epoch:
        return config.steps_per_epoch
    return min(DEFAULT_PERIOD, config.max_steps) if config.converge else max(1, math.ceil(n_samples / batch))
