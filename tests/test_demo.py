"""The demo command and the two examples run end to end (at a size where numbers mean nothing)."""

import subprocess
import sys
from pathlib import Path

import pytest

from dlc_recurrent.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.slow
def test_demo_command_runs_the_whole_pipeline(tmp_path, capsys):
    assert main(["demo", str(tmp_path / "demo"), "--tiny"]) == 0
    out = capsys.readouterr().out
    assert "Summary" in out and "Labeled video:" in out
    labeled = out.split("Labeled video:")[1].split()[0]
    assert labeled != "None" and Path(labeled).is_file()
    ensemble = Path(out.split("Ensemble Kalman Smoothing:")[1].split()[0])
    assert ensemble.is_file() and ensemble.suffix == ".h5"
    figures = [Path(line.strip()) for line in out.split("Figures:")[1].split("Labeled video:")[0].splitlines()
               if line.strip()]
    assert figures and all(f.is_file() and f.suffix == ".png" for f in figures)


def run_example(*args):
    return subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_step_by_step_example(tmp_path):
    result = run_example(EXAMPLES / "demo_step_by_step.py", tmp_path / "steps", "--tiny")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "convlstm_leap trained in" in result.stdout


@pytest.mark.slow
def test_your_own_project_example_on_a_synthetic_project(tmp_path):
    from dlc_recurrent.synthetic import make_synthetic_project

    config = make_synthetic_project(tmp_path, n_frames=100, width=64, height=64, n_labeled_frames=6, seed=5)
    result = run_example(EXAMPLES / "your_own_project.py", config, "--window-length", "5", "--windows-per-video",
                         "12", "--min-steps", "3", "--max-steps", "6", "--steps-per-epoch", "3", "--n-windows", "3")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Predictions: <video>DLC_CspnextM_" in result.stdout
