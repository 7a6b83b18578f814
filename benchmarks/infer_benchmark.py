"""Inference benchmark: video analysis speed, side by side, and memory vs video length.

What it measures, in one run on this machine, every method in a fresh subprocess of its own:

Speed, on the same 336x280 grayscale synthetic video (``--frames`` long, default 2000):
  * ``bare ...``        the students' networks alone on frames decoded beforehand (``worker_bare``): the
                        yardstick (analysis at the model's own speed).
  * ``leap``            ``dlc_recurrent.analyze_videos(model="leap")``: the non-recurrent LEAP.
  * ``recurrent``       ``analyze_videos(model="convlstm_leap")`` streaming, default ``state_reset``
                        (each segment restarts on ``window_length - 1`` frames of burn-in).
  * ``recurrent sr=0``  the same with ``state_reset=0`` (state carried through the whole video).
  * ``two students``    ``analyze_videos(model="convlstm_leap", confident_shuffle=2)``: a second
                        ConvLSTM-LEAP (shuffle 2, the paper's targets) on the same decoded frames,
                        points combined; its cost against ``recurrent`` is printed.
  * ``naive windows``   ``inference.predict_windowed_reference``: a whole 15-frame window per frame, on
                        ``--windowed-frames`` frames only (full windows), fps extrapolated.
  * ``DLC ResNet-50``   ``deeplabcut.analyze_videos`` (PyTorch engine, CPU) with an untrained ResNet-50
                        snapshot built from a fresh shuffle of the same project,
                        on the first ``--dlc-frames`` frames of the video, ``HF_HUB_OFFLINE=1`` set
                        before deeplabcut is imported and every outside network connection blocked
                        and counted.
  fps is "inference fps": frames / the ``run_duration`` each tool records in its ``_meta.pickle``
  (decoding + network + peak finding, both libraries alike), with the end-to-end fps of the whole
  call (model loading and h5 writing included) beside it. LEAP and the recurrent student also
  analyze the ``--mem-short``-frame video: the difference of the two runs is their fps after start-up
  (tracing and oneDNN set-up, which a long video pays once), the rate to hold against the bare
  rows. With ``--repeats N`` the bare, student and short rows run N times, interleaved, and each
  ratio is taken within a round and reported per round and as the median (this machine's speed
  drifts by up to a quarter between minutes). Ratios are taken between runs of this
  one invocation. Goals: recurrent >= 0.8x LEAP, >= 10x naive windows, > DLC ResNet-50.
  The students are trained-folder students (1 training step each: weights do not change speed).

Memory vs video length: the recurrent student (default ``state_reset``) analyzes videos of
  different lengths, each in its own process, and the peak RSS of each is reported: at full size
  ``--mem-short`` frames vs the speed run's ``--frames``, and at a reduced frame size
  (``--small-size``, default 84x70; the same students: they are fully convolutional)
  ``--mem-short`` vs ``--long-frames`` (default 20000; the issue's 100000 with
  ``--long-frames 100000``, about five times as long: the script prints its estimate). Flat
  peaks, and no RSS growth over the second half of a long run, mean memory does not grow with
  the video. 100k frames at 336x280 would take hours on 2 CPU cores (~10 fps).

Run (from the repository root, with the project's virtual environment active):

    python benchmarks/infer_benchmark.py --quick   # tiny sizes, a smoke test (~2-3 min)
    python benchmarks/infer_benchmark.py           # the real measurement (~15-20 min on 2 idle CPU cores;
                                                   # each extra --repeats round ~4 min more)
    python benchmarks/infer_benchmark.py --frames 1000 --parts speed   # a shorter speed comparison

``--parts speed,memory`` picks parts; ``--help`` lists sizes. Results are printed as tables and
written to ``<out>/infer_benchmark.csv`` (default ``benchmarks/out``, git-ignored); the project and
videos stay in ``<out>/infer_work`` (``--keep`` reuses them), worker logs go to
``<out>/infer_benchmark.log``.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402  (standard library only: the DLC worker must set up before deeplabcut loads)

SCRIPT = Path(__file__).resolve()
GOALS = {"leap": 0.8, "naive": 10.0, "dlc": 1.0}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test of the script (~2 min)")
    parser.add_argument("--out", type=Path, default=SCRIPT.parent / "out", help="folder for CSV, log, work files")
    parser.add_argument("--parts", default="speed,memory", help="comma-separated: speed, memory")
    parser.add_argument("--keep", action="store_true",
                        help="reuse the project, students and videos in <out>/infer_work")
    parser.add_argument("--width", type=int, help="frame width of the speed video (default 336)")
    parser.add_argument("--height", type=int, help="frame height of the speed video (default 280)")
    parser.add_argument("--frames", type=int, help="frames of the speed video (default 2000)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="rounds of the bare, student and short-video speed rows, interleaved (default 1)")
    parser.add_argument("--render-frames", type=int, help="frames rendered; longer videos loop them")
    parser.add_argument("--windowed-frames", type=int, help="frames the naive windowed version analyzes")
    parser.add_argument("--dlc-frames", type=int, help="frames DeepLabCut's ResNet-50 analyzes")
    parser.add_argument("--mem-short", type=int, help="frames of the short videos of the memory comparison")
    parser.add_argument("--long-frames", type=int, help="frames of the long reduced-size video (issue: 100000)")
    parser.add_argument("--small-size", help="WxH of the reduced-size memory videos (default 84x70)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    full = dict(width=336, height=280, frames=2000, render_frames=600, windowed_frames=60, dlc_frames=200,
                mem_short=300, long_frames=20000, small_size="84x70")
    quick = dict(width=96, height=80, frames=300, render_frames=150, windowed_frames=10, dlc_frames=20,
                 mem_short=100, long_frames=1000, small_size="64x64")
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.small_size = tuple(int(v) for v in args.small_size.lower().split("x"))
    if args.frames <= args.mem_short:
        parser.error(f"--frames ({args.frames}) must exceed --mem-short ({args.mem_short}): the fps after "
                     "start-up comes from the difference of the two")
    args.parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    return args


# --------------------------------------------------------------------------------------------
# Project, students, videos (parent process)
# --------------------------------------------------------------------------------------------


def prepare(args) -> dict:
    """A synthetic project, its students (LEAP, ConvLSTM-LEAP, a second ConvLSTM-LEAP on shuffle 2) trained
    for one step, and the benchmark videos."""
    from dlc_recurrent.distill import create_training_set
    from dlc_recurrent.synthetic import make_synthetic_project, open_synthetic_project
    from dlc_recurrent.training import train

    work = args.out / "infer_work"
    stamp = {"width": args.width, "height": args.height, "render_frames": args.render_frames}
    if work.exists() and not (args.keep and (work / "settings.json").is_file()
                              and json.loads((work / "settings.json").read_text()) == stamp):
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    configs = list(work.glob("*/config.yaml"))
    started = time.time()
    config = configs[0] if configs else make_synthetic_project(
        work, n_videos=1, n_frames=args.render_frames, width=args.width, height=args.height,
        n_labeled_frames=20, seed=2)
    source = open_synthetic_project(config).videos[0]
    # Trained-folder students that analyze_videos can load: one step of training is enough for timing.
    create_training_set(config, windows_per_video=16, scale=1.0)
    for model, batch in (("leap", 4), ("convlstm_leap", 1)):
        train(config, model=model, schedule="fixed", epochs=1, steps_per_epoch=1, batch_size=batch, augment=False)
    create_training_set(config, shuffle=2, windows_per_video=16, scale=1.0, max_gap_fill=0)  # the confident student
    train(config, shuffle=2, model="convlstm_leap", schedule="fixed", epochs=1, steps_per_epoch=1, batch_size=1,
          augment=False)
    (work / "settings.json").write_text(json.dumps(stamp))
    print(f"Project {config.parent} with its students ready in {time.time() - started:.0f} s", flush=True)

    videos = work / "videos"
    clip = read_gray(source)
    window = 15
    wanted = {"speed": (args.frames, None), "windowed": (args.windowed_frames + window - 1, None),
              "dlc": (args.dlc_frames, None), "short": (args.mem_short, None),
              "small_short": (args.mem_short, args.small_size), "small_long": (args.long_frames, args.small_size)}
    paths = {}
    for name, (frames, size) in wanted.items():
        w, h = size or (args.width, args.height)
        paths[name] = write_looped(clip, videos / f"bench_{w}x{h}_{frames}.mp4", frames, size)
    return {"config": config, "videos": paths, "fps": 250.0}


def read_gray(video: Path):
    """All frames of a (short) video as grayscale uint8 arrays."""
    import cv2

    capture = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
    capture.release()
    return frames


def write_looped(clip, path: Path, n_frames: int, size=None) -> Path:
    """Write ``n_frames`` frames of ``clip`` looped (resized to ``size``) as a grayscale mp4v video."""
    import cv2

    if path.is_file():
        capture = cv2.VideoCapture(str(path))
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        capture.release()
        if count == n_frames:
            return path
    path.parent.mkdir(parents=True, exist_ok=True)
    if size is not None:
        clip = [cv2.resize(frame, size, interpolation=cv2.INTER_AREA) for frame in clip]
    height, width = clip[0].shape
    partial = path.with_name("partial_" + path.name)
    writer = cv2.VideoWriter(str(partial), cv2.VideoWriter_fourcc(*"mp4v"), 250, (width, height), isColor=False)
    for i in range(n_frames):
        writer.write(clip[i % len(clip)])
    writer.release()
    os.replace(partial, path)
    return path


# --------------------------------------------------------------------------------------------
# Workers (each in its own subprocess)
# --------------------------------------------------------------------------------------------


def _video_size(video) -> str:
    import cv2

    capture = cv2.VideoCapture(str(video))
    size = f"{int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))}x{int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))}"
    capture.release()
    return size


def _read_meta(h5: Path) -> dict:
    with h5.with_name(h5.stem + "_meta.pickle").open("rb") as handle:
        return pickle.load(handle)["data"]


def worker_student(task: dict) -> dict:
    """dlc_recurrent.analyze_videos on one video with one student; times and peak memory."""
    with _common.MemorySampler() as memory:
        import dlc_recurrent  # noqa: F401  (before tensorflow)
        import dlc_recurrent.inference.analyze as infer
        from dlc_recurrent.inference.analyze import analyze_videos

        # Note when predict_video (the streaming loop inside analyze_videos) runs, for the growth figure.
        spans, predict_video = [], infer.predict_video

        def timed_predict_video(*args, **kwargs):
            begun = time.perf_counter()
            result = predict_video(*args, **kwargs)
            spans.append((begun, time.perf_counter()))
            return result

        infer.predict_video = timed_predict_video
        baseline_mb = memory.current_mb()
        dest = Path(task["dest"])
        started = time.perf_counter()
        scorer = analyze_videos(task["config"], [task["video"]], model=task["model"], state_reset=task["state_reset"],
                                destfolder=str(dest), overwrite=True, progress=False,
                                confident_shuffle=task.get("confident_shuffle"), batch_size=task.get("batch_size"))
        wall_s = time.perf_counter() - started
    meta = _read_meta(dest / f"{Path(task['video']).stem}{scorer}.h5")
    frames = meta["nframes"]
    state_reset = meta["dlc_recurrent"]["state_reset"] if "dlc_recurrent" in meta else None
    return {"frames": frames, "frame_size": _video_size(task["video"]), "wall_s": wall_s,
            "inference_s": meta["run_duration"], "fps": frames / meta["run_duration"],
            "fps_end_to_end": frames / wall_s,
            "state_reset": state_reset, "rss_after_imports_mb": round(baseline_mb, 1),
            "rss_growth_late_mb": memory.growth_mb(*spans[0], settle=0.5), **memory.report()}


def worker_windowed(task: dict) -> dict:
    """predict_windowed_reference on frames window_length-1 ... (full windows only) of a short clip."""
    with _common.MemorySampler() as memory:
        import dlc_recurrent  # noqa: F401  (before tensorflow)
        from dlc_recurrent.frames import read_video_info
        from dlc_recurrent.inference.streams import predict_windowed_reference
        from dlc_recurrent.inference.student import load_trained_student
        from dlc_recurrent.project import load_project, video_crop

        project = load_project(task["config"])
        student = load_trained_student(project, 1, 0, "convlstm_leap")
        info = read_video_info(task["video"])
        first = student.window_length - 1
        frames = range(first, info.n_frames)
        started = time.perf_counter()
        predict_windowed_reference(student, info, video_crop(project, info), frames=frames)
        wall_s = time.perf_counter() - started
    return {"frames": len(frames), "frame_size": _video_size(task["video"]), "wall_s": wall_s,
            "inference_s": wall_s, "fps": len(frames) / wall_s, "fps_end_to_end": len(frames) / wall_s,
            **memory.report()}


def install_network_guard() -> list:
    """Block and record every outside (AF_INET/AF_INET6) connection and name lookup of this process.

    Catches Python-level networking (requests, httpx, urllib, huggingface_hub); a C library opening
    its own sockets would bypass it.
    """
    import socket

    attempts: list = []
    local = {None, "localhost", "127.0.0.1", "::1", ""}

    def refuse(what):
        attempts.append(what)
        raise OSError(f"benchmark: network access blocked ({what})")

    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in local:
            refuse(f"connect {address}")
        return real_connect(self, address)

    def connect_ex(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in local:
            refuse(f"connect_ex {address}")
        return real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if host not in local:
            refuse(f"getaddrinfo {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = connect, connect_ex, getaddrinfo
    return attempts


def worker_dlc(task: dict) -> dict:
    """deeplabcut.analyze_videos with an untrained ResNet-50 snapshot of a fresh shuffle, on CPU."""
    os.environ["HF_HUB_OFFLINE"] = "1"  # before deeplabcut (and huggingface_hub) is imported
    attempts = install_network_guard()
    with _common.MemorySampler() as memory:
        import deeplabcut
        import torch
        from deeplabcut.pose_estimation_pytorch.config.pose import PoseConfig
        from deeplabcut.pose_estimation_pytorch.models.model import PoseModel
        from deeplabcut.utils import auxiliaryfunctions

        config = Path(task["config"])
        cfg = auxiliaryfunctions.read_config(config)
        shuffle, train_folder = _fresh_dlc_shuffle(config, cfg, auxiliaryfunctions, deeplabcut)
        snapshot = train_folder / "snapshot-001.pt"
        if not snapshot.is_file():
            pose_config = PoseConfig.from_yaml(train_folder / "pytorch_config.yaml")
            model = PoseModel.build(pose_config["model"])
            torch.save({"model": model.state_dict()}, snapshot)
        dest = Path(task["dest"])
        baseline_mb = memory.current_mb()
        started = time.perf_counter()
        scorer = deeplabcut.analyze_videos(str(config), [task["video"]], shuffle=shuffle, device="cpu",
                                           destfolder=str(dest), overwrite=True)
        wall_s = time.perf_counter() - started
    meta = _read_meta(dest / f"{Path(task['video']).stem}{scorer}.h5")
    frames = meta["nframes"]
    return {"frames": frames, "frame_size": _video_size(task["video"]), "wall_s": wall_s,
            "inference_s": meta["run_duration"], "fps": frames / meta["run_duration"],
            "fps_end_to_end": frames / wall_s, "batch_size": meta.get("batch_size"), "scorer": scorer,
            "shuffle": shuffle, "torch_threads": torch.get_num_threads(), "network_attempts": len(attempts),
            "network_attempt_list": attempts[:5], "hf_hub_offline": os.environ.get("HF_HUB_OFFLINE"),
            "rss_after_setup_mb": round(baseline_mb, 1), **memory.report()}


def _fresh_dlc_shuffle(config: Path, cfg: dict, auxiliaryfunctions, deeplabcut):
    """The benchmark's own ResNet-50 shuffle: created once (the first unused number from 2), then reused."""
    from deeplabcut.core.engine import Engine

    fraction = cfg["TrainingFraction"][0]
    marker = config.parent / "benchmark_dlc_shuffle.txt"
    if marker.is_file():
        shuffle = int(marker.read_text())
    else:
        shuffle = 2
        while (config.parent
               / auxiliaryfunctions.get_model_folder(fraction, shuffle, cfg, engine=Engine.PYTORCH)).exists():
            shuffle += 1
        deeplabcut.create_training_dataset(str(config), Shuffles=[shuffle], net_type="resnet_50",
                                           engine=Engine.PYTORCH, userfeedback=False)
        marker.write_text(str(shuffle))
    folder = config.parent / auxiliaryfunctions.get_model_folder(fraction, shuffle, cfg, engine=Engine.PYTORCH)
    return shuffle, folder / "train"


