"""`train()`: wires data, network, LightningModule and Trainer together, then writes the artifact folder."""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import time
import warnings
from pathlib import Path

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping, LearningRateMonitor, ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.loggers import CSVLogger, MLFlowLogger

from classifier import hardware
from classifier.backbones import IMAGENET_MEAN, IMAGENET_STD
from classifier.config import ClassifierConfig, ConfigError
from classifier.data import ClassifierDataModule, compute_normalization
from classifier.losses import pos_weight_from_targets
from classifier.module import MONITOR, ClassifierModule
from classifier.network import build_network
from classifier.progress import EpochLog

DEFAULT_THRESHOLD = 0.5
DEFAULT_THRESHOLD_METHOD = "default 0.5 (not tuned; the harness tunes per-class thresholds on val)"
ARTIFACT_FILES = (
    "weights.pt",
    "config.json",
    "classes.json",
    "thresholds.json",
    "normalization.json",
    "history.csv",
    "training.json",
)


def _check_inputs(train_paths, train_targets, val_paths, val_targets, classes) -> tuple[np.ndarray, np.ndarray]:
    train_targets = np.asarray(train_targets, dtype=np.float32)
    val_targets = np.asarray(val_targets, dtype=np.float32)
    for name, paths, targets in (("train", train_paths, train_targets), ("val", val_paths, val_targets)):
        if targets.ndim != 2 or targets.shape != (len(paths), len(classes)):
            raise ConfigError(
                f"{name}_targets has shape {targets.shape}; expected ({len(paths)} images, {len(classes)} classes)"
            )
        bad = ~np.isnan(targets) & (targets != 0) & (targets != 1)
        if bad.any():
            raise ConfigError(f"{name}_targets holds {targets[bad][0]!r}; allowed values are 1, 0 and NaN (NA)")
    if len(train_paths) == 0 or len(val_paths) == 0:
        raise ConfigError(f"train ({len(train_paths)}) and val ({len(val_paths)}) splits must both hold images")
    return train_targets, val_targets


# config keys that change what is kept on disk, not the model: a finished artifact is still finished when they differ
NOT_IDENTITY = ("keep_checkpoints",)


def _identity(cfg: dict) -> dict:
    return {k: v for k, v in cfg.items() if k not in NOT_IDENTITY}


def _finished(out_dir: Path, cfg: ClassifierConfig) -> bool:
    if not all((out_dir / f).is_file() for f in ARTIFACT_FILES):
        return False
    try:
        saved = json.loads((out_dir / "config.json").read_text())
        return _identity(saved) == _identity(json.loads(json.dumps(cfg.to_dict())))
    except (OSError, json.JSONDecodeError):
        return False


def _unanswered(exc: BaseException | None) -> bool:
    """Whether an MLflow error means its server did not answer (refused, reset, timed out after MLflow's retries)."""
    import requests

    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, requests.exceptions.RequestException | ConnectionError):
            return True
        exc = exc.__cause__ or exc.__context__  # MLflow re-raises the requests error without `from`
    return False


