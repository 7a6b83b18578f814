"""Synthetic DeepLabCut projects of a head-fixed mouse running on a wheel, with known truth.

Single-frame pose networks lose body parts that are briefly hidden (a tail over a hind paw, an
obstacle in front of the legs). There is no real mouse data here, so this package renders a side
view of such a scene, hides body parts on known frames, and builds a complete single-animal
DeepLabCut project around it: ``config.yaml``, hand-labelled frames under ``labeled-data/``, and a
simulated single-frame teacher's ``analyze_videos`` output that is accurate when a part is visible
and mostly wrong (with low likelihood) when it is hidden. The true position and visibility of
every part on every frame is saved beside each video as ``<video stem>_groundtruth.npz``.

    scene.py    the scene's geometry and the ground truth files
    motion.py   gait, tail and the planned occlusions
    render.py   drawing frames; one video with its truth
    teacher.py  the simulated teacher's predictions
    labels.py   hand labels as DeepLabCut writes them
    project.py  make_synthetic_project and its presets

All geometry is laid out in a 336 x 280 reference frame (the paper's video size) and scaled to the
requested width and height, so small test videos show the same scene.
"""

from dlc_recurrent.synthetic.motion import plan_occlusions, simulate_gait
from dlc_recurrent.synthetic.project import (
    OCCLUSION_PHASES,
    PRESETS,
    SyntheticProject,
    make_synthetic_project,
    open_synthetic_project,
)
from dlc_recurrent.synthetic.scene import (
    BODYPARTS,
    GROUND_TRUTH_SUFFIX,
    OCCLUDERS,
    SKELETON,
    GroundTruth,
    ground_truth_path,
    read_ground_truth,
)
from dlc_recurrent.synthetic.teacher import TEACHER_NET, TEACHER_SNAPSHOT, teacher_scorer, write_dlc_h5

__all__ = [
    "BODYPARTS",
    "SKELETON",
    "OCCLUDERS",
    "OCCLUSION_PHASES",
    "PRESETS",
    "GroundTruth",
    "read_ground_truth",
    "ground_truth_path",
    "GROUND_TRUTH_SUFFIX",
    "make_synthetic_project",
    "open_synthetic_project",
    "SyntheticProject",
    "teacher_scorer",
    "TEACHER_NET",
    "TEACHER_SNAPSHOT",
    "write_dlc_h5",
    "simulate_gait",
    "plan_occlusions",
]
