"""How long may a recurrent student's segments be? (segments that cost < 5%).

``analyze_videos`` runs the ConvLSTM over segments of ``state_reset`` frames, each started from a zero
state on the ``window_length - 1`` frames before it (its burn-in), so every frame sees at least the
context it was trained with. The burn-in is recomputed for every segment: a cost of about
``(window_length - 1) / state_reset`` of the recurrence. Longer segments cost less, but their last
frames see far more context than any training window, and the state could drift there.

This script analyzes the same videos with one trained recurrent student at several ``state_reset``
values (``1`` is exactly the naive windowed reference: each frame's own window; ``0`` carries the state
through the whole video) and reports, per value:

* agreement with the windowed reference where both are sure (median px, share within 2 px): the drift;
  and, paired against the current default on the same points:
* with a synthetic video's ground truth beside it: the error on visible and hidden points;
* with the teacher's predictions beside it: the distance to the teacher where it is sure, and on the
  points it is unsure of, to the straight line between its sure positions around runs of at most
  ``--bridge-max`` unsure frames (``real_project.py``'s bridge judge);
* the analysis fps (``run_duration``): every value is its own ``analyze_videos`` call in one process,
  after a warm-up call, and pays its own tracing, so read the fps of short videos loosely.

    python benchmarks/segments_benchmark.py --config path/to/config.yaml --shuffle 1 --videos a.mp4 b.mp4

Outputs: ``segments.csv`` in ``--out``. The student is used as trained (nothing here trains).
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _common import machine_description, print_machine  # noqa: E402

import dlc_recurrent  # noqa: E402  (torchvision before tensorflow)
from dlc_recurrent.errors import ProjectError  # noqa: E402
from dlc_recurrent.evaluation.stats import compare_methods  # noqa: E402
from dlc_recurrent.inference.student import load_trained_student  # noqa: E402
from dlc_recurrent.project import find_teacher, load_project, read_teacher  # noqa: E402
from dlc_recurrent.synthetic import ground_truth_path, read_ground_truth  # noqa: E402

# isort: split
# after dlc_recurrent (which loads torchvision before anything imports tensorflow)
from real_project import bridge_judge, judged_errors  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, required=True, help="the project's config.yaml")
    parser.add_argument("--videos", type=Path, nargs="+", required=True, help="videos to analyze")
    parser.add_argument("--shuffle", type=int, default=1)
    parser.add_argument("--model", default="convlstm_leap")
    parser.add_argument("--state-resets", default="1,60,120,240,0",
                        help="comma-separated state_reset values; 1 = the windowed reference, 0 = carried state")
    parser.add_argument("--default", type=int, default=None,
                        help="the value the others are paired against (default: 4 x window_length)")
    parser.add_argument("--teacher-scorer", default=None, help="which teacher h5 beside a video, if several")
    parser.add_argument("--bridge-max", type=int, default=10, help="longest unsure run the bridge judge spans")
    parser.add_argument("--out", type=Path, default=HERE / "out" / "segments")
    return parser.parse_args(argv)


def analyze(config: Path, video: Path, shuffle: int, model: str, state_reset: int,
            dest: Path) -> tuple[np.ndarray, float]:
    """Predictions (n, K, 3) of one video at one state_reset, and its analysis fps (run_duration)."""
    scorer = dlc_recurrent.analyze_videos(str(config), [str(video)], shuffle=shuffle, model=model,
                                          state_reset=state_reset, destfolder=str(dest), overwrite=True,
                                          progress=False)
    table = pd.read_hdf(dest / f"{video.stem}{scorer}.h5")
    with open(dest / f"{video.stem}{scorer}_meta.pickle", "rb") as handle:
        meta = pickle.load(handle)["data"]
    return table.to_numpy(float).reshape(len(table), -1, 3), len(table) / meta["run_duration"]


def judgements(video: Path, project, teacher_scorer: str | None, bridge_max: int) -> dict:
    """What a video's points are judged against, name -> (target xy (n, K, 2), mask (n, K)): the synthetic
    ground truth beside it (visible and hidden points), or else the teacher (its sure points, and its
    unsure ones against the bridge judge); nothing for a video with neither."""
    if ground_truth_path(video).is_file():
        truth = read_ground_truth(video)
        return {"truth, visible": (truth.xy, truth.visible), "truth, hidden": (truth.xy, ~truth.visible)}
    try:
        teacher = read_teacher(find_teacher(video, teacher_scorer), project.bodyparts)
    except ProjectError as error:  # no (single) teacher beside the video
        print(f"{video.name}: not judged against a teacher ({' '.join(str(error).split())[:160]})")
        return {}
    sure = teacher.likelihood >= project.pcutoff
    judge = bridge_judge(teacher.xy, sure, bridge_max)
    return {"teacher, its sure points": (teacher.xy, sure),
            "bridge judge, hidden points": (judge, ~sure & np.isfinite(judge).all(-1))}


def compare(errors: dict[int, np.ndarray], default: int, what: str) -> list[dict]:
    """Mean error per state_reset on the same points (``compare_methods``, paired against the default),
    with each value's difference from the default."""
    rows = compare_methods({str(v): e for v, e in errors.items()}, reference=str(default))
    mean_default = next(row["mean_px"] for row in rows if row["method"] == str(default))
    return [{"state_reset": int(row["method"]), "measure": what, "n": row["n"], "mean_px": row["mean_px"],
             "minus_default_px": row["mean_px"] - mean_default, "p_vs_default": row[f"p_{default}_vs_method"]}
            for row in rows]


def main(argv=None) -> None:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    print_machine(machine_description())
    project = load_project(args.config)
    window = load_trained_student(project, args.shuffle, 0, args.model).window_length
    default = 4 * window if args.default is None else args.default
    values = [int(v) for v in args.state_resets.split(",")]
    if default not in values:
        values.append(default)
    started = time.time()
    rows = []
    for video in args.videos:
        analyze(args.config, video, args.shuffle, args.model, default, args.out / "warm-up")
        predictions, fps = {}, {}
        for value in values:
            predictions[value], fps[value] = analyze(args.config, video, args.shuffle, args.model, value,
                                                     args.out / f"sr{value}")
            print(f"{video.name}: state_reset {value}: {fps[value]:.1f} fps", flush=True)
        n = min(len(p) for p in predictions.values())
        predictions = {v: p[:n] for v, p in predictions.items()}
        found = []
        if 1 in predictions:  # drift: against each frame's own window
            reference = predictions[1]
            for value, p in predictions.items():
                sure = (reference[..., 2] >= project.pcutoff) & (p[..., 2] >= project.pcutoff)
                distance = np.linalg.norm(p[..., :2] - reference[..., :2], axis=-1)[sure]
                rows.append({"video": video.name, "state_reset": value, "measure": "vs windowed reference (both sure)",
                             "n": int(sure.sum()), "median_px": float(np.median(distance)),
                             "within_2px": float(np.mean(distance <= 2)), "mean_px": float(np.mean(distance)),
                             "fps": fps[value]})
        for name, (target, mask) in judgements(video, project, args.teacher_scorer, args.bridge_max).items():
            m = min(n, len(target))
            _, errors = judged_errors({v: p[:m] for v, p in predictions.items()}, target[:m], mask[:m])
            found += [dict(row, video=video.name) for row in compare(errors, default, name)]
        for row in found:
            row["fps"] = fps[row["state_reset"]]
        rows += found
    table = pd.DataFrame(rows)
    table.to_csv(args.out / "segments.csv", index=False)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    print(f"Total {(time.time() - started) / 60:.1f} min; {args.out / 'segments.csv'}")


if __name__ == "__main__":
    main()
