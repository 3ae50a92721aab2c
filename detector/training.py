"""`train()`: a YOLO dataset view + DetectorConfig -> an artifact folder (weights, history, timing, thresholds).

Ultralytics runs its own loop; this module only chooses its arguments, keeps it offline and inside `out_dir`,
times it and copies what the harness reads into a fixed layout:

    out_dir/weights/best.pt, last.pt   config.json  classes.json  thresholds.json  history.csv  training.json
    out_dir/ultralytics/               Ultralytics' own run folder (results.csv, args.yaml; its weights moved out)

history.csv is Ultralytics' results.csv plus the image-level val macro AP of each epoch (detector.val_scores).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from pathlib import Path

import yaml

from detector.config import ConfigError, DetectorConfig
from detector.models import resolve_source
from detector.progress import EpochLog
from detector.val_scores import ValImageScores, write_history

ARTIFACT_FILES = (
    "weights/best.pt",
    "weights/last.pt",
    "config.json",
    "classes.json",
    "thresholds.json",
    "history.csv",
    "training.json",
)
RUN_NAME = "ultralytics"
DEFAULT_THRESHOLD = 0.25  # Ultralytics' predict conf default; the harness tunes per-class thresholds on val


def _view_info(view_dir: Path) -> tuple[dict, list[str], str]:
    data_yaml = view_dir / "data.yaml"
    if not data_yaml.is_file():
        raise ConfigError(f"detector: {data_yaml} is missing; build the view with detector.build_dataset_view()")
    data = yaml.safe_load(data_yaml.read_text())
    names = data.get("names") or {}
    classes = [names[i] for i in sorted(names)] if isinstance(names, dict) else list(names)
    digest = hashlib.sha256()
    for f in (data_yaml, view_dir / "view.json"):
        if f.is_file():
            digest.update(f.read_bytes())
    return data, classes, digest.hexdigest()


def _finished(out_dir: Path, cfg: DetectorConfig, view_sha: str) -> bool:
    if not all((out_dir / f).is_file() for f in ARTIFACT_FILES):
        return False
    try:
        same_cfg = json.loads((out_dir / "config.json").read_text()) == json.loads(json.dumps(cfg.to_dict()))
        return same_cfg and json.loads((out_dir / "training.json").read_text()).get("view_sha256") == view_sha
    except (OSError, json.JSONDecodeError):
        return False


def _progress_callbacks(model, state: dict, progress: bool, total_epochs: int) -> None:
    """Per-epoch timing and best epoch for training.json; when `progress`, one line per epoch (detector.progress,
    the classifier's format) and, on a terminal only, a bar over the epoch's batches. Ultralytics' own bars are off:
    YOLO_VERBOSE=false hides them along with its logging."""
    epoch_log = EpochLog("detector", total_epochs)
    bar_on = progress and sys.stdout.isatty()  # a bar redraws with carriage returns: useless in a log file

    def on_train_epoch_start(trainer):
        state["epoch_t0"] = time.perf_counter()
        if bar_on:
            from tqdm import tqdm

            total = len(trainer.train_loader)
            state["bar"] = tqdm(total=total, desc=f"detector epoch {trainer.epoch + 1}", leave=False, unit="batch")

    def on_train_batch_end(trainer):
        if state.get("bar") is not None:
            state["bar"].update(1)

    def on_train_epoch_end(trainer):
        bar = state.pop("bar", None)
        if bar is not None:
            bar.close()

    def on_fit_epoch_end(trainer):
        t0 = state.pop("epoch_t0", None)
        if t0 is None:
            return  # final_eval() of best.pt fires this callback too, outside any epoch
        dt = time.perf_counter() - t0
        state["epoch_s"].append(dt)
        epoch = trainer.epoch + 1
        if trainer.fitness is not None and trainer.fitness == trainer.best_fitness:
            state["best_epoch"] = epoch
        if progress:
            m = trainer.metrics or {}
            tl = getattr(trainer, "tloss", None)  # a dict of running mean losses in 8.4, a tensor before
            loss = (
                float(sum(float(v) for v in tl.values()) if isinstance(tl, dict) else tl.sum())
                if tl is not None
                else float("nan")
            )
            metrics = {"mAP50": m.get("metrics/mAP50(B)"), "mAP50-95": m.get("metrics/mAP50-95(B)")}
            print(epoch_log.line(epoch, dt, loss, metrics), flush=True)

    model.add_callback("on_train_epoch_start", on_train_epoch_start)
    model.add_callback("on_train_batch_end", on_train_batch_end)
    model.add_callback("on_train_epoch_end", on_train_epoch_end)
    model.add_callback("on_fit_epoch_end", on_fit_epoch_end)


def _image_ap_callbacks(model, state: dict) -> None:
    """Each epoch's image-level val macro AP into state["image_ap"] {epoch: value} (detector.val_scores). The
    final_eval() pass over best.pt lands at the last epoch + 1, a row history.csv does not have."""
    scores = ValImageScores()
    scores.register(model)

    def on_fit_epoch_end(trainer):
        state["image_ap"][trainer.epoch + 1] = scores.take()

    model.add_callback("on_fit_epoch_end", on_fit_epoch_end)


def train(view_dir: str | Path, cfg: DetectorConfig, out_dir: str | Path, progress: bool = True) -> Path:
    """Train on the view's train split (val split for model selection); returns the artifact folder. An artifact
    already finished with the same config and view is returned as is (the harness resumes runs)."""

    from detector import hardware
    from detector.runtime import import_ultralytics

    view_dir, out_dir = Path(view_dir).resolve(), Path(out_dir).resolve()
    data, classes, view_sha = _view_info(view_dir)
    if _finished(out_dir, cfg, view_sha):
        if progress:
            print(f"  detector: {out_dir} is already trained with this config and data; kept")
        return out_dir
    source, start = resolve_source(cfg.model, cfg.weights)
    device = hardware.resolve_device(cfg.device)
    workers = hardware.choose_workers(cfg.workers, device)
    import_ultralytics()
    from ultralytics import YOLO

    run_dir = out_dir / RUN_NAME
    shutil.rmtree(run_dir, ignore_errors=True)  # Ultralytics appends to an existing results.csv
    out_dir.mkdir(parents=True, exist_ok=True)
    args = {
        "plots": False,  # its plots cost seconds per run and nothing here reads them
        "amp": device.startswith("cuda"),  # AMP is a CUDA feature; its AMP check would try to download yolo26n.pt
        **cfg.extra,
        "data": str(view_dir / "data.yaml"),
        "epochs": cfg.epochs,
        "imgsz": cfg.imgsz,
        "batch": cfg.batch,
        "device": hardware.ultralytics_device(device),
        "workers": workers,
        "seed": cfg.seed,
        "patience": cfg.patience,
        "close_mosaic": cfg.close_mosaic,
        "project": str(out_dir),
        "name": RUN_NAME,
        "exist_ok": True,
        "verbose": False,
    }
    state: dict = {"epoch_s": [], "best_epoch": None, "image_ap": {}}
    with hardware.restore_globals(), hardware.keep_torch_threads() as threads:
        try:
            model = YOLO(source, task="detect")
        except Exception as exc:
            if start != "pretrained":
                raise
            from detector.models import WeightsMissingError

            raise WeightsMissingError(  # a truncated download or copy: a traceback deep in torch.load otherwise
                f"detector weights {source} cannot be read ({type(exc).__name__}); the file is damaged or incomplete: "
                "download or copy it again, or train from scratch with weights: none"
            ) from None
        _progress_callbacks(model, state, progress, cfg.epochs)
        _image_ap_callbacks(model, state)
        if progress:
            print(f"  detector: {cfg.model} ({start}, {source}) on {device}, {cfg.epochs} epochs at {cfg.imgsz} px")
        t0 = time.perf_counter()
        model.train(**args)
        train_wall_s = time.perf_counter() - t0
    return _write_artifact(out_dir, run_dir, cfg, classes, view_dir, view_sha, state, device, workers, threads, {
        "train_wall_s": train_wall_s, "start": start,
        "source": source,
    })  # fmt: skip


def _write_artifact(out_dir, run_dir, cfg, classes, view_dir, view_sha, state, device, workers, threads, t) -> Path:
    weights = out_dir / "weights"
    weights.mkdir(exist_ok=True)
    for name in ("best.pt", "last.pt"):
        src = run_dir / "weights" / name
        if not src.is_file():
            raise RuntimeError(f"detector: Ultralytics finished without {src}; see its run folder {run_dir}")
        shutil.move(src, weights / name)  # moved, not copied: one copy of the weights per artifact
    write_history(run_dir / "results.csv", out_dir / "history.csv", state["image_ap"])
    cfg.save(out_dir / "config.json")
    (out_dir / "classes.json").write_text(json.dumps(classes, indent=2) + "\n")
    write_thresholds(out_dir, classes, [DEFAULT_THRESHOLD] * len(classes), "default (Ultralytics predict conf)")
    view = json.loads((view_dir / "view.json").read_text()) if (view_dir / "view.json").is_file() else {}
    n_train = (view.get("splits", {}).get("train") or {}).get("images")
    epochs_run = len(state["epoch_s"])
    summary = {
        "train_wall_s": round(t["train_wall_s"], 2),
        "epochs_run": epochs_run,
        # mean wall time of an epoch incl. its val pass; train_wall_s also holds set-up and the final val of best.pt
        "s_per_epoch": round(sum(state["epoch_s"]) / epochs_run, 3) if epochs_run else None,
        "train_images_per_s": round(n_train * epochs_run / t["train_wall_s"], 2) if n_train else None,
        "best_epoch": state["best_epoch"],
        "stopped_early": epochs_run < cfg.epochs,
        "device": device,
        "workers": workers,
        "threads": threads,
        "conf_floor": cfg.conf_floor,
        "iou": cfg.iou,
        "start": t["start"],
        "weights_source": t["source"],
        "n_train_images": n_train,
        "view_dir": str(view_dir),
        "view_sha256": view_sha,
        "ultralytics_run": str(run_dir),
        "ultralytics_version": _ultralytics_version(),
    }
    (out_dir / "training.json").write_text(json.dumps(summary, indent=2) + "\n")
    return out_dir


def _ultralytics_version() -> str:
    import ultralytics

    return ultralytics.__version__


def write_thresholds(out_dir: Path, classes: list[str], values, method: str) -> None:
    doc = {"thresholds": {c: float(v) for c, v in zip(classes, values)}, "method": method}
    (Path(out_dir) / "thresholds.json").write_text(json.dumps(doc, indent=2) + "\n")
