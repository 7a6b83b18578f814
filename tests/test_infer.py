"""analyze_videos: peaks, coordinates, streaming vs windowed reference, DLC layout, skip, bad video."""

import pickle
import shutil
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
import tf_keras as keras

import dlc_recurrent  # noqa: F401
from dlc_recurrent import models
from dlc_recurrent.config import TrainingConfig
from dlc_recurrent.errors import ProjectError
from dlc_recurrent.frames import Crop, read_video_info
from dlc_recurrent.inference.analyze import analyze_videos
from dlc_recurrent.inference.output import student_scorer
from dlc_recurrent.inference.pairing import (
    BRIDGE_MAX_GAP,
    BRIDGE_MIN_AGREEING,
    bridge_reach,
    bridged_points,
    combine_predictions,
    combine_students,
)
from dlc_recurrent.inference.reader import FrameReader
from dlc_recurrent.inference.streams import predict_video, predict_windowed_reference
from dlc_recurrent.inference.student import Student, find_peaks, load_trained_student
from dlc_recurrent.project import find_teacher, load_project, teacher_candidates


def gaussian_maps(centres, height, width, sigma, amplitude):
    rows, columns = np.mgrid[:height, :width]
    maps = [amplitude * np.exp(-((columns - x) ** 2 + (rows - y) ** 2) / (2 * sigma**2)) for x, y in centres]
    return np.stack(maps, axis=-1)[None].astype(np.float32)


def test_find_peaks_recovers_subpixel_centres():
    centres = [(10.3, 20.7), (40.0, 5.5), (0.0, 31.0), (45.4, 12.25)]
    maps = gaussian_maps(centres, 32, 48, 3.0, 10.0)
    peaks = find_peaks(tf.constant(maps), 10.0).numpy()[0]
    for (x, y), (px, py, likelihood) in zip(centres[:2] + centres[3:], np.delete(peaks, 2, axis=0)):
        assert px == pytest.approx(x, abs=0.02) and py == pytest.approx(y, abs=0.02)
    assert peaks[2, 0] == 0 and peaks[2, 1] == 31  # on the border: the integer position
    assert peaks[0, 2] == pytest.approx(np.exp(-(0.3**2 + 0.3**2) / 18), abs=0.01)


def test_find_peaks_likelihood_is_clipped():
    maps = np.zeros((1, 8, 8, 2), np.float32)
    maps[0, 3, 4, 0] = 25.0
    maps[0, :, :, 1] = -1.0
    peaks = find_peaks(tf.constant(maps), 10.0).numpy()[0]
    assert peaks[0, 2] == 1.0 and peaks[1, 2] == 0.0
    assert (peaks[0, 0], peaks[0, 1]) == (4.0, 3.0)


