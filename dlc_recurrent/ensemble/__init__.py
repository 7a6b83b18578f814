"""Several networks' predictions of one video combined into one, by Ensemble Kalman Smoothing.

    eks.py     the smoother (Lightning Pose's single-camera EKS model, in numpy): the members' median,
               their spread as each frame's observation noise, a random walk smoothed per body part
    videos.py  ensemble_videos: the teacher's and students' h5 files of a video -> one more h5

Only eks.py loads here; ensemble_videos (deeplabcut, TensorFlow) on first use.
"""

from dlc_recurrent.ensemble.eks import Smoothed, ensemble_kalman_smooth, likelihood_within, smoothed_predictions


def __getattr__(name: str):
    if name in ("ensemble_videos", "ENSEMBLE", "TEACHER", "LIKELIHOOD_RADIUS"):
        from dlc_recurrent.ensemble import videos

        return getattr(videos, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Smoothed", "ensemble_kalman_smooth", "likelihood_within", "smoothed_predictions", "ensemble_videos"]
