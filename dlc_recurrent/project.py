"""Read a DeepLabCut project: its config, videos, hand labels and the teacher's predictions.

Everything here only reads. The config is parsed by deeplabcut's own ``ProjectConfig`` (without
the write-back that ``deeplabcut.auxiliaryfunctions.read_config`` does when a project was moved),
and every problem with the user's files is raised as a one-line ``ProjectError`` that names the
file and says how to fix it.
"""

from __future__ import annotations

import logging
import pickle
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from dlc_recurrent.errors import ProjectError
from dlc_recurrent.frames import Crop, VideoInfo, count_decodable_frames

#: Suffixes deeplabcut (and its trackers) append to a scorer for derived prediction files; only the
#: end of a name counts, since a Task such as "mouse_treadmill" holds "_tr" inside the scorer itself.
logger = logging.getLogger(__name__)

DERIVED_MARKERS = ("_filtered", "_skeleton", "_bx", "_sk", "_el", "_tr", "_ctd", "_labeled", "_full")
#: Key this package writes into the ``_meta.pickle`` of its own predictions.
OWN_OUTPUT_KEY = "dlc_recurrent"


@dataclass
class Project:
    """The parts of a single-animal DLC project that distillation, training and inference use.

    Attributes:
        config_path: the project's config.yaml, resolved.
        project_path: the project folder (config.yaml's folder), resolved.
        task: config.yaml's Task.
        date: config.yaml's date.
        scorer: config.yaml's scorer (the labeller).
        bodyparts: config.yaml's body parts, in its order: the K of every array.
        video_sets: each video's path (falling back to the project's videos/ folder) with its crop, or None
            for the full frame, in config.yaml's order.
        iteration: config.yaml's iteration (0 when unset).
        training_fraction: config.yaml's TrainingFraction entries.
        pcutoff: config.yaml's pcutoff: the likelihood from which a point counts as confident.
        skeleton: config.yaml's skeleton, as pairs of body parts.
        config: the whole config, as deeplabcut's ``ProjectConfig`` reads it.
    """

    config_path: Path
    project_path: Path
    task: str
    date: str
    scorer: str
    bodyparts: list[str]
    video_sets: dict[Path, Crop | None]
    iteration: int
    training_fraction: list[float]
    pcutoff: float
    skeleton: list[list[str]]
    config: dict

    @property
    def videos(self) -> list[Path]:
        """The videos of config.yaml's video_sets, resolved, in the config's order."""
        return list(self.video_sets)

    def crop_for(self, video: str | Path) -> Crop | None:
        """The config's crop for ``video`` (matched by file stem), or None when not listed."""
        stem = Path(video).stem
        for path, crop in self.video_sets.items():
            if path.stem == stem:
                return crop
        return None

    def labeled_data_folder(self, video: str | Path) -> Path:
        """The ``labeled-data/<video stem>`` folder that holds ``video``'s hand labels."""
        return self.project_path / "labeled-data" / Path(video).stem

    def fraction(self, trainingsetindex: int) -> float:
        """The config's TrainingFraction entry ``trainingsetindex``.

        Raises:
            ProjectError: one line naming config.yaml when there is no such entry.
        """
        if not 0 <= trainingsetindex < len(self.training_fraction):
            raise ProjectError(
                f"{self.config_path}: trainingsetindex={trainingsetindex} but TrainingFraction has "
                f"{len(self.training_fraction)} entries; pass an index into {self.training_fraction}"
            )
        return self.training_fraction[trainingsetindex]


