"""Latency as people deploy, one function for the latency stage and `clsdet latency RUN_DIR`.

Per present device: load every candidate there, preprocess the run's latency images once (the `model` scope times
real images), build each (backend, dtype) variant, gate it on test macro AP, then time all cells in interleaved
rounds (each cell: candidate A, B, ...; the whole grid again next round), then each variant's peak throughput, then
on the CPU the timer check. Every round is a kept record (`round`, `session`); statistics over rounds come later
(benchmarks.measure.rounds, report), from the records.
"""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Callable
from pathlib import Path

from benchmarks.config import LatencyConfig
from benchmarks.measure import gate as G  # noqa: N812
from benchmarks.measure import variants as V  # noqa: N812
from benchmarks.measure.devices import kind
from benchmarks.measure.latency import (
    _error_text,
    _fill,
    _free,
    _why_unavailable,
    measure_cell,
    real_batch,
    resolve_devices,
)
from benchmarks.measure.machine import machine_id
from benchmarks.measure.rounds import cell_medians
from benchmarks.measure.stats import PERCENTILE_METHOD
from benchmarks.measure.throughput import sweep
from benchmarks.measure.timer_check import timer_agreement
from benchmarks.measure.timers import SYNC, TIMER
from benchmarks.record import utc_now
from benchmarks.registry.backends import get_backend, list_backends
from benchmarks.registry.pipelines import load_predictor

# every setting's default: the config's own (LatencyConfig), for settings from an older record missing a key
DEFAULTS = dataclasses.asdict(LatencyConfig())
E2E_BELOW_MODEL = "end_to_end median below model median"


def latency_images(run_dir: Path) -> list[bytes]:
    """The encoded test images the latency stage keeps in the run folder (so another machine times the same)."""
    return [p.read_bytes() for p in sorted((Path(run_dir) / "latency_images").glob("*")) if p.is_file()]


def preprocess_images(predictor, encoded: list[bytes]):
    """The encoded images decoded and preprocessed once by the predictor: (N, ...) on its device, or None."""
    # deferred: torch is heavy
    import torch

    # deferred: torchvision is heavy
    from torchvision.io import ImageReadMode, decode_image

    if not encoded or not hasattr(predictor, "preprocess"):
        return None
    images = [
        decode_image(
            torch.frombuffer(bytearray(b), dtype=torch.uint8), mode=ImageReadMode.RGB, apply_exif_orientation=True
        )
        for b in encoded
    ]  # as the predictors decode (EXIF orientation applied)
    # an animated GIF decodes to (frames, C, H, W); the pipelines read its first frame, as `data inspect` does
    images = [im[0] if im.ndim == 4 else im for im in images]
    return predictor.preprocess(images)


def measure_models(
    run_dir: Path,
    models: dict[str, tuple[str, Path]],
    settings: dict,
    test: dict | None = None,
    echo: Callable[[str], object] = print,
    predictors: dict | None = None,
) -> list[dict]:
    """Latency, peak-throughput and timer-check records of every candidate in `models` (name -> (pipeline,
    artifact dir)). `settings`: the latency config as a dict (DEFAULTS' keys). `test`: {'paths', 'targets',
    'classes'} for the accuracy gate, or None / {'why_not': ...} (gate recorded `not run`). `predictors`: already
    loaded CPU predictors by candidate, reused on the CPU instead of loading again."""
    # deferred: torch is heavy
    import torch

    s = {**DEFAULTS, **{k: v for k, v in settings.items() if v is not None}}
    encoded = latency_images(run_dir)
    exported_before = _export_files(run_dir)  # kept by an earlier call (keep_exports): never deleted here
    present, unavailable = resolve_devices(s["devices"])
    previous_threads = torch.get_num_threads()
    if s["threads"]:
        torch.set_num_threads(int(s["threads"]))
    s["threads"] = torch.get_num_threads()
    common = {
        "machine_id": machine_id(), "hostname": socket.gethostname(), "warmup": int(s["warmup"]),
        "iters_min": int(s["iters"]), "iters": 0, "min_seconds": float(s["min_seconds"]), "threads": s["threads"],
        "percentile_method": PERCENTILE_METHOD, "session": utc_now(), "rounds": int(s["rounds"]), "kind": "latency",
    }  # fmt: skip
    records: list[dict] = []
    try:
        for device in unavailable:
            for cand, (pipeline, _) in models.items():
                base = {**common, "model": cand, "pipeline": pipeline, "backend": None, "imgsz": None}
                records += _fill(base, device, s["scopes"], s["batch_sizes"], "unavailable", _why_unavailable(device))
        for device in present:
            records += _measure_device(run_dir, models, device, s, common, encoded, test, echo, predictors or {})
    finally:
        torch.set_num_threads(previous_threads)
        if not s["keep_exports"]:
            _drop_exports(run_dir, exported_before, records, echo)
    flag_e2e_below_model(records)
    return records


