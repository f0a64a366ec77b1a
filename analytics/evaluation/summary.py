"""Every evaluation in one table: one row per event type, with what it was measured on."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from analytics.evaluation.counting import CountingAgreement
from analytics.evaluation.dumping import DumpingEvaluation
from analytics.evaluation.flood import FloodEvaluation

NO_LABELS = "no labelled data; behaviour tested on footage"
UNLABELLED = (
    ("traffic_jam", "tests/analytics/test_traffic_jam_footage.py, test_traffic_jam_rule.py"),
    ("congestion", "tests/analytics/test_congestion_rule.py"),
    ("stalled_vehicle", "tests/analytics/test_stalled_rule.py"),
)


@dataclass(frozen=True)
class Row:
    """One event type's figures; None where a figure does not apply or was not measured."""

    event: str
    data: str
    size: str
    precision: float | None
    recall: float | None
    f1: float | None
    iou: float | None
    notes: str


def flood_row(evaluation: FloodEvaluation) -> Row:
    """The flood detector at its fixed threshold over every labelled frame."""
    fixed = evaluation.fixed
    flooded = sum(f.flooded for f in evaluation.frames)
    return Row(
        "flood",
        "WATSEN CCTV frames, water masks (1 camera)",
        f"{fixed.frames} frames ({flooded} flooded)",
        fixed.precision,
        fixed.recall,
        fixed.f1,
        fixed.mean_iou,
        f"frame level; IoU = water mask; held-out odd frames F1 {evaluation.tuned_on_odd.f1:.2f}",
    )


def dumping_row(evaluation: DumpingEvaluation) -> Row:
    """The dumping rule over pasted-bag trials and untouched control runs."""
    clips = len({t.trial.footage.file for t in evaluation.trials} | {c.footage.file for c in evaluation.controls})
    ttd = evaluation.median_time_to_detect_s
    per_hour = evaluation.false_alarms_per_hour
    notes = [
        f"median {ttd:.0f} s to detect" if ttd is not None else "nothing detected",
        f"{per_hour:.2f} false alarms/h over {evaluation.control_hours:.1f} h untouched"
        if per_hour is not None
        else "no control runs",
    ]
    found = Counter(t.trial.footage.file for t in evaluation.trials if t.detected)
    tried = Counter(t.trial.footage.file for t in evaluation.trials)
    notes.append("found " + ", ".join(f"{found[name]}/{n} in {name}" for name, n in tried.items()))
    mistaken = Counter(t.called_as for t in evaluation.trials if not t.detected and t.called_as)
    if mistaken:
        named = ", ".join(f"{n} as {name}" for name, n in mistaken.most_common())
        notes.append(f"missed as the detector took the bag for a vehicle or person: {named}")
    return Row(
        "dumping",
        f"{clips} street clips + held-out bag photos, pasted",
        f"{len(evaluation.trials)} trials",
        evaluation.precision,
        evaluation.recall,
        evaluation.f1,
        evaluation.mean_iou,
        "; ".join(notes),
    )


def counting_row(agreement: CountingAgreement) -> Row:
    """Line counts at the analysis rate against the full frame rate (agreement, not ground truth)."""
    return Row(
        "line_count",
        f"{agreement.clip} (motorway)",
        f"{agreement.frames} frames",
        agreement.precision,
        agreement.recall,
        agreement.f1,
        None,
        f"agreement with a reference, not ground truth: {agreement.fps:g} fps ({agreement.measured} crossings) "
        f"vs the same pipeline at {agreement.reference_fps:g} fps ({agreement.reference})",
    )


def unlabelled_rows() -> list[Row]:
    """The rules nothing labelled exists for: said so rather than given figures."""
    return [Row(event, "-", "-", None, None, None, None, f"{NO_LABELS} ({where})") for event, where in UNLABELLED]


def table(rows: list[Row]) -> str:
    """The rows as a plain-text table."""
    header = ("event type", "data", "frames/trials", "precision", "recall", "F1", "location IoU", "notes")
    cells = [header, *[_cells(r) for r in rows]]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header) - 1)]
    lines = []
    for row in cells:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1])
    return "\n".join(lines)


def _cells(row: Row) -> tuple[str, ...]:
    return (
        row.event,
        row.data,
        row.size,
        _figure(row.precision),
        _figure(row.recall),
        _figure(row.f1),
        _figure(row.iou),
        row.notes,
    )


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def dumping_report(evaluation: DumpingEvaluation) -> str:
    """The dumping figures and one line per trial."""
    lines = [
        f"{'clip':30} {'bag photo':60} {'width':>5} {'at':>11} {'placed':>7} {'found':>5} {'after':>6} "
        f"{'IoU':>5} {'false':>5} mistaken for"
    ]
    for t in evaluation.trials:
        after = f"{t.time_to_detect_s:.0f}" if t.time_to_detect_s is not None else "-"
        iou = f"{t.iou:.2f}" if t.iou is not None else "-"
        at = f"{t.trial.at[0]},{t.trial.at[1]}"
        lines.append(
            f"{t.trial.footage.file:30} {Path(t.trial.bag.photo).name[:60]:60} {t.trial.width_px:5d} {at:>11} "
            f"{t.trial.placed_s:7.1f} {'yes' if t.detected else 'no':>5} {after:>6} {iou:>5} {t.false_alarms:5d} "
            f"{t.called_as or ''}"
        )
    for c in evaluation.controls:
        lines.append(f"control {c.footage.file:30} {c.scene_s / 60:.0f} min untouched: {c.false_alarms} false alarm(s)")
    ttd = evaluation.median_time_to_detect_s
    per_hour = evaluation.false_alarms_per_hour
    lines.append(
        f"precision {evaluation.precision:.2f}  recall {evaluation.recall:.2f}  F1 {evaluation.f1:.2f}  "
        f"mean IoU {_figure(evaluation.mean_iou)}  median time to detect {_seconds(ttd)}  "
        f"false alarms/hour {_figure(per_hour)}"
    )
    return "\n".join(lines)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"