def blob_video(path, centres, width=80, height=60):
    """A video of one bright Gaussian blob per frame at known (x, y)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (width, height), isColor=False)
    for x, y in centres:
        frame = gaussian_maps([(x, y)], height, width, 2.5, 255.0)[0, ..., 0]
        writer.write(frame.astype(np.uint8))
    writer.release()


def wandering_blob_video(path, n_frames, seed):
    """A blob video (80x60) whose blob jumps to a random place every frame; its VideoInfo and full-frame crop."""
    rng = np.random.default_rng(seed)
    blob_video(path, np.column_stack([rng.uniform(10, 70, n_frames), rng.uniform(10, 50, n_frames)]))
    info = read_video_info(path)
    return info, Crop(0, info.width, 0, info.height)


def blob_student(scale):
    """A 'student' whose map is the (blurred) image itself: its peak is the blob, wherever it is."""
    frames = keras.Input((None, None, 1), dtype="uint8")
    maps = keras.layers.Lambda(lambda x: tf.nn.avg_pool2d(tf.cast(x, tf.float32), 3, 1, "SAME") / 25.5)(frames)
    network = keras.Model(frames, maps)
    config = TrainingConfig(model="leap", bodyparts=["blob"], channels=1, scale=scale, map_amplitude=10.0)
    return Student(config=config, folder=None, network=network, state_reset=0)


@pytest.mark.parametrize("crop, scale", [(Crop(0, 80, 0, 60), 1.0), (Crop(7, 73, 5, 58), 1.0),
                                         (Crop(6, 78, 4, 60), 0.5)])
def test_coordinates_round_trip_through_crop_scale_and_padding(tmp_path, crop, scale):
    rng = np.random.default_rng(0)
    centres = np.column_stack([rng.uniform(crop.x1 + 6, crop.x2 - 6, 20), rng.uniform(crop.y1 + 6, crop.y2 - 6, 20)])
    video = tmp_path / "blob.mp4"
    blob_video(video, centres)
    predictions = predict_video(blob_student(scale), read_video_info(video), crop, batch_size=7, progress=False)
    assert predictions.shape == (20, 1, 3)
    error = np.hypot(*(predictions[:, 0, :2] - centres).T)
    assert error.max() < 1.0, error


@pytest.mark.parametrize("segment, skip_connection", [(6, False), (100, False), (6, True)])
def test_bidirectional_chunks_equal_the_network_on_each_segment_with_its_context(tmp_path, segment, skip_connection):
    """Chunked bidirectional inference == the Keras network on [segment - context, segment + context]."""
    info, crop = wandering_blob_video(tmp_path / "blob.mp4", 23, seed=1)
    length, context = 4, 3
    config = TrainingConfig(model="bidirectional_leap", bodyparts=["a", "b"], window_length=length, map_amplitude=0.01,
                            skip_connection=skip_connection)
    tf.random.set_seed(4)
    network = models.build_bidirectional_leap(2, window_length=None, skip_connection=skip_connection)
    student = Student(config=config, folder=None, network=network, state_reset=segment)
    streamed = predict_video(student, info, crop, batch_size=5, progress=False)

    frames = np.concatenate(list(FrameReader(info, crop, 1.0, 1, 100)))
    reference, reference_maps = [], []
    for start in range(0, len(frames), segment):
        stop = min(start + segment, len(frames))
        first = max(0, start - context)
        maps = network(frames[first : stop + context][None].astype(np.float32))[0]
        reference.append(find_peaks(maps, config.map_amplitude).numpy()[start - first : stop - first])
        reference_maps.append(maps.numpy()[start - first : stop - first])
    reference, reference_maps = np.concatenate(reference), np.concatenate(reference_maps)
    assert streamed.shape == reference.shape == (23, 2, 3)
    np.testing.assert_allclose(streamed[..., 2], reference[..., 2], atol=1e-6)
    # An untrained network's maps are nearly flat: float rounding may pick another of two tied maxima.
    moved = np.abs(streamed[..., :2] - reference[..., :2]).max(-1) > 1e-3
    for frame, part in zip(*np.nonzero(moved)):
        x, y = np.round(streamed[frame, part, :2]).astype(int)
        peak = reference_maps[frame, ..., part].max()
        assert reference_maps[frame, y, x, part] >= peak - 1e-5 * abs(peak), (frame, part)
    assert moved.mean() < 0.1


@pytest.mark.parametrize("segment, per_step", [(5, 4), (5, 1), (5, 3), (6, 2), (2, 4), (1, 1), (2, 1)])
def test_segments_run_side_by_side_equal_the_network_on_each_segment_with_its_burn_in(tmp_path, monkeypatch,
                                                                                      segment, per_step):
    """Segments batched together (the last one short) == the Keras network on [segment - burn-in, segment end),
    and killed midway the run resumes to the same result. Segments shorter than the batch (5) go side by
    side up to a batch of frames whatever MAX_SEGMENTS_PER_STEP says."""
    from dlc_recurrent.inference import streams

    monkeypatch.setattr(streams, "MAX_SEGMENTS_PER_STEP", per_step)
    info, crop = wandering_blob_video(tmp_path / "blob.mp4", 33, seed=2)
    length = 4
    config = TrainingConfig(model="convlstm_leap", bodyparts=["a", "b"], window_length=length, map_amplitude=0.01)
    tf.random.set_seed(5)
    network = models.build_model("convlstm_leap", 2, window_length=None)
    student = Student(config=config, folder=None, network=network, state_reset=segment)
    assert streams.frames_per_step([student], 5, crop, 1.0) == segment * max(per_step, -(-5 // segment))
    streamed = predict_video(student, info, crop, batch_size=5, progress=False)

    frames = np.concatenate(list(FrameReader(info, crop, 1.0, 1, 100)))
    reference, reference_maps = [], []
    for start in range(0, len(frames), segment):
        stop = min(start + segment, len(frames))
        first = max(0, start - (length - 1))
        maps = network(frames[first:stop][None].astype(np.float32))[0]
        reference.append(find_peaks(maps, config.map_amplitude).numpy()[start - first :])
        reference_maps.append(maps.numpy()[start - first :])
    reference, reference_maps = np.concatenate(reference), np.concatenate(reference_maps)
    assert streamed.shape == reference.shape == (33, 2, 3)
    np.testing.assert_allclose(streamed[..., 2], reference[..., 2], atol=1e-6)
    moved = np.abs(streamed[..., :2] - reference[..., :2]).max(-1) > 1e-3
    for frame, part in zip(*np.nonzero(moved)):  # untrained maps are nearly flat: ties may go either way
        x, y = np.round(streamed[frame, part, :2]).astype(int)
        peak = reference_maps[frame, ..., part].max()
        assert reference_maps[frame, y, x, part] >= peak - 1e-5 * abs(peak), (frame, part)
    assert moved.mean() < 0.1

    checkpoint = tmp_path / "run.resume.npz"
    calls, step = [], streams.RecurrentStream.step

    def dies_on_the_second_step(self, frames):
        calls.append(len(frames))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return step(self, frames)

    monkeypatch.setattr(streams.RecurrentStream, "step", dies_on_the_second_step)
    with pytest.raises(KeyboardInterrupt):
        predict_video(student, info, crop, batch_size=5, progress=False, checkpoint=checkpoint, checkpoint_seconds=0)
    assert checkpoint.is_file()
    monkeypatch.setattr(streams.RecurrentStream, "step", step)
    resumed = predict_video(student, info, crop, batch_size=5, progress=False, checkpoint=checkpoint)
    np.testing.assert_allclose(resumed, streamed, atol=1e-5)


@pytest.mark.parametrize("segment, memory", [(0, "features"), (1, "features"), (0, "maps"), (1, "maps")])
def test_a_student_with_a_skip_connection_streams_what_its_network_computes(tmp_path, segment, memory):
    """ConvLSTM-LEAP with the skip connection (and with a memory of maps): carried state == the
    network on the whole video, one-frame segments == each frame's own window, and the evaluation's
    last-frame peaks == the network's last map."""
    info, crop = wandering_blob_video(tmp_path / "blob.mp4", 19, seed=3)
    config = TrainingConfig(model="convlstm_leap", bodyparts=["a", "b"], window_length=4, map_amplitude=0.01,
                            skip_connection=True, memory=memory)
    tf.random.set_seed(6)
    network = models.build_student(config)
    if memory == "maps":  # a memory that writes something (its last layer starts at zero)
        written = network.get_layer("decoder_td").layer.get_layer("memory_maps")
        written.set_weights([np.full(w.shape, 0.01, np.float32) for w in written.get_weights()])
    assert models.has_skip_connection(network)
    student = Student(config=config, folder=None, network=network, state_reset=segment)
    streamed = predict_video(student, info, crop, batch_size=5, progress=False)
    frames = np.concatenate(list(FrameReader(info, crop, 1.0, 1, 100)))
    if segment == 0:
        reference = find_peaks(network(frames[None].astype(np.float32))[0], config.map_amplitude).numpy()
    else:
        reference = predict_windowed_reference(student, info, crop)
    np.testing.assert_allclose(streamed, reference, atol=1e-3)

    windows = np.stack([frames[start : start + 4] for start in (0, 7, 15)])
    features = tf.stack([student.encode(window) for window in windows])
    expected = find_peaks(network(windows.astype(np.float32))[:, -1], config.map_amplitude).numpy()
    np.testing.assert_allclose(student.last_frame_peaks(features).numpy(), expected, atol=1e-3)


