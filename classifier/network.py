"""The network: a plain nn.Module built by `build_network` (the LightningModule only runs it).

Any torchvision classification model (classifier.backbones) with its ImageNet head replaced generically: the last
module that outputs the 1000 ImageNet classes (an nn.Linear wherever the family keeps it: fc, classifier[-1],
heads.head, head; SqueezeNet's final 1x1 Conv2d) becomes a C-output one.
"""

from __future__ import annotations

import pickle

from torch import nn

from classifier.backbones import (
    IMAGENET_CLASSES,
    BackboneError,
    WeightsError,
    build_kwargs,
    check_backbone,
    default_weights,
    ensure_imagenet_file,
    read_state_dict,
)


class ClassifierNet(nn.Module):
    """A torchvision backbone whose head outputs C logits. `frozen`: only the head trains."""

    def __init__(self, model: nn.Module, head_path: str, frozen: bool = False):
        super().__init__()
        self.model = model
        self.head_path = head_path
        self.frozen = frozen
        if frozen:
            for p in self.model.parameters():
                p.requires_grad_(False)
            for p in self.head.parameters():
                p.requires_grad_(True)

    @property
    def head(self) -> nn.Module:
        return self.model.get_submodule(self.head_path)

    def param_counts(self) -> dict:
        """{"params": all, "trainable_params": those the optimizer updates} (frozen: the head's only)."""
        return {
            "params": sum(p.numel() for p in self.parameters()),
            "trainable_params": sum(p.numel() for p in self.parameters() if p.requires_grad),
        }

    def train(self, mode: bool = True) -> ClassifierNet:
        super().train(mode)
        if self.frozen:
            # a frozen backbone keeps its BatchNorm statistics and drops no units: it is a fixed feature extractor
            self.model.eval()
            self.head.train(mode)
        return self

    def forward(self, x):
        return self.model(x)


def find_head(model: nn.Module) -> str:
    """Dotted path of the last module producing the ImageNet class count (registration order = forward order for
    every torchvision classification family)."""
    found = None
    for path, m in model.named_modules():
        if (isinstance(m, nn.Linear) and m.out_features == IMAGENET_CLASSES) or (
            isinstance(m, nn.Conv2d) and m.out_channels == IMAGENET_CLASSES
        ):
            found = path
    if found is None:
        raise BackboneError(f"{type(model).__name__}: no Linear/Conv2d with {IMAGENET_CLASSES} outputs to replace")
    return found


def _replace_head(model: nn.Module, head_path: str, num_classes: int) -> None:
    old = model.get_submodule(head_path)
    if isinstance(old, nn.Linear):
        new = nn.Linear(old.in_features, num_classes)
    else:
        new = nn.Conv2d(old.in_channels, num_classes, kernel_size=old.kernel_size)
    parent_path, _, attr = head_path.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    setattr(parent, attr, new)
    # SqueezeNet puts a ReLU after its conv head (fine for softmax); sigmoid scores need logits below 0 too
    nxt = int(attr) + 1 if attr.isdigit() else -1
    if isinstance(parent, nn.Sequential) and 0 < nxt < len(parent) and isinstance(parent[nxt], nn.ReLU):
        parent[nxt] = nn.Identity()


def _load_backbone(model: nn.Module, state: dict, head_path: str, source: str) -> None:
    """Load every non-head tensor; the head (other class count) stays freshly initialised."""
    own = model.state_dict()
    head_prefix = head_path + "."
    usable = {k: v for k, v in state.items() if k in own and not k.startswith(head_prefix) and v.shape == own[k].shape}
    missing = sorted(k for k in own if not k.startswith(head_prefix) and k not in usable)
    if missing:
        raise WeightsError(
            f"weights {source}: {len(missing)} backbone tensors missing or of another shape "
            f"(first: {missing[:3]}); the file must hold a state dict of the same backbone"
        )
    model.load_state_dict(usable, strict=False)


def build_network(
    backbone: str, num_classes: int, mode: str = "scratch", weights: str = "none", imgsz: int | None = None
) -> ClassifierNet:
    """The factory. mode frozen|finetune|scratch; weights none|imagenet|<state dict path>; imgsz for the families
    built for one input size (ViT, MaxViT; None -> torchvision's default)."""
    from torchvision.models import get_model

    check_backbone(backbone)
    pretrained = weights == "imagenet"
    kwargs = build_kwargs(backbone, imgsz, pretrained)
    if pretrained:
        cached = ensure_imagenet_file(backbone)  # cached or downloaded, else the error naming file and folder
        # torchvision's builder loads from that cache and applies each family's own fixes (old DenseNet keys,
        # Inception's input transform, dropping the aux heads after loading)
        try:
            model = get_model(backbone, weights=default_weights(backbone), **kwargs)
        except (RuntimeError, EOFError, OSError, pickle.UnpicklingError) as exc:  # a cut-short download, a bad copy
            raise WeightsError(
                f"cached ImageNet weights {cached} cannot be read ({type(exc).__name__}); the file is damaged or "
                f"incomplete: delete it and run again (it is downloaded again), or put a good copy of "
                f"{default_weights(backbone).url} there"
            ) from None
    else:
        model = get_model(backbone, weights=None, **kwargs)
    head = find_head(model)
    _replace_head(model, head, num_classes)
    if weights not in ("none", "imagenet"):
        _load_backbone(model, read_state_dict(weights), head, weights)
    return ClassifierNet(model, head, frozen=(mode == "frozen"))
