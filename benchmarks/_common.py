"""Helpers shared by the benchmark scripts: machine description, memory sampling, workers, tables.

Each measurement whose peak memory matters runs in a fresh Python subprocess (a *worker*: the
same script called with ``--worker '<json>'``), so that one measurement's peak cannot leak into
the next and every worker starts from the same imports. A worker prints one ``RESULT {json}``
line; :func:`run_worker` returns it as a dict.
"""

from __future__ import annotations

import csv
import datetime
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULT_PREFIX = "RESULT "


# --------------------------------------------------------------------------------------------
# Machine
# --------------------------------------------------------------------------------------------


def machine_description() -> dict:
    """Platform, CPUs, library versions and load: enough to tell two runs' machines apart.

    Call it after ``import dlc_recurrent`` (TensorFlow is imported here to read its version).
    """
    import tensorflow as tf

    info = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gb": round(_meminfo_kb("MemTotal") / 2**20, 1) if _meminfo_kb("MemTotal") else None,
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "gpus": ", ".join(d.name for d in tf.config.list_physical_devices("GPU")) or "none",
        "load_average_1m": round(os.getloadavg()[0], 2),
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
    }
    try:
        import torch

        info["torch"] = torch.__version__
    except ImportError:  # pragma: no cover
        pass
    try:
        from importlib.metadata import version

        info["deeplabcut"] = version("deeplabcut")
    except Exception:  # pragma: no cover
        pass
    return info


