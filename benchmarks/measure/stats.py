"""Statistics of kept raw latency samples (milliseconds per iteration of a whole batch)."""

from __future__ import annotations

import numpy as np

PERCENTILE_METHOD = "numpy.percentile, linear interpolation"


def summarize(samples_ms: list[float], batch_size: int) -> dict:
    """p50/p90/p99/mean/std (sample std, ddof=1) in ms per batch call, and throughput = batch_size / mean seconds."""
    x = np.asarray(samples_ms, dtype=np.float64)
    if x.size == 0:
        raise ValueError("summarize: no samples; time at least one iteration")
    p50, p90, p99 = np.percentile(x, [50, 90, 99])
    mean = float(x.mean())
    return {
        "latency_ms_p50": float(p50),
        "latency_ms_p90": float(p90),
        "latency_ms_p99": float(p99),
        "latency_ms_mean": mean,
        "latency_ms_std": float(x.std(ddof=1)) if x.size > 1 else 0.0,
        "latency_ms_min": float(x.min()),
        "throughput_img_s": batch_size / (mean / 1e3) if mean > 0 else None,
        "n_samples": int(x.size),
        "total_s": float(x.sum() / 1e3),
    }
