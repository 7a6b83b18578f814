"""Writing files (dlc_recurrent.fileio): atomic writes."""

import os
from pathlib import Path

import pytest

from dlc_recurrent.fileio import atomic_write


def test_atomic_write_replaces_whole_files_with_the_usual_permissions(tmp_path):
    path = tmp_path / "table.csv"
    atomic_write(path, lambda tmp: Path(tmp).write_text("first"))
    umask = os.umask(0o022)
    try:
        atomic_write(path, lambda tmp: Path(tmp).write_text("second"))
    finally:
        os.umask(umask)
    assert path.read_text() == "second" and path.stat().st_mode & 0o777 == 0o644

    def fails_halfway(tmp):
        Path(tmp).write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, fails_halfway)
    assert path.read_text() == "second" and [p.name for p in tmp_path.iterdir()] == ["table.csv"]
