"""The settings warnings (curve/warnings.py) as the report and the console show them, from results.json alone.

A record written before the warnings existed gets them computed here from what it holds (no object sizes: no
small-objects warning), and its verdict names a model that learned nothing first, as a new run's does."""

from __future__ import annotations

from benchmarks.curve.verdict import with_warnings
from benchmarks.curve.warnings import after_training


def settings_warnings(results: dict) -> list[dict]:
    stored = results.get("warnings")
    if isinstance(stored, list):
        return stored
    try:
        return after_training(results)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # a record too old or partial: say so, render on
        return [{"kind": "not_computed", "level": "info", "model": None,
                 "text": f"The settings warnings could not be computed from this results.json ({exc!r}).",
                 "fix": "`clsdet evaluate RUN_DIR` rewrites the record with them."}]  # fmt: skip


def shown_verdict(results: dict) -> dict:
    """results.json's verdict, with the warnings applied when the record predates them ({} without a verdict)."""
    v = (results.get("curve") or {}).get("verdict") if isinstance(results.get("curve"), dict) else None
    if not isinstance(v, dict) or not v:
        return {}
    return v if "warnings" in v else with_warnings(v, settings_warnings(results))


def settings_blocks(results: dict) -> list[tuple]:
    """'Settings that decide the answer': one list item per warning (level, what and why, the fix); none: no block."""
    items = [f"{'Warning' if w.get('level') == 'warning' else 'Note'} ({w.get('kind')}): {w.get('text')} Fix: "
             f"{w.get('fix')}" for w in settings_warnings(results)]  # fmt: skip
    if not items:
        return []
    return [
        ("h3", "Settings that decide the answer"),
        (
            "p",
            "These settings can decide the verdict, whatever the labeling methods are worth; a warning "
            "means the comparison is not a fair test until it is fixed, a note says what to change on real "
            "photos.",
        ),  # fmt: skip
        ("list", items),
    ]
