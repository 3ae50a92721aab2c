"""The static report's plots/predictions.png: test images with every pipeline's decisions, drawn by
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
    """plots/predictions.png: n test images (the largest disagreements between the models, then seeded random ones;
    benchmarks.predictions.scoring.choose_examples) drawn by draw_prediction. The models are the first candidate of
    each registered pipeline in the run, in registry order. Returns the path, or the reason it was not drawn (a
    string, as the report's other plots do)."""
    import matplotlib.pyplot as plt  # deferred: heavy, and the report sets its backend (Agg) first

    run_dir = Path(run_dir)
    groups = candidates(results)
    shown = [p for p in PIPELINES if p in groups]
    if len(shown) < 2:  # the figure compares models: one alone has nothing to differ from
        return f"no trained {' or '.join(p for p in PIPELINES if p not in groups)} in this run"
    ts = test_set(run_dir, results)
    if not ts.ids:
        return "no test images to show" + (f" ({'; '.join(ts.skipped[:3])})" if ts.skipped else "")
    models = []  # (pipeline, candidate, predictor, (N, C) scores, boxes per image or None)
    for pipeline in shown:
        name = groups[pipeline][0]
        pred = load_predictor(run_dir, results, name, device)
        models.append((pipeline, name, pred, *score_paths(pred, ts.paths)))
    chosen = choose_examples(disagreement(*(m[3] for m in models)), n=n)
    cols = 4
    rows = (len(chosen) + cols - 1) // cols
    extra = 0.45 * (len(models) - 2)  # inches per row for the caption lines of models beyond two
    # per row an image and a caption strip below it: captions never run into the next row's images
    fig, axes = plt.subplots(
        rows * 2,
        cols,
        figsize=(cols * 3.4, rows * (4.6 + extra)),
        squeeze=False,
        gridspec_kw={"height_ratios": [3, 1.5 + extra] * rows},
    )
    for ax in axes.flat:
        ax.axis("off")
    fig.subplots_adjust(left=0.02, right=0.98, top=1 - 1.0 / fig.get_figheight(), bottom=0.01, wspace=0.08, hspace=0.12)
    for k, i in enumerate(chosen):
        ax, cap = axes[2 * (k // cols), k % cols], axes[2 * (k // cols) + 1, k % cols]
        ax.axis("on")
        preds = [
            Prediction(name, pipeline, ts.classes, scores[i], pred.thresholds, None if boxes is None else boxes[i])
            for pipeline, name, pred, scores, boxes in models
        ]
        image = read_image(ts.paths[i])
        draw_prediction(ax, image, ts.classes, ts.truth[i], preds, title=ts.ids[i], fontsize=7.5, caption_ax=cap)
    n_top = min(len(chosen), max(n - 4, 0))
    boxed = [pipeline for pipeline, _, _, _, boxes in models if boxes is not None]
    boxes_at = f"boxes at the {' and '.join(boxed)}'s tuned per-class thresholds; " if boxed else ""
    fig.suptitle(
        f"{len(chosen)} test images: the {n_top} where the models' scores differ most, then random ones\n"
        f"{boxes_at}red text = a mistake against the truth",
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
