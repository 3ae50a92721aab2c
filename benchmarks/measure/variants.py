"""Deployment variants of a loaded predictor: (backend, dtype) -> a predictor whose `forward` runs that way.

A variant is a shallow copy of the predictor with `forward` replaced, so the predictor's own `end_to_end`,
`predict_scores` and post-processing (thresholds, NMS) run unchanged on top of it: the accuracy gate and both
latency scopes see exactly what a deployment would. Every variant's forward takes the float32 batch the
predictor's preprocessing makes and returns float32 (the cast in and out is part of a deployed model too).

A variant that cannot run here is a record, not a crash: `Variant.reason` says why and what to install.
"""

from __future__ import annotations

import copy
import importlib.util
import time
from dataclasses import dataclass, field

from benchmarks.measure.devices import kind as device_kind
from benchmarks.measure.export import export_onnx
from benchmarks.measure.timers import _sync_fn
from benchmarks.registry.backends import get_backend


@dataclass
class Variant:
    backend: str
    dtype: str
    predictor: object | None  # None when unavailable
    reason: str | None = None  # why unavailable
    info: dict = field(default_factory=dict)  # recorded with every record of the variant


def cpu_bf16_native() -> bool:
    """True when the CPU has bfloat16 instructions (AVX512-BF16 or AMX) that oneDNN uses; False: emulated."""
    # deferred: torch is heavy
    import torch

    fn = getattr(getattr(torch.ops, "mkldnn", None), "_is_mkldnn_bf16_supported", None)
    try:
        return bool(fn()) if fn is not None else False
    except Exception:  # noqa: BLE001 - an op missing in this torch build means no native path
        return False


def dtype_reason(device: str, dtype: str) -> str | None:
    """None when `dtype` is measured on `device`, else why not."""
    # deferred: torch is heavy
    import torch

    kind = device_kind(device)
    if dtype == "float32":
        return None
    if kind == "cuda":
        if dtype == "bfloat16" and not torch.cuda.is_bf16_supported():
            return f"{torch.cuda.get_device_name(torch.device(device))} has no bfloat16 support"
        return None
    if kind == "mps":
        return None if dtype == "float16" else "bfloat16 is not measured on MPS (float16 is Apple's fast path)"
    if dtype == "float16":
        return "float16 is not measured on CPU (no fast CPU kernels; bfloat16 is the CPU's half type)"
    if not cpu_bf16_native():
        return "this CPU has no native bfloat16 (AVX512-BF16/AMX): it would run emulated, slower than float32"
    return None


def _first(out):
    """The tensor the predictor's post-processing reads: Ultralytics' eager head returns (y, features)."""
    return out[0] if isinstance(out, (list, tuple)) else out


def _torch_forward(module, dtype, channels_last: bool):
    # deferred: torch is heavy
    import torch

    fmt = torch.channels_last if channels_last else torch.contiguous_format

    def forward(batch):
        with torch.inference_mode():
            return _first(module(batch.to(dtype=dtype).contiguous(memory_format=fmt))).float()

    return forward


def _module(predictor, dtype: str, channels_last: bool):
    # deferred: torch is heavy
    import torch

    m = predictor.model if dtype == "float32" and not channels_last else copy.deepcopy(predictor.model)
    m = m.to(dtype=getattr(torch, dtype))
    return m.to(memory_format=torch.channels_last) if channels_last else m


def with_forward(predictor, forward):
    v = copy.copy(predictor)
    v.forward = forward  # instance attribute: the predictor's end_to_end/predict_scores now call it
    return v


def _time_forward(forward, x, iters: int = 3) -> float:
    sync = _sync_fn(str(x.device))  # accelerators run asynchronously: the probe waits for the work it times
    forward(x)
    sync()
    t0 = time.perf_counter()
    for _ in range(iters):
        forward(x)
    sync()
    return (time.perf_counter() - t0) / iters * 1e3


