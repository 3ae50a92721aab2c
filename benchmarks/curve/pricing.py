"""Labeling hours of one budget point, with a range: the same rates as the whole-bill cost (labeling/cost.py).

What a point costs: the classifier's points cost folder-sorting the subset's images, the detector's points cost
drawing the subset's boxes in CVAT (per image where the logs give only a per-image rate). Every point also pays
for labeling the fixed val split, which each method needs too: the counts passed in `val` are added, and the record
says so (`includes_val: True`, with the train and val parts apart).

The range (`hours_lo`, `hours_hi`):
- modeled box rate: the cited protocols span 7 s (extreme clicking) to 35 s (draw and verify) per box
  (labeling/rates.py); the point estimate uses the configured protocol's rate.
- modeled folder-sort rate: the 1.4 s per image figure is one session (labeling/rates.py), so it has no measured
  spread; FOLDER_SORT_RANGE_S below is an assumption (x0.7 to x2) stated as such in `basis`.
- measured rates: a 95% CI of the mean per-item time (normal approximation, mean +- 1.96 sd / sqrt(n)) from
  per-image times (`samples_s`, from samples.per_image_seconds; their relative CI scales a per-box rate too);
  below MIN_SAMPLES items the record warns. Without samples
  the range is the point (no spread known) and the record says so.
"""

from __future__ import annotations

import math
import numbers

from benchmarks.labeling.cost import modeled_rate
from benchmarks.labeling.rates import BOX_RATES_S, LabelingRates
from benchmarks.registry import methods

FOLDER_SORT_RANGE_S = (1.0, 2.8)  # assumed: x0.7 to x2 around the single 1.4 s session (no spread was measured)
MIN_SAMPLES = 50  # below this many timed items a measured CI is too unstable to lean on: warn


def _counts(d: dict | None, where: str) -> tuple[int, int, int]:
    d = d or {}
    out = []
    for key in ("n_images", "n_labels", "n_boxes"):
        v = d.get(key, 0) or 0
        if not (isinstance(v, numbers.Integral) and v >= 0):
            raise ValueError(f"labeling_hours: {where}.{key} = {v!r}; must be a count >= 0")
        out.append(v)
    return tuple(out)


def _part(c: tuple[int, int, int], hours: float) -> dict:
    return {"n_images": c[0], "n_labels": c[1], "n_boxes": c[2], "hours": hours}


def _ci(samples: list[float]) -> tuple[float, float, float, int]:
    x = [float(s) for s in samples if s is not None and math.isfinite(float(s))]
    n = len(x)
    mean = sum(x) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in x) / (n - 1)) if n > 1 else 0.0
    half = 1.96 * sd / math.sqrt(n)
    return mean, max(0.0, mean - half), mean + half, n


def _rate(method: str, rates: LabelingRates, measured: dict | None, samples_s: list[float] | None) -> dict:
    """{unit, value, lo, hi, source, basis, n_samples, warnings}: seconds per image or per box."""
    warnings: list[str] = []
    m = methods.get(method)
    if measured and measured.get("source") != "modeled":
        unit = "box" if m.unit == "box" and measured.get("s_per_box") else "image"
        value = measured.get(f"s_per_{unit}")
        if value is None:
            raise ValueError(f"labeling_hours: measured {method} rate has no s_per_{unit}; pass the cost.py entry")
        lo = hi = float(value)
        n = 0
        basis = measured.get("basis") or f"{measured.get('source', 'measured')} rate"
        if samples_s:
            mean, lo, hi, n = _ci(samples_s)
            # the CI is of the mean per-item time; centred on the sample mean, scaled to the log's own total rate
            lo, hi = value * lo / mean if mean else lo, value * hi / mean if mean else hi
            basis += f"; range: 95% CI of the mean over {n} timed images, applied to the per-{unit} rate"
            if n < MIN_SAMPLES:
                warnings.append(f"{method}: only {n} timed images (< {MIN_SAMPLES}): the rate's CI is unstable")
        else:
            basis += "; no per-item times: range not known, lo = hi = the point"
            warnings.append(f"{method}: measured rate without per-item times: no range")
        return {"unit": unit, "value": float(value), "lo": lo, "hi": hi, "source": measured.get("source", "measured"),
                "basis": basis, "n_samples": n, "warnings": warnings}  # fmt: skip
    value, citation = modeled_rate(m, rates)
    if m.modeled_s is not None:  # a registered method's own modeled rate: no spread known
        basis = f"{citation}; no spread known: lo = hi = the rate"
        return {"unit": m.unit, "value": value, "lo": value, "hi": value, "source": "modeled", "basis": basis,
                "n_samples": 0, "warnings": warnings}  # fmt: skip
    if m.unit == "image":
        lo, hi = FOLDER_SORT_RANGE_S
        basis = f"{citation}; range {lo:g}-{hi:g} s assumed (x0.7-x2; one session, no spread)"
        return {"unit": "image", "value": value, "lo": min(lo, value), "hi": max(hi, value), "source": "modeled",
                "basis": basis, "n_samples": 0, "warnings": warnings}  # fmt: skip
    lo, hi = min(BOX_RATES_S.values()), max(BOX_RATES_S.values())
    basis = f"{citation}; range {lo:g}-{hi:g} s per box: the cited protocols (extreme clicking to draw-and-verify)"
    return {"unit": "box", "value": value, "lo": min(lo, value), "hi": max(hi, value),
            "source": "modeled", "basis": basis, "n_samples": 0, "warnings": warnings}  # fmt: skip


