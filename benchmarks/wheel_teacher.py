"""Make a real DeepLabCut teacher for the wheel-mouse video, with deeplabcut itself, offline, on CPU.

The data is ``wheel-mouse-180607`` (see ``../shared/real/README.md``): a head-fixed mouse on a wheel
seen from the side and, through a mirror, from below, in one 396x406 frame at 250 fps; 1000 frames of
session 180607_004 and 90 hand-labelled frames (17 body parts) of other sessions of the same rig,
in Lightning Pose's csv layout. This script

1. makes a DLC project with ``deeplabcut.create_new_project`` whose ``video_sets`` names the
   labelled frames' folder (``labeled-data/wheel-labels``; that video file does not exist, as in
   DeepLabCut's own example project), writes the labels in DLC's csv layout and converts them with
   ``deeplabcut.convertcsv2h5``;
2. makes a PyTorch-engine shuffle (``real_teacher.make_shuffle``: a small backbone trained from
   scratch, no pretrained weights can be downloaded here) at a reduced resolution;
3. trains it with ``deeplabcut.train_network`` on the CPU, evaluates it with
   ``deeplabcut.evaluate_network``, and
4. analyzes ``180607_004.mp4`` with ``deeplabcut.analyze_videos``; the predictions h5 (small) is
   copied to ``benchmarks/data/`` for ``wheel_mouse.py``, with a record of how it was made and how
   often the teacher is unsure (likelihood < pcutoff) of each paw.

    python benchmarks/wheel_teacher.py                 # ~25 min on 2 CPU cores
    python benchmarks/wheel_teacher.py --epochs 3      # a quick look at the pipeline
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import machine_description, print_machine  # noqa: E402
from real_teacher import evaluate_and_analyze, make_shuffle, random_start, teacher_record  # noqa: E402

import dlc_recurrent  # noqa: E402,F401  (torchvision before tensorflow)

REAL = Path(os.environ.get("DLC_RECURRENT_REAL", HERE.parent.parent / "shared" / "real"))
WHEEL = REAL / "wheel-mouse-180607"
VIDEO_NAME = "180607_004.mp4"
LABELS = "wheel-labels"  # the labelled frames' folder under labeled-data/ (no such video exists)
SCORER = "rick"
DATA = HERE / "data"
RECORD = DATA / "wheel_teacher.json"
PAWS = [f"paw{i}{side}_{view}" for view in ("top", "bot") for i, side in ((1, "LH"), (2, "LF"), (3, "RF"), (4, "RH"))]


def read_lightning_pose_labels(path: Path):
    """Lightning Pose's CollectedData.csv as DLC's label table: (scorer, bodyparts, coords) columns,
    rows indexed ('labeled-data', LABELS, image name)."""
    import pandas as pd

    table = pd.read_csv(path, header=[0, 1, 2], index_col=0)
    table.columns = table.columns.set_names(["scorer", "bodyparts", "coords"])
    table.index = pd.MultiIndex.from_tuples([("labeled-data", LABELS, Path(name).name) for name in table.index])
    return table.astype(float)


def make_project(out: Path) -> Path:
    """The teacher's DLC project: the labelled frames under labeled-data/LABELS, converted by deeplabcut."""
    import deeplabcut
    from deeplabcut.utils import auxiliaryfunctions

    if not (WHEEL / "CollectedData.csv").is_file():
        raise SystemExit(f"{WHEEL}: the wheel-mouse data is not there; set DLC_RECURRENT_REAL")
    labels = read_lightning_pose_labels(WHEEL / "CollectedData.csv")
    bodyparts = list(dict.fromkeys(labels.columns.get_level_values("bodyparts")))
    config = Path(deeplabcut.create_new_project("wheel", SCORER, [str(WHEEL / "videos" / VIDEO_NAME)],
                                                working_directory=str(out), copy_videos=True,
                                                video_extensions=".mp4"))
    project = config.parent
    auxiliaryfunctions.edit_config(str(config), {
        "bodyparts": bodyparts, "TrainingFraction": [0.95], "dotsize": 3,
        "video_sets": {str(project / "videos" / f"{LABELS}.mp4"): {"crop": "0, 396, 0, 406"}},
    })
    folder = project / "labeled-data" / LABELS
    folder.mkdir(parents=True, exist_ok=True)
    for name in labels.index.get_level_values(2):
        shutil.copy2(WHEEL / "labeled-data" / name, folder / name)
        (folder / name).chmod(0o644)
    labels.to_csv(folder / f"CollectedData_{SCORER}.csv")
    deeplabcut.convertcsv2h5(str(config), userfeedback=False)
    return config


def keep_last_snapshot(train: Path) -> None:
    """Analyze with the last epoch's snapshot: deeplabcut keeps a "best" one chosen by test mAP, which
    reaches 100 by epoch 30 here (5 test images), so its "best" is an early network."""
    for path in train.glob("snapshot-best-*.pt"):
        path.unlink()


def unsure_shares(h5: Path, pcutoff: float) -> dict:
    """Per paw, the share of frames whose likelihood is under pcutoff."""
    import pandas as pd

    table = pd.read_hdf(h5)
    scorer = table.columns.get_level_values(0)[0]
    return {paw: round(float((table[(scorer, paw, "likelihood")] < pcutoff).mean()), 3) for paw in PAWS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=HERE / "out" / "wheel_teacher")
    parser.add_argument("--net", default="cspnext_s")
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--width", type=int, default=240)
    parser.add_argument("--height", type=int, default=246)
    parser.add_argument("--reanalyze", action="store_true",
                        help="evaluate and analyze the network trained by an earlier run in --out again")
    args = parser.parse_args()

    import deeplabcut
    import torch
    from deeplabcut.utils import auxiliaryfunctions

    torch.set_num_threads(os.cpu_count() or 1)
    info = machine_description()
    print_machine(info)
    found = sorted(args.out.glob("wheel-*/config.yaml"))
    if args.reanalyze and found:  # the trained network of an earlier run, evaluated and analyzed again
        config = found[0]
        train = next(config.parent.glob("dlc-models-pytorch/iteration-0/*/train"))
        train_minutes = json.loads(RECORD.read_text())["train_minutes"] if RECORD.is_file() else None
    else:
        if args.out.exists():
            shutil.rmtree(args.out)
        args.out.mkdir(parents=True)
        config = make_project(args.out)
        train = make_shuffle(config, args.net, args.epochs, args.batch_size, args.width, args.height)
        start = time.time()
        deeplabcut.train_network(str(config), shuffle=1, device="cpu", snapshot_path=str(random_start(train)))
        train_minutes = round((time.time() - start) / 60, 1)
    keep_last_snapshot(train)
    for old in args.out.glob(f"{Path(VIDEO_NAME).stem}DLC_*"):
        old.unlink()
    shutil.rmtree(config.parent / "evaluation-results-pytorch", ignore_errors=True)
    errors, scorer, h5, analyze_minutes = evaluate_and_analyze(config, config.parent / "videos" / VIDEO_NAME, args.out)
    pcutoff = float(auxiliaryfunctions.read_config(str(config))["pcutoff"])
    record = teacher_record(info, args, train_minutes, analyze_minutes, errors, config, scorer, h5, train,
                            pcutoff=pcutoff, unsure_share_per_paw=unsure_shares(h5, pcutoff))
    RECORD.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
