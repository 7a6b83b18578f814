"""Training both students: maps, masked loss, learning, checkpoints, resume, config, bad input."""

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
import tf_keras as keras

import dlc_recurrent  # noqa: F401  (torchvision before tensorflow)
from dlc_recurrent import models
from dlc_recurrent.config import TrainingConfig, train_call
from dlc_recurrent.distill import GAP_FILLED, MASKED, create_training_set, load_training_set
from dlc_recurrent.errors import ProjectError
from dlc_recurrent.layout import CONFIG_NAME, HISTORY_NAME, WEIGHTS_NAME, model_folder
from dlc_recurrent.project import load_project
from dlc_recurrent.training import (
    DLC_NET_TYPES,
    add_occluder,
    add_part_occluder,
    augment_window,
    load_student,
    make_dataset,
    masked_mse,
    read_training_summary,
    render_maps,
    train,
    training_samples,
    validation_batch_size,
)
from dlc_recurrent.training.data import HIDDEN_COPIES, hidden_points, hidden_test_samples

TINY = dict(schedule="fixed", epochs=1, steps_per_epoch=3, batch_size=2, sigma=3.0, map_amplitude=10.0)


@pytest.fixture
def trainset_project(project_copy):
    # The paper's targets: on this 64x64 project ConvLSTM-LEAP trained on gap-filled targets (the
    # default) was still on the "predict zeros" plateau after the 80 steps of the learning test.
    create_training_set(project_copy, window_length=5, windows_per_video=20, max_gap_fill=0)
    return project_copy


def test_render_maps_peak_sits_on_the_point():
    maps = render_maps(tf.constant([[[10.0, 20.0], [30.5, 5.0]]]), 32, 48, 2.0, 10.0).numpy()
    assert maps.shape == (1, 32, 48, 2)
    assert np.unravel_index(maps[0, ..., 0].argmax(), (32, 48)) == (20, 10)
    assert maps[0, ..., 0].max() == pytest.approx(10.0)
    row = maps[0, 5, :, 1]
    assert row[30] == pytest.approx(row[31])  # x = 30.5 lies between columns 30 and 31


def test_masked_points_do_not_count():
    target = tf.zeros((1, 8, 8, 2))
    predicted = tf.concat([tf.zeros((1, 8, 8, 1)), tf.ones((1, 8, 8, 1))], axis=-1)
    assert masked_mse(target, predicted, tf.constant([[1.0, 0.0]])).numpy() == pytest.approx(0)
    assert masked_mse(target, predicted, tf.constant([[0.0, 1.0]])).numpy() == pytest.approx(1)
    assert masked_mse(target, predicted, tf.constant([[1.0, 1.0]])).numpy() == pytest.approx(0.5)


@pytest.mark.parametrize("seed", range(6))
def test_augmentation_moves_points_with_the_pixels(seed):
    """Rotation, zoom and shift move a bright dot and its target alike, on every frame of the window."""
    frames = np.zeros((3, 40, 48, 1), np.uint8)
    frames[:, 12:15, 17:20] = 255  # a 3x3 dot centred on (18, 13)
    xy = np.tile(np.array([[18.0, 13.0]], np.float32), (3, 1, 1))
    config = TrainingConfig(max_shift=0.2, rotation=40.0, zoom=(0.8, 1.2), brightness=0.0, contrast=0.0,
                            blur_probability=0.0, noise=0.0)
    out, new_xy, weight = augment_window(frames, xy, np.ones((3, 1), np.float32), config,
                                         np.random.default_rng(seed))
    assert not np.allclose(new_xy, xy), "the window was moved"
    for t in range(3):
        rows, columns = np.nonzero(out[t, ..., 0] > 0)
        weights = out[t, rows, columns, 0].astype(float)
        centre = np.array([np.average(columns, weights=weights), np.average(rows, weights=weights)])
        assert np.hypot(*(centre - new_xy[t, 0])) < 0.5
    assert (new_xy == new_xy[0]).all(), "the whole window moves together"
    assert weight.all()


def test_augmentation_masks_points_that_leave_the_frame_and_leaves_masked_points_masked():
    frames = np.zeros((2, 32, 32, 1), np.uint8)
    xy = np.array([[[1.0, 1.0], [16.0, 16.0], [30.0, 2.0]]] * 2, np.float32)
    weight = np.array([[1.0, 1.0, 0.0]] * 2, np.float32)
    config = TrainingConfig(max_shift=0.0, rotation=0.0, zoom=(1.5, 1.5), noise=0.0)
    _, new_xy, new_weight = augment_window(frames, xy, weight, config, np.random.default_rng(0))
    np.testing.assert_allclose(new_xy[0, 1], [16.0 + 0.5 * 0.5, 16.0 + 0.5 * 0.5], atol=1e-4)  # zoom about 15.5
    assert new_weight[:, 0].sum() == 0 and new_weight[:, 1].all() and new_weight[:, 2].sum() == 0


def test_blur_and_noise_change_the_pixels_not_the_targets():
    frames = np.full((2, 16, 16, 1), 100, np.uint8)
    frames[:, 8, 8] = 255
    xy = np.array([[[8.0, 8.0]]] * 2, np.float32)
    config = TrainingConfig(max_shift=0.0, rotation=0.0, zoom=(1, 1), brightness=0.0, contrast=0.0,
                            blur_probability=1.0, max_blur=1.5, noise=0.0)
    out, new_xy, _ = augment_window(frames, xy, np.ones((2, 1), np.float32), config, np.random.default_rng(0))
    assert out[0, 8, 8, 0] < 255 and out[0, 8, 9, 0] > 100, "blurred"
    np.testing.assert_allclose(new_xy, xy, atol=1e-4)
    noisy = TrainingConfig(max_shift=0.0, rotation=0.0, zoom=(1, 1), brightness=0.0, contrast=0.0,
                           blur_probability=0.0, noise=8.0)
    out, _, _ = augment_window(frames, xy, np.ones((2, 1), np.float32), noisy, np.random.default_rng(0))
    assert 4 < np.std(out[:, :4, :4].astype(float)) < 12
    assert not np.array_equal(out[0], out[1]), "noise is drawn per frame"