def worker_bare(task: dict) -> dict:
    """The students' networks alone on frames already decoded into memory (no decoding, no output), in
    analyze_videos' default precision: LEAP's forward pass in batches of 8 (the yardstick), and the
    recurrent student streamed with its state carried (encoder, one ConvLSTM step per frame, decoder and
    peaks), after a warm-up pass; the best of two timed passes."""
    with _common.MemorySampler() as memory:
        import numpy as np

        import dlc_recurrent  # noqa: F401  (before tensorflow)
        from dlc_recurrent._tensorflow import tf
        from dlc_recurrent.frames import read_video_info
        from dlc_recurrent.inference.reader import FrameReader
        from dlc_recurrent.inference.streams import make_stream
        from dlc_recurrent.inference.student import load_trained_student
        from dlc_recurrent.precision import keras_policy
        from dlc_recurrent.project import load_project, video_crop

        project = load_project(task["config"])
        policy = keras_policy("auto", "CPU")
        student = load_trained_student(project, 1, 0, task["model"], 0, policy)
        info = read_video_info(task["video"])
        frames = np.concatenate(list(FrameReader(info, video_crop(project, info), student.config.scale,
                                                 student.config.channels, 64)))
        if task["model"] == "leap":
            network = student.network
            forward = tf.function(lambda x: network(x, training=False),
                                  input_signature=[tf.TensorSpec([None, None, None, None], tf.uint8)])

            def one_pass():
                for i in range(0, len(frames), 8):
                    forward(frames[i : i + 8])
        else:
            def one_pass():  # analyze_videos' own stream (state carried: state_reset 0), minus reader and output
                stream = make_stream(student, 32)
                for i in range(0, len(frames), 32):
                    stream.step(frames[i : i + 32])
        one_pass()
        best = float("inf")
        for _ in range(2):
            started = time.perf_counter()
            one_pass()
            best = min(best, time.perf_counter() - started)
    return {"frames": len(frames), "frame_size": _video_size(task["video"]), "wall_s": best, "inference_s": best,
            "fps": len(frames) / best, "fps_end_to_end": len(frames) / best, "precision": policy, **memory.report()}


