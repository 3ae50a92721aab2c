"""Peak memory of one training, measured by the harness around each pipeline's `train()` with the same code.

CUDA: the caching allocator's max allocated bytes since its stats were reset. CPU: the process's resident-set
high-water mark (Linux VmHWM), reset before the training by writing 5 to /proc/self/clear_refs (proc(5)), so the
second training in a process does not report the first one's peak. Where the reset is impossible (macOS), the
process's lifetime peak (ru_maxrss) is reported and the method says so.
"""

from __future__ import annotations

import contextlib
import json
import resource
import sys
from pathlib import Path

from benchmarks.record import write_json


def reset_peak_memory() -> bool:
    """Reset CUDA's peak stats (when CUDA is initialised) and the RSS high-water mark; True if the RSS reset worked."""
    if "torch" in sys.modules and sys.modules["torch"].cuda.is_initialized():
        sys.modules["torch"].cuda.reset_peak_memory_stats()
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_memory_mb(device: str, reset_ok: bool) -> tuple[float, str]:
    """(peak MB, method) for the training that ran on `device` since `reset_peak_memory()`."""
    if str(device).startswith("cuda"):
        # deferred: torch is heavy
        import torch

        return torch.cuda.max_memory_allocated() / 2**20, "cuda_max_memory_allocated"
    if reset_ok:
        with contextlib.suppress(OSError, ValueError):
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024, "process_peak_rss_since_training_start"
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux (getrusage(2))
    return rss * scale / 2**20, "process_peak_rss_lifetime"


@contextlib.contextmanager
def track_peak_memory(artifact_dir: Path):
    """Around a pipeline's train(): afterwards, write peak_mem_mb / peak_mem_method into its training.json."""

    ok = reset_peak_memory()
    yield
    f = Path(artifact_dir) / "training.json"
    if not f.exists():
        return
    rec = json.loads(f.read_text())
    mb, method = peak_memory_mb(rec.get("device", "cpu"), ok)
    rec.update(peak_mem_mb=round(mb, 1), peak_mem_method=method)
    write_json(f, rec)