class KeepOpenMLFlowLogger(MLFlowLogger):
    """Lightning's MLFlowLogger that leaves a run it was handed (mlflow_run_id) open for its owner to end, and that
    stops logging, with one warning, when the tracking server stops answering: the training goes on (its history is
    in the artifact; the harness logs it, or says what it could not log)."""

    def __init__(self, *args, keep_open: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.keep_open = keep_open
        self._logged: set | None = None  # (metric, step) already in the run
        self.offline: str | None = None  # why logging stopped

    def _unless_down(self, what: str, call, *args, **kwargs) -> None:
        if self.offline:
            return
        try:
            call(*args, **kwargs)
        except Exception as exc:
            if not _unanswered(exc):
                raise
            self.offline = f"{what}: {type(exc).__name__}"
            print(
                f"warning: the MLflow tracking server {self._tracking_uri} does not answer ({self.offline}); the "
                "classifier trains on without logging to it (its history is in the artifact folder)"
            )

    def log_hyperparams(self, params) -> None:
        self._unless_down("log_hyperparams", super().log_hyperparams, params)

    def after_save_checkpoint(self, checkpoint_callback) -> None:
        self._unless_down("after_save_checkpoint", super().after_save_checkpoint, checkpoint_callback)

    def finalize(self, status: str = "success") -> None:
        if not self.keep_open:
            self._unless_down("finalize", super().finalize, status)

    def log_metrics(self, metrics, step=None) -> None:
        self._unless_down("log_metrics", self._log_new_metrics, metrics, step)

    def _log_new_metrics(self, metrics, step=None) -> None:
        """Skip (metric, step) pairs the run already holds: a resumed training repeats the steps after its last
        checkpoint, and the run must not show both attempts at the same step."""
        if self._logged is None:
            self._logged = set()
            if self.keep_open:  # a handed-over run may hold an earlier attempt
                client, run_id = self.experiment, self.run_id
                for key in client.get_run(run_id).data.metrics:
                    self._logged |= {(key, m.step) for m in client.get_metric_history(run_id, key)}
        fresh = {k: v for k, v in metrics.items() if (k, step or 0) not in self._logged}
        self._logged |= {(k, step or 0) for k in fresh}
        if fresh:
            super().log_metrics(fresh, step)


class StartEpoch(Callback):
    """Records the epoch fit() starts at (0, or the resumed one), to time only the epochs this call ran."""

    epoch = 0

    def on_train_start(self, trainer, pl_module) -> None:
        self.epoch = int(trainer.current_epoch)


def _whole_checkpoint(path: Path) -> bool:
    """Whether a checkpoint file is complete: torch.save writes a zip archive, so a file cut short by a full disk or
    a kill fails the archive's own checks (its directory and each member's CRC), without unpickling anything."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            return z.testzip() is None
    except (OSError, zipfile.BadZipFile):
        return False


def _fit(trainer, module, dm, ckpt_path) -> None:
    """trainer.fit, with Ctrl-C staying a KeyboardInterrupt: Lightning catches it, ignores SIGINT from then on and
    calls sys.exit(1), which the harness would record as a failure (exit 1) instead of an interruption (exit 130,
    like the detector). The SIGINT handler is restored, so a second Ctrl-C still stops the process."""
    import signal

    handler = signal.getsignal(signal.SIGINT)
    try:
        trainer.fit(module, datamodule=dm, ckpt_path=ckpt_path)
    except SystemExit:
        if not trainer.interrupted:
            raise
        with contextlib.suppress(ValueError):  # not the main thread: Lightning could not have changed it either
            signal.signal(signal.SIGINT, handler if handler is not None else signal.default_int_handler)
        raise KeyboardInterrupt("classifier training interrupted") from None


class Bar(TQDMProgressBar):
    """Lightning's bar, with epochs numbered from 1 as in the epoch lines (Lightning's own says `Epoch 0`)."""

    def on_train_epoch_start(self, trainer, *args) -> None:
        super().on_train_epoch_start(trainer, *args)
        self.train_progress_bar.set_description(f"classifier epoch {trainer.current_epoch + 1}")


class EpochLine(Callback):
    """Prints one line per finished epoch (classifier.progress): above the bar on a terminal, alone otherwise."""

    def __init__(self, total_epochs: int):
        self.epoch_log = EpochLog("classifier", total_epochs)
        self.t0 = 0.0

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self.t0 = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if not trainer.is_global_zero:
            return  # one line per epoch, not one per DDP process
        # Lightning validates inside the train epoch, so val/macro_ap is in callback_metrics here; train/loss's
        # epoch mean is too (it is reduced before the callbacks' on_train_epoch_end)
        m = trainer.callback_metrics
        line = self.epoch_log.line(
            trainer.current_epoch + 1, time.perf_counter() - self.t0, m.get("train/loss"), {"macro AP": m.get(MONITOR)}
        )
        bar = trainer.progress_bar_callback
        if bar is not None:
            bar.print(line)  # tqdm.write: keeps the bar intact below the line
        else:
            print(line, flush=True)


def _history(log_root: Path):
    """One row per epoch from Lightning's CSV logs (all versions, so a resumed run keeps its earlier epochs)."""
    import pandas as pd

    frames = [pd.read_csv(p) for p in sorted(log_root.glob("version_*/metrics.csv"), key=lambda p: p.stat().st_mtime)]
    if not frames:
        return pd.DataFrame()
    df = pd.concat(frames, ignore_index=True)
    df = df.drop(columns=[c for c in ("step",) if c in df.columns])
    # Lightning writes train and val metrics of one epoch on separate rows; last() takes each column's last value
    hist = df.groupby("epoch", as_index=False).last()
    hist["epoch"] += 1  # Lightning counts from 0; epochs are numbered from 1 here, as the detector's and the log's
    return hist[["epoch", *sorted(c for c in hist.columns if c != "epoch")]]


def _predict(net, loader, device: str) -> np.ndarray:
    net.eval()
    out = []
    with torch.inference_mode():
        for x, _ in loader:
            out.append(torch.sigmoid(net(x.to(device)).float()).cpu())
    return torch.cat(out).numpy().astype(np.float32)


