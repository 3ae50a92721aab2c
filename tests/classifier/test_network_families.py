"""One forward/backward step per torchvision classification family (smallest member, smallest input it allows)."""

import time

import pytest
import torch

from classifier import ClassifierConfig
from classifier.backbones import check_input_size, family, list_backbones
from classifier.network import build_network

# family -> (smallest member, smallest imgsz our config accepts for it from random init)
MEMBERS = {
    "alexnet": ("alexnet", 63),
    "convnext": ("convnext_tiny", 32),
    "densenet": ("densenet121", 32),
    "efficientnet": ("efficientnet_b0", 32),
    "googlenet": ("googlenet", 32),
    "inception": ("inception_v3", 75),
    "maxvit": ("maxvit_t", 224),
    "mnasnet": ("mnasnet0_5", 32),
    "mobilenet": ("mobilenet_v3_small", 32),
    "regnet": ("regnet_x_400mf", 32),
    "resnet": ("resnet18", 32),
    "shufflenet": ("shufflenet_v2_x0_5", 32),
    "squeezenet": ("squeezenet1_1", 32),
    "swin": ("swin_t", 224),
    "vgg": ("vgg11", 32),
    "vit": ("vit_b_32", 32),
}


def test_every_registry_family_has_a_tested_member():
    families = {family(n) for n in list_backbones()}
    assert families == set(MEMBERS), "a torchvision family without a test member (add it to MEMBERS)"
    for name, size in MEMBERS.values():
        assert name in list_backbones()
        assert check_input_size(name, size, pretrained=False) is None
        ClassifierConfig(backbone=name, imgsz=size)  # the config accepts what the test builds


# the heaviest to build and step on 2 shared CPU cores (10-40 s each there): run with `-m slow`
SLOW = {"maxvit", "swin", "convnext", "densenet"}


@pytest.mark.parametrize("fam", [pytest.param(f, marks=pytest.mark.slow) if f in SLOW else f for f in sorted(MEMBERS)])
def test_family_forward_backward_step(fam):
    name, size = MEMBERS[fam]
    t0 = time.perf_counter()
    torch.manual_seed(0)
    net = build_network(name, 3, mode="scratch", weights="none", imgsz=size)
    head = net.head
    before = [p.detach().clone() for p in head.parameters()]
    opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.1)
    net.train()
    out = net(torch.randn(2, 3, size, size))
    assert isinstance(out, torch.Tensor) and out.shape == (2, 3)  # aux heads off: one tensor of C logits
    torch.nn.functional.binary_cross_entropy_with_logits(out, torch.ones_like(out)).backward()
    opt.step()
    assert any(not torch.equal(b, p) for b, p in zip(before, head.parameters()))
    assert net.param_counts()["trainable_params"] == net.param_counts()["params"]
    print(f"{name}@{size}: {time.perf_counter() - t0:.2f}s")


def test_inception_v3_pretrained_builder_args_keep_the_artifact_rebuildable():
    from classifier.backbones import build_kwargs

    # pretrained: torchvision's builder sets init_weights itself; both keep one output and the same input transform
    assert build_kwargs("inception_v3", 299, pretrained=True) == {"aux_logits": False, "transform_input": True}
    assert build_kwargs("inception_v3", 299) == {"aux_logits": False, "transform_input": True, "init_weights": True}


def test_frozen_vit_trains_only_its_new_head():
    net = build_network("vit_b_32", 4, mode="frozen", weights="none", imgsz=64)
    assert net.head_path == "heads.head"
    trainable = {n for n, p in net.named_parameters() if p.requires_grad}
    assert trainable == {"model.heads.head.weight", "model.heads.head.bias"}
    counts = net.param_counts()
    assert counts["trainable_params"] == 768 * 4 + 4 < counts["params"]
    # built for imgsz: (64/32)^2 patches + the class token (the predictor rebuilds with the config's imgsz)
    assert net.model.encoder.pos_embedding.shape == (1, 5, 768)
    net.train()
    assert net(torch.randn(2, 3, 64, 64)).shape == (2, 4)


def test_squeezenet_conv_head_can_output_negative_logits():
    net = build_network("squeezenet1_1", 2, weights="none").eval()
    assert net.head_path == "classifier.1" and isinstance(net.head, torch.nn.Conv2d)
    with torch.no_grad():
        net.head.bias.fill_(-5.0)
        assert (net(torch.randn(2, 3, 64, 64)) < 0).all()  # no ReLU after the head: sigmoid scores can go below 0.5


@pytest.mark.parametrize(
    ("backbone", "imgsz", "weights", "needle"),
    [
        ("inception_v3", 64, "none", "at least 75"),
        ("vit_b_16", 100, "none", "multiple of 16"),
        ("vit_b_16", 160, "imagenet", "must be 224"),
        ("maxvit_t", 160, "none", "multiple of 224"),
        ("swin_t", 160, "none", "at least 224"),
    ],
)
def test_input_size_rules_are_config_errors(backbone, imgsz, weights, needle):
    mode = "scratch" if weights == "none" else "finetune"
    with pytest.raises(ValueError, match=needle) as err:
        ClassifierConfig(backbone=backbone, imgsz=imgsz, mode=mode, weights=weights)
    assert "imgsz=" in str(err.value) and err.value.user_error
