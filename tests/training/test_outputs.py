"""A trained student's files (dlc_recurrent.training.outputs): reading it back, damage, its summary."""

import pytest

import dlc_recurrent  # noqa: F401  (torchvision before tensorflow)
from dlc_recurrent.distill import load_training_set
from dlc_recurrent.errors import ProjectError
from dlc_recurrent.layout import WEIGHTS_NAME
from dlc_recurrent.project import load_project
from dlc_recurrent.training import load_student, train
from tests.helpers import TINY
from tests.helpers import cut_short as _cut_short


def test_a_student_with_a_skip_connection_is_saved_and_rebuilt_with_it(trainset_project):
    from dlc_recurrent.models import has_skip_connection

    folder = train(trainset_project, model="convlstm_leap", skip_connection=True, **TINY)
    network, config = load_student(folder)
    assert config.skip_connection and has_skip_connection(network)
    assert train(trainset_project, model="convlstm_leap", skip_connection=True, **TINY) == folder  # finished: kept
    with pytest.raises(ValueError, match="skip_connection"):
        train(trainset_project, model="convlstm_leap", **TINY)  # another network: not resumed silently


@pytest.mark.parametrize("damaged", ["trainingset.yaml", "windows.csv", "video000_frames.npy",
                                     "video000_targets.npz", "weights", "student yaml"])
def test_a_damaged_training_set_or_student_gets_a_one_line_error_naming_the_file(trainset_project, damaged):
    from dlc_recurrent.layout import CONFIG_NAME, training_set_folder

    project = load_project(trainset_project)
    folder = train(trainset_project, model="leap", **TINY)
    target = {"weights": folder / WEIGHTS_NAME, "student yaml": folder / CONFIG_NAME}.get(
        damaged, training_set_folder(project, 1, 0) / damaged)
    if target.suffix in (".yaml", ".csv"):
        target.write_text("{garbled: [\n" if target.suffix == ".yaml" else "nothing,useful\n")
    else:
        _cut_short(target)
    call = (lambda: load_student(folder)) if damaged in ("weights", "student yaml") else (
        lambda: load_training_set(training_set_folder(project, 1, 0)))
    with pytest.raises(ProjectError, match=f"{target.name}: damaged.*overwrite=True") as error:
        call()
    assert len(str(error.value).splitlines()) == 1


def test_load_student_without_weights(tmp_path):
    with pytest.raises(ProjectError, match="no trained student"):
        load_student(tmp_path)


def test_a_converged_student_is_kept_and_reports_it(trainset_project, capsys):
    from dlc_recurrent.training import read_training_summary

    options = dict(batch_size=2, sigma=3.0, steps_per_epoch=2, min_steps=2, max_steps=200, patience=4,
                   lr_patience=2, min_improvement=0.99)  # nothing counts as improving: stops at step 6
    folder = train(trainset_project, model="leap", **options)
    summary = read_training_summary(folder)
    assert summary["converged"] and summary["steps"] == 6 and summary["kept_step"] in (2, 4, 6)
    assert "leap: converged after 6 steps" in capsys.readouterr().out
    stamp = (folder / WEIGHTS_NAME).stat().st_mtime_ns
    train(trainset_project, model="leap", **{**options, "max_steps": 400})
    assert "already holds a finished leap" in capsys.readouterr().out
    assert (folder / WEIGHTS_NAME).stat().st_mtime_ns == stamp
    train(trainset_project, model="leap", **{**options, "min_steps": 10})  # "at least 10 steps" trains on
    assert read_training_summary(folder)["steps"] == 10
