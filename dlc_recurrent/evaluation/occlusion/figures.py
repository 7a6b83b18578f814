"""The occlusion study's figures: Figure 5 (test frames), Figure 6 (artificial occlusion), Figures 2
and 3 (natural occlusion events) and the likelihood's calibration, drawn on matplotlib's Agg canvas.

Each takes the study's tables and its ``Study`` (which methods, in which colours) and writes a PNG
atomically; none touches pyplot's state or the user's backend.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from dlc_recurrent.evaluation.stats import FILTERED, FILTERED_CAUSAL, LEAP
from dlc_recurrent.fileio import atomic_write
from dlc_recurrent.frames import read_frames

if TYPE_CHECKING:
    from dlc_recurrent.evaluation.occlusion.study import Study, StudyVideo


def _new_figure(width: float, height: float):
    """A matplotlib Figure on the Agg canvas (pyplot and the user's backend are left alone)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path: Path) -> Path:
    atomic_write(path, lambda tmp: figure.savefig(tmp, bbox_inches="tight"))
    return path


def plot_test_frames(table: pd.DataFrame, path: Path, study: Study) -> Path | None:
    """Figure 5: grouped bars (mean +- SEM) per body part, one panel per reference.

    Args:
        table: :func:`~dlc_recurrent.evaluation.occlusion.baselines.test_frame_table`'s rows (reference,
            bodypart, method, n, mean_px, sem_px, significance...).
        path: the PNG to write.
        study: the methods drawn, their colours, and the studied method the marks test against LEAP.

    Returns:
        ``path``, or None (nothing written) when the table is empty.
    """
    compared = study.methods
    if table.empty:
        return None
    references = list(dict.fromkeys(table.reference))
    figure = _new_figure(4.2 + 1.3 * table.bodypart.nunique(), 3.6 * len(references))
    for row_index, reference in enumerate(references):
        axes = figure.add_subplot(len(references), 1, row_index + 1)
        subset = table[table.reference == reference]
        parts = list(dict.fromkeys(subset.bodypart))
        x = np.arange(len(parts))
        width = 0.8 / len(compared)
        tops = np.zeros(len(parts))
        for m_index, method in enumerate(compared):
            values = subset[subset.method == method].set_index("bodypart").reindex(parts)
            offset = (m_index - (len(compared) - 1) / 2) * width
            axes.bar(x + offset, values.mean_px, width, yerr=values.sem_px.fillna(0), capsize=3,
                     color=study.color(method), label=method, error_kw={"elinewidth": 1})
            tops = np.maximum(tops, np.nan_to_num((values.mean_px + values.sem_px.fillna(0)).to_numpy()))
        leap_rows = subset[subset.method == LEAP].set_index("bodypart").reindex(parts)
        top = max(tops.max(), 1e-6)
        for i, part in enumerate(parts):
            mark = leap_rows.significance.iloc[i]
            if mark:
                axes.text(x[i], tops[i] + 0.04 * top, mark, ha="center", va="bottom", fontsize=10)
        axes.set_ylim(0, top * 1.25)
        n = leap_rows.n.fillna(0).astype(int).tolist()
        axes.set_xticks(x, [f"{p}\nn={k}" for p, k in zip(parts, n)], fontsize=8)
        axes.set_ylabel("mean distance (px)")
        axes.set_title(f"Test frames, no artificial occlusion: error vs {reference}", fontsize=10)
        if row_index == 0:
            axes.legend(fontsize=8, loc="upper left")
    figure.suptitle(
        "Figure 5: mean distance to ground truth per body part (mean ± SEM, n = points)\n"
        f"marks: paired two-tailed t-test {study.studied} vs {LEAP} (*** p<0.001, ** p<0.01, * p<0.05, n.s.)",
        fontsize=10,
    )
    figure.tight_layout()
    return _save(figure, path)


def plot_occlusion(table: pd.DataFrame, windows: pd.DataFrame, side_px: float, window_length: int,
                    path: Path, study: Study) -> Path | None:
    """Figure 6: mean +- SEM error on the last frame against occlusion length, all parts pooled.

    Args:
        table: :func:`~dlc_recurrent.evaluation.occlusion.windows.occlusion_table`'s rows; the pooled
            ("all") ones are drawn.
        windows: the windows studied (one row per body part and window), counted per body part in the title.
        side_px: the squares' side in full-resolution pixels, for the title.
        window_length: frames per window, for the axis label.
        path: the PNG to write.
        study: the occlusion methods drawn, their colours, and the studied method the marks test against LEAP.

    Returns:
        ``path``, or None (nothing written) when the table is empty.
    """
    if table.empty:
        return None
    pooled = table[table.bodypart == "all"]
    figure = _new_figure(7.5, 4.8)
    axes = figure.add_subplot(1, 1, 1)
    for method in study.occlusion_methods:
        rows = pooled[pooled.method == method].sort_values("occlusion_length")
        axes.errorbar(rows.occlusion_length, rows.mean_px, yerr=rows.sem_px.fillna(0), marker="o", capsize=3,
                      color=study.color(method), linestyle="--" if method == FILTERED_CAUSAL else "-", label=method)
    top = np.nanmax((pooled.mean_px + pooled.sem_px.fillna(0)).to_numpy()) if len(pooled) else 1.0
    top = top if np.isfinite(top) and top > 0 else 1.0
    for _, row in pooled[pooled.method == LEAP].iterrows():
        if row.significance:
            axes.text(row.occlusion_length, top * 1.05, row.significance, ha="center", va="bottom", fontsize=9)
    axes.set_ylim(0, top * 1.2)
    axes.set_xticks(sorted(pooled.occlusion_length.unique()))
    axes.set_xlabel(f"occlusion length (occluded frames at the end of a {window_length}-frame window)")
    axes.set_ylabel("mean distance on the last frame (px)")
    counts = windows.groupby("bodypart").size()
    n_pairs = int(pooled.n.iloc[0]) if len(pooled) else 0
    parts_text = ", ".join(f"{bp} {n}" for bp, n in counts.items())
    axes.set_title(
        f"Figure 6: artificial occlusion ({side_px:g} px black squares centred on the ground truth)\n"
        f"n = {n_pairs} (window, body part) pairs over {len(counts)} body parts; windows per part: {parts_text}\n"
        f"marks: paired two-tailed t-test {study.studied} vs {LEAP}",
        fontsize=8,
    )
    axes.legend(fontsize=8, loc="best")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    return _save(figure, path)


def plot_calibration(table: pd.DataFrame, pcutoff: float, path: Path, study: Study) -> Path | None:
    """The fraction of right guesses (within 5 px of the truth) per likelihood bin, visible and hidden apart.

    Args:
        table: :func:`~dlc_recurrent.evaluation.occlusion.natural.study_calibration`'s rows (method, points,
            likelihood bin, n, and a ``fraction_within_<d>px`` column whose distance the axis names).
        pcutoff: drawn as a vertical line.
        path: the PNG to write.
        study: the methods drawn and their colours.

    Returns:
        ``path``, or None (nothing written) when the table is empty (no synthetic truth).
    """
    if table.empty:
        return None
    right = next(c for c in table.columns if c.startswith("fraction_within_"))
    figure = _new_figure(10, 4.2)
    for index, points in enumerate(("visible", "hidden")):
        axes = figure.add_subplot(1, 2, index + 1)
        for method in study.methods:
            rows = table[(table.method == method) & (table.points == points) & (table.n > 0)]
            centres = (rows.likelihood_from + rows.likelihood_to) / 2
            axes.plot(centres, rows[right], marker="o", color=study.color(method), label=method,
                      linestyle="--" if method == FILTERED else "-")
        axes.axvline(pcutoff, color="gray", linestyle=":", label=f"pcutoff {pcutoff:g}")
        axes.set_xlim(0, 1)
        axes.set_ylim(-0.02, 1.02)
        axes.set_xlabel("likelihood (bins of 0.1)")
        axes.set_ylabel(f"fraction {right[len('fraction_'):].replace('_', ' ')} of the truth")
        n = int(table[(table.method == study.studied) & (table.points == points)].n.sum())
        axes.set_title(f"{points} points of the test frames (n = {n} per method)", fontsize=9)
        axes.grid(alpha=0.3)
        if index == 0:
            axes.legend(fontsize=7, loc="lower right")
    figure.suptitle("Does the likelihood mean something? Right guesses per likelihood bin "
                    "(a useful likelihood rises, on hidden points too)", fontsize=10)
    figure.tight_layout()
    return _save(figure, path)


def _panel_frames(start: int, stop: int, block: tuple[int, int], max_panels: int = 10) -> np.ndarray:
    first = max(block[0], start - 2)
    last = min(block[1], stop + 2)
    frames = np.arange(first, last + 1)
    if len(frames) > max_panels:
        hidden = np.arange(start, stop + 1)
        keep = np.unique(np.concatenate([frames[:1], frames[-1:],
                                         hidden[np.linspace(0, len(hidden) - 1, max_panels - 2).round().astype(int)]]))
        frames = keep
    return frames


def plot_event(video: StudyVideo, event: pd.Series, channels: int, pcutoff: float, path: Path, study: Study) -> Path:
    """Figures 2 and 3: frame-by-frame panels per student plus x/y traces through one natural occlusion.

    The panels show LEAP's and the studied method's estimate on frames around the event (at most 10,
    within its test block), cropped around the part, with the true position where known; the traces show
    every method's x and y, the teacher and the truth a few frames either side.

    Args:
        video: the event's video, with every method's ``predictions`` filled.
        event: one row of :func:`~dlc_recurrent.evaluation.occlusion.natural.natural_events` (part, start,
            stop inclusive, bodypart, occluder).
        channels: 1 for grey video, 3 for colour (how the frames are read).
        pcutoff: the likelihood under which a teacher point is drawn hollow (and, without a truth, a frame
            counts as hidden).
        path: the PNG to write.
        study: the methods drawn and their colours.

    Returns:
        ``path``.
    """
    part, start, stop = int(event.part), int(event.start), int(event.stop)
    block = next((b for b in video.test_blocks if b[0] <= start <= b[1]), [start, stop])
    panels = _panel_frames(start, stop, (int(block[0]), int(block[1])))
    images = dict(read_frames(video.info, video.crop, 1.0, channels, panels))
    reference = video.reference_xy()
    hidden = ~video.visible[:, part] if video.has_truth else None

    centre = np.nanmedian(reference[panels, part], axis=0)
    half = max(24, min(60, max(video.crop.width, video.crop.height) // 2))
    x0 = int(np.clip(centre[0] - video.crop.x1 - half, 0, max(0, video.crop.width - 2 * half)))
    y0 = int(np.clip(centre[1] - video.crop.y1 - half, 0, max(0, video.crop.height - 2 * half)))
    x1, y1 = min(video.crop.width, x0 + 2 * half), min(video.crop.height, y0 + 2 * half)

    n_panels = len(panels)
    figure = _new_figure(max(9.0, 1.35 * n_panels), 8.2)
    grid = figure.add_gridspec(4, n_panels, height_ratios=[1, 1, 1.1, 1.1])
    for row, method in enumerate((LEAP, study.studied)):
        for column, frame in enumerate(panels):
            axes = figure.add_subplot(grid[row, column])
            image = images[int(frame)][..., 0] if channels == 1 else images[int(frame)]
            axes.imshow(image[y0:y1, x0:x1], cmap="gray", vmin=0, vmax=255,
                        extent=(video.crop.x1 + x0 - 0.5, video.crop.x1 + x1 - 0.5,
                                video.crop.y1 + y1 - 0.5, video.crop.y1 + y0 - 0.5))
            if video.has_truth:
                tx, ty = video.truth_xy[frame, part]
                axes.plot(tx, ty, "o", markersize=9, markerfacecolor="none", markeredgecolor="lime",
                          markeredgewidth=1.5)
            px, py, likelihood = video.predictions[method][frame, part]
            axes.plot(px, py, "x", color=study.color(method), markersize=8, markeredgewidth=2)
            axes.set_xticks([])
            axes.set_yticks([])
            if hidden is not None:
                is_hidden, flag = bool(hidden[frame]), " hidden"
            else:
                is_hidden, flag = bool(video.teacher_likelihood[frame, part] < pcutoff), " teacher low"
            axes.set_title(f"frame {frame}{flag if is_hidden else ''}\nlikelihood {likelihood:.2f}", fontsize=7,
                           color="crimson" if is_hidden else "black")
            if column == 0:
                axes.set_ylabel(method, fontsize=8, color=study.color(method))
    span = np.arange(max(int(block[0]), start - 8), min(int(block[1]), stop + 8) + 1)
    for row, (axis, name) in enumerate(((0, "x"), (1, "y"))):
        axes = figure.add_subplot(grid[2 + row, :])
        if video.has_truth:
            axes.plot(span, video.truth_xy[span, part, axis], "-", color="black", linewidth=2, label="truth")
        confident = video.teacher_likelihood[span, part] >= pcutoff
        axes.plot(span[confident], video.teacher_xy[span[confident], part, axis], "s", color="gray", markersize=4,
                  label="teacher (over pcutoff)")
        axes.plot(span[~confident], video.teacher_xy[span[~confident], part, axis], "s", markersize=4,
                  markerfacecolor="none", markeredgecolor="gray", label="teacher (under pcutoff)")
        for method in study.methods:
            axes.plot(span, video.predictions[method][span, part, axis], marker=".", color=study.color(method),
                      linestyle="--" if method == FILTERED else "-", label=method)
        hidden_frames = np.arange(start, stop + 1)
        axes.axvspan(hidden_frames[0] - 0.5, hidden_frames[-1] + 0.5, color="crimson", alpha=0.12,
                     label="occlusion event")
        axes.set_ylabel(f"{name} (px)")
        if row == 1:
            axes.set_xlabel("frame")
            axes.legend(fontsize=7, ncol=6, loc="upper center", bbox_to_anchor=(0.5, -0.35))
        axes.grid(alpha=0.3)
    occluder = f", hidden by {event.occluder}" if getattr(event, "occluder", "") else ""
    figure.suptitle(
        f"Figures 2 and 3: natural occlusion of {event.bodypart} in {video.info.path.name}, frames {start}-{stop}"
        f"{occluder}\nrows 1-2: each student's estimate of {event.bodypart} (cross, its likelihood above)"
        + (" and its true position (green ring)" if video.has_truth else "")
        + "; rows 3-4: positions over frames (shaded: the event)",
        fontsize=9,
    )
    figure.tight_layout()
    return _save(figure, path)


