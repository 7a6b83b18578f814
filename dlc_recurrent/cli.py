"""The ``dlc-recurrent`` command line: one sub-command per step of the pipeline."""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from pathlib import Path

from dlc_recurrent._logging import LOGGER_NAME, VERBOSE_VARIABLE
from dlc_recurrent._version import __version__
from dlc_recurrent.config import DEFAULT_MIN_STEPS, PAPER_EPOCHS, SCHEDULES, TrainingConfig, TrainingSetSpec
from dlc_recurrent.errors import ProjectError
from dlc_recurrent.kinds import MEMORIES, MODEL_KINDS, START_FROM
from dlc_recurrent.precision import PRECISIONS
from dlc_recurrent.synthetic import OCCLUSION_PHASES, PRESETS


def _synthetic(args) -> None:
    from dlc_recurrent.synthetic import PRESETS, make_synthetic_project

    options = dict(PRESETS[args.preset])
    if args.occlusions_during is not None:
        options["occlusions_during"] = args.occlusions_during
    config = make_synthetic_project(args.directory, n_videos=args.videos, n_frames=args.frames, width=args.width,
                                    height=args.height, seed=args.seed, **options)
    print(config)


def _create_training_set(args) -> None:
    from dlc_recurrent.distill import create_training_set

    create_training_set(
        args.config,
        shuffle=args.shuffle,
        trainingsetindex=args.trainingsetindex,
        window_length=args.window_length,
        windows_per_video=args.windows_per_video,
        scale=args.scale,
        teacher_scorer=args.teacher_scorer,
        teacher_shuffle=args.teacher_shuffle,
        teacher_snapshot_index=args.teacher_snapshot_index,
        seed=args.seed,
        max_gap_fill=args.max_gap_fill,
        overwrite=args.overwrite,
    )


def _train(args) -> None:
    from dlc_recurrent import train

    chosen = (("schedule", args.schedule), ("epochs", args.epochs), ("min_steps", args.min_steps),
              ("max_steps", args.max_steps), ("batch_size", args.batch_size),
              ("skip_connection", args.skip_connection or None), ("precision", args.precision),
              ("start_from", args.start_from), ("memory", args.memory))
    options = {k: v for k, v in chosen if v is not None}
    folder = train(
        args.config,
        shuffle=args.shuffle,
        trainingsetindex=args.trainingsetindex,
        model=args.model,
        gputouse=args.gputouse,
        device=args.device,
        overwrite=args.overwrite,
        **options,
    )
    print(folder)


def _analyze(args) -> None:
    from dlc_recurrent.inference import analyze_videos

    scorer = analyze_videos(
        args.config,
        args.videos,
        videotype=args.videotype,
        shuffle=args.shuffle,
        trainingsetindex=args.trainingsetindex,
        gputouse=args.gputouse,
        device=args.device,
        save_as_csv=args.save_as_csv,
        destfolder=args.destfolder,
        batch_size=args.batch_size,
        overwrite=args.overwrite,
        model=args.model,
        shard=args.shard,
        precision=args.precision,
        **_pair(args),
    )
    print(scorer)


def _ensemble(args) -> None:
    from dlc_recurrent.ensemble.videos import ensemble_videos

    print(ensemble_videos(args.config, args.videos, members=tuple(args.members.split(",")), shuffle=args.shuffle,
                          trainingsetindex=args.trainingsetindex, videotype=args.videotype,
                          destfolder=args.destfolder, smooth_param=args.smooth_param,
                          likelihood_radius=args.likelihood_radius, save_as_csv=args.save_as_csv,
                          overwrite=args.overwrite, teacher_scorer=args.teacher_scorer,
                          teacher_folder=args.teacher_folder))


def _pair(args) -> dict:
    """The second-student options of analyze and evaluate --occlusion, as keyword arguments."""
    return {"confident_shuffle": args.confident_shuffle, "confident_model": args.confident_model,
            **({} if args.handoff is None else {"handoff": args.handoff}), "bridge_max_gap": args.bridge_max_gap}


def _evaluate(args) -> None:
    from dlc_recurrent.evaluation import evaluate, evaluate_occlusion

    pair = _pair(args)
    if not args.occlusion and any(value is not None for value in pair.values()):
        raise ProjectError("--confident-shuffle, --confident-model, --handoff and --bridge-max-gap apply to the "
                           "occlusion study: add --occlusion")
    evaluate(args.config, shuffle=args.shuffle, trainingsetindex=args.trainingsetindex, models=("leap", args.model))
    if args.occlusion:
        evaluate_occlusion(args.config, shuffle=args.shuffle, trainingsetindex=args.trainingsetindex,
                           n_windows=args.n_windows, model=args.model, **pair)


