"""The report's content as a list of blocks, built once from results.json; markdown.py and html.py only render it.

Block kinds: ("h1"|"h2"|"h3"|"p", text), ("table", DataFrame), ("list", [text, ...]),
("plot", name, Path-or-reason, caption).
"""

from __future__ import annotations

import logging
from pathlib import Path

from benchmarks.report import common as C  # noqa: N812
from benchmarks.report import latency_variants as LV  # noqa: N812
from benchmarks.report import tables as T  # noqa: N812
from benchmarks.report.curve_blocks import verdict_blocks
from benchmarks.report.plan_blocks import plan_blocks

log = logging.getLogger(__name__)


def _n(results: dict) -> str:
    split = (results.get("split") or {}).get("counts") or {}
    return ", ".join(f"{k} {v}" for k, v in split.items()) or "n/a"


def build(results: dict, plots: dict[str, Path | str]) -> list[tuple]:
    name = results.get("name") or (results.get("config") or {}).get("name") or "benchmark"
    machine = results.get("machine") or {}
    b: list[tuple] = [
        ("h1", f"clsdet benchmark: {name}"),
        (
            "p",
            f"Run {results.get('run_id', 'n/a')}, created {results.get('created_utc', 'n/a')} on "
            f"{machine.get('hostname', 'n/a')} ({machine.get('cpu', 'cpu n/a')}); profile "
            f"{results.get('profile') or '—'}; split: {_n(results)}. Rendered from results.json alone "
            "(clsdet report RUN_DIR re-renders it).",
        ),
    ]
    b += _guard(lambda r: verdict_blocks(r, plots), results, default=[("p", C.na("verdict: could not render"))])
    b += [
        ("h2", "Headline: " + " vs ".join(f"{p} ({label})" for p, label in C.pipelines_in(results).items())),
        _table(T.headline, results),
        (
            "p",
            "Accuracy is image-level on the same test images for both models (detector score per class = its "
            "highest box confidence); 95% CIs are basic bootstrap intervals on the logit scale over test images; the "
            "baseline is a random ranking (the permutation test's mean macro AP), with the prevalence beside it. "
            "Labeling hours are "
            "marked measured (from labeling logs) or modeled (from cited rates; see 'How this was measured'). "
            "Latency cells show the newest measurement; (n=2) means the cell was measured twice and all records "
            "are kept in results.json.",
        ),
    ]
    b += [
        ("h2", "Accuracy vs latency"),
        (
            "plot",
            "accuracy_vs_latency",
            plots.get("accuracy_vs_latency"),
            "Macro AP against p50 latency per batch, one panel per machine and device.",
        ),
    ]
    b += [
        ("h2", "Cost"),
        (
            "plot",
            "cost_breakdown",
            plots.get("cost_breakdown"),
            "Human labeling hours, training hours and inference hours per 1,000 images, stacked per model.",
        ),
    ]
    lab = _guard(T.labeling, results)
    b += [("table", lab) if lab is not None and len(lab) else ("p", C.na("no labeling cost recorded"))]
    b += [
        ("h2", "Per class"),
        _table(T.per_class, results),
        *_guard(_excluded_blocks, results, default=[]),
        (
            "plot",
            "per_class_ap",
            plots.get("per_class_ap"),
            "Per-class AP of both models and the prevalence "
            "(a constant score's AP; a random ranking scores above it on classes with few positives).",
        ),
        (
            "plot",
            "confusion",
            plots.get("confusion"),
            "Multi-label confusion per class (rows: true 0/1, columns: "
            "predicted 0/1) at thresholds tuned on the validation split.",
        ),
    ]
    b += [
        ("h2", "Predictions on test images"),
        (
            "plot",
            "predictions",
            plots.get("predictions"),
            "12 test images: the 8 where the two models' scores differ most, then 4 seeded random ones; boxes at "
            "the detector's tuned thresholds, red text = a mistake against the truth.",
        ),
    ]
    b += [
        ("h2", "Training"),
        _table(T.training, results),
        (
            "p",
            "Train wall = the whole fit, per-epoch validation included (time.perf_counter around the trainer); "
            "s/epoch = train wall / epochs; train img/s = train images x epochs / train wall. Peak memory: "
            "CUDA max allocated on a GPU; on CPU the process's RSS high-water mark, reset before each training "
            "where the OS allows (the method column says which).",
        ),
        ("plot", "training_curves", plots.get("training_curves"), "Loss and validation metrics per epoch."),
    ]
    for part in (_latency_blocks, _method_blocks, plan_blocks, _status_blocks):
        b += _guard(part, results, default=[("p", C.na(f"{part.__name__.strip('_')}: could not render"))])
    return b


def _excluded_blocks(results: dict) -> list[tuple]:
    """Classes left out of macro AP/F1 (no positive or no negative among the labelled test images), named with why."""
    why: dict[str, str] = {}
    for m in C.model_names(results):
        acc = C.section(results, m, "accuracy") or {}
        for cls in acc.get("excluded_classes") or []:
            why.setdefault(cls, (acc.get("excluded_reasons") or {}).get(cls) or "no positive or no negative")
    if not why:
        return []
    listed = "; ".join(f"{cls} ({reason})" for cls, reason in why.items())
    return [("p", f"Left out of macro AP and macro F1 for every model: {listed}.")]


def _guard(fn, results: dict, default=None):
    """fn(results), or `default` when the document is malformed in a way no accessor foresaw (the report renders
    what it can)."""
    try:
        return fn(results)
    except Exception as exc:  # a broken section must not take the rest of the report with it
        log.warning("report section %s failed on this results.json: %r", fn.__name__, exc)
        return default