WORKERS = {"bare": worker_bare, "student": worker_student, "windowed": worker_windowed, "dlc": worker_dlc}


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def bare_ratios(one: dict) -> dict:
    """The ratios within one round of speed runs: analysis against the bare networks, and the
    segments' cost against the carried state."""
    bare, bare_recurrent = one["bare_leap"]["fps"], one["bare_recurrent"]["fps"]
    return {
        "LEAP/bare": one["leap"]["fps"] / bare,
        "LEAP after start-up/bare": one["leap"]["fps_after_startup"] / bare,
        "recurrent/bare LEAP": one["recurrent"]["fps"] / bare,
        "recurrent after start-up/bare LEAP": one["recurrent"]["fps_after_startup"] / bare,
        "recurrent after start-up/bare ConvLSTM-LEAP": one["recurrent"]["fps_after_startup"] / bare_recurrent,
        "carried/bare LEAP": one["recurrent_sr0"]["fps"] / bare,
        "segments' cost": one["recurrent_sr0"]["fps"] / one["recurrent"]["fps"] - 1,
    }


def show(name: str, value: float) -> str:
    """A ratio as "0.93x", the segments' cost (extra time) as "+4.0%"."""
    return f"{value:+.1%}" if name == "segments' cost" else f"{value:.2f}x"


