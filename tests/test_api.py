"""The package's public calls: the signatures help() shows are those of the functions they call."""

import inspect

import pytest

import dlc_recurrent


def _parameters(function):
    return {name: p.default for name, p in inspect.signature(function).parameters.items()
            if p.kind is not p.VAR_KEYWORD}


@pytest.mark.parametrize("name, module, wrapper_only", [
    ("train", "training", {"report"}),
    ("analyze_videos", "inference", set()),
    ("evaluate", "evaluation", set()),
    ("quality_report", "evaluation", set()),
    ("ensemble_videos", "ensemble.videos", set()),
])
def test_public_calls_show_the_real_signature(name, module, wrapper_only):
    import importlib

    real = getattr(importlib.import_module(f"dlc_recurrent.{module}"), name)
    wrapper = getattr(dlc_recurrent, name)
    shown = {k: v for k, v in _parameters(wrapper).items() if k not in wrapper_only}
    assert shown == _parameters(real), f"dlc_recurrent.{name} differs from dlc_recurrent.{module}.{name}"
    assert wrapper.__doc__


def test_deeplabcut_3_names_are_accepted_by_the_public_calls():
    for name, expected in (("analyze_videos", {"video_extensions", "device", "snapshot_index"}),
                           ("train", {"device", "gputouse", "devices"}), ("evaluate", {"shuffles"})):
        assert expected <= set(inspect.signature(getattr(dlc_recurrent, name)).parameters), name


@pytest.mark.parametrize("name, module", [("train", "training"), ("analyze_videos", "inference"),
                                          ("evaluate", "evaluation"), ("quality_report", "evaluation"),
                                          ("ensemble_videos", "ensemble.videos")])
def test_public_calls_pass_every_argument_on(name, module, monkeypatch):
    """Each argument given to the public call reaches the function that does the work, unchanged."""
    import importlib

    real_module = importlib.import_module(f"dlc_recurrent.{module}")
    signature = inspect.signature(getattr(real_module, name))
    received = {}

    def record(*args, **kwargs):
        arguments = signature.bind(*args, **kwargs).arguments
        received.update({**arguments.pop("options", {}), **arguments})
        return "folder"

    monkeypatch.setattr(real_module, name, record)
    wrapper = getattr(dlc_recurrent, name)
    given = {k: f"value-of-{k}" for k in _parameters(wrapper) if k not in {"report", "devices"}}
    if name == "train":
        given["report"] = False
    wrapper(**given)
    given.pop("report", None)
    assert {k: received.get(k) for k in given} == given


def test_the_public_train_reports_on_the_device_it_trained_on(monkeypatch):
    calls = {}
    monkeypatch.setattr("dlc_recurrent.training.train", lambda *a, **k: "folder")
    monkeypatch.setattr("dlc_recurrent.evaluation.quality_report", lambda *a, **k: calls.update(k))
    dlc_recurrent.train("config.yaml", device="cpu")
    assert calls["device"] == "cpu" and calls["gputouse"] is None


def test_the_public_face_is_small_and_every_name_in_it_is_there():
    assert set(dlc_recurrent.__all__) >= {"create_training_set", "train", "analyze_videos", "TrainingConfig",
                                          "TrainingSetSpec", "Project", "ProjectError"}
    for name in dlc_recurrent.__all__:
        assert getattr(dlc_recurrent, name) is not None, name