class Interrupted(Exception):
    pass


def dies_at_call(original, call: int):
    """A stream ``step`` that raises Interrupted on its ``call``-th call (a run killed mid-video)."""
    calls = []

    def step(self, frames, *args, **kwargs):
        calls.append(len(frames))
        if len(calls) == call:
            raise Interrupted
        return original(self, frames, *args, **kwargs)

    return step


@pytest.mark.parametrize("model, segment, dies_at", [
    ("leap", 0, 5), ("convlstm_leap", 6, 5), ("convlstm_leap", 0, 5), ("bidirectional_leap", 6, 5),
    ("convlstm_leap", 2, 5), ("convlstm_leap", 2, 2), ("bidirectional_leap", 2, 4),  # segments < context
])
def test_an_interrupted_video_resumes_from_its_checkpoint_with_the_same_predictions(tmp_path, monkeypatch,
                                                                                     capsys, model, segment, dies_at):
    """Killed after a few chunks, then run again: it resumes mid-video and gives the uninterrupted result
    (context 3 frames; with 2-frame segments the checkpoint can come before a full context). One segment
    per step here, so that many steps happen; segments side by side resume in the test above."""
    from dlc_recurrent.inference import streams

    monkeypatch.setattr(streams, "MAX_SEGMENTS_PER_STEP", 1)
    info, crop = wandering_blob_video(tmp_path / "blob.mp4", 41, seed=2)
    config = TrainingConfig(model=model, bodyparts=["a", "b"], window_length=4, map_amplitude=0.01)
    tf.random.set_seed(5)
    network = models.build_model(model, 2, window_length=None)
    student = Student(config=config, folder=None, network=network, state_reset=segment)
    uninterrupted = predict_video(student, info, crop, batch_size=5, progress=False)

    stream_class = {"leap": streams.FrameStream, "convlstm_leap": streams.RecurrentStream,
                    "bidirectional_leap": streams.BidirectionalStream}[model]
    original = stream_class.step

    checkpoint = tmp_path / "blob.h5.resume.npz"
    monkeypatch.setattr(stream_class, "step", dies_at_call(original, dies_at))
    with pytest.raises(Interrupted):
        predict_video(student, info, crop, batch_size=5, progress=False, checkpoint=checkpoint, checkpoint_seconds=0)
    monkeypatch.setattr(stream_class, "step", original)
    assert checkpoint.is_file()
    with np.load(checkpoint) as saved:
        done = len(saved["predictions"])
    assert 0 < done < info.n_frames
    capsys.readouterr()
    resumed = predict_video(student, info, crop, batch_size=5, progress=False, checkpoint=checkpoint,
                            checkpoint_seconds=0)
    assert f"resuming at frame {done} of {info.n_frames}" in capsys.readouterr().out
    np.testing.assert_allclose(resumed, uninterrupted, atol=1e-3)

    other = Student(config=config, folder=None, network=network, state_reset=segment + 2)
    predict_video(other, info, crop, batch_size=5, progress=False, checkpoint=checkpoint)
    assert "analyzing from the start" in capsys.readouterr().out  # another student: the checkpoint is not its


def test_combine_predictions_keeps_the_confident_students_points_from_the_handoff():
    main = np.array([[[1.0, 2.0, 0.9], [3.0, 4.0, 0.2]], [[5.0, 6.0, 0.1], [7.0, 8.0, 0.7]]])
    confident = np.array([[[1.5, 2.5, 0.79], [3.5, 4.5, 0.8]], [[5.5, 6.5, 0.95], [7.5, 8.5, 0.3]]])
    combined = combine_predictions(main, confident, handoff=0.8)
    np.testing.assert_array_equal(combined, [[[1.0, 2.0, 0.9], [3.5, 4.5, 0.8]], [[5.5, 6.5, 0.95], [7.0, 8.0, 0.7]]])


def test_bridging_fills_only_short_unsure_runs_where_the_main_student_agrees_with_the_line():
    """Part 0: the confident student is unsure on frames 3-6 between sure frames 2 (x=20) and 7 (x=70);
    the main student is near that line on 3, 4 and 6, far on 5 (the paw turned). Part 1: unsure for
    longer than bridge_max_gap, at the start and at the end of the video (where the main student
    sits on the confident student's last sure position): nothing is bridged."""
    n = 16
    frames = np.arange(n, dtype=float)
    confident = np.zeros((n, 2, 3))
    confident[:, :, 0], confident[:, :, 1], confident[:, :, 2] = 10 * frames[:, None], 5.0, 0.95
    confident[3:7, 0, 2] = 0.3
    confident[:2, 1, 2] = 0.4  # no sure frame before it
    confident[3:10, 1, 2] = 0.5  # a run of 7 frames
    confident[14:, 1, 2] = 0.1  # no sure frame after it
    main = confident.copy()
    main[..., 2] = 0.6
    main[:, :, 0] += 2.0  # within reach 3 of the line everywhere ...
    main[5, 0, :2] = [50.0, 40.0]  # ... but here
    main[:2, 1, :2] = confident[2, 1, :2]  # where a line extended from either end would be
    main[14:, 1, :2] = confident[13, 1, :2]
    combined = combine_predictions(main, confident, handoff=0.8, bridge_max_gap=6, reach=3.0, weight=1.0)
    plain = combine_predictions(main, confident, handoff=0.8)
    np.testing.assert_allclose(combined[[3, 4, 6], 0, :2], [[30, 5], [40, 5], [60, 5]])
    np.testing.assert_allclose(combine_predictions(main, confident, 0.8, 6, 3.0, weight=0.75)[[3, 4, 6], 0, :2],
                               [[30.5, 5], [40.5, 5], [60.5, 5]])  # three quarters of the way from x + 2
    np.testing.assert_allclose(combined[[3, 4, 6], 0, 2], 0.6)  # the main student's likelihood stays
    np.testing.assert_array_equal(combined[5, 0], plain[5, 0])
    np.testing.assert_array_equal(combined[:, 1], plain[:, 1])
    np.testing.assert_array_equal(np.delete(combined[:, 0], [3, 4, 6], axis=0),
                                  np.delete(plain[:, 0], [3, 4, 6], axis=0))
    np.testing.assert_array_equal(combine_predictions(main, confident, 0.8, 7, 3.0, weight=1.0)[3:10, 1, :2],
                                  confident[3:10, 1, :2])  # the 7-frame run, once it is short enough
    np.testing.assert_array_equal(combine_predictions(main, confident, 0.8, bridge_max_gap=6, reach=1.0), plain)