def labeling_hours(
    method: str,
    n_images: int,
    n_labels: int,
    n_boxes: int,
    val: dict | None,
    rates: LabelingRates | None = None,
    measured: dict | None = None,
    samples_s: list[float] | None = None,
    labeling_usd_per_hour: float | None = None,
) -> dict:
    """Hours to label a point's train subset plus the fixed val split, for a labeling `method` ('folder_sort', 'cvat').

    `val`: {n_images, n_labels, n_boxes} of the val split. `measured`: the method's entry of
    labeling.cost.labeling_cost() when its source is measured/rough (None or source 'modeled': the cited rates).
    `samples_s`: per-item times (per image, or per box for a per-box rate) behind a measured rate, for its CI.
    Returns {hours, hours_lo, hours_hi, source, includes_val: True, train, val, rate, warnings, usd...}."""
    method = methods.get(method).name  # an unknown method: the error lists the registered ones
    train_c, val_c = (
        _counts({"n_images": n_images, "n_labels": n_labels, "n_boxes": n_boxes}, "train"),
        _counts(val, "val"),
    )
    r = _rate(method, rates or LabelingRates(), measured, samples_s)
    k = 2 if r["unit"] == "box" else 0  # which count the rate multiplies

    def h(count: int, s: float) -> float:
        return count * s / 3600

    out = {
        "method": method,
        "hours": h(train_c[k] + val_c[k], r["value"]),
        "hours_lo": h(train_c[k] + val_c[k], r["lo"]),
        "hours_hi": h(train_c[k] + val_c[k], r["hi"]),
        "source": r["source"],
        "includes_val": True,
        "train": _part(train_c, h(train_c[k], r["value"])),
        "val": _part(val_c, h(val_c[k], r["value"])),
        "rate": {key: r[key] for key in ("unit", "value", "lo", "hi", "n_samples", "basis")},
        "warnings": r["warnings"],
    }  # fmt: skip
    out.update(money(out, labeling_usd_per_hour))
    return out


def money(labeling: dict, labeling_usd_per_hour: float | None = None) -> dict:
    """{usd, usd_lo, usd_hi, labeling_usd_per_hour} of a labeling record; all None when no rate is configured."""
    if labeling_usd_per_hour is None:
        return {"usd": None, "usd_lo": None, "usd_hi": None, "labeling_usd_per_hour": None}
    if not labeling_usd_per_hour >= 0:
        raise ValueError(f"labeling_usd_per_hour = {labeling_usd_per_hour!r}; must be a number >= 0")
    p = float(labeling_usd_per_hour)
    return {"usd": labeling["hours"] * p, "usd_lo": labeling["hours_lo"] * p, "usd_hi": labeling["hours_hi"] * p,
            "labeling_usd_per_hour": p}  # fmt: skip


def compute_usd(train_wall_s: float | None, compute_usd_per_hour: float | None) -> float | None:
    """Training compute in money: wall seconds x the configured hourly rate (None when either is unknown)."""
    if train_wall_s is None or compute_usd_per_hour is None:
        return None
    return float(train_wall_s) / 3600 * float(compute_usd_per_hour)
