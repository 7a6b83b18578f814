"""Several networks' predictions of one video combined into one, by Ensemble Kalman Smoothing.

    eks.py     the smoother (Lightning Pose's single-camera EKS model, in numpy): the members' median,
               their spread as each frame's observation noise, a random walk smoothed per body part
    videos.py  ensemble_videos: the teacher's and students' h5 files of a video -> one more h5

Only eks.py loads here; ``ensemble_videos`` (deeplabcut, TensorFlow) is imported from ``videos.py``
(``dlc_recurrent.ensemble_videos`` loads it on first use).
"""

from dlc_recurrent.ensemble.eks import Smoothed, ensemble_kalman_smooth, likelihood_within, smoothed_predictions

__all__ = ["Smoothed", "ensemble_kalman_smooth", "likelihood_within", "smoothed_predictions"]
