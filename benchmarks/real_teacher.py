"""Make a real DeepLabCut teacher for DLC's example project, with deeplabcut itself, offline, on CPU.

The project is ``openfield-Pranav-2018-10-30`` (see ``../shared/real/README.md``): 116 hand-labelled
640x480 frames of session m4s1 and an unlabelled 2330-frame video of session m3v1. This script

1. copies the project (the shared copy is read-only) and points ``video_sets`` at
   ``videos/m4s1.mp4``, as DeepLabCut's own test script does, so that ``create_training_dataset``
   merges the labelled frames of m4s1 (that video file itself does not exist);
2. makes a PyTorch-engine shuffle with a small backbone (``cspnext_s`` by default) trained from
   scratch (no pretrained weights can be downloaded here), at half resolution (frames resized to
   320x240 for training and analysis, predictions scaled back by deeplabcut);
3. trains it with ``deeplabcut.train_network`` on the CPU, evaluates it with
   ``deeplabcut.evaluate_network`` (train/test error against the hand labels), and
4. analyzes ``m3v1mp4.mp4`` with ``deeplabcut.analyze_videos``; the predictions h5 (small) is
   copied to ``benchmarks/data/`` for ``real_project.py``, with a record of how it was made.

    python benchmarks/real_teacher.py                 # ~1-2 h on 2 CPU cores
    python benchmarks/real_teacher.py --epochs 5      # a quick look at the pipeline
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

import dlc_recurrent  # noqa: E402,F401  (torchvision before tensorflow)

REAL = Path(os.environ.get("DLC_RECURRENT_REAL", HERE.parent.parent / "shared" / "real"))
PROJECT_NAME = "openfield-Pranav-2018-10-30"
VIDEO_NAME = "m3v1mp4.mp4"
DATA = HERE / "data"
RECORD = DATA / "real_teacher.json"


def copy_project(out: Path) -> Path:
    """A writable copy of the example project whose config names the labelled session's video."""
    from deeplabcut.utils import auxiliaryfunctions

    source = REAL / PROJECT_NAME
    if not (source / "config.yaml").is_file():
        raise SystemExit(f"{source}: DeepLabCut's example project is not there; set DLC_RECURRENT_REAL")
    project = out / PROJECT_NAME
    if not project.exists():
        shutil.copytree(source, project)
        for path in project.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
    config = project / "config.yaml"
    cfg = auxiliaryfunctions.read_config(str(config))
    cfg["project_path"] = str(project)
    cfg["video_sets"] = {str(project / "videos" / "m4s1.mp4"): {"crop": "0, 640, 0, 480"}}
    auxiliaryfunctions.write_config(str(config), cfg)
    return config


