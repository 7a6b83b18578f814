"""The convergence schedule and the hidden-part test loss (dlc_recurrent.training.callbacks)."""

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
import tf_keras as keras

import dlc_recurrent  # noqa: F401  (torchvision before tensorflow)
from dlc_recurrent import models
from dlc_recurrent.config import TrainingConfig
from dlc_recurrent.layout import HISTORY_NAME
from dlc_recurrent.training import read_training_summary, train


def test_a_student_trained_under_part_occluders_is_judged_on_hidden_test_windows_too(trainset_project):
    folder = train(trainset_project, model="convlstm_leap", schedule="converge", max_steps=6, steps_per_epoch=3,
                   batch_size=2, sigma=3.0, occluder_probability=0.5, occluder_target="parts")
    history = pd.read_csv(folder / HISTORY_NAME)
    assert len(history) == 2 and np.isfinite(history.val_hidden_loss).all()
    assert (history.val_hidden_loss != history.val_loss).all()
    summary = read_training_summary(folder)
    assert summary["monitor"] == "geometric mean of the test loss and the hidden-part test loss"
    monitored = np.sqrt(history.val_loss * history.val_hidden_loss)
    assert summary["kept_loss"] == pytest.approx(monitored.iloc[summary["kept_step"] // 3 - 1])
    assert summary["kept_loss"] == pytest.approx(monitored.min())
    assert f"{history.val_hidden_loss.iloc[0]:.4g} at step 3" in summary["verdict"]


def _schedule(tmp_path, **options):
    from dlc_recurrent.training.callbacks import Schedule, ScheduleState

    config = TrainingConfig(model="leap", bodyparts=["a"], filters=(2, 2, 2, 2), **options)
    network = models.build_student(config)
    network(tf.zeros((1, 8, 8, 1)))
    optimizer = keras.optimizers.Adam(config.learning_rate)
    state = ScheduleState()
    schedule = Schedule(state, config, network, tmp_path, steps_per_epoch=10, optimizer=optimizer)
    schedule.set_model(network)
    return schedule, state, network, optimizer


def test_schedule_keeps_the_best_weights_lowers_the_rate_on_plateaus_and_stops(tmp_path):
    from dlc_recurrent.layout import BEST_WEIGHTS_NAME

    schedule, state, network, optimizer = _schedule(tmp_path, min_steps=30, patience=30, lr_patience=20,
                                                    warmup_steps=0, min_improvement=0.01)
    losses = [1.0, 0.5, 0.5, 0.49, 0.5, 0.5, 0.5, 0.5]
    stopped_at = None
    for epoch, loss in enumerate(losses):
        schedule.on_epoch_begin(epoch)
        bias = network.trainable_variables[-1]
        bias.assign(tf.fill(bias.shape, float(epoch)))  # marks the weights
        schedule.on_epoch_end(epoch, {"loss": 9.0, "val_loss": loss})
        if network.stop_training:
            stopped_at = epoch
            break
    # means of the last 3: 1, .75, .667, .497 (the last 1% improvement, epoch 3), .497, .5, .5
    assert stopped_at == 6, "30 steps (3 evaluations) after the last 1% improvement of the smoothed loss"
    assert bool(state.stopped.numpy())
    assert int(state.best_epoch.numpy()) == 4 and float(state.best_loss.numpy()) == pytest.approx(0.49)
    assert float(state.lr_scale.numpy()) == 0.5, "halved once: 20 steps without improvement"
    network.load_weights(str(tmp_path / BEST_WEIGHTS_NAME))
    assert network.get_weights()[-1] == pytest.approx(3.0), "the weights of the best single evaluation"


def test_schedule_keeps_the_weights_of_the_best_geometric_mean_with_a_hidden_part_test_loss(tmp_path):
    schedule, state, network, optimizer = _schedule(tmp_path, min_steps=1000, patience=500, warmup_steps=0)
    # the test loss alone is lowest at epoch 0; with the hidden-part loss the product is lowest at epoch 2
    logs = [{"val_loss": 0.010, "val_hidden_loss": 0.20}, {"val_loss": 0.011, "val_hidden_loss": 0.15},
            {"val_loss": 0.012, "val_hidden_loss": 0.10}, {"val_loss": 0.011, "val_hidden_loss": 0.19}]
    for epoch, log in enumerate(logs):
        schedule.on_epoch_begin(epoch)
        schedule.on_epoch_end(epoch, {"loss": 9.0, **log})
    assert int(state.best_epoch.numpy()) == 3
    assert float(state.best_loss.numpy()) == pytest.approx((0.012 * 0.10) ** 0.5)


def test_schedule_never_stops_before_min_steps_and_warms_up(tmp_path):
    schedule, state, network, optimizer = _schedule(tmp_path, min_steps=100, patience=10, lr_patience=1000,
                                                    warmup_steps=20, learning_rate=1e-3)
    schedule.on_epoch_begin(0)
    schedule.on_train_batch_begin(0)
    assert float(optimizer.learning_rate.numpy()) == pytest.approx(1e-3 / 20)
    schedule.on_train_batch_begin(9)
    assert float(optimizer.learning_rate.numpy()) == pytest.approx(1e-3 / 2)
    for epoch in range(9):
        schedule.on_epoch_begin(epoch)
        schedule.on_epoch_end(epoch, {"loss": 1.0})  # no test loss: the training loss is monitored
        assert not network.stop_training, f"stopped at step {(epoch + 1) * 10} < min_steps"
    schedule.on_epoch_begin(9)
    schedule.on_epoch_end(9, {"loss": 1.0})
    assert network.stop_training
