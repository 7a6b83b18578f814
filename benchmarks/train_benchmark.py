"""Training benchmark: throughput, bounded host memory, and that training learns.

What it measures, all in one run on this machine:

1. Throughput. Each student trains on the tf.data pipeline of ``dlc_recurrent.training``
   (``make_dataset`` + ``HeatmapTrainer``, augmentation on, as ``train()`` runs it) at full
   336x280, window_length 15, with the paper's batches (LEAP: 32 frames; ConvLSTM-LEAP: 8
   windows). After warm-up steps (tracing, pipeline fill) a fixed number of steps is timed.
   Reported as frames/s and windows/s (for LEAP a "window" is 15 of its frames, so the two
   columns compare the same amount of video), plus the input pipeline alone (batches/s, no
   model) to show whether it could be the bottleneck, and the time one epoch of the training
   set would take.
2. Host memory. The same training runs, on a small training set (2 videos x 250 windows of 15
   frames) and a large one (16 videos x 250 windows, by default), each in its own subprocess,
   report peak resident memory: the exact high-water mark (``VmHWM``) and, sampled, its anonymous
   part (what the process holds) and its file-backed part (the libraries, and pages of the
   memory-mapped training-set frames, which are also counted on their own from /proc/self/smaps:
   page cache the kernel can drop).
   Streaming means the peak does not grow with the training set: compare the rows, and compare
   with the size of the training set's frames on disk. The two runs take the same number of steps.
   To save rendering time the 16 videos of the large set are copies of 2 rendered videos (with
   their teacher files); every video still gets its own sampled windows and its own frames file.
3. Learning. ``dlc_recurrent.train()`` trains both students on a synthetic project (by default
   at scale 0.25, i.e. 84x70, so it fits the time budget on 2 CPU cores), then their predictions on held-out
   frames (the training set's test blocks, and a third video never trained on) are compared
   with the synthetic ground truth (``synthetic.read_ground_truth``), next to an untrained
   network of the same architecture and the simulated teacher. The training loss per epoch is
   printed too.

Run (from the repository root, with the project's virtual environment active):

    python benchmarks/train_benchmark.py --quick   # tiny sizes, a smoke test (~2-3 min)
    python benchmarks/train_benchmark.py           # the real measurement (~15 min on 2 idle CPU cores)

``--parts throughput,learn`` runs a subset; see ``--help`` for sizes and step counts. Results
are printed as tables and written to ``<out>/train_benchmark.csv`` (default ``benchmarks/out``,
git-ignored); the generated project stays in ``<out>/train_work`` (``--keep`` reuses it), and each
worker's log goes to ``<out>/train_benchmark.log``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path

import dlc_recurrent  # noqa: F401  (before tensorflow: loads torchvision first)

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

SCRIPT = Path(__file__).resolve()
MODELS = ("leap", "convlstm_leap")


# --------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test of the script (~1-2 min)")
    parser.add_argument("--out", type=Path, default=SCRIPT.parent / "out", help="folder for CSV, log, work files")
    parser.add_argument("--parts", default="throughput,learn",
                        help="comma-separated: throughput (includes the memory comparison), learn")
    parser.add_argument("--keep", action="store_true", help="reuse the generated project in <out>/train_work")
    size = parser.add_argument_group("sizes (defaults: the issue's full size; --quick shrinks them)")
    size.add_argument("--width", type=int)
    size.add_argument("--height", type=int)
    size.add_argument("--frames", type=int, help="frames per rendered video")
    size.add_argument("--window-length", type=int)
    size.add_argument("--windows-per-video", type=int)
    size.add_argument("--small-videos", type=int, help="videos in the small training set")
    size.add_argument("--large-videos", type=int, help="videos in the large training set")
    size.add_argument("--warmup", type=str, help="warm-up steps per model, e.g. leap=2,convlstm_leap=1")
    size.add_argument("--steps", type=str, help="timed steps per model, e.g. leap=15,convlstm_leap=6")
    learn = parser.add_argument_group("learning run")
    learn.add_argument("--learn-scale", type=float, help="training-set scale for the learning run")
    learn.add_argument("--learn-epochs", type=int)
    learn.add_argument("--learn-steps", type=str, help="steps per epoch per model, e.g. leap=60,convlstm_leap=30")
    learn.add_argument("--learn-sigma", type=float, help="map sigma in full-resolution pixels")
    learn.add_argument("--learn-lr", type=float)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    # Full size: the sizes; the learning run at scale 0.25 (84x70) so that ~150 steps of
    # each model fit the time budget on 2 CPU cores (at 168x140 the ConvLSTM step costs ~4x more).
    # On 2 CPU cores a full-size step costs roughly 10 s (LEAP, 32 frames) and 45 s (ConvLSTM-LEAP,
    # 8 windows of 15 frames), so few steps are timed.
    full = dict(width=336, height=280, frames=600, window_length=15, windows_per_video=250, small_videos=2,
                large_videos=16, warmup="leap=1,convlstm_leap=1", steps="leap=6,convlstm_leap=2",
                learn_scale=0.25, learn_epochs=5, learn_steps="leap=30,convlstm_leap=20", learn_sigma=10.0,
                learn_lr=2e-3)
    quick = dict(width=64, height=64, frames=150, window_length=15, windows_per_video=40, small_videos=2,
                 large_videos=4, warmup="leap=1,convlstm_leap=1", steps="leap=2,convlstm_leap=1",
                 learn_scale=0.5, learn_epochs=2, learn_steps="leap=2,convlstm_leap=1", learn_sigma=8.0,
                 learn_lr=2e-3)
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.warmup, args.steps, args.learn_steps = (per_model(args.warmup), per_model(args.steps),
                                                 per_model(args.learn_steps))
    args.parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    return args


def per_model(text: str) -> dict:
    """'leap=2,convlstm_leap=1' -> {'leap': 2, 'convlstm_leap': 1}; a bare number applies to both."""
    if "=" not in text:
        return {model: int(text) for model in MODELS}
    values = dict(item.split("=") for item in text.split(","))
    return {model: int(values[model]) for model in MODELS}


# --------------------------------------------------------------------------------------------
# Project and training sets (parent process)
# --------------------------------------------------------------------------------------------


def prepare(args) -> dict:
    """Render the project, add copies of its videos, build the small, large and learning training sets."""
    from dlc_recurrent.distill import create_training_set
    from dlc_recurrent.layout import training_set_folder
    from dlc_recurrent.project import load_project
    from dlc_recurrent.synthetic import make_synthetic_project, open_synthetic_project

    work = args.out / "train_work"
    stamp = {k: getattr(args, k) for k in ("width", "height", "frames", "window_length", "windows_per_video",
                                          "small_videos", "large_videos", "learn_scale")}
    if work.exists() and not (args.keep and (work / "settings.json").is_file()
                              and json.loads((work / "settings.json").read_text()) == stamp):
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    configs = list(work.glob("*/config.yaml"))
    started = time.time()
    if configs:
        config = configs[0]
    else:
        # Two rendered videos to train on and a third one held out for the learning check.
        config = make_synthetic_project(work, n_videos=3, n_frames=args.frames, width=args.width,
                                        height=args.height, n_labeled_frames=20, seed=1)
    rendered = time.time() - started
    synthetic = open_synthetic_project(config)
    train_videos, held_out = list(synthetic.videos[:2]), synthetic.videos[2]
    copies = make_video_copies(synthetic, train_videos, args.large_videos)

    project = load_project(config)
    spec = dict(window_length=args.window_length, windows_per_video=args.windows_per_video)
    started = time.time()
    create_training_set(config, shuffle=1, videos=copies[: args.small_videos], **spec)
    create_training_set(config, shuffle=2, videos=copies[: args.large_videos], **spec)
    create_training_set(config, shuffle=3, videos=train_videos, scale=args.learn_scale, **spec)
    built = time.time() - started
    (work / "settings.json").write_text(json.dumps(stamp))
    sets = {name: training_set_folder(project, shuffle) for name, shuffle in (("small", 1), ("large", 2), ("learn", 3))}
    print(f"Project {config.parent} (rendered in {rendered:.0f} s), training sets built in {built:.0f} s")
    return {"config": config, "sets": sets, "held_out": held_out, "train_videos": train_videos}


def make_video_copies(synthetic, videos: list[Path], count: int) -> list[Path]:
    """``count`` videos for the training sets: the rendered ones, then hard links (or copies) of them.

    Each copy gets the teacher's h5 and _meta.pickle under its own name, so the package treats it
    as a video of its own; it has no hand labels.
    """
    paths = []
    for i in range(count):
        source = videos[i % len(videos)]
        if i < len(videos):
            paths.append(source)
            continue
        target = source.with_name(f"copy{i:02d}.mp4")
        teacher_h5, scorer = synthetic.teacher_h5(source), synthetic.teacher_scorer
        for src, dst in ((source, target),
                         (teacher_h5, target.with_name(target.stem + scorer + ".h5")),
                         (teacher_h5.with_name(source.stem + scorer + "_meta.pickle"),
                          target.with_name(target.stem + scorer + "_meta.pickle"))):
            if not dst.exists():
                try:
                    os.link(src, dst)
                except OSError:
                    shutil.copy2(src, dst)
        paths.append(target)
    return paths


def folder_size_mb(folder: Path, pattern: str = "*_frames.npy") -> float:
    return sum(p.stat().st_size for p in Path(folder).glob(pattern)) / 2**20


# --------------------------------------------------------------------------------------------
# Workers (each in its own subprocess)
# --------------------------------------------------------------------------------------------


def worker_steps(task: dict) -> dict:
    """Train ``steps`` timed steps (after ``warmup``) of one model on one training set; time and memory."""
    with _common.MemorySampler() as memory:
        import tensorflow as tf
        import tf_keras as keras

        from dlc_recurrent.config import TrainingConfig
        from dlc_recurrent.distill import load_training_set
        from dlc_recurrent.training import build_trainer, make_dataset

        baseline_mb = memory.current_mb()
        trainset = load_training_set(task["trainset"])
        config = TrainingConfig(model=task["model"], window_length=trainset.window_length, scale=trainset.spec.scale,
                                bodyparts=trainset.bodyparts, channels=trainset.channels)
        gpu = bool(tf.config.list_physical_devices("GPU"))
        if gpu and config.precision == "auto":  # as train() does
            keras.mixed_precision.set_global_policy("mixed_float16")
        height, width = trainset.max_frame_shape()
        network, trainer, _ = build_trainer(config, height, width)
        batch = config.resolved_batch_size
        dataset, n_samples = make_dataset(trainset, "train", config, batch, (height, width), training=True)
        iterator = iter(dataset)
        step = trainer.make_train_function()
        measured = time_steps(step, iterator, dataset, task, memory)
        measured["baseline_mb"] = baseline_mb
        measured["frames_resident_mb"] = memory.mapped_files_mb("_frames.npy")

    return steps_row(task, trainset, config, batch, n_samples, f"{width}x{height}", measured, memory)


def time_steps(step, iterator, dataset, task: dict, memory) -> dict:
    """Seconds of the warm-up, of the timed steps and of the input pipeline alone; memory after warm-up, last loss."""
    started = time.perf_counter()
    for _ in range(task["warmup"]):
        logs = step(iterator)
    float(logs["loss"])
    warmup_s = time.perf_counter() - started
    after_warmup_mb = memory.current_mb()
    started = time.perf_counter()
    for _ in range(task["steps"]):
        logs = step(iterator)
    final_loss = float(logs["loss"])  # wait for the last step
    timed_s = time.perf_counter() - started

    # The input pipeline alone, on a fresh iterator: could it keep up with the model?
    pipeline_batches = max(3, task["steps"])
    pipe = iter(dataset)
    next(pipe)
    started = time.perf_counter()
    for _ in range(pipeline_batches):
        next(pipe)
    pipeline_s = time.perf_counter() - started
    return {"warmup_s": warmup_s, "after_warmup_mb": after_warmup_mb, "timed_s": timed_s, "final_loss": final_loss,
            "pipeline_batches": pipeline_batches, "pipeline_s": pipeline_s}


def steps_row(task: dict, trainset, config, batch: int, n_samples, frame_size: str, measured: dict, memory) -> dict:
    """The result row of a ``worker_steps`` run: the set's size, throughput, epoch time, memory."""
    timed_s = measured["timed_s"]
    frames_per_sample = trainset.window_length if config.recurrent else 1
    frames_per_s = task["steps"] * batch * frames_per_sample / timed_s
    n_windows = int((trainset.windows.split == "train").sum())
    return {
        "model": task["model"],
        "training_set": task["name"],
        "videos": len(trainset.videos),
        "train_windows": n_windows,
        "samples_per_epoch": int(n_samples),
        "set_frames_mb": round(folder_size_mb(trainset.folder), 1),
        "frame_size": frame_size,
        "batch": batch,
        "batch_unit": "windows" if config.recurrent else "frames",
        "warmup_steps": task["warmup"],
        "warmup_s": round(measured["warmup_s"], 1),
        "timed_steps": task["steps"],
        "s_per_step": round(timed_s / task["steps"], 3),
        "frames_per_s": round(frames_per_s, 1),
        "windows_per_s": round(frames_per_s / trainset.window_length, 2),
        "pipeline_batches_per_s": round(measured["pipeline_batches"] / measured["pipeline_s"], 2),
        "model_batches_per_s": round(task["steps"] / timed_s, 2),
        "epoch_min": round(math.ceil(n_samples / batch) * timed_s / task["steps"] / 60, 1),
        "rss_after_imports_mb": round(measured["baseline_mb"], 1),
        "rss_after_warmup_mb": round(measured["after_warmup_mb"], 1),
        "frames_resident_mb": measured["frames_resident_mb"],
        "final_loss": measured["final_loss"],
        **memory.report(),
    }


