import pytest
import torch

from classifier import ClassifierConfig, list_backbones
from classifier.backbones import BackboneError, WeightsError, imagenet_weights_file
from classifier.network import build_network

REQUIRED = {
    "resnet18",
    "resnet34",
    "resnet50",
    "mobilenet_v3_small",
    "mobilenet_v3_large",
    "efficientnet_b0",
    "convnext_tiny",
}


@pytest.fixture(scope="module")
def resnet18_state(tmp_path_factory):
    """A state dict of a (randomly initialised, seeded) torchvision resnet18 with its 1000-class head."""
    import torchvision

    torch.manual_seed(123)
    path = tmp_path_factory.mktemp("weights") / "resnet18_state.pt"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), path)
    return path


def test_registry_is_torchvisions_and_unknown_name_lists_close_matches():
    import torchvision.models as tvm

    assert list_backbones() == sorted(tvm.list_models(module=tvm))
    assert set(list_backbones()) >= REQUIRED | {"vgg16", "inception_v3", "vit_b_16", "swin_t", "efficientnet_v2_s"}
    with pytest.raises(ValueError, match=r"backbone='resnet19'.*did you mean resnet18") as err:
        ClassifierConfig(backbone="resnet19")
    assert err.value.user_error
    with pytest.raises(BackboneError, match="did you mean vgg16") as err:
        build_network("vgg_16", 3)
    assert "valid names" in str(err.value)


def test_every_registry_name_is_a_valid_config_backbone():
    from classifier.backbones import check_input_size, info

    for name in list_backbones():
        size = max(info(name)["min_size"] or 1, 32)
        size = 224 if check_input_size(name, size, pretrained=False) else size  # ViT/MaxViT sizes
        assert ClassifierConfig(backbone=name, imgsz=size).backbone == name


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_every_backbone_outputs_c_logits(name):
    net = build_network(name, 5).eval()
    with torch.no_grad():
        assert net(torch.randn(2, 3, 64, 64)).shape == (2, 5)


def _step(net, x):
    opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.1)
    net.train()
    net(x).sum().backward()
    opt.step()


def test_frozen_trains_only_the_head_and_keeps_bn_statistics(resnet18_state):
    net = build_network("resnet18", 3, mode="frozen", weights=str(resnet18_state))
    trainable = {n for n, p in net.named_parameters() if p.requires_grad}
    assert trainable == {"model.fc.weight", "model.fc.bias"}
    before = {k: v.clone() for k, v in net.state_dict().items()}
    _step(net, torch.randn(4, 3, 64, 64))
    after = net.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed == {"model.fc.weight", "model.fc.bias"}  # BN running stats included in "unchanged"
    # the backbone holds the given weights
    src = torch.load(resnet18_state, weights_only=True)
    assert torch.equal(after["model.conv1.weight"], src["conv1.weight"])


def test_finetune_loads_weights_and_trains_all_layers(resnet18_state):
    net = build_network("resnet18", 3, mode="finetune", weights=str(resnet18_state))
    assert all(p.requires_grad for p in net.parameters())
    src = torch.load(resnet18_state, weights_only=True)
    assert torch.equal(net.state_dict()["model.layer4.1.conv2.weight"], src["layer4.1.conv2.weight"])
    before = net.state_dict()["model.conv1.weight"].clone()
    _step(net, torch.randn(4, 3, 64, 64))
    assert not torch.equal(before, net.state_dict()["model.conv1.weight"])


def test_scratch_is_random_init_and_trains_all_layers(resnet18_state):
    net = build_network("resnet18", 3, mode="scratch", weights="none")
    assert all(p.requires_grad for p in net.parameters())
    src = torch.load(resnet18_state, weights_only=True)
    assert not torch.equal(net.state_dict()["model.conv1.weight"], src["conv1.weight"])


def test_weights_of_another_backbone_are_rejected(resnet18_state):
    with pytest.raises(WeightsError, match="same backbone"):
        build_network("resnet34", 3, mode="finetune", weights=str(resnet18_state))


def test_finetune_without_weights_is_a_config_error_frozen_a_warning():
    with pytest.raises(ValueError, match="weights='imagenet'") as err:
        ClassifierConfig(mode="finetune", weights="none")
    assert err.value.user_error
    with pytest.warns(UserWarning, match="random-feature baseline"):
        ClassifierConfig(mode="frozen", weights="none")


def test_frozen_on_random_init_trains_only_the_head():
    net = build_network("resnet18", 3, mode="frozen", weights="none")
    assert net.param_counts() == {"params": 11_178_051, "trainable_params": 512 * 3 + 3}


def test_imagenet_weights_file_of_other_families():
    from classifier.backbones import info

    assert imagenet_weights_file("vgg16")[0] == "vgg16-397923af.pth"
    assert imagenet_weights_file("inception_v3")[0] == "inception_v3_google-0cc3c7bd.pth"
    i = info("inception_v3")
    assert (i["params"], i["input_size"], i["min_size"]) == (27_161_264, 299, 75)


def test_bad_config_values_name_key_and_allowed():
    for kwargs, key in [({"mode": "half"}, "mode"), ({"epochs": 0}, "epochs"), ({"device": "tpu"}, "device")]:
        with pytest.raises(ValueError, match=f"{key}=") as err:
            ClassifierConfig(**kwargs)
        assert "allowed" in str(err.value)
    with pytest.raises(ValueError, match="neither 'none', 'imagenet' nor an existing file"):
        ClassifierConfig(mode="finetune", weights="/no/such/file.pt")


def test_imagenet_offline_error_names_file_and_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    file_name, folder = imagenet_weights_file("resnet18")
    assert file_name == "resnet18-f37072fd.pth"  # torchvision's ResNet18_Weights.IMAGENET1K_V1 file
    assert folder == tmp_path / "hub" / "checkpoints"
    with pytest.raises(WeightsError) as err:
        build_network("resnet18", 3, mode="finetune", weights="imagenet")
    assert str(folder / file_name) in str(err.value)
    assert err.value.user_error


def test_imagenet_weights_come_from_torchvisions_cache(tmp_path, monkeypatch, resnet18_state):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "download_url_to_file", pytest.fail)  # must not download when cached
    file_name, folder = imagenet_weights_file("resnet18")
    folder.mkdir(parents=True)
    (folder / file_name).write_bytes(resnet18_state.read_bytes())
    net = build_network("resnet18", 3, mode="frozen", weights="imagenet")
    src = torch.load(resnet18_state, weights_only=True)
    assert torch.equal(net.state_dict()["model.conv1.weight"], src["conv1.weight"])


def test_damaged_imagenet_cache_file_is_a_weights_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "download_url_to_file", pytest.fail)
    file_name, folder = imagenet_weights_file("resnet18")
    folder.mkdir(parents=True)
    (folder / file_name).write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(WeightsError, match="cannot be read.*delete it and run again") as err:
        build_network("resnet18", 3, mode="finetune", weights="imagenet")
    assert str(folder / file_name) in str(err.value)
