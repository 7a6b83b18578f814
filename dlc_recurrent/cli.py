"""The ``dlc-recurrent`` command line: one sub-command per step of the pipeline."""

from __future__ import annotations

import argparse
import sys

from dlc_recurrent.project import ProjectError


def _synthetic(args) -> None:
    from dlc_recurrent.synthetic import make_synthetic_project

    config = make_synthetic_project(
        args.directory,
        n_videos=args.videos,
        n_frames=args.frames,
        width=args.width,
        height=args.height,
        seed=args.seed,
    )
    print(config)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dlc-recurrent",
        description="Temporal (ConvLSTM-LEAP) students for DeepLabCut projects.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    synthetic = commands.add_parser("synthetic", help="generate a DLC project with known ground truth")
    synthetic.add_argument("directory")
    synthetic.add_argument("--videos", type=int, default=1)
    synthetic.add_argument("--frames", type=int, default=300)
    synthetic.add_argument("--width", type=int, default=336)
    synthetic.add_argument("--height", type=int, default=280)
    synthetic.add_argument("--seed", type=int, default=0)
    synthetic.set_defaults(run=_synthetic)

    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except ProjectError as error:
        print(f"dlc-recurrent: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