def test_outputs_written_before_bridging_count_as_unbridged():
    from dlc_recurrent.inference.pairing import describe_combination, same_combination

    old = {"shuffle": 2, "model": "convlstm_leap", "handoff": 0.8}
    unbridged = {**old, "bridge_max_gap": 0, "bridge_tolerance": 14.0, "bridge_weight": 0.75}
    bridged = {**old, "bridge_max_gap": 12, "bridge_tolerance": 14.0, "bridge_weight": 0.75}
    assert same_combination(old, unbridged) and not same_combination(old, bridged)
    assert not same_combination(bridged, {**bridged, "bridge_tolerance": 10.0})
    first_version = {key: value for key, value in bridged.items() if key != "bridge_weight"}  # weight 1
    assert (not same_combination(first_version, bridged)
            and same_combination(first_version, {**bridged, "bridge_weight": 1.0}))
    assert describe_combination(old).endswith("(convlstm_leap, handoff 0.8, no bridging)")
    assert describe_combination(bridged).endswith("gaps up to 12 frames bridged, tolerance 14.0, weight 0.75)")


def test_combine_students_bridges_with_the_reach_measured_on_the_same_points():
    rng = np.random.default_rng(1)
    n = 60
    confident = np.concatenate([np.cumsum(rng.normal(0, 1, (n, 2, 2)), axis=0), rng.uniform(0.5, 1, (n, 2, 1))],
                               axis=-1)
    main = confident.copy()
    main[..., :2] += rng.normal(0, 0.5, (n, 2, 2))
    main[..., 2] = 0.9
    reach = bridge_reach(main, confident, 0.8, tolerance=10)
    assert reach > 0
    combined, returned = combine_students(main, confident, 0.8, bridge_max_gap=5, tolerance=10, weight=0.5)
    assert returned == reach
    np.testing.assert_array_equal(combined, combine_predictions(main, confident, 0.8, 5, reach, 0.5))
    assert not np.array_equal(combined, combine_predictions(main, confident, 0.8)), "some points must be bridged"
    moved = (combined[..., :2] != combine_predictions(main, confident, 0.8)[..., :2]).any(-1)
    assert bridged_points(combined, main, confident, 0.8) == np.count_nonzero(moved) > 0
    plain, no_reach = combine_students(main, confident, 0.8, bridge_max_gap=0)
    assert no_reach == 0.0 and np.array_equal(plain, combine_predictions(main, confident, 0.8))
    assert bridged_points(plain, main, confident, 0.8) == 0


