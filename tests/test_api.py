"""The package's public calls: each is the function that does the work (one signature, one docstring),
imported on first use, and ``train`` adds only ``report`` to training's own signature."""

import importlib
import inspect
import subprocess
import sys

import pytest

import dlc_recurrent


@pytest.mark.parametrize("name", sorted(dlc_recurrent.LAZY_EXPORTS))
def test_each_public_call_is_the_function_of_its_module(name):
    home = importlib.import_module(dlc_recurrent.LAZY_EXPORTS[name])
    assert getattr(dlc_recurrent, name) is getattr(home, name)
    assert getattr(dlc_recurrent, name).__doc__
    assert name in dlc_recurrent.__all__ and name in dir(dlc_recurrent)


def test_importing_the_package_does_not_load_tensorflow_until_a_call_needs_it():
    code = ("import sys, dlc_recurrent; assert 'tensorflow' not in sys.modules, 'loaded at import'; "
            "dlc_recurrent.analyze_videos; assert 'tensorflow' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_train_shows_trainings_signature_with_report():
    from dlc_recurrent.training import train as train_student

    shown = inspect.signature(dlc_recurrent.train).parameters
    real = inspect.signature(train_student).parameters
    assert [p for p in shown if p != "report"] == list(real)
    assert all(shown[p].default == real[p].default for p in real)
    assert shown["report"].default is True


def test_deeplabcut_3_names_are_accepted_by_the_public_calls():
    for name, expected in (("analyze_videos", {"video_extensions", "device", "snapshot_index"}),
                           ("train", {"device", "gputouse", "devices"}), ("evaluate", {"shuffles"})):
        assert expected <= set(inspect.signature(getattr(dlc_recurrent, name)).parameters), name


def test_train_passes_every_argument_on_and_reports_on_the_device_it_trained_on(monkeypatch):
    from dlc_recurrent import pipeline

    trained, judged = {}, {}
    signature = inspect.signature(pipeline.train_student)

    def record(*args, **kwargs):
        trained.update(signature.bind(*args, **kwargs).arguments)
        return "folder"

    monkeypatch.setattr(pipeline, "train_student", record)
    monkeypatch.setattr(pipeline, "quality_report", lambda *args, **kwargs: judged.update(kwargs))
    assert dlc_recurrent.train("config.yaml", 3, model="leap", device="cpu", max_steps=10) == "folder"
    assert trained["shuffle"] == 3 and trained["model"] == "leap" and trained["options"] == {"max_steps": 10}
    assert judged == {"shuffle": 3, "trainingsetindex": 0, "model": "leap", "device": "cpu", "gputouse": None}
    judged.clear()
    dlc_recurrent.train("config.yaml", devices=["/CPU:0"], report=True)
    assert judged["device"] is None and judged["gputouse"] is None  # data-parallel: the default device
    judged.clear()
    dlc_recurrent.train("config.yaml", report=False)
    assert not judged


def test_the_public_face_is_small_and_every_name_in_it_is_there():
    assert set(dlc_recurrent.__all__) >= {"create_training_set", "train", "analyze_videos", "TrainingConfig",
                                          "TrainingSetSpec", "Project", "ProjectError"}
    for name in dlc_recurrent.__all__:
        assert getattr(dlc_recurrent, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        dlc_recurrent.nothing
