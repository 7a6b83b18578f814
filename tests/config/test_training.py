"""TrainingConfig (dlc_recurrent.config.training): saving, loading, fine-tune defaults, evaluation periods."""

import pytest

import dlc_recurrent  # noqa: F401  (torchvision before tensorflow)
from dlc_recurrent.config import TrainingConfig, train_call
from dlc_recurrent.errors import ProjectError


def test_config_round_trips_through_yaml(tmp_path):
    config = TrainingConfig(model="leap", schedule="fixed", epochs=3, filters=(8, 16, 32, 16), bodyparts=["a", "b"],
                            occluder_probability=0.5, occluder_size=(0.05, 0.2), zoom=(0.8, 1.3))
    config.save(tmp_path / "c.yaml")
    assert TrainingConfig.load(tmp_path / "c.yaml") == config
    assert config.resolved_batch_size == 32 and TrainingConfig().resolved_batch_size == 8
    with pytest.raises(ValueError, match="model"):
        TrainingConfig(model="resnet")
    with pytest.raises(ValueError, match="epochs applies to schedule='fixed'.*min_steps / max_steps"):
        TrainingConfig(epochs=30)
    with pytest.raises(ValueError, match="min_steps <= max_steps"):
        TrainingConfig(min_steps=500, max_steps=100)
    assert TrainingConfig().resolved_min_steps == 1000
    assert TrainingConfig(max_steps=300).resolved_min_steps == 300, "a short run needs no min_steps of its own"


def test_a_saved_config_lacking_fields_takes_their_defaults_and_one_that_no_longer_validates_is_one_line(tmp_path):
    """A field added since a student was saved takes its default; settings an earlier build wrote that
    no longer validate (here: epochs without schedule="fixed") say to train again, not a traceback."""
    from ruamel.yaml import YAML

    saved = TrainingConfig(model="leap", schedule="fixed", epochs=10)
    saved.save(tmp_path / "dlc_recurrent.yaml")
    data = YAML(typ="safe").load((tmp_path / "dlc_recurrent.yaml").read_text())
    YAML(typ="safe").dump({k: v for k, v in data.items() if k != "rotation"} | {"gone": 1}, tmp_path / "new.yaml")
    loaded = TrainingConfig.load(tmp_path / "new.yaml")
    assert loaded.rotation == TrainingConfig().rotation and loaded.resolved_epochs == 10
    YAML(typ="safe").dump({k: v for k, v in data.items() if k != "schedule"}, tmp_path / "old.yaml")
    with pytest.raises(ProjectError, match=r"old\.yaml: settings this version cannot use \(epochs applies.*earlier "
                                           "dlc-recurrent or damaged: train this student again with overwrite=True"):
        TrainingConfig.load(tmp_path / "old.yaml")


def test_a_fine_tunes_defaults_fit_a_short_run_and_its_resume_call_repeats_what_differs():
    from dlc_recurrent.config import FINE_TUNE, fine_tune_defaults

    assert fine_tune_defaults(100)["min_steps"] == 100 and fine_tune_defaults()["min_steps"] == FINE_TUNE["min_steps"]
    config = TrainingConfig(start_from="leap", **{**fine_tune_defaults(), "learning_rate": 1e-3})
    call = train_call(config)
    assert "learning_rate=0.001" in call and "patience" not in call and "skip_connection" not in call
    with pytest.raises(ValueError, match="recurrent students"):
        TrainingConfig(model="leap", start_from="leap")


def test_evaluation_period_of_each_schedule():
    from dlc_recurrent.config import steps_per_epoch

    assert steps_per_epoch(TrainingConfig(), n_samples=1000, batch=8) == 50
    assert steps_per_epoch(TrainingConfig(min_steps=6, max_steps=6), n_samples=1000, batch=8) == 6
    assert steps_per_epoch(TrainingConfig(schedule="fixed"), n_samples=1000, batch=8) == 125  # one pass
    assert steps_per_epoch(TrainingConfig(steps_per_epoch=7), n_samples=1000, batch=8) == 7
