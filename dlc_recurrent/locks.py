"""Lock files, so that two processes (two jobs of a cluster array, two notebooks) never work on one
output at once: the second sees the lock and skips that output.

A lock is a small file created atomically (``O_EXCL``) next to the output, naming the machine and
process that holds it; a thread refreshes its time stamp while it is held. A lock left by a
killed process never blocks forever: on the same machine it is taken over as soon as its process
is gone, from another machine (a shared file system) once it has not been refreshed for
``stale_seconds`` by the file system's own clock (machines' clocks may disagree with it).
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
import time
from pathlib import Path

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 30.0
STALE_SECONDS = 180.0


_HELD: set[str] = set()  # lock files this process holds (its own pid in a file it does not hold is stale)


class Lock:
    """A held lock; release it with :meth:`release` or by leaving its ``with`` block.

    Made by :func:`try_lock` once the lock file is written; a daemon thread refreshes the file's time stamp
    while it is held.

    Args:
        path: the lock file, already created by this process.
        content: what this process wrote in it ("<machine> <pid> <time>"); the file is removed on release
            only while it still holds this.
        heartbeat_seconds: seconds between two refreshes of the file's time stamp.
    """

    def __init__(self, path: Path, content: str, heartbeat_seconds: float = HEARTBEAT_SECONDS):
        self.path, self.content = path, content
        _HELD.add(str(path))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, args=(heartbeat_seconds,), daemon=True)
        self._thread.start()

    def _beat(self, seconds: float) -> None:
        while not self._stop.wait(seconds):
            try:
                os.utime(self.path)
            except OSError:  # a passing file-system error: beat again next time
                continue

    def release(self) -> None:
        """Stop the heartbeat and remove the lock file, unless another process has taken it over."""
        self._stop.set()
        _HELD.discard(str(self.path))
        if _read(self.path) == self.content:
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> Lock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _holder() -> str:
    return f"{socket.gethostname()} {os.getpid()} {time.time():.0f}"


def read_holder(path: Path) -> tuple[str, int] | None:
    """(machine, process id) named in a lock file; None when it cannot be read (being written or gone).

    Args:
        path: the lock file.

    Returns:
        (host name, pid), or None.
    """
    try:
        host, pid, _ = _read(path).split()
        return host, int(pid)
    except ValueError:
        return None


def is_stale(path: Path, stale_seconds: float = STALE_SECONDS) -> bool:
    """Whether the lock's process is gone (this machine) or it was not refreshed for ``stale_seconds``.

    The age is measured by the file system's clock when this machine's clock disagrees with it; a lock
    this process wrote but no longer holds (an interrupted call in a notebook) is stale too.

    Args:
        path: the lock file.
        stale_seconds: how long a lock may go unrefreshed before it counts as left behind.

    Returns:
        True when the lock is gone, too old, or names a process of this machine that no longer runs.
    """
    try:
        modified = path.stat().st_mtime
    except FileNotFoundError:
        return True
    age = time.time() - modified
    if abs(age) > stale_seconds:  # or this machine's clock is off the file server's (NFS): ask the server
        age = _file_system_now(path.parent) - modified
    if age > stale_seconds:  # its heartbeat stopped, whoever holds it (also a process id used again)
        return True
    holder = read_holder(path)
    if holder is not None and holder[0] == socket.gethostname():
        if holder[1] == os.getpid():
            return str(path) not in _HELD  # left by this process before (a notebook's interrupted call)
        try:
            os.kill(holder[1], 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, another user's
            return False
    return False


def _file_system_now(folder: Path) -> float:
    """The time by the clock of the file system that holds ``folder`` (a shared one has its own): the
    modification time of a file written there now; this machine's clock if nothing can be written."""
    try:
        handle, name = tempfile.mkstemp(dir=folder, prefix=".clock-")
    except OSError:
        return time.time()
    try:
        return os.fstat(handle).st_mtime
    finally:
        os.close(handle)
        os.unlink(name)


def try_lock(path: str | Path, stale_seconds: float = STALE_SECONDS,
             heartbeat_seconds: float = HEARTBEAT_SECONDS) -> Lock | None:
    """Take the lock at ``path``, or return None when a live process holds it.

    A stale lock (:func:`is_stale`) is taken over, once.

    Args:
        path: the lock file.
        stale_seconds: how long a lock may go unrefreshed before it is taken over.
        heartbeat_seconds: seconds between two refreshes of the held lock's time stamp.

    Returns:
        The held :class:`Lock`, or None when another live process holds it (or took it over meanwhile).

    Raises:
        OSError: the lock file cannot be written (a full disk; no empty lock is left behind).
    """
    path = Path(path)
    for _ in range(2):
        try:
            handle = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            seen = _read(path)
            if not is_stale(path, stale_seconds):
                return None
            if not _move_aside(path, seen):
                return None
            logger.info(f"{path}: took over a lock its process left ({seen.strip() or 'unreadable'})")
            continue
        content = _holder()
        try:
            with os.fdopen(handle, "w") as lock_file:
                lock_file.write(content)
        except OSError:  # a full disk: leave no empty lock behind
            path.unlink(missing_ok=True)
            raise
        return Lock(path, content, heartbeat_seconds)
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _move_aside(path: Path, seen: str) -> bool:
    """Remove the stale lock ``seen`` at ``path``; False when another process took it over meanwhile.

    The rename is atomic, so of two processes taking over one lock only one moves it; the content
    check catches the case where the lock moved is already the other process's new one (then it is
    put back, unless a third lock appeared, and this process leaves the output alone).
    """
    aside = path.with_name(f"{path.name}.stale-{os.getpid()}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return True  # someone else removed it: try to create ours
    if _read(aside) == seen:
        aside.unlink(missing_ok=True)
        return True
    try:
        os.link(aside, path)
    except FileExistsError:
        pass
    aside.unlink(missing_ok=True)
    return False


def describe_holder(path: Path) -> str:
    """Who holds a lock, in words for messages that say why a call must wait.

    Args:
        path: the lock file.

    Returns:
        ``"process <pid> on <machine>"``, or ``"unknown process"`` when the lock cannot be read.
    """
    holder = read_holder(path)
    return "unknown process" if holder is None else f"process {holder[1]} on {holder[0]}"
