"""Lock files: one process per output, and no lock left by a killed process blocks forever."""

import os
import subprocess
import sys
import time

from dlc_recurrent.locks import is_stale, read_holder, try_lock


def test_a_held_lock_keeps_others_out_until_released(tmp_path):
    path = tmp_path / "video.h5.lock"
    lock = try_lock(path)
    assert lock is not None and read_holder(path)[1] == os.getpid()
    assert try_lock(path) is None, "this process is alive: its lock holds"
    lock.release()
    assert not path.exists()
    with try_lock(path) as again:
        assert again is not None
    assert not path.exists()


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path):
    path = tmp_path / "video.h5.lock"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    import socket

    path.write_text(f"{socket.gethostname()} {int(dead.stdout)} {time.time():.0f}")
    assert is_stale(path)
    lock = try_lock(path)
    assert lock is not None and read_holder(path)[1] == os.getpid()
    assert not list(tmp_path.glob("*.stale-*")), "the stale lock is removed, not left beside"
    lock.release()


def test_a_lock_from_another_machine_is_stale_only_when_not_refreshed(tmp_path):
    path = tmp_path / "video.h5.lock"
    path.write_text(f"other-machine 12345 {time.time():.0f}")
    assert not is_stale(path, stale_seconds=60) and try_lock(path, stale_seconds=60) is None
    old = time.time() - 120
    os.utime(path, (old, old))
    assert is_stale(path, stale_seconds=60)
    taken = try_lock(path, stale_seconds=60)
    assert taken is not None
    taken.release()


def test_a_lock_whose_heartbeat_stopped_is_stale_even_if_its_process_id_lives(tmp_path):
    """A process id used again (containers, restarted jobs) must not keep an old lock forever."""
    import socket

    path = tmp_path / "video.h5.lock"
    path.write_text(f"{socket.gethostname()} 1 {time.time():.0f}")  # pid 1 is alive
    assert not is_stale(path, stale_seconds=60)
    old = time.time() - 120
    os.utime(path, (old, old))
    assert is_stale(path, stale_seconds=60)
    path.write_text(f"{socket.gethostname()} {os.getpid()} {time.time():.0f}")  # this process, not holding it
    assert is_stale(path)


def test_release_leaves_a_lock_taken_over_by_another_process(tmp_path):
    path = tmp_path / "video.h5.lock"
    lock = try_lock(path)
    path.write_text("other-machine 12345 0")  # taken over meanwhile
    lock.release()
    assert path.read_text() == "other-machine 12345 0"


def test_a_held_lock_is_refreshed(tmp_path):
    path = tmp_path / "video.h5.lock"
    lock = try_lock(path, heartbeat_seconds=0.05)
    old = time.time() - 1000
    os.utime(path, (old, old))
    time.sleep(1.0)
    assert time.time() - path.stat().st_mtime < 5, "the heartbeat keeps the lock fresh for other machines"
    lock.release()


def test_a_machine_whose_clock_is_ahead_of_the_file_server_takes_no_live_lock(tmp_path, monkeypatch):
    """On a shared file system the lock's time stamp is the server's; a machine 10 minutes ahead
    took every live lock of the others for stale, and two jobs wrote one output."""
    path = tmp_path / "video.h5.lock"
    path.write_text(f"other-machine 12345 {time.time():.0f}")
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 600)
    assert not is_stale(path, stale_seconds=60) and try_lock(path, stale_seconds=60) is None
    monkeypatch.setattr(time, "time", lambda: real_time() - 600)  # behind: old locks still go stale
    old = real_time() - 120
    os.utime(path, (old, old))
    assert is_stale(path, stale_seconds=60)
