"""Decoding a video in a background thread, in chunks of frames prepared as the student sees them, so
decoding overlaps the model and memory stays flat whatever the video's length."""

from __future__ import annotations

import queue
import threading

import cv2
import numpy as np

from dlc_recurrent import models
from dlc_recurrent.errors import ProjectError
from dlc_recurrent.frames import Crop, VideoInfo, prepare_frame


class FrameReader:
    """Decode a video in a background thread into chunks of prepared (cropped, scaled, padded) frames.

    With ``start`` > 0 the frames before it are decoded and dropped (no seeking: exact on every
    codec); the first chunk then holds the ``prefix`` frames before ``start``, if any. A video
    whose header claims more frames than decode ends at the last one that does, as deeplabcut's
    analyze_videos does. Iterating yields the chunks, each (n, H, W, C) uint8 zero-padded at the bottom and
    right to a multiple of 4; a decoding error (a ProjectError for a video that ends before ``start``) is
    raised in the iterating thread.

    Args:
        info: the video (its path and header frame count).
        crop: the crop to cut out of each frame, full-frame pixels.
        scale: the resize factor.
        channels: 1 for grey, 3 for RGB.
        chunk: frames per chunk (the last may hold fewer).
        start: the first frame to deliver (after the prefix).
        prefix: frames before ``start`` to deliver first as context, at most ``start``.
    """

    def __init__(self, info: VideoInfo, crop: Crop, scale: float, channels: int, chunk: int,
                 start: int = 0, prefix: int = 0):
        self.info, self.crop, self.scale, self.channels, self.chunk = info, crop, scale, channels, chunk
        self.start, self.prefix = start, min(prefix, start)
        self._queue: queue.Queue = queue.Queue(maxsize=3)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __iter__(self):
        self._thread.start()
        try:
            while True:
                item = self._queue.get()
                if item is None:
                    return
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            self._stop.set()

    def _run(self):
        capture = cv2.VideoCapture(str(self.info.path))
        try:
            done = self.start - self.prefix
            for index in range(done):
                if self._stop.is_set():
                    return
                if not capture.grab():
                    raise self._truncated(index)
            first = self.prefix or self.chunk
            ended = False
            while done < self.info.n_frames and not ended and not self._stop.is_set():
                size = min(first, self.info.n_frames - done)
                first = self.chunk
                frames = []
                for _ in range(size):
                    ok, frame = capture.read()
                    if not ok:
                        ended = True
                        break
                    frames.append(prepare_frame(frame, self.crop, self.scale, self.channels))
                done += len(frames)
                if ended and (done < self.start or done == 0):
                    raise self._truncated(done)
                if frames:
                    self._put(models.pad_images(np.stack(frames)))
            self._put(None)
        except Exception as error:  # handed to the consuming thread
            self._put(error)
        finally:
            capture.release()

    def _truncated(self, decoded: int) -> ProjectError:
        return ProjectError(
            f"{self.info.path}: only {decoded} of {self.info.n_frames} frames could be decoded (truncated, corrupt "
            "or changed since the run that is being resumed); re-encode it (e.g. ffmpeg -i in -c:v libx264 out.mp4)"
        )

    def _put(self, item):
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
