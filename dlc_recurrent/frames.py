"""Video frames and their coordinates: reading a video, preparing frames as the student sees them
(cropped, scaled, grey or RGB), and moving points between the stored frame and the full video frame.

Pixel centres sit on integers in both frames; a crop is DLC's ``x1, x2, y1, y2`` of config.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from dlc_recurrent.errors import ProjectError


@dataclass(frozen=True)
class Crop:
    """A crop rectangle in DLC's convention: columns x1..x2, rows y1..y2 (end-exclusive).

    Attributes:
        x1: the first column, full-frame pixels.
        x2: the column after the last.
        y1: the first row.
        y2: the row after the last.
    """

    x1: int
    x2: int
    y1: int
    y2: int

    @property
    def width(self) -> int:
        """Columns the crop spans."""
        return self.x2 - self.x1

    @property
    def height(self) -> int:
        """Rows the crop spans."""
        return self.y2 - self.y1

    @classmethod
    def parse(cls, text: str | list | tuple, where: str) -> "Crop":
        """Parse the ``crop: x1, x2, y1, y2`` string of a config.yaml video_sets entry."""
        parts = text.split(",") if isinstance(text, str) else list(text)
        try:
            x1, x2, y1, y2 = (int(float(p)) for p in parts)
        except (TypeError, ValueError):
            raise ProjectError(
                f"{where}: crop {text!r} is not 'x1, x2, y1, y2'; fix it in config.yaml video_sets"
            ) from None
        if not (0 <= x1 < x2 and 0 <= y1 < y2):
            raise ProjectError(
                f"{where}: crop {text!r} is empty or negative (need 0 <= x1 < x2 and 0 <= y1 < y2); "
                "fix it in config.yaml video_sets"
            )
        return cls(x1, x2, y1, y2)

    def check_inside(self, width: int, height: int, where: str) -> None:
        """Raise when the crop reaches outside a ``width`` x ``height`` frame."""
        if self.x2 > width or self.y2 > height:
            raise ProjectError(
                f"{where}: crop ({self.x1}, {self.x2}, {self.y1}, {self.y2}) lies outside the "
                f"{width}x{height} video; set x2 <= {width} and y2 <= {height} in config.yaml video_sets"
            )


@dataclass(frozen=True)
class VideoInfo:
    """What the package needs to know about a video before reading its frames.

    Attributes:
        path: the video file.
        n_frames: its frame count, as the video reader reports it.
        width: its frame width, px.
        height: its frame height, px.
        fps: its frame rate, frames per second.
    """

    path: Path
    n_frames: int
    width: int
    height: int
    fps: float


def read_video_info(video: str | Path) -> VideoInfo:
    """Open ``video`` with deeplabcut's VideoReader and check that its first frame decodes.

    Args:
        video: the video file (``~`` is expanded).

    Returns:
        Its path, frame count, width, height and fps.

    Raises:
        ProjectError: the video is missing, cannot be opened, or no frame decodes (re-encode it).
    """
    from deeplabcut.utils.auxfun_videos import VideoReader

    path = Path(video).expanduser()
    if not path.is_file():
        raise ProjectError(f"{path}: video not found; check the path (or config.yaml video_sets)")
    try:
        reader = VideoReader(str(path))
    except (OSError, ValueError):
        raise ProjectError(
            f"{path}: video cannot be opened; re-encode it (e.g. ffmpeg -i in -c:v libx264 out.mp4)"
        ) from None
    try:
        n_frames = len(reader)
        width, height = reader.dimensions
        readable = reader.read_frame() is not None
        fps = float(reader.fps)
    finally:
        reader.close()
    if not readable or n_frames <= 0:
        raise ProjectError(
            f"{path}: no frame can be decoded; re-encode it (e.g. ffmpeg -i in -c:v libx264 out.mp4)"
        )
    return VideoInfo(path=path, n_frames=int(n_frames), width=int(width), height=int(height), fps=fps)


def count_decodable_frames(video: str | Path) -> int:
    """How many frames of ``video`` decode, counted by decoding them (headers can miscount).

    Args:
        video: the video file.

    Returns:
        The number of frames OpenCV can grab, from the first until the first that fails.
    """
    import cv2

    capture = cv2.VideoCapture(str(video))
    count = 0
    try:
        while capture.grab():
            count += 1
    finally:
        capture.release()
    return count


#: Seeking is cheaper than decoding when the next needed frame is further ahead than this.
SEEK_GAP = 250


def to_full_frame(xy: np.ndarray, crop: Crop, scale: float) -> np.ndarray:
    """Stored (cropped, scaled) pixel coordinates -> the video's full-frame pixels (a copy).

    Args:
        xy: (..., 2) float, x, y in stored-frame pixels; NaN stays NaN.
        crop: the crop the frames were stored with.
        scale: the resize factor they were stored with.

    Returns:
        (..., 2) float64, x, y in full-frame pixels.
    """
    scale_x, scale_y = axis_scales(crop, scale)
    out = np.array(xy, dtype=np.float64, copy=True)
    out[..., 0] = from_scaled(out[..., 0], scale_x) + crop.x1
    out[..., 1] = from_scaled(out[..., 1], scale_y) + crop.y1
    return out


def to_stored_frame(xy: np.ndarray, crop: Crop, scale: float) -> np.ndarray:
    """Full-frame pixel coordinates -> stored (cropped, scaled) pixels (a copy).

    Args:
        xy: (..., 2) float, x, y in full-frame pixels; NaN stays NaN.
        crop: the crop the frames are stored with.
        scale: the resize factor they are stored with.

    Returns:
        (..., 2) float64, x, y in stored-frame pixels.
    """
    scale_x, scale_y = axis_scales(crop, scale)
    out = np.array(xy, dtype=np.float64, copy=True)
    out[..., 0] = to_scaled(out[..., 0] - crop.x1, scale_x)
    out[..., 1] = to_scaled(out[..., 1] - crop.y1, scale_y)
    return out


def axis_scales(crop: Crop, scale: float) -> tuple[float, float]:
    """The factors the frames are really resized by along x and y: ``scale`` up to the rounding of the
    stored size to whole pixels (a 351-pixel-wide crop at 0.5 is stored 176 wide, not 175.5).

    Args:
        crop: the crop the frames are stored with.
        scale: the nominal resize factor.

    Returns:
        (scale_x, scale_y): stored width / crop width and stored height / crop height; (1, 1) at scale 1.
    """
    if scale == 1:
        return 1.0, 1.0
    return scaled_size(crop.width, scale) / crop.width, scaled_size(crop.height, scale) / crop.height


def to_scaled(coordinate: np.ndarray, scale: float) -> np.ndarray:
    """Pixel-centre coordinate after resizing by ``scale`` (pixel centres sit on integers).

    Args:
        coordinate: coordinates along one axis, px (any shape).
        scale: the resize factor along that axis.

    Returns:
        The coordinates in the resized image, the same shape.
    """
    return (coordinate + 0.5) * scale - 0.5


def from_scaled(coordinate: np.ndarray, scale: float) -> np.ndarray:
    """Inverse of :func:`to_scaled`.

    Args:
        coordinate: coordinates along one axis in the resized image, px (any shape).
        scale: the resize factor along that axis.

    Returns:
        The coordinates before resizing, the same shape.
    """
    return (coordinate + 0.5) / scale - 0.5


def scaled_size(size: int, scale: float) -> int:
    """The stored length of a side ``size`` pixels long resized by ``scale``: what frames, maps and
    coordinates all agree on.

    Args:
        size: the side in full-frame pixels (a crop's width or height).
        scale: the resize factor.

    Returns:
        ``size * scale`` rounded to whole pixels, at least 1.
    """
    return max(1, int(round(size * scale)))


def is_grayscale(video: Path, tolerance: float = 8.0) -> bool:
    """True when the first frame's colour channels agree (up to the codec's YUV rounding).

    Args:
        video: the video file.
        tolerance: the largest mean channel spread (grey levels) of a grey frame; its 99th percentile may
            reach four times this.

    Returns:
        Whether the video is grey; True for a single-channel first frame, False when none decodes.
    """
    capture = cv2.VideoCapture(str(video))
    ok, frame = capture.read()
    capture.release()
    if not ok or frame.ndim != 3:
        return bool(ok)
    pixels = frame.astype(np.int16)
    spread = np.abs(pixels[..., 0] - pixels[..., 1]) + np.abs(pixels[..., 1] - pixels[..., 2])
    return float(spread.mean()) <= tolerance and float(np.percentile(spread, 99)) <= 4 * tolerance


def prepare_frame(frame_bgr: np.ndarray, crop: Crop, scale: float, channels: int) -> np.ndarray:
    """Crop, scale and convert one decoded BGR frame to the stored (H, W, channels) uint8 layout.

    Args:
        frame_bgr: (H_full, W_full, 3) uint8, the frame as OpenCV decodes it.
        crop: the crop to cut out.
        scale: the resize factor (area interpolation, to :func:`scaled_size` of each side).
        channels: 1 for grey, 3 for RGB.

    Returns:
        (H, W, channels) uint8, the stored image.
    """
    image = frame_bgr[crop.y1 : crop.y2, crop.x1 : crop.x2]
    if scale != 1:
        size = (scaled_size(crop.width, scale), scaled_size(crop.height, scale))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    if channels == 1:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)[..., None]
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_frames(info: VideoInfo, crop: Crop, scale: float, channels: int, frames, progress: bool = False):
    """Yield (frame index, stored image) for the given frames (any order, once each, in video order).

    Decodes forwards, seeking only across gaps of more than ``SEEK_GAP`` frames.

    Args:
        info: the video.
        crop: the crop to cut out of each frame.
        scale: the resize factor.
        channels: 1 for grey, 3 for RGB.
        frames: the frame indices wanted (duplicates are read once).
        progress: show a progress bar.

    Yields:
        (frame index, image) in increasing frame order; the image (H, W, channels) uint8, cropped, scaled
        and converted as the training set stores it (:func:`prepare_frame`).

    Raises:
        ProjectError: a wanted frame cannot be decoded (truncated or corrupt video; re-encode it).
    """
    wanted = sorted({int(f) for f in frames})
    capture = cv2.VideoCapture(str(info.path))
    position = 0
    try:
        for frame_index in tqdm(wanted, desc=f"frames of {info.path.name}", unit="frame", leave=False,
                                disable=not progress):
            if frame_index - position > SEEK_GAP:
                capture.set(cv2.CAP_PROP_POS_FRAMES, frame_index)
                position = frame_index
            while position < frame_index:
                if not capture.grab():
                    break
                position += 1
            ok, frame = capture.read()
            if not ok:
                raise ProjectError(
                    f"{info.path}: frame {frame_index} of {info.n_frames} cannot be decoded (truncated or "
                    "corrupt video); re-encode it (e.g. ffmpeg -i in -c:v libx264 out.mp4)"
                )
            position += 1
            yield frame_index, prepare_frame(frame, crop, scale, channels)
    finally:
        capture.release()
