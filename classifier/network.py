"""The network: a plain nn.Module built by `build_network` (the LightningModule only runs it)."""

from __future__ import annotations

from torch import nn

from classifier.backbones import BackboneError, WeightsError, load_imagenet_state_dict, read_state_dict, spec


class ClassifierNet(nn.Module):
    """A torchvision backbone whose final Linear outputs C logits. `frozen`: only the head trains."""

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

    def train(self, mode: bool = True) -> ClassifierNet:
        super().train(mode)
        if self.frozen:
            # a frozen backbone keeps its BatchNorm statistics and drops no units: it is a fixed feature extractor
            self.model.eval()
            self.head.train(mode)
        return self

    def forward(self, x):
        return self.model(x)


def _replace_head(model: nn.Module, head_path: str, num_classes: int) -> None:
    old = model.get_submodule(head_path)
    if not isinstance(old, nn.Linear):
        raise BackboneError(f"backbone head {head_path!r} is a {type(old).__name__}, expected nn.Linear")
    parent_path, _, attr = head_path.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    setattr(parent, attr, nn.Linear(old.in_features, num_classes))


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


def build_network(backbone: str, num_classes: int, mode: str = "scratch", weights: str = "none") -> ClassifierNet:
    """The factory. mode frozen|finetune|scratch; weights none|imagenet|<state dict path>."""
    import torchvision

    s = spec(backbone)
    model = getattr(torchvision.models, s.builder)(weights=None)
    _replace_head(model, s.head, num_classes)
    if weights == "imagenet":
        _load_backbone(model, load_imagenet_state_dict(backbone), s.head, f"imagenet ({backbone})")
    elif weights != "none":
        _load_backbone(model, read_state_dict(weights), s.head, weights)
    return ClassifierNet(model, s.head, frozen=(mode == "frozen"))
