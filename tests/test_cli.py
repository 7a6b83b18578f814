"""The dlc-recurrent command line."""

from pathlib import Path

import pytest

from dlc_recurrent.cli import main
from dlc_recurrent.config import TrainingConfig, TrainingSetSpec
from dlc_recurrent.project import load_project


def test_synthetic_command_prints_a_readable_config(tmp_path, capsys):
    assert main(["synthetic", str(tmp_path), "--frames", "60", "--width", "64", "--height", "64", "--seed", "2",
                 "--occlusions-during", "any"]) == 0
    config = Path(capsys.readouterr().out.strip().splitlines()[-1])
    assert config.name == "config.yaml" and config.is_file()
    assert len(load_project(config).videos) == 1


def test_unknown_command_is_rejected():
    with pytest.raises(SystemExit):
        main(["frobnicate"])


def test_project_errors_are_one_line_with_exit_code_1(tmp_path, capsys):
    assert main(["create-training-set", str(tmp_path / "missing" / "config.yaml")]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("dlc-recurrent: error:") and "config file not found" in error
    assert len(error.splitlines()) == 1


def test_create_training_set_and_train_commands(project_copy, capsys):
    from dlc_recurrent.distill import load_training_set
    from dlc_recurrent.layout import WEIGHTS_NAME, training_set_folder

    assert main(["create-training-set", str(project_copy), "--window-length", "4", "--windows-per-video", "8"]) == 0
    trainset = load_training_set(training_set_folder(load_project(project_copy)))
    assert trainset.window_length == 4
    assert main(["train", str(project_copy), "--model", "leap", "--schedule", "fixed", "--epochs", "1",
                 "--batch-size", "4"]) == 0
    folder = Path(capsys.readouterr().out.strip().splitlines()[-1])
    assert (folder / WEIGHTS_NAME).is_file()
    assert main(["train", str(project_copy), "--start-from", "leap", "--memory", "maps", "--schedule", "fixed",
                 "--epochs", "1", "--batch-size", "2"]) == 0
    from dlc_recurrent.training import load_student

    _, config = load_student(Path(capsys.readouterr().out.strip().splitlines()[-1]))
    assert config.start_from == "leap" and config.skip_connection and config.memory == "maps"


def test_public_train_is_the_function_not_the_module():
    import dlc_recurrent
    import dlc_recurrent.training  # noqa: F401

    assert callable(dlc_recurrent.train)


def test_analyze_command(trained_project, tmp_path, capsys):
    video = load_project(trained_project).videos[0]
    argv = ["analyze", str(trained_project), str(video), "--model", "leap", "--destfolder", str(tmp_path),
            "--save-as-csv"]
    assert main(argv) == 0
    scorer = capsys.readouterr().out.strip().splitlines()[-1]
    assert (tmp_path / f"{video.stem}{scorer}.h5").is_file() and (tmp_path / f"{video.stem}{scorer}.csv").is_file()


def test_ensemble_command(trained_project, tmp_path, capsys):
    video = load_project(trained_project).videos[0]
    assert main(["analyze", str(trained_project), str(video), "--model", "leap", "--destfolder", str(tmp_path)]) == 0
    argv = ["ensemble", str(trained_project), str(video), "--members", "teacher,leap", "--destfolder", str(tmp_path),
            "--smooth-param", "2.5", "--save-as-csv"]
    assert main(argv) == 0
    scorer = capsys.readouterr().out.strip().splitlines()[-1]
    assert (tmp_path / f"{video.stem}{scorer}.h5").is_file() and (tmp_path / f"{video.stem}{scorer}.csv").is_file()
    assert main(["ensemble", str(trained_project), str(video), "--members", "teacher,resnet"]) == 1
    assert "distinct names" in capsys.readouterr().err


def test_analyze_command_with_a_confident_student(trained_project, tmp_path, capsys):
    import pickle

    video = load_project(trained_project).videos[0]
    argv = ["analyze", str(trained_project), str(video), "--destfolder", str(tmp_path), "--confident-shuffle", "1",
            "--confident-model", "leap", "--handoff", "0.7", "--bridge-max-gap", "5"]
    assert main(argv) == 0
    scorer = capsys.readouterr().out.strip().splitlines()[-1]
    with open(tmp_path / f"{video.stem}{scorer}_meta.pickle", "rb") as handle:
        made_with = pickle.load(handle)["data"]["dlc_recurrent"]["confident_student"]
    assert made_with["model"] == "leap" and made_with["handoff"] == 0.7 and made_with["bridge_max_gap"] == 5


def test_evaluate_command_passes_the_pair_to_the_occlusion_study(monkeypatch, tmp_path, capsys):
    from dlc_recurrent import evaluation

    calls = []
    monkeypatch.setattr(evaluation, "evaluate", lambda *args, **kwargs: calls.append(("evaluate", kwargs)))
    monkeypatch.setattr(evaluation, "evaluate_occlusion", lambda *args, **kwargs: calls.append(("occlusion", kwargs)))
    config = str(tmp_path / "config.yaml")
    assert main(["evaluate", config, "--confident-shuffle", "2"]) == 1
    error = capsys.readouterr().err.strip()
    assert "add --occlusion" in error and len(error.splitlines()) == 1 and not calls
    assert main(["evaluate", config, "--occlusion", "--confident-shuffle", "2", "--handoff", "0.7",
                 "--bridge-max-gap", "5"]) == 0
    occlusion = dict(calls)["occlusion"]
    assert (occlusion["confident_shuffle"], occlusion["handoff"], occlusion["bridge_max_gap"]) == (2, 0.7, 5)
    assert occlusion["confident_model"] is None


def test_version_loudness_and_python_dash_m(capsys):
    import subprocess
    import sys

    from dlc_recurrent import __version__

    with pytest.raises(SystemExit) as exit_code:
        main(["--version"])
    assert exit_code.value.code == 0 and __version__ in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_code:
        main(["-v", "-q", "demo", "x"])
    assert exit_code.value.code == 2, "argparse keeps 2 for command lines it cannot read"
    result = subprocess.run([sys.executable, "-m", "dlc_recurrent", "train", "--help"], capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0 and "--device" in result.stdout and "(default: 1)" in result.stdout


def test_another_librarys_value_error_keeps_its_traceback(tmp_path, monkeypatch, capsys):
    """Only the package's own ValueErrors (a file and its fix, an option and its range) become one
    line; pandas' or TensorFlow's are bugs to report and keep their traceback, as -v keeps ours."""
    import pandas as pd

    from dlc_recurrent import cli

    monkeypatch.setattr(cli, "_create_training_set", lambda args: pd.DataFrame({"a": [1, 2], "b": [1]}))
    with pytest.raises(ValueError, match="same length"):
        main(["create-training-set", str(tmp_path / "config.yaml")])
    monkeypatch.undo()
    with pytest.raises(ValueError, match="config file not found"):
        main(["-v", "create-training-set", str(tmp_path / "missing" / "config.yaml")])


def test_errors_on_the_command_line_name_the_flag(project_copy, capsys):
    assert main(["create-training-set", str(project_copy), "--window-length", "4", "--windows-per-video", "8"]) == 0
    capsys.readouterr()  # the progress bars
    assert main(["create-training-set", str(project_copy), "--window-length", "5", "--windows-per-video", "8"]) == 1
    error = capsys.readouterr().err.strip()
    assert "overwrite=True (--overwrite)" in error and len(error.splitlines()) == 1


def test_the_command_line_takes_its_defaults_from_the_configs():
    from dlc_recurrent.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["create-training-set", "config.yaml"])
    spec = TrainingSetSpec()
    assert (args.window_length, args.windows_per_video, args.scale, args.seed, args.max_gap_fill) == (
        spec.window_length, spec.windows_per_video, spec.scale, spec.seed, spec.max_gap_fill)
    assert parser.parse_args(["train", "config.yaml"]).model == TrainingConfig().model