def pick_channels_last(predictor, dtype: str, x, mode: str) -> tuple[bool, dict]:
    """channels_last where it helps: `auto` times both layouts on `x` (a few calls each) and keeps the faster."""
    # deferred: torch is heavy
    import torch

    if mode != "auto" or x.dim() != 4:
        return mode == "always" and x.dim() == 4, {"channels_last_choice": mode}
    ms = {}
    for cl in (False, True):
        ms[cl] = _time_forward(_torch_forward(_module(predictor, dtype, cl), getattr(torch, dtype), cl), x)
    best = ms[True] < ms[False]
    return best, {"channels_last_choice": "auto", "channels_last_probe_ms": {"nchw": ms[False], "nhwc": ms[True]}}


def eager(predictor, device: str, dtype: str, x, channels_last: str = "auto") -> Variant:
    # deferred: torch is heavy
    import torch

    cl, info = pick_channels_last(predictor, dtype, x, channels_last)
    if dtype == "float32" and not cl:
        return Variant("eager", dtype, predictor, info={**info, "channels_last": False})
    fwd = _torch_forward(_module(predictor, dtype, cl), getattr(torch, dtype), cl)
    return Variant("eager", dtype, with_forward(predictor, fwd), info={**info, "channels_last": cl})


def compiled(predictor, device: str, dtype: str, x, channels_last: bool) -> Variant:
    """torch.compile (inductor, default mode); compiled on the first call, which is timed into `compile_s`."""
    # deferred: torch is heavy
    import torch

    t0 = time.perf_counter()
    module = torch.compile(_module(predictor, dtype, channels_last))
    fwd = _torch_forward(module, getattr(torch, dtype), channels_last)
    fwd(x)  # compiles now: a platform that cannot compile (no C++ compiler, Windows, MPS gaps) fails here
    info = {"channels_last": channels_last, "compile_s": round(time.perf_counter() - t0, 3)}
    return Variant("compile", dtype, with_forward(predictor, fwd), info=info)


def onnxruntime_variant(predictor, device: str, dtype: str, onnx_path: str, threads: int) -> Variant:
    # deferred: numpy is heavy
    import numpy as np

    # deferred: onnxruntime is heavy
    import onnxruntime as ort

    # deferred: torch is heavy
    import torch

    kind = device_kind(device)
    provider = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}.get(kind)
    if provider is None:
        return Variant("onnxruntime", dtype, None, f"ONNX Runtime has no {kind} provider (on Apple: backend coreml)")
    if provider not in ort.get_available_providers():
        return Variant("onnxruntime", dtype, None, f"{provider} not in this onnxruntime: pip install onnxruntime-gpu")
    so = ort.SessionOptions()
    so.intra_op_num_threads = int(threads)  # the same CPU threads torch uses: a like-for-like comparison
    opts = [{"device_id": torch.device(device).index or 0}] if kind == "cuda" else [{}]
    sess = ort.InferenceSession(onnx_path, so, providers=[provider], provider_options=opts)
    name = sess.get_inputs()[0].name
    np_dtype = np.float16 if dtype == "float16" else np.float32

    if kind == "cpu":

        def forward(batch):
            out = sess.run(None, {name: batch.detach().cpu().numpy().astype(np_dtype, copy=False)})[0]
            return torch.from_numpy(out).float()

        io = "numpy in/out (host memory)"
    else:
        out_name = sess.get_outputs()[0].name
        dev_id = torch.device(device).index or 0

        def forward(batch):
            x = batch.to(dtype=getattr(torch, dtype)).contiguous()
            binding = sess.io_binding()  # the input stays on the GPU; only the output comes back to the host
            binding.bind_input(name, "cuda", dev_id, np_dtype, tuple(x.shape), x.data_ptr())
            binding.bind_output(out_name, "cuda", dev_id)
            sess.run_with_iobinding(binding)
            return torch.from_numpy(binding.copy_outputs_to_cpu()[0]).to(device).float()

        io = "io_binding: input on the GPU, output copied to the host"
    info = {"onnxruntime_version": ort.__version__, "onnxruntime_provider": provider, "onnxruntime_io": io}
    return Variant("onnxruntime", dtype, with_forward(predictor, forward), info=info)


