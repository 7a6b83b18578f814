"""What the hidden-part test loss can reach: LEAP and three answers that need no training, on a student's
own hidden test windows (``make_dataset(hide_parts=True)``, the loss ``val_hidden_loss`` reports).

For each width of the hidden points' maps (``occluded_sigma``), on the test windows of one training
set, each HIDDEN_COPIES times under its part occluder:

- **LEAP**: the trained control on the occluded frames (a student's step 0 when it starts from LEAP);
- **zeros**: no map at all;
- **copy-last**: LEAP's maps of the last frame before the occluder, kept over the hidden frames
  (what a memory that does not know motion could give at best, with LEAP's accuracy);
- **see-through**: LEAP on the same frames without the occluder (what a memory that knew exactly where
  the part went could give, with LEAP's accuracy).

A student's val_hidden_loss between LEAP's and copy-last's means its memory places hidden parts; at
LEAP's, it does not. Run on a project that ``wheel_mouse.py`` made (``--keep`` keeps it):

    python benchmarks/hidden_test_baselines.py --training-set <.../training-sets/iteration-0/<set>> \
        --leap <.../leap/.../train> [--student <.../convlstm_leap/.../train>]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import dlc_recurrent  # noqa: F401  (torchvision before tensorflow)
from dlc_recurrent._tensorflow import tf
from dlc_recurrent.config import TrainingConfig
from dlc_recurrent.distill import load_training_set
from dlc_recurrent.layout import CONFIG_NAME
from dlc_recurrent.training import load_student, make_dataset, masked_mse, render_maps
from dlc_recurrent.training.data import hidden_test_samples


def baselines(training_set: str, leap_folder: str, student: str | None = None, widths=(1.0, 2.0, 3.0)) -> list[dict]:
    """The hidden-part test loss of LEAP, zeros, copy-last and see-through for each map width, on the
    hidden windows of ``student`` (a train folder: its occluder sizes and runs), or of the defaults."""
    trainset = load_training_set(training_set)
    leap, leap_config = load_student(leap_folder)
    drawn = TrainingConfig.load(Path(student) / CONFIG_NAME) if student else TrainingConfig()
    config = TrainingConfig(bodyparts=trainset.bodyparts, window_length=trainset.window_length,
                            scale=trainset.spec.scale, occluder_probability=1.0, occluder_target="parts",
                            occluder_size=drawn.occluder_size, occluder_max_run=drawn.occluder_max_run,
                            gap_filled_weight=drawn.gap_filled_weight,
                            sigma=leap_config.sigma, map_amplitude=leap_config.map_amplitude)
    samples = hidden_test_samples(trainset)
    height, width = trainset.max_frame_shape()
    shape = (height, width)
    hidden = next(iter(make_dataset(trainset, "test", config, len(samples), shape, training=False, samples=samples,
                                    hide_parts=True)[0]))
    clean = next(iter(make_dataset(trainset, "test", config, len(samples), shape, training=False,
                                   samples=samples)[0]))

    def leap_maps(frames):
        frames = tf.cast(frames, tf.float32)
        flat = tf.reshape(frames, (-1, *frames.shape[2:]))
        return tf.reshape(leap(flat), (*frames.shape[:2], height, width, -1)).numpy()

    occluded, seen = leap_maps(hidden["frames"]), leap_maps(clean["frames"])
    covered = (hidden["frames"].numpy() != clean["frames"].numpy()).any(axis=(2, 3, 4))  # (N, T)
    copy_last = occluded.copy()
    for window, frames in enumerate(covered):
        run = np.flatnonzero(frames)
        if len(run) and run[0] > 0:
            copy_last[window, run] = occluded[window, run[0] - 1]
    rows = []
    for spread in widths:
        target = render_maps(hidden["xy"], height, width, config.map_sigma * spread, config.map_amplitude)
        losses = {name: float(masked_mse(target, maps, hidden["weight"]))
                  for name, maps in (("leap", occluded), ("zeros", np.zeros_like(occluded)),
                                     ("copy-last", copy_last), ("see-through", seen))}
        rows.append({"occluded_sigma": spread, **losses})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--training-set", required=True)
    parser.add_argument("--leap", required=True, help="the LEAP control's train folder")
    parser.add_argument("--student", default=None,
                        help="a student's train folder: its occluders (default: the defaults)")
    args = parser.parse_args()
    for row in baselines(args.training_set, args.leap, args.student):
        print(json.dumps({k: round(v, 4) for k, v in row.items()}))


if __name__ == "__main__":
    main()
