"""Training samples (dlc_recurrent.training.data): augmentation, occluders, hidden test windows, the dataset."""

import numpy as np
import pytest
import tensorflow as tf

import dlc_recurrent  # noqa: F401  (torchvision before tensorflow)
from dlc_recurrent.config import TrainingConfig
from dlc_recurrent.distill import GAP_FILLED, MASKED, create_training_set, load_training_set
from dlc_recurrent.project import load_project
from dlc_recurrent.training import (
    add_occluder,
    add_part_occluder,
    augment_window,
    make_dataset,
    training_samples,
    validation_batch_size,
)
from dlc_recurrent.training.data import HIDDEN_COPIES, hidden_points, hidden_test_samples


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
