"""Peak throughput of one variant on one device (MLPerf "Offline" analogue): model scope on real preprocessed test
images, batch 1, 2, 4, ... until memory runs out, `max_batch` is reached, or images/s rises by less than 5%."""

from __future__ import annotations

from benchmarks.measure.latency import _error_text, _free, _is_oom, real_batch
from benchmarks.measure.stats import summarize
from benchmarks.measure.timers import time_callable

MIN_GAIN = 0.05  # a doubling of the batch that gains less than this ends the sweep


def sweep(predictor, device: str, images, max_batch: int, min_seconds: float, warmup: int = 2) -> dict:
    """{'sweep': [{batch_size, throughput_img_s, latency_ms_p50, status}], 'best_batch', 'best_img_s', 'stop'}."""
    steps: list[dict] = []
    best: dict | None = None
    stop = f"reached max batch {max_batch}"
    bs = 1
    while bs <= max_batch:
        try:
            x = real_batch(images, bs)
            t = time_callable(lambda x=x: predictor.forward(x), device, warmup, 3, min_seconds)
        except Exception as e:  # noqa: BLE001 - in the harness a failure is data: out of memory ends the sweep, recorded
            steps.append({"batch_size": bs, "status": "oom" if _is_oom(e) else "error", "error": _error_text(e)})
            _free(device)
            stop = "out of memory" if _is_oom(e) else "error"
            break
        s = summarize(t.samples_ms, bs)
        # images/s from the median call: one slow outlier call does not decide the peak
        step = {"batch_size": bs, "status": "ok", "latency_ms_p50": s["latency_ms_p50"], "iters": s["n_samples"],
                "throughput_img_s": bs / (s["latency_ms_p50"] / 1e3)}  # fmt: skip
        steps.append(step)
        if best is not None and step["throughput_img_s"] < best["throughput_img_s"] * (1 + MIN_GAIN):
            if step["throughput_img_s"] > best["throughput_img_s"]:
                best = step
            stop = f"gain below {MIN_GAIN:.0%} at batch {bs}"
            break
        best = step
        bs *= 2
    return {
        "sweep": steps,
        "best_batch": best["batch_size"] if best else None,
        "best_img_s": best["throughput_img_s"] if best else None,
        "best_latency_ms_p50": best["latency_ms_p50"] if best else None,
        "stop": stop,
    }
