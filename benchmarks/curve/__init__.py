"""Labeling-budget curves: the pure pieces the harness wires into its jobs.

- subsets.py: nested, stratified train subsets per seed (`nested_subsets`)
- recipe.py: the training recipe at small budgets (`epochs_for`) and the undertrained check
- pricing.py: labeling hours of a subset, with a range (`labeling_hours`); samples.py: per-image times from logs
- paired.py: paired bootstrap difference of two models on the same test images (`paired_bootstrap_diff`)
- sentence.py: the budget-curve sentence from the points (`curve_sentence`)
- verdict.py: the verdict: baselines, difference, rate range, undertrained (`verdict`, `with_warnings`)
- warnings.py: settings that decide the answer (`after_training`, `before_training`, `warning_lines`)
"""

from benchmarks.curve.paired import paired_bootstrap_diff
from benchmarks.curve.pricing import labeling_hours
from benchmarks.curve.recipe import epochs_for, undertrained
from benchmarks.curve.sentence import curve_sentence
from benchmarks.curve.subsets import nested_subsets, stratified_order
from benchmarks.curve.verdict import verdict

__all__ = [
    "curve_sentence",
    "epochs_for",
    "labeling_hours",
    "nested_subsets",
    "paired_bootstrap_diff",
    "stratified_order",
    "undertrained",
    "verdict",
]