def _demo(args) -> None:
    from dlc_recurrent.demo import FULL, SMALL, TINY, run_demo

    scale = FULL if args.full else TINY if args.tiny else SMALL
    run_demo(args.directory, scale=scale, seed=args.seed)


def _add_pair_arguments(parser: argparse.ArgumentParser) -> None:
    """Two students (analyze, evaluate --occlusion): a second one's confident points over the main one's."""
    parser.add_argument("--confident-shuffle", type=int, default=None,
                        help="a second student, trained with --max-gap-fill 0: its points passing --handoff are kept")
    parser.add_argument("--confident-model", choices=MODEL_KINDS, default=None,
                        help="the second student's model (default: --model)")
    parser.add_argument("--handoff", type=float, default=None,
                        help="likelihood from which the second student's point is kept (default 0.8)")
    parser.add_argument("--bridge-max-gap", type=int, default=None,
                        help="with --confident-shuffle: longest run of frames where the second student is unsure "
                             "that is bridged by a straight line where the main student agrees (default 12, 0: none)")


def _add_project_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="path of the DLC project's config.yaml")
    parser.add_argument("--shuffle", type=int, default=1,
                        help="the student's own training-set number (not your DLC network's shuffle)")
    parser.add_argument("--trainingsetindex", type=int, default=0, help="which of config.yaml's TrainingFraction")
    parser.add_argument("--overwrite", action="store_true", help="redo what exists instead of keeping it")