def make_runner(config: str, dest: Path, log: Path):
    """``run(label, task)``: one worker subprocess on ``task``, its result printed and labelled ``label``."""

    def run(label, task):
        task = {"config": config, "dest": str(dest / label.replace(" ", "_").replace("=", "")), **task}
        result = _common.run_worker(SCRIPT, task, log)
        result["method"] = label
        print(f"  {label:22s} {result['frames']:>7} frames {result['frame_size']:>8}: {result['fps']:.2f} fps, "
              f"peak RSS {result['peak_rss_mb']:.0f} MB ({result['worker_wall_s']:.0f} s)", flush=True)
        return result

    return run


def repeated_speed_tasks(videos: dict) -> dict:
    """The speed rows every round runs: key -> (label, worker task)."""
    speed_video = str(videos["speed"])
    return {
        "bare_leap": ("bare LEAP network", {"kind": "bare", "video": speed_video, "model": "leap"}),
        "bare_recurrent": ("bare ConvLSTM-LEAP", {"kind": "bare", "video": speed_video, "model": "convlstm_leap"}),
        "leap": ("leap", {"kind": "student", "video": speed_video, "model": "leap", "state_reset": None}),
        # the same analyses of a short video, right after the long one: their difference is the start-up
        "leap_short": ("leap short", {"kind": "student", "video": str(videos["short"]), "model": "leap",
                                      "state_reset": None}),
        "recurrent": ("recurrent", {"kind": "student", "video": speed_video, "model": "convlstm_leap",
                                    "state_reset": None}),
        "recurrent_short": ("recurrent short", {"kind": "student", "video": str(videos["short"]),
                                                "model": "convlstm_leap", "state_reset": None}),
        "recurrent_sr0": ("recurrent sr=0", {"kind": "student", "video": speed_video, "model": "convlstm_leap",
                                             "state_reset": 0}),
    }


