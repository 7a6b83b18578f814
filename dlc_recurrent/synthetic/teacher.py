"""A simulated single-frame teacher: what a DLC network's ``analyze_videos`` would write for a video,
accurate where a part is visible and mostly wrong (with low likelihood) where it is hidden."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd

from dlc_recurrent.fileio import atomic_write
from dlc_recurrent.measures import true_runs
from dlc_recurrent.synthetic.render import Simulation
from dlc_recurrent.synthetic.scene import BODYPARTS, COUNTERPART, OCCLUDERS

TEACHER_NET = "Resnet50"
TEACHER_SNAPSHOT = "snapshot_200"


def write_dlc_h5(df: pd.DataFrame, path: str | Path, *, table: bool = True) -> Path:
    """Write a DataFrame as DeepLabCut does (key ``df_with_missing``), atomically.

    Args:
        df: the table (DLC's multi-index columns).
        path: the h5 to write.
        table: True gives the ``format="table"`` files of ``analyze_videos``; False the default fixed
            format DeepLabCut uses for ``CollectedData_<scorer>.h5``.

    Returns:
        ``path``.
    """
    path = Path(path)
    fmt = "table" if table else "fixed"
    atomic_write(path, lambda tmp: df.to_hdf(tmp, key="df_with_missing", format=fmt, mode="w"))
    return path


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """Write a table as CSV, atomically.

    Args:
        df: the table (its index is written too).
        path: the CSV file.
    """
    atomic_write(path, lambda tmp: df.to_csv(tmp))


def write_pickle(obj, path: Path) -> None:
    """Pickle ``obj`` to ``path``, atomically (a ``_meta.pickle``).

    Args:
        obj: what to pickle.
        path: the pickle file.
    """

    def dump(tmp):
        with open(tmp, "wb") as f:
            pickle.dump(obj, f, pickle.HIGHEST_PROTOCOL)

    atomic_write(path, dump)


def simulate_teacher(
    rng: np.random.Generator, sim: Simulation, pcutoff: float, confident_miss: float, glitch_rate: float
) -> np.ndarray:
    """(n, K, 3) x, y, likelihood of a single-frame network on this video.

    Visible parts: truth plus ~1 px error, likelihood 0.9-1. Hidden parts: for the whole hidden run
    the network locks onto a distractor (the same paw of the other side, or the occluder's edge)
    with likelihood under ``pcutoff`` - or, with probability ``confident_miss``, above it. Rare
    glitches on visible frames jump to another body part.

    Args:
        rng: the generator (the video's teacher stream).
        sim: the rendered video (its truth and occluders).
        pcutoff: the project's pcutoff.
        confident_miss: the probability that a hidden run gets a likelihood over ``pcutoff``.
        glitch_rate: the probability, per visible point, of a jump to another body part.

    Returns:
        (n, K, 3) float: x, y in full-frame pixels (clipped to the frame) and the likelihood.
    """
    truth = sim.truth
    n, k = truth.visible.shape
    xy = truth.xy + rng.normal(0, 0.7, truth.xy.shape)
    likelihood = rng.uniform(0.9, 1.0, (n, k))
    for part in range(k):
        for start, stop in true_runs(~truth.visible[:, part]):
            frames = np.arange(start, stop)
            xy[frames, part] = _distractor(rng, sim, part, frames) + rng.normal(0, 1.0, (len(frames), 2))
            if rng.random() < confident_miss:
                likelihood[frames, part] = rng.uniform(pcutoff + 0.05, 0.95, len(frames))
            else:
                level = rng.uniform(0.05, pcutoff - 0.15)
                likelihood[frames, part] = np.clip(level + rng.normal(0, 0.05, len(frames)), 0.01, pcutoff - 0.02)
    glitch_t, glitch_k = np.nonzero(truth.visible & (rng.random((n, k)) < glitch_rate))
    for t, part in zip(glitch_t, glitch_k):
        other = rng.choice([j for j in range(k) if j != part])
        xy[t, part] = truth.xy[t, other] + rng.normal(0, 1.5, 2)
        likelihood[t, part] = rng.uniform(0.2, 0.9)
    xy = np.clip(xy, 0, np.array(sim.frame_size) - 1)
    return np.concatenate([xy, likelihood[..., None]], axis=2)


def _distractor(rng, sim: Simulation, part: int, frames: np.ndarray) -> np.ndarray:
    """Where a single-frame network looks for a hidden part: the same part on the other side, or the occluder's edge."""
    truth = sim.truth
    other = COUNTERPART[part]
    counterpart = truth.xy[frames, other]
    if rng.random() < 0.5 and truth.visible[frames, other].all():
        return counterpart
    occluder = truth.occluded_by[frames, part][:, None]
    bar_edge = np.column_stack([truth.xy[frames, part, 0], sim.bar[frames, 2] - 1.0])
    on_bar = (occluder == OCCLUDERS.index("bar")) & ~np.isnan(bar_edge)
    on_tail = occluder == OCCLUDERS.index("tail")
    return np.where(on_tail, sim.tail_edge[frames], np.where(on_bar, bar_edge, counterpart))


def teacher_dataframe(scorer: str, predictions: np.ndarray) -> pd.DataFrame:
    """The simulated teacher's predictions as deeplabcut's analyze_videos table.

    Args:
        scorer: the teacher's scorer.
        predictions: (T, K, 3) float, x, y and likelihood of the synthetic body parts.

    Returns:
        A float64 table: index range(T), columns scorer/bodyparts/coords.
    """
    columns = pd.MultiIndex.from_product(
        [[scorer], BODYPARTS, ["x", "y", "likelihood"]], names=["scorer", "bodyparts", "coords"]
    )
    data = predictions.reshape(len(predictions), -1).astype(np.float64)
    return pd.DataFrame(data, columns=columns, index=range(len(predictions)))


def teacher_metadata(cfg, scorer: str, n_frames: int, width: int, height: int, fps: float, runtime) -> dict:
    """The ``_meta.pickle`` content, filled as deeplabcut 3.0.2's PyTorch ``analyze_videos`` fills it.

    Args:
        cfg: the synthetic project's config.
        scorer: the teacher's scorer.
        n_frames: the video's frames.
        width: its frame width, px.
        height: its frame height, px.
        fps: its frames per second.
        runtime: (start, stop) times of the simulation (``time.time()``).

    Returns:
        ``{"data": ...}`` with DLC's fields (start, stop, Scorer, pytorch-config, fps, nframes, cropping,
        bodyparts...).
    """
    individuals = list(cfg.get("individuals") or ["individual_1"])
    return {
        "data": {
            "start": runtime[0],
            "stop": runtime[1],
            "run_duration": runtime[1] - runtime[0],
            "Scorer": scorer,
            "pytorch-config": {
                "net_type": "resnet_50",
                "method": "bu",
                "metadata": {
                    "project_path": str(cfg["project_path"]),
                    "bodyparts": list(BODYPARTS),
                    "unique_bodyparts": [],
                    "individuals": individuals,
                    "with_identity": None,
                },
                "generated_by": "dlc_recurrent.synthetic: simulated teacher, no network was run",
            },
            "fps": float(fps),
            "batch_size": int(cfg["batch_size"]),
            "frame_dimensions": (width, height),
            "nframes": n_frames,
            "iteration (active-learning)": cfg["iteration"],
            "training set fraction": cfg["TrainingFraction"][0],
            "cropping": False,
            "cropping_parameters": [0, width, 0, height],
            "individuals": individuals,
            "bodyparts": list(BODYPARTS),
            "unique_bodyparts": [],
        }
    }


def teacher_scorer(config_path: str | Path) -> str:
    """Scorer of a synthetic project's simulated teacher: the name after the video stem of its h5 files.

    Args:
        config_path: the synthetic project's config.yaml.

    Returns:
        The scorer, e.g. ``DLC_Resnet50_synthmouseNov25shuffle1_snapshot_200``.
    """
    from deeplabcut.utils import auxiliaryfunctions

    cfg = auxiliaryfunctions.read_config(config_path)
    return scorer_of(cfg)


def scorer_of(cfg) -> str:
    """The simulated teacher's scorer from a project's config (Task and date), as DLC would name it.

    Args:
        cfg: the project's config (its Task and date).

    Returns:
        ``DLC_Resnet50_<Task><date>shuffle1_snapshot_200``.
    """
    return f"DLC_{TEACHER_NET}_{cfg['Task']}{cfg['date']}shuffle1_{TEACHER_SNAPSHOT}"
