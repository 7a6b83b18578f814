"""The demo, step by step through the Python API (what `dlc-recurrent demo` runs).

    python examples/demo_step_by_step.py [DIRECTORY] [--tiny]

Generates a synthetic DeepLabCut project with known ground truth, trains the single-frame LEAP
and the recurrent ConvLSTM-LEAP students on the same teacher-labelled windows, analyzes the
videos, and runs the accuracy evaluation and the paper's occlusion study. ``--tiny`` runs in a
minute or two at a size where the numbers mean nothing (used by the test suite).
"""

import argparse

import dlc_recurrent  # before tensorflow (and deeplabcut's imports) - see README "Troubleshooting"
from dlc_recurrent.demo import SMALL, TINY

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("directory", nargs="?", default="demo-step-by-step")
parser.add_argument("--tiny", action="store_true")
args = parser.parse_args()
scale = TINY if args.tiny else SMALL

# 1. A DLC project: config.yaml, videos/, labeled-data/, and a teacher's h5 next to each video.
config = dlc_recurrent.make_synthetic_project(
    args.directory, n_videos=scale.n_videos, n_frames=scale.n_frames, width=scale.width, height=scale.height
)
project = dlc_recurrent.load_project(config)
print("project:", config, "| body parts:", project.bodyparts)

# 2. Windows of consecutive frames, labelled by the teacher (and the hand labels), split 80/20.
dlc_recurrent.create_training_set(
    config, window_length=scale.window_length, windows_per_video=scale.windows_per_video, scale=scale.scale
)

# 3. Both students from the same training set, so the paper's comparison can be rerun.
for model in ("leap", "convlstm_leap"):
    # The demo's short fixed schedule; on your own project leave it out (train until convergence).
    folder = dlc_recurrent.train(config, model=model, **scale.training_options())
    print(model, "trained in", folder)

# 4. Predictions in DeepLabCut's format, next to the videos.
videos = [str(v) for v in project.videos]
for model in ("leap", "convlstm_leap"):
    scorer = dlc_recurrent.analyze_videos(config, videos, model=model, save_as_csv=True)
    print(model, "wrote", [f"{v}{scorer}.h5" for v in videos])

# 5. Accuracy on the held-out windows, and the occlusion study (CSV + PNG in the evaluation folder).
print(dlc_recurrent.evaluate(config).head(12).to_string())
paws = [part for part in project.bodyparts if "paw" in part]  # the paper studied the paws, as the demo does
study = dlc_recurrent.evaluate_occlusion(config, n_windows=scale.n_windows, bodyparts=paws)
print(study["summary"].to_string())
