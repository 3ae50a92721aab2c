"""pandas tables built from a results document alone; every missing part becomes "n/a (reason)", never an error.

Cells are display strings (formatted by common.py), so Markdown and HTML show the same thing.
"""

from __future__ import annotations

import pandas as pd

from benchmarks.report.common import (
    SCOPE_NAMES,
    baseline,
    cell_text,
    fmt,
    fmt_big,
    fmt_ci,
    fmt_seconds,
    labeling_method,
    latency_cells,
    machine_label,
    machines,
    method_pair,
    method_pipeline,
    model_entry,
    model_label,
    model_names,
    na,
    num,
    section,
    why_missing,
)
from benchmarks.report.latency_variants import (
    backend,
    gate_text,
    is_reference_variant,
    kind_cells,
    peak_text,
    reference_cells,
    rounds_text,
    speedup_text,
    variant_order,
    variant_text,
)


# --- tables ------------------------------------------------------------------------------------------------------
def headline(results: dict) -> pd.DataFrame:
    """Metric rows x [models..., random-ranking baseline (prevalence beside it)]."""
    models = model_names(results)
    base = baseline(results)
    rows: dict[str, dict[str, str]] = {}

    def put(metric: str, model: str, value: str) -> None:
        rows.setdefault(metric, {})[model] = value

    labeling = results.get("labeling") or {}
    for m in models:
        acc, box = section(results, m, "accuracy"), model_entry(results, m).get("box")
        train, size = section(results, m, "training"), section(results, m, "size")
        miss_acc = why_missing(results, m, "accuracy")
        put("macro AP [95% CI]", m, fmt_ci(acc.get("macro_ap"), acc.get("macro_ap_ci95")) if acc else na(miss_acc))
        put("macro F1 [95% CI]", m, fmt_ci(acc.get("macro_f1"), acc.get("macro_f1_ci95")) if acc else na(miss_acc))
        put("micro AP", m, fmt(acc.get("micro_ap")) if acc else na(miss_acc))
        put("exact match", m, fmt(acc.get("exact_match")) if acc else na(miss_acc))
        no_box = "image-level model, no boxes" if box is None and acc else why_missing(results, m, "box metrics")
        put("box mAP50", m, fmt((box or {}).get("map50"), missing=na(no_box)))
        put("box mAP50-95", m, fmt((box or {}).get("map50_95"), missing=na(no_box)))
        put(
            "training time",
            m,
            fmt_seconds(train.get("train_wall_s")) if train else na(why_missing(results, m, "training")),
        )
        miss_size = why_missing(results, m, "size")
        put("params", m, fmt_big(size.get("params")) if size else na(miss_size))
        put("FLOPs (batch 1)", m, fmt_big(size.get("flops")) if size else na(miss_size))
        put(
            "file MB fp32 / fp16",
            m,
            f"{fmt(size.get('file_mb_fp32'), 1)} / {fmt(size.get('file_mb_fp16'), 1)}" if size else na(miss_size),
        )
        method = labeling_method(results, m)
        lab = labeling.get(method)
        if isinstance(lab, dict) and num(lab.get("hours")) is not None:
            put("labeling hours", m, f"{lab['hours']:.2f} h ({lab.get('source', '?')}, {method})")
        else:
            put("labeling hours", m, na(f"no {method} labeling record"))
    # deferred: benchmarks.report.curve_blocks imports numpy
    from benchmarks.report.curve_blocks import headline_difference

    a, b = (method_pipeline(x) for x in method_pair(results))
    for m, text in headline_difference(results).items():
        put(f"{a} - {b} macro AP [95% CI]", m, text)
    _headline_latency(results, models, put)
    df = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=models).astype(object).fillna("—")
    df.columns = [model_label(results, m) for m in models]
    base_col = {k: "—" for k in rows}
    if base:
        rr, prev = base.get("random_ranking_macro_ap"), base.get("prevalence_macro_ap", base.get("macro_ap"))
        base_col["macro AP [95% CI]"] = f"{fmt(rr)} (prevalence {fmt(prev)})" if num(rr) is not None else fmt(prev)
        base_col["micro AP"] = fmt(base.get("micro_ap"))
    df["random-ranking baseline"] = pd.Series(base_col)
    df.index.name = "metric"
    return df.reset_index()


