"""The dlc-recurrent command line."""

from pathlib import Path

import pytest

from dlc_recurrent.cli import main
from dlc_recurrent.project import load_project


def test_synthetic_command_prints_a_readable_config(tmp_path, capsys):
    assert main(["synthetic", str(tmp_path), "--frames", "60", "--width", "64", "--height", "64", "--seed", "2"]) == 0
    config = Path(capsys.readouterr().out.strip().splitlines()[-1])
    assert config.name == "config.yaml" and config.is_file()
    assert len(load_project(config).videos) == 1


def test_unknown_command_is_rejected():
    with pytest.raises(SystemExit):
        main(["frobnicate"])
