"""A wheel-mouse recipe confirmed on a project that was not used to design it: DeepLabCut's openfield example.

The wheel-mouse benchmark (``wheel_mouse.py``) chose its recurrent recipes on that video; this script
trains one of them (``--variant``, a name of ``wheel_mouse.VARIANTS``), with its LEAP control, on the
openfield example as ``real_project.py`` builds it (the first ``--train-frames`` frames; the teacher's
cached predictions beside them), and judges both on the tail no window came from, on the teacher's
sure points (the issue's "no worse than LEAP on sure points, mean and median"), paired against LEAP.
That video has almost no occlusion, so it judges what the recipe costs on visible points, not what it
gains on hidden ones.

    python benchmarks/openfield_confirm.py --variant "warm maps frozen swaps" --seed 0
    python benchmarks/openfield_confirm.py --keep --seed 1       # reuse the project and what is trained

Outputs ``agreement<_seedN>.csv`` and ``results<_seedN>.json`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import machine_description, print_machine  # noqa: E402
from real_project import agreement, analyze_tail, open_project  # noqa: E402
from wheel_mouse import VARIANTS, shuffle_of  # noqa: E402

import dlc_recurrent  # noqa: E402  (torchvision before tensorflow)
from dlc_recurrent.layout import model_folder  # noqa: E402
from dlc_recurrent.project import load_project, read_teacher  # noqa: E402
from dlc_recurrent.training import read_training_summary  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=HERE / "out" / "openfield_confirm")
    parser.add_argument("--variant", default="warm maps frozen swaps", choices=list(VARIANTS))
    parser.add_argument("--train-frames", type=int, default=1800)
    parser.add_argument("--tail-frames", type=int, default=530)
    parser.add_argument("--scale", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=0, help="training seed (its students on shuffles +20 x seed)")
    parser.add_argument("--keep", action="store_true", help="reuse the project and trained students in --out")
    return parser.parse_args()


def train_pair(config: Path, video: str, variant: str, scale: float, seed: int) -> dict:
    """LEAP and the variant on their own shuffles (the variant starts from a copy of that LEAP); their
    training summaries and minutes."""
    caps = {"seed": seed} if seed else {}
    leap_shuffle = shuffle_of(1, seed)
    shuffle, model, options = VARIANTS[variant]
    shuffle = shuffle_of(shuffle, seed)
    project = load_project(config)
    summaries = {}
    for name, which, kind, extra in (("leap", leap_shuffle, "leap", {}), (variant, shuffle, model, options)):
        dlc_recurrent.create_training_set(config, videos=[video], scale=scale, shuffle=which)
        tick = time.time()
        dlc_recurrent.train(config, shuffle=which, model=kind, **caps, **extra)
        summary = read_training_summary(model_folder(project, which, 0, kind) / "train")
        summaries[name] = {k: summary.get(k) for k in ("steps", "minutes", "converged", "verdict")}
        summaries[name]["wall_minutes_this_run"] = round((time.time() - tick) / 60, 1)
    return summaries


def main() -> None:
    args = parse_args()
    info = machine_description()
    print_machine(info)
    config, tail, record = open_project(argparse.Namespace(out=args.out, keep=args.keep,
                                                           train_frames=args.train_frames,
                                                           tail_frames=args.tail_frames))
    video = str(config.parent / "videos" / "openfield_train.avi")
    summaries = train_pair(config, video, args.variant, args.scale, args.seed)
    shuffle, model, _ = VARIANTS[args.variant]
    predictions = analyze_tail(config, tail, shuffle_of(1, args.seed), ["leap"])
    predictions[args.variant] = analyze_tail(config, tail, shuffle_of(shuffle, args.seed), [model])[model]

    project = load_project(config)
    teacher = read_teacher(next(tail.parent.glob(f"{tail.stem}{record['scorer']}.h5")), project.bodyparts)
    n = min(len(teacher.xy), *(len(p) for p in predictions.values()))
    sure = (teacher.likelihood >= project.pcutoff)[:n]
    agree = agreement({m: p[:n] for m, p in predictions.items()}, teacher.xy[:n], sure, project.bodyparts,
                      project.pcutoff)
    suffix = f"_seed{args.seed}" if args.seed else ""
    agree.to_csv(args.out / f"agreement{suffix}.csv", index=False)
    print(agree.round(3).to_string(index=False))
    summary = {"machine": info, "command": " ".join(sys.argv), "variant": args.variant,
               "options": VARIANTS[args.variant][2], "seed": args.seed, "scale": args.scale,
               "tail_frames": n, "teacher": record["scorer"], "training": summaries,
               "agreement_all": agree[agree.bodypart == "all"].to_dict(orient="records")}
    (args.out / f"results{suffix}.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    print(json.dumps(summary["training"], indent=2))


if __name__ == "__main__":
    main()