def _headline_latency(results: dict, models: list[str], put) -> None:
    """One row per machine x device: p50 at batch 1, `model / end-to-end` scope, newest measurement."""
    cells = [c for c in latency_cells(results) if c.get("batch_size") == 1 and is_reference_variant(c)]
    mach = machines(results)
    keys = sorted(
        {(c.get("machine_id") or "?", c.get("device") or "?") for c in cells},
        key=lambda k: (not mach.get(k[0], {}).get("this_run"), k),
    )
    for mid, dev in keys:
        info = mach.get(mid, {"hostname": "?", "devices": {}})
        names = ", ".join(sorted(info["devices"].get(dev) or []))
        label = f"latency p50 b1 (model / e2e), {dev}{': ' + names if names else ''} @ {info['hostname']}"
        for m in models:
            found = {
                c.get("scope"): c
                for c in cells
                if c["model"] == m and c.get("machine_id") == mid and c.get("device") == dev
            }
            if not found:
                put(label, m, na("not measured"))
                continue
            bad = [c for c in found.values() if c.get("status") != "ok"]
            if bad and len(bad) == len(found):
                put(label, m, cell_text(bad[0]))
                continue
            put(label, m, " / ".join(cell_text(found.get(s)) if s in found else "—" for s in ("model", "end_to_end")))


def latency_by_device(results: dict) -> dict[str, pd.DataFrame]:
    """device -> table: rows model/batch/scope/backend/dtype (+ a peak-throughput row per variant), one column per
    machine (hostname [id] + device name); a cell: p50 (median over rounds), x speed-up over eager float32, gate."""
    cells = latency_cells(results)
    peaks = kind_cells(results, "peak_throughput")
    mach = machines(results)
    out = {}
    for dev in sorted({c.get("device") or "?" for c in cells + peaks}):
        dcells = [c for c in cells if (c.get("device") or "?") == dev]
        dpeaks = [c for c in peaks if (c.get("device") or "?") == dev]
        cols = {}
        for mid in [k for k in mach if any((c.get("machine_id") or "?") == k for c in dcells + dpeaks)]:
            names = ", ".join(sorted(mach[mid]["devices"].get(dev) or [])) or "device n/a"
            cols[mid] = f"{machine_label(mid, mach[mid])}: {names}"
        refs = reference_cells(dcells, results)
        rows = {}
        for c in sorted(dcells, key=variant_order):
            scope = SCOPE_NAMES.get(c.get("scope"), c.get("scope"))
            key = (model_label(results, c["model"]), c.get("batch_size"), scope, backend(c), c.get("dtype"))
            rows.setdefault(key, {})[cols[c.get("machine_id") or "?"]] = variant_text(c, refs)
        for c in sorted(dpeaks, key=lambda c: variant_order({**c, "batch_size": 0})):  # best batch differs
            key = (model_label(results, c["model"]), "peak", "model", backend(c), c.get("dtype"))
            rows.setdefault(key, {})[cols[c.get("machine_id") or "?"]] = peak_text(c)
        df = (
            pd.DataFrame.from_dict(rows, orient="index").reindex(columns=list(cols.values())).astype(object).fillna("—")
        )
        df.index = pd.MultiIndex.from_tuples(df.index, names=["model", "batch", "scope", "backend", "dtype"])
        out[dev] = df.reset_index()
    return out


