"""The latency backends, one table (like Ultralytics' export-formats table), the dtypes and the device names.

A backend is how people deploy a trained model: eager PyTorch, torch.compile, ONNX Runtime, ... Each row says what
the config, the CLI, the run plan, the latency stage and the report need to know about it; the code that builds a
backend's variant of a predictor stays in benchmarks/measure/variants.py (`BUILDERS`, checked against this table
by tests/harness/test_registries.py). A backend clsdet has no runner for is still a row: its cells are recorded
`unavailable` with the package to install, so a config may ask for it everywhere.

Plain data and `re` only (no torch): the config checks names against it at load and the CLI offers its names
without starting the heavy libraries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from benchmarks.registry import lookup


class UnknownBackendError(ValueError):
    user_error = True


@dataclass(frozen=True)
class Backend:
    name: str  # the config's `latency.backends` entry, `--backend` value and the records' `backend` field
    label: str  # how a person names it
    package: str | None  # the module it needs beyond torch (checked with importlib.util.find_spec), None: torch only
    install: str | None  # what to run when `package` is missing
    runs: bool  # False: clsdet has no runner yet; its cells are recorded unavailable ("no runner yet")
    setup: str | None = None  # the one-off step per model before its cells are timed (export, compile)
    setup_s: float = 0.0  # the run plan's estimate of that step per model, in seconds (harness/plan.py)
    marker: str = "^"  # its matplotlib marker in the report's accuracy-latency plot
    note: str | None = None  # printed before building its variant when that takes long


# Table order is the build order: eager first (compile reuses the memory layout eager's probe chose).
BACKENDS: dict[str, Backend] = {
    b.name: b
    for b in (
        Backend("eager", "PyTorch eager", None, None, True, marker="o"),
        Backend("compile", "torch.compile", None, None, True, "compile", 60.0, "D",
                note="compiling (minutes on a CPU for a large network) ..."),
        Backend("onnxruntime", "ONNX Runtime", "onnxruntime", "pip install onnx onnxruntime onnxscript", True,
                "ONNX export", 8.0, "s"),
        Backend("tensorrt", "TensorRT", "tensorrt", "pip install tensorrt (NVIDIA GPU)", False),
        Backend("openvino", "OpenVINO", "openvino", "pip install openvino", False),
        Backend("coreml", "Core ML", "coremltools", "pip install coremltools (macOS)", False),
    )
}  # fmt: skip

DTYPES = ("float32", "float16", "bfloat16")

DEVICE_KINDS = ("auto", "cpu", "cuda", "mps")
# torch's spelling of one CUDA device by its index (torch.device("cuda:1")); cuda alone is the current device
CUDA_INDEX = re.compile(r"cuda:(\d+)")


def list_backends() -> list[str]:
    """The backend names in table order."""
    return list(BACKENDS)


def get_backend(name: str) -> Backend:
    return lookup(BACKENDS, name, "latency backend", UnknownBackendError)


def is_device_name(text: str) -> bool:
    """auto, cpu, cuda, mps or cuda:N (N a whole number): the name only, not whether this machine has it."""
    return text in DEVICE_KINDS or CUDA_INDEX.fullmatch(str(text)) is not None
