"""Precision benchmark: bfloat16 against float32, for training and for analysis, side by side.

All in one run on this machine:

1. Training step time at the same settings: LEAP (32 frames) and ConvLSTM-LEAP (8 windows of 15
   frames) at ``--size`` (default 200x200 px), random frames through the real training step
   (``training.HeatmapTrainer``: maps rendered on the device, masked loss, Adam), timed after
   warm-up, float32 and mixed bfloat16.
2. Students trained in each precision: a synthetic project (3 videos; the first two build the
   training set, the third is never trained on), LEAP and ConvLSTM-LEAP trained by
   ``dlc_recurrent.train`` with the same seed and steps in float32 (shuffle 1) and bfloat16
   (shuffle 2, the same training set). Their errors against the synthetic truth on the held-out
   video, analysed in float32, visible and hidden points apart, with paired t-tests; minutes of
   training each.
3. Analysis of the same trained student (the float32 one) in float32 and in bfloat16: frames/s of
   ``predict_video`` (after a warm-up pass) and how far its points move (px, visible / hidden).

    python benchmarks/precision_benchmark.py            # ~15 min on 2 CPU cores
    python benchmarks/precision_benchmark.py --quick    # tiny sizes, a smoke test
    python benchmarks/precision_benchmark.py --keep --bfloat16-epochs 16   # bfloat16 students
                                                        # trained on to about float32's minutes

Results go to ``<out>/precision_benchmark.csv`` (default ``benchmarks/out``, git-ignored).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import dlc_recurrent  # noqa: F401  (before tensorflow: loads torchvision first)

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

MODELS = ("leap", "convlstm_leap")
POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16"}


def step_times(size: tuple[int, int], steps: int) -> list[dict]:
    """Seconds per training step of each model in each policy, on random frames."""
    from dlc_recurrent import models
    from dlc_recurrent._tensorflow import keras, tf
    from dlc_recurrent.config import TrainingConfig
    from dlc_recurrent.precision import computing_in
    from dlc_recurrent.training.trainer import HeatmapTrainer

    height, width = size
    rows = []
    for model in MODELS:
        for precision, policy in POLICIES.items():
            with computing_in(policy):
                keras.utils.set_random_seed(0)
                config = TrainingConfig(model=model, bodyparts=[f"p{i}" for i in range(6)], augment=False)
                trainer = HeatmapTrainer(models.build_student(config), config)
                trainer.compile(optimizer=keras.optimizers.Adam(1e-3))
                trainer.build_for(height, width, config)
                batch = config.resolved_batch_size
                shape = ((batch, config.window_length, height, width, 1) if config.recurrent
                         else (batch, height, width, 1))
                rng = np.random.default_rng(0)
                sample = {"frames": rng.integers(0, 255, shape).astype(np.uint8),
                          "xy": rng.uniform(0, min(size), shape[:-3] + (6, 2)).astype(np.float32),
                          "weight": np.ones(shape[:-3] + (6,), np.float32)}
                data = tf.data.Dataset.from_tensors(sample).repeat()
                trainer.fit(data, steps_per_epoch=2, epochs=1, verbose=0)  # tracing
                started = time.perf_counter()
                trainer.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
                seconds = (time.perf_counter() - started) / steps
            rows.append({"part": "step", "model": model, "precision": precision, "size": f"{width}x{height}",
                         "batch": batch, "s_per_step": seconds})
            print(f"step {model} {precision}: {seconds:.3f} s", flush=True)
    return rows


def errors(predictions: np.ndarray, truth) -> np.ndarray:
    return np.hypot(*(predictions[..., :2] - truth.xy).transpose(2, 0, 1))


def trained_students(out: Path, args) -> tuple[list[dict], dict]:
    """Train both students in both precisions on one project; judge them on the held-out video."""
    from ruamel.yaml import YAML
    from scipy import stats

    from dlc_recurrent import train
    from dlc_recurrent.distill import create_training_set
    from dlc_recurrent.frames import read_video_info
    from dlc_recurrent.inference import load_trained_student, predict_video
    from dlc_recurrent.layout import SUMMARY_NAME, model_folder
    from dlc_recurrent.project import load_project, video_crop
    from dlc_recurrent.synthetic import make_synthetic_project, read_ground_truth

    work = out / "precision_work"
    configs = sorted(work.glob("*/config.yaml")) if args.keep else []
    config = configs[0] if configs else make_synthetic_project(
        work, n_videos=3, n_frames=args.frames, width=args.width, height=args.height, seed=args.seed)
    project = load_project(config)
    trained_on, held_out = project.videos[:2], project.videos[2]
    for shuffle in (1, 2):
        create_training_set(config, shuffle=shuffle, videos=trained_on, window_length=15, windows_per_video=150,
                            scale=args.scale, seed=args.seed)
    options = dict(schedule="fixed", epochs=args.epochs, steps_per_epoch=25, seed=args.seed)
    rows, students = [], {}
    info = read_video_info(held_out)
    crop = video_crop(project, info)
    truth = read_ground_truth(held_out)
    for model in MODELS:
        for shuffle, precision in ((1, "float32"), (2, "bfloat16")):
            epochs = args.bfloat16_epochs if precision == "bfloat16" and args.bfloat16_epochs else args.epochs
            train(config, shuffle=shuffle, model=model, precision=precision, report=False,
                  **{**options, "epochs": epochs})
            summary_path = model_folder(project, shuffle, 0, model) / "train" / SUMMARY_NAME
            summary = YAML(typ="safe").load(summary_path.read_text())
            student = load_trained_student(project, shuffle, 0, model)
            predictions = predict_video(student, info, crop, progress=False)
            students[model, precision] = predictions
            error = errors(predictions, truth)
            rows.append({"part": "trained in", "model": model, "precision": precision,
                         "steps": summary.get("steps"), "train_minutes": summary.get("minutes"),
                         "visible_px": float(error[truth.visible].mean()),
                         "hidden_px": float(error[~truth.visible].mean())})
        a, b = (errors(students[model, p], truth) for p in POLICIES)
        for name, mask in (("visible", truth.visible), ("hidden", ~truth.visible)):
            test = stats.ttest_rel(b[mask], a[mask])
            rows.append({"part": "trained in: bf16 - f32", "model": model, "precision": name,
                         "difference_px": float((b[mask] - a[mask]).mean()), "p": float(test.pvalue),
                         "n": int(mask.sum())})
    return rows, {"project": project, "info": info, "crop": crop, "truth": truth}


def analysis(context: dict) -> list[dict]:
    """The float32-trained students analysed in float32 and in bfloat16: speed and movement of points."""
    from dlc_recurrent.inference import load_trained_student, predict_video

    project, info, crop, truth = context["project"], context["info"], context["crop"], context["truth"]
    rows = []
    for model in MODELS:
        predictions = {}
        for precision, policy in POLICIES.items():
            student = load_trained_student(project, 1, 0, model, policy=policy)
            predict_video(student, info, crop, progress=False)  # warm-up: tracing
            started = time.perf_counter()
            predictions[precision] = predict_video(student, info, crop, progress=False)
            fps = info.n_frames / (time.perf_counter() - started)
            error = errors(predictions[precision], truth)
            rows.append({"part": "analysis", "model": model, "precision": precision, "fps": fps,
                         "visible_px": float(error[truth.visible].mean()),
                         "hidden_px": float(error[~truth.visible].mean())})
            print(f"analysis {model} {precision}: {fps:.0f} fps", flush=True)
        moved = np.hypot(*(predictions["bfloat16"][..., :2] - predictions["float32"][..., :2]).transpose(2, 0, 1))
        rows.append({"part": "analysis: bf16 vs f32", "model": model, "precision": "moved",
                     "visible_px": float(moved[truth.visible].mean()), "hidden_px": float(moved[~truth.visible].mean()),
                     "max_px": float(moved.max()),
                     "fraction_over_1px": float((moved > 1).mean())})
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test, numbers mean nothing")
    parser.add_argument("--keep", action="store_true", help="reuse the generated project")
    parser.add_argument("--size", type=int, nargs=2, default=(200, 200), metavar=("H", "W"))
    parser.add_argument("--steps", type=int, default=5, help="timed training steps per model and precision")
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--width", type=int, default=168)
    parser.add_argument("--height", type=int, default=140)
    parser.add_argument("--scale", type=float, default=0.5)
    parser.add_argument("--epochs", type=int, default=8, help="of 25 steps each, for every trained student")
    parser.add_argument("--bfloat16-epochs", type=int, default=None,
                        help="epochs of the bfloat16 students (default --epochs): twice as many compares equal time")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.steps, args.frames, args.width, args.height, args.epochs = (64, 64), 2, 120, 64, 64, 1
    args.out.mkdir(parents=True, exist_ok=True)
    machine = _common.machine_description()
    _common.print_machine(machine)
    from dlc_recurrent.precision import cpu_supports_bfloat16

    print(f"CPU computes bfloat16 in hardware: {cpu_supports_bfloat16()}")
    rows = step_times(tuple(args.size), args.steps)
    trained, context = trained_students(args.out, args)
    rows += trained + analysis(context)
    _common.print_table([r for r in rows if r["part"] == "step"],
                        [("model", "model"), ("precision", "precision"), ("size", "size"), ("batch", "batch"),
                         ("s_per_step", "s/step")], "Training step")
    _common.print_table([r for r in rows if r["part"].startswith("trained")],
                        [("part", "part"), ("model", "model"), ("precision", "precision"), ("steps", "steps"),
                         ("train_minutes", "minutes"), ("visible_px", "visible px"), ("hidden_px", "hidden px"),
                         ("difference_px", "diff px"), ("p", "p"), ("n", "n")], "Students trained in each precision")
    _common.print_table([r for r in rows if r["part"].startswith("analysis")],
                        [("part", "part"), ("model", "model"), ("precision", "precision"), ("fps", "fps"),
                         ("visible_px", "visible px"), ("hidden_px", "hidden px"), ("max_px", "max px"),
                         ("fraction_over_1px", "> 1 px")], "Analysis of the float32-trained students")
    _common.write_csv(args.out / "precision_benchmark.csv", rows, machine)


if __name__ == "__main__":
    main()
