r"""Occlusion benchmark: which training recipe tracks hidden body parts, judged without leaks.

One synthetic project (true positions known on every frame, including frames where the tail or a
bar hides a paw) with two training videos and a third video that no variant ever trains on. Every
variant is trained with ``dlc_recurrent.train`` on the same windows (training sets are seeded), then
analyzes the held-out video with ``predict_video``. Errors are measured against the ground truth:

* on visible points, and on naturally hidden points (nothing placed on a body part, so nothing
  leaks), the latter also by the length of the hidden run a frame belongs to (1..10, 11+);
* paired two-tailed t-tests (same points) of every variant against the paper's recipe;
* calibration: per likelihood bin, the fraction of predictions within 5 px, visible and hidden apart.

Variants (``--variants`` picks a subset, comma-separated):

  leap                  the single-frame LEAP (paper)
  leap+median+interp    LEAP, then ``deeplabcut.filterpredictions`` (median) and linear
                        interpolation of sub-pcutoff points: what DLC users do today
  convlstm              ConvLSTM-LEAP, the paper's recipe (the reference of the t-tests)
  leap+occluders        LEAP trained with drifting occluders placed independently of the body
                        parts: the control (if it matches convlstm+occluders, the gain is not temporal)
  convlstm+occluders    ConvLSTM-LEAP with the same occluders
  leap+gapfill          LEAP on the same gap-filled targets: the control for gap filling (does a single
                        frame learn to guess hidden parts from the interpolated targets as well?)
  convlstm+gapfill      ConvLSTM-LEAP on targets whose short teacher gaps are interpolated
  convlstm+both         occluders and gap filling
  convlstm-T30          the paper's recipe with 30-frame windows
  bidirectional         forward + backward ConvLSTM (offline: each frame also sees the frames after it)
  bidirectional+occluders  the same with occluders
  bidirectional+gapfill    the bidirectional student on gap-filled targets
  convlstm+gapfill30    gap filling up to 30 frames (twice the window) instead of 12
  convlstm+gapfill-T30, -T60   the default on 30- or 60-frame windows, batches of 4 or 2 windows
                        (the frames per step of 8 x 15): longer context at the same cost per step
  convlstm+gapfill-w0.5 the default with half the loss weight on gap-filled targets

Added when both are present: ``convlstm+gapfill|convlstm``, the two students analyzing together
(``analyze_videos(..., confident_shuffle=...)``): the paper's student where its likelihood reaches
``--handoff``, the gap-filled one elsewhere, and across short runs where the paper's student is unsure
the gap-filled one's points moved toward a straight line where they agree with it
(``dlc_recurrent.inference.combine_students``, as ``predict_video`` combines two students streamed together); and
``convlstm+gapfill|convlstm-nobridge``, the same without the bridges.

Always added: ``truth+interp``, the true positions linearly interpolated across every hidden run,
the best any interpolation could do (its hidden error is how far paths bend while hidden); the
``teacher`` alone (the simulated DLC network, a member of every ensemble) and Lightning Pose's
Ensemble Kalman Smoothing (``dlc_recurrent.ensemble``, as ``ensemble_videos`` and the occlusion study
compute it): ``teacher+EKS``, ``teacher+leap+EKS`` (with ``leap``) and ``teacher+leap+<student>+EKS``
for each ConvLSTM student measured (does a recurrent student add anything to the ensemble?).

Run (from the repository root, with the project's virtual environment active):

    python benchmarks/occlusion_benchmark.py --quick   # tiny sizes, a smoke test (~3-5 min)
    python benchmarks/occlusion_benchmark.py           # the measurement (~1-2 h on 2 CPU cores)
    python benchmarks/occlusion_benchmark.py --seed 1 --out benchmarks/out/seed1   # another project
    python benchmarks/occlusion_benchmark.py --pool benchmarks/out,benchmarks/out/seed1 --out benchmarks/out/pooled
                                                       # both held-out videos analysed together
    python benchmarks/occlusion_benchmark.py --keep --epochs 20 --steps 30   # train the kept variants on
                                                       # (from their last epoch) and measure again
    python benchmarks/occlusion_benchmark.py --train-seed 1 --out benchmarks/out/train-seed1
                                                       # the same project, students trained from another
                                                       # seed: how much of a difference is run-to-run spread
    python benchmarks/occlusion_benchmark.py --spread benchmarks/out,benchmarks/out/train-seed1 \
        --out benchmarks/out/spread
                                                       # errors per training seed, mean and sd over them
    python benchmarks/occlusion_benchmark.py --pair-sweep benchmarks/out,benchmarks/out/train-seed1 \
        --out benchmarks/out/handoff
                                                       # the two students' errors per handoff and per bridge setting,
                                                       # on the held-out video and on the training videos' frames no
                                                       # student trained on

Writes ``<out>/occlusion_benchmark.csv`` (errors per variant), ``occlusion_by_length.csv``,
``occlusion_calibration.csv`` and ``occlusion_benchmark.png`` (default ``benchmarks/out``,
git-ignored); the project stays in ``<out>/occlusion_work`` (``--keep`` reuses trained variants).
After a run that trained kept variants on, ``occlusion_learning_curve.csv``/``.png`` show the
errors at every length of training measured in that folder.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import dlc_recurrent  # noqa: F401  (before tensorflow: loads torchvision first)
from dlc_recurrent.measures import point_errors, true_runs
from dlc_recurrent.synthetic import OCCLUSION_PHASES, PRESETS

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

SCRIPT = Path(__file__).resolve()
REFERENCE = "convlstm"  # the paper's recipe: every variant is tested against it
FILTER = "leap+median+interp"  # what DLC users do today: the hidden-point goal is to beat it
LONGEST = 10  # hidden runs of more frames are pooled as "11+"
WITHIN = 5.0  # px: a prediction this close to the truth counts as right (calibration)
ORACLE = "truth+interp"  # true positions interpolated across hidden runs: how far the path bends
PAIR = ("convlstm+gapfill", "convlstm")  # main and confident student of the two-student analysis
PAIRED = "|".join(PAIR)
UNBRIDGED = f"{PAIRED}-nobridge"


@dataclass(frozen=True)
class Variant:
    """One recipe: which student, on which training set (its own shuffle), with which options."""

    name: str
    model: str
    shuffle: int
    trainset: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)


SETTINGS = ("width", "height", "frames", "scale", "windows_per_video", "epochs", "steps", "seed",
            "train_seed", "occlusions_during", "stride_hz", "schedule", "force_steps",
            "preset")  # a work folder made with other settings is rebuilt
SETTINGS_BEFORE = {"occlusions_during": "stance", "stride_hz": 4.0, "schedule": "fixed", "force_steps": None,
                   "preset": "default"}  # folders made before these existed
PAPER_TARGETS = {"max_gap_fill": 0}  # every variant states its targets; the package default may differ
OCCLUDERS = {"occluder_probability": 0.5}
GAP_FILL = {"max_gap_fill": 12}
VARIANTS = [
    Variant("leap", "leap", 1),
    Variant("leap+median+interp", "leap", 1),
    Variant("convlstm", "convlstm_leap", 1),
    Variant("leap+occluders", "leap", 2, training=OCCLUDERS),
    Variant("convlstm+occluders", "convlstm_leap", 2, training=OCCLUDERS),
    Variant("leap+gapfill", "leap", 3, trainset=GAP_FILL),
    Variant("convlstm+gapfill", "convlstm_leap", 3, trainset=GAP_FILL),
    Variant("convlstm+both", "convlstm_leap", 4, trainset=GAP_FILL, training=OCCLUDERS),
    Variant("convlstm-T30", "convlstm_leap", 5, trainset={"window_length": 30}),
    Variant("bidirectional", "bidirectional_leap", 1),
    Variant("bidirectional+occluders", "bidirectional_leap", 2, training=OCCLUDERS),
    Variant("bidirectional+gapfill", "bidirectional_leap", 3, trainset=GAP_FILL),
    Variant("convlstm+gapfill30", "convlstm_leap", 6, trainset={"max_gap_fill": 30}),
    # Longer windows at the same frames per step (8 x 15 = 4 x 30 = 2 x 60): context, not compute.
    Variant("convlstm+gapfill-T30", "convlstm_leap", 7, trainset={**GAP_FILL, "window_length": 30},
            training={"batch_size": 4}),
    Variant("convlstm+gapfill-T60", "convlstm_leap", 8, trainset={**GAP_FILL, "window_length": 60},
            training={"batch_size": 2}),
    # Does a lower loss weight for the interpolated targets buy back visible accuracy?
    Variant("convlstm+gapfill-w0.5", "convlstm_leap", 9, trainset=GAP_FILL, training={"gap_filled_weight": 0.5}),
    # The decoder sees the frame's own features beside the memory: a visible part placed from its frame.
    Variant("convlstm+skip", "convlstm_leap", 10, training={"skip_connection": True}),
    Variant("convlstm+gapfill+skip", "convlstm_leap", 11, trainset=GAP_FILL, training={"skip_connection": True}),
]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test of the script")
    parser.add_argument("--out", type=Path, default=SCRIPT.parent / "out", help="folder for CSV, PNG, work files")
    parser.add_argument("--keep", action="store_true", help="reuse the project and the variants trained before; "
                        "with more --epochs than they had, train them on from where they stopped")
    parser.add_argument("--variants", default=",".join(v.name for v in VARIANTS), help="comma-separated subset")
    parser.add_argument("--width", type=int)
    parser.add_argument("--height", type=int)
    parser.add_argument("--frames", type=int, help="frames per video")
    parser.add_argument("--scale", type=float, help="training-set scale")
    parser.add_argument("--windows-per-video", type=int)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--steps", type=int, help="steps per epoch (both students)")
    parser.add_argument("--schedule", choices=["fixed", "converge"], default="fixed",
                        help="fixed: --epochs x --steps (the measurements so far); converge: the package's default, "
                             "until the test loss stops improving (--epochs and --steps unused)")
    parser.add_argument("--force-steps", type=int, default=None,
                        help="with --schedule converge: exactly this many steps (min_steps = max_steps), e.g. 4x what "
                             "the default took, to see how far the default stopped from a longer run")
    parser.add_argument("--seed", type=int, default=0, help="the project (videos, teacher) and its training sets")
    parser.add_argument("--train-seed", type=int,
                        help="the students' training (initial weights, sample order, augmentation); default --seed")
    parser.add_argument("--occlusions-during", choices=OCCLUSION_PHASES, default="stance",
                        help="hide paws only while they slide back in stance (straight motion), or at any phase "
                             "(they may lift, swing and land while hidden): see make_synthetic_project")
    parser.add_argument("--preset", choices=["default", "long_hidden"], default="default",
                        help="synthetic.PRESETS: long_hidden hides paws for 13-60 frames at any phase (longer than "
                             "max_gap_fill, as a hind paw under a real mouse's body); sets the occlusion options")
    parser.add_argument("--stride-hz", type=float, default=4.0,
                        help="strides per second at 250 fps; faster gaits bend the path more within an occlusion")
    parser.add_argument("--interp", default="convlstm,bidirectional+gapfill",
                        help="variants that also get '<name>+interp': their own points under pcutoff interpolated "
                             "afterwards, as LEAP's are in leap+median+interp (comma-separated; '' for none)")
    parser.add_argument("--handoff", type=float, default=None,
                        help=f"likelihood from which {PAIRED} takes the paper's student's point "
                             "(default: the package's HANDOFF_LIKELIHOOD)")
    parser.add_argument("--pool", type=lambda text: [Path(p) for p in text.split(",")],
                        help="comma-separated --out folders of earlier runs: analyse their held-out videos together "
                             "(no training; variants present in all of them)")
    parser.add_argument("--spread", type=lambda text: [Path(p) for p in text.split(",")],
                        help="comma-separated --out folders of one project trained from different --train-seed: "
                             "each variant's errors per training seed, and their mean and spread (no training)")
    parser.add_argument("--bridge-max-gap", type=int, default=None,
                        help=f"longest run {PAIRED} bridges (default: the package's BRIDGE_MAX_GAP)")
    parser.add_argument("--bridge-tolerance", type=float, default=None,
                        help=f"{PAIRED}'s bridge reach in multiples of the students' median disagreement "
                             "(default: the package's BRIDGE_TOLERANCE)")
    parser.add_argument("--bridge-weight", type=float, default=None,
                        help=f"how far {PAIRED} moves a bridged point to the line "
                             "(default: the package's BRIDGE_WEIGHT)")
    parser.add_argument("--pair-sweep", "--handoff-sweep", type=lambda text: [Path(p) for p in text.split(",")],
                        help=f"comma-separated --out folders holding {PAIR[0]} and {PAIR[1]}: {PAIRED}'s errors per "
                             "handoff and per bridge setting, on the held-out video and on the training videos' "
                             "test-block frames (no training)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    full = dict(width=168, height=140, frames=900, scale=0.5, windows_per_video=200, epochs=8, steps=40)
    quick = dict(width=64, height=64, frames=150, scale=1.0, windows_per_video=20, epochs=1, steps=3)
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.train_seed is None:
        args.train_seed = args.seed
    known = {v.name for v in VARIANTS}
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    interp = [v.strip() for v in args.interp.split(",") if v.strip()]
    unknown = (set(args.variants) | set(interp)) - known
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}; choose from {sorted(known)}")
    args.interp = [v for v in interp if v in args.variants]
    if FILTER in args.variants and "leap" not in args.variants:
        parser.error(f"{FILTER} needs the leap variant")
    return args


# --------------------------------------------------------------------------------------------
# Worker: train one variant and predict the held-out video
# --------------------------------------------------------------------------------------------


def worker_variant(task: dict) -> dict:
    """Train (or reuse) one variant and save its predictions (n_frames, K, 3) on the held-out video."""
    import numpy as np

    from dlc_recurrent.distill import create_training_set
    from dlc_recurrent.frames import read_video_info
    from dlc_recurrent.inference.streams import predict_video
    from dlc_recurrent.inference.student import load_trained_student
    from dlc_recurrent.project import load_project, video_crop
    from dlc_recurrent.training import read_training_summary, train

    variant = next(v for v in VARIANTS if v.name == task["variant"])
    config, held_out = Path(task["config"]), Path(task["held_out"])
    project = load_project(config)
    started = time.perf_counter()
    spec = {"windows_per_video": task["windows_per_video"], "scale": task["scale"], "seed": task["seed"],
            **PAPER_TARGETS, **variant.trainset}
    create_training_set(config, shuffle=variant.shuffle, videos=task["train_videos"], **spec)
    if task.get("schedule", "fixed") == "converge":  # the package's default: until the test loss stops improving
        steps = task.get("force_steps")
        schedule = {"min_steps": steps, "max_steps": steps} if steps else {}
    else:
        schedule = {"schedule": "fixed", "epochs": task["epochs"], "steps_per_epoch": task["steps"]}
    folder = train(config, shuffle=variant.shuffle, model=variant.model, seed=task["train_seed"], **schedule,
                   **variant.training)
    trained_s = time.perf_counter() - started
    summary = read_training_summary(folder) or {}
    student = load_trained_student(project, variant.shuffle, 0, variant.model)
    info = read_video_info(held_out)
    started = time.perf_counter()
    predictions = predict_video(student, info, video_crop(project, info), progress=False)
    np.save(task["predictions"], predictions)
    return {"variant": variant.name, "train_min": round(trained_s / 60, 1),
            "analyze_fps": round(info.n_frames / (time.perf_counter() - started), 1),
            "steps": summary.get("steps"), "converged": summary.get("converged"),
            "kept_step": summary.get("kept_step")}


def median_interp(config: Path, held_out: Path, work: Path, pcutoff: float):
    """LEAP's predictions through deeplabcut.filterpredictions (median) and gap interpolation."""
    from dlc_recurrent.evaluation.occlusion.baselines import interpolate_unsure, median_filtered_leap

    _, filtered = median_filtered_leap(config, [held_out], work / "leap-predictions", progress=False)[str(held_out)]
    return interpolate_unsure(filtered, pcutoff)


