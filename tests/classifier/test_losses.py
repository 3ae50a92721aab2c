import numpy as np
import torch
import torch.nn.functional as F

from classifier.losses import masked_bce_with_logits, pos_weight_from_targets, targets_for_metrics


def test_na_entries_add_nothing_to_loss_or_gradients():
    torch.manual_seed(0)
    logits = torch.randn(6, 4, requires_grad=True)
    targets = torch.randint(0, 2, (6, 4)).float()
    targets[0, 1] = targets[3, 2] = targets[5, 0] = float("nan")
    pos_weight = torch.tensor([1.0, 2.0, 0.5, 3.0])
    loss = masked_bce_with_logits(logits, targets, pos_weight)
    loss.backward()

    # the same batch with the NA entries removed: BCE over the known entries only
    ref_logits = logits.detach().clone().requires_grad_(True)
    known = ~torch.isnan(targets)
    pw = pos_weight.expand_as(targets)[known]
    ref = F.binary_cross_entropy_with_logits(ref_logits[known], targets[known], pos_weight=pw)
    ref.backward()

    assert torch.allclose(loss, ref)
    assert torch.allclose(logits.grad, ref_logits.grad)
    assert torch.all(logits.grad[~known] == 0)


def test_na_values_do_not_change_the_loss():
    logits = torch.randn(3, 2)
    a = torch.tensor([[1.0, float("nan")], [0.0, 1.0], [float("nan"), 0.0]])
    b = torch.nan_to_num(a, nan=1.0)
    c = torch.nan_to_num(a, nan=0.0)
    masked = masked_bce_with_logits(logits, a)
    assert not torch.isclose(masked, F.binary_cross_entropy_with_logits(logits, b))
    assert not torch.isclose(masked, F.binary_cross_entropy_with_logits(logits, c))


def test_all_na_batch_gives_zero_loss_not_nan():
    logits = torch.randn(2, 3, requires_grad=True)
    loss = masked_bce_with_logits(logits, torch.full((2, 3), float("nan")))
    loss.backward()
    assert loss.item() == 0.0
    assert torch.all(logits.grad == 0)


def test_pos_weight_is_neg_over_pos_of_known_entries():
    nan = np.nan
    targets = np.array(
        [
            [1, 0, 0, nan],
            [0, 0, 0, nan],
            [0, 1, 0, nan],
            [0, 1, 0, 1],
            [nan, 0, 0, 0],
        ]
    )
    # class 0: 1 pos, 3 neg; class 1: 2 pos, 3 neg; class 2: no positives -> 1; class 3: 1 pos, 1 neg
    assert np.allclose(pos_weight_from_targets(targets), [3.0, 1.5, 1.0, 1.0])


def test_targets_for_metrics_maps_nan_to_ignore_index():
    t = torch.tensor([[1.0, float("nan"), 0.0]])
    assert targets_for_metrics(t).tolist() == [[1, -1, 0]]