def _trainer(device, cfg, precision, callbacks, loggers, bars: bool, out_dir: Path):
    accelerator, devices = hardware.lightning_devices(device, cfg.devices)
    return L.Trainer(
        accelerator=accelerator,
        devices=devices,
        strategy=cfg.strategy,
        precision=precision,
        max_epochs=cfg.epochs,
        callbacks=callbacks,
        logger=loggers,
        enable_progress_bar=bars,  # a log gets EpochLine's one line per epoch instead
        enable_model_summary=bars,  # a log gets the one-line parameter count printed above instead
        num_sanity_val_steps=0,
        log_every_n_steps=1,
        default_root_dir=out_dir / "lightning",
    )


@contextlib.contextmanager
def _quiet_lightning(quiet: bool):
    """Into a log (not a terminal), Lightning's INFO lines (GPU/TPU available, tips, "stopped: max_epochs reached")
    are noise beside EpochLine's one line per epoch: raised to WARNING for the fit, restored after."""
    import logging

    names = ("lightning.pytorch.utilities.rank_zero", "lightning.pytorch.accelerators.cuda", "lightning.fabric")
    loggers = [logging.getLogger(n) for n in names]
    before = [lg.level for lg in loggers]
    if quiet:
        for lg in loggers:
            lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, before):
            lg.setLevel(level)


