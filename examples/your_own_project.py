"""Run dlc-recurrent on your own DeepLabCut project.

    python examples/your_own_project.py /path/to/project/config.yaml [--max-steps N] [--window-length T]

What the project needs (nothing here is ever modified):
  * config.yaml of a single-animal project, with the videos listed under video_sets;
  * the teacher's predictions next to each video: the <video><DLC scorer>.h5 written by
    deeplabcut.analyze_videos with your trained network (pass --teacher-scorer if there are several);
  * optional but used: hand labels in labeled-data/<video>/CollectedData_<scorer>.h5.

What to look at after each step is printed as it goes. Everything is written under
<project>/dlc-recurrent/ and, for predictions, next to the videos (<video><scorer>.h5).
"""

import argparse

import dlc_recurrent  # import before tensorflow

parser = argparse.ArgumentParser(description="dlc-recurrent on an existing DeepLabCut project")
parser.add_argument("config")
parser.add_argument("--window-length", type=int, default=15)
parser.add_argument("--windows-per-video", type=int, default=250)
parser.add_argument("--min-steps", type=int, default=1000, help="never stop training before this many steps")
parser.add_argument("--max-steps", type=int, default=20000, help="stop training here even if not converged")
parser.add_argument("--steps-per-epoch", type=int, default=None, help="steps between two test-loss evaluations")
parser.add_argument("--teacher-scorer", default=None)
parser.add_argument("--n-windows", type=int, default=50, help="windows per body part in the occlusion study")
args = parser.parse_args()

project = dlc_recurrent.load_project(args.config)  # a clear error now beats one an hour into training
print(f"{len(project.videos)} videos, body parts {project.bodyparts}, pcutoff {project.pcutoff}")

folder = dlc_recurrent.create_training_set(
    args.config, window_length=args.window_length, windows_per_video=args.windows_per_video,
    teacher_scorer=args.teacher_scorer,
)
print(f"Look at {folder / 'trainingset.yaml'}: windows per video, and 'masked_fraction' (the share of "
      "points the teacher was unsure of; if it is large, your pcutoff may be too strict).")

for model in ("leap", "convlstm_leap"):
    train_folder = dlc_recurrent.train(args.config, model=model, min_steps=args.min_steps, max_steps=args.max_steps,
                                       steps_per_epoch=args.steps_per_epoch)
    print(f"Read the quality report just printed (and {train_folder.parent / 'evaluation' / 'quality.png'}): "
          "did it converge, and is every body part close to the teacher on the held-out test blocks? "
          f"Loss curves: {train_folder / 'history.csv'} (TensorBoard: tensorboard --logdir {train_folder / 'logs'}).")

scorer = dlc_recurrent.analyze_videos(args.config, [str(v) for v in project.videos], model="convlstm_leap")
print(f"Predictions: <video>{scorer}.h5 next to each video; DLC's tools read them with "
      "shuffle=1, modelprefix='dlc-recurrent/convlstm_leap', engine=deeplabcut.Engine.PYTORCH.")

accuracy = dlc_recurrent.evaluate(args.config)
print("Test-window error per body part (pixels) - the recurrent student should not be worse than LEAP:")
print(accuracy.to_string())
study = dlc_recurrent.evaluate_occlusion(args.config, n_windows=args.n_windows)
print("Occlusion study (see the PNGs in the evaluation folder):")
print(study["summary"].to_string())