def latency_detail(results: dict) -> pd.DataFrame:
    mach = machines(results)
    rows = []
    order = {mid: i for i, mid in enumerate(mach)}
    cells = sorted(
        latency_cells(results),
        key=lambda c: (c["model"], order.get(c.get("machine_id"), 99), str(c.get("device")), *variant_order(c)[1:]),
    )
    refs = reference_cells(cells, results)
    for c in cells:
        ok = c.get("status") == "ok"
        mid = c.get("machine_id") or "?"
        rows.append(
            {
                "model": c["model"],
                "machine": machine_label(mid, mach.get(mid, {"hostname": c.get("hostname") or "?"})),
                "device": f"{c.get('device')} ({c.get('device_name') or 'n/a'})",
                "backend": backend(c),
                "dtype": c.get("dtype"),
                "batch": c.get("batch_size"),
                "scope": SCOPE_NAMES.get(c.get("scope"), c.get("scope")),
                "status": c.get("status") if ok else cell_text(c),
                "speed-up": speedup_text(c, refs),
                "gate": gate_text(c),
                "rounds (spread)": rounds_text(c),
                "flag": c.get("flag") or "",
                "p50 ms": fmt(c.get("latency_ms_p50"), 2, "—") if ok else "—",
                "p90 ms": fmt(c.get("latency_ms_p90"), 2, "—") if ok else "—",
                "p99 ms": fmt(c.get("latency_ms_p99"), 2, "—") if ok else "—",
                "mean ± std ms": f"{fmt(c.get('latency_ms_mean'), 2)} ± {fmt(c.get('latency_ms_std'), 2)}"
                if ok
                else "—",
                "img/s": fmt(c.get("throughput_img_s"), 1) if ok else "—",
                "iters": c.get("iters"),
                "n": c.get("n_measurements", 1),
                "measured (UTC)": c.get("measured_utc") or "?",
            }
        )
    return pd.DataFrame(rows)


def per_class(results: dict) -> pd.DataFrame:
    classes = list((results.get("data") or {}).get("classes") or [])
    models = model_names(results)
    rows = {}
    for m in models:
        acc = section(results, m, "accuracy") or {}
        box = (model_entry(results, m).get("box") or {}).get("per_class") or {}
        for cls in classes or list(acc.get("per_class") or {}):
            pc = (acc.get("per_class") or {}).get(cls) or {}
            row = rows.setdefault(cls, {})
            row[f"{m} AP"] = fmt(pc.get("ap"), missing="—") if acc else na(why_missing(results, m, "accuracy"))
            row[f"{m} F1"] = fmt(pc.get("f1"), missing="—") if acc else "n/a"
            if box:
                row[f"{m} box mAP50"] = fmt((box.get(cls) or {}).get("map50"), missing="—")
            if pc.get("support") is not None:
                row["support (test)"] = str(pc["support"])
            if num(pc.get("prevalence")) is not None:
                row["baseline AP (prevalence)"] = fmt(pc["prevalence"])
    df = pd.DataFrame.from_dict(rows, orient="index").astype(object).fillna("—")
    first = [f"{m} AP" for m in models] + ["baseline AP (prevalence)"] + [f"{m} F1" for m in models]
    df = df[[c for c in first if c in df] + [c for c in df if c not in first]]
    df.index.name = "class"
    return df.reset_index()


def labeling(results: dict) -> pd.DataFrame:
    rows = []
    users: dict[str, list[str]] = {}
    for m in model_names(results):
        users.setdefault(labeling_method(results, m), []).append(m)
    users = {k: ", ".join(v) for k, v in users.items()}
    for method, e in (results.get("labeling") or {}).items():
        e = e if isinstance(e, dict) else {}
        rows.append(
            {
                "method": method,
                "labels for": users.get(method, "—"),
                "source": e.get("source", "n/a") + (" (rests on clipped events)" if e.get("clipped") else ""),
                "hours": fmt(e.get("hours"), 2),
                "images": e.get("n_images", "—"),
                "s/image": fmt(e.get("s_per_image"), 1, "—"),
                "s/label": fmt(e.get("s_per_label"), 1, "—"),
                "s/box": fmt(e.get("s_per_box"), 1, "—"),
                "basis (where the figure comes from)": e.get("basis") or "n/a",
            }
        )
    return pd.DataFrame(rows)


