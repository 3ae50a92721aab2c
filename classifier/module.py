"""LightningModule: step logic and metrics only (the network comes from classifier.network.build_network)."""

from __future__ import annotations

import math

import lightning as L
import torch
from torch import nn
from torchmetrics import MetricCollection
from torchmetrics.classification import (
    MultilabelAveragePrecision,
    MultilabelExactMatch,
    MultilabelF1Score,
    MultilabelHammingDistance,
)
from torchmetrics.functional.classification import binary_average_precision
from torchmetrics.utilities import dim_zero_cat

from classifier.losses import masked_bce_with_logits, targets_for_metrics

MONITOR = "val/macro_ap"


class NonFiniteLossError(RuntimeError):
    user_error = True


class MacroAveragePrecision(MultilabelAveragePrecision):
    """Macro AP over the classes with at least one known positive. torchmetrics scores a class without positives
    as AP 0 and averages it in, which would understate a val split where a rare class happens to be absent; and a
    class whose targets are all ignored (NA: a class no source labels) makes it raise IndexError. So AP is
    computed per class, on that class's known targets, for the classes with a positive only."""

    def __init__(self, num_labels: int, ignore_index: int = -1):
        super().__init__(num_labels=num_labels, average="none", ignore_index=ignore_index)

    def compute(self) -> torch.Tensor:
        preds, target = dim_zero_cat(self.preds), dim_zero_cat(self.target)
        aps = []
        for c in range(target.shape[1]):
            known = target[:, c] != self.ignore_index
            if (target[known, c] == 1).any():
                aps.append(binary_average_precision(preds[known, c], target[known, c].long()))
        return torch.stack(aps).mean() if aps else preds.new_tensor(float("nan"))


class MacroF1Score(MultilabelF1Score):
    """Macro F1 over the classes with a known positive (F1 is undefined without one; benchmarks/evaluate.py's
    rule). torchmetrics' macro would average in a 0 for a class whose targets are all NA."""

    def __init__(self, num_labels: int, ignore_index: int = -1):
        super().__init__(num_labels=num_labels, average="none", ignore_index=ignore_index)

    def compute(self) -> torch.Tensor:
        per_class = super().compute()
        has_pos = (self.tp + self.fn) > 0
        return per_class[has_pos].mean() if has_pos.any() else per_class.new_tensor(float("nan"))


class MacroHammingDistance(MultilabelHammingDistance):
    """Macro Hamming distance over the classes with at least one labelled cell: a class whose targets are all NA
    has no cell to be wrong about, and torchmetrics would count it as all wrong."""

    def __init__(self, num_labels: int, ignore_index: int = -1):
        super().__init__(num_labels=num_labels, average="none", ignore_index=ignore_index)

    def compute(self) -> torch.Tensor:
        per_class = super().compute()
        known = (self.tp + self.fp + self.tn + self.fn) > 0
        return per_class[known].mean() if known.any() else per_class.new_tensor(float("nan"))


def make_metrics(num_classes: int) -> MetricCollection:
    """Image-level multi-label metrics; NA targets are mapped to -1 and ignored (ignore_index=-1). The macro
    averages skip classes with nothing to average (no positive, or no labelled cell: a class no source labels)."""
    kw = {"num_labels": num_classes, "ignore_index": -1}
    return MetricCollection(
        {
            "macro_ap": MacroAveragePrecision(num_classes, ignore_index=-1),
            "micro_f1": MultilabelF1Score(average="micro", **kw),
            "macro_f1": MacroF1Score(num_classes, ignore_index=-1),
            "hamming": MacroHammingDistance(num_classes, ignore_index=-1),
            "exact_match": MultilabelExactMatch(**kw),
        }
    )


def warmup_cosine(step: int, warmup_steps: int, total_steps: int) -> float:
    """LR factor: linear warm-up from ~0 to 1 over warmup_steps, then cosine decay to 0 at total_steps."""
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


class ClassifierModule(L.LightningModule):
    def __init__(
        self,
        net: nn.Module,
        num_classes: int,
        pos_weight: torch.Tensor | None = None,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        warmup_epochs: float = 1.0,
    ):
        super().__init__()
        self.net = net
        self.register_buffer("pos_weight", pos_weight if pos_weight is not None else torch.ones(num_classes))
        self.lr, self.weight_decay, self.warmup_epochs = lr, weight_decay, warmup_epochs
        metrics = make_metrics(num_classes)
        self.train_metrics = metrics.clone(prefix="train/")
        self.val_metrics = metrics.clone(prefix="val/")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def model_step(self, batch):
        x, y = batch
        logits = self(x)
        loss = masked_bce_with_logits(logits.float(), y, self.pos_weight)
        return loss, torch.sigmoid(logits.float()), targets_for_metrics(y)

    def training_step(self, batch, batch_idx: int):
        loss, probs, y = self.model_step(batch)
        if not torch.isfinite(loss):
            raise NonFiniteLossError(
                f"training loss is {loss.item()} at epoch {self.current_epoch}, batch {batch_idx}: the run stops. "
                f"Lower lr (now {self.lr}), raise warmup_epochs, or use precision='32-true'"
            )
        self.train_metrics.update(probs, y)
        self.log("train/loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(y), sync_dist=True)
        return loss

    def on_train_epoch_end(self) -> None:
        self.log_dict(self.train_metrics.compute())
        self.train_metrics.reset()

    def validation_step(self, batch, batch_idx: int):
        loss, probs, y = self.model_step(batch)
        self.val_metrics.update(probs, y)
        self.log("val/loss", loss, on_step=False, on_epoch=True, batch_size=len(y), sync_dist=True)

    def on_validation_epoch_end(self) -> None:
        values = self.val_metrics.compute()
        self.log(MONITOR, values.pop(MONITOR), prog_bar=True)
        self.log_dict(values)
        self.val_metrics.reset()

    def configure_optimizers(self):
        decay, no_decay = [], []
        for p in self.net.parameters():
            if p.requires_grad:
                # biases and norm scales are not weights to shrink (common AdamW practice, e.g. timm)
                (decay if p.ndim >= 2 else no_decay).append(p)
        optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": self.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=self.lr,
        )
        total = max(1, int(self.trainer.estimated_stepping_batches))
        warmup = round(total * self.warmup_epochs / max(1, self.trainer.max_epochs))
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: warmup_cosine(s, warmup, total))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
