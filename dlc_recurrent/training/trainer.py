"""The training step: the student inside a Keras model that renders the target confidence maps on the
device and takes the masked mean squared error (points without a target do not count)."""

from __future__ import annotations

from dlc_recurrent import models
from dlc_recurrent._tensorflow import keras, tf
from dlc_recurrent.config import TrainingConfig


def build_trainer(config: TrainingConfig, height: int, width: int):
    """A fresh student, its HeatmapTrainer and Adam (loss-scaled under mixed precision), built for H x W,
    ready for ``trainer.fit``.

    Args:
        config: the student's settings (network, learning rate, maps, freeze_leap).
        height: rows of the (padded) training frames.
        width: columns of the (padded) training frames.

    Returns:
        (network, trainer, optimizer): the student itself (what is saved and analyzes video), the
        compiled :class:`HeatmapTrainer` around it, and its optimizer.
    """
    network = models.build_student(config)
    trainer = HeatmapTrainer(network, config)
    optimizer = keras.optimizers.Adam(learning_rate=config.learning_rate, amsgrad=False)
    if keras.mixed_precision.global_policy().name == "mixed_float16":
        optimizer = keras.mixed_precision.LossScaleOptimizer(optimizer)
    trainer.compile(optimizer=optimizer)
    trainer.build_for(height, width, config)
    return network, trainer, optimizer


def render_maps(xy: tf.Tensor, height: int, width: int, sigma, amplitude: float) -> tf.Tensor:
    """Gaussian confidence maps for points: the training targets, rendered on the device.

    Args:
        xy: (..., K, 2) float, points in stored-frame pixels (pixel centres on integers).
        height: rows of the maps.
        width: columns of the maps.
        sigma: the Gaussian's width in stored pixels: a scalar for all points, or (..., K) one per point.
        amplitude: the peak height.

    Returns:
        (..., H, W, K) float32 maps, one channel per point.
    """
    xy = tf.cast(xy, tf.float32)
    sigma = tf.cast(sigma, tf.float32)
    if sigma.shape.rank:
        sigma = sigma[..., None]  # (..., K, 1), beside xy[..., 0:1]
    columns = tf.range(width, dtype=tf.float32)
    rows = tf.range(height, dtype=tf.float32)
    gx = tf.exp(-tf.square(columns - xy[..., 0:1]) / (2 * sigma**2))
    gy = tf.exp(-tf.square(rows - xy[..., 1:2]) / (2 * sigma**2))
    maps = amplitude * gy[..., :, None] * gx[..., None, :]
    rank = len(maps.shape)
    return tf.transpose(maps, [*range(rank - 3), rank - 2, rank - 1, rank - 3])


def masked_mse(target: tf.Tensor, predicted: tf.Tensor, weight: tf.Tensor) -> tf.Tensor:
    """Mean squared error over the maps, weighted per point; masked points (weight 0) add nothing.

    Args:
        target: (..., H, W, K) float32, the rendered target maps.
        predicted: (..., H, W, K), the student's maps (any float dtype; cast to float32).
        weight: (..., K), each point's loss weight.

    Returns:
        A scalar: the weighted sum of squared errors divided by (sum of the weights x H x W).
    """
    weight = tf.cast(weight, tf.float32)[..., None, None, :]
    squared = tf.square(tf.cast(predicted, tf.float32) - target) * weight
    pixels = tf.cast(tf.shape(target)[-3] * tf.shape(target)[-2], tf.float32)
    return tf.reduce_sum(squared) / (tf.reduce_sum(weight) * pixels + 1e-8)


class HeatmapTrainer(keras.Model):
    """Wraps a student so batches of {frames, xy, weight, spread} train it on rendered, masked maps.

    Each batch's targets are rendered as Gaussian maps of ``map_sigma`` (times ``spread`` where the batch
    has it) and ``map_amplitude``, and the loss is :func:`masked_mse`; the test loss is the mean over all
    test points.

    Args:
        network: the student (the Keras model that is saved and analyzes video).
        config: the student's settings (map_sigma, map_amplitude; freeze_leap leaves the LEAP weights inside
            the student as they are).
    """

    def __init__(self, network: keras.Model, config: TrainingConfig):
        super().__init__()
        self.network = network
        #: weights the optimizer leaves as they are (freeze_leap: the LEAP inside the student)
        self.kept = {id(weight) for weight in models.leap_weights(network)} if config.freeze_leap else set()
        self.sigma = config.map_sigma
        self.amplitude = config.map_amplitude
        self.loss_tracker = keras.metrics.Mean(name="loss")

    def build_for(self, height: int, width: int, config: TrainingConfig) -> None:
        """Create the network's weights by calling it once on zeros of the training frames' size."""
        shape = (1, 2, height, width, config.channels) if config.recurrent else (1, height, width, config.channels)
        self.network(tf.zeros(shape), training=False)

    @property
    def metrics(self):
        """The loss tracker, reset by Keras at each epoch."""
        return [self.loss_tracker]

    def call(self, frames, training=False):
        """The student's maps of ``frames``."""
        return self.network(frames, training=training)

    def _loss(self, data, training):
        """The masked loss of one batch; a point's map is ``spread`` times as wide where data has it."""
        frames = data["frames"]
        predicted = self.network(frames, training=training)
        sigma = self.sigma * data["spread"] if "spread" in data else self.sigma
        target = render_maps(data["xy"], tf.shape(frames)[-3], tf.shape(frames)[-2], sigma, self.amplitude)
        return masked_mse(target, predicted, data["weight"])

    def train_step(self, data):
        """One optimizer step on a batch (the LEAP weights left as they are under freeze_leap)."""
        with tf.GradientTape() as tape:
            loss = self._loss(data, training=True)
            scaled = self.optimizer.get_scaled_loss(loss) if hasattr(self.optimizer, "get_scaled_loss") else loss
        trained = [weight for weight in self.network.trainable_variables if id(weight) not in self.kept]
        gradients = tape.gradient(scaled, trained)
        if hasattr(self.optimizer, "get_unscaled_gradients"):
            gradients = self.optimizer.get_unscaled_gradients(gradients)
        self.optimizer.apply_gradients(zip(gradients, trained))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    def test_step(self, data):
        """The masked loss of a test batch, added to the epoch's mean."""
        # weighted by the batch's targets: the mean over all test points, whatever the batches hold
        # (a batch without targets adds nothing, rather than a zero)
        weight = tf.reduce_sum(tf.cast(data["weight"], tf.float32))
        self.loss_tracker.update_state(self._loss(data, training=False), sample_weight=weight)
        return {"loss": self.loss_tracker.result()}
