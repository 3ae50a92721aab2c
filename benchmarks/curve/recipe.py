"""The training recipe at small budgets, recorded per point, and the "possibly undertrained" test.

With a fixed number of epochs a 10% subset gets a tenth of the optimizer steps of the full run and is undertrained
for reasons that have nothing to do with its labels. The rule here: scale the epochs so every point gets at least the
optimizer steps of the full run, capped (a tiny subset would otherwise loop thousands of times over a few images);
early stopping on val still applies, as in every run.

Whether a run was still improving when it stopped is a test with a stated error rate (`undertrained`): the slope of
the image-level val macro AP over the last half of the epochs, one-sided t test at 5%. On a flat history with
independent noise it flags 5% of runs whatever their length (tests/curve/test_curve.py measures it); the
previous rule, "best value in the last 3 epochs", flagged about 3 / epochs of flat runs (half of them at 6 epochs).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

RULE = (
    "epochs = ceil(base_epochs x steps_per_epoch(full train set) / steps_per_epoch(subset)), so every point gets at "
    "least the optimizer steps of the full run; capped at {cap} epochs; steps_per_epoch = ceil(n_images / batch)"
)
DEFAULT_CAP_FACTOR = 10  # the cap when none is configured: 10 x base epochs
ALPHA = 0.05  # the false-flag rate of the "still improving" test on a flat history
MIN_WINDOW = 4  # the fewest epochs the slope test reads (2 degrees of freedom)
METHOD = (
    "ordinary-least-squares slope of the val metric on the epoch number over {window}, one-sided t test of a "
    "{change} (t with n - 2 degrees of freedom) at alpha {alpha:g}"
)


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


def trend_window(n_epochs: int) -> int:
    """How many of the last epochs the slope test reads: the last half of the run, at least MIN_WINDOW.

    Half, because the first epochs of every run climb steeply: a window reaching back into them would call any run
    "still improving"; a run that has converged is flat over its second half. At least MIN_WINDOW points, so the
    t test has 2 degrees of freedom (with 3 points its one-sided 5% critical value is 6.3 and it hardly ever fires)."""
    return min(n_epochs, max(MIN_WINDOW, math.ceil(n_epochs / 2)))


def undertrained(
    history: list[float],
    higher_is_better: bool = True,
    window: int | None = None,
    alpha: float = ALPHA,
    metric: str = "the val metric",
) -> dict:
    """Was the run still improving when it stopped? `history`: the val metric per epoch (the image-level val macro
    AP of either pipeline; pass higher_is_better=False for a loss); `metric` names it in the reason.

    A test, not a rule of thumb: the ordinary-least-squares slope of the metric on the epoch number over the last
    `window` epochs (default `trend_window`: the last half, at least 4), one-sided t test of slope > 0 with n - 2
    degrees of freedom at level `alpha`. On a flat history with independent noise it flags a run with probability
    alpha (5%), whatever the number of epochs. Serially correlated val scores (EMA weights, the same val images every
    epoch) push it higher: simulated with lag-1 correlation 0.5 it flags 8% of flat runs of 6 epochs and 15% of 20;
    with 0.8, 12% and 24%. So a flag reads "possibly undertrained", never "undertrained".

    Returns {undertrained: bool | None, reason, slope_per_epoch, p_value, window, method}; `undertrained` is None
    when fewer than MIN_WINDOW finite values are left (too few epochs to say). A history without any variation in the
    window (a constant metric) has slope 0 and is not flagged; a perfectly straight rise has p = 0 and is."""
    if window is not None and not (isinstance(window, numbers.Integral) and window >= MIN_WINDOW):
        raise ValueError(f"undertrained: window = {window!r}; must be an integer >= {MIN_WINDOW} (or None)")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"undertrained: alpha = {alpha!r}; must be in (0, 1), e.g. 0.05")
    h = [float(v) for v in history if v is not None and math.isfinite(float(v))]
    change = "rise" if higher_is_better else "fall"
    rule = f"the last {window} epochs" if window else f"the last half of the epochs (at least {MIN_WINDOW})"
    method = METHOD.format(window=rule, change=change, alpha=alpha)
    out = {"slope_per_epoch": None, "p_value": None, "window": None, "method": method}
    if len(h) < MIN_WINDOW:
        reason = f"{len(h)} epoch value(s) of {metric}: too few to judge (need >= {MIN_WINDOW})"
        return {**out, "undertrained": None, "reason": reason}
    n = min(len(h), window) if window is not None else trend_window(len(h))
    sign = 1.0 if higher_is_better else -1.0
    y = np.asarray(h[-n:], dtype=np.float64) * sign
    x = np.arange(n, dtype=np.float64) - (n - 1) / 2  # centred epoch numbers
    sxx = float(x @ x)
    slope = float(x @ (y - y.mean())) / sxx
    resid = y - y.mean() - slope * x
    se = math.sqrt(float(resid @ resid) / (n - 2) / sxx)
    tiny = 1e-12 * max(1.0, float(np.abs(y).max()))  # below this a residual or slope is rounding, not signal
    if se <= tiny:  # a straight line, or a constant: no noise to test against
        p = 0.0 if slope > tiny else 1.0
    else:
        from scipy.stats import t  # deferred: importing scipy.stats takes most of a second

        p = float(t.sf(slope / se, n - 2))
    flagged = p < alpha
    where = f"over the last {n} of {len(h)} epochs"
    if flagged:
        verb = "rose" if higher_is_better else "fell"
        reason = f"{metric} {verb} {abs(slope):.3g} per epoch {where} (one-sided t test, p = {p:.3g} < {alpha:g}): "
        reason += "still improving"
    else:
        reason = f"{metric} changed {sign * slope:+.3g} per epoch {where}, not a significant {change} "
        reason += f"(one-sided t test, p = {p:.3g} >= {alpha:g}): flat or worse"
    return {
        **out, "undertrained": bool(flagged), "reason": reason,
        "slope_per_epoch": sign * slope, "p_value": p, "window": n,
    }  # fmt: skip
