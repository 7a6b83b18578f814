"""Precision: which number format a student computes in, chosen by device, and what it costs in pixels."""

import pickle

import numpy as np
import pytest

from dlc_recurrent._tensorflow import keras
from dlc_recurrent.config import TrainingConfig
from dlc_recurrent.frames import read_video_info
from dlc_recurrent.inference import analyze_videos, load_trained_student, predict_video
from dlc_recurrent.precision import computing_in, cpu_supports_bfloat16, keras_policy
from dlc_recurrent.project import load_project, video_crop


@pytest.mark.parametrize("precision, device, bf16_cpu, policy, training_policy", [
    ("float32", "GPU", False, "float32", "float32"),
    ("float32", "CPU", True, "float32", "float32"),
    ("auto", "GPU", False, "mixed_float16", "mixed_float16"),
    ("auto", "CPU", True, "mixed_bfloat16", "float32"),  # bfloat16 training is asked for, not automatic
    ("auto", "CPU", False, "float32", "float32"),
    ("bfloat16", "GPU", False, "mixed_bfloat16", "mixed_bfloat16"),
    ("bfloat16", "CPU", True, "mixed_bfloat16", "mixed_bfloat16"),
    ("bfloat16", "CPU", False, "float32", "float32"),  # emulated bfloat16 is slower than float32
    ("float16", "CPU", True, "float32", "float32"),  # CPUs have no fast float16 convolutions
    ("float16", "GPU", False, "mixed_float16", "mixed_float16"),
])
def test_each_precision_maps_to_the_policy_the_device_runs_well(precision, device, bf16_cpu, policy,
                                                                 training_policy):
    assert keras_policy(precision, device, bfloat16_cpu=bf16_cpu) == policy
    assert keras_policy(precision, device, training=True, bfloat16_cpu=bf16_cpu) == training_policy


def test_an_unknown_precision_is_refused_in_one_line():
    with pytest.raises(ValueError, match="precision must be one of"):
        keras_policy("half", "CPU")
    with pytest.raises(ValueError, match="precision must be one of"):
        TrainingConfig(precision="half")


def test_bfloat16_support_is_read_from_the_cpu_flags(tmp_path):
    flags = tmp_path / "cpuinfo"
    flags.write_text("processor : 0\nflags : fpu sse avx2 avx512f\n")
    assert not cpu_supports_bfloat16(flags)
    flags.write_text("processor : 0\nflags : fpu avx512f avx512_bf16 amx_tile\n")
    assert cpu_supports_bfloat16(flags)
    assert not cpu_supports_bfloat16(tmp_path / "missing")


def test_computing_in_restores_the_callers_policy_even_after_an_error():
    assert keras.mixed_precision.global_policy().name == "float32"
    with pytest.raises(RuntimeError):
        with computing_in("mixed_bfloat16"):
            assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
            raise RuntimeError
    assert keras.mixed_precision.global_policy().name == "float32"


def test_bfloat16_moves_a_trained_students_points_by_a_fraction_of_a_pixel(trained_project, tmp_path):
    """The same trained student in float32 and in bfloat16: points where it is sure stay within the
    stated tolerance (the benchmark measures 0.02-0.03 px on visible points at real sizes)."""
    project = load_project(trained_project)
    info = read_video_info(project.videos[0])
    crop = video_crop(project, info)
    for model in ("leap", "convlstm_leap"):
        full = load_trained_student(project, 1, 0, model)
        half = load_trained_student(project, 1, 0, model, policy="mixed_bfloat16")
        assert (full.precision, half.precision) == ("float32", "mixed_bfloat16")
        a, b = (predict_video(s, info, crop, progress=False) for s in (full, half))
        sure = a[..., 2] >= np.quantile(a[..., 2], 0.5)  # the tiny test students are rarely over 0.5
        distance = np.hypot(*(a[..., :2] - b[..., :2])[sure].T)
        assert sure.sum() > 20 and np.median(distance) < 0.25, (model, np.median(distance))
        assert np.abs(a[..., 2] - b[..., 2]).mean() < 0.02


def test_analyze_videos_records_the_precision_it_computed_in(trained_project, tmp_path):
    video = load_project(trained_project).videos[0]
    expected = {"float32": "float32", "bfloat16": "mixed_bfloat16" if cpu_supports_bfloat16() else "float32"}
    for precision, policy in expected.items():
        scorer = analyze_videos(trained_project, [str(video)], destfolder=tmp_path / precision, model="leap",
                                precision=precision, progress=False)
        with open(tmp_path / precision / f"{video.stem}{scorer}_meta.pickle", "rb") as handle:
            assert pickle.load(handle)["data"]["dlc_recurrent"]["precision"] == policy
