"""Where the classifier looks: Grad-CAM (captum's LayerGradCam) of one class on the last convolution, as an (H, W)
map over the original image. A plain function, so it is tested without Streamlit.

Grad-CAM (Selvaraju et al., 2017) weights the last conv layer's activations by the class score's mean gradient:
coarse (that layer's stride) but cheap, and it answers the app's question: object or context?
"""

from __future__ import annotations

import numpy as np

from benchmarks.registry.pipelines import PIPELINES


class CamUnavailable(ValueError):
    """The backbone has no convolution to explain (e.g. a ViT): the app says so instead of drawing a wrong map."""

    user_error = True


def explains(pipeline: str) -> bool:
    """Whether Grad-CAM can explain a pipeline's models: one image-level score per class to attribute (a box
    pipeline's scores are its boxes' confidences), from a short-side resize and centre crop (the region crop_box maps
    the map back to)."""
    p = PIPELINES.get(pipeline)
    return p is not None and not p.uses_boxes and p.resize == "short_side_crop"


def page_title() -> str:
    """The Grad-CAM page's title, naming the registered pipelines it explains: "Where the classifier looks"."""
    names = [p for p in PIPELINES if explains(p)]
    return f"Where the {' and '.join(names) or 'models'} {'looks' if len(names) == 1 else 'look'}"


def last_conv(model):
    """The last nn.Conv2d registered in the model (module order is construction order: the deepest for CNNs)."""
    import torch  # deferred: heavy; the page imports it when a map is drawn

    convs = [(n, m) for n, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)]
    if not convs:
        raise CamUnavailable(f"not available for this backbone ({type(model).__name__} has no Conv2d layer)")
    return convs[-1]


def crop_box(height: int, width: int, imgsz: int, crop_ratio: float = 1.0) -> tuple[float, float, float, float]:
    """The region (y0, x0, y1, x1) of the original image that the classifier's eval transform keeps: resize the
    shorter side to round(imgsz / crop_ratio), then a centred imgsz square (classifier.data.eval_resize)."""
    short = round(imgsz / crop_ratio)
    scale = short / min(height, width)
    rh, rw = (short, round(width * scale)) if height <= width else (round(height * scale), short)
    top, left = int(round((rh - imgsz) / 2.0)), int(round((rw - imgsz) / 2.0))  # torchvision's CenterCrop offsets
    return top / scale, left / scale, (top + imgsz) / scale, (left + imgsz) / scale


def grad_cam(predictor, image_rgb: np.ndarray, class_index: int) -> np.ndarray:
    """(H, W) float32 in [0, 1] over the original image: where the class's score came from; 0 outside the crop.

    predictor: a loaded classifier predictor (model, preprocess, imgsz, config); image_rgb: HWC RGB uint8."""
    # deferred: torch is heavy, captum an optional extra (the app's); the page imports them when a map is drawn
    import torch
    import torch.nn.functional as F  # noqa: N812
    from captum.attr import LayerGradCam

    model = predictor.model
    _, layer = last_conv(model)
    height, width = image_rgb.shape[:2]
    image = torch.from_numpy(np.ascontiguousarray(image_rgb)).permute(2, 0, 1)
    batch = predictor.preprocess([image]).clone().requires_grad_(True)
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            attr = LayerGradCam(model, layer).attribute(batch, target=int(class_index), relu_attributions=True)
    finally:
        model.train(was_training)
    cam = attr.detach().float().cpu()  # (1, 1, h, w) at the layer's resolution
    cam = F.interpolate(cam, size=(predictor.imgsz, predictor.imgsz), mode="bilinear", align_corners=False)[0, 0]
    cam = cam.numpy()
    peak = float(cam.max())
    cam = cam / peak if peak > 0 else np.zeros_like(cam)
    # back from the centre crop to original pixels
    y0, x0, y1, x1 = crop_box(height, width, predictor.imgsz, float(predictor.config.get("eval_crop_ratio", 1.0)))
    out = np.zeros((height, width), dtype=np.float32)
    top, left = max(int(round(y0)), 0), max(int(round(x0)), 0)
    bottom, right = min(int(round(y1)), height), min(int(round(x1)), width)
    if bottom > top and right > left:
        resized = F.interpolate(
            torch.from_numpy(cam)[None, None], size=(bottom - top, right - left), mode="bilinear", align_corners=False
        )[0, 0].numpy()
        out[top:bottom, left:right] = np.clip(resized, 0.0, 1.0)
    return out
