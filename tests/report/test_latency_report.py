"""Deployment variants in the report: backend and dtype columns, speed-up over eager float32, the gate
verdict, peak-throughput rows, ratios over rounds, the timer check; a gate-failed variant never prices the cost."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from benchmarks.report import latency_variants as LV  # noqa: N812
from benchmarks.report import plots, tables

FIXTURE = Path(__file__).parents[1] / "fixtures" / "results_example.json"
MID, HOST = "m-3f9a1c2b7d", "ci-runner"  # the fixture's own machine


def _rec(model, backend, dtype, scope, p50, rnd, **extra) -> dict:
    return {"model": model, "machine_id": MID, "hostname": HOST, "device": "cpu", "device_name": "Xeon",
            "backend": backend, "dtype": dtype, "batch_size": 1, "scope": scope, "status": "ok", "error": None,
            "latency_ms_p50": p50, "throughput_img_s": 1e3 / p50, "warmup": 1, "iters": 5, "threads": 2,
            "sync": "none", "timer": "time.perf_counter_ns", "session": "2026-12-01T10:00:00Z", "round": rnd,
            "measured_utc": f"2026-12-01T10:00:0{rnd}Z", "kind": "latency", **extra}  # fmt: skip


@pytest.fixture
def results() -> dict:
    r = copy.deepcopy(json.loads(FIXTURE.read_text()))
    for model, base in (("classifier", 20.0), ("detector", 30.0)):
        recs = r["models"][model]["latency"]
        for rnd, drift in enumerate((1.0, 1.3, 1.1)):  # the machine drifts between rounds, alike for both
            recs.append(_rec(model, "eager", "float32", "model", base * drift, rnd, gate="reference (eager float32)"))
            recs.append(_rec(model, "onnxruntime", "float32", "model", base / 2 * drift, rnd, gate="passed"))
            recs.append(_rec(model, "eager", "bfloat16", "model", base / 4 * drift, rnd, gate=LV.FAILED,
                             gate_drop=0.2, gate_macro_ap=0.5))  # fmt: skip
        recs.append({**_rec(model, "onnxruntime", "float32", "model", 10.0, 0), "kind": "peak_throughput",
                     "batch_size": 8, "throughput_img_s": 400.0, "gate": "passed"})  # fmt: skip
        recs.append({**_rec(model, "eager", "float32", "model", 2.0, 0), "kind": "timer_check", "harness_ms": 2.0,
                     "torch_timer_ms": 2.05, "diff_pct": -2.4, "diff_pct_mean": 1.0, "load_avg_1m": 0.5})  # fmt: skip
    return r


def test_variant_rows_show_speedup_gate_and_peak(results):
    cpu = tables.latency_by_device(results)["cpu"]
    col = next(c for c in cpu.columns if c.startswith("ci-runner"))
    row = {(m, str(b), s, be, d): v for m, b, s, be, d, v in cpu[["model", "batch", "scope", "backend", "dtype", col]]
           .itertuples(index=False)}  # fmt: skip
    cls = "classifier (resnet18)"
    # median over the 3 rounds (20, 26, 22) of the newest session; the fixture measured the cell twice before
    assert row[cls, "1", "model", "eager", "float32"] == "22.0 ms (n=3)"
    assert row[cls, "1", "model", "onnxruntime", "float32"] == "11.0 ms ×2.00"
    assert row[cls, "1", "model", "eager", "bfloat16"] == f"5.50 ms ×4.00 · {LV.FAILED}"
    assert row[cls, "peak", "model", "onnxruntime", "float32"] == "400.0 img/s @ b8"
    detail = tables.latency_detail(results)
    bf16 = detail[(detail["backend"] == "eager") & (detail["dtype"] == "bfloat16")].iloc[0]
    assert bf16["gate"].startswith(LV.FAILED) and "-0.200" in bf16["gate"] and bf16["rounds (spread)"] == "3 (27%)"


def test_ratios_over_rounds_cancel_drift_and_timer_check_is_shown(results):
    q = LV.latency_ratios(results)
    eager = q[(q["backend"] == "eager") & (q["dtype"] == "float32") & (q["session (UTC)"] != "—")].iloc[0]
    assert eager["ratio (median)"] == "1.500" and eager["min – max"] == "1.500 – 1.500" and eager["rounds"] == 3
    t = LV.timer_checks(results)
    assert list(t["diff %"]) == ["-2.4", "-2.4"]


def test_headline_and_cost_use_eager_float32_never_a_failed_gate(results):
    for model in ("classifier", "detector"):  # make the failed variant the fastest end-to-end record of all
        recs = results["models"][model]["latency"]
        recs.append(_rec(model, "eager", "bfloat16", "end_to_end", 0.1, 0, gate=LV.FAILED))
    ref = plots.inference_reference(results)
    assert all(LV.is_reference_variant(c) and c.get("gate") != LV.FAILED for c in ref.values())
    head = tables.headline(results)
    assert not head.astype(str).apply(lambda col: col.str.contains("0.10 ms")).any().any()
    fig = plots.plot_accuracy_latency(results)
    assert not isinstance(fig, str)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "backend: onnxruntime" in labels and LV.FAILED in labels


def test_speedup_is_taken_within_the_variants_own_session(results):
    # a later rerun of eager float32 alone (another load, other threads) must not change onnxruntime's speed-up
    later = {**_rec("classifier", "eager", "float32", "model", 100.0, 0), "session": "2026-12-02T09:00:00Z",
             "measured_utc": "2026-12-02T09:00:00Z"}  # fmt: skip
    results["models"]["classifier"]["latency"].append(later)
    cpu = tables.latency_by_device(results)["cpu"]
    col = next(c for c in cpu.columns if c.startswith("ci-runner"))
    rows = cpu[(cpu["model"] == "classifier (resnet18)") & (cpu["batch"] == 1) & (cpu["scope"] == "model")]
    by_backend = dict(zip(rows["backend"] + "/" + rows["dtype"], rows[col]))
    assert by_backend["eager/float32"].startswith("100 ms")
    assert by_backend["onnxruntime/float32"] == "11.0 ms ×2.00"