def worker_learn(task: dict) -> dict:
    """train() both students, then pixel error vs ground truth on held-out frames (trained, untrained, teacher)."""
    import pandas as pd
    import tensorflow as tf

    from dlc_recurrent import models
    from dlc_recurrent.distill import load_training_set
    from dlc_recurrent.frames import read_video_info
    from dlc_recurrent.inference.student import Student, load_trained_student
    from dlc_recurrent.layout import HISTORY_NAME
    from dlc_recurrent.project import find_teacher, load_project, read_teacher
    from dlc_recurrent.training import train

    config = Path(task["config"])
    project = load_project(config)
    trainset = load_training_set(task["trainset"])
    # Held-out frames: the test blocks of the training videos, and the whole never-trained-on video.
    held_out = [(Path(v["video"]), v["test_blocks"]) for v in trainset.videos]
    held_out.append((Path(task["held_out"]), [[0, read_video_info(task["held_out"]).n_frames - 1]]))

    rows = []
    teacher = held_out_errors(held_out, lambda video: read_teacher(find_teacher(video), project.bodyparts).xy)
    rows.append({"model": "teacher (simulated)", **teacher})
    for model in MODELS:
        started = time.perf_counter()
        folder = train(config, shuffle=task["shuffle"], model=model, overwrite=True, schedule="fixed",
                       epochs=task["epochs"], steps_per_epoch=task["steps"][model], sigma=task["sigma"],
                       learning_rate=task["lr"])
        train_s = time.perf_counter() - started
        history = pd.read_csv(folder / HISTORY_NAME)
        trained = load_trained_student(project, task["shuffle"], 0, model)
        tf.random.set_seed(0)
        untrained = Student(config=trained.config, folder=None, network=models.build_student(trained.config),
                            state_reset=trained.state_reset)
        before = held_out_errors(held_out, student_predictions(project, untrained))
        after = held_out_errors(held_out, student_predictions(project, trained))
        rows.append({"model": f"{model} untrained", **before})
        rows.append({"model": f"{model} trained", **after,
                     "steps": task["epochs"] * task["steps"][model], "train_min": round(train_s / 60, 1),
                     "loss_first_epoch": float(history["loss"].iloc[0]),
                     "loss_last_epoch": float(history["loss"].iloc[-1]),
                     "val_loss_last_epoch": float(history["val_loss"].iloc[-1]) if "val_loss" in history else None,
                     "loss_per_epoch": " ".join(f"{v:.4g}" for v in history["loss"]),
                     "error_ratio_untrained_over_trained": before["err_mean_px"] / after["err_mean_px"]})
    return {"rows": rows, "frame_size": "x".join(str(s) for s in trainset.videos[0]["stored_size"])}


