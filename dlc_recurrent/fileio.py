"""Writing files so that nothing is lost: atomic writes of any format, interrupted-write cleanup, and
disk-space checks that turn a full disk into one line with the bytes needed.

Every output of the package goes through here: a killed process leaves either the old file or the new
one, never half of one, and a rerun cleans up the temporary files it left.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd
from ruamel.yaml import YAML

from dlc_recurrent.errors import DiskFull


def _temporary_name(path: Path) -> tuple[str, str]:
    """Prefix and suffix of the hidden temporary file ``atomic_write`` puts beside ``path``."""
    return "." + path.stem, path.suffix


def atomic_write(path: str | Path, write) -> None:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then move it into place, so an
    interrupted run never leaves a half-written output.

    The file gets the permissions a new file would (the umask's), not mkstemp's private ones; the
    temporary file is removed when ``write`` raises.

    Args:
        path: the output file.
        write: a callable that writes the whole output to the path it is given (a str).
    """
    path = Path(path)
    prefix, suffix = _temporary_name(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=suffix)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would hide results from the lab's other users
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def is_full_disk(error: BaseException) -> bool:
    """A full disk or an exhausted quota, however the writer reports it (OSError, HDF5, TensorFlow).

    Args:
        error: the exception a write raised.

    Returns:
        True for ENOSPC / EDQUOT, or a message that says the disk is full or the quota exceeded.
    """
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return any(text in str(error) for text in ("No space left on device", "Disk quota exceeded"))


def free_bytes(folder: str | Path) -> int:
    """Bytes free on the disk that holds ``folder`` (or its nearest existing parent).

    Args:
        folder: a folder, which need not exist yet.

    Returns:
        The free bytes, as ``shutil.disk_usage`` reports them.
    """
    folder = Path(folder).absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free


def human_bytes(n: float) -> str:
    """A byte count as messages give it ("512 bytes", "1.5 GB"), in powers of 1000.

    Args:
        n: a number of bytes.

    Returns:
        The count in bytes, KB, MB or GB (the largest unit used), with one decimal above bytes.
    """
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def check_free_space(folder: str | Path, needed: int, what: str) -> None:
    """Stop before writing when the disk cannot hold ``needed`` bytes (a one-line ProjectError).

    Args:
        folder: where the output goes.
        needed: the bytes it takes, about.
        what: what writes it, for the message (e.g. "the training set").

    Raises:
        DiskFull: the disk has fewer than ``needed`` bytes free; free some space there or write elsewhere.
    """
    free = free_bytes(folder)
    if needed > free:
        raise DiskFull(f"{folder}: {what} needs about {human_bytes(needed)} but the disk has "
                       f"{human_bytes(free)} free; free some space there (or write elsewhere) and rerun")


@contextlib.contextmanager
def explain_full_disk(folder: str | Path, needed: int, what: str):
    """A disk (or quota) that fills up while ``what`` writes into ``folder`` becomes one line with the
    bytes needed; outputs are written under temporary names or in partial folders and checkpoints
    fall back to the last whole one, so a rerun goes on from what was complete.

    Args:
        folder: where the writes go.
        needed: the bytes they take, about, for the message.
        what: what writes, for the message.

    Yields:
        Nothing: the writes run in the ``with`` block; any other exception passes through unchanged.

    Raises:
        DiskFull: the disk or the quota filled up in the block (from the original error); free some space
            and rerun.
    """
    try:
        yield
    except Exception as error:
        if not is_full_disk(error):
            raise
        quota = (isinstance(error, OSError) and error.errno == errno.EDQUOT) or "quota" in str(error).lower()
        cause = "your disk quota ran out" if quota else "the disk filled up"
        detail = " ".join(str(error).split())[:120]
        raise DiskFull(f"{folder}: {cause} while {what} wrote ({human_bytes(free_bytes(folder))} free on the "
                       f"disk, about {human_bytes(needed)} needed); free some space there and rerun: it goes on "
                       f"from what was complete ({detail})") from error


def remove_interrupted_writes(path: str | Path) -> None:
    """Delete the temporary files a killed process left where ``atomic_write`` was writing ``path``.

    Args:
        path: the output file whose leftover temporary files (``.<stem>XXXXXXXX<suffix>`` beside it) go.
    """
    prefix, suffix = _temporary_name(Path(path))
    random_part = "?" * 8  # tempfile.mkstemp's names
    for stale in Path(path).parent.glob(glob.escape(prefix) + random_part + glob.escape(suffix)):
        stale.unlink(missing_ok=True)


def reserve_blocks(path: Path) -> None:
    """Allocate a memory-mapped file's blocks now: a disk that is too full then raises an OSError here
    instead of killing the process (SIGBUS) when a page is written later. Linux (posix_fallocate);
    elsewhere, and on copy-on-write file systems, only the free-space check before the build guards.

    Args:
        path: the file, already at its full size.

    Raises:
        OSError: the disk or quota cannot hold the file (other allocation errors are ignored).
    """
    if not hasattr(os, "posix_fallocate"):
        return
    with open(path, "r+b") as handle:
        try:
            os.posix_fallocate(handle.fileno(), 0, os.fstat(handle.fileno()).st_size)
        except OSError as error:
            if is_full_disk(error):
                raise
            # file systems without fallocate: the blocks are allocated as pages are written


def replace_folder(new: Path, final: Path) -> None:
    """Swap ``new`` into place of ``final`` so that a complete set is always there or none is.

    The old ``final`` is moved to ``<final>.old`` first and deleted once ``new`` is in place.

    Args:
        new: the complete new folder.
        final: where it goes; need not exist.
    """
    old = final.with_name(final.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    new.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def read_yaml(path: Path) -> dict:
    """A YAML file as a dict (an empty file as {}).

    Args:
        path: the YAML file.

    Returns:
        Its content, read with the safe loader.
    """
    return YAML(typ="safe").load(path.read_text()) or {}


def write_yaml(path: Path, data: dict) -> None:
    """``data`` as block-style YAML (for files inside a folder that is itself swapped into place).

    Args:
        path: the file to write (not atomically).
        data: plain data (dicts, lists, numbers, strings).
    """
    yaml = YAML(typ="safe")
    yaml.default_flow_style = False
    with path.open("w") as handle:
        yaml.dump(data, handle)


def atomic_yaml(path: Path, data: dict) -> None:
    """``data`` as YAML under ``<name>.tmp``, then moved into place.

    Args:
        path: the YAML file to write.
        data: plain data (dicts, lists, numbers, strings).
    """
    temporary = path.with_name(path.name + ".tmp")
    write_yaml(temporary, data)
    os.replace(temporary, path)


def atomic_csv(table: pd.DataFrame, path: Path, index: bool = False) -> None:
    """Write ``table`` as CSV under a temporary name, then move it into place.

    Args:
        table: the table.
        path: the CSV file to write.
        index: also write the table's index.
    """
    atomic_write(path, lambda tmp: table.to_csv(tmp, index=index))