def training(results: dict) -> pd.DataFrame:
    rows = {}
    for m in model_names(results):
        t = section(results, m, "training")
        s = section(results, m, "size") or {}
        if not t:
            rows[model_label(results, m)] = {"train wall": na(why_missing(results, m, "training"))}
            continue
        rows[model_label(results, m)] = {
            "train wall": fmt_seconds(t.get("train_wall_s")),
            "epochs": t.get("epochs_run", "n/a"),
            "s/epoch": fmt(t.get("s_per_epoch"), 1),
            "train img/s": fmt(t.get("train_images_per_s"), 1),
            "best epoch": t.get("best_epoch", "n/a"),
            "peak mem MB": fmt(t.get("peak_mem_mb"), 0),
            "peak mem method": t.get("peak_mem_method", "n/a"),
            "device": t.get("device", "n/a"),
            "precision": t.get("precision", "n/a"),
            "threads": t.get("threads", "n/a"),
            "workers": t.get("workers", "n/a"),
            "imgsz": s.get("imgsz", "n/a"),
        }
    df = pd.DataFrame.from_dict(rows, orient="index").astype(object).fillna("—")
    df.index.name = "model"
    return df.reset_index()


def latency_method(results: dict) -> pd.DataFrame:
    """The method of every latency measurement, grouped per machine and device: the method travels with the number."""
    mach = machines(results)
    groups: dict[tuple, list[dict]] = {}
    for c in latency_cells(results):
        groups.setdefault((c.get("machine_id") or "?", c.get("device") or "?"), []).append(c)

    def vals(recs, key):
        v = sorted({str(r.get(key)) for r in recs if r.get(key) is not None})
        return ", ".join(v) or "n/a"

    rows = []
    for (mid, dev), recs in groups.items():
        ok = [r for r in recs if r.get("status") == "ok"] or recs
        rows.append(
            {
                "machine": machine_label(mid, mach.get(mid, {"hostname": "?"})),
                "device": dev,
                "device name": vals(recs, "device_name"),
                "dtype": vals(ok, "dtype"),
                "batch": ", ".join(str(b) for b in sorted({r.get("batch_size") for r in ok if r.get("batch_size")}))
                or "n/a",
                "scope": vals(ok, "scope"),
                "backend": ", ".join(sorted({backend(r) for r in ok})),
                "rounds": vals(ok, "n_rounds"),
                "model-scope input": vals([r for r in ok if r.get("scope") == "model"], "input"),
                "imgsz": vals(ok, "imgsz"),
                "warm-up": vals(ok, "warmup"),
                "iterations": vals(ok, "iters"),
                "min s": vals(ok, "min_seconds"),
                "threads": vals(ok, "threads"),
                "sync": vals(ok, "sync"),
                "timer": vals(ok, "timer"),
            }
        )
    return pd.DataFrame(rows)


def machine_table(results: dict) -> pd.DataFrame:
    m = results.get("machine") or {}
    gpus = "; ".join(f"{g.get('name')} ({g.get('memory_gb')} GB, driver {g.get('driver')})" for g in m.get("gpu") or [])
    c = results.get("commit") or {}
    commit = (
        f"{c.get('id')} ({c.get('branch') or 'detached'}{', dirty' if c.get('dirty') else ''})"
        if c.get("id")
        else na(c.get("error") or "not a git checkout")
    )
    items = {
        "host": f"{m.get('hostname', 'n/a')} [{m.get('machine_id', 'n/a')}]",
        "platform": m.get("platform", "n/a"),
        "cpu": f"{m.get('cpu', 'n/a')} ({m.get('cpu_cores', '?')} cores, {m.get('threads', '?')} torch threads)",
        "RAM GB": m.get("ram_gb", "n/a"),
        "GPU": gpus or "none",
        "MPS": m.get("mps", "n/a"),
        "python / torch / torchvision": f"{m.get('python')} / {m.get('torch')} / {m.get('torchvision')}",
        "CUDA / cuDNN": f"{m.get('cuda') or 'none'} / {m.get('cudnn') or 'none'}",
        "commit": commit,
        "created (UTC)": results.get("created_utc", "n/a"),
        "run id": results.get("run_id", "n/a"),
        "profile": results.get("profile") or "—",
    }
    return pd.DataFrame({"item": list(items), "value": [str(v) for v in items.values()]})