def held_out_errors(held_out: list, predictions_for) -> dict:
    """Mean / median pixel error vs truth on held-out frames, visible and hidden points apart."""
    import numpy as np

    from dlc_recurrent.synthetic import read_ground_truth

    visible, hidden = [], []
    for video, blocks in held_out:
        truth = read_ground_truth(video)
        predicted = predictions_for(video)
        frames = np.concatenate([np.arange(a, b + 1) for a, b in blocks])
        distance = np.hypot(*(predicted[frames, :, :2] - truth.xy[frames]).transpose(2, 0, 1))
        visible.append(distance[truth.visible[frames]])
        hidden.append(distance[~truth.visible[frames]])
    visible, hidden = np.concatenate(visible), np.concatenate(hidden)
    both = np.concatenate([visible, hidden])
    return {"err_mean_px": float(np.nanmean(both)), "err_median_px": float(np.nanmedian(both)),
            "err_visible_px": float(np.nanmean(visible)), "err_hidden_px": float(np.nanmean(hidden)),
            "n_points": int(both.size), "n_hidden": int(hidden.size)}


def student_predictions(project, student):
    """A function video -> the student's predictions (n, K, 3) of that whole video."""
    from dlc_recurrent.frames import read_video_info
    from dlc_recurrent.inference.streams import predict_video
    from dlc_recurrent.project import video_crop

    def predict(video):
        info = read_video_info(video)
        return predict_video(student, info, video_crop(project, info), progress=False)
    return predict