def add_startup(rounds: list[dict]) -> None:
    """Add LEAP's and the recurrent student's fps after start-up and start-up seconds to each round,
    from the difference of its long and short runs."""
    for one in rounds:
        for name in ("leap", "recurrent"):
            long, short = one[name], one[f"{name}_short"]
            long["fps_after_startup"] = ((long["frames"] - short["frames"])
                                         / (long["inference_s"] - short["inference_s"]))
            long["startup_s"] = short["inference_s"] - short["frames"] / long["fps_after_startup"]


def measure_speed(args, videos: dict, run) -> tuple[list[dict], dict]:
    """Run the speed rows: ``--repeats`` rounds of the repeated rows, then the two students, the naive
    windows and DeepLabCut once; the rounds, and the last round with the single rows."""
    print(f"\nSpeed: analyzing {videos['speed'].name} ...", flush=True)
    repeated = repeated_speed_tasks(videos)
    rounds = []
    for index in range(args.repeats):
        tag = f" #{index + 1}" if args.repeats > 1 else ""
        rounds.append({key: run(label + tag, task) for key, (label, task) in repeated.items()})
    add_startup(rounds)
    speed = {
        **rounds[-1],
        "pair": run("two students", {"kind": "student", "video": str(videos["speed"]), "model": "convlstm_leap",
                                     "state_reset": None, "confident_shuffle": 2}),
        "naive": run("naive windows", {"kind": "windowed", "video": str(videos["windowed"])}),
        "dlc": run("DLC ResNet-50", {"kind": "dlc", "video": str(videos["dlc"])}),
    }
    return rounds, speed


