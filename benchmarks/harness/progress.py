"""What every executor shares (local, ray): the per-job progress line with the run's share done and time to the
report against the plan, and the error for bad executor options. Below executors.py and ray_executor.py, so neither
imports the other to get it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.harness.jobs import Job
from benchmarks.paths import PLAN_FILE
from benchmarks.record import fmt_s


class ExecutorError(ValueError):
    user_error = True


def _eta(done: int, total: int, elapsed: float) -> str:
    if not done or done >= total:
        return ""
    left = elapsed / done * (total - done)
    return f", ETA {left / 60:.1f} min" if left >= 60 else f", ETA {left:.0f} s"


class JobProgress:
    """`  job 3/8 done: r18/f0.5-s0 in 52.1 s (elapsed 2.6 min, ETA 4.3 min; run: 41% of the planned training
    done, about 5 min 10 s to the report)`. The run's part comes from the plan (plan.json, harness/plan.py): the
    jobs left at their estimates, each scaled by the actual / estimate ratio of this session's finished jobs of the
    same pipeline, plus the later stages' estimates."""

    def __init__(self, total: int, echo: Callable[[str], None], run_dir: Path | None = None, todo=()):
        self.total, self.echo, self.done, self.t0 = total, echo, 0, time.perf_counter()
        self.left = {j.key: j.pipeline for j in todo}
        self.estimates: dict[str, float] = {}
        self.after_train = 0.0
        self.ratios: dict[str, list[float]] = {}
        if run_dir is not None:
            try:
                plan = json.loads((Path(run_dir) / PLAN_FILE).read_text())
                self.estimates = {j["key"]: float(j["estimate_s"]) for j in plan["jobs"]}
                self.after_train = sum(float(plan.get(k) or 0) for k in ("evaluate_s", "latency_s", "other_s"))
            except (OSError, ValueError, KeyError, TypeError):
                pass  # no plan (a job run by hand): the job count's ETA only
        self.planned = sum(self.estimates.get(k, 0.0) for k in self.left)

    def finished(self, job: Job, st: dict) -> None:
        self.done += 1
        elapsed = time.perf_counter() - self.t0
        what = st.get("status", "?")
        extra = f" ({st['error']})" if st.get("error") else ""
        self.echo(
            f"  job {self.done}/{self.total} {what}: {job.key} in {st.get('wall_s', 0):.1f} s{extra} "
            f"(elapsed {elapsed / 60:.1f} min{_eta(self.done, self.total, elapsed)}{self._run(job, st)})"
        )

    def _run(self, job: Job, st: dict) -> str:
        est = self.estimates.get(job.key)
        self.left.pop(job.key, None)
        if est and st.get("status") == "done" and st.get("wall_s"):
            self.ratios.setdefault(job.pipeline, []).append(float(st["wall_s"]) / est)
        if not self.planned:
            return ""

        def scale(pipeline: str) -> float:
            r = sorted(self.ratios.get(pipeline) or [1.0])
            return r[len(r) // 2]

        rest = sum(self.estimates.get(k, 0.0) * scale(p) for k, p in self.left.items())
        share = 1 - sum(self.estimates.get(k, 0.0) for k in self.left) / self.planned
        return f"; run: {share:.0%} of the planned training done, about {fmt_s(rest + self.after_train)} to the report"