WORKERS = {"steps": worker_steps, "learn": worker_learn}


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def main(argv=None) -> None:
    """Run a worker task, or the benchmark: prepare the project, run the chosen parts, write the CSV."""
    args = parse_args(argv)
    if args.worker:
        task = json.loads(args.worker)
        _common.emit_result(WORKERS[task["kind"]](task))
        return

    started = time.time()
    machine = _common.machine_description()
    print(f"dlc-recurrent training benchmark ({'quick smoke test' if args.quick else 'full size'})")
    _common.print_machine(machine)
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / "train_benchmark.log"
    log.write_text("")
    setup = prepare(args)
    rows = []
    if "throughput" in args.parts:
        rows += throughput_part(args, setup, log)
    if "learn" in args.parts:
        rows += learn_part(args, setup, log)
    _common.write_csv(args.out / "train_benchmark.csv", rows, machine)
    print(f"Total {(time.time() - started) / 60:.1f} min; worker logs in {log}")


def throughput_part(args, setup: dict, log: Path) -> list[dict]:
    """Part 1: the step workers, their throughput and memory tables; the CSV rows of the part."""
    part_started = time.time()
    runs = run_step_workers(args, setup, log)
    print()
    print_throughput(runs, args.window_length)
    print_memory(runs)
    rows = [{"part": "throughput_memory", **r} for r in runs]
    print(f"  (throughput and memory part: {(time.time() - part_started) / 60:.1f} min)\n")
    return rows