# --------------------------------------------------------------------------------------------
# Analysis
# --------------------------------------------------------------------------------------------


def hidden_run_lengths(visible):
    """For every (frame, part): the length of the hidden run it belongs to (0 when visible)."""
    import numpy as np

    lengths = np.zeros(visible.shape, int)
    for part in range(visible.shape[1]):
        for start, stop in true_runs(~visible[:, part]):
            lengths[start:stop, part] = stop - start
    return lengths


def analyse(predictions: dict, truth, lengths, pcutoff: float, out: Path) -> list[dict]:
    """Tables (printed and CSV) and the figure; returns the summary rows.

    ``truth`` has ``xy`` and ``visible`` (frames, parts); ``lengths`` the hidden-run length of each point.
    """
    import numpy as np
    import pandas as pd

    from dlc_recurrent.evaluation.occlusion.natural import calibration_table
    from dlc_recurrent.evaluation.stats import paired_ttest

    visible = truth.visible
    runs = np.minimum(lengths, LONGEST + 1)
    errors = {name: point_errors(p, truth.xy) for name, p in predictions.items()}
    reference, filtered = errors.get(REFERENCE), errors.get(FILTER)
    rows, by_length, calibration = [], [], []
    for name, error in errors.items():
        row = {"variant": name, "visible_px": float(np.nanmean(error[visible])),
               "hidden_px": float(np.nanmean(error[~visible])),
               "hidden_median_px": float(np.nanmedian(error[~visible])),
               "n_visible": int(visible.sum()), "n_hidden": int((~visible).sum()),
               "hidden_over_visible": float(np.nanmean(error[~visible]) / np.nanmean(error[visible]))
               if name != ORACLE else float("nan")}
        likelihood = predictions[name][..., 2]
        passing, correct = likelihood[~visible] >= pcutoff, error[~visible] <= WITHIN
        if name != ORACLE:  # its "likelihood" is visibility itself
            row["hidden_passing_pcutoff"] = float(passing.mean())
            row["hidden_right_passing"] = float(passing[correct].mean()) if correct.any() else float("nan")
            row["hidden_wrong_failing"] = float((~passing[~correct]).mean()) if (~correct).any() else float("nan")
        for other_name, other in ((REFERENCE, reference), (FILTER, filtered)):
            if other is not None and name != other_name:
                for key, where in (("visible", visible), ("hidden", ~visible)):
                    row[f"{key}_minus_{other_name}_px"] = float(np.nanmean(error[where] - other[where]))
                    row[f"{key}_p_vs_{other_name}"] = paired_ttest(error[where], other[where])[1]
        rows.append(row)
        for length in range(1, LONGEST + 2):
            chosen = runs == length
            if chosen.any():
                entry = {"variant": name, "hidden_run": f"{length}" if length <= LONGEST else f"{LONGEST + 1}+",
                         "n": int(chosen.sum()), "error_px": float(np.nanmean(error[chosen]))}
                if reference is not None and name != REFERENCE:
                    entry[f"p_vs_{REFERENCE}"] = paired_ttest(error[chosen], reference[chosen])[1]
                by_length.append(entry)
        if name != ORACLE:
            table = calibration_table(error, likelihood, ~visible, within=WITHIN)
            calibration.append(table.assign(variant=name))
    pd.DataFrame(rows).to_csv(out / "occlusion_benchmark.csv", index=False)
    pd.DataFrame(by_length).to_csv(out / "occlusion_by_length.csv", index=False)
    pd.concat(calibration).to_csv(out / "occlusion_calibration.csv", index=False)
    _common.print_table(rows, [("variant", "variant"), ("visible_px", "visible px"), ("hidden_px", "hidden px"),
                               ("hidden_median_px", "hidden median"), ("hidden_over_visible", "hidden/visible"),
                               (f"visible_p_vs_{REFERENCE}", "p visible"), (f"hidden_p_vs_{REFERENCE}", "p hidden"),
                               (f"visible_minus_{FILTER}_px", "visible - filter"),
                               (f"hidden_minus_{FILTER}_px", "hidden - filter"),
                               (f"hidden_p_vs_{FILTER}", "p hidden vs filter"),
                               ("hidden_passing_pcutoff", "hidden >= pcutoff"),
                               ("hidden_right_passing", "right ones >= pcutoff"),
                               ("hidden_wrong_failing", "wrong ones < pcutoff"), ("n_hidden", "hidden n")],
                        f"Held-out video, errors vs ground truth (p: paired t-test against {REFERENCE}; "
                        f"filter: {FILTER})")
    wide = pd.DataFrame(by_length).pivot(index="hidden_run", columns="variant", values="error_px")
    wide = wide.reindex(sorted(wide.index, key=lambda s: int(s.rstrip("+"))))
    print("Error (px) on naturally hidden points, by the length of the hidden run (frames):")
    print(wide.round(1).to_string(), "\n")
    _plot(wide, pd.concat(calibration), out / "occlusion_benchmark.png")
    return rows


