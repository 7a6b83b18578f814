"""The occlusion study's summary table and findings, in numbers and in words."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dlc_recurrent.evaluation.occlusion.natural import pcutoff_use, truth_points
from dlc_recurrent.evaluation.occlusion.study import Study, StudyVideo
from dlc_recurrent.evaluation.stats import FILTERED, FILTERED_CAUSAL, TWO_STUDENTS


def summary_table(test_frames: pd.DataFrame, occlusion: pd.DataFrame, longest: int, has_truth: bool,
             study: Study, videos: list[StudyVideo], pcutoff: float) -> pd.DataFrame:
    """Rows = methods; errors on visible, hidden and artificially occluded frames, n and p-values, and
    on naturally hidden points what pcutoff does (right guesses kept, wrong ones dropped).

    Args:
        test_frames: :func:`~dlc_recurrent.evaluation.occlusion.baselines.test_frame_table`'s rows.
        occlusion: :func:`~dlc_recurrent.evaluation.occlusion.windows.occlusion_table`'s rows.
        longest: the longest occlusion length, frames (the occluded columns are read there).
        has_truth: the project is synthetic: visible errors are against the truth, not the teacher.
        study: the methods compared; p-values are of its studied method vs each row's.
        videos: the study's videos, for pcutoff's effect on naturally hidden points.
        pcutoff: the likelihood cutoff whose effect is measured.

    Returns:
        One row per method (the index): visible_reference, error/n/p on visible, hidden and occluded
        points (``error_occluded_<longest>f_px``; errors in full-resolution px), hidden_right_kept,
        hidden_wrong_dropped and a note; NaN where a condition has no rows.
    """
    studied = study.studied
    p_column = f"p_{studied}_vs_method"
    visible_reference = "truth (visible)" if has_truth else "teacher (confident)"

    def pick(table, condition, method, column):
        if table.empty:
            return float("nan")
        rows = table[condition & (table.bodypart == "all") & (table.method == method)]
        return rows[column].iloc[0] if len(rows) else float("nan")

    rows = []
    for method in study.methods:
        occluded_method = FILTERED_CAUSAL if method == FILTERED else method
        visible = test_frames.reference == visible_reference if not test_frames.empty else None
        hidden = test_frames.reference == "truth (hidden)" if not test_frames.empty else None
        at_longest = occlusion.occlusion_length == longest if not occlusion.empty else None
        points = truth_points(videos, method)
        kept, dropped = (float("nan"), float("nan")) if points is None else \
            pcutoff_use(points[0][points[2]], points[1][points[2]], pcutoff)
        rows.append(
            {
                "method": method,
                "visible_reference": visible_reference,
                "error_visible_px": pick(test_frames, visible, method, "mean_px"),
                "n_visible": pick(test_frames, visible, method, "n"),
                "p_visible": pick(test_frames, visible, method, p_column),
                "error_hidden_px": pick(test_frames, hidden, method, "mean_px"),
                "n_hidden": pick(test_frames, hidden, method, "n"),
                "p_hidden": pick(test_frames, hidden, method, p_column),
                f"error_occluded_{longest}f_px": pick(occlusion, at_longest, occluded_method, "mean_px"),
                "n_occluded": pick(occlusion, at_longest, occluded_method, "n"),
                "p_occluded": pick(occlusion, at_longest, occluded_method, p_column),
                "hidden_right_kept": kept,
                "hidden_wrong_dropped": dropped,
                "note": (
                    f"p: paired two-tailed t-test of {studied} vs this method on the same points"
                    if method != studied
                    else "the studied method"
                )
                + ("; under artificial occlusion: the handoff alone (no frame after the last to bridge to)"
                   if method == TWO_STUDENTS else "")
                + ("; under artificial occlusion: causal gap filling (no later frame to interpolate to)"
                   if method == FILTERED else ""),
            }
        )
    return pd.DataFrame(rows).set_index("method")


def _verdict(difference: float, p: float, other: str, recurrent: str) -> str:
    """How ``recurrent`` compares with ``other`` given the mean difference (recurrent - other) and p."""
    if not np.isfinite(p):
        return f"not testable vs {other}"
    if p >= 0.05:
        return f"no significant difference from {other}"
    return f"{recurrent} better than {other}" if difference < 0 else f"{other} better than {recurrent}"


def findings_table(test_frames: pd.DataFrame, occlusion: pd.DataFrame, lengths, study: Study) -> pd.DataFrame:
    """Where each method wins: per condition the ranking and the studied method's paired test vs each other.

    Args:
        test_frames: :func:`~dlc_recurrent.evaluation.occlusion.baselines.test_frame_table`'s rows (one
            condition per reference).
        occlusion: :func:`~dlc_recurrent.evaluation.occlusion.windows.occlusion_table`'s rows (one
            condition per occlusion length).
        lengths: the occlusion lengths, frames.
        study: the methods compared; its studied method is tested against each other.

    Returns:
        One row per condition: condition, n, best, ranking (methods by mean error, lowest first), and per
        other method (the filters as "filter") ``difference_px_vs_<m>`` (studied minus other), ``p_vs_<m>``
        and ``verdict_vs_<m>`` in words.
    """
    recurrent = study.studied
    conditions = []
    if not test_frames.empty:
        for reference in dict.fromkeys(test_frames.reference):
            conditions.append((f"test frames vs {reference}",
                               test_frames[(test_frames.reference == reference) & (test_frames.bodypart == "all")]))
    if not occlusion.empty:
        for occlusion_length in lengths:
            pooled = occlusion[(occlusion.occlusion_length == occlusion_length) & (occlusion.bodypart == "all")]
            conditions.append((f"artificial occlusion of the last {occlusion_length} frame(s)", pooled))
    rows = []
    p_column = f"p_{recurrent}_vs_method"
    for condition, table in conditions:
        table = table.dropna(subset=["mean_px"]).sort_values("mean_px")
        if table.empty or int(table.n.max()) == 0:
            rows.append({"condition": condition, "n": 0, "best": "", "ranking": "no points"})
            continue
        row = {
            "condition": condition,
            "n": int(table.n.iloc[0]),
            "best": table.method.iloc[0],
            "ranking": " < ".join(f"{m} {v:.2f} px" for m, v in zip(table.method, table.mean_px)),
        }
        ours = table[table.method == recurrent]
        for _, other in table[table.method != recurrent].iterrows():
            key = "filter" if other.method in (FILTERED, FILTERED_CAUSAL) else other.method
            difference = float(ours.mean_px.iloc[0] - other.mean_px) if len(ours) else float("nan")
            row[f"difference_px_vs_{key}"] = difference
            row[f"p_vs_{key}"] = float(other[p_column])
            row[f"verdict_vs_{key}"] = _verdict(difference, float(other[p_column]), other.method, recurrent)
        rows.append(row)
    return pd.DataFrame(rows)


def findings_text(findings: pd.DataFrame, summary: pd.DataFrame, windows: pd.DataFrame, side: float,
                   folder: Path, study: Study, bridges: list[dict]) -> str:
    """The study's ``summary.txt``: what was compared, on which frames, and what it found.

    Args:
        findings: :func:`findings_table` (one row per condition: ranking and the studied method's verdicts).
        summary: the summary table (one row per method), printed whole but for its notes.
        windows: the artificial-occlusion windows drawn, one row per (window, body part).
        side: the occluder's side, full-resolution px.
        folder: where the study is written.
        study: the methods compared.
        bridges: per video the bridges' reach and points moved (pair studies; else empty).

    Returns:
        The text, ending in a newline.
    """
    recurrent = study.studied
    lines = [f"dlc-recurrent occlusion evaluation ({folder})", ""]
    if study.paired:
        lines += [f"Two students ({TWO_STUDENTS}): {study.second}'s points where its likelihood reaches "
                  f"{study.handoff:g}, {study.recurrent}'s elsewhere, as analyze_videos(..., confident_shuffle=...) "
                  f"combines them; runs of at most {study.bridge_max_gap} frames where {study.second} is unsure "
                  "are bridged on whole videos (reach per video: "
                  + (", ".join(f"{b['video']} {b['bridge_reach_px']:.3g} px, {b['bridged_points']} points moved"
                               for b in bridges) or "none")
                  + "; like analyze_videos, the reach is measured on the whole video); under artificial occlusion "
                  "the last frame has no frame after it, so only the handoff applies.",
                  f"Test frames: {study.test_frames[0]} of the main student's {study.test_frames[1]}, those that are "
                  "test frames of the second student's training set too.",
                  ""]
    lines.append("Where each method wins (mean distance in full-resolution px, lowest first; p: paired two-tailed "
                 f"t-test of {recurrent} vs the other method on the same points):")
    for _, row in findings.iterrows():
        if not row.n:
            lines.append(f"  - {row.condition}: no points")
            continue
        keys = [column[len("verdict_vs_"):] for column in row.index if column.startswith("verdict_vs_")]
        verdicts = [f"{row[f'verdict_vs_{key}']} (p={row[f'p_vs_{key}']:.3g})" for key in keys
                    if isinstance(row.get(f"verdict_vs_{key}"), str)]
        lines.append(f"  - {row.condition} (n={row.n}): {row.ranking}; " + "; ".join(verdicts))
    counts = windows.groupby("bodypart").size() if not windows.empty else pd.Series(dtype=int)
    lines += [
        "",
        f"Artificial occlusion rests on {len(windows)} (window, body part) pairs over {len(counts)} body parts "
        f"({', '.join(f'{bp}: {n}' for bp, n in counts.items()) or 'none'}); {side:g} px squares centred on "
        "the ground truth reveal where the part is, so they only reproduce the paper's Figure 6.",
        "Claims about occlusion robustness should rest on naturally hidden frames with known truth "
        "('truth (hidden)', synthetic projects only). p-values treat points as independent; consecutive "
        "frames are not, so they are optimistic.",
        "",
        f"Summary (p: {recurrent} vs the row's method; hidden_right_kept / hidden_wrong_dropped: on naturally "
        "hidden points, the fraction of right guesses (within 5 px) that pass pcutoff and of wrong ones that "
        "fail it; per likelihood bin in calibration.csv and calibration.png):",
        summary.drop(columns=["note"]).to_string(float_format=lambda v: f"{v:.3g}"),
    ]
    return "\n".join(lines) + "\n"