def run_step_workers(args, setup: dict, log: Path) -> list[dict]:
    """One ``worker_steps`` subprocess per model and training set (small, large); their results."""
    runs = []
    for model in MODELS:
        for name in ("small", "large"):
            task = {"kind": "steps", "model": model, "name": name, "trainset": str(setup["sets"][name]),
                    "warmup": args.warmup[model], "steps": args.steps[model]}
            result = _common.run_worker(SCRIPT, task, log)
            print(f"  {model:13s} {name:5s}: {result['frames_per_s']} frames/s, "
                  f"peak RSS {result['peak_rss_mb']} MB ({result['worker_wall_s']} s)", flush=True)
            runs.append(result)
    return runs


def print_throughput(runs: list[dict], window_length: int) -> None:
    """Print the throughput table of the large set and the ConvLSTM-LEAP / LEAP ratio."""
    large = [r for r in runs if r["training_set"] == "large"]
    _common.print_table(large, [
        ("model", "model"), ("frame_size", "frames"), ("batch", "batch"), ("batch_unit", "of"),
        ("timed_steps", "steps"), ("s_per_step", "s/step"), ("frames_per_s", "frames/s"),
        ("windows_per_s", "windows/s"), ("pipeline_batches_per_s", "pipeline batch/s"),
        ("model_batches_per_s", "train batch/s"), ("samples_per_epoch", "samples/epoch"),
        ("epoch_min", "min/epoch")],
        f"Training throughput on the large set (window_length {window_length}; "
        "LEAP windows/s = frames/s / window_length)")
    leap = next(r for r in large if r["model"] == "leap")
    recurrent = next(r for r in large if r["model"] == "convlstm_leap")
    print(f"  ConvLSTM-LEAP / LEAP frames/s, measured in this run: "
          f"{recurrent['frames_per_s'] / leap['frames_per_s']:.2f}x\n")


