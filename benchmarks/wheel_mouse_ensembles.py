"""The wheel-mouse students' tail predictions, alone and in ensembles, from the h5 files already there.

``wheel_mouse.py`` leaves each student's predictions of the judged tail beside the tail video
(``wheel_tail<scorer>.h5``, one per shuffle and snapshot). This script judges them again, with no
training and no analysis, beside the ensembles a user could make of them: EKS (``dlc_recurrent.ensemble``)
over the teacher and the student, and over the teacher, LEAP and the student. Hidden paws (the other
view's judge) and visible ones (the teacher's sure points), paired against LEAP and against
EKS(teacher + LEAP), the best post-hoc tracker of these hidden paws so far.

    python benchmarks/wheel_mouse_ensembles.py \\
        --leap DLC_CspnextS_wheelDec7shuffle1_snapshot_45 \\
        --student "frozen@1600=DLC_CspnextM_wheelDec7shuffle41_snapshot_32"

Outputs a csv per table to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _common import machine_description, print_machine  # noqa: E402
from wheel_mouse import TEACHER_RECORD, other_view_judge  # noqa: E402
from wheel_teacher import PAWS  # noqa: E402

from dlc_recurrent.evaluation.occlusion.baselines import smoothed  # noqa: E402
from dlc_recurrent.evaluation.stats import compare_methods  # noqa: E402
from dlc_recurrent.project import load_project, read_teacher  # noqa: E402

EKS_REFERENCE = "teacher+leap+EKS"


def tail_points(videos: Path, scorer: str, paws: list[int], n: int) -> np.ndarray:
    """A student's tail predictions of the paws, (n, 8, 3), from ``wheel_tail<scorer>.h5``."""
    table = pd.read_hdf(videos / f"wheel_tail{scorer}.h5")
    return table.to_numpy(float).reshape(len(table), -1, 3)[:n, paws]


def judged(methods: dict[str, np.ndarray], teacher, judge_x: np.ndarray, hidden: np.ndarray,
           pcutoff: float) -> dict[str, pd.DataFrame]:
    """Hidden (horizontal px to the other view) and visible (px to the teacher's sure points) errors,
    each method paired against LEAP and against EKS(teacher + LEAP)."""
    sure = teacher.likelihood >= pcutoff
    hidden_errors = {m: np.abs(p[..., 0] - judge_x)[hidden] for m, p in methods.items()}
    visible_errors = {m: np.linalg.norm(p[..., :2] - teacher.xy, axis=-1)[sure] for m, p in methods.items()
                      if not m.startswith("teacher")}
    out = {}
    for name, errors in (("hidden", hidden_errors), ("visible", visible_errors)):
        table = pd.DataFrame(compare_methods(errors, reference="leap"))
        if EKS_REFERENCE in errors:
            versus = pd.DataFrame(compare_methods(errors, reference=EKS_REFERENCE))
            table[f"p_{EKS_REFERENCE}_vs_method"] = versus[f"p_{EKS_REFERENCE}_vs_method"]
        out[name] = table
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project", type=Path, default=HERE / "out" / "wheel_mouse" / "project")
    parser.add_argument("--leap", required=True, help="the LEAP control's scorer (its tail h5 must exist)")
    parser.add_argument("--student", action="append", default=[], metavar="NAME=SCORER",
                        help="a student's label and scorer; repeat for several")
    parser.add_argument("--out", type=Path, default=HERE / "out" / "wheel_mouse" / "ensembles")
    parser.add_argument("--tag", default="", help="suffix of the output files (e.g. _seed1)")
    args = parser.parse_args()
    print_machine(machine_description())

    config = sorted(args.project.glob("*/config.yaml"))[0]
    videos = config.parent / "videos"
    project = load_project(config)
    record = json.loads(TEACHER_RECORD.read_text())
    teacher = read_teacher(videos / f"wheel_tail{record['scorer']}.h5", PAWS)
    train_teacher = read_teacher(videos / f"wheel_train{record['scorer']}.h5", PAWS)
    n, paws = len(teacher.xy), [project.bodyparts.index(p) for p in PAWS]
    teacher_points = np.concatenate([teacher.xy, teacher.likelihood[..., None]], -1)
    leap = tail_points(videos, args.leap, paws, n)
    methods = {"leap": leap, EKS_REFERENCE: smoothed([teacher_points, leap])}
    for entry in args.student:
        name, _, scorer = entry.partition("=")
        student = tail_points(videos, scorer, paws, n)
        methods[name] = student
        methods[f"teacher+{name}+EKS"] = smoothed([teacher_points, student])
        methods[f"teacher+leap+{name}+EKS"] = smoothed([teacher_points, leap, student])
    judge_x, hidden, _ = other_view_judge(train_teacher, teacher, project.pcutoff)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, table in judged(methods, teacher, judge_x, hidden, project.pcutoff).items():
        table.to_csv(args.out / f"{name}{args.tag}.csv", index=False)
        print(f"\n{name}\n{table.drop(columns=['sem_px', 'best']).round(4).to_string(index=False)}")


if __name__ == "__main__":
    main()
