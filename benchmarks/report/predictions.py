"""The static report's plots/predictions.png: test images with both models' decisions, drawn by
benchmarks.predictions.draw.draw_prediction (the renderer the app's pages use too)."""

from __future__ import annotations

import sys
from pathlib import Path

from benchmarks.predictions.draw import draw_prediction
from benchmarks.predictions.images import read_image
from benchmarks.predictions.run import candidates, load_predictor, test_set
from benchmarks.predictions.scoring import Prediction, choose_examples, disagreement, score_paths
from benchmarks.registry.pipelines import PIPELINES


def plot_predictions(run_dir: str | Path, results: dict, out_path: str | Path, n: int = 12, device: str = "cpu"):
    """plots/predictions.png: n test images (the largest classifier/detector disagreements, then seeded random
    ones; benchmarks.predictions.scoring.choose_examples) drawn by draw_prediction. Returns the path, or the reason
    it was not drawn (a string, as the report's other plots do)."""
    import matplotlib.pyplot as plt  # deferred: heavy, and the report sets its backend (Agg) first

    run_dir = Path(run_dir)
    groups = candidates(results)
    missing = [p for p in PIPELINES if p not in groups]
    if missing:
        return f"no trained {' or '.join(missing)} in this run"
    ts = test_set(run_dir, results)
    if not ts.ids:
        return "no test images to show" + (f" ({'; '.join(ts.skipped[:3])})" if ts.skipped else "")
    preds, scored = {}, {}
    for pipeline in PIPELINES:
        name = groups[pipeline][0]
        preds[pipeline] = load_predictor(run_dir, results, name, device)
        scored[pipeline] = score_paths(preds[pipeline], ts.paths)
    chosen = choose_examples(disagreement(scored["classifier"][0], scored["detector"][0]), n=n)
    cols = 4
    rows = (len(chosen) + cols - 1) // cols
    # per row an image and a caption strip below it: captions never run into the next row's images
    fig, axes = plt.subplots(
        rows * 2, cols, figsize=(cols * 3.4, rows * 4.6), squeeze=False, gridspec_kw={"height_ratios": [3, 1.5] * rows}
    )
    for ax in axes.flat:
        ax.axis("off")
    fig.subplots_adjust(left=0.02, right=0.98, top=1 - 1.0 / fig.get_figheight(), bottom=0.01, wspace=0.08, hspace=0.12)
    for k, i in enumerate(chosen):
        ax, cap = axes[2 * (k // cols), k % cols], axes[2 * (k // cols) + 1, k % cols]
        ax.axis("on")
        cls = Prediction(
            groups["classifier"][0],
            "classifier",
            ts.classes,
            scored["classifier"][0][i],
            preds["classifier"].thresholds,
        )
        det = Prediction(
            groups["detector"][0],
            "detector",
            ts.classes,
            scored["detector"][0][i],
            preds["detector"].thresholds,
            scored["detector"][1][i],
        )
        image = read_image(ts.paths[i])
        draw_prediction(ax, image, ts.classes, ts.truth[i], cls, det, title=ts.ids[i], fontsize=7.5, caption_ax=cap)
    n_top = min(len(chosen), max(n - 4, 0))
    fig.suptitle(
        f"{len(chosen)} test images: the {n_top} where the models' scores differ most, then random ones\n"
        "boxes at the detector's tuned per-class thresholds; red text = a mistake against the truth",
        fontsize=9,
    )
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, format="png", dpi=72)  # 12 photos: at 110 dpi the PNG alone was 1.3 MB
    plt.close(fig)
    return out_path


def render(run_dir: str | Path, results: dict, out_path: str | Path, keep_existing: bool = False) -> Path | str:
    """plot_predictions for the report: any failure is the reason, never a crash. An earlier PNG is
    deleted (it could contradict a changed results.json), unless `keep_existing`: the run's models or test images
    are gone, so the earlier PNG, drawn from them, is the only one there can be, and is kept."""
    out_path = Path(out_path)
    try:
        drawn = plot_predictions(run_dir, results, out_path)
    except Exception as exc:
        drawn = f"could not draw: {type(exc).__name__}: {exc}"
    if isinstance(drawn, str):
        if keep_existing and out_path.is_file():
            print(
                f"warning: {out_path} kept from an earlier render; it cannot be drawn again ({drawn})", file=sys.stderr
            )
            return out_path
        out_path.unlink(missing_ok=True)
    return drawn