def load_project(config: str | Path) -> Project:
    """Read ``config.yaml`` with deeplabcut's own schema and return the project's description.

    Args:
        config: the project's config.yaml, or the project folder holding it.

    Returns:
        The project: paths, body parts, videos with their crops, pcutoff and the whole config.

    Raises:
        ProjectError: the file is missing or invalid, or the project is multi-animal or has no body parts.
    """
    from deeplabcut.core.config.project_config import ProjectConfig
    from pydantic import ValidationError

    config_path = Path(config).expanduser()
    if config_path.is_dir():
        config_path = config_path / "config.yaml"
    if not config_path.is_file():
        raise ProjectError(
            f"{config_path}: config file not found; pass the path of your DLC project's config.yaml"
        )
    try:
        cfg = ProjectConfig.from_yaml(config_path)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "config"
        raise ProjectError(
            f"{config_path}: invalid DLC config ({field}: {first['msg']}); fix that entry"
        ) from None
    except Exception as error:  # YAML syntax errors and unreadable files
        message = " ".join(str(error).split())
        raise ProjectError(f"{config_path}: cannot be read as a DLC config ({message})") from None

    if cfg.multianimalproject:
        raise ProjectError(
            f"{config_path}: multi-animal projects are not supported yet; "
            "use a single-animal project (multianimalproject: false)"
        )
    bodyparts = list(cfg.bodyparts_list)
    if not bodyparts:
        raise ProjectError(f"{config_path}: no bodyparts are listed; add them under 'bodyparts:'")

    project_path = config_path.parent.resolve()
    return Project(
        config_path=config_path.resolve(),
        project_path=project_path,
        task=cfg.Task,
        date=cfg.date,
        scorer=cfg.scorer,
        bodyparts=bodyparts,
        video_sets=_parse_video_sets(cfg.video_sets, project_path, config_path),
        iteration=int(cfg.iteration or 0),
        training_fraction=[float(f) for f in cfg.TrainingFraction],
        pcutoff=float(cfg.pcutoff),
        skeleton=[list(pair) for pair in cfg.skeleton],
        config=cfg.to_dict(),
    )


def _parse_video_sets(video_sets: dict, project_path: Path, config_path: Path) -> dict[Path, Crop | None]:
    """Resolve each video path (falling back to the project's videos/ folder) with its crop."""
    parsed = {}
    for name, settings in (video_sets or {}).items():
        path = Path(name)
        if not path.is_file() and (project_path / "videos" / path.name).is_file():
            path = project_path / "videos" / path.name
        crop_text = (settings or {}).get("crop")
        where = f"{config_path} video_sets[{path.name}]"
        parsed[path] = Crop.parse(crop_text, where) if crop_text else None
    return parsed


def video_crop(project: Project, info: VideoInfo) -> Crop:
    """The region of ``info``'s video the student sees: the config's crop, checked, or the full frame.

    Args:
        project: the project whose video_sets may crop the video.
        info: the video (its path picks the crop by file stem; its size bounds it).

    Returns:
        The crop in full-frame pixels.

    Raises:
        ProjectError: the config's crop reaches outside the video.
    """
    crop = project.crop_for(info.path)
    if crop is None:
        return Crop(0, info.width, 0, info.height)
    crop.check_inside(info.width, info.height, f"{project.config_path} video_sets[{info.path.name}]")
    return crop


def frame_number_from_image_name(name: str) -> int:
    """The video frame of a labeled image: ``img0050.png`` -> 50, as deeplabcut's extract_frames names them.

    Args:
        name: the image's file name or path; the last number in its stem is the frame.

    Returns:
        The frame index.

    Raises:
        ProjectError: the name holds no number.
    """
    match = re.search(r"(\d+)\D*$", Path(name).stem)
    if match is None:
        raise ProjectError(
            f"{name}: labeled image name carries no frame number; name it imgNNN.png as "
            "deeplabcut.extract_frames does"
        )
    return int(match.group(1))


