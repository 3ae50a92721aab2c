"""Several runs side by side, from their results.json files alone (`clsdet compare RUN_DIR RUN_DIR...`): one row
per run x candidate with the machine, the commit, the config and the headline numbers, and the config keys whose
values differ between the runs."""

from __future__ import annotations

import hashlib
import json

import pandas as pd

from benchmarks.report.flat import _get, latency_rows, results_rows

# (column, path into the row's context: `run` = results.json, `point` = the candidate's results.csv headline row)
RUN_COLUMNS = [
    ("run_id", "run.run_id"),
    ("created_utc", "run.created_utc"),
    ("name", "run.name"),
    ("profile", "run.profile"),
    ("config_hash", "config_hash"),
    ("hostname", "run.machine.hostname"),
    ("cpu", "run.machine.cpu"),
    ("gpu", "gpu"),
    ("torch", "run.machine.torch"),
    ("commit", "commit"),
    ("test_images", "run.split.counts.test"),
]
POINT_COLUMNS = [
    "candidate", "method", "images", "labeling_hours", "macro_ap", "macro_ap_ci95_lo", "macro_ap_ci95_hi",
    "baseline_macro_ap", "beats_baseline", "macro_f1", "box_map50_95", "train_wall_s", "params", "file_mb_fp32",
]  # fmt: skip
# the configs' keys left out of the comparison: where a run was logged and read from, not what it measured
IGNORED_CONFIG = ("mlflow", "profiles", "base_dir", "config_file")
MAX_CELL = 60  # characters of a config value shown (a class list can be long); the csv/json output is not cut


def _flatten(d, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(d, dict):
        for k, v in d.items():
            out.update(_flatten(v, f"{prefix}{k}."))
    elif isinstance(d, list) and d and all(isinstance(x, dict) and "name" in x for x in d):  # candidates, by name
        for x in d:
            out.update(_flatten({k: v for k, v in x.items() if k != "name"}, f"{prefix}{x['name']}."))
    else:
        out[prefix.rstrip(".")] = json.dumps(d, sort_keys=True, default=str)
    return out


def _config(results: dict) -> dict:
    return {k: v for k, v in (results.get("config") or {}).items() if k not in IGNORED_CONFIG}


def config_hash(results: dict) -> str:
    return hashlib.sha256(json.dumps(_config(results), sort_keys=True, default=str).encode()).hexdigest()[:12]


def _p50_b1(results: dict) -> dict[str, float | None]:
    """p50 ms at batch 1, eager float32, model scope, on the run's own machine: one column per device."""
    mid = (results.get("machine") or {}).get("machine_id")
    out: dict[str, dict[str, float | None]] = {}
    for r in latency_rows(results):
        if (r["kind"], r["backend"], r["dtype"], r["batch_size"], r["scope"]) != (
            "latency", "eager", "float32", 1, "model"
        ) or r["machine_id"] != mid:  # fmt: skip
            continue
        out.setdefault(r["model"], {})[f"p50_ms_b1_{r['device']}"] = r["latency_ms_p50"]
    return out


def compare_frame(runs: list[dict]) -> pd.DataFrame:
    rows = []
    for results in runs:
        commit = results.get("commit") or {}
        gpus = (results.get("machine") or {}).get("gpu") or []
        ctx = {
            "run": results,
            "config_hash": config_hash(results),
            "commit": f"{str(commit.get('id') or '?')[:10]}{' (dirty)' if commit.get('dirty') else ''}",
            "gpu": ", ".join(str(g.get("name", g) if isinstance(g, dict) else g) for g in gpus) or "none",
        }
        run_part = {name: _get(ctx, path) for name, path in RUN_COLUMNS}
        latency = _p50_b1(results)
        for point in results_rows(results):
            if not point.get("headline"):
                continue
            rows.append({**run_part, **{k: point.get(k) for k in POINT_COLUMNS}, **latency.get(point["candidate"], {})})
    return pd.DataFrame(rows)


def config_differences(runs: list[dict]) -> pd.DataFrame:
    """config key x run: the keys whose values are not the same in every run (a key absent from a run is '—')."""
    flat = [_flatten(_config(r)) for r in runs]
    keys = sorted({k for f in flat for k in f})
    differ = [k for k in keys if len({f.get(k, "—") for f in flat}) > 1]

    def cell(text: str) -> str:
        return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"

    return pd.DataFrame({"config key": differ, **{r.get("run_id", str(i)): [cell(f.get(k, "—")) for k in differ]
                                                  for i, (r, f) in enumerate(zip(runs, flat))}})  # fmt: skip


def side_by_side(df: pd.DataFrame) -> pd.DataFrame:
    """The comparison with one column per run x candidate and one row per field: what `clsdet compare` prints."""
    if df.empty:
        return df
    wide = df.map(lambda v: "—" if v is None or v != v else f"{v:.4g}" if isinstance(v, float) else v)  # v != v: nan
    wide.index = [f"{r} / {c}" for r, c in zip(wide["run_id"], wide["candidate"])]
    return wide.drop(columns=["run_id"]).T.reset_index().rename(columns={"index": "field"})
