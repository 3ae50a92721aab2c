"""The report's figures, drawn from a results document alone and saved as PNG in `<run_dir>/plots/`.

Each `plot_*` returns a matplotlib Figure, or a string saying why it cannot be drawn (the report shows that as n/a).
Figures are built with `matplotlib.figure.Figure` (no pyplot global state, no GUI backend needed).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from benchmarks.registry.backends import BACKENDS
from benchmarks.registry.pipelines import colour as pipeline_colour
from benchmarks.report import common as T  # noqa: N812
from benchmarks.report import latency_variants as LV  # noqa: N812
from benchmarks.report.budget import plot_budget_from_results, rate_figure

COLORS = {"baseline": "#7f7f7f"}
BACKEND_MARKERS = {b.name: b.marker for b in BACKENDS.values()}
DTYPE_SHORT = {"float16": "fp16", "bfloat16": "bf16"}
MAX_CLASSES_CM = 12  # more small multiples than this are unreadable; the caption says how many are shown
CM_PER_ROW = 6
DPI = 110


def color_for(results: dict, model: str) -> str:
    """The candidate's colour: its pipeline's hue family (the registry's `palette`), the k-th shade for the k-th
    candidate of that pipeline."""
    pipe = T.pipeline_of(results, model)
    same = [m for m in T.model_names(results) if T.pipeline_of(results, m) == pipe]
    return pipeline_colour(pipe, same.index(model) if model in same else 0)


def _figure(w: float, h: float):
    # deferred: matplotlib is heavy
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=DPI, layout="constrained")
    return fig


def _ci(acc: dict) -> tuple[float, float] | None:
    ci = acc.get("macro_ap_ci95")
    if isinstance(ci, list | tuple) and len(ci) == 2 and all(T.num(v) is not None for v in ci):
        return float(ci[0]), float(ci[1])
    return None


def plot_accuracy_latency(results: dict):
    """Macro AP vs p50 latency, one panel per machine x device, one point per model, variant, batch and scope.

    Colour: model. Marker: backend. Filled: model scope, hollow: end-to-end. Label: batch and a non-float32 dtype.
    A variant's y is its own test macro AP from the accuracy gate where recorded; a crossed grey point failed it.
    Bars: the model's macro AP 95% CI (where y is the model's own AP). Dashed: the random-ranking baseline's macro AP
    (the AP of scores that carry no information)."""
    cells = [c for c in T.latency_cells(results) if c.get("status") == "ok" and T.num(c.get("latency_ms_p50"))]
    accs = {m: T.section(results, m, "accuracy") or {} for m in T.model_names(results)}
    ap = {m: T.num(a.get("macro_ap")) for m, a in accs.items()}
    cis = {m: _ci(a) for m, a in accs.items()}
    base_ap = T.num(T.baseline(results).get("macro_ap"))

    def y_of(c):
        own = T.num(c.get("gate_macro_ap"))
        return own if own is not None else ap.get(c["model"])

    cells = [c for c in cells if y_of(c) is not None]
    if not cells:
        return "no successful latency measurement of a model with a macro AP"
    mach = T.machines(results)
    panels = sorted(
        {(c.get("machine_id") or "?", c.get("device") or "?") for c in cells},
        key=lambda k: (not mach.get(k[0], {}).get("this_run"), k),
    )
    ncol = min(3, len(panels))
    nrow = (len(panels) + ncol - 1) // ncol
    fig = _figure(4.6 * ncol, 3.6 * nrow)
    axes = fig.subplots(nrow, ncol, squeeze=False, sharey=True).ravel()
    # deferred: matplotlib is heavy
    from matplotlib.ticker import FuncFormatter

    plain = FuncFormatter(lambda v, _: f"{v:g}")
    for ax, (mid, dev) in zip(axes, panels):
        info = mach.get(mid, {"hostname": "?", "devices": {}})
        names = ", ".join(sorted(info["devices"].get(dev) or [])) or dev
        for c in (c for c in cells if c.get("machine_id") == mid and c.get("device") == dev):
            x, y = c["latency_ms_p50"], y_of(c)
            color = color_for(results, c["model"])
            ci = cis.get(c["model"]) if T.num(c.get("gate_macro_ap")) is None else None
            # max(0, ...): a bootstrap percentile CI need not contain its point estimate; matplotlib refuses < 0
            yerr = [[max(0.0, y - ci[0])], [max(0.0, ci[1] - y)]] if ci else None
            if yerr:
                ax.errorbar(x, y, yerr=yerr, fmt="none", ecolor=color, alpha=0.5, capsize=3, zorder=2)
            face = color if c.get("scope") == "model" else "none"
            marker = BACKEND_MARKERS.get(LV.backend(c), "^")
            ax.scatter(x, y, edgecolors=color, facecolors=face, marker=marker, s=46, zorder=3, linewidths=1.3)
            if LV.gate_failed(c):
                ax.scatter(x, y, color="#555555", marker="x", s=70, zorder=4)
            dt = "" if c.get("dtype") in ("float32", None) else " " + DTYPE_SHORT.get(c["dtype"], c["dtype"])
            ax.annotate(f"b{c.get('batch_size')}{dt}", (x, y), textcoords="offset points", xytext=(5, 4), fontsize=7)
        if base_ap is not None:
            ax.axhline(base_ap, color=COLORS["baseline"], ls="--", lw=1, zorder=1)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(plain)
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if str(f"{v:g}")[0] in "25" else ""))
        ax.set_title(f"{dev}: {names}\n{info['hostname']}", fontsize=9)
        ax.set_xlabel("p50 latency per batch (ms, log)")
        if ax.get_subplotspec().is_first_col():
            ax.set_ylabel("macro AP (test)")
        ax.grid(True, which="both", alpha=0.3)
        ax.margins(x=0.25, y=0.25)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    # deferred: matplotlib is heavy
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], color=color_for(results, m), marker="o", ls="", label=T.model_label(results, m)) for m in ap
    ]
    handles += [
        Line2D([], [], color="k", marker="o", ls="", mfc=fill, label=f"scope: {T.SCOPE_NAMES[s]}")
        for s, fill in (("model", "k"), ("end_to_end", "none"))
    ]
    used = sorted({LV.backend(c) for c in cells}, key=lambda b: LV.BACKEND_ORDER.get(b, 9))
    handles += [
        Line2D([], [], color="k", marker=BACKEND_MARKERS.get(b, "^"), ls="", mfc="none", label=f"backend: {b}")
        for b in used
    ]
    if any(LV.gate_failed(c) for c in cells):
        handles.append(Line2D([], [], color="#555555", marker="x", ls="", label=LV.FAILED))
    if base_ap is not None:
        label = f"random-ranking baseline ({base_ap:.3f})"
        handles.append(Line2D([], [], color=COLORS["baseline"], ls="--", label=label))
    # two columns: four entries in one row are wider than a one-panel figure
    fig.legend(handles=handles, loc="outside lower center", ncol=2, fontsize=8, frameon=False)
    fig.suptitle("Accuracy vs latency (label: batch, dtype; bars: 95% CI of macro AP)", fontsize=10)
    return fig


def inference_reference(results: dict) -> dict | None:
    """The latency record the cost plot prices inference with: this run's machine, batch 1, end-to-end on CPU
    preferred (what a user pays per image), falling back to any successful batch-1 record."""
    own = (results.get("machine") or {}).get("machine_id")
    ok = [c for c in T.latency_cells(results) if c.get("status") == "ok" and T.num(c.get("throughput_img_s"))]
    ok = [c for c in ok if not LV.gate_failed(c)]  # a variant that failed the accuracy gate never prices anything

    def rank(c):
        return (
            not LV.is_reference_variant(c),
            c.get("machine_id") != own,
            c.get("device") != "cpu",
            c.get("batch_size") != 1,
            c.get("scope") != "end_to_end",
        )

    return {m: min((c for c in ok if c["model"] == m), key=rank, default=None) for m in T.model_names(results)}


def _hours(v: float | None) -> str:
    if v is None:
        return "n/a"
    return f"{v:.2f} h" if v >= 0.05 else f"{v * 60:.1f} min" if v * 60 >= 1 else f"{v * 3600:.1f} s"


def plot_cost(results: dict):
    """Stacked bars per model: labeling hours, training hours, inference hours per 1,000 images."""
    refs = inference_reference(results)
    labeling = results.get("labeling") or {}
    rows = []
    for m in T.model_names(results):
        lab = T.num((labeling.get(T.labeling_method(results, m)) or {}).get("hours"))
        train = T.num((T.section(results, m, "training") or {}).get("train_wall_s"))
        ref = refs.get(m)
        infer = 1000 / ref["throughput_img_s"] / 3600 if ref else None
        rows.append((m, lab, None if train is None else train / 3600, infer, ref))
    if not any(v is not None for r in rows for v in r[1:4]):
        return "no labeling, training or latency figures recorded"
    fig = _figure(7.5, 4.6)
    ax = fig.subplots()
    parts = [("labeling", "#9467bd"), ("training", "#ff7f0e"), ("inference / 1,000 images", "#2ca02c")]
    names = [T.model_label(results, r[0]) for r in rows]
    bottoms = [0.0] * len(rows)
    for i, (part, color) in enumerate(parts):
        vals = [r[1 + i] or 0.0 for r in rows]
        ax.bar(names, vals, bottom=bottoms, color=color, label=part, width=0.5)
        bottoms = [b + v for b, v in zip(bottoms, vals)]
    for x, (r, top) in enumerate(zip(rows, bottoms)):
        lines = [f"{part.split()[0]}: {_hours(v)}" for (part, _), v in zip(parts, r[1:4])]
        ax.annotate(
            "\n".join([*lines, f"total: {_hours(top)}"]),
            (x, top),
            xytext=(0, 4),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_ylim(0, max(bottoms + [1e-9]) * 1.45)
    ax.set_ylabel("hours")
    refs_txt = {
        m: f"{r['device']} b{r['batch_size']} {T.SCOPE_NAMES.get(r['scope'], r['scope'])} on {r.get('hostname')}"
        for m, *_, r in rows
        if r
    }
    if len(set(refs_txt.values())) == 1:
        ref_txt = next(iter(refs_txt.values()))
    else:
        ref_txt = "; ".join(f"{m}: {t}" for m, t in refs_txt.items()) or "no latency recorded"
    ax.set_title(f"Cost to a trained model + inference\n(inference priced at {ref_txt})", fontsize=9)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(True, axis="y", alpha=0.3)
    return fig


def plot_per_class_ap(results: dict):
    """Grouped horizontal bars: per-class AP of each model and the prevalence baseline."""
    classes = list((results.get("data") or {}).get("classes") or [])
    series, base = {}, None
    for m in T.model_names(results):
        pc = (T.section(results, m, "accuracy") or {}).get("per_class") or {}
        if pc:
            series[T.model_label(results, m)] = (
                [T.num((pc.get(c) or {}).get("ap")) for c in classes],
                color_for(results, m),
            )
            base = base or [T.num((pc.get(c) or {}).get("prevalence")) for c in classes]
    if base and any(v is not None for v in base):
        series["baseline (prevalence)"] = (base, COLORS["baseline"])
    if not classes or not series:
        return "no per-class AP recorded"

    n = len(series)
    h = 0.8 / n
    per_class_in = max(0.3, min(0.28 * n, 20 / len(classes)))  # keeps 80 COCO classes under ~25 inches
    fig = _figure(7.5, 1.2 + per_class_in * len(classes))
    ax = fig.subplots()
    y = np.arange(len(classes))
    for i, (label, (vals, color)) in enumerate(series.items()):
        bars = ax.barh(y + (i - (n - 1) / 2) * h, [v or 0 for v in vals], height=h, color=color, label=label)
        if len(classes) <= 20:  # value labels would overlap on thinner bars; the table beside has the numbers
            ax.bar_label(bars, labels=["n/a" if v is None else f"{v:.2f}" for v in vals], fontsize=7, padding=2)
    ax.set_yticks(y, classes, fontsize=8)
    ax.set_ylim(len(classes) - 0.5, -0.5)  # top-down in class order, no empty margins
    ax.set_xlim(0, 1.08)
    ax.set_xlabel("average precision (test, image level)")
    fig.legend(loc="outside lower center", ncol=n, fontsize=8, frameon=False)
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_title("Per-class AP", fontsize=11)
    return fig


def plot_confusion(results: dict):
    """Small multiples: one 2x2 confusion matrix per class (columns) and model (rows), at the val-tuned thresholds."""
    models = [m for m in T.model_names(results) if (T.section(results, m, "accuracy") or {}).get("confusion")]
    if not models:
        return "no confusion counts recorded"
    classes = list((results.get("data") or {}).get("classes") or [])
    first = T.section(results, models[0], "accuracy")
    classes = [c for c in classes if c in first["confusion"]] or list(first["confusion"])
    support = {c: ((first.get("per_class") or {}).get(c) or {}).get("support") or 0 for c in classes}
    shown = sorted(classes, key=lambda c: -support[c])[:MAX_CLASSES_CM]
    shown = [c for c in classes if c in shown]  # keep the benchmark's class order
    ncol = min(len(shown), CM_PER_ROW)
    chunks = [shown[i : i + ncol] for i in range(0, len(shown), ncol)]
    fig = _figure(1.55 * ncol + 1.0, 1.75 * len(models) * len(chunks) + 0.7)
    axes = fig.subplots(len(models) * len(chunks), ncol, squeeze=False)
    for ci, chunk in enumerate(chunks):
        for i, m in enumerate(models):
            conf = T.section(results, m, "accuracy")["confusion"]
            row = axes[ci * len(models) + i]
            for j in range(ncol):
                if j >= len(chunk):
                    row[j].set_visible(False)
                    continue
                _confusion_cell(row[j], conf.get(chunk[j]) or {})
                if i == 0:
                    row[j].set_title(chunk[j], fontsize=9)
                if i == len(models) - 1:
                    row[j].set_xlabel("predicted", fontsize=7)
                if j == 0:
                    row[j].set_ylabel(f"{m}\ntrue", fontsize=8)
    extra = "" if len(shown) == len(classes) else f" ({len(shown)} of {len(classes)} classes, most frequent)"
    fig.suptitle(f"Confusion per class at val-tuned thresholds{extra}", fontsize=10)
    return fig


def _confusion_cell(ax, k: dict) -> None:
    grid = [[k.get("tn", 0), k.get("fp", 0)], [k.get("fn", 0), k.get("tp", 0)]]
    top = max(1, max(max(r) for r in grid))
    ax.imshow(grid, cmap="Blues", vmin=0, vmax=top)
    for r in range(2):
        for q in range(2):
            color = "white" if grid[r][q] > 0.6 * top else "black"
            ax.text(q, r, str(grid[r][q]), ha="center", va="center", fontsize=9, color=color)
    ax.set_xticks([0, 1], ["0", "1"], fontsize=7)
    ax.set_yticks([0, 1], ["0", "1"], fontsize=7)


def _curve_keys(history: list[dict]) -> dict[str, list[str]]:
    keys = sorted({k for row in history for k in row if k != "epoch"})
    return {
        "loss": [k for k in keys if "loss" in k.lower()],
        "val macro AP": [k for k in keys if k.lower().endswith("macro_ap")],
        "box mAP50": [k for k in keys if re.search(r"map_?50(?![-_]?95)", k.lower())],
    }


def _epochs_from_1(history: list[dict]) -> list[int]:
    """Epoch numbers from 1 for every model. Lightning's history numbered from 0 before the classifier renumbered it
    (results.json files of earlier runs still do): a history whose first epoch is 0 is shifted by one."""
    raw = [T.num(r.get("epoch")) for r in history]
    if any(e is None for e in raw):
        return list(range(1, len(history) + 1))
    shift = 1 if min(raw) == 0 else 0
    return [int(e) + shift for e in raw]


def plot_training(results: dict):
    """Loss, val macro AP and (detector) box mAP50 per epoch, from each model's training history."""
    hists = {m: (T.section(results, m, "training") or {}).get("history") or [] for m in T.model_names(results)}
    hists = {m: h for m, h in hists.items() if h}
    if not hists:
        return "no training history recorded"
    panels = ["loss", "val macro AP", "box mAP50"]
    fig = _figure(12, 3.6)
    axes = fig.subplots(1, 3)
    styles = ["-", "--", ":", "-."]
    for m, hist in hists.items():
        keys = _curve_keys(hist)
        epochs = _epochs_from_1(hist)
        for ax, panel in zip(axes, panels):
            for s, k in enumerate(keys[panel]):
                pts = [(e, T.num(r.get(k))) for e, r in zip(epochs, hist)]
                pts = [(e, v) for e, v in pts if v is not None]
                if pts:
                    ax.plot(*zip(*pts), ls=styles[s % 4], marker=".", color=color_for(results, m), label=f"{m}: {k}")
    for ax, panel in zip(axes, panels):
        ax.set_title(panel, fontsize=10)
        ax.set_xlabel("epoch (from 1)")
        ax.grid(True, alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, "n/a (not in the history)", ha="center", va="center", transform=ax.transAxes)
    return fig


PLOTS = {
    "budget_curve": plot_budget_from_results,
    "rate_range": rate_figure,
    "accuracy_vs_latency": plot_accuracy_latency,
    "cost_breakdown": plot_cost,
    "per_class_ap": plot_per_class_ap,
    "confusion": plot_confusion,
    "training_curves": plot_training,
}


def render_plots(results: dict, out_dir: Path) -> dict[str, Path | str]:
    """name -> PNG path, or the reason it was not drawn; a plot that fails to draw is a reason, not a crash."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path | str] = {}
    for name, fn in PLOTS.items():
        path = out_dir / f"{name}.png"
        try:
            fig = fn(results)
        except Exception as exc:  # partial data must not stop the report
            fig = f"could not draw: {type(exc).__name__}: {exc}"
        if isinstance(fig, str):
            path.unlink(missing_ok=True)  # a stale PNG from an earlier render would contradict the text
            out[name] = fig
            continue
        fig.savefig(path, format="png")
        out[name] = path
    return out