def test_bridge_reach_follows_the_students_disagreement_not_the_pixel_size():
    rng = np.random.default_rng(0)
    confident = np.concatenate([rng.uniform(0, 100, (40, 3, 2)), np.full((40, 3, 1), 0.9)], axis=-1)
    main = confident.copy()
    main[..., :2] += rng.normal(0, 1.0, (40, 3, 2))
    distances = np.hypot(*(main[..., :2] - confident[..., :2]).transpose(2, 0, 1))
    assert bridge_reach(main, confident, 0.8, tolerance=14) == pytest.approx(14 * np.median(distances))
    bigger = [np.concatenate([3 * p[..., :2], p[..., 2:]], axis=-1) for p in (main, confident)]
    assert bridge_reach(*bigger, 0.8) == pytest.approx(3 * bridge_reach(main, confident, 0.8))
    main[..., 2] = 0.5  # the main student is never sure: nothing to measure their agreement on
    main[: BRIDGE_MIN_AGREEING // 3, :, 2] = 0.9
    assert bridge_reach(main, confident, 0.8) == 0.0


def random_student(model, segment, seed, scale=1.0, window_length=4):
    config = TrainingConfig(model=model, bodyparts=["a", "b"], window_length=window_length, map_amplitude=0.05,
                            scale=scale)
    tf.random.set_seed(seed)
    return Student(config=config, folder=None, network=models.build_model(model, 2, window_length=None),
                   state_reset=segment)


@pytest.mark.parametrize("main_model, confident_model, segment, windows", [
    ("convlstm_leap", "bidirectional_leap", 6, (4, 4)), ("bidirectional_leap", "convlstm_leap", 5, (6, 3)),
    ("convlstm_leap", "leap", 0, (4, 4)), ("leap", "bidirectional_leap", 7, (4, 4)),
    ("leap", "convlstm_leap", 6, (4, 5)), ("bidirectional_leap", "bidirectional_leap", 4, (3, 5)),
])
def test_two_students_streamed_together_equal_each_streamed_alone_then_combined(tmp_path, monkeypatch, capsys,
                                                                                main_model, confident_model, segment,
                                                                                windows):
    """One decoded stream through both students (one may hold frames back, their contexts may differ)
    == each alone, combined; and killed midway, it resumes to the same result."""
    from dlc_recurrent.inference import streams

    info, _ = wandering_blob_video(tmp_path / "blob.mp4", 37, seed=3)
    crop = Crop(6, 78, 4, 60)  # both students' points go back to full-frame pixels before they are combined
    main = random_student(main_model, segment, 6, scale=0.5, window_length=windows[0])
    confident = random_student(confident_model, segment, 7, scale=0.5, window_length=windows[1])
    alone = [predict_video(s, info, crop, batch_size=5, progress=False) for s in (main, confident)]
    handoff = float(np.quantile(alone[1][:, 0, 2], 0.5))  # one part's median: short unsure runs between sure frames
    kept = alone[1][..., 2] >= handoff
    assert 0 < kept.mean() < 1, "both students must give some of the points"
    # Random students rarely agree on anything: every short run is bridged here (bridge_reach has its own test).
    monkeypatch.setattr("dlc_recurrent.inference.pairing.bridge_reach", lambda *args: 1e6)
    expected = combine_predictions(*alone, handoff, BRIDGE_MAX_GAP, reach=1e6)
    assert not np.allclose(expected, combine_predictions(*alone, handoff)), "some points must be bridged"
    together = predict_video(main, info, crop, batch_size=5, progress=False, confident=confident, handoff=handoff)
    np.testing.assert_allclose(together, expected, atol=1e-3)

    original = streams.PairedStream.step

    checkpoint = tmp_path / "blob.h5.resume.npz"
    monkeypatch.setattr(streams.PairedStream, "step", dies_at_call(original, 4))
    with pytest.raises(Interrupted):
        predict_video(main, info, crop, batch_size=5, progress=False, checkpoint=checkpoint, checkpoint_seconds=0,
                      confident=confident, handoff=handoff)
    monkeypatch.setattr(streams.PairedStream, "step", original)
    with np.load(checkpoint) as saved:
        assert 0 < len(saved["predictions"]) < info.n_frames
    capsys.readouterr()
    resumed = predict_video(main, info, crop, batch_size=5, progress=False, checkpoint=checkpoint,
                            checkpoint_seconds=0, confident=confident, handoff=handoff)
    assert "resuming at frame" in capsys.readouterr().out
    np.testing.assert_allclose(resumed, expected, atol=1e-3)
    other = predict_video(main, info, crop, batch_size=5, progress=False, checkpoint=checkpoint, confident=confident,
                          handoff=handoff / 2, bridge_max_gap=0)  # the checkpoint holds both students' points
    assert "resuming at frame" in capsys.readouterr().out
    np.testing.assert_allclose(other, combine_predictions(*alone, handoff / 2), atol=1e-3)
    monkeypatch.setattr("dlc_recurrent.inference.pairing.bridge_reach", lambda *args: 0.0)
    with pytest.warns(UserWarning, match="no gaps bridged: fewer than 20 points that both students are sure of"):
        unbridged = predict_video(main, info, crop, batch_size=5, progress=False, confident=confident, handoff=handoff)
    np.testing.assert_allclose(unbridged, combine_predictions(*alone, handoff), atol=1e-3)


def test_two_students_must_read_the_same_frames(tmp_path):
    video = tmp_path / "blob.mp4"
    blob_video(video, [(20.0, 20.0)] * 6)
    info = read_video_info(video)
    crop = Crop(0, info.width, 0, info.height)
    main, other_scale = random_student("convlstm_leap", 6, 1), random_student("leap", 0, 2, scale=0.5)
    with pytest.raises(ProjectError, match="scale 0.5.*retrain one"):
        predict_video(main, info, crop, progress=False, confident=other_scale)
    with pytest.raises(ProjectError, match="same state_reset"):
        predict_video(main, info, crop, progress=False, confident=random_student("bidirectional_leap", 4, 2))
    with pytest.raises(ProjectError, match="bidirectional student analyzes in segments"):
        predict_video(random_student("convlstm_leap", 0, 1), info, crop, progress=False,
                      confident=random_student("bidirectional_leap", 0, 2))


def test_streaming_with_single_frame_segments_equals_the_windowed_reference(trained_project):
    """state_reset=1: each frame's segment is exactly its own window, so the result is identical."""
    project = load_project(trained_project)
    info = read_video_info(project.videos[0])
    crop = Crop(0, info.width, 0, info.height)
    student = load_trained_student(project, 1, 0, "convlstm_leap", state_reset=1)
    reference = predict_windowed_reference(student, info, crop)
    streamed = predict_video(student, info, crop, progress=False)
    np.testing.assert_allclose(streamed, reference, atol=1e-3)


def test_default_streaming_matches_the_windowed_reference(trained_project):
    """Default segments give frames more context than their window; confident peaks barely move.

    Tolerance: the only difference from the reference is the extra context (state_reset=1 is
    exact, above). Where both are confident the peak is the same up to sub-pixel shifts; on a few
    frames a briefly trained model's map has two similar modes and the extra context picks the
    other one (seen: 91-97% within 2 px over three trainings; the median stays near 0.01 px), so
    the bound is a median under 0.5 px and 85% within 2 px. "Confident" is pcutoff, or the top quarter
    of the reference's likelihoods where so brief a training leaves the student under pcutoff (seen on
    an AMD EPYC machine: likelihoods up to 0.62, 7 points over pcutoff 0.6).
    """
    project = load_project(trained_project)
    info = read_video_info(project.videos[0])
    crop = Crop(0, info.width, 0, info.height)
    student = load_trained_student(project, 1, 0, "convlstm_leap")
    assert student.state_reset == 4 * student.window_length
    reference = predict_windowed_reference(student, info, crop)
    streamed = predict_video(student, info, crop, progress=False)
    sure = min(project.pcutoff, np.quantile(reference[..., 2], 0.75))
    confident = (reference[..., 2] >= sure) & (streamed[..., 2] >= sure)
    distance = np.hypot(*(streamed[..., :2] - reference[..., :2]).transpose(2, 0, 1))
    assert confident.sum() >= 50, "too few confident points to compare"
    assert np.median(distance[confident]) < 0.5
    assert np.mean(distance[confident] < 2.0) > 0.85


def test_analyze_videos_writes_what_deeplabcut_reads(trained_project, tmp_path):
    import deeplabcut

    project = load_project(trained_project)
    video = project.videos[0]
    for model in ("leap", "convlstm_leap"):
        scorer = analyze_videos(trained_project, [str(video)], model=model, destfolder=tmp_path, save_as_csv=True,
                                progress=False)
        assert scorer == student_scorer(project, 1, 0, model)
        table, path, found_scorer, _ = deeplabcut.auxiliaryfunctions.load_analyzed_data(str(tmp_path), video.stem,
                                                                                        scorer)
        assert found_scorer == scorer
        n_frames = read_video_info(video).n_frames
        assert list(table.index) == list(range(n_frames))
        assert table.columns.names == ["scorer", "bodyparts", "coords"]
        assert list(table.columns) == [(scorer, bp, c) for bp in project.bodyparts for c in ("x", "y", "likelihood")]
        assert (table.dtypes == np.float64).all()
        with pd.HDFStore(path, "r") as store:
            assert store.keys() == ["/df_with_missing"]
            assert store.get_storer("df_with_missing").is_table
        likelihood = table.xs("likelihood", level="coords", axis=1).to_numpy()
        assert ((likelihood >= 0) & (likelihood <= 1)).all()
        metadata = deeplabcut.auxiliaryfunctions.load_video_metadata(str(tmp_path), video.stem, scorer)
        assert metadata["data"]["nframes"] == n_frames and metadata["data"]["dlc_recurrent"]["model"] == model
        assert pd.read_csv(tmp_path / f"{video.stem}{scorer}.csv", header=[0, 1, 2], index_col=0).shape == table.shape
    assert len(list(tmp_path.glob("*.h5"))) == 2, "the two students' files must not collide"


def test_a_header_that_overcounts_frames_gets_predictions_for_the_frames_that_decode(trained_project, tmp_path,
                                                                                     monkeypatch, capsys):
    """As deeplabcut's analyze_videos: one row per decoded frame, the same rows as with a right header."""
    import dataclasses

    video = load_project(trained_project).videos[0]
    n_frames = read_video_info(video).n_frames
    right, overcounted = tmp_path / "right", tmp_path / "overcounted"
    scorer = analyze_videos(trained_project, [str(video)], destfolder=right, progress=False)
    monkeypatch.setattr("dlc_recurrent.inference.analyze.read_video_info",
                        lambda path: dataclasses.replace(read_video_info(path), n_frames=n_frames + 7))
    with pytest.warns(UserWarning, match=f"header says {n_frames + 7} frames, only {n_frames} decode"):
        analyze_videos(trained_project, [str(video)], destfolder=overcounted, progress=False)
    assert f"{video}: {n_frames} of {n_frames + 7}" in capsys.readouterr().out  # in the end-of-run report
    name = f"{video.stem}{scorer}.h5"
    pd.testing.assert_frame_equal(pd.read_hdf(overcounted / name), pd.read_hdf(right / name))
    with open(overcounted / name.replace(".h5", "_meta.pickle"), "rb") as handle:
        assert pickle.load(handle)["data"]["nframes"] == n_frames


def test_student_output_is_not_taken_for_a_teacher(trained_project, tmp_path):
    project = load_project(trained_project)
    video = tmp_path / project.videos[0].name
    shutil.copy(project.videos[0], video)
    teacher = find_teacher(project.videos[0])
    shutil.copy(teacher, tmp_path / teacher.name)
    analyze_videos(trained_project, [str(video)], model="leap", progress=False)
    assert list(teacher_candidates(video).values()) == [tmp_path / teacher.name]


def test_already_analyzed_videos_are_skipped_unless_overwrite(trained_project, tmp_path, capsys):
    video = load_project(trained_project).videos[0]
    scorer = analyze_videos(trained_project, [str(video)], model="leap", destfolder=tmp_path, progress=False)
    h5 = tmp_path / f"{video.stem}{scorer}.h5"
    stamp = h5.stat().st_mtime_ns
    analyze_videos(trained_project, [str(video)], model="leap", destfolder=tmp_path, progress=False)
    assert "already analyzed" in capsys.readouterr().out
    assert h5.stat().st_mtime_ns == stamp
    analyze_videos(trained_project, [str(video)], model="leap", destfolder=tmp_path, overwrite=True, progress=False)
    assert h5.stat().st_mtime_ns != stamp
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([h5.name, f"{h5.stem}_meta.pickle"]), \
        "only the outputs, no temporary files"


def test_analyze_videos_with_a_confident_student(trained_project, tmp_path, capsys, monkeypatch):
    """The combined predictions under the main student's scorer, how they were made in the meta, and a
    rerun asking for another combination told so; deeplabcut reads the file as any other."""
    import deeplabcut

    from dlc_recurrent.inference.pairing import BRIDGE_TOLERANCE, BRIDGE_WEIGHT

    project = load_project(trained_project)
    video = project.videos[0]
    info = read_video_info(video)
    crop = Crop(0, info.width, 0, info.height)
    main, confident = (load_trained_student(project, 1, 0, model) for model in ("convlstm_leap", "leap"))
    alone = predict_video(main, info, crop, progress=False), predict_video(confident, info, crop, progress=False)
    handoff = round(float(np.quantile(alone[1][..., 2], 0.5)), 3)
    assert 0 < np.mean(alone[1][..., 2] >= handoff) < 1, "both students must give some of the points"
    expected = combine_predictions(*alone, handoff, BRIDGE_MAX_GAP, bridge_reach(*alone, handoff))
    assert not np.allclose(expected, combine_predictions(*alone, handoff)), "some points must be bridged"
    scorer = analyze_videos(trained_project, [str(video)], destfolder=tmp_path, confident_shuffle=1,
                            confident_model="leap", handoff=handoff, precision="float32", progress=False)
    assert scorer == student_scorer(project, 1, 0, "convlstm_leap")
    table, _, _, _ = deeplabcut.auxiliaryfunctions.load_analyzed_data(str(tmp_path), video.stem, scorer)
    np.testing.assert_allclose(table.to_numpy().reshape(expected.shape), expected, atol=1e-3)
    metadata = deeplabcut.auxiliaryfunctions.load_video_metadata(str(tmp_path), video.stem, scorer)
    bridged = int(np.count_nonzero((expected != combine_predictions(*alone, handoff))[..., :2].any(-1)))
    assert metadata["data"]["dlc_recurrent"]["confident_student"] == {
        "shuffle": 1, "model": "leap", "handoff": handoff, "bridge_max_gap": BRIDGE_MAX_GAP,
        "bridge_tolerance": BRIDGE_TOLERANCE, "bridge_weight": BRIDGE_WEIGHT, "state_reset": None,
        "model_folder": str(confident.folder),
        "bridge_reach_px": pytest.approx(bridge_reach(*alone, handoff), rel=1e-3), "bridged_points": bridged}
    capsys.readouterr()
    analyze_videos(trained_project, [str(video)], destfolder=tmp_path, progress=False)
    made_with = (f"with the confident student of shuffle 1 (leap, handoff {handoff}, gaps up to {BRIDGE_MAX_GAP} "
                 f"frames bridged, tolerance {BRIDGE_TOLERANCE}, weight {BRIDGE_WEIGHT})")
    assert f".h5) {made_with}, not by the main student alone; pass overwrite=True" in capsys.readouterr().out
    analyze_videos(trained_project, [str(video)], destfolder=tmp_path, confident_shuffle=1, confident_model="leap",
                   handoff=0.5, progress=False)
    assert f"{made_with}, not with the confident student of shuffle 1 (leap, handoff 0.5, gaps up to" \
        in capsys.readouterr().out
    analyze_videos(trained_project, [str(video)], destfolder=tmp_path, confident_shuffle=1, confident_model="leap",
                   handoff=handoff, bridge_max_gap=0, progress=False)
    assert f"{made_with}, not with the confident student of shuffle 1 (leap, handoff {handoff}, no bridging)" \
        in capsys.readouterr().out
    analyze_videos(trained_project, [str(video)], destfolder=tmp_path, confident_shuffle=1, confident_model="leap",
                   handoff=handoff, progress=False)
    assert "already analyzed" in (out := capsys.readouterr().out) and " not " not in out

    with pytest.raises(ProjectError, match="names the main student itself"):
        analyze_videos(trained_project, [str(video)], destfolder=tmp_path, confident_shuffle=1, progress=False)
    with pytest.raises(ProjectError, match="only apply with confident_shuffle"):
        analyze_videos(trained_project, [str(video)], destfolder=tmp_path, handoff=0.5, progress=False)
    with pytest.raises(ProjectError, match="only apply with confident_shuffle"):
        analyze_videos(trained_project, [str(video)], destfolder=tmp_path, bridge_max_gap=3, progress=False)
    for wrong in (-1, 2.5, True):
        with pytest.raises(ProjectError, match="bridge_max_gap must be a whole number of frames >= 0"):
            analyze_videos(trained_project, [str(video)], destfolder=tmp_path, confident_shuffle=1,
                           confident_model="leap", bridge_max_gap=wrong, progress=False)
    with pytest.raises(ProjectError, match=r"handoff must be a likelihood in \(0, 1\]"):
        analyze_videos(trained_project, [str(video)], destfolder=tmp_path, confident_shuffle=1,
                       confident_model="leap", handoff=0, progress=False)
    monkeypatch.setattr("dlc_recurrent.inference.pairing.built_with", lambda *args: {"max_gap_fill": 12})
    with pytest.warns(UserWarning, match="shuffle 1's training set fills teacher gaps"):
        analyze_videos(trained_project, [str(video)], destfolder=tmp_path, confident_shuffle=1,
                       confident_model="leap", progress=False)


def test_an_interrupted_analysis_resumes_and_leaves_no_checkpoint(trained_project, tmp_path, monkeypatch, capsys):
    from dlc_recurrent.inference import streams
    from dlc_recurrent.layout import RESUME_SUFFIX

    video = load_project(trained_project).videos[0]
    scorer = analyze_videos(trained_project, [str(video)], destfolder=tmp_path / "straight", progress=False)
    h5 = f"{video.stem}{scorer}.h5"
    original = streams.RecurrentStream.step

    monkeypatch.setattr(streams, "CHECKPOINT_SECONDS", 0.0)
    monkeypatch.setattr(streams, "MAX_SEGMENTS_PER_STEP", 1)  # a short video: one segment per step, several steps
    monkeypatch.setattr(streams.RecurrentStream, "step", dies_at_call(original, 3))
    with pytest.raises(Interrupted):
        analyze_videos(trained_project, [str(video)], destfolder=tmp_path / "killed", progress=False)
    assert not (tmp_path / "killed" / h5).exists() and (tmp_path / "killed" / (h5 + RESUME_SUFFIX)).is_file()
    monkeypatch.setattr(streams.RecurrentStream, "step", original)
    killed = tmp_path / "killed"
    stale = [killed / f".{Path(h5).stem}k1ll3d_1.h5", killed / f".{h5}.resumek1ll3d_2.npz"]  # a SIGKILL mid-write
    for path in stale + [killed / "notes.h5"]:
        path.write_bytes(b"x")
    capsys.readouterr()
    analyze_videos(trained_project, [str(video)], destfolder=killed, progress=False)
    assert "resuming at frame" in capsys.readouterr().out
    assert sorted(p.name for p in killed.iterdir()) == sorted([h5, f"{Path(h5).stem}_meta.pickle", "notes.h5"]), \
        "the checkpoint and the killed run's temporary files are gone, nothing else"
    np.testing.assert_allclose(pd.read_hdf(tmp_path / "killed" / h5), pd.read_hdf(tmp_path / "straight" / h5),
                               atol=1e-3)


def test_a_bad_video_is_reported_and_the_others_analyzed(trained_project, tmp_path):
    video = load_project(trained_project).videos[0]
    good = tmp_path / video.name
    shutil.copy(video, good)
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video" * 50)
    with pytest.warns(UserWarning, match="broken.mp4"):
        scorer = analyze_videos(trained_project, [str(tmp_path)], videotype="mp4", model="leap", progress=False)
    assert (tmp_path / f"{good.stem}{scorer}.h5").is_file()
    assert not list(tmp_path.glob("broken*.h5"))


def test_a_teacher_file_is_never_overwritten(trained_project, tmp_path):
    project = load_project(trained_project)
    video = tmp_path / project.videos[0].name
    shutil.copy(project.videos[0], video)
    scorer = student_scorer(project, 1, 0, "leap")
    impostor = tmp_path / f"{video.stem}{scorer}.h5"
    shutil.copy(find_teacher(project.videos[0]), impostor)
    before = impostor.read_bytes()
    with pytest.raises(ProjectError, match="refusing to overwrite"):
        analyze_videos(trained_project, [str(video)], model="leap", overwrite=True, progress=False)
    assert impostor.read_bytes() == before


def test_missing_student_and_missing_video(trained_project, tmp_path):
    video = str(load_project(trained_project).videos[0])
    with pytest.raises(ProjectError, match=r"no trained convlstm_leap student here; train it with "
                                           r"dlc_recurrent\.train\(config, shuffle=7, model='convlstm_leap'\)"):
        analyze_videos(trained_project, [video], shuffle=7, progress=False)
    with pytest.raises(ValueError, match="model must be one of"):
        analyze_videos(trained_project, [video], model="lepa", progress=False)
    with pytest.raises(ProjectError, match="video"):
        analyze_videos(trained_project, [str(tmp_path / "nope.mp4")], model="leap", progress=False)


def test_a_snapshotindex_the_student_lacks_gets_a_clear_error(trained_project, tmp_path):
    """config.yaml's snapshotindex picks the teacher's snapshot; the student's folder holds one."""
    from ruamel.yaml import YAML

    copy = tmp_path / Path(trained_project).parent.name
    shutil.copytree(Path(trained_project).parent, copy)
    yaml = YAML()
    config = yaml.load((copy / "config.yaml").read_text())
    config["project_path"], config["snapshotindex"] = str(copy), 3
    with (copy / "config.yaml").open("w") as handle:
        yaml.dump(config, handle)
    video = load_project(trained_project).videos[0]
    with pytest.raises(ProjectError, match="snapshotindex: 3.*snapshotindex: -1"):
        analyze_videos(str(copy / "config.yaml"), [str(video)], model="leap", destfolder=tmp_path, progress=False)


def test_deeplabcut_3_argument_names(trained_project, tmp_path):
    """video_extensions, device and snapshot_index, as deeplabcut 3's analyze_videos takes them."""
    project = load_project(trained_project)
    video = str(project.videos[0])
    scorer = analyze_videos(trained_project, [video], video_extensions="mp4", device="cpu", snapshot_index=-1,
                            destfolder=tmp_path, model="leap", progress=False)
    assert scorer == student_scorer(project, 1, 0, "leap")
    assert (tmp_path / f"{Path(video).stem}{scorer}.h5").is_file()
    with pytest.raises(ProjectError, match="no videos found"):
        analyze_videos(trained_project, [video], video_extensions="avi", destfolder=tmp_path, model="leap",
                       overwrite=True, progress=False)
    with pytest.raises(ValueError, match="disagree"):
        analyze_videos(trained_project, [video], videotype=".avi", video_extensions="mp4", model="leap")
    with pytest.raises(ValueError, match="disagree"):
        analyze_videos(trained_project, [video], device="cpu", gputouse=0, model="leap")
    with pytest.raises(ProjectError, match="one snapshot"):
        analyze_videos(trained_project, [video], snapshot_index=3, destfolder=tmp_path, model="leap")


@pytest.mark.slow
def test_two_jobs_on_one_folder_analyze_each_video_once(trained_project, tmp_path):
    """Two processes at once: as a job array (--shard 0/2, 1/2) and racing on the same videos
    (no shard): every video analyzed by exactly one of them, complete outputs, no lock left."""
    import subprocess
    import sys

    project = load_project(trained_project)
    videos = tmp_path / "videos"
    videos.mkdir()
    for name in ("a.mp4", "b.mp4", "c.mp4"):
        shutil.copy(project.videos[0], videos / name)

    def run_two(shards, out):
        command = [sys.executable, "-m", "dlc_recurrent", "analyze", str(trained_project), str(videos), "--model",
                   "leap", "--destfolder", str(out)]
        jobs = [subprocess.Popen(command + (["--shard", shard] if shard else []), stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True) for shard in shards]
        outputs = [job.communicate(timeout=600)[0] for job in jobs]
        assert [job.returncode for job in jobs] == [0, 0], outputs
        h5s = sorted(out.glob("*.h5"))
        assert [h5.name[0] for h5 in h5s] == ["a", "b", "c"]
        assert all(len(pd.read_hdf(h5)) == read_video_info(project.videos[0]).n_frames for h5 in h5s)
        assert not list(out.glob("*.lock")) and not list(out.glob("*.resume.npz")) and not list(out.glob("*.tmp*"))
        return outputs

    sharded = run_two(["0/2", "1/2"], tmp_path / "sharded")
    assert "Shard 0/2: 2 videos" in sharded[0] and "Shard 1/2: 1 videos" in sharded[1]

    raced = run_two([None, None], tmp_path / "raced")
    for name in ("a.mp4", "b.mp4", "c.mp4"):
        skipped = sum(line.startswith(name) and ("left to it" in line or "already analyzed" in line
                                                 or "meanwhile" in line)
                      for output in raced for line in output.splitlines())
        assert skipped == 1, f"{name} analyzed by {2 - skipped} processes:\n" + "\n".join(raced)


def test_a_damaged_meta_pickle_is_named_and_nothing_is_overwritten(trained_project, tmp_path):
    project = load_project(trained_project)
    video = str(project.videos[0])
    scorer = analyze_videos(trained_project, [video], destfolder=tmp_path, model="leap", progress=False)
    h5 = tmp_path / f"{Path(video).stem}{scorer}.h5"
    meta = h5.with_name(h5.stem + "_meta.pickle")
    meta.write_bytes(meta.read_bytes()[:20])
    before = h5.read_bytes()
    with pytest.raises(ProjectError, match="_meta.pickle: damaged.*delete both files"):
        analyze_videos(trained_project, [video], destfolder=tmp_path, model="leap", overwrite=True, progress=False)
    assert h5.read_bytes() == before