def _export_files(run_dir: Path) -> set[Path]:
    folder = Path(run_dir) / "export"
    return {p for p in folder.rglob("*") if p.is_file()} if folder.is_dir() else set()


def _drop_exports(run_dir: Path, before: set[Path], records: list[dict], echo) -> None:
    """Delete the ONNX files this call exported, once timed (latency.keep_exports: false); files an earlier call
    kept stay. The records keep the export's description (exporter, opset, file MB) and say whether it was kept."""
    new = sorted(_export_files(run_dir) - before)
    if not new:
        return
    mb = sum(p.stat().st_size for p in new) / 1e6
    for p in new:
        p.unlink(missing_ok=True)
    for d in sorted({p.parent for p in new}, key=lambda d: -len(d.parts)) + [Path(run_dir) / "export"]:
        if d.is_dir() and not any(d.iterdir()):
            d.rmdir()
    gone = {str(p.resolve().relative_to(Path(run_dir).resolve())) for p in new}
    for r in records:
        if r.get("export_path"):
            r["export_kept"] = r["export_path"] not in gone
    echo(f"  exported ONNX files deleted after timing ({mb:.0f} MB; latency.keep_exports: true keeps them)")


def _variants(cand, pipeline, pred, images, device, s, run_dir, test, echo) -> list[tuple[V.Variant, dict]]:
    """(variant, gate fields) for every backend x dtype; eager float32 first (the gate's reference)."""
    x = images[: int(s["gate_images"])] if images is not None else pred.example_input(int(s["gate_images"]))
    ref_ap = None
    if test and test.get("paths"):
        try:
            ref_ap = G.macro_ap(pred, test)
        except Exception as e:  # noqa: BLE001 - in the harness a failure is data: the gate is then not run, recorded
            test = {"why_not": f"eager float32 scoring failed: {_error_text(e)}"}
    backends = sorted(s["backends"], key=list_backends().index)  # table order: compile reuses eager's layout
    keys = [("eager", "float32")] + [(b, d) for d in s["dtypes"] for b in backends if (b, d) != ("eager", "float32")]
    wanted = {(b, d) for d in s["dtypes"] for b in s["backends"]}
    out = []
    eager_cl: dict[str, bool] = {}
    for backend, dtype in keys:
        local = {**s, "eager_channels_last": eager_cl.get(dtype, s["channels_last"] == "always")}
        if get_backend(backend).note and (backend, dtype) in wanted:
            echo(f"  {cand} {device} {backend} {dtype}: {get_backend(backend).note}")
        v = V.build(pred, pipeline, device, backend, dtype, x, local, Path(run_dir) / "export" / cand)
        if v.info.get("export_path"):  # relative: the run folder moves between machines
            v.info["export_path"] = str(Path(v.info["export_path"]).resolve().relative_to(Path(run_dir).resolve()))
        if backend == "eager" and v.predictor is not None:
            eager_cl[dtype] = bool(v.info.get("channels_last"))
        if (backend, dtype) not in wanted:
            continue  # eager float32 built only as the reference of a config that does not time it
        fields = {}
        if v.predictor is not None:
            fields = G.gate(pred, v.predictor, (backend, dtype) == ("eager", "float32"), test, ref_ap, x,
                            float(s["gate_max_drop"]))  # fmt: skip
        verdict = fields.get("gate") if v.predictor is not None else "unavailable: " + str(v.reason)
        echo(f"  {cand} {device} {backend} {dtype}: {verdict}")
        out.append((v, fields))
    return out


def _measure_device(run_dir, models, device, s, common, encoded, test, echo, predictors) -> list[dict]:
    # deferred: torch is heavy
    import torch

    records: list[dict] = []
    loaded = {}  # candidate -> (images, [(variant, base)])
    for cand, (pipeline, artifact) in models.items():
        base0 = {**common, "model": cand, "pipeline": pipeline, "backend": None, "imgsz": None}
        try:
            pred = predictors.get(cand)
            if pred is None or torch.device(pred.device).type != kind(device):
                pred = load_predictor(pipeline, Path(artifact), device)
            images = preprocess_images(pred, encoded)
            variants = _variants(cand, pipeline, pred, images, device, s, run_dir, test, echo)
        except Exception as e:  # noqa: BLE001 - in the harness a failure is data: this candidate's cells are errors, the others run
            records += _fill(base0, device, s["scopes"], s["batch_sizes"], "error", _error_text(e))
            _free(device)
            continue
        base0["imgsz"] = int(getattr(pred, "imgsz", 0)) or None
        pairs = []
        for v, fields in variants:
            base = {**base0, "backend": v.backend, "dtype": v.dtype, **v.info, **fields}
            if v.predictor is None:
                recs = _fill(base, device, s["scopes"], s["batch_sizes"], "unavailable", v.reason)
                records += [{**r, "dtype": v.dtype} for r in recs]
            else:
                pairs.append((v, base))
        loaded[cand] = (images, pairs)
    records += interleaved_rounds(loaded, device, s, encoded)
    if s["throughput"]:
        records += _peak(loaded, device, s)
    if s["timer_check"] and kind(device) == "cpu":
        records += _timer_checks(loaded, device, s)
    loaded.clear()
    _free(device)
    return records