def test_occluder_covers_one_run_of_frames_wherever_the_parts_are():
    frames = np.full((15, 40, 48, 1), 100, np.uint8)
    config = TrainingConfig(occluder_size=(0.2, 0.4))
    centres, lengths = [], []
    for seed in range(200):
        out, mask = add_occluder(frames, (36, 44), config, np.random.default_rng(seed))
        covered = np.flatnonzero(mask.any(axis=(1, 2)))
        assert len(covered) and (np.diff(covered) == 1).all(), "one run of consecutive frames"
        assert not mask[:, 36:].any() and not mask[:, :, 44:].any(), "only inside the stored area"
        np.testing.assert_array_equal(out[~mask], 100)  # nothing outside the occluder changes
        lengths.append(len(covered))
        rows, columns = np.nonzero(mask[covered[0]])
        if len(rows):
            centres.append((columns.mean(), rows.mean()))
    centres = np.array(centres)
    assert max(lengths) >= 10 and min(lengths) == 1, "run lengths span 1 frame to most of the window"
    # Placement ignores the body parts (there are none here): centres spread over the whole frame.
    assert centres[:, 0].min() < 8 and centres[:, 0].max() > 36 and centres[:, 1].min() < 8 and centres[:, 1].max() > 28


def test_a_part_occluder_hides_a_known_part_on_the_last_frames_under_the_frames_own_texture():
    columns = (5 * np.arange(48)) % 256
    frames = np.broadcast_to(columns[None, None, :, None], (15, 40, 48, 1)).astype(np.uint8).copy()
    frames[:, 36:] = 0  # padding below the stored area
    frames[:, :, 44:] = 0  # and right of it
    xy = np.stack([np.stack([np.linspace(10, 30, 15), np.full(15, 20.0)], -1),
                   np.full((15, 2), 5.0)], axis=1)  # (T, 2 parts, 2)
    weight = np.ones((15, 2), np.float32)
    weight[10:, 1] = 0  # part 1 has no target on the last frames: part 0 is the one to hide there
    config = TrainingConfig(occluder_size=(0.3, 0.4))
    runs = []
    for seed in range(100):
        out, mask = add_part_occluder(frames, xy, weight, (36, 44), config, np.random.default_rng(seed))
        covered = np.flatnonzero(mask.any(axis=(1, 2)))
        assert len(covered) and covered[-1] == 14 and (np.diff(covered) == 1).all(), "the last frames, one run"
        runs.append(len(covered))
        np.testing.assert_array_equal(out[~mask], frames[~mask])
        assert not mask[:, 36:].any() and not mask[:, :, 44:].any()
        for t in covered:
            hidden = [part for part in range(2) if mask[t, int(round(xy[t, part, 1])), int(round(xy[t, part, 0]))]]
            assert 0 in hidden, "the occluder lies over the part with a target"
            _, covered_columns = np.nonzero(mask[t])
            source_columns = out[t, ..., 0][mask[t]] // 5  # each column has its own grey level
            shifts = set((covered_columns - source_columns) % 44)
            assert len(shifts) == 1, "a copy of the stored frame at one shift (never the padding)"
            if shifts != {0}:
                assert not np.array_equal(out[t][mask[t]], frames[t][mask[t]]), "not the pixels it covers"
    assert max(runs) >= 10 and min(runs) == 1
    big = TrainingConfig(occluder_size=(0.8, 0.9))  # no source a whole occluder away: still ends
    assert add_part_occluder(frames, xy, weight, (36, 44), big, np.random.default_rng(1))[1].any()
    none_known = np.zeros_like(weight)
    out, mask = add_part_occluder(frames, xy, none_known, (36, 44), config, np.random.default_rng(0))
    assert not mask.any() and np.array_equal(out, frames), "no part with a target: nothing to hide"


def test_a_swap_moves_the_hidden_parts_own_pixels_to_where_its_cover_came_from():
    """occluder_target="swaps": the part is covered by texture from a shift away, and its own pixels
    appear at that shift (a decoy); the returned mask covers both patches."""
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (15, 40, 48, 1)).astype(np.uint8)
    xy = np.stack([np.stack([np.linspace(10, 30, 15), np.full(15, 20.0)], -1), np.full((15, 2), 5.0)], axis=1)
    weight = np.ones((15, 2), np.float32)
    config = TrainingConfig(occluder_size=(0.2, 0.25), occluder_target="swaps")
    plain = TrainingConfig(occluder_size=(0.2, 0.25), occluder_target="parts")
    for seed in range(5):
        out, mask = add_part_occluder(frames, xy, weight, (40, 48), config, np.random.default_rng(seed))
        _, cover = add_part_occluder(frames, xy, weight, (40, 48), plain, np.random.default_rng(seed))
        decoy = mask & ~cover
        assert cover.any() and decoy.any() and not (decoy & cover).any()
        np.testing.assert_array_equal(out[~mask], frames[~mask])
        for t in np.flatnonzero(decoy.any(axis=(1, 2))):
            rows, columns = np.nonzero(cover[t])
            # the decoy patch holds the covered patch's own pixels, at one shift
            found = {(dr, dc) for dr in range(-40, 41) for dc in range(-48, 49)
                     if np.array_equal(out[t][np.roll(cover[t], (dr, dc), axis=(0, 1)) & decoy[t]],
                                       np.roll(frames[t], (dr, dc), axis=(0, 1))[
                                           np.roll(cover[t], (dr, dc), axis=(0, 1)) & decoy[t]])
                     and (np.roll(cover[t], (dr, dc), axis=(0, 1)) & decoy[t]).sum() == decoy[t].sum()}
            assert found, "the decoy is the hidden patch moved"
            break