def _table(fn, results: dict) -> tuple:
    df = _guard(fn, results)
    return ("table", df) if df is not None and len(df) else ("p", C.na(f"{fn.__name__}: nothing recorded"))


def _latency_blocks(results: dict) -> list[tuple]:
    b: list[tuple] = [("h2", "Latency on every machine")]
    by_dev = _guard(T.latency_by_device, results)
    if not by_dev:
        return [*b, ("p", C.na("no latency records"))]
    b.append(
        (
            "p",
            "p50 latency per batch, newest measurement per cell (the median over its interleaved rounds); one "
            "column per machine (hostname [machine id] : device name); ×N = speed-up over eager float32 in the "
            "same cell; `peak` rows = best images/s of a batch sweep. Records from other machines are appended "
            "with `clsdet latency RUN_DIR`.",
        )
    )
    for dev, df in by_dev.items():
        b += [("h3", f"{dev}"), ("table", df)]
    b += [("h3", "All cells (newest record each)"), _table(T.latency_detail, results)]
    b += LV.blocks(results, _table)
    return b


def _method_blocks(results: dict) -> list[tuple]:
    b: list[tuple] = [("h2", "How this was measured"), ("h3", "Latency method")]
    lm = _guard(T.latency_method, results)
    b.append(("table", lm) if lm is not None and len(lm) else ("p", C.na("no latency records")))
    b.append(
        (
            "p",
            "Timed iterations run until both the iteration count and the minimum seconds are reached, after "
            "the warm-up; 'model' scope times the forward pass on a ready tensor, 'end-to-end' times decode + "
            "preprocess + forward + postprocess from encoded image bytes. Percentiles come from the kept raw "
            "per-iteration samples.",
        )
    )
    boot = {}
    for m in C.model_names(results):
        boot = (C.section(results, m, "accuracy") or {}).get("bootstrap") or boot
        if boot:
            break
    base = C.baseline(results)
    perm = {}
    for m in C.model_names(results):
        perm = (C.section(results, m, "accuracy") or {}).get("permutation") or perm
    b += [
        ("h3", "Accuracy"),
        (
            "list",
            [
                f"Bootstrap: {boot.get('method', 'n/a')}, {boot.get('resamples', 'n/a')} resamples, "
                f"seed {boot.get('seed', 'n/a')}."
                if boot
                else C.na("no bootstrap recorded"),
                f"Baseline: {base.get('method', 'n/a')}." if base else C.na("no baseline recorded"),
                f"Test against the baseline: {perm.get('method', 'n/a')}, {perm.get('permutations', 'n/a')} "
                "permutations."
                if perm
                else C.na("no permutation test recorded"),
                "Thresholds: tuned per class on the validation split, applied unchanged to test.",
                f"Ground truth: image-level labels from source '{(results.get('data') or {}).get('truth', 'n/a')}'.",
            ],
        ),
    ]
    for m in C.model_names(results):
        s = C.section(results, m, "size")
        if s:
            b.append(
                (
                    "p",
                    f"Size of {m}: FLOPs by {s.get('flops_method', 'n/a')}; file size by "
                    f"{s.get('file_method', 'n/a')}.",
                )
            )
    b.append(("h3", "Labeling figures"))
    lab = results.get("labeling") or {}
    b.append(
        (
            "list",
            [
                f"{k}: {(v or {}).get('source', 'n/a')} — {(v or {}).get('basis') or 'no basis recorded'}"
                for k, v in lab.items()
            ]
            or [C.na("no labeling cost recorded")],
        )
    )
    b += _data_blocks(results)
    b.append(("p", (results.get("executor") or {}).get("summary") or C.na("training executor not recorded")))
    b += [("h3", "Machine and commit"), _table(T.machine_table, results)]
    return b


def _data_blocks(results: dict) -> list[tuple]:
    data = results.get("data") or {}
    items = [
        f"Images: {data.get('n_images', 'n/a')}; classes: {', '.join(data.get('classes') or []) or 'n/a'}; "
        f"split: {_n(results)} (seed {(results.get('split') or {}).get('seed', 'n/a')})."
    ]
    for src, info in (data.get("sources") or {}).items():
        info = info or {}
        items.append(f"Source {src}: reader {info.get('reader')}, {info.get('kind')}, {info.get('n_rows')} rows.")
    problems = data.get("problems") or {}
    items.append("Data problems counted: " + (", ".join(f"{k} {v}" for k, v in problems.items()) or "none") + ".")
    dis = data.get("disagreement")
    if isinstance(dis, dict):
        per = ", ".join(f"{c} {v.get('differ')}/{v.get('compared')}" for c, v in (dis.get("per_class") or {}).items())
        items.append(
            f"Label disagreement between {' and '.join(dis.get('sources') or [])}: "
            f"{dis.get('images_differ')} of {dis.get('images_compared')} images differ ({per})."
        )
    return [("h3", "Data"), ("list", items)]


def _status_blocks(results: dict) -> list[tuple]:
    b: list[tuple] = [("h2", "Stages and errors")]
    stages = results.get("stages") or {}
    if stages:
        b.append(
            (
                "list",
                [
                    f"{k}: {(v or {}).get('status', 'n/a')}"
                    + (f" ({v['wall_s']:.1f} s)" if C.num((v or {}).get("wall_s")) is not None else "")
                    + (f" — {v['error']}" if (v or {}).get("error") else "")
                    for k, v in stages.items()
                ],
            )
        )
    errors = results.get("errors") or []
    b.append(("h3", "Errors"))
    b.append(
        (
            "list",
            [
                f"{e.get('stage', '?')} / {e.get('model', '—')} / {e.get('device', '—')}: {e.get('error')}"
                for e in errors
                if isinstance(e, dict)
            ],
        )
        if errors
        else ("p", "No errors recorded.")
    )
    return b