def train(
    train_paths,
    train_targets,
    val_paths,
    val_targets,
    classes: list[str],
    cfg: ClassifierConfig | None = None,
    out_dir: str | Path = "classifier_run",
    tracking_uri: str | None = None,
    mlflow_run_id: str | None = None,
    resume: bool = False,
    progress: bool = True,
) -> Path:
    """Train a multi-label classifier; return the artifact folder (see ARTIFACT_FILES). Targets (N, C) 1/0/NaN."""
    cfg = cfg or ClassifierConfig()
    classes = [str(c) for c in classes]
    train_targets, val_targets = _check_inputs(train_paths, train_targets, val_paths, val_targets, classes)
    out_dir = Path(out_dir).resolve()
    if resume and _finished(out_dir, cfg):
        return out_dir  # nothing left to do; re-running would only overwrite the timings with a no-op's
    out_dir.mkdir(parents=True, exist_ok=True)
    L.seed_everything(cfg.seed, workers=True, verbose=False)

    device = hardware.resolve_device(cfg.device)
    precision = hardware.resolve_precision(cfg.precision, device)
    workers = hardware.choose_workers(cfg.workers, device)
    if cfg.weights == "none":  # scratch, or frozen random features
        normalization = compute_normalization(train_paths, cfg.imgsz, seed=cfg.seed)
    else:  # pretrained features expect the statistics they were trained with
        normalization = {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD), "source": "imagenet"}
    pos_weight = pos_weight_from_targets(train_targets) if cfg.pos_weight else np.ones(len(classes), np.float32)

    net = build_network(cfg.backbone, len(classes), cfg.mode, cfg.weights, imgsz=cfg.imgsz)
    counts = net.param_counts()
    print(f"classifier: {cfg.backbone} ({cfg.mode}, weights={cfg.weights}): {counts['trainable_params']:,} of "
          f"{counts['params']:,} parameters train", flush=True)  # fmt: skip
    module = ClassifierModule(
        net, len(classes), torch.as_tensor(pos_weight), cfg.lr, cfg.weight_decay, cfg.warmup_epochs
    )
    dm = ClassifierDataModule(
        train_paths, train_targets, val_paths, val_targets, cfg.imgsz, cfg.batch, workers, normalization,
        cfg.min_crop_scale, cfg.eval_crop_ratio,
    )  # fmt: skip

    ckpt_dir = out_dir / "checkpoints"
    checkpoint = ModelCheckpoint(
        dirpath=ckpt_dir, filename="best", monitor=MONITOR, mode="max", save_last=True, auto_insert_metric_name=False
    )
    start = StartEpoch()
    callbacks = [checkpoint, EarlyStopping(monitor=MONITOR, mode="max", patience=cfg.patience), start]
    bars = progress and sys.stdout.isatty()  # bars redraw with carriage returns: on a terminal only
    if progress:
        callbacks += [EpochLine(cfg.epochs), *([Bar()] if bars else [])]
    loggers = [CSVLogger(save_dir=out_dir / "lightning", name="csv")]
    if tracking_uri:
        loggers.append(
            KeepOpenMLFlowLogger(
                experiment_name="clsdet-classifier",
                tracking_uri=tracking_uri,
                run_id=mlflow_run_id,
                keep_open=mlflow_run_id is not None,
            )
        )
        callbacks.append(LearningRateMonitor(logging_interval="epoch"))
    with _quiet_lightning(not bars):  # "GPU available: ..." is printed here
        trainer = _trainer(device, cfg, precision, callbacks, loggers, bars, out_dir)
    for lg in loggers:
        params = {f"classifier.{k}": v for k, v in cfg.to_dict().items()}
        lg.log_hyperparams(params | {"classifier.workers_used": workers, "classifier.precision_used": precision})

    ckpt_path = None
    last = ckpt_dir / "last.ckpt"
    if resume and last.is_file() and not _whole_checkpoint(last):
        # a full disk or a kill while Lightning wrote it (it writes in place): resuming from it would fail every time
        damaged = last.with_name("last.ckpt.damaged")
        last.replace(damaged)
        print(f"classifier: {last} is damaged (cut off while written; kept as {damaged.name}); training from the "
              "start", flush=True)  # fmt: skip
    if resume and last.is_file():
        ckpt_path = str(last)
    elif resume:
        print(f"classifier: resume=True but {last} does not exist yet; training from the start", flush=True)
    with warnings.catch_warnings(), _quiet_lightning(not bars):
        # a val batch without positives for a class is expected on small splits; MacroAveragePrecision handles it
        warnings.filterwarnings("ignore", message="No positive samples found in target")
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        # Lightning's own use of a torch.utils._pytree API torch deprecated; nothing of ours to fix
        warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)` is deprecated")
        t0 = time.perf_counter()
        _fit(trainer, module, dm, ckpt_path)
        train_wall_s = time.perf_counter() - t0
    if not trainer.is_global_zero:
        return out_dir

    # best checkpoint -> plain state dict of the network (the artifact does not need Lightning to load)
    best_path = checkpoint.best_model_path or str(ckpt_dir / "last.ckpt")
    state = torch.load(best_path, map_location="cpu", weights_only=True)["state_dict"]
    net_state = {k.removeprefix("net."): v for k, v in state.items() if k.startswith("net.")}
    net.load_state_dict(net_state)
    net.to(device)
    val_scores = _predict(net, dm.val_dataloader(), device)

    torch.save(net.cpu().state_dict(), out_dir / "weights.pt")
    cfg.save(out_dir / "config.json")
    (out_dir / "classes.json").write_text(json.dumps(classes, indent=2) + "\n")
    # a neutral start: the harness tunes every model's thresholds on val the same way (benchmarks/evaluate.py)
    thresholds_doc = {"method": DEFAULT_THRESHOLD_METHOD, "thresholds": dict.fromkeys(classes, DEFAULT_THRESHOLD)}
    (out_dir / "thresholds.json").write_text(json.dumps(thresholds_doc, indent=2) + "\n")
    (out_dir / "normalization.json").write_text(json.dumps(normalization, indent=2) + "\n")
    np.save(out_dir / "val_scores.npy", val_scores)
    hist = _history(out_dir / "lightning" / "csv")
    hist.to_csv(out_dir / "history.csv", index=False)

    epochs_run = int(trainer.current_epoch)
    epochs_this_call = max(1, epochs_run - start.epoch)  # a resumed run times only the epochs it ran
    best_epoch, best_ap = None, None
    if MONITOR in hist and hist[MONITOR].notna().any():
        i = hist[MONITOR].idxmax()
        best_epoch, best_ap = int(hist.loc[i, "epoch"]), float(hist.loc[i, MONITOR])
    summary = {
        "train_wall_s": round(train_wall_s, 3),
        "epochs_run": epochs_run,
        "s_per_epoch": round(train_wall_s / epochs_this_call, 3),
        "train_images_per_s": round(len(train_paths) * epochs_this_call / train_wall_s, 2),
        "best_epoch": best_epoch,
        "best_val_macro_ap": best_ap,
        "stopped_early": bool(trainer.should_stop and trainer.current_epoch < cfg.epochs),
        "device": device,
        "precision": precision,
        "workers": workers,
        "threads": torch.get_num_threads(),
        "n_train_images": len(train_paths),
        "num_val_images": len(val_paths),
        "pos_weight": dict(zip(classes, pos_weight.tolist())),
        "normalization_source": normalization["source"],
        **counts,  # params, trainable_params (frozen: the head's only)
    }
    (out_dir / "training.json").write_text(json.dumps(summary, indent=2) + "\n")
    if not cfg.keep_checkpoints:
        # the artifact above is all a later command reads; the checkpoints would hold ~2x its size on disk per run
        shutil.rmtree(ckpt_dir, ignore_errors=True)
    return out_dir