def build_parser() -> argparse.ArgumentParser:
    """The ``dlc-recurrent`` parser: one sub-command per pipeline step, defaults read from the configs.

    Returns:
        The parser; each sub-command's namespace carries ``run``, the function that runs it.
    """
    parser = argparse.ArgumentParser(
        prog="dlc-recurrent",
        description="Temporal (ConvLSTM-LEAP) students for DeepLabCut projects.",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument("-v", "--verbose", action="store_true",
                          help="also debugging messages and TensorFlow's start-up notices")
    loudness.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    commands = parser.add_subparsers(dest="command", required=True)
    add_parser = commands.add_parser

    def add_command(name, **kwargs):
        return add_parser(name, formatter_class=_HelpFormatter, **kwargs)

    commands.add_parser = add_command

    _add_synthetic(commands)
    _add_create_training_set(commands)
    _add_train(commands)
    _add_analyze(commands)
    _add_ensemble(commands)
    _add_evaluate(commands)
    _add_demo(commands)
    return parser


def _add_synthetic(commands) -> None:
    """Add the ``synthetic`` sub-command: a generated DLC project."""
    synthetic = commands.add_parser("synthetic", help="generate a DLC project with known ground truth")
    synthetic.add_argument("directory", help="folder to create the project in")
    synthetic.add_argument("--videos", type=int, default=1, help="number of videos")
    synthetic.add_argument("--frames", type=int, default=300, help="frames per video")
    synthetic.add_argument("--width", type=int, default=336, help="frame width in pixels")
    synthetic.add_argument("--height", type=int, default=280, help="frame height in pixels")
    synthetic.add_argument("--seed", type=int, default=0, help="the random world: gait, occluders, teacher errors")
    synthetic.add_argument("--occlusions-during", choices=OCCLUSION_PHASES, default=None,
                           help="hide paws only in stance (straight motion, the default) or at any phase of the stride")
    synthetic.add_argument("--preset", choices=list(PRESETS), default="default",
                           help="long_hidden: paws hidden for 13-60 frames (longer than max_gap_fill), as under a body")
    synthetic.set_defaults(run=_synthetic)


def _add_create_training_set(commands) -> None:
    """Add the ``create-training-set`` sub-command."""
    trainset = commands.add_parser("create-training-set", help="sample teacher-labelled windows")
    _add_project_arguments(trainset)
    trainset.add_argument("--window-length", type=int, default=TrainingSetSpec.window_length,
                          help="frames per training window (the paper's 15)")
    trainset.add_argument("--windows-per-video", type=int, default=TrainingSetSpec.windows_per_video,
                          help="windows drawn per video (plus those holding hand-labelled frames)")
    trainset.add_argument("--scale", type=float, default=TrainingSetSpec.scale,
                          help="resize the stored frames (0.5: half width and height, steps about 4x faster)")
    trainset.add_argument("--teacher-scorer", default=None,
                          help="the teacher's scorer, when several teachers' files lie next to a video")
    trainset.add_argument("--teacher-shuffle", type=int, default=None,
                          help="the DLC shuffle whose analyze_videos output is the teacher "
                               "(instead of --teacher-scorer)")
    trainset.add_argument("--teacher-snapshot-index", type=int, default=None,
                          help="that shuffle's snapshot (default: the config's snapshotindex)")
    trainset.add_argument("--seed", type=int, default=TrainingSetSpec.seed, help="which windows are drawn")
    trainset.add_argument("--max-gap-fill", type=int, default=TrainingSetSpec.max_gap_fill,
                          help="interpolate teacher gaps of at most this many frames (0: mask them, the paper)")
    trainset.set_defaults(run=_create_training_set)


def _add_train(commands) -> None:
    """Add the ``train`` sub-command."""
    training = commands.add_parser("train", help="train a student on the training set")
    _add_project_arguments(training)
    training.add_argument("--model", choices=MODEL_KINDS, default=TrainingConfig.model)
    training.add_argument("--schedule", choices=SCHEDULES, default=None,
                          help="converge (default): until the test loss stops improving; fixed: --epochs (the paper)")
    training.add_argument("--min-steps", type=int, default=None,
                          help=f"never stop before (default {DEFAULT_MIN_STEPS})")
    training.add_argument("--max-steps", type=int, default=None,
                          help=f"stop here even if not converged (default {TrainingConfig.max_steps})")
    training.add_argument("--epochs", type=int, default=None,
                          help=f"with --schedule fixed: passes over the set ({PAPER_EPOCHS})")
    training.add_argument("--batch-size", type=int, default=None,
                          help="windows (recurrent) or frames (LEAP) per step (default 8 or 32)")
    training.add_argument("--skip-connection", action="store_true",
                          help="recurrent students: the decoder also sees each frame's own features")
    training.add_argument("--start-from", choices=START_FROM, default=None,
                          help="recurrent students: scratch (default) or leap: start as the trained LEAP control of "
                               "this training set (trained first when missing) and fine-tune")
    training.add_argument("--memory", choices=MEMORIES, default=None,
                          help="convlstm_leap: what its ConvLSTM reads: features (default, the paper's) or maps: "
                               "LEAP's own maps, its state adding a correction to them")
    training.add_argument("--gputouse", type=int, default=None, help="GPU index (default: the first GPU, or the CPU)")
    training.add_argument("--device", default=None, help="DLC 3's way: cpu, cuda:0, cuda:1, ...")
    training.add_argument("--precision", choices=PRECISIONS, default=None,
                          help="auto (default): float16 on a GPU, float32 on a CPU; bfloat16: faster on AMX CPUs")
    training.set_defaults(run=_train)


def _add_analyze(commands) -> None:
    """Add the ``analyze`` sub-command."""
    analyze = commands.add_parser("analyze", help="analyze videos into DLC-format h5 files")
    _add_project_arguments(analyze)
    analyze.add_argument("videos", nargs="+", help="video files or folders")
    analyze.add_argument("--videotype", "--video-extensions", default="",
                         help="only files with this extension (e.g. mp4) in folders given as videos")
    analyze.add_argument("--model", choices=MODEL_KINDS, default="convlstm_leap")
    analyze.add_argument("--save-as-csv", action="store_true", help="a .csv beside each .h5")
    analyze.add_argument("--destfolder", default=None)
    analyze.add_argument("--batch-size", type=int, default=None,
                         help="frames per network call (default 8 on a CPU, 32 on a GPU)")
    analyze.add_argument("--gputouse", type=int, default=None, help="GPU index (default: the first GPU, or the CPU)")
    analyze.add_argument("--device", default=None, help="DLC 3's way: cpu, cuda:0, cuda:1, ...")
    analyze.add_argument("--shard", default=None, metavar="I/N",
                         help="only the I-th of N shares of the videos (a job array: $SLURM_ARRAY_TASK_ID/N)")
    analyze.add_argument("--precision", choices=PRECISIONS, default="auto",
                         help="auto: bfloat16 on CPUs with AMX/AVX512-BF16, float16 on a GPU; float32: full")
    _add_pair_arguments(analyze)
    analyze.set_defaults(run=_analyze)


def _add_ensemble(commands) -> None:
    """Add the ``ensemble`` sub-command."""
    ensemble = commands.add_parser("ensemble", help="combine the teacher's and students' h5 files by Ensemble "
                                                    "Kalman Smoothing into one more h5")
    _add_project_arguments(ensemble)
    ensemble.add_argument("videos", nargs="+", help="video files or folders (analyzed by every student member)")
    ensemble.add_argument("--members", default="teacher,leap",
                          help="comma-separated: teacher, leap, convlstm_leap, bidirectional_leap")
    ensemble.add_argument("--videotype", "--video-extensions", default="",
                          help="only files with this extension (e.g. mp4) in folders given as videos")
    ensemble.add_argument("--destfolder", default=None, help="where the students' h5 files are and the ensemble goes")
    ensemble.add_argument("--smooth-param", type=float, default=None,
                          help="EKS's s for every body part (smaller smooths more); default: chosen per body part")
    ensemble.add_argument("--likelihood-radius", type=float, default=5.0,
                          help="likelihood = posterior probability of lying within this many px")
    ensemble.add_argument("--teacher-scorer", default=None, help="which teacher h5, when a video has several")
    ensemble.add_argument("--teacher-folder", default=None,
                          help="where the teacher's h5 files are, if not beside the videos")
    ensemble.add_argument("--save-as-csv", action="store_true", help="a .csv beside each .h5")
    ensemble.set_defaults(run=_ensemble)


def _add_evaluate(commands) -> None:
    """Add the ``evaluate`` sub-command."""
    evaluation = commands.add_parser("evaluate", help="pixel errors of both students, and the occlusion study")
    _add_project_arguments(evaluation)
    evaluation.add_argument("--occlusion", action="store_true", help="also run the paper's occlusion study")
    evaluation.add_argument("--n-windows", type=int, default=50)
    evaluation.add_argument("--model", choices=["convlstm_leap", "bidirectional_leap"], default="convlstm_leap",
                            help="the recurrent student compared with LEAP")
    _add_pair_arguments(evaluation)
    evaluation.set_defaults(run=_evaluate)


def _add_demo(commands) -> None:
    """Add the ``demo`` sub-command."""
    demo = commands.add_parser("demo", help="run the whole pipeline on a generated project")
    demo.add_argument("directory", nargs="?", default="demo-project")
    demo.add_argument("--full", action="store_true", help="the paper's scale (slow without a GPU)")
    demo.add_argument("--tiny", action="store_true", help="a seconds-long smoke run; its numbers mean nothing")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(run=_demo)


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """argparse's defaults in the help, except where there is none to show (None, "", False)."""

    def _get_help_string(self, action):
        if action.help is None or action.default is None or action.default is False or action.default == "":
            return action.help
        return super()._get_help_string(action)


def main(argv: list[str] | None = None) -> int:
    """Run one sub-command of the ``dlc-recurrent`` command line.

    A ValueError raised in this package (a ProjectError, or a bad option) is printed as one line on stderr;
    any other library's ValueError, or any under ``--verbose``, keeps its traceback.

    Args:
        argv: the command line after the program's name; default ``sys.argv[1:]``.

    Returns:
        The exit status: 0 when the command worked, 1 for a bad project or option. A command line argparse
        cannot read exits with status 2 (argparse's SystemExit) instead of returning.
    """
    args = build_parser().parse_args(argv)
    if args.verbose:
        os.environ[VERBOSE_VARIABLE] = "1"  # TensorFlow's own start-up messages too
    logging.getLogger(LOGGER_NAME).setLevel(logging.WARNING if args.quiet else logging.DEBUG if args.verbose
                                             else logging.INFO)
    try:
        args.run(args)
    except ValueError as error:  # ProjectError (a file and its fix) or a bad option (the option and its range)
        if args.verbose or not _raised_here(error):
            raise  # another library's ValueError (TensorFlow's, pandas'...) keeps its traceback: a bug to report
        print(f"dlc-recurrent: error: {_for_the_command_line(str(error))}", file=sys.stderr)
        return 1
    return 0


def _for_the_command_line(message: str) -> str:
    """The package's messages name Python calls; on the command line, also the flags that do the same."""
    message = re.sub(r"\b(pass|or) overwrite=True\b", r"\1 overwrite=True (--overwrite)", message)
    if "dlc_recurrent." in message:
        message += " (on the command line: the same names as flags, e.g. --max-steps; dlc-recurrent COMMAND --help)"
    return message


def _raised_here(error: BaseException) -> bool:
    """Whether the innermost Python frame of ``error``'s traceback is in this package."""
    traceback = error.__traceback__
    while traceback is not None and traceback.tb_next is not None:
        traceback = traceback.tb_next
    package = Path(__file__).resolve().parent
    return traceback is not None and package in Path(traceback.tb_frame.f_code.co_filename).resolve().parents


if __name__ == "__main__":
    sys.exit(main())