def read_hand_labels(project: Project, video: str | Path) -> pd.DataFrame | None:
    """Hand labels of ``video``, in full-frame pixels (labels of images extracted cropped get the crop's
    offset back).

    Reads ``labeled-data/<stem>/CollectedData_<scorer>.h5`` (any HDF key: DLC's ``df_with_missing``
    or napari-deeplabcut's ``keypoints``), or the ``.csv`` when no h5 exists.

    Args:
        project: the project (its scorer names the file, its body parts order the columns).
        video: the video whose ``labeled-data`` folder is read.

    Returns:
        A float table indexed by frame number (sorted, one row per labelled frame), columns
        (bodyparts, x|y) in the config's body-part order, NaN where a part is not labelled; None when
        the video has no labels.

    Raises:
        ProjectError: the file cannot be read, is not a single-animal DLC labels table, or lacks body parts.
    """
    from deeplabcut.utils.conversioncode import guarantee_multiindex_rows

    folder = project.labeled_data_folder(video)
    h5_path = folder / f"CollectedData_{project.scorer}.h5"
    csv_path = h5_path.with_suffix(".csv")
    if h5_path.is_file():
        path = h5_path
        try:
            labels = pd.read_hdf(h5_path)
        except Exception as error:
            message = " ".join(str(error).split())
            raise ProjectError(f"{h5_path}: cannot read hand labels ({message}); re-save them in DLC") from None
    elif csv_path.is_file():
        path = csv_path
        labels = _read_labels_csv(csv_path)
    else:
        return None
    if not isinstance(labels.columns, pd.MultiIndex) or "bodyparts" not in labels.columns.names:
        raise ProjectError(f"{path}: not a DLC labels table (no 'bodyparts' column level)")
    if "individuals" in labels.columns.names:
        raise ProjectError(f"{path}: multi-animal labels are not supported; use a single-animal project")
    labels = labels.copy()
    guarantee_multiindex_rows(labels)

    missing = [bp for bp in project.bodyparts if bp not in labels.columns.get_level_values("bodyparts")]
    if missing:
        raise ProjectError(
            f"{path}: labels lack body parts {missing} of config.yaml; label them or fix config.yaml"
        )
    image_names = [row[-1] if isinstance(row, tuple) else row for row in labels.index]
    frames = [frame_number_from_image_name(str(name)) for name in image_names]
    table = labels.droplevel("scorer", axis=1)
    table = table.reindex(columns=pd.MultiIndex.from_product([project.bodyparts, ["x", "y"]])).astype(float)
    table.columns.names = ["bodyparts", "coords"]
    dx, dy = _labeled_image_offset(project, video, folder / str(image_names[0]))
    table.loc[:, (slice(None), "x")] += dx
    table.loc[:, (slice(None), "y")] += dy
    table.index = pd.Index(frames, name="frame")
    table = table[~table.index.duplicated(keep="last")].sort_index()
    return table


def _labeled_image_offset(project: Project, video: str | Path, image: Path) -> tuple[int, int]:
    """(x1, y1) when the labeled images were extracted cropped to the video's crop, else (0, 0).

    deeplabcut.extract_frames saves cropped images when asked to, and their labels are then in
    cropped coordinates; predictions are in full-frame coordinates, so labels get the offset back.
    """
    import cv2

    crop = project.crop_for(video)
    if crop is None or (crop.x1 == 0 and crop.y1 == 0) or not image.is_file():
        return 0, 0
    shape = cv2.imread(str(image), cv2.IMREAD_UNCHANGED).shape
    if (shape[1], shape[0]) == (crop.width, crop.height):
        return crop.x1, crop.y1
    return 0, 0


def _read_labels_csv(path: Path) -> pd.DataFrame:
    """Read a CollectedData csv the way ``deeplabcut.convertcsv2h5`` does, also when it holds a single
    labelled image (deeplabcut looks at the fifth line for the row style, which is then empty)."""
    with path.open() as handle:
        head = [next(handle, "") for _ in range(5)]
    header = list(range(4)) if "individuals" in head[1] else list(range(3))
    index_col = [0, 1, 2] if head[len(header)].split(",")[0] == "labeled-data" else 0
    try:
        return pd.read_csv(path, index_col=index_col, header=header)
    except Exception as error:
        message = " ".join(str(error).split())
        raise ProjectError(f"{path}: cannot read hand labels ({message}); re-save them in DLC") from None