def external(backend: str, dtype: str) -> Variant:
    """A backend clsdet has no runner for (the table's `runs` is False): recorded unavailable, saying what to do."""
    b = get_backend(backend)
    if importlib.util.find_spec(b.package) is None:
        return Variant(backend, dtype, None, f"{b.package} is not installed: {b.install}")
    return Variant(backend, dtype, None, f"{b.package} is installed but clsdet has no {backend} runner yet")


def _error_text(e: BaseException) -> str:
    first = str(e).strip().splitlines()[0][:300] if str(e).strip() else ""
    return f"{type(e).__name__}: {first}"


def _build_eager(predictor, pipeline, device, dtype, x, settings, export_dir) -> Variant:
    return eager(predictor, device, dtype, x, settings.get("channels_last", "auto"))


def _build_compile(predictor, pipeline, device, dtype, x, settings, export_dir) -> Variant:
    return compiled(predictor, device, dtype, x, bool(settings.get("eager_channels_last", False)))


def _build_onnxruntime(predictor, pipeline, device, dtype, x, settings, export_dir) -> Variant:
    exp = export_onnx(predictor, pipeline, export_dir, dtype, device)
    v = onnxruntime_variant(predictor, device, dtype, exp["path"], int(settings.get("threads") or 1))
    v.info.update({f"export_{k}": val for k, val in exp.items()})
    return v


def _onnxruntime_dtype_reason(device: str, dtype: str) -> str | None:
    if dtype == "float32" or (dtype == "float16" and device_kind(device) == "cuda"):
        return None
    return f"ONNX Runtime {dtype} is measured on CUDA float16 only (few {dtype} kernels elsewhere)"


# backend (a row of benchmarks/registry/backends.py whose `runs` is True) -> its builder; every other row is
# built by `external`. tests/harness/test_registries.py checks the two agree.
BUILDERS = {"eager": _build_eager, "compile": _build_compile, "onnxruntime": _build_onnxruntime}
# a backend's own dtype limits, checked after the device's (dtype_reason)
DTYPE_LIMITS = {"onnxruntime": _onnxruntime_dtype_reason}


def build(predictor, pipeline: str, device: str, backend: str, dtype: str, x, settings: dict, export_dir) -> Variant:
    """One variant of `predictor` (already on `device`), or an unavailable one with the reason.

    `x`: a few real preprocessed images on the device (the channels_last probe and compile's first call).
    `settings`: channels_last (auto | always | never), threads, and `eager_channels_last` (the eager choice,
    reused by compile so it is not compiled twice)."""
    spec = get_backend(backend)  # an unknown name raises, listing the backends
    if not spec.runs:
        return external(backend, dtype)
    reason = dtype_reason(device, dtype)
    if reason is None and backend in DTYPE_LIMITS:
        reason = DTYPE_LIMITS[backend](device, dtype)
    if reason:
        return Variant(backend, dtype, None, reason)
    info = {"dtype_native": cpu_bf16_native()} if (device_kind(device), dtype) == ("cpu", "bfloat16") else {}
    try:
        v = BUILDERS[backend](predictor, pipeline, device, dtype, x, settings, export_dir)
    except ImportError as e:
        hint = f": {spec.install}" if spec.install else ""
        return Variant(backend, dtype, None, f"{_error_text(e)}{hint}")
    except Exception as e:  # noqa: BLE001 - in the harness a failure is data: a variant that cannot be built is a recorded cell
        return Variant(backend, dtype, None, _error_text(e))
    v.info.update(info)
    return v
