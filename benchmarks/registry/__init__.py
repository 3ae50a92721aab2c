"""The project's extension points, each one table with `list_*()` and an error naming the valid entries.

pipelines.py  the pipelines (classifier/, detector/, ...), the predictor protocol and a training job's samples
methods.py    the labeling methods a pipeline's labels come from (folder sorting, CVAT boxes)
backends.py   the latency backends (eager, torch.compile, ONNX Runtime, ...) and the device names

Nothing here imports torch or a pipeline package: the config checks names against these tables at load, and the
CLI starts without the heavy libraries. Data readers and executors register beside their code
(benchmarks/data/sources/, benchmarks/harness/executors.py).
"""

from __future__ import annotations


def lookup(table: dict, name: str, what: str, error: type[Exception]):
    """`table[name]`, or `error` naming the unknown `what` and every valid name: each registry's `get`."""
    if name not in table:
        raise error(f"unknown {what} {name!r}; {what}s: {', '.join(table)}")
    return table[name]