def _cpu_model() -> str | None:
    """The CPU's name as Linux gives it (timings from two CPUs are not comparable); None elsewhere."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:  # not Linux
        pass
    return None


def print_machine(info: dict) -> None:
    print("Machine")
    for key, value in info.items():
        print(f"  {key:16s} {value}")
    if info.get("load_average_1m", 0) > 0.5 * (info.get("cpus_usable") or 1):
        print(f"  NOTE: 1-minute load average {info['load_average_1m']} on {info['cpus_usable']} CPUs: other "
              "processes are running, absolute timings are pessimistic (ratios from one run are fairer).")
    print()


def _git(*args: str) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=20)
        return out.stdout.strip()
    except Exception:
        return ""


def _meminfo_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


# --------------------------------------------------------------------------------------------
# Memory
# --------------------------------------------------------------------------------------------


def _status_kb() -> dict:
    """VmRSS, VmHWM, RssAnon, RssFile of this process in kB (Linux); empty elsewhere."""
    wanted = {"VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"}
    values = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in wanted:
                values[key] = int(rest.split()[0])
    except OSError:
        pass
    return values


class MemorySampler:
    """Samples this process's resident memory in a thread; keeps the peaks.

    ``peak_rss_mb`` is the kernel's high-water mark of this address space (``VmHWM``, exact).
    Not ``ru_maxrss``: Linux carries it over fork and exec, so a worker started by a parent
    that holds 2 GB reports at least 2 GB whatever it does itself. The split into
    anonymous memory (heap, tensors: what the program really holds) and file-backed pages
    (memory-mapped files such as the training set's frames, which the kernel can drop and
    re-read at will) comes from sampling ``/proc/self/status`` every ``interval`` seconds, so a
    spike shorter than that can be missed.
    """

    def __init__(self, interval: float = 0.05):
        self.interval = interval
        self.peak = {"VmRSS": 0, "RssAnon": 0, "RssFile": 0, "VmHWM": 0}
        self.series: list[tuple[float, int]] = []  # (time.perf_counter(), VmRSS kB)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()

    def _sample(self):
        now = _status_kb()
        for key in self.peak:
            self.peak[key] = max(self.peak[key], now.get(key, 0))
        self.series.append((time.perf_counter(), now.get("VmRSS", 0)))

    def growth_mb(self, start: float, stop: float, settle: float = 0.2) -> float:
        """RSS at the end of [start, stop] minus the highest RSS in its first ``settle`` fraction.

        Near zero when memory stays flat once the work is under way (loading, tracing and the
        first buffers all happen early); a leak shows as growth proportional to the work done.
        """
        cut = start + settle * (stop - start)
        early = [rss for t, rss in self.series if start <= t <= cut]
        late = [rss for t, rss in self.series if cut < t <= stop]
        if not early or not late:
            return float("nan")
        return round((max(late) - max(early)) / 1024, 1)

    def _run(self):
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    @staticmethod
    def mapped_files_mb(suffix: str) -> float:
        """Resident MB of this process's mappings of files whose name ends with ``suffix`` (/proc/self/smaps).

        For memory-mapped data (a training set's frames) this is what the process has touched and
        the kernel still keeps mapped: those pages count in RSS but are page cache, droppable.
        """
        total, current = 0, False
        try:
            with open("/proc/self/smaps") as handle:
                for line in handle:
                    first = line.split(maxsplit=1)[0]
                    if "-" in first and not first.endswith(":"):  # a mapping's header line
                        current = line.rstrip().endswith(suffix)
                    elif current and first == "Rss:":
                        total += int(line.split()[1])
        except OSError:
            return float("nan")
        return round(total / 1024, 1)

    @staticmethod
    def current_mb() -> float:
        return _status_kb().get("VmRSS", 0) / 1024

    def report(self) -> dict:
        """Peaks in MB: total (exact high-water mark), anonymous and file-backed (sampled)."""
        return {
            "peak_rss_mb": round(max(self.peak["VmHWM"], self.peak["VmRSS"]) / 1024, 1),
            "peak_anon_mb": round(self.peak["RssAnon"] / 1024, 1),
            "peak_file_mb": round(self.peak["RssFile"] / 1024, 1),
        }


# --------------------------------------------------------------------------------------------
# Workers
# --------------------------------------------------------------------------------------------


def emit_result(result: dict) -> None:
    """Called by a worker: hand its result to the parent."""
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def run_worker(script: Path, task: dict, log: Path, timeout: float | None = None) -> dict:
    """Run ``script --worker <task>`` in a fresh interpreter; return its RESULT (raise on failure).

    The worker's output goes to ``log`` (appended), so the parent's table stays readable.
    """
    command = [sys.executable, str(script), "--worker", json.dumps(task)]
    env = dict(os.environ, PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
    started = time.time()
    with log.open("a") as handle:
        handle.write(f"\n===== {datetime.datetime.now().isoformat(timespec='seconds')} {json.dumps(task)}\n")
        handle.flush()
        process = subprocess.run(command, stdout=subprocess.PIPE, stderr=handle, text=True, timeout=timeout, env=env)
        handle.write(process.stdout)
    results = [line[len(RESULT_PREFIX):] for line in process.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if process.returncode != 0 or not results:
        tail = "".join(log.read_text().splitlines(keepends=True)[-25:])
        raise RuntimeError(f"worker {task.get('kind')} failed (exit {process.returncode}); end of {log}:\n{tail}")
    result = json.loads(results[-1])
    result["worker_wall_s"] = round(time.time() - started, 1)
    return result


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


def print_table(rows: list[dict], columns: list[tuple[str, str]], title: str = "") -> None:
    """Print ``rows`` as an aligned text table; ``columns`` are (key, header) pairs."""
    if title:
        print(title)
    cells = [[_format(row.get(key)) for key, _ in columns] for row in rows]
    widths = [max(len(header), *(len(c[i]) for c in cells)) if cells else len(header)
              for i, (_, header) in enumerate(columns)]
    print("  " + "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, ((_, h), w) in enumerate(zip(columns, widths))))
    for c in cells:
        print("  " + "  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(c, widths))))
    print()


def _format(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value != value:  # NaN
            return "nan"
        if abs(value) >= 100:
            return f"{value:.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3g}"
    return str(value)


def write_csv(path: Path, rows: list[dict], machine: dict) -> None:
    """Rows plus the machine description (one column per field, repeated on every row)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    machine_keys = [f"machine_{k}" for k in machine]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=keys + machine_keys)
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, **{f"machine_{k}": v for k, v in machine.items()}})
    print(f"Wrote {path}")


def ratio(a, b):
    """a / b, or None when either is missing or b is 0."""
    if a is None or b in (None, 0):
        return None
    return a / b