def learning_curve(work: Path, predictions: dict, truth, lengths, pcutoff: float, args) -> None:
    """Errors against training steps, from the predictions kept in ``work/epochs-N/`` by earlier,
    shorter runs of the same variants (``--keep`` with more ``--epochs``) and the current ones."""
    import numpy as np
    import pandas as pd

    from dlc_recurrent.evaluation.occlusion.baselines import interpolate_unsure

    def archived(folder: Path, name: str):
        """A variant's kept predictions; '<name>+interp' made again from <name>'s (None if not kept)."""
        path, base = folder / f"predictions_{name}.npy", folder / f"predictions_{name.removesuffix('+interp')}.npy"
        if path.is_file():
            return np.load(path)
        return interpolate_unsure(np.load(base), pcutoff) if base != path and base.is_file() else None

    stages = {int(folder.name.split("-")[1]): folder for folder in work.glob("epochs-*")
              if folder.name.split("-")[1].isdigit()}
    if not stages:
        return
    rows = []
    for epochs, folder in sorted(stages.items()) + [(args.epochs, None)]:
        for name in predictions:
            predicted = archived(folder, name) if folder else predictions[name]
            if name == ORACLE or predicted is None:
                continue
            error = point_errors(predicted, truth.xy)
            long_runs = (lengths >= 8) & (lengths <= LONGEST)
            rows.append({"variant": name, "steps": epochs * args.steps,
                         "visible_px": float(np.nanmean(error[truth.visible])),
                         "hidden_px": float(np.nanmean(error[~truth.visible])),
                         "hidden_runs_8_to_10_px": float(np.nanmean(error[long_runs])),
                         "n_hidden": int((~truth.visible).sum()), "n_runs_8_to_10": int(long_runs.sum())})
    table = pd.DataFrame(rows)
    table.to_csv(args.out / "occlusion_learning_curve.csv", index=False)
    print("Errors (px) against training steps (held-out video):")
    print(table.pivot(index="variant", columns="steps", values=["visible_px", "hidden_px", "hidden_runs_8_to_10_px"])
          .round(2).to_string(), "\n")
    _plot_learning_curve(table, args.out / "occlusion_learning_curve.png")