def interleaved_rounds(loaded: dict, device: str, s: dict, encoded: list[bytes]) -> list[dict]:
    """Round r: for each (variant, scope, batch) cell, each candidate in turn (A, B, A, B, ...). Drift of a shared
    machine between rounds then hits every candidate of a cell alike, and a ratio taken within a round cancels it."""
    records: list[dict] = []
    cells = []
    for _images, pairs in loaded.values():
        for v, _ in pairs:
            if (v.backend, v.dtype) not in cells:
                cells.append((v.backend, v.dtype))
    for r in range(int(s["rounds"])):
        for backend, dtype in cells:
            for scope in s["scopes"]:
                for bs in s["batch_sizes"]:
                    for images, pairs in loaded.values():
                        for v, base in pairs:
                            if (v.backend, v.dtype) == (backend, dtype):
                                recs = measure_cell(v.predictor, device, scope, int(bs), encoded, base, images)
                                records += [{**rec, "round": r} for rec in recs]
    return records


def _peak(loaded: dict, device: str, s: dict) -> list[dict]:
    records = []
    for images, pairs in loaded.values():
        for v, base in pairs:
            x = images if images is not None else v.predictor.example_input(1)
            res = sweep(v.predictor, device, x, int(s["throughput_max_batch"]), float(s["throughput_min_seconds"]))
            ok = res["best_img_s"] is not None
            rec = {**base, "kind": "peak_throughput", "device": device, "scope": "model", "measured_utc": utc_now(),
                   "batch_size": res["best_batch"], "status": "ok" if ok else "error",
                   "error": None if ok else (res["sweep"][-1].get("error") if res["sweep"] else "no step"),
                   "throughput_img_s": res["best_img_s"], "latency_ms_p50": res["best_latency_ms_p50"],
                   "iters": 3, "min_seconds": float(s["throughput_min_seconds"]), "warmup": 2,
                   "sync": SYNC[kind(device)], "timer": TIMER[kind(device)], "samples_ms": [],
                   "input": "test images" if images is not None else "random tensor", **res}  # fmt: skip
            records.append(rec)
    return records


def _timer_checks(loaded: dict, device: str, s: dict) -> list[dict]:
    records = []
    for images, pairs in loaded.values():
        for v, base in pairs:
            if (v.backend, v.dtype) != ("eager", "float32"):
                continue
            x = real_batch(images, 1) if images is not None else v.predictor.example_input(1)
            try:
                res = timer_agreement(
                    lambda p=v.predictor, x=x: p.forward(x),
                    rounds=int(s["rounds"]),
                    warmup=int(s["warmup"]),
                    min_seconds=max(0.2, float(s["min_seconds"]) / 2),
                )
                extra = {"status": "ok", "error": None, "latency_ms_p50": res["harness_ms"], **res}
            except Exception as e:  # noqa: BLE001 - in the harness a failure is data: recorded, the others run
                extra = {"status": "error", "error": _error_text(e)}
            records.append({**base, "kind": "timer_check", "device": device, "scope": "model", "batch_size": 1,
                            "measured_utc": utc_now(), "sync": SYNC["cpu"], "timer": TIMER["cpu"], "iters": 10,
                            "samples_ms": [], **extra})  # fmt: skip
    return records


def flag_e2e_below_model(records: list[dict]) -> None:
    """Mark end_to_end records of a cell whose median over rounds is below the model-scope median: end to end
    includes the model call, so this says the two scopes did not time the same work."""
    med = cell_medians(records)
    for r in records:
        if r.get("scope") != "end_to_end" or r.get("kind", "latency") != "latency" or r.get("status") != "ok":
            continue
        key = (r.get("model"), r.get("machine_id"), r.get("session"), r.get("device"), r.get("backend"),
               r.get("dtype"))  # fmt: skip
        e2e = med.get((*key, "end_to_end", r.get("batch_size")))
        model = med.get((*key, "model", r.get("batch_size")))
        if e2e and model and e2e["median"] < model["median"]:
            r["flag"] = E2E_BELOW_MODEL
