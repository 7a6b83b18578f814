"""Helpers shared by tests in several files; the shared fixtures are in conftest.py."""

import shutil
from pathlib import Path

import numpy as np
import tf_keras as keras
from ruamel.yaml import YAML

import dlc_recurrent  # noqa: F401  (loads torchvision before TensorFlow, see _import_order.py)
from dlc_recurrent import models
from dlc_recurrent.project import load_project

# --- projects -----------------------------------------------------------------------------------


def decoded_frames(video: Path) -> list[np.ndarray]:
    """Every frame OpenCV decodes from ``video``, (H, W, 3) uint8 BGR each."""
    import cv2

    capture = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def only_video(config: Path) -> Path:
    project = load_project(config)
    assert len(project.videos) == 1
    return project.videos[0]


def copy_project(config: Path, target: Path) -> Path:
    """A private copy of a project (config paths rewritten), so outputs never touch the shared fixture."""
    shutil.copytree(config.parent, target)
    new_config = target / "config.yaml"
    yaml = YAML()
    data = yaml.load(new_config.read_text())
    data["project_path"] = str(target)
    data["video_sets"] = {str(target / "videos" / Path(k).name): v for k, v in data["video_sets"].items()}
    with new_config.open("w") as handle:
        yaml.dump(data, handle)
    return new_config


# --- the networks (models/, inference/test_recurrence.py) ---------------------------------------


SIZE = 64
T = 5
K = 3
KINDS = ["leap", "convlstm_leap"]


def leaf_layers(model):
    """All layers of `model` in order, looking inside nested models and TimeDistributed wrappers."""
    leaves = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.TimeDistributed):
            layer = layer.layer
        if isinstance(layer, keras.Model):
            leaves.extend(leaf_layers(layer))
        elif not isinstance(layer, keras.layers.InputLayer):
            leaves.append(layer)
    return leaves


def count_layers(model):
    """Count the layer types the seed paper lists: {"conv", "pool", "deconv", "convlstm"}.

    "conv" counts plain Conv2D layers only; transposed convolutions count as "deconv".
    """
    counts = {"conv": 0, "pool": 0, "deconv": 0, "convlstm": 0}
    for layer in leaf_layers(model):
        if isinstance(layer, keras.layers.Conv2DTranspose):
            counts["deconv"] += 1
        elif isinstance(layer, keras.layers.Conv2D):
            counts["conv"] += 1
        elif isinstance(layer, keras.layers.MaxPooling2D):
            counts["pool"] += 1
        elif isinstance(layer, keras.layers.ConvLSTM2D):
            counts["convlstm"] += 1
        elif isinstance(layer, keras.layers.Bidirectional):
            counts["convlstm"] += 2
    return counts


def build_network(kind, n_keypoints=K, **kwargs):
    keras.utils.set_random_seed(0)
    return models.build_model(kind, n_keypoints, window_length=T, **kwargs)


def input_shape(kind, batch, size=SIZE):
    frame = (size, size, 1)
    return (batch, *frame) if kind == "leap" else (batch, T, *frame)


def random_frames(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape).astype("float32")


# --- training (training/) -----------------------------------------------------------------------


TINY = dict(schedule="fixed", epochs=1, steps_per_epoch=3, batch_size=2, sigma=3.0, map_amplitude=10.0)


def cut_short(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


# --- inference (inference/) ---------------------------------------------------------------------


def gaussian_maps(centres, height, width, sigma, amplitude):
    rows, columns = np.mgrid[:height, :width]
    maps = [amplitude * np.exp(-((columns - x) ** 2 + (rows - y) ** 2) / (2 * sigma**2)) for x, y in centres]
    return np.stack(maps, axis=-1)[None].astype(np.float32)


class Interrupted(Exception):
    pass


def dies_at_call(original, call: int):
    """A stream ``step`` that raises Interrupted on its ``call``-th call (a run killed mid-video)."""
    calls = []

    def step(self, frames, *args, **kwargs):
        calls.append(len(frames))
        if len(calls) == call:
            raise Interrupted
        return original(self, frames, *args, **kwargs)

    return step
