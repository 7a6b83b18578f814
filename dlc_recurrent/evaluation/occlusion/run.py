"""The seed paper's occlusion study (its Figures 2, 3, 5 and 6) on any single-animal DLC project.

``evaluate_occlusion(config)`` compares the students with DLC users' usual remedy as a baseline:
LEAP's output through the real ``deeplabcut.filterpredictions`` (median filter), then sub-pcutoff
gaps filled by linear interpolation. Everything is restricted to the test frames (``test_blocks`` of
the training set), and every number comes with its n. ``model=`` picks the recurrent student it
studies (``convlstm_leap``, the paper's, by default; or ``bidirectional_leap``); ``confident_shuffle=``
studies two students as ``analyze_videos(..., confident_shuffle=...)`` combines them, on the frames
neither trained on. Its figures are drawn by ``figures.py`` beside it.

What the numbers can and cannot show (read before quoting them):

* The ground truth of the paper is the teacher on frames where it is confident. On synthetic
  projects (a ``<stem>_groundtruth.npz`` beside the video) the true positions are known on every
  frame, including the naturally hidden ones: the error on **naturally hidden frames against the
  true positions** is the number that matters most, because nothing about it was placed by the
  evaluator.
* The artificial occlusion study (Figure 6) centres a black square on each occluded body part's
  ground-truth position. A square placed on a body part tells a model where the part is: a model
  trained with such squares scores well under them whether it is recurrent or not. These centred
  squares only reproduce the paper's Figure 6; they are not evidence of occlusion robustness by
  themselves.
* Under artificial occlusion the squares sit on the last frames of a window and the error is taken
  on the window's last frame, so no method may look at later frames: the baseline there is LEAP
  with its sub-pcutoff points filled causally (the last confident position in the window held,
  which is what linear interpolation does at the end of a trace); the median filter is left out
  because DLC's zero-padded ``scipy.signal.medfilt`` distorts a trace's last frames. On whole
  videos (natural occlusions) the baseline is the real DLC filter and sees past and future frames,
  an advantage the students do not have.
* Paired t-tests (``scipy.stats.ttest_rel`` formula, two-tailed) treat every (frame, body part) or
  (window, body part) pair as independent. Consecutive frames are not, so p-values on whole
  test blocks are optimistic; two samples of 50 windows can disagree (p = 0.03 vs 0.5 was seen on
  real mouse video): compare on the same windows, report n, and vary ``seed``.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pandas as pd

from dlc_recurrent.distill import TrainingSet
from dlc_recurrent.errors import ProjectError
from dlc_recurrent.evaluation.common import Runner, load_students, load_trainset
from dlc_recurrent.evaluation.occlusion.baselines import test_frame_table, whole_video_predictions
from dlc_recurrent.evaluation.occlusion.figures import plot_calibration, plot_event, plot_occlusion, plot_test_frames
from dlc_recurrent.evaluation.occlusion.natural import natural_events, pick_events, study_calibration
from dlc_recurrent.evaluation.occlusion.report import findings_table, findings_text, summary_table
from dlc_recurrent.evaluation.occlusion.study import (
    DEFAULT_SEED,
    Study,
    StudyVideo,
    keep_shared_test_frames,
    load_videos,
    pair_study,
)
from dlc_recurrent.evaluation.occlusion.windows import (
    artificial_occlusion,
    occluder_side,
    occlusion_table,
    select_occlusion_windows,
)
from dlc_recurrent.evaluation.stats import LEAP, RECURRENT
from dlc_recurrent.fileio import atomic_csv, atomic_write
from dlc_recurrent.inference.pairing import HANDOFF_LIKELIHOOD, Pairing, load_confident
from dlc_recurrent.kinds import MODEL_REGISTRY
from dlc_recurrent.layout import evaluation_folder
from dlc_recurrent.project import Project, load_project

logger = logging.getLogger(__name__)


def evaluate_occlusion(
    config: str | Path,
    shuffle: int = 1,
    trainingsetindex: int = 0,
    n_windows: int = 50,
    occluder_size: float = 20,
    max_occlusion: int = 10,
    bodyparts: list[str] | None = None,
    seed: int = DEFAULT_SEED,
    pcutoff: float | None = None,
    filter_windowlength: int = 5,
    n_events: int = 3,
    max_event_length: int | None = None,
    batch_size: int = 8,
    progress: bool = True,
    model: str = RECURRENT,
    confident_shuffle: int | None = None,
    confident_model: str | None = None,
    handoff: float = HANDOFF_LIKELIHOOD,
    bridge_max_gap: int | None = None,
) -> dict:
    """The seed paper's occlusion study, generalised to any single-animal DLC project.

    Needs ``leap`` and the recurrent student ``model`` trained on this shuffle's training set; only
    its test frames (``test_blocks``) are used. Compared methods: ``leap``,
    ``leap+median filter+interpolation`` (LEAP analysed with ``dlc_recurrent.inference.analyze_videos``
    into the evaluation folder, the real ``deeplabcut.filterpredictions(filtertype="median",
    windowlength=filter_windowlength)``, then points under pcutoff filled by linear interpolation) and
    ``model`` (``predict_video``; on the artificially occluded windows the bidirectional student has
    no frame after the last).

    * Figure 5 (``test_frames``): every frame of the test blocks (the frames the test windows are
      drawn from; whole-video predictions, so the recurrent student has its streaming context), no
      artificial occlusion; mean distance per body part against the teacher where confident (the
      paper's ground truth) and, on synthetic projects, against the true positions on visible and on
      naturally hidden frames; paired two-tailed t-tests of ``model`` vs each method.
    * Figure 6 (``occlusion``): up to ``n_windows`` test windows of window_length frames PER BODY
      PART, drawn among the windows where the teacher is over pcutoff on that part on every frame
      (and, on synthetic projects, the part is visible); every method sees the same windows. For
      lengths 0..max_occlusion (at most window_length) a black square is centred on the ground truth
      of every studied body part known on each of the last k frames; the error of the window's part
      is taken on the last frame. Ground truth: the synthetic truth where it exists, else the
      teacher. The centred square reveals the part's position (see the module notes): this
      reproduces the paper's Figure 6 only.
    * Figures 2 and 3 (``natural_events``): runs of test frames where the teacher drops under pcutoff
      or (synthetic) the part is hidden; those with most truly hidden frames are plotted frame by
      frame.
    * Calibration (``calibration``, synthetic projects): per method, for visible and for naturally
      hidden test points, the fraction within 5 px of the truth per likelihood bin; the summary says
      what pcutoff does on hidden points (right guesses kept, wrong ones dropped).

    With a second student (``confident_shuffle``) the study adds it alone (``<model>_shuffle<N>``) and
    the two combined (``two_students``, the reference of every paired test); the main student is named
    ``<model>_shuffle<shuffle>``. Only frames that are test frames of both students' training sets are
    used. On whole videos the pair is combined exactly as analyze_videos combines it (handoff and
    bridges); under artificial occlusion the last frame has no frame after it, so only the handoff.

    Writes CSVs, PNGs and ``summary.txt`` into ``evaluation_folder(...)`` (a study of another
    ``model`` than convlstm_leap into its subfolder ``<model>``, a pair study into a further subfolder
    ``two_students_shuffle<N>_<confident model>``).

    Args:
        config: the DLC project's config.yaml (or its folder).
        shuffle: the students' training-set number.
        trainingsetindex: the index of the training fraction in config.yaml.
        n_windows: Figure 6's test windows per body part, at most.
        occluder_size: the side of Figure 6's square, full-resolution px (scaled with the training set).
        max_occlusion: Figure 6's longest occlusion, frames (capped at window_length).
        bodyparts: the body parts studied (default all).
        seed: draws Figure 6's windows (independent of training).
        pcutoff: the likelihood cutoff used throughout (the teacher's confident points, the points the
            filter baseline interpolates, natural events); default config.yaml's.
        filter_windowlength: the median filter's window (deeplabcut.filterpredictions).
        n_events: Figures 2 and 3's events plotted.
        max_event_length: the longest natural event, frames (default 2 x window_length).
        batch_size: frames per network call.
        progress: show progress bars.
        model: the recurrent student: "convlstm_leap" (the paper's) or "bidirectional_leap".
        confident_shuffle: a second student's training-set number, as in ``analyze_videos``.
        confident_model: its model, as in ``analyze_videos``.
        handoff: as in ``analyze_videos``.
        bridge_max_gap: as in ``analyze_videos``.

    Returns:
        DataFrames by name (``test_frames``, ``occlusion``, ``occlusion_windows``, ``occlusion_errors``,
        ``natural_events``, ``summary``, ``findings``, ``calibration``; a pair study also ``bridges``:
        per video the bridges' reach and the points they moved) plus ``figures`` (name -> path) and
        ``folder``.
    """
    project = load_project(config)
    trainset = load_trainset(project, shuffle, trainingsetindex)
    pcutoff = project.pcutoff if pcutoff is None else float(pcutoff)
    names = trainset.bodyparts
    parts = [names.index(bp) for bp in _checked_request(model, project, trainset, bodyparts)]
    pairing = Pairing(confident_shuffle, confident_model, handoff, bridge_max_gap)
    students, study, videos, folder = _set_up(project, trainset, shuffle, trainingsetindex, model, pairing)
    length = trainset.window_length
    lengths = list(range(0, min(int(max_occlusion), length) + 1))
    if max_occlusion > length:
        logger.warning(f"max_occlusion={max_occlusion} capped at the window length ({length} frames).")
    folder.mkdir(parents=True, exist_ok=True)
    bridges = whole_video_predictions(project, students, videos, folder, shuffle, trainingsetindex, pcutoff,
                                      filter_windowlength, progress, study)
    test_frames = test_frame_table(videos, names, pcutoff, study)

    confident = [(v.teacher_likelihood >= pcutoff) & (v.visible if v.has_truth else True) for v in videos]
    windows = select_occlusion_windows(confident, [v.test_blocks for v in videos], length, n_windows, parts, names,
                                       seed)
    windows.insert(3, "video_name", [videos[i].info.path.name for i in windows.video])
    runners = {kind: Runner(student, batch_size) for kind, student in students.items()}
    raw = artificial_occlusion(videos, runners, windows, parts, names, length, lengths,
                               occluder_side(occluder_size, trainset.spec.scale), trainset.spec.scale,
                               trainset.channels, pcutoff, progress, study)
    occlusion = occlusion_table(raw, lengths, study)
    events = natural_events(videos, names, pcutoff, max_event_length or 2 * length, study)
    has_truth = any(v.has_truth for v in videos)
    tables = {
        "test_frames": test_frames,
        "occlusion": occlusion,
        "occlusion_windows": windows,
        "occlusion_errors": raw,
        "natural_events": events,
        "summary": summary_table(test_frames, occlusion, lengths[-1], has_truth, study, videos, pcutoff),
        "findings": findings_table(test_frames, occlusion, lengths, study),
        "calibration": study_calibration(videos, study),
    }
    if study.paired:
        tables["bridges"] = pd.DataFrame(bridges, columns=["video", "bridge_reach_px", "bridged_points"])
    figures = _draw(tables, videos, occluder_size, length, trainset.channels, pcutoff, n_events, folder, study)
    for name, table in tables.items():
        atomic_csv(table, folder / f"{name}.csv", index=name == "summary")
    text = findings_text(tables["findings"], tables["summary"], windows, occluder_size, folder, study, bridges)
    atomic_write(folder / "summary.txt", lambda tmp: Path(tmp).write_text(text))
    logger.info(text)
    return {**tables, "figures": figures, "folder": folder}


def _checked_request(model: str, project: Project, trainset: TrainingSet, bodyparts: list[str] | None) -> list[str]:
    """The studied body parts; one-line errors for a model that is not recurrent, unknown body parts or a
    training set without test frames."""
    if model not in MODEL_REGISTRY or not MODEL_REGISTRY[model].recurrent:
        recurrent_kinds = [name for name, kind in MODEL_REGISTRY.items() if kind.recurrent]
        raise ValueError(f"model must be a recurrent student, one of {recurrent_kinds}, got {model!r}")
    names = trainset.bodyparts
    bodyparts = list(names) if bodyparts is None else list(bodyparts)
    unknown = [bp for bp in bodyparts if bp not in names]
    if unknown:
        raise ProjectError(f"{project.config_path}: body parts {unknown} are not in the project's {names}")
    if not any(record.get("test_blocks") for record in trainset.videos):
        raise ProjectError(
            f"{trainset.folder}: the training set has no test frames (TrainingFraction 1?); rebuild it with "
            "test blocks (TrainingFraction < 1) to evaluate occlusion"
        )
    return bodyparts


def _set_up(project: Project, trainset: TrainingSet, shuffle: int, trainingsetindex: int, model: str,
            pairing: Pairing) -> tuple[dict, Study, list[StudyVideo], Path]:
    """The students (LEAP, ``model``, and a confident second one if paired), the study, its test videos
    (only frames both training sets hold out, for a pair) and its folder."""
    students = load_students(project, shuffle, trainingsetindex, (LEAP, model))
    study = Study(recurrent=model)
    folder = evaluation_folder(project, shuffle, trainingsetindex)
    if model != RECURRENT:
        folder = folder / model
    second = load_confident(project, students[model], shuffle, trainingsetindex, model, None, pairing)
    videos = load_videos(project, trainset)
    if second is None:
        return students, study, videos, folder
    study = pair_study(model, shuffle, second.config.model, pairing)
    students = {LEAP: students[LEAP], study.recurrent: students[model], study.second: second}
    second_trainset = load_trainset(project, pairing.shuffle, trainingsetindex)
    kept, before = keep_shared_test_frames(videos, second_trainset)
    if not kept:
        raise ProjectError(
            f"{second_trainset.folder}: the two students' training sets share no test frames, so one of them "
            f"trained on every frame it would be judged on; build shuffle {pairing.shuffle}'s training set "
            f"with the same window_length and seed as shuffle {shuffle}'s")
    folder = folder / f"two_students_shuffle{pairing.shuffle}_{second.config.model}"
    return students, replace(study, test_frames=(kept, before)), videos, folder


def _draw(tables: dict, videos: list[StudyVideo], occluder_size: float, length: int, channels: int, pcutoff: float,
          n_events: int, folder: Path, study: Study) -> dict[str, Path]:
    """The study's PNGs (Figures 5, 6, 2-3 and the calibration), by name; stale event figures removed."""
    figures = {
        "fig5_test_frames": plot_test_frames(tables["test_frames"], folder / "fig5_test_frames.png", study),
        "fig6_artificial_occlusion": plot_occlusion(tables["occlusion"], tables["occlusion_windows"], occluder_size,
                                                    length, folder / "fig6_artificial_occlusion.png", study),
        "calibration": plot_calibration(tables["calibration"], pcutoff, folder / "calibration.png", study),
    }
    for old in folder.glob("fig2_3_natural_occlusion_*.png"):
        old.unlink()
    for number, (_, event) in enumerate(pick_events(tables["natural_events"], n_events).iterrows(), start=1):
        name = f"fig2_3_natural_occlusion_{number}_{event.bodypart}_{Path(event.video).stem}_{event.start}.png"
        figures[name[:-4]] = plot_event(videos[int(event.video_index)], event, channels, pcutoff, folder / name, study)
    return {k: v for k, v in figures.items() if v is not None}
