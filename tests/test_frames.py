"""Videos and coordinates (dlc_recurrent.frames): video info, bad videos, scaled and cropped pixels."""

import cv2
import numpy as np
import pytest

from dlc_recurrent.errors import ProjectError
from dlc_recurrent.frames import (
    Crop,
    from_scaled,
    prepare_frame,
    read_video_info,
    to_full_frame,
    to_scaled,
    to_stored_frame,
)
from dlc_recurrent.synthetic import read_ground_truth
from tests.helpers import only_video


def test_video_info_matches_the_video(small_project):
    video = only_video(small_project)
    info = read_video_info(video)
    truth = read_ground_truth(video)
    assert (info.width, info.height) == (64, 64)
    assert info.n_frames == truth.frame_count
    assert info.fps > 0


def test_missing_video(tmp_path):
    with pytest.raises(ProjectError, match="video not found"):
        read_video_info(tmp_path / "ghost.mp4")


def test_unreadable_video(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"this is not a video" * 100)
    with pytest.raises(ProjectError, match="broken.mp4"):
        read_video_info(bad)


def test_scaled_coordinates_round_trip():
    x = np.array([0.0, 10.25, 63.0])
    np.testing.assert_allclose(from_scaled(to_scaled(x, 0.5), 0.5), x)
    assert to_scaled(np.array(1.5), 0.5) == pytest.approx(0.5)  # centre of pixels 1 and 2 -> pixel 0.5


@pytest.mark.parametrize("crop", [Crop(0, 201, 0, 64), Crop(3, 204, 10, 77)])
def test_scaled_coordinates_follow_the_resized_pixels(crop):
    """An odd crop width at scale 0.5 is stored at a whole number of pixels (201 -> 100): coordinates
    follow the real resize, so a ramp image's stored pixels map back to the columns they average."""
    ramp = np.tile(np.arange(crop.x2, dtype=np.float32), (crop.y2, 1))  # float: no rounding of the averages
    image = prepare_frame(cv2.merge([ramp] * 3), crop, 0.5, 1)
    stored = image[0, :, 0].astype(float)
    columns = np.stack([np.arange(len(stored)), np.zeros(len(stored))], axis=-1)
    np.testing.assert_allclose(to_full_frame(columns, crop, 0.5)[:, 0], stored, atol=0.02)
    edges = np.array([[crop.x1 - 0.5, crop.y1 - 0.5], [crop.x2 - 0.5, crop.y2 - 0.5]])
    np.testing.assert_allclose(to_stored_frame(edges, crop, 0.5),
                               [[-0.5, -0.5], [image.shape[1] - 0.5, image.shape[0] - 0.5]])
    np.testing.assert_allclose(to_full_frame(to_stored_frame(edges, crop, 0.5), crop, 0.5), edges)