def annotate_speed(rounds: list[dict], speed: dict) -> list[dict]:
    """Add the x-LEAP ratio, part and notes to the speed rows; the rows of the earlier rounds."""
    leap_fps = speed["leap"]["fps"]
    earlier = [result for one in rounds[:-1] for result in one.values()]
    for result in earlier:
        result["x_leap"], result["part"] = float("nan"), "speed"
    for key, result in speed.items():
        result["x_leap"] = result["fps"] / leap_fps
        result["part"] = "speed"
    speed["naive"]["note"] = f"{speed['naive']['frames']} frames, fps extrapolated"
    speed["dlc"]["note"] = (f"first {speed['dlc']['frames']} frames, batch {speed['dlc']['batch_size']}, "
                            f"{speed['dlc']['torch_threads']} torch threads")
    speed["recurrent"]["note"] = f"state_reset {speed['recurrent']['state_reset']}"
    speed["pair"]["note"] = f"{speed['pair']['fps'] / speed['recurrent']['fps']:.2f}x the recurrent student's fps"
    return earlier


def print_goal_checks(speed: dict) -> None:
    """Print the recurrent rows against the goals (LEAP, naive windows, DLC) and store the ratios in them."""
    leap_fps = speed["leap"]["fps"]
    for name in ("recurrent", "recurrent_sr0"):
        r = speed[name]
        checks = [("LEAP", r["fps"] / leap_fps, GOALS["leap"]),
                  ("naive windows", r["fps"] / speed["naive"]["fps"], GOALS["naive"]),
                  ("DLC ResNet-50", r["fps"] / speed["dlc"]["fps"], GOALS["dlc"])]
        text = ", ".join(f"{value:.2f}x {other} [{'>=' if goal != 1 else '>'} {goal:g}: "
                         f"{'met' if (value >= goal if goal != 1 else value > goal) else 'NOT met'}]"
                         for other, value, goal in checks)
        print(f"  {r['method']:15s} vs {text}")
        r["vs_leap"], r["vs_naive"], r["vs_dlc"] = (value for _, value, _ in checks)