def meta_path(h5_path: Path) -> Path:
    """The ``_meta.pickle`` that deeplabcut (and this package) writes beside a predictions h5.

    Args:
        h5_path: the predictions file.

    Returns:
        ``<h5 stem>_meta.pickle`` in the same folder (it may not exist).
    """
    return h5_path.with_name(h5_path.stem + "_meta.pickle")


def _load_meta(h5_path: Path):
    """The unpickled ``_meta.pickle`` beside a predictions h5; None when there is none. Raises
    whatever unpickling raises when it is damaged."""
    meta = meta_path(h5_path)
    if not meta.is_file():
        return None
    with meta.open("rb") as handle:
        return pickle.load(handle)


def own_output_record(h5_path: Path) -> dict | None:
    """What this package recorded in a prediction file's ``_meta.pickle``; None for other files.

    Args:
        h5_path: the predictions file.

    Returns:
        The record under ``OWN_OUTPUT_KEY``; None when the meta is missing, unreadable or not this
        package's.
    """
    try:
        return (_load_meta(h5_path) or {}).get("data", {}).get(OWN_OUTPUT_KEY)
    except Exception:
        return None


def meta_is_damaged(h5_path: Path) -> bool:
    """True when a prediction file's ``_meta.pickle`` exists but cannot be read (cut short, garbled).

    Args:
        h5_path: the predictions file.

    Returns:
        Whether unpickling its meta fails (False when there is no meta).
    """
    try:
        _load_meta(h5_path)
    except Exception:
        return True
    return False


def is_own_output(h5_path: Path) -> bool:
    """True for prediction files written by this package (marked in their ``_meta.pickle``).

    Args:
        h5_path: the predictions file.

    Returns:
        Whether its meta carries this package's record.
    """
    return own_output_record(h5_path) is not None


def teacher_candidates(video: str | Path, folder: str | Path | None = None) -> dict[str, Path]:
    """Teacher prediction files for ``video``: ``<stem>DLC*.h5`` minus derived files and this package's own.

    Args:
        video: the video the predictions are of.
        folder: where to look; default the video's folder.

    Returns:
        The files by scorer (the name after the video stem), in sorted path order.
    """
    video = Path(video)
    folder = Path(folder) if folder is not None else video.parent
    found = {}
    for path in sorted(folder.glob(f"{glob_escape(video.stem)}*.h5")):
        rest = path.stem[len(video.stem):]
        if not rest.startswith(("DLC", "DeepCut")):
            continue
        if is_derived(rest) or is_own_output(path):
            continue
        found[rest] = path
    return found


def is_derived(name: str) -> bool:
    """Whether a prediction file's name ends in deeplabcut's derived-file suffixes (``_el_filtered``...).

    Args:
        name: the file's stem, or its scorer part.

    Returns:
        Whether it ends in one of ``DERIVED_MARKERS``.
    """
    return name.endswith(DERIVED_MARKERS)


def glob_escape(text: str) -> str:
    """``text`` with glob's special characters (``[``, ``]``, ``*``, ``?``) escaped, to match itself only.

    Args:
        text: a literal piece of a file name (a video stem, a folder name).

    Returns:
        The pattern that matches exactly ``text``.
    """
    return re.sub(r"([\[\]*?])", r"[\1]", text)