def test_occluders_in_the_pipeline_leave_targets_alone(trainset_project):
    trainset = load_training_set(
        next((load_project(trainset_project).project_path / "dlc-recurrent" / "training-sets")
             .rglob("trainingset.yaml")).parent
    )
    plain = TrainingConfig(bodyparts=trainset.bodyparts, window_length=5, augment=False)
    occluded = TrainingConfig(bodyparts=trainset.bodyparts, window_length=5, augment=False, occluder_probability=1.0)
    batches = [next(iter(make_dataset(trainset, "train", c, 8, (64, 64), training=True)[0])) for c in (plain, occluded)]
    np.testing.assert_array_equal(batches[0]["xy"], batches[1]["xy"])
    np.testing.assert_array_equal(batches[0]["weight"], batches[1]["weight"])
    changed = (batches[0]["frames"].numpy() != batches[1]["frames"].numpy()).any(axis=(2, 3, 4))
    assert changed.any(axis=1).all(), "every window has an occluded frame"
    assert not changed.all(), "but not every frame"
    test_batches = [next(iter(make_dataset(trainset, "test", c, 8, (64, 64), training=False)[0]))
                    for c in (plain, occluded)]
    np.testing.assert_array_equal(test_batches[0]["frames"], test_batches[1]["frames"])


def test_hidden_points_are_the_points_under_the_occluder():
    mask = np.zeros((2, 10, 12), bool)
    mask[1, 2:5, 3:7] = True
    xy = np.array([[[4.0, 3.0], [4.0, 3.0], [11.6, 9.0]],
                   [[4.2, 3.4], [8.0, 3.0], [-3.0, 40.0]]])  # (T, K, 2): under, beside, outside the frame
    np.testing.assert_array_equal(hidden_points(mask, xy), [[False, False, False], [True, False, False]])
    xy[1, 0] = np.nan  # a masked point
    assert not hidden_points(mask, xy)[1, 0]


