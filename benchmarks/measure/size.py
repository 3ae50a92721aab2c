"""Model size: parameters, FLOPs at the benchmark's input size, and file size in fp32 and fp16.

Both models are measured the same way: FLOPs by `torch.utils.flop_counter.FlopCounterMode` on one example input
(batch 1), and files by `torch.save(state_dict)` of a deep copy, so the numbers compare like for like.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

# FlopCounterMode counts a multiply-add as 2 FLOPs (torch/utils/flop_counter.py: mm_flop returns m * n * 2 * k,
# conv_flop_count likewise); only matmul/conv/attention ops are counted, not BN, activations or elementwise ops.
FLOPS_METHOD = (
    "torch.utils.flop_counter.FlopCounterMode total, batch 1, input {shape}; "
    "a multiply-add counts as 2 FLOPs; conv/matmul only"
)
FILE_METHOD = "torch.save(copy.deepcopy(model).<float|half>().state_dict()); MB = 10^6 bytes"


def count_flops(model, example_input, fallback=None) -> tuple[int | None, str]:
    """(total FLOPs, method) for one forward of `model` on the first image of `example_input`; where
    FlopCounterMode cannot trace the model, the predictor's own counter (`fallback`, optional) is asked."""
    # deferred: torch is heavy
    import torch

    # deferred: torch is heavy
    from torch.utils.flop_counter import FlopCounterMode

    x = example_input[:1]
    shape = "x".join(str(s) for s in x.shape[1:])
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x)
        return int(counter.get_total_flops()), FLOPS_METHOD.format(shape=shape)
    except Exception as e:  # an op FlopCounterMode cannot trace: the predictor's own counter, else record it
        if fallback is not None:
            flops, method = fallback(x)
            if flops:
                return flops, f"{method}; FlopCounterMode failed: {type(e).__name__}: {e}"
        return None, f"not counted: FlopCounterMode failed on input {shape}: {type(e).__name__}: {e}"
    finally:
        model.train(was_training)


def _file_mb(model, out: Path, half: bool) -> float:
    # deferred: torch is heavy
    import torch

    m = copy.deepcopy(model)
    m = m.half() if half else m.float()
    torch.save(m.state_dict(), out)
    return out.stat().st_size / 1e6


def model_size(predictor, out_dir: Path | None = None) -> dict:
    """The `size` object of results.json for a predictor (benchmarks.registry.pipelines.Predictor). Weight files are
    written to out_dir (kept) or a temporary folder."""
    model, example_input = predictor.model, predictor.example_input(1)
    params = sum(p.numel() for p in model.parameters())
    flops, flops_method = count_flops(model, example_input, getattr(predictor, "count_flops", None))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(out_dir) if out_dir is not None else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        fp32 = _file_mb(model, folder / "weights_fp32.pt", half=False)
        fp16 = _file_mb(model, folder / "weights_fp16.pt", half=True)
    return {
        "params": int(params),
        "params_m": round(params / 1e6, 3),
        "flops": flops,
        "gflops": round(flops / 1e9, 3) if flops is not None else None,
        "flops_method": flops_method,
        "input_shape": list(example_input.shape[1:]),
        "imgsz": int(example_input.shape[-1]),
        "file_mb_fp32": round(fp32, 3),
        "file_mb_fp16": round(fp16, 3),
        "file_method": FILE_METHOD,
    }
