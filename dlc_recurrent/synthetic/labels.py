"""Hand labels as DeepLabCut writes them: labeled-data/<video>/img*.png and CollectedData_<scorer>.h5/.csv."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from dlc_recurrent.fileio import atomic_write
from dlc_recurrent.synthetic.scene import BODYPARTS, GroundTruth
from dlc_recurrent.synthetic.teacher import write_csv, write_dlc_h5


def _pick_labelled_frames(rng: np.random.Generator, visible: np.ndarray, count: int) -> np.ndarray:
    """Frames spread over the video, at least a fifth of them with a hidden part (which labellers leave out)."""
    n = visible.shape[0]
    count = min(count, n)
    occluded = np.nonzero(~visible.all(axis=1))[0]
    n_occluded = min(len(occluded), int(round(0.2 * count)))
    chosen = set(occluded[np.linspace(0, len(occluded) - 1, n_occluded).round().astype(int)]) if n_occluded else set()
    spacing = n / count
    for slot in range(count):
        if len(chosen) >= count:
            break
        frame = int(min(n - 1, slot * spacing + rng.uniform(0, spacing)))
        while frame in chosen:
            frame = (frame + 1) % n
        chosen.add(frame)
    return np.array(sorted(chosen)[:count])


def _image_name(frame: int, n_frames: int) -> str:
    """File name deeplabcut's extract_frames gives a frame: 'img' + zero-padded frame number + '.png'."""
    return "img" + str(frame).zfill(int(np.ceil(np.log10(n_frames)))) + ".png"


def _decoded_frames(video: Path, wanted: set[int]) -> dict[int, np.ndarray]:
    """Decode a video once, front to back, keeping the wanted frames (BGR, as OpenCV reads them)."""
    frames = {}
    capture = cv2.VideoCapture(str(video))
    try:
        index = 0
        while len(frames) < len(wanted):
            ok, frame = capture.read()
            if not ok:
                break
            if index in wanted:
                frames[index] = frame
            index += 1
    finally:
        capture.release()
    missing = wanted - set(frames)
    if missing:
        raise RuntimeError(f"Could not decode frames {sorted(missing)} of {video}")
    return frames


def write_labeled_data(
    project: Path, video: Path, truth: GroundTruth, scorer: str, rng, count: int, noise_px: float
) -> pd.DataFrame:
    """Extract frames as PNGs and write ``CollectedData_<scorer>.h5/.csv`` with truth + labelling error.

    The frames are spread over the video, about a fifth of them with a hidden part, whose label is left
    out (NaN), as labellers do.

    Args:
        project: the synthetic project's folder (files go to ``labeled-data/<video stem>/``).
        video: the synthetic video.
        truth: its ground truth (xy (T, K, 2) full-frame pixels, visible (T, K)).
        scorer: the labeller's name (config.yaml's scorer).
        rng: the generator (the video's labels stream).
        count: how many frames to label, at most the video's frames.
        noise_px: the standard deviation of the labelling error, px, on each axis.

    Returns:
        The labels as written: one row per labelled frame (index ("labeled-data", video stem, image name)),
        columns scorer / bodyparts / coords (x, y), full-frame pixels, NaN where the part is hidden.

    Raises:
        RuntimeError: a chosen frame cannot be decoded.
        OSError: an image cannot be written.
    """
    folder = project / "labeled-data" / video.stem
    folder.mkdir(parents=True, exist_ok=True)
    frames = _pick_labelled_frames(rng, truth.visible, count)
    images = _decoded_frames(video, set(frames.tolist()))
    names = []
    for frame in frames:
        name = _image_name(int(frame), truth.frame_count)
        atomic_write(folder / name, lambda tmp, f=frame: _imwrite(tmp, images[int(f)]))
        names.append(name)
    labels = truth.xy[frames] + rng.normal(0, noise_px, truth.xy[frames].shape)
    labels[~truth.visible[frames]] = np.nan
    columns = pd.MultiIndex.from_product([[scorer], BODYPARTS, ["x", "y"]], names=["scorer", "bodyparts", "coords"])
    index = pd.MultiIndex.from_tuples([("labeled-data", video.stem, name) for name in names])
    df = pd.DataFrame(labels.reshape(len(frames), -1), index=index, columns=columns)
    write_dlc_h5(df, folder / f"CollectedData_{scorer}.h5", table=False)
    write_csv(df, folder / f"CollectedData_{scorer}.csv")
    return df


def _imwrite(path: str, image: np.ndarray) -> None:
    if not cv2.imwrite(path, image):
        raise OSError(f"Could not write image {path}")