def find_teacher(video: str | Path, scorer: str | None = None, folder: str | Path | None = None) -> Path:
    """The teacher's ``analyze_videos`` h5 for ``video``; ``scorer`` picks one when several exist.

    Args:
        video: the video the teacher analyzed.
        scorer: the teacher's scorer (the h5 name after the video stem); None takes the only one.
        folder: where the h5 files are; default the video's folder.

    Returns:
        The teacher's h5 file.

    Raises:
        ProjectError: none is there, the scorer is not there, or several are and no scorer was given.
    """
    video = Path(video)
    where = Path(folder) if folder is not None else video.parent
    candidates = teacher_candidates(video, folder)
    if scorer is not None:
        if scorer in candidates:
            return candidates[scorer]
        raise ProjectError(
            f"{where}: no teacher predictions {video.stem}{scorer}.h5; run deeplabcut.analyze_videos "
            f"on {video.name} or pass one of the scorers found: {sorted(candidates) or 'none'}"
        )
    if not candidates:
        raise ProjectError(
            f"{where}: no teacher predictions for {video.name} (<stem>DLC*.h5); run "
            "deeplabcut.analyze_videos on it first, or pass teacher_folder= where they are"
        )
    if len(candidates) > 1:
        raise ProjectError(
            f"{where}: several teachers for {video.name}: {sorted(candidates)}; choose one with teacher_scorer="
        )
    return next(iter(candidates.values()))


def dlc_teacher_scorer(project: Project, shuffle: int, trainingsetindex: int = 0,
                       snapshot_index: int | None = None) -> str:
    """The scorer deeplabcut.analyze_videos gives the DLC network of ``shuffle`` (its h5 files' name).

    Built by deeplabcut's own ``get_scorer_name``, for either engine.

    Args:
        project: the DLC project.
        shuffle: the DLC shuffle of the teacher network.
        trainingsetindex: the index of its training fraction in config.yaml.
        snapshot_index: the snapshot; None means the config's ``snapshotindex``, as
            deeplabcut.analyze_videos uses by default.

    Returns:
        The scorer, e.g. ``"DLC_Resnet50_mouseNov25shuffle1_snapshot_200"``.

    Raises:
        ProjectError: the training set index is out of range or the shuffle has no trained network.
    """
    from deeplabcut.utils import auxiliaryfunctions

    fraction = project.fraction(trainingsetindex)
    cfg = auxiliaryfunctions.read_config(str(project.config_path))
    cfg["project_path"] = str(project.project_path)
    if snapshot_index is not None:  # deeplabcut's TensorFlow branch reads only the config's
        cfg["snapshotindex"] = snapshot_index
    try:
        scorer, _ = auxiliaryfunctions.get_scorer_name(cfg, shuffle, fraction, snapshot_index=snapshot_index)
    except Exception as error:  # deeplabcut raises many kinds for a shuffle that is not there
        message = " ".join(str(error).split()) or type(error).__name__
        raise ProjectError(
            f"{project.config_path}: no trained DLC network for teacher shuffle {shuffle} "
            f"(trainingsetindex {trainingsetindex}, snapshot_index {snapshot_index}): {message}; "
            "pass the shuffle you analyzed the videos with, or teacher_scorer="
        ) from None
    return scorer


@dataclass
class TeacherPredictions:
    """A single-frame network's predictions of one video, as read from its DLC h5.

    Attributes:
        path: the predictions h5.
        scorer: its DLC scorer name.
        bodyparts: the body parts read, in the order of the arrays' K.
        xy: (T, K, 2) float, positions in full-frame pixels; NaN where DLC wrote none.
        likelihood: (T, K) float, their likelihoods; 0 where xy is NaN.
    """

    path: Path
    scorer: str
    bodyparts: list[str]
    xy: np.ndarray
    likelihood: np.ndarray

    @property
    def n_frames(self) -> int:
        """Frames (rows) the predictions cover."""
        return self.xy.shape[0]