def test_points_a_part_occluder_hides_get_their_own_loss_weight(trainset_project):
    trainset = load_training_set(
        next((load_project(trainset_project).project_path / "dlc-recurrent" / "training-sets")
             .rglob("trainingset.yaml")).parent
    )
    options = dict(bodyparts=trainset.bodyparts, window_length=5, augment=False, occluder_probability=1.0,
                   occluder_target="parts")
    configs = [TrainingConfig(**options), TrainingConfig(**options, occluded_weight=10.0, occluded_sigma=3.0),
               TrainingConfig(**{**options, "occluder_probability": 0.0})]
    batches = [next(iter(make_dataset(trainset, "train", config, 16, (64, 64), training=True)[0]))
               for config in configs]
    np.testing.assert_array_equal(batches[0]["frames"], batches[1]["frames"])  # the same occluders
    plain, weighted = batches[0]["weight"].numpy(), batches[1]["weight"].numpy()
    raised = weighted != plain
    assert raised.any() and np.allclose(weighted[raised], 10 * plain[raised])
    changed = (batches[0]["frames"] != batches[2]["frames"]).numpy().any(axis=(2, 3, 4))
    assert not raised.any(axis=2)[~changed].any(), "only on frames an occluder covers"
    targets = plain > 0  # (a hidden point without a target gets the wide map too; it weighs nothing)
    np.testing.assert_array_equal(np.where(targets, batches[1]["spread"], 1.0), np.where(raised, 3.0, 1.0))
    np.testing.assert_array_equal(batches[0]["spread"], 1.0)
    for bad in ({"occluded_weight": -1}, {"occluded_sigma": 0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            TrainingConfig(**bad)


def test_maps_of_their_own_width_per_point():
    xy = tf.constant([[[8.0, 8.0], [20.0, 20.0]]])  # (1, K=2, 2)
    maps = render_maps(xy, 32, 32, tf.constant([[1.0, 3.0]]), 1.0).numpy()[0]
    assert maps[8, 8, 0] == pytest.approx(1) and maps[20, 20, 1] == pytest.approx(1)
    assert maps[..., 1].sum() == pytest.approx(9 * maps[..., 0].sum(), rel=1e-3)  # the area goes as sigma^2
    np.testing.assert_allclose(maps[..., 0], render_maps(xy, 32, 32, 1.0, 1.0).numpy()[0, ..., 0], atol=1e-7)


def test_hidden_test_windows_are_drawn_once_and_scored_only_where_a_part_is_hidden(trainset_project):
    trainset = load_training_set(
        next((load_project(trainset_project).project_path / "dlc-recurrent" / "training-sets")
             .rglob("trainingset.yaml")).parent
    )
    config = TrainingConfig(bodyparts=trainset.bodyparts, window_length=5, occluder_probability=0.5,
                            occluder_target="parts")
    assert config.tests_hidden_parts and not TrainingConfig(occluder_target="parts").tests_hidden_parts
    samples = hidden_test_samples(trainset)
    assert len(samples) == HIDDEN_COPIES * len(training_samples(trainset, "test", recurrent=True)) > 0
    clean = next(iter(make_dataset(trainset, "test", config, len(samples), (64, 64), training=False,
                                   samples=samples)[0]))
    other_seed = TrainingConfig(**{**config.__dict__, "seed": 1})
    hidden = [next(iter(make_dataset(trainset, "test", c, len(samples), (64, 64), training=False,
                                     samples=samples, hide_parts=True)[0])) for c in (config, other_seed)]
    for key in ("frames", "xy", "weight"):  # the same occluders at every evaluation and for every seed
        np.testing.assert_array_equal(hidden[0][key], hidden[1][key])
    np.testing.assert_array_equal(hidden[0]["xy"], clean["xy"])
    weight, changed = hidden[0]["weight"].numpy(), (hidden[0]["frames"] != clean["frames"]).numpy().any(axis=(2, 3, 4))
    assert (weight <= clean["weight"].numpy()).all() and weight.any(axis=(1, 2)).mean() > 0.5
    assert not weight[~changed].any(), "only points on frames an occluder changed are scored"
    runs = changed.sum(axis=1)
    np.testing.assert_array_equal(changed, np.arange(5)[None] >= 5 - runs[:, None])  # the last frames
    assert len(set(runs)) > 1


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


def test_gap_filled_targets_get_their_own_loss_weight_and_map_width(project_copy):
    create_training_set(project_copy, window_length=5, windows_per_video=20, max_gap_fill=12)
    trainset = load_training_set(
        next((load_project(project_copy).project_path / "dlc-recurrent" / "training-sets")
             .rglob("trainingset.yaml")).parent
    )
    samples = training_samples(trainset, "train", recurrent=True)
    source = np.stack([trainset.targets[video].source[first:first + 5] for video, first in samples])
    assert (source == GAP_FILLED).any(), "the project must have teacher gaps for this test to mean anything"
    weights, spreads = {}, {}
    for weight in (1.0, 0.25):
        config = TrainingConfig(bodyparts=trainset.bodyparts, window_length=5, augment=False, gap_filled_weight=weight,
                                gap_filled_sigma=1 / weight)
        data, count = make_dataset(trainset, "train", config, len(samples), (64, 64), training=False)
        batch = next(iter(data))
        weights[weight], spreads[weight] = batch["weight"].numpy(), batch["spread"].numpy()
    np.testing.assert_array_equal(spreads[0.25], np.where(source == GAP_FILLED, 4.0, 1.0))
    np.testing.assert_array_equal(spreads[1.0], 1.0)
    np.testing.assert_array_equal(weights[0.25], np.where(source == GAP_FILLED, 0.25 * weights[1.0], weights[1.0]))
    assert (weights[1.0][source == GAP_FILLED] == 1).all() and (weights[1.0][source == MASKED] == 0).all()
    with pytest.raises(ValueError, match="gap_filled_weight"):
        TrainingConfig(gap_filled_weight=2.0)


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


def test_dataset_yields_padded_windows_and_frames(trainset_project):
    trainset = load_training_set(
        next((load_project(trainset_project).project_path / "dlc-recurrent" / "training-sets")
             .rglob("trainingset.yaml")).parent
    )
    for model, shape in (("convlstm_leap", (2, 5, 64, 64, 1)), ("leap", (2, 64, 64, 1))):
        config = TrainingConfig(model=model, bodyparts=trainset.bodyparts, window_length=5)
        data, count = make_dataset(trainset, "train", config, 2, (64, 64), training=True)
        batch = next(iter(data))
        frames, xy, weight = batch["frames"], batch["xy"], batch["weight"]
        assert frames.shape == shape and frames.dtype == tf.uint8
        assert xy.shape[-2:] == (len(trainset.bodyparts), 2) and weight.shape[-1] == len(trainset.bodyparts)
        assert count > 0


def peak_error(network, trainset, recurrent):
    """Mean distance between predicted map peaks and the targets on the training windows."""
    errors = []
    for row in range(len(trainset.windows)):
        frames, xy, weight = trainset.window(row)
        inputs = frames[None] if recurrent else frames
        maps = network(inputs.astype(np.float32)).numpy().reshape(-1, *frames.shape[1:3], xy.shape[1])
        for t in range(len(frames)):
            for k in np.flatnonzero(weight[t]):
                row_, column = np.unravel_index(maps[t, ..., k].argmax(), maps.shape[1:3])
                errors.append(np.hypot(column - xy[t, k, 0], row_ - xy[t, k, 1]))
    return float(np.mean(errors))


@pytest.mark.slow
@pytest.mark.parametrize("model", ["leap", "convlstm_leap"])
def test_training_moves_peaks_towards_the_targets(trainset_project, model):
    """A short run lowers the loss and, unlike a 'predict zeros' plateau, moves the peaks."""
    project = load_project(trainset_project)
    options = dict(schedule="fixed", epochs=4, steps_per_epoch=20, batch_size=4 if model != "leap" else 16, sigma=4.0,
                   map_amplitude=10.0, learning_rate=3e-3, augment=False)
    folder = train(trainset_project, model=model, **options)
    trainset = load_training_set(
        next((project.project_path / "dlc-recurrent" / "training-sets").rglob("trainingset.yaml")).parent
    )
    network, config = load_student(folder)
    untrained = models.build_student(config)
    history = pd.read_csv(folder / HISTORY_NAME)
    assert list(history.epoch) == [0, 1, 2, 3]
    assert history.loss.iloc[-1] < history.loss.iloc[0]
    assert "val_loss" in history
    recurrent = model != "leap"
    assert peak_error(network, trainset, recurrent) < 0.5 * peak_error(untrained, trainset, recurrent)


def test_model_folder_and_saved_config(trainset_project):
    project = load_project(trainset_project)
    folder = train(trainset_project, model="leap", **TINY)
    assert folder == model_folder(project, 1, 0, "leap") / "train"
    assert "dlc-recurrent/leap/dlc-models-pytorch/iteration-0" in folder.as_posix()
    saved = TrainingConfig.load(folder / CONFIG_NAME)
    assert saved.model == "leap" and saved.bodyparts == project.bodyparts and saved.window_length == 5
    assert (folder / WEIGHTS_NAME).is_file() and (folder / "logs").is_dir()
    assert (folder / "checkpoints" / "checkpoint").is_file()


def test_a_student_with_a_skip_connection_is_saved_and_rebuilt_with_it(trainset_project):
    from dlc_recurrent.models import has_skip_connection

    folder = train(trainset_project, model="convlstm_leap", skip_connection=True, **TINY)
    network, config = load_student(folder)
    assert config.skip_connection and has_skip_connection(network)
    assert train(trainset_project, model="convlstm_leap", skip_connection=True, **TINY) == folder  # finished: kept
    with pytest.raises(ValueError, match="skip_connection"):
        train(trainset_project, model="convlstm_leap", **TINY)  # another network: not resumed silently


def test_a_student_started_from_leap_trains_leap_first_and_starts_with_its_maps(trainset_project, caplog,
                                                                                 monkeypatch):
    from dlc_recurrent.config import FINE_TUNE
    from dlc_recurrent.training import run

    real_train = run.train
    leap_calls = []

    def short_leap(config, *args, model="convlstm_leap", **options):  # the control, briefly
        if model == "leap":
            leap_calls.append(options)
            options = {**options, **TINY}
        return real_train(config, *args, model=model, **options)

    monkeypatch.setattr(run, "train", short_leap)
    caplog.set_level("INFO", logger="dlc_recurrent")
    # learning rate ~0: after its steps the student still gives the maps it started with
    folder = train(trainset_project, model="convlstm_leap", start_from="leap", schedule="fixed", epochs=1,
                   steps_per_epoch=2, batch_size=2, sigma=3.0, learning_rate=1e-12, augment=False)
    assert "training it first" in caplog.text and "starts from the trained LEAP control" in caplog.text
    # LEAP gets the student's maps (sigma), not its schedule (learning_rate, epochs, augment)
    assert leap_calls == [{"gputouse": None, "devices": None, "device": None, "sigma": 3.0}]
    leap_folder = model_folder(load_project(trainset_project), 1, 0, "leap") / "train"
    leap, leap_config = load_student(leap_folder)
    student, config = load_student(folder)
    assert config.start_from == "leap" and config.skip_connection
    assert config.patience == FINE_TUNE["patience"] and leap_config.learning_rate == TrainingConfig.learning_rate
    frames = np.random.default_rng(0).integers(0, 256, (1, 6, 64, 64, 1)).astype(np.float32)
    np.testing.assert_allclose(student(frames).numpy()[0], leap(frames[0]).numpy(), atol=1e-4)


def test_a_memory_of_maps_trained_with_leap_frozen_keeps_leaps_weights(trainset_project):
    leap_folder = train(trainset_project, model="leap", **TINY)
    folder = train(trainset_project, model="convlstm_leap", start_from="leap", memory="maps", freeze_leap=True,
                   schedule="fixed", epochs=1, steps_per_epoch=3, batch_size=2, sigma=TINY["sigma"],
                   learning_rate=1e-2, occluder_probability=1.0, occluder_target="parts")
    leap, _ = load_student(leap_folder)
    student, config = load_student(folder)
    assert config.freeze_leap and config.memory == "maps"
    reader = student.get_layer("encoder_td").layer
    for name in ("encoder", "decoder"):
        for kept, trained in zip(leap.get_layer(name).get_weights(), reader.get_layer(name).get_weights()):
            np.testing.assert_array_equal(kept, trained)
    assert student.get_layer("decoder_td").layer.get_layer("memory_maps").kernel.numpy().any(), "the memory trained"
    with pytest.raises(ValueError, match="freeze_leap"):
        TrainingConfig(memory="maps", freeze_leap=True)


def test_a_fine_tunes_defaults_fit_a_short_run_and_its_resume_call_repeats_what_differs():
    from dlc_recurrent.config import FINE_TUNE, fine_tune_defaults

    assert fine_tune_defaults(100)["min_steps"] == 100 and fine_tune_defaults()["min_steps"] == FINE_TUNE["min_steps"]
    config = TrainingConfig(start_from="leap", **{**fine_tune_defaults(), "learning_rate": 1e-3})
    call = train_call(config)
    assert "learning_rate=0.001" in call and "patience" not in call and "skip_connection" not in call
    with pytest.raises(ValueError, match="recurrent students"):
        TrainingConfig(model="leap", start_from="leap")


def test_a_warm_start_refuses_a_leap_control_of_another_training_set(trainset_project):
    train(trainset_project, model="leap", **TINY)
    create_training_set(trainset_project, window_length=5, windows_per_video=12, max_gap_fill=0, overwrite=True)
    with pytest.raises(ProjectError, match="another training set"):
        train(trainset_project, model="convlstm_leap", start_from="leap", **TINY)


def _cut_short(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def test_a_damaged_checkpoint_falls_back_to_the_one_before_or_says_what_to_do(trainset_project, caplog):
    """A checkpoint cut short (full disk, killed copy) made the next train() die in TensorFlow's reader."""
    import logging

    folder = train(trainset_project, model="leap", **{**TINY, "epochs": 2})
    newest = sorted((folder / "checkpoints").glob("ckpt-2.data-*"))
    assert newest
    _cut_short(newest[0])
    with caplog.at_level(logging.WARNING, logger="dlc_recurrent"):
        train(trainset_project, model="leap", **{**TINY, "epochs": 3})
    assert "ckpt-2: " in caplog.text and "damaged" in caplog.text and "resuming from ckpt-1" in caplog.text
    assert len(pd.read_csv(folder / HISTORY_NAME)) == 3

    for data in (folder / "checkpoints").glob("ckpt-*.data-*"):
        _cut_short(data)
    with pytest.raises(ProjectError, match="checkpoints: no checkpoint reads back.*overwrite=True"):
        train(trainset_project, model="leap", **{**TINY, "epochs": 4})


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


def test_device_names_and_their_conflicts(trainset_project):
    folder = train(trainset_project, model="leap", device="cpu", **TINY)
    assert (folder / WEIGHTS_NAME).is_file()
    with pytest.raises(ValueError, match="give one of them"):
        train(trainset_project, model="leap", devices=["/cpu:0"], gputouse=0, **TINY)
    with pytest.raises(ValueError, match="disagree"):
        train(trainset_project, model="leap", device="cuda:1", gputouse=0, **TINY)


def test_bidirectional_student_trains_and_analyzes_into_its_own_dlc_file(trainset_project, tmp_path):
    import deeplabcut

    from dlc_recurrent.frames import read_video_info
    from dlc_recurrent.inference.analyze import analyze_videos
    from dlc_recurrent.inference.output import student_scorer
    from dlc_recurrent.kinds import MODEL_KINDS

    project = load_project(trainset_project)
    folder = train(trainset_project, model="bidirectional_leap", **TINY)
    assert TrainingConfig.load(folder / CONFIG_NAME).model == "bidirectional_leap"
    video = project.videos[0]
    scorer = analyze_videos(trainset_project, [str(video)], model="bidirectional_leap", destfolder=tmp_path,
                            progress=False)
    assert scorer == student_scorer(project, 1, 0, "bidirectional_leap")
    assert set(DLC_NET_TYPES) == {*MODEL_KINDS, "ensemble"} and len(set(DLC_NET_TYPES.values())) == len(DLC_NET_TYPES)
    table, _, found, _ = deeplabcut.auxiliaryfunctions.load_analyzed_data(str(tmp_path), video.stem, scorer)
    assert found == scorer
    assert list(table.index) == list(range(read_video_info(video).n_frames))
    assert np.isfinite(table.to_numpy()).all()


def test_finished_model_is_kept_and_more_epochs_continue(trainset_project, capsys):
    folder = train(trainset_project, model="leap", **TINY)
    stamp = (folder / WEIGHTS_NAME).stat().st_mtime_ns
    train(trainset_project, model="leap", **TINY)
    said = capsys.readouterr().out
    assert "already holds" in said and "Resuming" not in said
    assert (folder / WEIGHTS_NAME).stat().st_mtime_ns == stamp
    train(trainset_project, model="leap", **{**TINY, "epochs": 2})
    assert "Resuming leap training from epoch 1" in capsys.readouterr().out
    assert list(pd.read_csv(folder / HISTORY_NAME).epoch) == [0, 1]
    continued = [w.copy() for w in load_student(folder)[0].get_weights()]
    train(trainset_project, model="leap", overwrite=True, **{**TINY, "epochs": 2})
    straight = load_student(folder)[0].get_weights()
    assert all(np.allclose(a, b, rtol=1e-4, atol=1e-6) for a, b in zip(continued, straight))


def test_a_resumed_stream_starts_where_the_interrupted_one_stopped(trainset_project):
    trainset = load_training_set(
        next((load_project(trainset_project).project_path / "dlc-recurrent" / "training-sets")
             .rglob("trainingset.yaml")).parent
    )
    config = TrainingConfig(model="convlstm_leap", bodyparts=trainset.bodyparts, window_length=5)
    stream = make_dataset(trainset, "train", config, 2, (64, 64), training=True)[0]
    resumed = make_dataset(trainset, "train", config, 2, (64, 64), training=True, skip=4)[0]
    expected = list(stream.take(4))[2:]
    for got, want in zip(resumed.take(2), expected):
        for key in ("frames", "xy", "weight"):
            np.testing.assert_array_equal(got[key].numpy(), want[key].numpy())


def test_a_student_is_not_continued_on_a_rebuilt_training_set(trainset_project):
    train(trainset_project, model="leap", **TINY)
    create_training_set(trainset_project, window_length=5, windows_per_video=20, max_gap_fill=0, overwrite=True)
    train(trainset_project, model="leap", **{**TINY, "epochs": 2})  # rebuilt from the same inputs: same data
    create_training_set(trainset_project, window_length=5, windows_per_video=20, max_gap_fill=0, seed=1,
                        overwrite=True)
    for epochs in (2, 3):  # the finished student, and more epochs of it
        with pytest.raises(ProjectError, match="rebuilt with other data.*overwrite=True"):
            train(trainset_project, model="leap", **{**TINY, "epochs": epochs})
    train(trainset_project, model="leap", overwrite=True, **TINY)


def test_other_settings_in_the_same_folder_need_overwrite(trainset_project):
    train(trainset_project, model="leap", **TINY)
    with pytest.raises(ProjectError, match=r"\(learning_rate=0.001\).*overwrite=True"):
        train(trainset_project, model="leap", **{**TINY, "learning_rate": 0.1})
    folder = train(trainset_project, model="leap", overwrite=True, **{**TINY, "learning_rate": 0.1})
    assert TrainingConfig.load(folder / CONFIG_NAME).learning_rate == 0.1


@pytest.mark.slow
def test_resume_after_the_process_is_killed(trainset_project):
    """Kill training right after epoch 2's checkpoint; the next call resumes at epoch 2."""
    script = textwrap.dedent(
        f"""
        import os
        import dlc_recurrent.training as training
        original = training.EpochCheckpoint.on_epoch_end
        def die_after_second(self, epoch, logs=None):
            original(self, epoch, logs)
            if epoch == 1:
                os._exit(17)
        training.EpochCheckpoint.on_epoch_end = die_after_second
        training.train({str(trainset_project)!r}, model="convlstm_leap", **{ {**TINY, "epochs": 3}!r})
        """
    )
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert killed.returncode == 17, killed.stderr[-2000:]
    folder = model_folder(load_project(trainset_project), 1, 0, "convlstm_leap") / "train"
    assert not (folder / WEIGHTS_NAME).exists()

    resumed = subprocess.run(
        [sys.executable, "-c", f"import dlc_recurrent.training as t; t.train({str(trainset_project)!r}, "
         f"model='convlstm_leap', **{ {**TINY, 'epochs': 3}!r})"],
        capture_output=True, text=True, timeout=600,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "Resuming convlstm_leap training from epoch 2" in resumed.stdout
    assert list(pd.read_csv(folder / HISTORY_NAME).epoch) == [0, 1, 2]
    assert (folder / WEIGHTS_NAME).is_file()


@pytest.mark.slow
def test_data_parallel_on_two_logical_cpus(trainset_project):
    """MirroredStrategy over two devices, as on a two-GPU machine (two logical CPUs here)."""
    script = textwrap.dedent(
        f"""
        import dlc_recurrent
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from dlc_recurrent.training import train
        train({str(trainset_project)!r}, model="convlstm_leap", devices=["/cpu:0", "/cpu:1"], **{TINY!r})
        print("replicas ok")
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "replicas ok" in result.stdout
    assert "data-parallel on 2 devices" in result.stdout
    history = pd.read_csv(model_folder(load_project(trainset_project), 1, 0, "convlstm_leap") / "train" / HISTORY_NAME)
    assert history.val_loss.notna().all()  # the test windows were shared among both devices


def test_every_device_gets_test_windows_in_every_batch():
    for n_samples, batch, replicas in [(5, 4, 2), (7, 8, 4), (24, 8, 2), (9, 8, 4), (3, 16, 2), (2, 4, 2)]:
        size = validation_batch_size(n_samples, batch, replicas)
        assert replicas <= size <= batch
        assert n_samples % size == 0 or n_samples % size >= replicas
        assert not any(n_samples % larger == 0 or n_samples % larger >= replicas
                       for larger in range(size + 1, batch + 1))
    assert validation_batch_size(5, 4, 2) == 3 and validation_batch_size(24, 8, 2) == 8
    assert validation_batch_size(1, 4, 2) == 0  # fewer test windows than devices: no test loss
    assert validation_batch_size(5, 4, 1) == 4


def test_train_without_training_set(project_copy):
    with pytest.raises(ProjectError, match="create_training_set"):
        train(project_copy, model="leap", **TINY)


def test_load_student_without_weights(tmp_path):
    with pytest.raises(ProjectError, match="no trained student"):
        load_student(tmp_path)


# ----------------------------------------------------------------------------------------------
# schedule="converge": warm-up, plateaus, early stopping, best weights, resuming
# ----------------------------------------------------------------------------------------------


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


def test_a_run_begun_without_hidden_test_windows_continues_without_them(trainset_project):
    options = dict(TINY, model="convlstm_leap", occluder_probability=0.5, occluder_target="parts")
    folder = train(trainset_project, **options)
    history = pd.read_csv(folder / HISTORY_NAME)
    assert "val_hidden_loss" in history
    history.drop(columns="val_hidden_loss").to_csv(folder / HISTORY_NAME, index=False)  # as an earlier build wrote it
    train(trainset_project, **{**options, "epochs": 2})
    history = pd.read_csv(folder / HISTORY_NAME)
    assert list(history.epoch) == [0, 1] and "val_hidden_loss" not in history


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


def test_converge_trained_on_equals_trained_straight(trainset_project):
    """A run that hit max_steps and is trained on (larger max_steps) follows the uninterrupted one:
    the schedule's state (best loss, plateau counters, learning-rate scale) is checkpointed."""
    from dlc_recurrent.training import read_training_summary

    options = dict(batch_size=2, sigma=3.0, steps_per_epoch=2, min_steps=0, patience=100, lr_patience=2,
                   warmup_steps=3, min_improvement=0.5, augment=True)
    folder = train(trainset_project, model="leap", max_steps=4, **options)
    first = read_training_summary(folder)
    assert not first["converged"] and first["steps"] == 4 and "max_steps=4" in first["stop_reason"]
    train(trainset_project, model="leap", max_steps=8, **options)
    continued = [w.copy() for w in load_student(folder)[0].get_weights()]
    history = pd.read_csv(folder / HISTORY_NAME)
    train(trainset_project, model="leap", max_steps=8, overwrite=True, **options)
    straight = load_student(folder)[0].get_weights()
    assert all(np.allclose(a, b, rtol=1e-4, atol=1e-6) for a, b in zip(continued, straight))
    pd.testing.assert_frame_equal(history, pd.read_csv(folder / HISTORY_NAME), rtol=1e-4)
    assert list(history.step) == [2, 4, 6, 8]
    assert history.lr.iloc[-1] < history.lr.iloc[1], "plateaus (min_improvement 50%) halved the rate"


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


def test_evaluation_period_of_each_schedule():
    from dlc_recurrent.config import steps_per_epoch

    assert steps_per_epoch(TrainingConfig(), n_samples=1000, batch=8) == 50
    assert steps_per_epoch(TrainingConfig(min_steps=6, max_steps=6), n_samples=1000, batch=8) == 6
    assert steps_per_epoch(TrainingConfig(schedule="fixed"), n_samples=1000, batch=8) == 125  # one pass
    assert steps_per_epoch(TrainingConfig(steps_per_epoch=7), n_samples=1000, batch=8) == 7


def test_a_run_trained_on_keeps_its_evaluation_period(trainset_project):
    """The default period is min(50, max_steps): raising max_steps later must not change it."""
    options = dict(batch_size=2, sigma=3.0, min_steps=0, warmup_steps=0)
    folder = train(trainset_project, model="leap", max_steps=4, **options)
    train(trainset_project, model="leap", max_steps=12, **options)
    assert list(pd.read_csv(folder / HISTORY_NAME).step) == [4, 8, 12]


def test_one_training_run_per_student_and_no_rebuilt_set_under_a_running_one(trainset_project):
    """Another process training this student (its lock, its live process): a second train() and a
    rebuild of the set stop with a message; once that process is gone its lock is taken over."""
    import socket
    import time

    from dlc_recurrent.layout import trainer_lock_path, training_set_folder

    project = load_project(trainset_project)
    lock = trainer_lock_path(training_set_folder(project, 1, 0), "leap")
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        lock.write_text(f"{socket.gethostname()} {other.pid} {time.time():.0f}")
        with pytest.raises(ProjectError, match=f"process {other.pid} on .* is training this student"):
            train(trainset_project, model="leap", **TINY)
        with pytest.raises(ProjectError, match=f"process {other.pid} on .* is training a student on it"):
            create_training_set(trainset_project, window_length=5, windows_per_video=20, max_gap_fill=0,
                                overwrite=True)
    finally:
        other.kill()
        other.wait()
    folder = train(trainset_project, model="leap", **TINY)  # the lock of a process gone: taken over
    assert (folder / WEIGHTS_NAME).is_file() and not lock.exists()


@pytest.mark.parametrize("damage", ["cut short", "garbage", "empty"])
def test_a_damaged_checkpoint_state_file_is_rebuilt_from_the_checkpoints_on_disk(trainset_project, caplog, damage):
    """TensorFlow's ``checkpoints/checkpoint`` (which checkpoint is newest) is rewritten at every save;
    a full disk or a killed copy can leave it damaged, and the next train() died parsing it."""
    import logging

    folder = train(trainset_project, model="leap", **{**TINY, "epochs": 2})
    state = folder / "checkpoints" / "checkpoint"
    text = state.read_text()
    state.write_text({"cut short": text[: len(text) // 2], "garbage": "\x00\x17 not a checkpoint {",
                      "empty": ""}[damage])
    with caplog.at_level(logging.INFO, logger="dlc_recurrent"):
        train(trainset_project, model="leap", **{**TINY, "epochs": 3})
    assert "Resuming leap training from epoch 2" in caplog.text, "started again: two epochs lost"
    assert "checkpoint: damaged or missing; rebuilt from the checkpoints on disk (ckpt-1, ckpt-2)" in caplog.text
    assert len(pd.read_csv(folder / HISTORY_NAME)) == 3


def test_a_misspelt_option_suggests_the_one_meant(trainset_project):
    with pytest.raises(ValueError, match="no option 'max_step'; did you mean max_steps"):
        train(trainset_project, model="leap", max_step=50)
    with pytest.raises(ValueError, match="no option 'window_length'"):  # the training set's, not train's
        train(trainset_project, model="leap", window_length=5)


def test_train_says_where_it_runs_and_what_the_steps_will_cost(trainset_project, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="dlc_recurrent"):
        train(trainset_project, model="leap", **{**TINY, "epochs": 3})
    assert "Training leap on CPU:0 (float32): 2 frames of" in caplog.text  # "auto" trains in float32 on a CPU
    assert re.search(r"leap on CPU:0: [\d.]+ s per step; the 3 steps left take about \d+ s", caplog.text)
    from dlc_recurrent.precision import cpu_supports_bfloat16

    assert ('precision="bfloat16") takes steps' in caplog.text) == cpu_supports_bfloat16()


def test_the_bfloat16_hint_only_where_float32_was_chosen_for_the_user_on_a_capable_cpu(monkeypatch):
    from dlc_recurrent import precision
    from dlc_recurrent.training import run

    auto = TrainingConfig(model="leap", bodyparts=["a"])
    for capable in (True, False):
        monkeypatch.setattr(precision, "cpu_supports_bfloat16", lambda capable=capable: capable)
        assert run.bfloat16_would_pay(auto, "float32", "CPU:0") is capable
    monkeypatch.setattr(precision, "cpu_supports_bfloat16", lambda: True)
    assert not run.bfloat16_would_pay(auto, "mixed_float16", "GPU:0")
    assert not run.bfloat16_would_pay(auto, "mixed_bfloat16", "CPU:0")  # asked for already
    assert not run.bfloat16_would_pay(TrainingConfig(model="leap", bodyparts=["a"], precision="float32"),
                                      "float32", "CPU:0")  # full precision asked for


def test_training_in_bfloat16_when_asked_and_the_weights_stay_float32(trainset_project, caplog):
    import logging

    from dlc_recurrent._tensorflow import keras
    from dlc_recurrent.precision import cpu_supports_bfloat16
    from dlc_recurrent.training import read_training_summary

    with caplog.at_level(logging.INFO, logger="dlc_recurrent"):
        folder = train(trainset_project, model="leap", precision="bfloat16", **TINY)
    policy = "mixed_bfloat16" if cpu_supports_bfloat16() else "float32"
    assert f"Training leap on CPU:0 ({policy})" in caplog.text
    assert read_training_summary(folder)["computed_in"] == policy
    network, config = load_student(folder)
    assert config.precision == "bfloat16"
    assert {w.dtype.name for w in network.weights} == {"float32"}
    assert keras.mixed_precision.global_policy().name == "float32"  # the caller's policy is back