def print_memory(runs: list[dict]) -> None:
    """Print the peak-memory table, each model's small -> large growth, and how to read the columns."""
    _common.print_table(runs, [
        ("model", "model"), ("training_set", "set"), ("videos", "videos"), ("train_windows", "windows"),
        ("set_frames_mb", "frames on disk MB"), ("timed_steps", "steps"),
        ("rss_after_imports_mb", "RSS imports MB"), ("peak_rss_mb", "peak RSS MB"),
        ("peak_anon_mb", "peak anon MB"), ("peak_file_mb", "peak file-backed MB"),
        ("frames_resident_mb", "set frames resident MB")],
        "Peak host memory while training (each row its own process; same steps for both sets)")
    for model in MODELS:
        small = next(r for r in runs if r["model"] == model and r["training_set"] == "small")
        big = next(r for r in runs if r["model"] == model and r["training_set"] == "large")
        print(f"  {model}: training set x{big['set_frames_mb'] / small['set_frames_mb']:.1f} on disk "
              f"({small['set_frames_mb']:.0f} -> {big['set_frames_mb']:.0f} MB); peak RSS "
              f"x{big['peak_rss_mb'] / small['peak_rss_mb']:.2f} ({small['peak_rss_mb']:.0f} -> "
              f"{big['peak_rss_mb']:.0f} MB), anonymous x{big['peak_anon_mb'] / max(small['peak_anon_mb'], 1):.2f}")
    print("  anon = heap and tensors; file-backed = mapped files: the libraries (TensorFlow, torch) and the\n"
          "  pages of the memory-mapped training frames the steps touched (last column, read from\n"
          "  /proc/self/smaps at the end; page cache the kernel can drop). A training set loaded into\n"
          "  memory would instead add its whole size on disk to the anonymous peak.\n")


def learn_part(args, setup: dict, log: Path) -> list[dict]:
    """Part 3: the learning worker and its table and verdicts; the CSV rows of the part."""
    part_started = time.time()
    task = {"kind": "learn", "config": str(setup["config"]), "trainset": str(setup["sets"]["learn"]),
            "held_out": str(setup["held_out"]), "shuffle": 3, "epochs": args.learn_epochs,
            "steps": args.learn_steps, "sigma": args.learn_sigma, "lr": args.learn_lr}
    print(f"Learning run: train() both students, {args.learn_epochs} epochs x {args.learn_steps} steps ...",
          flush=True)
    result = _common.run_worker(SCRIPT, task, log)
    print_learning(result, args.learn_scale, args.quick)
    print()
    rows = [{"part": "learn", "frame_size": result["frame_size"], **r} for r in result["rows"]]
    print(f"  (learning part: {(time.time() - part_started) / 60:.1f} min)\n")
    return rows


def print_learning(result: dict, learn_scale: float, quick: bool) -> None:
    """Print the held-out error table and, per trained student, whether it learned."""
    _common.print_table(result["rows"], [
        ("model", "model"), ("steps", "steps"), ("train_min", "train min"), ("err_mean_px", "mean px"),
        ("err_median_px", "median px"), ("err_visible_px", "visible px"), ("err_hidden_px", "hidden px"),
        ("n_points", "points"), ("loss_first_epoch", "loss epoch 1"), ("loss_last_epoch", "loss last"),
        ("val_loss_last_epoch", "test loss last")],
        f"Held-out pixel error vs ground truth (frames {result['frame_size']} = scale {learn_scale}; "
        "errors in full-frame pixels; test blocks of the 2 training videos + 1 unseen video)")
    if quick:
        print("  (--quick trains a handful of steps: this checks that the part runs, not that it learns)")
    for row in result["rows"]:
        if "loss_per_epoch" in row:
            ratio = row["error_ratio_untrained_over_trained"]
            verdict = ("learned" if ratio >= 2 and row["loss_last_epoch"] < row["loss_first_epoch"] else
                       "NOT clearly learned (on the all-zeros plateau?): raise --learn-steps or --learn-epochs")
            print(f"  {row['model']}: loss per epoch {row['loss_per_epoch']}; untrained/trained mean error "
                  f"{ratio:.1f}x: {verdict}")


if __name__ == "__main__":
    main()