def read_teacher_for_video(path: str | Path, bodyparts: list[str],
                           info: VideoInfo) -> tuple[TeacherPredictions, VideoInfo]:
    """The teacher of ``info``'s video, and the video's info with the frame count both agree on.

    deeplabcut writes one row per frame that decodes, and a video header can claim more frames
    than that; when the counts differ, the frames are counted by decoding them and must match.

    Args:
        path: the teacher's predictions h5.
        bodyparts: the project's body parts, in the order the arrays take.
        info: the video, as its header describes it.

    Returns:
        The teacher (xy (T, K, 2) full-frame pixels, likelihood (T, K)), and ``info`` with
        ``n_frames`` = T.

    Raises:
        ProjectError: the file is unreadable or its rows match neither the header nor the decodable frames.
    """
    teacher = read_teacher(path, bodyparts)
    rows = len(teacher.xy)
    if rows != info.n_frames:
        decoded = count_decodable_frames(info.path)
        if decoded != rows:
            raise ProjectError(
                f"{path}: teacher has {rows} rows but the video decodes {decoded} frames (its header says "
                f"{info.n_frames}); re-run deeplabcut.analyze_videos on this exact video"
            )
        logger.warning(f"{info.path.name}: its header says {info.n_frames} frames, {decoded} decode (as many as the "
              f"teacher's rows); using {decoded}")
        info = replace(info, n_frames=decoded)
    return teacher, info


def read_teacher(path: str | Path, bodyparts: list[str], n_frames: int | None = None) -> TeacherPredictions:
    """Read a DLC predictions h5 and check it against the project's body parts and the video length.

    Args:
        path: the predictions h5 (single-animal, columns scorer/bodyparts/coords).
        bodyparts: the body parts to read, in the order the arrays take; extra ones in the file are ignored.
        n_frames: the video's frame count to check the rows against; None skips the check.

    Returns:
        The predictions: xy (T, K, 2) float full-frame pixels (NaN where DLC wrote none) and likelihood
        (T, K) float, 0 where xy is NaN.

    Raises:
        ProjectError: the file is unreadable, not single-animal DLC output, lacks a body part, has a
        part NaN on every frame, or has other than ``n_frames`` rows.
    """
    path = Path(path)
    try:
        table = pd.read_hdf(path)
    except Exception as error:
        message = " ".join(str(error).split())
        raise ProjectError(f"{path}: cannot read teacher predictions ({message}); "
                           "re-run deeplabcut.analyze_videos") from None
    columns = table.columns
    if not isinstance(columns, pd.MultiIndex) or list(columns.names) != ["scorer", "bodyparts", "coords"]:
        if isinstance(columns, pd.MultiIndex) and "individuals" in columns.names:
            raise ProjectError(f"{path}: multi-animal predictions are not supported; use a single-animal teacher")
        raise ProjectError(
            f"{path}: not a DLC analyze_videos file (columns must be scorer/bodyparts/coords)"
        )
    scorer = columns.get_level_values("scorer")[0]
    present = set(columns.get_level_values("bodyparts"))
    missing = [bp for bp in bodyparts if bp not in present]
    if missing:
        raise ProjectError(
            f"{path}: teacher lacks body parts {missing} of config.yaml (it has {sorted(present)}); "
            "use the teacher trained on this project's body parts"
        )
    if n_frames is not None and len(table) != n_frames:
        raise ProjectError(
            f"{path}: teacher has {len(table)} rows but the video has {n_frames} frames; "
            "re-run deeplabcut.analyze_videos on this exact video"
        )
    values = table[scorer]
    xy = np.stack([values[bp][["x", "y"]].to_numpy(float) for bp in bodyparts], axis=1)
    likelihood = np.stack([values[bp]["likelihood"].to_numpy(float) for bp in bodyparts], axis=1)
    empty = [bp for k, bp in enumerate(bodyparts) if np.isnan(xy[:, k]).all()]
    if empty:
        raise ProjectError(
            f"{path}: body parts {empty} are NaN on every frame; re-run the teacher or drop them from config.yaml"
        )
    likelihood = np.where(np.isnan(xy).any(axis=2), 0.0, np.nan_to_num(likelihood, nan=0.0))
    return TeacherPredictions(path=path, scorer=scorer, bodyparts=list(bodyparts), xy=xy, likelihood=likelihood)