def print_bare_ratios(rounds: list[dict]) -> list[dict]:
    """Print each round's ratios against the bare networks (and their median); the ratios, one dict a round."""
    print("  vs the bare networks (goals: LEAP >= 0.95x, recurrent >= 0.9x bare LEAP, segments < 5%),"
          " per round; 'after start-up' from the long and short runs' difference:")
    ratios = [bare_ratios(one) for one in rounds]
    for index, ratio in enumerate(ratios):
        print(f"    round {index + 1}: "
              + ", ".join(f"{name} {show(name, value)}" for name, value in ratio.items()))
    if len(ratios) > 1:
        print("    median:  " + ", ".join(f"{name} {show(name, statistics.median(r[name] for r in ratios))}"
                                      for name in ratios[0]))
    return ratios


def speed_part(args, videos: dict, run) -> tuple[dict, list[dict]]:
    """The speed comparison, measured and printed; the last round's rows by key, and the CSV rows."""
    rounds, speed = measure_speed(args, videos, run)
    earlier = annotate_speed(rounds, speed)
    print()
    _common.print_table(earlier + list(speed.values()), [
        ("method", "method"), ("frames", "frames"), ("frame_size", "size"), ("inference_s", "inference s"),
        ("fps", "fps"), ("fps_end_to_end", "fps end-to-end"), ("x_leap", "x LEAP"), ("peak_rss_mb", "peak RSS MB"),
        ("note", "note")],
        "Analysis speed (fps = frames / run_duration of the _meta.pickle; end-to-end = whole analyze call)")
    print("Ratios measured in this run (goal in brackets):")
    print_goal_checks(speed)
    ratios = print_bare_ratios(rounds)
    print(f"  start-up (last round): LEAP {speed['leap']['startup_s']:.1f} s, recurrent "
          f"{speed['recurrent']['startup_s']:.1f} s")
    pair = speed["pair"]
    print(f"  {pair['method']:15s} {pair['fps'] / speed['recurrent']['fps']:.2f}x the recurrent student, "
          f"{pair['fps'] / speed['dlc']['fps']:.2f}x DLC ResNet-50")
    d = speed["dlc"]
    print(f"  DeepLabCut ran with HF_HUB_OFFLINE={d['hf_hub_offline']}; outside network attempts blocked: "
          f"{d['network_attempts']}{' ' + str(d['network_attempt_list']) if d['network_attempts'] else ''}")
    print(f"  naive windows: timed on {speed['naive']['frames']} frames (each with a full window), "
          f"DLC on the first {d['frames']} frames; their fps are extrapolated to the whole video.\n")
    rows = earlier + list(speed.values())
    rows += [{"part": "ratios to the bare networks", "method": f"round {index + 1}", **ratio}
             for index, ratio in enumerate(ratios)]
    return speed, rows


