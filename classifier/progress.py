"""One progress line per finished epoch, in the format the detector prints too (detector/progress.py; a test
holds the two to the same output): epoch n/N from 1, train loss, val metrics, the epoch's seconds and an ETA, and
a flag on an epoch far slower than the ones before it, printed when it happens rather than found in a log later.

    classifier epoch 3/20: train loss 0.412, val macro AP 0.655 | 6.1 s, ETA 1m44s
    classifier epoch 4/20: train loss 0.398, val macro AP 0.671 | 89.0 s SLOW (14.6x the median 6.1 s), ETA 1m38s
"""

from __future__ import annotations

import math
import statistics

# One 89 s epoch among ~6 s ones once went unnoticed in a user's run; 3x the median is far outside the usual jitter
# of an epoch (data-loader warm-up, val on a larger batch) and still catches swapping, thermal throttling or contention.
SLOW_FACTOR = 3.0


def fmt_duration(seconds: float) -> str:
    s = max(0, round(seconds))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


def _value(v) -> str:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return "n/a"
    return f"{v:.3f}" if math.isfinite(v) else "n/a"


class EpochLog:
    """Keeps the durations of the epochs seen so far and formats the line of the next finished one."""

    def __init__(self, name: str, total_epochs: int):
        self.name, self.total = name, int(total_epochs)
        self.seconds: list[float] = []

    def is_slow(self, seconds: float) -> float | None:
        """The median of the earlier epochs when `seconds` exceeds SLOW_FACTOR times it, else None."""
        if not self.seconds:
            return None
        median = statistics.median(self.seconds)
        return median if seconds > SLOW_FACTOR * median else None

    def line(self, epoch: int, seconds: float, loss, metrics: dict[str, object]) -> str:
        """The line for epoch `epoch` (numbered from 1) that took `seconds`; call once per epoch, in order."""
        slow_median = self.is_slow(seconds)
        self.seconds.append(seconds)
        parts = [f"train loss {_value(loss)}", *(f"val {k} {_value(v)}" for k, v in metrics.items())]
        timing = f"{seconds:.1f} s"
        if slow_median is not None:
            timing += f" SLOW ({seconds / slow_median:.1f}x the median {slow_median:.1f} s)"
        left = self.total - epoch
        if left > 0:
            # the median ignores one slow epoch; early stopping can end the run before the ETA
            timing += f", ETA {fmt_duration(statistics.median(self.seconds) * left)}"
        return f"  {self.name} epoch {epoch}/{self.total}: {', '.join(parts)} | {timing}"
