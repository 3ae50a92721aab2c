"""plots/budget_curve.png from made-up points: a real PNG, and a reason instead of a figure when there is nothing."""

from __future__ import annotations

from PIL import Image

from benchmarks.report.budget import plot_budget_curve, plot_budget_from_results


def _points(seeds=(0, 1, 2)):
    out = []
    for method, h0, ap0 in (("folder_sort", 0.01, 0.6), ("cvat", 0.2, 0.5)):
        for f in (0.25, 0.5, 1.0):
            for s in seeds:
                out.append({
                    "candidate": "m", "method": method, "fraction": f, "seed": s, "n_images": int(400 * f),
                    "labeling": {"hours": h0 * f * 4}, "accuracy": {"macro_ap": ap0 + 0.2 * f + 0.01 * s,
                    "macro_ap_ci95": [ap0, ap0 + 0.3], "baseline": {"macro_ap": 0.3}},
                })  # fmt: skip
    return out


def test_writes_a_png(tmp_path):
    out = plot_budget_curve(_points(), tmp_path / "plots" / "budget_curve.png", labeling_usd_per_hour=25)
    assert out == tmp_path / "plots" / "budget_curve.png"
    with Image.open(out) as im:
        assert im.format == "PNG" and im.size[0] > 800 and im.size[1] > 300
    one_seed = plot_budget_curve(_points(seeds=(0,)), tmp_path / "one.png")
    assert one_seed.stat().st_size > 10_000


def test_nothing_to_draw_is_a_reason_and_removes_a_stale_png(tmp_path):
    stale = tmp_path / "budget_curve.png"
    stale.write_bytes(b"old")
    pts = _points()
    for p in pts:
        p["accuracy"]["macro_ap"] = None
    reason = plot_budget_curve(pts, stale)
    assert isinstance(reason, str) and "no budget point" in reason and not stale.exists()
    assert "no budget curve" in plot_budget_from_results({})
