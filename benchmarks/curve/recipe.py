"""The training recipe at small budgets, recorded per point, and the "possibly undertrained" check.

With a fixed number of epochs a 10% subset gets a tenth of the optimizer steps of the full run and is undertrained
for reasons that have nothing to do with its labels. The rule here: scale the epochs so every point gets at least the
optimizer steps of the full run, capped (a tiny subset would otherwise loop thousands of times over a few images);
early stopping on val still applies, as in every run.
"""

from __future__ import annotations

import math
import numbers

RULE = (
    "epochs = ceil(base_epochs x steps_per_epoch(full train set) / steps_per_epoch(subset)), so every point gets at "
    "least the optimizer steps of the full run; capped at {cap} epochs; steps_per_epoch = ceil(n_images / batch)"
)
DEFAULT_CAP_FACTOR = 10  # the cap when none is configured: 10 x base epochs


def _steps_per_epoch(n: int, batch_size: int) -> int:
    return max(1, math.ceil(n / batch_size))


def epochs_for(n_subset: int, n_full: int, base_epochs: int, batch_size: int, cap: int | None = None) -> dict:
    """The record {rule, epochs, steps_per_epoch, steps, ...} for training on `n_subset` of `n_full` train images.

    `cap`: the most epochs a point may get (default 10 x base_epochs). `capped` says whether the cap bit, i.e. the
    point gets fewer steps than the full run (`steps` < `full_steps`)."""
    for key, value in (("n_subset", n_subset), ("n_full", n_full), ("base_epochs", base_epochs), ("batch", batch_size)):
        if not (isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1):
            raise ValueError(f"epochs_for: {key} = {value!r}; must be a positive integer")
    if n_subset > n_full:
        raise ValueError(f"epochs_for: subset of {n_subset} images is larger than the full train set ({n_full})")
    cap = int(cap) if cap is not None else DEFAULT_CAP_FACTOR * base_epochs
    if cap < base_epochs:
        raise ValueError(f"epochs_for: cap {cap} is below base_epochs {base_epochs}; the full run must fit under it")
    spe, spe_full = _steps_per_epoch(n_subset, batch_size), _steps_per_epoch(n_full, batch_size)
    wanted = math.ceil(base_epochs * spe_full / spe)
    epochs = min(wanted, cap)
    return {
        "rule": RULE.format(cap=cap),
        "epochs": epochs,
        "steps_per_epoch": spe,
        "steps": epochs * spe,
        "full_steps": base_epochs * spe_full,
        "base_epochs": base_epochs,
        "batch_size": batch_size,
        "n_images": n_subset,
        "n_full": n_full,
        "cap_epochs": cap,
        "capped": wanted > cap,
    }


def undertrained(history: list[float], higher_is_better: bool = True, window: int = 3, tol: float = 0.005) -> dict:
    """Was the run still improving at its last epoch? `history`: the val metric per epoch (e.g. val mAP or val
    macro AP; pass higher_is_better=False for a loss).

    Possibly undertrained when the best value is in the last `window` epochs AND it beats the best before that
    window by more than `tol` (relative to the range of the history): still climbing when training stopped.
    Returns {undertrained: bool | None, reason}; None when there are too few epochs to say."""
    h = [float(v) for v in history if v is not None and math.isfinite(float(v))]
    if len(h) <= window:
        return {"undertrained": None, "reason": f"{len(h)} epoch value(s): too few to judge (need > {window})"}
    sign = 1.0 if higher_is_better else -1.0
    s = [sign * v for v in h]
    best_before, best_last = max(s[:-window]), max(s[-window:])
    spread = (max(s) - min(s)) or 1.0
    gain = (best_last - best_before) / spread
    still = gain > tol
    how = "still improving" if still else "flat or worse"
    reason = (
        f"last {window} epochs vs before: {how} (best gained {gain:.1%} of the history's range; threshold {tol:.1%})"
    )
    return {"undertrained": bool(still), "reason": reason}