def make_shuffle(config: Path, net_type: str, epochs: int, batch_size: int, width: int, height: int) -> Path:
    """Shuffle 1 (PyTorch engine) with a backbone trained from scratch at width x height."""
    import deeplabcut
    from deeplabcut.core.engine import Engine
    from deeplabcut.utils import auxiliaryfunctions

    deeplabcut.create_training_dataset(str(config), Shuffles=[1], net_type=net_type, engine=Engine.PYTORCH,
                                       userfeedback=False)
    cfg = auxiliaryfunctions.read_config(str(config))
    train = Path(cfg["project_path"]) / auxiliaryfunctions.get_model_folder(
        cfg["TrainingFraction"][0], 1, cfg, engine=Engine.PYTORCH) / "train"
    pose_path = train / "pytorch_config.yaml"
    pose = auxiliaryfunctions.read_plainconfig(str(pose_path))
    pose["model"]["backbone"]["pretrained"] = False
    resize = {"height": height, "width": width, "keep_ratio": True}
    pose["data"]["train"].pop("crop_sampling", None)
    pose["data"]["train"]["resize"] = resize
    pose["data"]["inference"]["resize"] = resize
    pose["train_settings"]["epochs"] = epochs
    pose["train_settings"]["batch_size"] = batch_size
    pose["train_settings"]["display_iters"] = 50
    pose["runner"]["eval_interval"] = max(1, epochs // 10)
    pose["runner"]["snapshots"]["save_epochs"] = max(1, epochs // 4)
    pose["runner"]["optimizer"]["params"]["lr"] = 1e-3
    pose["runner"]["scheduler"] = {"type": "LRListScheduler",
                                   "params": {"lr_list": [[1e-4], [1e-5]],
                                              "milestones": [int(epochs * 0.75), int(epochs * 0.9)]}}
    auxiliaryfunctions.write_plainconfig(str(pose_path), pose)
    return train


def random_start(train: Path) -> Path:
    """A randomly initialised snapshot: deeplabcut's train_network loads ImageNet weights from a hub
    unless it starts from a snapshot, and no hub can be reached here."""
    import torch
    from deeplabcut.pose_estimation_pytorch.models import PoseModel
    from deeplabcut.utils import auxiliaryfunctions

    pose = auxiliaryfunctions.read_plainconfig(str(train / "pytorch_config.yaml"))
    torch.manual_seed(0)
    model = PoseModel.build(pose["model"], pretrained_backbone=False)
    path = train / "random-init.pt"
    torch.save({"model": model.state_dict()}, path)
    return path


def test_error(config: Path) -> dict:
    """deeplabcut.evaluate_network's train and test RMSE (px) of the shuffle's last snapshot."""
    import pandas as pd
    from deeplabcut.utils import auxiliaryfunctions

    cfg = auxiliaryfunctions.read_config(str(config))
    folder = Path(cfg["project_path"]) / "evaluation-results-pytorch" / f"iteration-{cfg['iteration']}"
    table = pd.read_csv(folder / "CombinedEvaluation-results.csv")
    row = table.iloc[-1]
    return {key: float(row[key]) for key in table.columns if "error" in key.lower() or "rmse" in key.lower()}


def test_images(config: Path) -> dict:
    """Per test image, the mean distance of the last snapshot's points to the hand labels (px): the
    mean over a handful of images hides whether one image or all are off."""
    import glob
    import pickle

    import numpy as np
    import pandas as pd
    from deeplabcut.utils import auxiliaryfunctions

    cfg = auxiliaryfunctions.read_config(str(config))
    root = Path(cfg["project_path"])
    labels = pd.concat([pd.read_hdf(path) for path in sorted(root.glob("labeled-data/*/CollectedData_*.h5"))])
    labels.index = ["/".join(i) if isinstance(i, tuple) else i for i in labels.index]
    documentation = glob.glob(str(root / "training-datasets" / f"iteration-{cfg['iteration']}" / "*" /
                                  "Documentation_data-*shuffle1.pickle"))[0]
    with open(documentation, "rb") as handle:
        test = pickle.load(handle)[2]
    results = sorted((root / "evaluation-results-pytorch").rglob("*shuffle1*/*.h5"))[-1]
    predicted = pd.read_hdf(results)
    predicted.index = ["/".join(i) if isinstance(i, tuple) else i for i in predicted.index]
    names = labels.index[test]
    parts = len(cfg["bodyparts"])
    xy = predicted.loc[names].to_numpy(float).reshape(len(names), parts, 3)[..., :2]
    truth = labels.loc[names].to_numpy(float).reshape(len(names), parts, 2)
    per_image = np.nanmean(np.linalg.norm(xy - truth, axis=-1), axis=1)
    return {"images": [str(n) for n in names], "mean_px_per_image": [round(float(e), 1) for e in per_image],
            "median_of_images_px": round(float(np.median(per_image)), 2)}


def evaluate_and_analyze(config: Path, video: Path, out: Path) -> tuple[dict, str, Path, float]:
    """deeplabcut.evaluate_network on shuffle 1, then deeplabcut.analyze_videos of ``video`` into ``out``;
    the predictions h5 is copied to ``benchmarks/data/``. Returns (errors, scorer, h5, analysis minutes)."""
    import deeplabcut

    deeplabcut.evaluate_network(str(config), Shuffles=[1], device="cpu")
    errors = test_error(config)
    start = time.time()
    scorer = deeplabcut.analyze_videos(str(config), [str(video)], shuffle=1, device="cpu", destfolder=str(out))
    analyze_minutes = (time.time() - start) / 60
    h5 = out / f"{video.stem}{scorer}.h5"
    DATA.mkdir(exist_ok=True)
    shutil.copy2(h5, DATA / h5.name)
    return errors, scorer, h5, analyze_minutes


def teacher_record(info: dict, args, train_minutes: float | None, analyze_minutes: float, errors: dict, config: Path,
                   scorer: str, h5: Path, train: Path, **more) -> dict:
    """How a cached teacher was made (the json beside its h5): machine, command, network, times, errors."""
    return {
        "machine": info,
        "command": " ".join(sys.argv),
        "net_type": args.net,
        "pretrained": False,
        "resolution": [args.width, args.height],
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "train_minutes": train_minutes,
        "analyze_minutes": round(analyze_minutes, 1),
        "evaluate_network": errors,
        "test_images": test_images(config),
        **more,
        "scorer": scorer,
        "predictions": h5.name,
        "model_folder": str(train.relative_to(config.parent)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=HERE / "out" / "real_teacher")
    parser.add_argument("--net", default="cspnext_s")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    args = parser.parse_args()

    import deeplabcut
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    info = machine_description()
    print_machine(info)
    args.out.mkdir(parents=True, exist_ok=True)
    config = copy_project(args.out)
    train = make_shuffle(config, args.net, args.epochs, args.batch_size, args.width, args.height)

    start = time.time()
    deeplabcut.train_network(str(config), shuffle=1, device="cpu", snapshot_path=str(random_start(train)))
    train_minutes = (time.time() - start) / 60
    errors, scorer, h5, analyze_minutes = evaluate_and_analyze(config, config.parent / "videos" / VIDEO_NAME, args.out)
    record = teacher_record(info, args, round(train_minutes, 1), analyze_minutes, errors, config, scorer, h5, train)
    RECORD.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