def print_memory(memory_rows: list[dict]) -> None:
    """Print the memory table and each short-vs-long comparison (and the 100k-frame time estimate)."""
    print()
    _common.print_table(memory_rows, [
        ("method", "run"), ("frame_size", "size"), ("frames", "frames"), ("fps", "fps"),
        ("rss_after_imports_mb", "RSS imports MB"), ("peak_rss_mb", "peak RSS MB"), ("peak_anon_mb", "peak anon MB"),
        ("rss_growth_late_mb", "2nd-half growth MB")],
        "Peak host memory vs video length (2nd-half growth: RSS at the end of the streaming loop, predict_video,\n"
        "minus its highest RSS in the loop's first half, when tracing is over; ~0 for a long video = flat memory)")
    for short, long in ((memory_rows[0], memory_rows[1]), (memory_rows[2], memory_rows[3])):
        print(f"  {short['frame_size']}: {short['frames']} -> {long['frames']} frames "
              f"(x{long['frames'] / short['frames']:.0f}):"
              f" peak RSS {short['peak_rss_mb']:.0f} -> {long['peak_rss_mb']:.0f} MB "
              f"({long['peak_rss_mb'] - short['peak_rss_mb']:+.0f} MB), anonymous "
              f"{short['peak_anon_mb']:.0f} -> {long['peak_anon_mb']:.0f} MB")
    small_long = memory_rows[3]
    if small_long["frames"] < 100000:
        minutes = 100000 / small_long["fps"] / 60
        print(f"  The issue asks for 100k frames: --long-frames 100000 would take about {minutes:.0f} min "
              f"at the {small_long['fps']:.0f} fps measured here ({small_long['frame_size']}).")
    print()


def memory_part(args, videos: dict, run, speed: dict | None) -> list[dict]:
    """Peak memory of the recurrent student vs video length, measured (reusing the speed runs when the
    speed part ran) and printed; the CSV rows not already among the speed rows."""
    print("Memory vs video length (recurrent student, default state_reset, one process each) ...", flush=True)
    memory_rows = [dict(speed["recurrent_short"], method="recurrent short")
                   if n == "short" and "speed" in args.parts
                   else run(f"recurrent {n}", {"kind": "student", "video": str(videos[n]), "model": "convlstm_leap",
                                               "state_reset": None})
                   for n in ("short", "small_short", "small_long")]
    if "speed" in args.parts:
        long_full = dict(speed["recurrent"], method="recurrent speed run")
    else:
        long_full = run("recurrent speed", {"kind": "student", "video": str(videos["speed"]),
                                            "model": "convlstm_leap", "state_reset": None})
    memory_rows.insert(1, long_full)
    for r in memory_rows:
        r["part"] = "memory"
    print_memory(memory_rows)
    return [r for r in memory_rows if "speed" not in args.parts or r["method"] not in ("recurrent speed run",
                                                                                      "recurrent short")]


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.worker:
        task = json.loads(args.worker)
        _common.emit_result(WORKERS[task["kind"]](task))
        return

    import dlc_recurrent  # noqa: F401  (before tensorflow, which machine_description imports)

    started = time.time()
    machine = _common.machine_description()
    print(f"dlc-recurrent inference benchmark ({'quick smoke test' if args.quick else 'full size'})")
    _common.print_machine(machine)
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / "infer_benchmark.log"
    log.write_text("")
    setup = prepare(args)
    videos = setup["videos"]
    run = make_runner(str(setup["config"]), args.out / "infer_work" / "analyzed", log)
    rows, speed = [], None
    if "speed" in args.parts:
        speed, speed_rows = speed_part(args, videos, run)
        rows += speed_rows
    if "memory" in args.parts:
        rows += memory_part(args, videos, run, speed)

    _common.write_csv(args.out / "infer_benchmark.csv", rows, machine)
    print(f"Total {(time.time() - started) / 60:.1f} min; worker logs in {log}")


if __name__ == "__main__":
    main()
