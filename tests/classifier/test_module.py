import pytest
import torch
from torch import nn

from classifier.module import ClassifierModule, MacroAveragePrecision, NonFiniteLossError, warmup_cosine


class NaNNet(nn.Module):
    def forward(self, x):
        return torch.full((x.shape[0], 2), float("nan"))


def test_non_finite_loss_stops_with_a_message():
    module = ClassifierModule(NaNNet(), num_classes=2)
    batch = (torch.zeros(3, 3, 8, 8), torch.ones(3, 2))
    with pytest.raises(NonFiniteLossError, match="Lower lr") as err:
        module.training_step(batch, 0)
    assert err.value.user_error


def test_macro_ap_skips_classes_without_positives_and_ignores_na():
    metric = MacroAveragePrecision(num_labels=3)
    probs = torch.tensor([[0.9, 0.1, 0.2], [0.2, 0.3, 0.9], [0.8, 0.2, 0.99], [0.1, 0.4, 0.95]])
    # class 0: perfect; class 1: no positives (skipped, not AP 0); class 2: the top score is NA, left out
    target = torch.tensor([[1, 0, 0], [0, 0, 1], [1, 0, -1], [0, 0, 1]])
    assert metric(probs, target).item() == pytest.approx(1.0)


def test_warmup_then_cosine_schedule():
    assert warmup_cosine(0, 10, 100) == pytest.approx(0.1)
    assert warmup_cosine(9, 10, 100) == pytest.approx(1.0)
    assert warmup_cosine(10, 10, 100) == pytest.approx(1.0)
    assert warmup_cosine(55, 10, 100) == pytest.approx(0.5)
    assert warmup_cosine(100, 10, 100) == pytest.approx(0.0)