def _plot_learning_curve(table, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = (("visible_px", "visible points"), ("hidden_px", "naturally hidden points"),
               ("hidden_runs_8_to_10_px", "hidden runs of 8-10 frames"))
    figure, axes = plt.subplots(1, len(columns), figsize=(14, 4.2))
    for (column, title), ax in zip(columns, axes):
        for i, (name, part) in enumerate(table.groupby("variant", sort=False)):
            ax.plot(part.steps, part[column], marker="o", color=f"C{i}", label=name)
        ax.set(xlabel="training steps", ylabel="mean error (px)", title=title, ylim=(0, None))
        ax.set_xticks(sorted(table.steps.unique()))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    figure.suptitle(f"Held-out video: error against training steps (n hidden = {table.n_hidden.iloc[0]}, "
                    f"in 8-10 frame runs = {table.n_runs_8_to_10.iloc[0]})", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    print(f"Figure: {path}")


def _plot(wide, calibration, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    colours = {name: f"C{i}" for i, name in enumerate(wide.columns)}  # the same colour in both panels
    for name in wide.columns:
        left.plot(range(len(wide)), wide[name], marker="o", label=name, color=colours[name])
    left.set_xticks(range(len(wide)), wide.index)
    left.set(xlabel="length of the hidden run (frames)", ylabel="error on hidden points (px)",
             title="Naturally hidden points, held-out video")
    left.legend(fontsize=7)
    hidden = calibration[(calibration.points == "hidden") & (calibration.n >= 10)]  # bins of < 10 points: noise
    for name, part in hidden.groupby("variant", sort=False):
        centre = (part.likelihood_from + part.likelihood_to) / 2
        right.plot(centre, part["fraction_within_5px"], marker="o", label=name, color=colours[name])
    right.set(xlabel="likelihood", ylabel="fraction within 5 px",
              title="Calibration on hidden points (bins with >= 10 points)", ylim=(0, 1))
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    print(f"Figure: {path}")


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.worker:
        _common.emit_result(worker_variant(json.loads(args.worker)))
        return
    import numpy as np

    started = time.time()
    machine = _common.machine_description()
    print(f"dlc-recurrent occlusion benchmark ({'quick smoke test' if args.quick else 'full size'})")
    _common.print_machine(machine)
    log = args.out / "occlusion_benchmark.log"
    if args.spread:
        training_spread(args.spread, args, log)
        return
    if args.pair_sweep:
        pair_sweep(args.pair_sweep, args, log)
        return
    if args.pool:  # earlier runs' held-out videos analysed together: more hidden points per run length
        settings = {folder: saved_settings(folder / "occlusion_work") for folder in args.pool}
        if len({json.dumps({**s, "seed": None, "train_seed": None}, sort_keys=True) for s in settings.values()}) > 1:
            raise SystemExit("--pool: the runs differ in more than the seed, so their pixels do not pool: "
                             + "; ".join(f"{folder}: {s}" for folder, s in settings.items()))
        if len({s["seed"] for s in settings.values()}) < len(settings):
            raise SystemExit("--pool: two runs share a project (--seed), so their points would count twice; "
                             "pool runs of different projects")
        runs = [collect(folder / "occlusion_work", args, log, train=False) for folder in args.pool]
        names = [name for name in runs[0][0] if all(name in r[0] for r in runs)]
        predictions = {name: np.concatenate([r[0][name] for r in runs]) for name in names}
        truth = SimpleNamespace(xy=np.concatenate([r[1].xy for r in runs]),
                                visible=np.concatenate([r[1].visible for r in runs]))
        lengths = np.concatenate([hidden_run_lengths(r[1].visible) for r in runs])
        pcutoff, timings = runs[0][2], []
        print(f"Pooled {len(runs)} held-out videos: {(~truth.visible).sum()} hidden points\n")
    else:
        predictions, truth, pcutoff, timings = collect(args.out / "occlusion_work", args, log, train=True)
        lengths = hidden_run_lengths(truth.visible)
    print()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = analyse(predictions, truth, lengths, pcutoff, args.out)
    if not args.pool:
        learning_curve(args.out / "occlusion_work", predictions, truth, lengths, pcutoff, args)
    _common.write_csv(args.out / "occlusion_benchmark_machine.csv", rows + timings, machine)
    print(f"Total {(time.time() - started) / 60:.1f} min" + ("" if args.pool else f"; worker logs in {log}"))


def training_spread(folders: list[Path], args, log: Path) -> None:
    """The same project's variants trained from several seeds: errors per seed, their mean and standard
    deviation, and each variant's difference from the paper's recipe with a t-test over the seeds
    (the t-tests of ``analyse`` are over points of one training run, blind to run-to-run spread)."""
    import numpy as np
    import pandas as pd
    from scipy import stats

    settings = {folder: saved_settings(folder / "occlusion_work") for folder in folders}
    if len({json.dumps({**s, "train_seed": None}, sort_keys=True) for s in settings.values()}) > 1:
        raise SystemExit("--spread: the runs differ in more than --train-seed: "
                         + "; ".join(f"{folder}: {s}" for folder, s in settings.items()))
    rows, truth_xy = [], None
    for folder in folders:
        predictions, truth, _, _ = collect(folder / "occlusion_work", args, log, train=False)
        if truth_xy is not None and not np.allclose(truth.xy, truth_xy, equal_nan=True):
            raise SystemExit(f"--spread: {folder} holds another project (its ground truth differs)")
        truth_xy = truth.xy
        for name, predicted in predictions.items():
            if name == ORACLE:
                continue
            error = point_errors(predicted, truth.xy)
            rows.append({"variant": name, "train_seed": settings[folder]["train_seed"],
                         "visible_px": float(np.nanmean(error[truth.visible])),
                         "hidden_px": float(np.nanmean(error[~truth.visible]))})
    table = pd.DataFrame(rows)
    table = table[table.variant.map(table.variant.value_counts()) == len(folders)]  # in every run
    summary = []
    for name, part in table.groupby("variant", sort=False):
        row = {"variant": name, "n_seeds": len(part)}
        for key in ("visible_px", "hidden_px"):
            row[f"{key}_mean"], row[f"{key}_sd"] = part[key].mean(), part[key].std(ddof=1)
            if name != REFERENCE and REFERENCE in set(table.variant):
                paired = part.merge(table[table.variant == REFERENCE], on="train_seed")
                differences = paired[f"{key}_x"] - paired[f"{key}_y"]
                row[f"{key}_minus_{REFERENCE}"] = differences.mean()
                row[f"{key}_minus_{REFERENCE}_per_seed"] = " ".join(f"{d:+.3f}" for d in differences)
                row[f"{key}_p_over_seeds"] = (stats.ttest_1samp(differences, 0).pvalue if len(differences) > 1
                                              else np.nan)
        summary.append(row)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "occlusion_training_seeds.csv", index=False)
    pd.DataFrame(summary).to_csv(args.out / "occlusion_training_spread.csv", index=False)
    print("Errors (px) per training seed (held-out video):")
    print(table.pivot(index="variant", columns="train_seed", values=["visible_px", "hidden_px"]).round(3).to_string())
    print(f"\nOver {len(folders)} training seeds (differences from {REFERENCE}: t-test over the seeds):")
    print(pd.DataFrame(summary).set_index("variant").round(4).T.to_string(), "\n")
    print(f"Wrote {args.out / 'occlusion_training_spread.csv'}")


HANDOFFS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
BRIDGE_TOLERANCES = (0.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 20.0)
BRIDGE_MAX_GAPS = (6, 9, 12, 15, 20)
BRIDGE_WEIGHTS = (0.25, 0.5, 0.75, 1.0)


def pair_combination(main, confident, args, **setting):
    """The two students' points as ``analyze_videos(..., confident_shuffle=...)`` combines them;
    ``setting`` (tolerance, max_gap, weight) overrides the command line and the package defaults."""
    from dlc_recurrent.inference import pairing as infer

    def pick(name, default):
        if name in setting:
            return setting[name]
        given = getattr(args, f"bridge_{name}")
        return default if given is None else given

    handoff = infer.HANDOFF_LIKELIHOOD if args.handoff is None else args.handoff
    combined, _ = infer.combine_students(main, confident, handoff, pick("max_gap", infer.BRIDGE_MAX_GAP),
                                         pick("tolerance", infer.BRIDGE_TOLERANCE), pick("weight", infer.BRIDGE_WEIGHT))
    return combined


def pair_sweep(folders: list[Path], args, log: Path) -> None:
    """The two students' errors per handoff (no bridges), then per bridge tolerance, weight and longest
    bridged run (each with the others at their defaults), on two sets of frames: the held-out video (the
    benchmark's judge) and the frames of the training videos that lie in test blocks (``test_blocks``) of
    both students' training sets (never trained on; the fair place to choose settings). The latter are
    analyzed here with the trained students."""
    import numpy as np
    import pandas as pd

    from dlc_recurrent.distill import load_training_set
    from dlc_recurrent.evaluation.occlusion.study import frames_in_blocks
    from dlc_recurrent.frames import read_video_info
    from dlc_recurrent.inference.pairing import combine_predictions
    from dlc_recurrent.inference.streams import predict_video
    from dlc_recurrent.inference.student import load_trained_student
    from dlc_recurrent.layout import training_set_folder
    from dlc_recurrent.project import load_project, video_crop
    from dlc_recurrent.synthetic import open_synthetic_project, read_ground_truth

    variants = {v.name: v for v in VARIANTS}
    rows = []

    def measure(sweep, setting, folder, where, combined, truth, chosen):
        error = point_errors(combined, truth.xy)[chosen]
        visible = truth.visible[chosen]
        rows.append({"sweep": sweep, "setting": str(setting), "folder": str(folder), "frames": where,
                     "all_px": error.mean(), "visible_px": error[visible].mean(), "hidden_px": error[~visible].mean(),
                     "n_visible": int(visible.sum()), "n_hidden": int((~visible).sum())})

    for folder in folders:
        predictions, truth, _, _ = collect(folder / "occlusion_work", args, log, train=False)
        frames = [("held-out video", truth, predictions[PAIR[0]], predictions[PAIR[1]], np.ones(len(truth.xy), bool))]
        config = next((folder / "occlusion_work").glob("*/config.yaml"))
        project = load_project(config)
        students = [load_trained_student(project, variants[name].shuffle, 0, variants[name].model) for name in PAIR]
        trainsets = [load_training_set(training_set_folder(project, variants[name].shuffle, 0)) for name in PAIR]
        for index, video in enumerate(open_synthetic_project(config).videos[:2]):
            video_truth = read_ground_truth(video)
            unseen = np.ones(len(video_truth.xy), bool)
            for trainset in trainsets:
                unseen &= frames_in_blocks(trainset.videos[index]["test_blocks"], len(unseen))
            info = read_video_info(video)
            main, confident = (predict_video(s, info, video_crop(project, info), progress=False) for s in students)
            frames.append(("training videos, test blocks", video_truth, main, confident, unseen))
        for where, truth_, main, confident, chosen in frames:
            for handoff in (0.0,) + HANDOFFS + (None,):  # 0: the confident student alone; None: the main one alone
                combined = main if handoff is None else combine_predictions(main, confident, handoff)
                label = {None: f"{PAIR[0]} alone", 0.0: f"{PAIR[1]} alone"}.get(handoff, handoff)
                measure("handoff", label, folder, where, combined, truth_, chosen)
            for tolerance in BRIDGE_TOLERANCES:
                measure("bridge tolerance", tolerance, folder, where,
                        pair_combination(main, confident, args, tolerance=tolerance), truth_, chosen)
            for weight in BRIDGE_WEIGHTS:
                for tolerance in BRIDGE_TOLERANCES[1:]:
                    measure("bridge weight x tolerance", f"{weight} x {tolerance}", folder, where,
                            pair_combination(main, confident, args, weight=weight, tolerance=tolerance), truth_, chosen)
            for max_gap in BRIDGE_MAX_GAPS:
                measure("bridge max gap", max_gap, folder, where,
                        pair_combination(main, confident, args, max_gap=max_gap), truth_, chosen)
    table = pd.DataFrame(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "occlusion_pair_sweep.csv", index=False)
    summary = (table.groupby(["sweep", "frames", "setting"], sort=False)
               .agg(all_px=("all_px", "mean"), visible_px=("visible_px", "mean"), hidden_px=("hidden_px", "mean"),
                    n_visible=("n_visible", "sum"), n_hidden=("n_hidden", "sum")))
    print(f"{PAIRED}: mean errors (px) over {len(folders)} folders, per setting (the others at their defaults):")
    print(summary.round(4).to_string(), "\n")
    print(f"Wrote {args.out / 'occlusion_pair_sweep.csv'}")


def saved_settings(work: Path) -> dict | None:
    """The settings a work folder was made with (None if it has none)."""
    path = work / "settings.json"
    if not path.is_file():
        return None
    saved = json.loads(path.read_text())
    return {**SETTINGS_BEFORE, "train_seed": saved["seed"], **saved}


def prepare_work(work: Path, args) -> None:
    """Make ``work`` ready to train in: kept when ``--keep`` and its settings match (or only its epochs are
    fewer: its predictions are then archived and training resumes), emptied otherwise; settings saved."""
    stamp = {k: getattr(args, k) for k in SETTINGS}
    saved = saved_settings(work)
    only_epochs_differ = bool(saved) and {**saved, "epochs": 0} == {**stamp, "epochs": 0}
    if args.keep and only_epochs_differ and saved["epochs"] > args.epochs:
        raise SystemExit(f"{work}: its variants are trained for {saved['epochs']} epochs; --keep cannot "
                         f"go back to {args.epochs} (drop --keep to start again, or use another --out)")
    if args.keep and only_epochs_differ and saved["epochs"] < args.epochs:
        archive = work / f"epochs-{saved['epochs']}"  # train() resumes every kept variant to args.epochs
        archive.mkdir(exist_ok=True)
        for path in work.glob("predictions_*.npy"):
            path.replace(archive / path.name)
        print(f"Continuing {work} from {saved['epochs']} to {args.epochs} epochs; earlier predictions in {archive}")
    elif work.exists() and not (args.keep and saved == stamp):
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    (work / "settings.json").write_text(json.dumps(stamp))


def variant_predictions(work: Path, args, log: Path, train: bool, config: Path, held_out: Path,
                        train_videos: list[str]) -> tuple[dict, list[dict]]:
    """The trained variants' predictions on the held-out video (each trained in a worker first when
    ``train`` and its predictions are missing), and the training timings of those trained now."""
    import numpy as np

    predictions, timings = {}, []
    for name in args.variants:
        path = work / f"predictions_{name}.npy"
        if name == FILTER or not (train or path.is_file()):
            continue
        if not path.is_file():
            task = {"variant": name, "config": str(config), "held_out": str(held_out), "train_videos": train_videos,
                    "windows_per_video": args.windows_per_video, "scale": args.scale, "seed": args.seed,
                    "train_seed": args.train_seed,
                    "epochs": args.epochs, "steps": args.steps, "schedule": args.schedule,
                    "force_steps": args.force_steps, "predictions": str(path)}
            result = _common.run_worker(SCRIPT, task, log)
            timings.append(result)
            print(f"  {name}: trained {result.get('steps')} steps in {result['train_min']} min (converged: "
                  f"{result.get('converged')}), analyzes {result['analyze_fps']} fps", flush=True)
        predictions[name] = np.load(path)
    return predictions, timings


def add_derived_predictions(predictions: dict, work: Path, args, train: bool, config: Path, held_out: Path,
                            pcutoff: float) -> None:
    """Add the methods built from the variants' predictions: LEAP filtered, the two-student pair, the
    interpolated students, the teacher and its ensembles."""
    import numpy as np

    from dlc_recurrent.evaluation.occlusion.baselines import interpolate_unsure, smoothed
    from dlc_recurrent.project import find_teacher, load_project, read_teacher

    if FILTER in args.variants and "leap" in predictions:
        path = work / f"predictions_{FILTER}.npy"
        if train or not path.is_file():
            np.save(path, median_interp(config, held_out, work, pcutoff))
        predictions[FILTER] = np.load(path)
    if all(name in predictions for name in PAIR):
        main, confident = (predictions[name] for name in PAIR)
        predictions[PAIRED] = pair_combination(main, confident, args)
        predictions[UNBRIDGED] = pair_combination(main, confident, args, max_gap=0)
    for name in args.interp:  # the student's own points under pcutoff interpolated afterwards
        if name in predictions:
            predictions[f"{name}+interp"] = interpolate_unsure(predictions[name], pcutoff)
    teacher = read_teacher(find_teacher(held_out), load_project(config).bodyparts)
    predictions["teacher"] = np.concatenate([teacher.xy, teacher.likelihood[..., None]], -1)
    predictions["teacher+EKS"] = smoothed([predictions["teacher"]])
    if "leap" in predictions:
        predictions["teacher+leap+EKS"] = smoothed([predictions["teacher"], predictions["leap"]])
        for name in [n for n in args.variants if n.startswith("convlstm") and n in predictions]:
            predictions[f"teacher+leap+{name}+EKS"] = smoothed([predictions["teacher"], predictions["leap"],
                                                                predictions[name]])


def collect(work: Path, args, log: Path, train: bool):
    """Predictions of every variant on the held-out video of the project in ``work`` (training the
    missing ones when ``train``), with its ground truth, pcutoff and the training timings."""
    import numpy as np

    from dlc_recurrent.evaluation.occlusion.baselines import interpolate_unsure
    from dlc_recurrent.project import load_project
    from dlc_recurrent.synthetic import make_synthetic_project, open_synthetic_project, read_ground_truth

    if train:
        prepare_work(work, args)
    configs = list(work.glob("*/config.yaml"))
    if not configs and not train:
        raise SystemExit(f"{work}: no benchmark project here to pool")
    config = configs[0] if configs else make_synthetic_project(
        work, n_videos=3, n_frames=args.frames, width=args.width, height=args.height, seed=args.seed + 7,
        stride_hz=args.stride_hz, **{"occlusions_during": args.occlusions_during, **PRESETS[args.preset]})
    synthetic = open_synthetic_project(config)
    train_videos, held_out = [str(v) for v in synthetic.videos[:2]], synthetic.videos[2]
    truth = read_ground_truth(held_out)
    pcutoff = load_project(config).pcutoff
    print(f"Project {config.parent}; held-out video {held_out.name}: {truth.visible.size} points, "
          f"{(~truth.visible).sum()} hidden")

    predictions, timings = variant_predictions(work, args, log, train, config, held_out, train_videos)
    add_derived_predictions(predictions, work, args, train, config, held_out, pcutoff)
    # The floor of any interpolation: the true positions, interpolated across every hidden run.
    oracle = np.concatenate([truth.xy, truth.visible[..., None].astype(float)], axis=2)
    predictions[ORACLE] = interpolate_unsure(oracle, 0.5)
    return predictions, truth, pcutoff, timings


if __name__ == "__main__":
    main()
