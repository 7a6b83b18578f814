"""`import dlc_recurrent` must never crash, whatever was imported before it (DESIGN: import order)."""

import subprocess
import sys

import pytest


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)


def test_fresh_import_works():
    result = run_python("import dlc_recurrent, tensorflow; print('imported', dlc_recurrent.__version__)")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "imported" in result.stdout


def test_import_after_deeplabcut_works():
    result = run_python("import deeplabcut, dlc_recurrent; print('imported')")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "imported" in result.stdout


def test_import_after_tensorflow_works_or_says_what_to_do():
    code = (
        "import tensorflow\n"
        "try:\n"
        "    import dlc_recurrent\n"
        "except ImportError as error:\n"
        "    print('REFUSED', error)\n"
        "else:\n"
        "    print('imported')\n"
    )
    result = run_python(code)
    assert result.returncode == 0, f"crashed with {result.returncode}: {result.stderr[-2000:]}"
    if "REFUSED" in result.stdout:
        assert "before tensorflow" in result.stdout
    else:
        assert "imported" in result.stdout


def test_refuses_when_probe_says_late_import_crashes(monkeypatch):
    """With tensorflow loaded and torchvision not, a crashing probe turns into an ImportError."""
    from dlc_recurrent import _import_order

    monkeypatch.setitem(sys.modules, "tensorflow", object())
    monkeypatch.delitem(sys.modules, "torchvision")
    monkeypatch.setattr(_import_order, "late_torchvision_import_is_safe", lambda: False)
    with pytest.raises(ImportError, match="before tensorflow"):
        _import_order.load_torchvision_first()


@pytest.mark.parametrize("verbose", [False, True])
def test_tensorflow_start_up_notices_are_hidden_unless_verbose(verbose):
    """oneDNN notices, the CPU instruction list and the CUDA probing are TensorFlow's, not the user's."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "DLC_RECURRENT_VERBOSE"}
    if verbose:
        env["DLC_RECURRENT_VERBOSE"] = "1"
    result = subprocess.run([sys.executable, "-c", "import dlc_recurrent.training; print('imported')"],
                            capture_output=True, text=True, timeout=300, env=env, check=False)
    assert result.returncode == 0 and "imported" in result.stdout, result.stderr[-2000:]
    assert ("oneDNN" in result.stderr) == verbose, result.stderr[-2000:]


def test_held_back_native_messages_are_shown_when_the_import_fails(capfd, tmp_path, monkeypatch):
    """TensorFlow's C++ start-up lines are held back, not thrown away: shown when the block fails,
    deleted when it works."""
    import os

    from dlc_recurrent._tensorflow import quiet_native_stderr

    monkeypatch.delenv("DLC_RECURRENT_VERBOSE", raising=False)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    with quiet_native_stderr():
        os.write(2, b"oneDNN custom operations are on\n")
    assert "oneDNN" not in capfd.readouterr().err
    with pytest.raises(RuntimeError):
        with quiet_native_stderr():
            os.write(2, b"F0000 fatal: could not load libcudnn\n")
            raise RuntimeError("import failed")
    assert "could not load libcudnn" in capfd.readouterr().err
    assert not list(tmp_path.glob("dlc-recurrent-native-*.log")), "held-back messages are deleted"
