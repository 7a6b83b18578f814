"""analyze_videos (dlc_recurrent.inference.analyze): DLC layout, skip, resume, two students, bad input."""

import pickle
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dlc_recurrent  # noqa: F401
from dlc_recurrent.errors import ProjectError
from dlc_recurrent.frames import Crop, read_video_info
from dlc_recurrent.inference.analyze import analyze_videos
from dlc_recurrent.inference.output import student_scorer
from dlc_recurrent.inference.pairing import BRIDGE_MAX_GAP, bridge_reach, combine_predictions
from dlc_recurrent.inference.streams import predict_video
from dlc_recurrent.inference.student import load_trained_student
from dlc_recurrent.project import find_teacher, load_project, teacher_candidates
from tests.helpers import Interrupted, dies_at_call


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
