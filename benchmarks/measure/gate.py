"""Accuracy gate (MLPerf's rule): a variant is scored on the test images through the same `evaluate()`
as the headline; if its macro AP falls more than `max_drop` below eager float32 on the same device, every record
of the variant says `failed accuracy gate` and the report keeps it out of the headline and the cost plot.

The raw network outputs are compared too (max abs difference vs eager float32 on a few preprocessed images): it
shows a numeric drift before it becomes an accuracy drop.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from benchmarks.data.manifest import Manifest
from benchmarks.evaluate import evaluate

PASSED, FAILED, REFERENCE, NOT_RUN = "passed", "failed accuracy gate", "reference (eager float32)", "not run"


def macro_ap(predictor, test: dict) -> float | None:
    scores = predictor.predict_scores(test["paths"])
    acc = evaluate(
        scores,
        np.asarray(test["targets"]),
        np.asarray(predictor.thresholds),
        list(test["classes"]),
        n_boot=1,
        n_perm=0,
    )  # fmt: skip - no CI and no baseline test needed, the point value decides
    return acc.get("macro_ap")


def max_abs_diff(reference, variant, x) -> float | None:
    """Largest |variant - eager| over the raw outputs (the first tensor: what post-processing reads)."""

    def first(out):
        return out[0] if isinstance(out, (list, tuple)) else out

    a = first(reference.forward(x)).float().cpu()
    b = first(variant.forward(x)).float().cpu()
    if a.shape != b.shape:
        raise ValueError(f"the variant's output shape {tuple(b.shape)} differs from eager's {tuple(a.shape)}")
    return float((a - b).abs().max())


def gate(reference, variant, is_reference: bool, test: dict | None, ref_ap: float | None, x, max_drop: float) -> dict:
    """Fields recorded on every record of `variant` (gate, gate_macro_ap, gate_reference_macro_ap, gate_drop,
    gate_max_drop, max_abs_diff). Failures to score are recorded, never raised."""
    out: dict = {"gate_max_drop": max_drop}
    try:
        out["max_abs_diff"] = 0.0 if variant is reference else max_abs_diff(reference, variant, x)
        out["max_abs_diff_images"] = int(x.shape[0])
    except Exception as e:  # noqa: BLE001 - in the harness a failure is data: recorded, the others run
        out.update(max_abs_diff=None, max_abs_diff_error=f"{type(e).__name__}: {e}"[:300])
    if test is None or not test.get("paths"):
        return {**out, "gate": NOT_RUN, "gate_note": (test or {}).get("why_not", "no test images given")}
    try:
        ap = ref_ap if is_reference else macro_ap(variant, test)
    except Exception as e:  # noqa: BLE001 - in the harness a failure is data: a variant that cannot score fails the gate, recorded
        return {**out, "gate": FAILED, "gate_note": f"scoring failed: {type(e).__name__}: {e}"[:300]}
    out.update(gate_macro_ap=ap, gate_reference_macro_ap=ref_ap, gate_n_images=len(test["paths"]))
    if is_reference:
        return {**out, "gate": REFERENCE, "gate_drop": 0.0}
    if ap is None or ref_ap is None:
        return {**out, "gate": NOT_RUN, "gate_note": "macro AP undefined on these test images"}
    drop = float(ref_ap) - float(ap)
    return {**out, "gate": FAILED if drop > max_drop else PASSED, "gate_drop": drop}


def gate_test_set(run_dir: Path) -> dict:
    """What the accuracy gate scores: the run's test images (eval.json's ids, the manifest's paths and truth), the
    same for the latency stage and `clsdet latency RUN_DIR`; {"why_not": ...} when they are not all on this machine."""
    try:
        ev = json.loads((Path(run_dir) / "eval.json").read_text())
        manifest = Manifest.load(Path(run_dir) / "manifest.json")
    except (OSError, ValueError) as e:
        return {"why_not": f"eval.json/manifest.json unreadable in {run_dir}: {e}"}
    ids = list(ev.get("test_ids") or [])
    paths = [manifest.get(i).path for i in ids]
    missing = [p for p in paths if not Path(p).is_file()]
    if not ids or missing:
        return {"why_not": f"{len(missing)} of {len(ids)} test images are not on this machine (e.g. {missing[:1]})"}
    return {"paths": paths, "targets": manifest.targets(ev["truth"], ids), "classes": list(manifest.classes)}
